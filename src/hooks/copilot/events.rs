//! The model a Copilot CLI session is using, from its events file
//! (`session-state/ID/events.jsonl`): one JSON event a line, appended for
//! the whole session. No hook payload names the model, but this file
//! records the one selected at the start (`session.start`,
//! `session.resume`: `selectedModel`), each switch (`session.model_change`:
//! `newModel`) and the model of each assistant message (`model`; a
//! subagent's message, which has a `parentToolCallId`, may name another
//! and is skipped). The last of them is the model answering now.
//!
//! The file grows for the whole session (every tool result is in it) and a
//! hook runs inside the agent's tool calls, so only its tail is read, at
//! most [`TAIL`] bytes, from the end; a line is decoded only when it
//! mentions one of those event types. Not finding one is no error: the
//! hook falls back to `$COPILOT_MODEL`, then to the beat's model.

use crate::hooks::json::Read;
use crate::hooks::payload::decode;
use std::path::Path;

/// How much of the file's end is read.
pub const TAIL: u64 = 256 << 10;

/// The event types that name the model, and the member that does.
const CARRIERS: &[(&str, Member)] = &[
    ("assistant.message", Member::Model),
    ("session.model_change", Member::NewModel),
    ("session.start", Member::SelectedModel),
    ("session.resume", Member::SelectedModel),
];

#[derive(Clone, Copy)]
enum Member {
    Model,
    NewModel,
    SelectedModel,
}

/// The decoders (payload.rs, [`decoder!`]).
mod wire {
    use crate::hooks::payload::decoder;

    /// One line of the file; every other member is skipped.
    pub struct Line {
        pub kind: Option<String>,
        pub data: Option<Data>,
    }
    decoder!(Line {
        kind: "type",
        data: "data"
    });

    pub struct Data {
        pub model: Option<String>,
        pub new_model: Option<String>,
        pub selected_model: Option<String>,
        pub parent_tool_call_id: Option<String>,
    }
    decoder!(Data {
        model: "model",
        new_model: "newModel",
        selected_model: "selectedModel",
        parent_tool_call_id: "parentToolCallId",
    });
}

/// The model the last carrier in the file's tail names.
pub fn last_model(path: &Path) -> Option<String> {
    crate::hooks::tail::find_last(path, TAIL, model_of_line)
}

/// The model one line names, when it is a carrier's.
fn model_of_line(line: &[u8]) -> Option<String> {
    let line = std::str::from_utf8(line).ok()?;
    if !CARRIERS.iter().any(|(kind, _)| line.contains(kind)) {
        return None;
    }
    let l = decode(line, wire::Line::read).ok()?;
    let (_, member) = CARRIERS
        .iter()
        .find(|(kind, _)| l.kind.as_deref() == Some(kind))?;
    let d = l.data?;
    let model = match member {
        Member::Model if d.parent_tool_call_id.is_none() => d.model,
        Member::Model => None,
        Member::NewModel => d.new_model,
        Member::SelectedModel => d.selected_model,
    }?;
    // A lone surrogate in the file reads as U+FFFD: no model to trust.
    (!model.contains(char::REPLACEMENT_CHARACTER) && crate::beat::check_model(&model).is_ok())
        .then_some(model)
}

#[cfg(test)]
mod tests {
    use super::*;

    const START: &str = r#"{"type":"session.start","data":{"sessionId":"s","version":1,"producer":"copilot-agent","copilotVersion":"1.0.102","selectedModel":"gpt-start","context":{"cwd":"/w"}},"id":"1","timestamp":"t","parentId":null}"#;
    const MESSAGE: &str = r#"{"type":"assistant.message","data":{"messageId":"m","model":"gpt-answer","content":"","toolRequests":[{"toolCallId":"c","name":"bash","arguments":{"command":"x","model":"not-this"}}]},"id":"2","timestamp":"t","parentId":"1"}"#;

    use crate::hooks::tail::scratch as file;

    #[test]
    fn the_last_carrier_names_the_model() {
        let (p, _rm) = file(&format!("{START}\n"));
        assert_eq!(last_model(&p).as_deref(), Some("gpt-start"));
        let hook =
            r#"{"type":"hook.start","data":{"hookType":"agentStop","input":{"model":"no"}}}"#;
        let (p, _rm2) = file(&format!("{START}\n{MESSAGE}\n{hook}\n"));
        assert_eq!(last_model(&p).as_deref(), Some("gpt-answer"));
        let change = r#"{"type":"session.model_change","data":{"source":"user","newModel":"gpt-new","previousModel":"gpt-answer"}}"#;
        let (p, _rm3) = file(&format!("{START}\n{MESSAGE}\n{change}\n"));
        assert_eq!(last_model(&p).as_deref(), Some("gpt-new"));
    }

    #[test]
    fn a_subagents_message_and_odd_lines_are_skipped() {
        let sub = MESSAGE.replace("gpt-answer", "gpt-sub").replace(
            r#""messageId":"m","#,
            r#""messageId":"m","parentToolCallId":"c","#,
        );
        let quoted = r#"{"type":"user.message","data":{"content":"{\"type\":\"session.start\",\"data\":{\"selectedModel\":\"fake\"}}"}}"#;
        let odd = [
            r#"{"type":"assistant.message","data":{"model":7}}"#,
            r#"{"type":"assistant.message","data":{"model":"a\u0001b"}}"#,
            r#"{"type":"assistant.message","data":{"model":"\ud800"}}"#,
            r#"{"type":"session.start","data":"#,
            "assistant.message",
            "",
        ];
        let text = format!("{MESSAGE}\n{sub}\n{quoted}\n{}\n", odd.join("\n"));
        let (p, _rm) = file(&text);
        assert_eq!(last_model(&p).as_deref(), Some("gpt-answer"));
    }

    #[test]
    fn only_the_tail_is_read() {
        let filler = format!(
            "{{\"type\":\"tool.execution_complete\",\"data\":{{\"x\":\"{}\"}}}}\n",
            "y".repeat(1000)
        );
        let text = format!("{START}\n{}", filler.repeat(300));
        assert!(text.len() as u64 > TAIL);
        let (p, _rm) = file(&text);
        assert_eq!(last_model(&p), None);
        let (p, _rm2) = file(&format!("{text}{MESSAGE}\n"));
        assert_eq!(last_model(&p).as_deref(), Some("gpt-answer"));
    }

    #[test]
    fn no_file_is_no_model() {
        assert_eq!(last_model(Path::new("/nonexistent/events.jsonl")), None);
        assert_eq!(last_model(Path::new("/")), None);
    }
}
