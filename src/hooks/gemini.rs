//! Gemini CLI: hooks from the `hb-heartbeat` extension
//! (`integrations/gemini/`, installed with Gemini's own `gemini extensions
//! install`), each run as `bash -c COMMAND` by the CLI's child process
//! (Gemini relaunches itself: the pane's node starts a second node that
//! lives for the session), the payload on stdin. Its event names are its
//! own; the model is only in a model request (`llm_request.model` of
//! BeforeModel and BeforeToolSelection, the model after routing), so the
//! first beat with a model is the turn's first BeforeModel.
//!
//! Gemini shows a hook's stderr to its user and reads its stdout as a
//! decision, so the hook is silent: a problem goes to the hook log.
//!
//! No event marks an approval (the next is AfterTool, once the approved
//! tool has run), a denied tool, a cancelled turn or a failed model
//! request (AfterAgent fires only when a turn completes). A tool cancelled
//! while it ran still fires AfterTool, and its result says so
//! ([`cancelled`]): that is the turn's end, `ok`. The other ends are read
//! by the sidecar ([`crate::turn`]) from the session's chat recording
//! ([`settle`]), which every payload names (`transcript_path`).

use super::payload::{decode, Fields};
use super::{Ask, Call, Runtime, BASE};
use crate::hooks::json::Read;
use crate::turn::Turn;
use std::path::PathBuf;
use Ask::*;

pub const RUNTIME: Runtime = Runtime {
    name: "gemini",
    silent: true,
    events: &[
        ("SessionStart", Idle),
        ("BeforeAgent", Busy),
        ("BeforeModel", Busy),
        ("BeforeToolSelection", Busy),
        // Once per streamed chunk: not installed, but in a turn if hooked.
        ("AfterModel", Busy),
        ("BeforeTool", Busy),
        ("AfterTool", Busy),
        ("Notification", ByType),
        ("AfterAgent", Idle),
        // Also `/compress` at the prompt, which no AfterAgent ends.
        ("PreCompress", Nothing),
        ("SessionEnd", End),
    ],
    notifications: &[("ToolPermission", Waiting)],
    model: |c| c.fields.llm_request_model.clone(),
    ended: cancelled,
    record,
    settle,
    ..BASE
};

/// What a tool's result starts with when the user cancelled it (Esc or
/// Ctrl+C while it ran; 0.61.0): the shell tool's `returnDisplay`, and its
/// `llmContent` (`...before it could start.`, `...before it could
/// complete.`, then its output; in debug mode the `returnDisplay` too),
/// web search's. Gemini wraps an `llmContent` in `<untrusted_context>`. The
/// scheduler then marks the call cancelled and the turn ends with no
/// AfterAgent. A timeout's "Command was automatically cancelled ..." is not
/// the user's: the model goes on. (A cancelled subagent's result is not
/// text; the recording has it.)
const CANCELLED: &[&str] = &[
    "Command cancelled by user.",
    "Command was cancelled by user before it could ",
    "Search cancelled.",
    "Web search was cancelled.",
];

/// Does an AfterTool's payload say the user cancelled the tool?
fn cancelled(f: &Fields) -> bool {
    let says = |t: &str| {
        let t = t.strip_prefix("<untrusted_context>").unwrap_or(t);
        CANCELLED.iter().any(|c| t.trim_start().starts_with(c))
    };
    f.hook_event_name.as_deref() == Some("AfterTool")
        && [&f.tool_llm_content, &f.tool_return_display]
            .into_iter()
            .flatten()
            .any(|t| says(t))
}

/// The session's chat recording (`~/.gemini/tmp/PROJECT/chats/
/// session-*.jsonl`), as every payload names it.
fn record(c: &Call) -> Option<PathBuf> {
    let p = PathBuf::from(c.fields.transcript_path.as_deref()?);
    Some(p).filter(|p| p.is_absolute())
}

/// The decoders (payload.rs, [`decoder!`]).
mod wire {
    use crate::hooks::payload::decoder;

    /// A recorded message: its `type` (`user`, `gemini`, `info`, ...) and
    /// its tool calls; every other member is skipped (`content` is text
    /// or a list of parts: see [`Info`]).
    pub struct Message {
        pub kind: Option<String>,
        pub tool_calls: Option<Vec<ToolCall>>,
    }
    decoder!(Message {
        kind: "type",
        tool_calls: "toolCalls"
    });

    pub struct ToolCall {
        pub status: Option<String>,
    }
    decoder!(ToolCall { status: "status" });

    /// An `info` message's text.
    pub struct Info {
        pub content: Option<String>,
    }
    decoder!(Info { content: "content" });
}

