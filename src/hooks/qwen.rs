//! Qwen Code: command hooks in `~/.qwen/settings.json` with Claude Code's
//! event names, each run as `bash -c COMMAND` (bash execs a simple
//! command), the payload on stdin. Qwen feeds a hook's plain stdout to the
//! model on SessionStart and UserPromptSubmit and reads exit 2 as "block",
//! so the hook is silent: a problem goes to the hook log, never to a
//! stream. `qwen` starts as a node wrapper that relaunches the CLI as its
//! child (and the TUI relaunches itself once more), all living for the
//! session; the hooks run under the last, and the beat names the wrapper,
//! the pane's process (`agent_pid` climbs the two relaunchers).
//!
//! The model: SessionStart's `model`, else `$QWEN_CODE_MODEL`, which Qwen
//! puts in every hook's environment (its session's active model, so a
//! `/model` switch shows at the next hook).
//!
//! Not in the table, so unknown (logged, no file touched): the events
//! Qwen runs through a short-lived detached `node --eval` supervisor
//! (`MessageDisplay`, `StopFailure`, `SessionDelete`): in the TUI it
//! stands one step further from the pane's process than the walk climbs,
//! and once the runtime has ended it is an orphan, so its hooks would name
//! the wrong process. A failed turn needs none of them: the TUI's
//! `Notification` `idle_prompt` follows it, and `qwen -p` exits (README,
//! integrations/qwen). Nor `PostToolUse`: the turn is busy from
//! `PreToolUse` on, and the tool's result comes back as a
//! `UserPromptSubmit`.

use super::{Ask, Call, Runtime, BASE};
use Ask::*;

pub const RUNTIME: Runtime = Runtime {
    name: "qwen",
    silent: true,
    events: &[
        ("SessionStart", Idle),
        ("UserPromptSubmit", Busy),
        // Fires after the operator approved (or no dialog was needed).
        ("PreToolUse", Busy),
        ("PermissionRequest", Waiting),
        ("Notification", ByType),
        ("Stop", Idle),
        ("SessionEnd", End),
    ],
    notifications: &[("permission_prompt", Waiting), ("idle_prompt", Idle)],
    model,
    ..BASE
};

/// `$QWEN_CODE_MODEL`, which the hook inherits from the runtime.
fn model(c: &Call) -> Option<String> {
    (c.env)("QWEN_CODE_MODEL").and_then(|m| m.into_string().ok())
}

#[cfg(test)]
mod tests {
    use crate::hooks::{interpret, Action};

    fn s(json: &str) -> Result<Action, String> {
        interpret(&super::RUNTIME, json).map(|e| e.action)
    }

    #[test]
    fn events_map_to_statuses() {
        assert_eq!(
            s(r#"{"hook_event_name":"SessionStart","model":"qwen3-coder"}"#),
            Ok(Action::Beat("ok"))
        );
        assert_eq!(
            s(r#"{"hook_event_name":"UserPromptSubmit","prompt":"hi"}"#),
            Ok(Action::Beat("busy"))
        );
        assert_eq!(
            s(r#"{"hook_event_name":"PermissionRequest","tool_name":"run_shell_command"}"#),
            Ok(Action::Beat("waiting"))
        );
        assert_eq!(
            s(r#"{"hook_event_name":"Notification","notification_type":"permission_prompt"}"#),
            Ok(Action::Beat("waiting"))
        );
        assert_eq!(
            s(r#"{"hook_event_name":"Notification","notification_type":"idle_prompt"}"#),
            Ok(Action::Beat("ok"))
        );
        assert_eq!(s(r#"{"hook_event_name":"Stop"}"#), Ok(Action::Beat("ok")));
        assert_eq!(
            s(r#"{"hook_event_name":"SessionEnd","reason":"prompt_input_exit"}"#),
            Ok(Action::ClearNative)
        );
        // An untyped or other notification changes nothing.
        assert!(
            s(r#"{"hook_event_name":"Notification","notification_type":"auth_success"}"#).is_err()
        );
        assert!(s(r#"{"hook_event_name":"Notification"}"#).is_err());
        // Run by the detached supervisor: never a beat.
        for e in ["StopFailure", "MessageDisplay", "SessionDelete"] {
            assert!(
                s(&format!(r#"{{"hook_event_name":"{e}"}}"#)).is_err(),
                "{e}"
            );
        }
    }
}
