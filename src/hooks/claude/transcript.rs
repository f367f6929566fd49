//! What a Claude Code session's transcript (`transcript_path` in every
//! hook payload) says: how its turn went ([`settle`], for the ends of
//! turns that fire no hook), and the model it last asked or answered
//! with: in print mode no hook payload names the model, but the
//! transcript does, twice a request.
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

use crate::turn::Turn;
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

/// What one transcript line says about the turn (contract v4, "The end of
/// a turn"), for the lines Claude Code (2.1.197, 2.1.332) writes where it
/// fires no hook:
///
/// - `[Request interrupted by user]` (an interrupt while the model
///   streams) and `[Request interrupted by user for tool use]` (an
///   interrupt during a tool, a denial or Esc at its permission dialog, or
///   at a question): a user entry whose text block is exactly that, which
///   Claude Code writes itself: the turn ended, [`Turn::Ended`];
/// - a `tool_result` whose `toolUseResult` is `User rejected tool use`: the
///   dialog was answered no; when the turn ends the line above follows at
///   once, and when the model goes on (a denial with instructions) the
///   beat should not stay `waiting`: [`Turn::Resumed`];
/// - a prompt the operator typed (a user entry whose content is a string,
///   not a meta entry, not a local command's echo or output, not a shell
///   escape): [`Turn::Started`].
///
/// A subagent's lines (`"isSidechain":true`) say nothing about the main
/// turn. As in [`model_of_line`], the members are found as text in
/// Claude Code's compact JSON (a user's text quoting them is escaped).
pub fn settle(line: &[u8]) -> Option<Turn> {
    let line = std::str::from_utf8(line).ok()?;
    if !line.contains(r#""type":"user""#) || line.contains(r#""isSidechain":true"#) {
        return None;
    }
    const INTERRUPTS: [&str; 2] = [
        r#""text":"[Request interrupted by user]""#,
        r#""text":"[Request interrupted by user for tool use]""#,
    ];
    if INTERRUPTS.iter().any(|i| line.contains(i)) {
        return Some(Turn::Ended);
    }
    if line.contains(r#""toolUseResult":"User rejected tool use""#) {
        return Some(Turn::Resumed);
    }
    const PROMPT: &str = r#""message":{"role":"user","content":""#;
    let content = &line[line.find(PROMPT)? + PROMPT.len()..];
    let local = ["<command-", "<local-command-", "<bash-"];
    (!line.contains(r#""isMeta":true"#) && !local.iter().any(|l| content.starts_with(l)))
        .then_some(Turn::Started)
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

    fn fixture(kind: &str) -> String {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/hooks/claude")
            .join(format!("transcript-{kind}.jsonl"));
        std::fs::read_to_string(p).unwrap()
    }

    fn turn(line: &str) -> Option<Turn> {
        settle(line.as_bytes())
    }

    #[test]
    fn the_real_clis_lines_say_how_the_turn_went() {
        for (kind, want) in [
            ("interrupted", Some(Turn::Ended)),
            ("interrupted-tool-use", Some(Turn::Ended)),
            ("rejected", Some(Turn::Resumed)),
            ("prompt", Some(Turn::Started)),
        ] {
            let text = fixture(kind);
            for line in text.lines() {
                assert_eq!(turn(line), want, "{kind}: {line}");
            }
        }
    }

    /// Whole transcripts the real CLIs wrote in `make e2e`'s claude-edges
    /// modes (every entry but the system prompts and attachments): Esc while
    /// streaming, Esc during a tool, No and Esc at the dialog, a question
    /// answered and one Esc'd, each followed by a prompt.
    #[test]
    fn a_whole_recorded_session_reads_as_its_turns() {
        use Turn::*;
        let edge = |end: &[Turn]| [&[Started], end, &[Started]].concat();
        let want: Vec<Turn> = [
            edge(&[Ended]),          // E1
            edge(&[Resumed, Ended]), // E2 (the tool's result, then the end)
            edge(&[Resumed, Ended]), // E3
            edge(&[Resumed, Ended]), // E4
            vec![Started],           // E5, answered: hooks say it
            edge(&[Resumed, Ended]), // E5, Esc
        ]
        .concat();
        for version in ["2.1.197", "2.1.332"] {
            let text = fixture(version);
            let got: Vec<Turn> = text.lines().filter_map(turn).collect();
            assert_eq!(got, want, "{version}");
            // Read as one batch, a session ends in its last prompt: nothing.
            assert_eq!(crate::turn::verdict(got, false), None);
        }
    }

    #[test]
    fn lines_that_only_look_like_an_end_or_a_prompt_say_nothing() {
        let end = fixture("interrupted");
        let end = end.lines().next().unwrap();
        // A subagent's interrupt is not the main turn's.
        let side = end.replace(r#""isSidechain":false"#, r#""isSidechain":true"#);
        assert_eq!(turn(&side), None);
        // The operator typing the words, as a prompt or quoted in one.
        let typed = r#"{"type":"user","message":{"role":"user","content":"[Request interrupted by user]"}}"#;
        assert_eq!(turn(typed), Some(Turn::Started));
        let quoted = r#"{"type":"user","message":{"role":"user","content":"say \"text\":\"[Request interrupted by user]\""}}"#;
        assert_eq!(turn(quoted), Some(Turn::Started));
        // The model writing them.
        let said = r#"{"type":"assistant","message":{"role":"assistant","content":[{"type":"text","text":"[Request interrupted by user]"}]}}"#;
        assert_eq!(turn(said), None);
        // Local commands, their output, meta entries, shell escapes.
        for content in [
            "<command-name>/model</command-name>",
            "<local-command-stdout>Set model</local-command-stdout>",
            "<bash-input>ls</bash-input>",
        ] {
            let line =
                format!(r#"{{"type":"user","message":{{"role":"user","content":"{content}"}}}}"#);
            assert_eq!(turn(&line), None, "{content}");
        }
        let meta =
            r#"{"type":"user","message":{"role":"user","content":"Caveat: ..."},"isMeta":true}"#;
        assert_eq!(turn(meta), None);
        // A tool's result that is not a rejection; junk.
        let result = r#"{"type":"user","message":{"role":"user","content":[{"type":"tool_result","content":"ok","tool_use_id":"t"}]},"toolUseResult":{"stdout":"ok"}}"#;
        assert_eq!(turn(result), None);
        for junk in ["", "{", "not json", "\u{0}", "{\"type\":\"user\"}"] {
            assert_eq!(turn(junk), None, "{junk:?}");
        }
        assert_eq!(settle(b"\xff\xfe"), None);
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
