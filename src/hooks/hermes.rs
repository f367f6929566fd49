//! Hermes Agent (PyPI `hermes-agent`): shell hooks in `~/.hermes/config.yaml`
//! (`hooks: EVENT: [{command: ...}]`), each run directly (no shell) by
//! Hermes' own python, in line, with the payload on stdin:
//! `{hook_event_name, tool_name, tool_input, session_id, cwd, extra}`, the
//! event's keyword arguments in `extra` (the model in `extra.model`, an
//! approval's `surface` in `extra.surface`). No transcript path.
//!
//! Hermes acts on JSON a hook prints (`{"context": ...}` reaches the
//! model, `{"decision": "block"}` blocks a tool) and logs its stderr: the
//! hook is silent, a problem goes to the hook log.
//!
//! `on_session_start` comes with the first prompt, not at launch (busy,
//! like the prompt); `on_session_end` at the end of every turn, completed
//! or interrupted (Ctrl-C); `on_session_finalize` when the CLI leaves
//! (`/exit`, `chat -q`), not after `-z`. A dangerous command first asks
//! `pre_approval_request`: surface `smart` is an auxiliary model's verdict
//! (no dialog, busy), `cli` the dialog on the terminal (waiting),
//! `gateway` a messaging platform's (waiting); `post_approval_response`
//! follows the answer, a denial and Ctrl-C included (busy: the turn goes
//! on to its end).

use super::{Ask, Call, Runtime, BASE};
use crate::hooks::payload::Fields;
use Ask::*;

pub const RUNTIME: Runtime = Runtime {
    name: "hermes",
    silent: true,
    event,
    events: &[
        ("on_session_start", Busy),
        ("pre_llm_call", Busy),
        ("pre_api_request", Busy),
        ("post_api_request", Busy),
        ("api_request_error", Busy),
        ("pre_tool_call", Busy),
        ("post_tool_call", Busy),
        ("pre_approval_request/smart", Busy),
        ("pre_approval_request/cli", Waiting),
        ("pre_approval_request/gateway", Waiting),
        ("post_approval_response", Busy),
        ("subagent_start", Busy),
        ("subagent_stop", Busy),
        ("post_llm_call", Busy),
        ("on_session_end", Idle),
        // `/new`, `/reset` at the prompt.
        ("on_session_reset", Idle),
        ("on_session_finalize", End),
    ],
    model,
    ..BASE
};

/// The payload's event; an approval request is named with its surface
/// (`pre_approval_request/cli`), which decides what it asks. An unknown
/// surface is an unknown event: logged, nothing touched.
fn event(f: &Fields) -> Option<&str> {
    let name = f.hook_event_name.as_deref()?;
    if name != "pre_approval_request" {
        return Some(name);
    }
    Some(match f.extra_surface.as_deref() {
        Some("cli") => "pre_approval_request/cli",
        Some("smart") => "pre_approval_request/smart",
        Some("gateway") => "pre_approval_request/gateway",
        _ => "pre_approval_request",
    })
}

/// `extra.model`: the session's events and model calls name it, a tool's
/// do not (the beat keeps it then).
fn model(c: &Call) -> Option<String> {
    c.fields.extra_model.clone()
}

#[cfg(test)]
mod tests {
    use crate::hooks::{interpret, Action};

    fn s(json: &str) -> Result<Action, String> {
        interpret(&super::RUNTIME, json).map(|e| e.action)
    }

    fn ev(event: &str, extra: &str) -> String {
        format!(
            r#"{{"hook_event_name":"{event}","tool_name":null,"tool_input":null,"session_id":"s","cwd":"/w","extra":{extra}}}"#
        )
    }

    #[test]
    fn events_map_to_statuses() {
        for (event, want) in [
            ("on_session_start", Action::Beat("busy")),
            ("pre_llm_call", Action::Beat("busy")),
            ("pre_tool_call", Action::Beat("busy")),
            ("post_approval_response", Action::Beat("busy")),
            ("post_tool_call", Action::Beat("busy")),
            ("post_llm_call", Action::Beat("busy")),
            ("on_session_end", Action::Beat("ok")),
            ("on_session_reset", Action::Beat("ok")),
            ("on_session_finalize", Action::ClearNative),
        ] {
            assert_eq!(s(&ev(event, "{}")), Ok(want), "{event}");
        }
        // Claude Code's names are not Hermes'.
        assert!(s(&ev("Stop", "{}")).is_err());
    }

    #[test]
    fn an_approval_waits_only_on_a_dialog() {
        let a = |surface: &str| s(&ev("pre_approval_request", surface));
        assert_eq!(a(r#"{"surface":"cli"}"#), Ok(Action::Beat("waiting")));
        assert_eq!(a(r#"{"surface":"gateway"}"#), Ok(Action::Beat("waiting")));
        assert_eq!(a(r#"{"surface":"smart"}"#), Ok(Action::Beat("busy")));
        for odd in [
            r#"{"surface":"tui"}"#,
            r#"{"surface":7}"#,
            "{}",
            "null",
            r#""cli""#,
        ] {
            assert!(a(odd).is_err(), "{odd}");
        }
        // A surface elsewhere is no surface.
        let top = r#"{"hook_event_name":"pre_approval_request","surface":"cli"}"#;
        assert!(s(top).is_err());
    }

    #[test]
    fn the_model_is_extras() {
        let m = |extra: &str| {
            interpret(&super::RUNTIME, &ev("on_session_start", extra))
                .map(|e| (e.fields.model, e.fields.extra_model))
        };
        assert_eq!(
            m(r#"{"model":"hermes-x","platform":"cli"}"#),
            Ok((None, Some("hermes-x".into())))
        );
        // A tool's result or trace, however deep, is skipped.
        assert_eq!(
            m(
                r#"{"result":{"a":[[[{"model":"no"}]]]},"middleware_trace":[{"model":"no"}],"model":"m"}"#
            ),
            Ok((None, Some("m".into())))
        );
        for odd in [r#"{"model":7}"#, r#"{"model":{"id":"x"}}"#, "[]", r#""m""#] {
            assert_eq!(m(odd), Ok((None, None)), "{odd}");
        }
    }
}