/// One line of the chat recording (0.61.0: JSON lines, only ever appended;
/// a message is appended again, whole, each time it changes, and
/// `{"$set": ...}` lines update the metadata):
/// - `{"type":"info","content":"Request cancelled."}`, which the TUI adds
///   whenever a turn ends by the user's hand (Esc or Ctrl+C while the model
///   streams or a tool runs, "No" or Esc at the permission dialog): Ended;
/// - a `gemini` message whose tool calls all say `"status":"cancelled"`
///   (what the TUI ends the turn on; one cancelled among others that ran
///   goes back to the model): Ended.
///
/// Never Started: after a denial Gemini truncates its history and records
/// all of it again, at once, as new `user` and `gemini` messages (prompts
/// and tool results alike), so no message tells a new turn from that
/// rewrite. A new prompt's hooks (BeforeAgent, BeforeModel) follow it.
pub fn settle(line: &[u8]) -> Option<Turn> {
    let line = std::str::from_utf8(line).ok()?;
    let info = line.contains("Request cancelled.");
    if !(info || line.contains("\"cancelled\"")) || line.starts_with("{\"$") {
        return None;
    }
    let m = decode(line, wire::Message::read).ok()?;
    match m.kind.as_deref()? {
        "info" if info => {
            let i = decode(line, wire::Info::read).ok()?;
            (i.content.as_deref() == Some("Request cancelled.")).then_some(Turn::Ended)
        }
        "gemini" => {
            let calls = m.tool_calls?;
            let all = !calls.is_empty()
                && calls
                    .iter()
                    .all(|c| c.status.as_deref() == Some("cancelled"));
            all.then_some(Turn::Ended)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use crate::hooks::{interpret, Action};

    fn s(json: &str) -> Result<Action, String> {
        interpret(&super::RUNTIME, json).map(|e| e.action)
    }

    #[test]
    fn events_map_to_statuses() {
        for (event, want) in [
            ("SessionStart", Action::Beat("ok")),
            ("BeforeAgent", Action::Beat("busy")),
            ("BeforeModel", Action::Beat("busy")),
            ("BeforeTool", Action::Beat("busy")),
            ("AfterTool", Action::Beat("busy")),
            ("AfterAgent", Action::Beat("ok")),
            ("PreCompress", Action::Nothing),
            ("SessionEnd", Action::ClearNative),
        ] {
            let json = format!(r#"{{"hook_event_name":"{event}"}}"#);
            assert_eq!(s(&json), Ok(want), "{event}");
        }
        assert_eq!(
            s(r#"{"hook_event_name":"Notification","notification_type":"ToolPermission"}"#),
            Ok(Action::Beat("waiting"))
        );
        assert!(s(r#"{"hook_event_name":"Notification","notification_type":"Other"}"#).is_err());
        assert!(s(r#"{"hook_event_name":"Notification"}"#).is_err());
        // Claude Code's names are not Gemini's.
        assert!(s(r#"{"hook_event_name":"Stop"}"#).is_err());
    }

    #[test]
    fn the_model_is_the_model_requests() {
        let f = |json: &str| interpret(&super::RUNTIME, json).map(|e| e.fields.llm_request_model);
        assert_eq!(
            f(
                r#"{"hook_event_name":"BeforeModel","llm_request":{"messages":[{"role":"user","content":"x"}],"model":"gemini-x","config":{}}}"#
            ),
            Ok(Some("gemini-x".into()))
        );
        // Anything but an object with a text model is no model.
        for odd in [
            r#""gemini-x""#,
            "null",
            "[1]",
            r#"{"model":7}"#,
            r#"{"model":{"id":"x"}}"#,
            "{}",
        ] {
            let json = format!(r#"{{"hook_event_name":"BeforeModel","llm_request":{odd}}}"#);
            assert_eq!(f(&json), Ok(None), "{odd}");
        }
    }

    /// Every line of a real session's recording (`make e2e
    /// E2E=gemini-edges`: E1 Esc while the model streamed, E2 Esc while
    /// `sleep 60` ran, E3 "No" and E4 Esc at the dialog, E5 the question):
    /// the ends, and nothing else, also not the history Gemini records
    /// again after each denial.
    #[test]
    fn the_recording_says_where_turns_ended() {
        use crate::turn::Turn;
        let rec = include_str!("../../tests/fixtures/records/gemini/chat-edges.jsonl");
        let got: Vec<(usize, Turn)> = rec
            .lines()
            .enumerate()
            .filter_map(|(i, l)| super::settle(l.as_bytes()).map(|t| (i, t)))
            .collect();
        let e = Turn::Ended;
        assert_eq!(
            got,
            [
                (4, e),  // E1: "Request cancelled."
                (15, e), // E2: "Request cancelled." (the shell's pty ended),
                (17, e), // then the call, cancelled.
                (28, e), // E3: the call, "User denied execution.",
                (29, e), // then "Request cancelled.".
                (56, e), // E4: the same.
                (57, e),
            ]
        );
    }

    #[test]
    fn only_the_record_s_own_members_count() {
        use crate::turn::Turn;
        let s = |l: &str| super::settle(l.as_bytes());
        let ended = Some(Turn::Ended);
        assert_eq!(
            s(r#"{"id":"a","timestamp":"t","type":"info","content":"Request cancelled."}"#),
            ended
        );
        // The words in a prompt, another info, a nested message, a `$set`.
        for none in [
            r#"{"id":"a","type":"user","content":[{"text":"Request cancelled."}]}"#,
            r#"{"id":"a","type":"info","content":"Request cancelled. Or not."}"#,
            r#"{"id":"a","type":"warning","content":"Request cancelled."}"#,
            r#"{"id":"a","type":"user","content":[{"type":"info","content":"Request cancelled."}]}"#,
            r#"{"$set":{"messages":[{"type":"info","content":"Request cancelled."}]}}"#,
            r#"{"id":"a","type":"gemini","content":"","toolCalls":[{"status":"cancelled"},{"status":"success"}]}"#,
            r#"{"id":"a","type":"gemini","content":"","toolCalls":[]}"#,
            r#"{"id":"a","type":"gemini","content":"\"cancelled\""}"#,
            r#"{"id":"a","type":"gemini","toolCalls":[{"result":{"status":"cancelled"}}]}"#,
            // Broken or not JSON at all.
            r#"{"id":"a","type":"info","content":"Request cancelled.""#,
            "Request cancelled.",
            "",
        ] {
            assert_eq!(s(none), None, "{none}");
        }
        assert_eq!(
            s(r#"{"type":"gemini","toolCalls":[{"status":"cancelled"},{"status":"cancelled"}]}"#),
            ended
        );
        assert_eq!(super::settle(b"\xff\"Request cancelled.\""), None);
    }

    #[test]
    fn a_tool_the_user_cancelled_ends_the_turn() {
        let after = |resp: &str| {
            s(&format!(
                r#"{{"hook_event_name":"AfterTool","tool_name":"run_shell_command","tool_response":{resp}}}"#
            ))
        };
        let ok = Ok(Action::Beat("ok"));
        let busy = Ok(Action::Beat("busy"));
        // As 0.61.0 sends it (tests/fixtures/hooks/gemini/after-tool-cancelled.json).
        assert_eq!(
            after(
                r#"{"llmContent":"<untrusted_context>\nCommand was cancelled by user before it could complete. There was no output before it was cancelled.\n</untrusted_context>","returnDisplay":"Command cancelled by user."}"#
            ),
            ok
        );
        // Each of the two says it alone; with output, in debug mode.
        assert_eq!(
            after(
                r#"{"returnDisplay":"Command cancelled by user.\n\nOutput before cancellation:\nx"}"#
            ),
            ok
        );
        assert_eq!(
            after(
                r#"{"llmContent":"Command was cancelled by user before it could start.","returnDisplay":[[{"text":" "}]]}"#
            ),
            ok
        );
        assert_eq!(
            after(
                r#"{"llmContent":"Web search was cancelled.","returnDisplay":"Search cancelled."}"#
            ),
            ok
        );
        // A timeout is not the user's; output that mentions it is output.
        for resp in [
            r#"{"llmContent":"Command was automatically cancelled because it exceeded the timeout of 5.0 minutes without output.","returnDisplay":"Command was automatically cancelled because it exceeded the timeout of 5.0 minutes without output."}"#,
            r#"{"llmContent":"Output: Command cancelled by user.","returnDisplay":"echo Command cancelled by user."}"#,
            r#"{"llmContent":[{"text":"Operation cancelled by user"}],"returnDisplay":{"state":"cancelled"}}"#,
            r#""Command cancelled by user.""#,
            "null",
        ] {
            assert_eq!(after(resp), busy, "{resp}");
        }
        // Only AfterTool's result says so.
        assert_eq!(
            s(
                r#"{"hook_event_name":"BeforeTool","tool_response":{"returnDisplay":"Command cancelled by user."}}"#
            ),
            busy
        );
    }

    #[test]
    fn the_record_is_the_payload_s_transcript_path() {
        use crate::hooks::Call;
        let record = |json: &str| {
            let e = interpret(&super::RUNTIME, json).unwrap();
            let call = Call {
                fields: &e.fields,
                env: &|_| None,
                runtime_pid: None,
            };
            (super::RUNTIME.record)(&call)
        };
        let fixture = include_str!("../../tests/fixtures/hooks/gemini/after-tool-cancelled.json");
        let got = record(fixture).unwrap();
        assert!(got.is_absolute() && got.to_string_lossy().ends_with(".jsonl"));
        assert!(got
            .to_string_lossy()
            .contains("/.gemini/tmp/work/chats/session-"));
        // Relative or absent: none.
        assert_eq!(
            record(r#"{"hook_event_name":"BeforeAgent","transcript_path":"chats/s.jsonl"}"#),
            None
        );
        assert_eq!(record(r#"{"hook_event_name":"BeforeAgent"}"#), None);
    }
}
