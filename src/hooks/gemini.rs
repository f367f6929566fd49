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
//! request (AfterAgent fires only when a turn completes): the beat keeps
//! its last state until the next event (integrations/gemini/README.md).

use super::{Ask, Runtime, BASE};
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
    ..BASE
};

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
}
