//! The model a Claude Code session last answered with, from its transcript
//! (`transcript_path` in every hook payload): in print mode no hook payload
//! names the model, but each assistant message in the transcript does.
//!
//! A transcript grows for the whole session (megabytes: every tool result
//! is in it), and a hook runs inside the agent's tool calls, so only its
//! tail is read, at most [`TAIL`] bytes, and searched backwards for the
//! last main-thread assistant message. Not finding one is no error: the
//! hook keeps the existing beat's model.

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

/// How much of the transcript's end is read.
pub const TAIL: u64 = 256 << 10;

/// The model of the last assistant message in the transcript's tail.
pub fn last_model(path: &Path) -> Option<String> {
    let mut f = std::fs::File::open(path).ok()?;
    if !f.metadata().ok()?.is_file() {
        return None;
    }
    let len = f.seek(SeekFrom::End(0)).ok()?;
    let start = len.saturating_sub(TAIL);
    f.seek(SeekFrom::Start(start)).ok()?;
    let mut buf = Vec::with_capacity((len - start) as usize);
    f.take(TAIL).read_to_end(&mut buf).ok()?;
    // A tail that starts mid-line: drop the partial first line.
    let body = if start > 0 {
        let nl = buf.iter().position(|&c| c == b'\n')?;
        &buf[nl + 1..]
    } else {
        &buf[..]
    };
    body.split(|&c| c == b'\n').rev().find_map(model_of_line)
}

/// The `message.model` of one transcript line when it is a main-thread
/// assistant message (a subagent's, `"isSidechain":true`, may use another
/// model). Claude Code writes compact JSON, so the members are found as
/// text; a model with escapes in it is not taken.
fn model_of_line(line: &[u8]) -> Option<String> {
    let line = std::str::from_utf8(line).ok()?;
    if !line.contains(r#""role":"assistant""#) || line.contains(r#""isSidechain":true"#) {
        return None;
    }
    let message = line.find(r#""message":{"#)?;
    let rest = &line[message..];
    let at = rest.find(r#""model":""#)? + r#""model":""#.len();
    let value = &rest[at..];
    let end = value.find('"')?;
    let model = &value[..end];
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

    fn file(text: &str) -> (std::path::PathBuf, impl Drop) {
        struct Rm(std::path::PathBuf);
        impl Drop for Rm {
            fn drop(&mut self) {
                let _ = std::fs::remove_file(&self.0);
            }
        }
        let p = std::env::temp_dir().join(format!(
            "hb-transcript-{}-{}.jsonl",
            std::process::id(),
            fastrand::u64(..)
        ));
        std::fs::write(&p, text).unwrap();
        (p.clone(), Rm(p))
    }

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
