//! The model a Claude Code session last asked or answered with, from its
//! transcript (`transcript_path` in every hook payload): in print mode no
//! hook payload names the model, but the transcript does, twice a request.
//! Claude Code (2.1.3xx) records each main-thread or subagent request as
//! an `api-request` entry (`params.model`) before it is sent, and the
//! answer as an assistant message (`message.model`) once it has streamed;
//! the PreToolUse hook of a request's tool call can run before that
//! message is written, so both are read. Side queries (titles, summaries,
//! which may use a smaller model) are not recorded.
//!
//! A transcript grows for the whole session (megabytes: every tool result
//! is in it), and a hook runs inside the agent's tool calls, so only its
//! tail is read, at most [`TAIL`] bytes, and searched backwards for the
//! last main-thread entry that names the model. Not finding one is no
//! error: the hook keeps the existing beat's model.

use std::path::Path;

/// How much of the transcript's end is read.
pub const TAIL: u64 = 256 << 10;

/// The model of the last assistant message in the transcript's tail.
pub fn last_model(path: &Path) -> Option<String> {
    crate::hooks::tail::find_last(path, TAIL, model_of_line)
}

/// The model one transcript line names, when it is the main thread's: an
/// `api-request` entry's `params.model` (a subagent's has an `agentId`),
/// or an assistant message's `message.model` (a subagent's,
/// `"isSidechain":true`, may use another model). Claude Code writes
/// compact JSON, so the members are found as text (a user's text quoting
/// them is escaped, `\"`); a model with escapes in it is not taken.
fn model_of_line(line: &[u8]) -> Option<String> {
    let line = std::str::from_utf8(line).ok()?;
    let (object, key) = if line.starts_with(r#"{"type":"api-request","#) {
        if line.contains(r#""agentId":"#) {
            return None;
        }
        (r#""params":{"#, r#""model":""#)
    } else if line.contains(r#""role":"assistant""#) && !line.contains(r#""isSidechain":true"#) {
        (r#""message":{"#, r#""model":""#)
    } else {
        return None;
    };
    let rest = &line[line.find(object)?..];
    let value = &rest[rest.find(key)? + key.len()..];
    let model = &value[..value.find('"')?];
    // Claude Code's own stand-in for messages no model wrote (an API
    // error, "Not logged in"): `<synthetic>`, never a model.
    (!model.contains('\\') && model != "<synthetic>" && crate::beat::check_model(model).is_ok())
        .then(|| model.to_string())
}

/// Claude Code's model as the API knows it: SessionStart names the 1M
/// context variant `claude-opus-4-8[1m]`, while requests and the
/// transcript say `claude-opus-4-8`. One name, so the beat does not flip
/// between the two.
pub fn model_id(model: String) -> String {
    match model.strip_suffix(']').and_then(|m| m.rsplit_once('[')) {
        Some((id, _)) if !id.is_empty() => id.to_string(),
        _ => model,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ASSISTANT: &str = r#"{"parentUuid":"a","isSidechain":false,"message":{"id":"msg_2","type":"message","role":"assistant","model":"claude-opus-5-5","content":[]},"type":"assistant"}"#;

    use crate::hooks::tail::scratch as file;

    #[test]
    fn the_last_assistant_message_names_the_model() {
        let other = ASSISTANT.replace("claude-opus-5-5", "claude-old");
        let text = format!(
            "{other}\n{{\"type\":\"user\",\"message\":{{\"role\":\"user\",\"content\":\"hi\"}}}}\n{ASSISTANT}\n{{\"type\":\"last-prompt\"}}\n"
        );
        let (p, _rm) = file(&text);
        assert_eq!(last_model(&p).as_deref(), Some("claude-opus-5-5"));
    }

    #[test]
    fn a_subagents_message_and_a_user_line_quoting_one_are_skipped() {
        let side = ASSISTANT
            .replace("claude-opus-5-5", "claude-haiku")
            .replace(r#""isSidechain":false"#, r#""isSidechain":true"#);
        let quoted = r#"{"type":"user","message":{"role":"user","content":"\"role\":\"assistant\",\"model\":\"fake\""}}"#;
        let (p, _rm) = file(&format!("{ASSISTANT}\n{side}\n{quoted}\n"));
        assert_eq!(last_model(&p).as_deref(), Some("claude-opus-5-5"));
    }

    const REQUEST: &str = r#"{"type":"api-request","sessionId":"s","id":"i","timestamp":"t","version":"2.1.332","querySource":"sdk","shapeHash":"h","params":{"model":"claude-opus-5-6","betas":["x"],"max_tokens":128000},"thread":{"type":"none"},"keep":0}"#;

    #[test]
    fn a_request_names_the_model_before_its_answer_is_written() {
        // The tool call's PreToolUse can come before the assistant message.
        let (p, _rm) = file(&format!("{ASSISTANT}\n{REQUEST}\n"));
        assert_eq!(last_model(&p).as_deref(), Some("claude-opus-5-6"));
        let (p, _rm) = file(&format!("{REQUEST}\n{{\"type\":\"tools-used\"}}\n"));
        assert_eq!(last_model(&p).as_deref(), Some("claude-opus-5-6"));
        // A subagent's request is not the main thread's.
        let sub = REQUEST.replace(r#""sessionId":"s","#, r#""sessionId":"s","agentId":"a1","#);
        let (p, _rm) = file(&format!("{ASSISTANT}\n{sub}\n"));
        assert_eq!(last_model(&p).as_deref(), Some("claude-opus-5-5"));
        // A user quoting a request is no request.
        let quoted = r#"{"type":"user","message":{"role":"user","content":"{\"type\":\"api-request\",\"params\":{\"model\":\"fake\"}}"}}"#;
        let (p, _rm) = file(&format!("{ASSISTANT}\n{quoted}\n"));
        assert_eq!(last_model(&p).as_deref(), Some("claude-opus-5-5"));
        // A request without a model, or with an escaped one: none.
        let bare = REQUEST.replace(r#""model":"claude-opus-5-6","#, "");
        let (p, _rm) = file(&format!("{bare}\n"));
        assert_eq!(last_model(&p), None);
    }

    #[test]
    fn a_context_variant_is_the_same_model() {
        assert_eq!(model_id("claude-opus-4-8[1m]".into()), "claude-opus-4-8");
        assert_eq!(model_id("claude-opus-5-5".into()), "claude-opus-5-5");
        assert_eq!(model_id("[1m]".into()), "[1m]");
        assert_eq!(model_id("x]".into()), "x]");
    }

    #[test]
    fn only_the_tail_is_read() {
        // The one assistant message lies before the tail: not found.
        let filler = format!(
            "{{\"type\":\"attachment\",\"x\":\"{}\"}}\n",
            "y".repeat(1000)
        );
        let text = format!("{ASSISTANT}\n{}", filler.repeat(300));
        let (p, _rm) = file(&text);
        assert!(text.len() as u64 > TAIL);
        assert_eq!(last_model(&p), None);
        // After the filler it is.
        let (p, _rm2) = file(&format!("{text}{ASSISTANT}\n"));
        assert_eq!(last_model(&p).as_deref(), Some("claude-opus-5-5"));
    }

    #[test]
    fn no_transcript_or_no_model_is_none() {
        assert_eq!(last_model(Path::new("/nonexistent/t.jsonl")), None);
        assert_eq!(last_model(Path::new("/")), None);
        let (p, _rm) = file("{\"type\":\"user\"}\nnot json\n");
        assert_eq!(last_model(&p), None);
        let synthetic = ASSISTANT.replace("claude-opus-5-5", "<synthetic>");
        let (p, _rm3) = file(&format!("{ASSISTANT}\n{synthetic}\n"));
        assert_eq!(last_model(&p).as_deref(), Some("claude-opus-5-5"));
        let bad = ASSISTANT.replace("claude-opus-5-5", "a\\u0001b");
        let (p, _rm2) = file(&format!("{bad}\n"));
        assert_eq!(last_model(&p), None);
    }
}
