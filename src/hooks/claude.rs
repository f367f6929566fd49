//! Claude Code: hooks in `settings.json`, run through `/bin/sh -c`, the
//! payload on stdin. Its events and notification types, and where its
//! model is: SessionStart of an interactive session names it; in print
//! mode no payload does, but the session's transcript does ([`transcript`]),
//! and so does the operator who pinned one (`--model`, `ANTHROPIC_MODEL`).
//! Claude Code shows a hook's stderr only in its transcript view, so a
//! problem is one stderr line. An interrupt, a denial and Esc at a dialog
//! fire no hook at all; the transcript says them at once, and the sidecar
//! reads them there ([`transcript::settle`], [`crate::turn`]).

mod transcript;

use super::{mentions, Ask, Call, Runtime, BASE};
use crate::hooks::payload::Fields;
use Ask::*;

pub const RUNTIME: Runtime = Runtime {
    name: "claude",
    events: &[
        ("SessionStart", Idle),
        ("UserPromptSubmit", Busy),
        ("PreToolUse", Busy),
        ("PostToolUse", Busy),
        ("PostToolUseFailure", Busy),
        ("PreCompact", Busy),
        // A subagent's end is not the turn's: the main agent carries on.
        ("SubagentStart", Busy),
        ("SubagentStop", Busy),
        ("PermissionRequest", Waiting),
        ("Notification", ByType),
        ("Stop", Idle),
        ("StopFailure", Idle),
        ("SessionEnd", End),
    ],
    notifications: &[
        ("permission_prompt", Waiting),
        ("elicitation_dialog", Waiting),
        ("idle_prompt", Idle),
    ],
    untyped,
    payload_model: transcript::model_id,
    model,
    record,
    settle: transcript::settle,
    ..BASE
};

/// Older payloads have no notification type, only a message ("Claude
/// needs your permission to use Bash", "Claude is waiting for your input").
fn untyped(f: &Fields) -> std::result::Result<Ask, String> {
    let m = f.message.as_deref().unwrap_or("");
    if mentions(m, "permission") {
        Ok(Waiting)
    } else if mentions(m, "waiting for your input") || mentions(m, "idle") {
        Ok(Idle)
    } else {
        Err("notification changes no status".into())
    }
}

/// The session's transcript, which the sidecar follows for the ends of
/// turns Claude Code fires no hook for (an interrupt, a denial, Esc at a
/// dialog: [`transcript::settle`]).
fn record(c: &Call) -> Option<std::path::PathBuf> {
    c.fields
        .transcript_path
        .as_deref()
        .map(std::path::PathBuf::from)
        .filter(|p| p.is_absolute())
}

/// The model the session's transcript names last (the one answering now),
/// else the one the operator pinned.
fn model(c: &Call) -> Option<String> {
    c.fields
        .transcript_path
        .as_deref()
        .map(std::path::Path::new)
        .filter(|p| p.is_absolute())
        .and_then(transcript::last_model)
        // `claude --model M`, which Claude Code reads before ANTHROPIC_MODEL.
        .or_else(|| c.pinned("--model", "ANTHROPIC_MODEL"))
        .map(transcript::model_id)
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
            s(r#"{"hook_event_name":"UserPromptSubmit","prompt":"hi"}"#),
            Ok(Action::Beat("busy"))
        );
        assert_eq!(
            s(r#"{"hook_event_name":"PreToolUse","tool_input":{"a":[1,2,{"b":null}]}}"#),
            Ok(Action::Beat("busy"))
        );
        assert_eq!(
            s(r#"{"hook_event_name":"Stop","stop_hook_active":false}"#),
            Ok(Action::Beat("ok"))
        );
        assert_eq!(
            s(r#"{"hook_event_name":"Notification","notification_type":"permission_prompt"}"#),
            Ok(Action::Beat("waiting"))
        );
        assert_eq!(
            s(r#"{"hook_event_name":"Notification","notification_type":"idle_prompt"}"#),
            Ok(Action::Beat("ok"))
        );
        assert_eq!(
            s(
                r#"{"hook_event_name":"Notification","message":"Claude needs your permission to use Bash"}"#
            ),
            Ok(Action::Beat("waiting"))
        );
        assert_eq!(
            s(r#"{"hook_event_name":"Notification","message":"Claude is waiting for your input"}"#),
            Ok(Action::Beat("ok"))
        );
        assert!(
            s(r#"{"hook_event_name":"Notification","notification_type":"auth_success"}"#).is_err()
        );
        assert_eq!(
            s(r#"{"hook_event_name":"SessionEnd","reason":"exit"}"#),
            Ok(Action::ClearNative)
        );
        // A subagent's end leaves the turn busy.
        assert_eq!(
            s(r#"{"hook_event_name":"SubagentStop"}"#),
            Ok(Action::Beat("busy"))
        );
        assert!(s(r#"{"hook_event_name":"Bogus"}"#).is_err());
        assert!(s(r#"{"session_id":"x"}"#).is_err());
        // Codex's notify is not Claude's.
        assert!(s(r#"{"type":"agent-turn-complete"}"#).is_err());
    }
}
