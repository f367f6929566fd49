//! GitHub Copilot CLI (`@github/copilot`): hooks in `~/.copilot/hooks/*.json`
//! (`$COPILOT_HOME/hooks/`), each run as `/bin/bash --norc --noprofile -c
//! CMD` with the payload on stdin. Its events and notification types, and
//! where its model is.
//!
//! Fail-closed, so silent: Copilot CLI denies a tool when a `preToolUse`
//! hook exits 1 or 2, or errs (a missing `hb-write`, exit 127, denied every
//! tool in 1.0.102), and a `permissionRequest` hook's stdout that is not its
//! JSON denies the permission. So the hook prints nothing at all, problems
//! go to the hook log, and the installed command ends in `|| true` (bash
//! then stays between the hook and Copilot: [`super::agent_pid`] walks past
//! it by name).
//!
//! Its payloads do not say which event they are (only `permissionRequest`
//! carries a `hookName`), so each installed hook names its event:
//! `hb-write --hook copilot --event preToolUse`. Keys are camelCase
//! (`sessionId`, `toolName`); the notification's are snake_case.
//!
//! `sessionStart` comes with the first prompt, and Copilot runs its hooks
//! without waiting for them: busy, like the prompt, so that a late one
//! cannot undo userPromptSubmitted's beat.
//!
//! `permissionRequest` fires before Copilot's permission service decides,
//! for the tools it then approves by itself too: busy, not waiting. The
//! dialog is the `permission_prompt` notification. `errorOccurred` comes
//! for each failed model call, the retried ones too, and a turn that
//! failed ends with no `agentStop`: so it is `ok` (a retry that succeeds
//! is busy again at its next tool call; `busy` would outlast a failed
//! turn for good).
//!
//! The model: no payload names it. The session's events file does
//! ([`events`]), found from agentStop's `transcriptPath`, else from the
//! payload's `sessionId` under `$COPILOT_HOME` (else `~/.copilot`); before
//! Copilot has written it, the `--model` the runtime was started with, else
//! `$COPILOT_MODEL`, which the hook inherits when the operator set it.
//!
//! The turn's end with no hook (Esc Esc, Ctrl+C, Esc at a dialog) and a
//! denial after which the model goes on: the same events file, read by
//! [`turns`].

mod events;
mod turns;

use super::{Ask, Call, Runtime, BASE};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use Ask::*;

pub const RUNTIME: Runtime = Runtime {
    name: "copilot",
    silent: true,
    // No payload names its event: the hook's command does (`--event`).
    event: |_| None,
    events: &[
        // It comes with the first prompt (its `initialPrompt`), of a new
        // session or a resumed one, and Copilot does not wait for it: its
        // hook can end after userPromptSubmitted's. An `ok` here could
        // then stand for the whole first model call.
        ("sessionStart", Busy),
        ("userPromptSubmitted", Busy),
        ("preToolUse", Busy),
        ("permissionRequest", Busy),
        ("postToolUse", Busy),
        ("postToolUseFailure", Busy),
        ("preCompact", Busy),
        // A subagent's end is not the turn's.
        ("subagentStart", Busy),
        ("subagentStop", Busy),
        ("notification", ByType),
        ("errorOccurred", Idle),
        ("agentStop", Idle),
        ("sessionEnd", End),
    ],
    notifications: &[
        ("permission_prompt", Waiting),
        // The ask_user tool's question ("Information requested").
        ("elicitation_dialog", Waiting),
        // Background shells and agents, the inbox: not the agent's turn.
        ("agent_completed", Nothing),
        ("agent_idle", Nothing),
        ("shell_completed", Nothing),
        ("shell_detached_completed", Nothing),
        ("new_inbox_message", Nothing),
        ("instruction_discovered", Nothing),
        ("workflow_completed", Nothing),
        ("unclassified", Nothing),
    ],
    model,
    record: events_file,
    settle: turns::settle,
    ..BASE
};

/// The model the session's events file names last (Copilot writes it a
/// moment after the session starts), else the one the operator pinned:
/// `copilot --model M` on the runtime's command line, else `COPILOT_MODEL`,
/// which the hook inherits.
fn model(c: &Call) -> Option<String> {
    events_file(c)
        .and_then(|p| events::last_model(&p))
        .or_else(|| c.pinned("--model", "COPILOT_MODEL"))
}

/// The session's `events.jsonl`: agentStop names it; every payload names
/// the session, whose directory is `session-state/ID/` under
/// `$COPILOT_HOME`, else `~/.copilot`.
fn events_file(c: &Call) -> Option<PathBuf> {
    let named = c.fields.transcript_path.as_deref().map(Path::new);
    if let Some(p) = named.filter(|p| p.is_absolute()) {
        return Some(p.to_path_buf());
    }
    let id = c
        .fields
        .session_id
        .as_deref()
        .filter(|id| is_session_id(id))?;
    let absolute = |v: OsString| Some(PathBuf::from(v)).filter(|p| p.is_absolute());
    let home = (c.env)("COPILOT_HOME").and_then(absolute).or_else(|| {
        (c.env)("HOME")
            .and_then(absolute)
            .map(|h| h.join(".copilot"))
    })?;
    Some(home.join("session-state").join(id).join("events.jsonl"))
}

/// A session id is a UUID: nothing that could leave its directory.
fn is_session_id(id: &str) -> bool {
    (1..=128).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hooks::payload::Fields;
    use crate::hooks::{agent_pid, interpret, interpret_as, Action};

    fn s(event: &str, json: &str) -> Result<Action, String> {
        interpret_as(&RUNTIME, json, Some(event)).map(|e| e.action)
    }

    #[test]
    fn events_map_to_statuses() {
        let p = r#"{"sessionId":"s","timestamp":1,"cwd":"/w"}"#;
        assert_eq!(s("sessionStart", p), Ok(Action::Beat("busy")));
        assert_eq!(s("userPromptSubmitted", p), Ok(Action::Beat("busy")));
        assert_eq!(s("preToolUse", p), Ok(Action::Beat("busy")));
        // Auto-approved tools get one too: never waiting.
        let pr = r#"{"hookName":"permissionRequest","toolName":"bash"}"#;
        assert_eq!(s("permissionRequest", pr), Ok(Action::Beat("busy")));
        assert_eq!(s("errorOccurred", p), Ok(Action::Beat("ok")));
        assert_eq!(s("agentStop", p), Ok(Action::Beat("ok")));
        assert_eq!(s("sessionEnd", p), Ok(Action::ClearNative));
        let n = |kind: &str| {
            format!(r#"{{"hook_event_name":"Notification","notification_type":"{kind}"}}"#)
        };
        assert_eq!(
            s("notification", &n("permission_prompt")),
            Ok(Action::Beat("waiting"))
        );
        assert_eq!(
            s("notification", &n("elicitation_dialog")),
            Ok(Action::Beat("waiting"))
        );
        assert_eq!(
            s("notification", &n("shell_completed")),
            Ok(Action::Nothing)
        );
        assert!(s("notification", &n("bogus")).is_err());
        assert!(s("Bogus", p).is_err());
        // The event comes from the command, never from the payload.
        assert!(interpret(&RUNTIME, pr).is_err());
        assert!(interpret(&RUNTIME, &n("permission_prompt")).is_err());
    }

    fn call<'a>(fields: &'a Fields, env: crate::config::Env<'a>) -> Call<'a> {
        Call {
            fields,
            env,
            runtime_pid: None,
        }
    }

    #[test]
    fn the_events_file_is_named_or_found_from_the_session() {
        let env = |k: &str| match k {
            "HOME" => Some(OsString::from("/home/u")),
            _ => None,
        };
        let mut f = Fields {
            session_id: Some("0a1b-2c".into()),
            ..Fields::default()
        };
        assert_eq!(
            events_file(&call(&f, &env)),
            Some(PathBuf::from(
                "/home/u/.copilot/session-state/0a1b-2c/events.jsonl"
            ))
        );
        let copilot_home = |k: &str| match k {
            "COPILOT_HOME" => Some(OsString::from("/c")),
            "HOME" => Some(OsString::from("/home/u")),
            _ => None,
        };
        assert_eq!(
            events_file(&call(&f, &copilot_home)),
            Some(PathBuf::from("/c/session-state/0a1b-2c/events.jsonl"))
        );
        f.transcript_path = Some("/t/events.jsonl".into());
        assert_eq!(
            events_file(&call(&f, &env)),
            Some(PathBuf::from("/t/events.jsonl"))
        );
        // Nothing that could leave the session's directory.
        for id in ["../x", "a/b", "", ".."] {
            let f = Fields {
                session_id: Some(id.into()),
                transcript_path: Some("relative/events.jsonl".into()),
                ..Fields::default()
            };
            assert_eq!(events_file(&call(&f, &env)), None, "{id:?}");
        }
        let relative = |k: &str| match k {
            "HOME" => Some(OsString::from("home")),
            _ => None,
        };
        let f = Fields {
            session_id: Some("s".into()),
            ..Fields::default()
        };
        assert_eq!(events_file(&call(&f, &relative)), None);
    }

    #[test]
    fn without_an_events_file_the_model_is_copilot_model() {
        let env = |k: &str| match k {
            "COPILOT_MODEL" => Some(OsString::from("gpt-x")),
            "HOME" => Some(OsString::from("/nonexistent")),
            _ => None,
        };
        let f = Fields {
            session_id: Some("s".into()),
            ..Fields::default()
        };
        assert_eq!(model(&call(&f, &env)).as_deref(), Some("gpt-x"));
        assert_eq!(model(&call(&f, &|_| None)), None);
    }

    #[test]
    fn the_pane_is_named_through_bash_and_the_native_binary() {
        // tmux -> node loader (the pane) -> copilot (native) -> bash
        // --norc --noprofile -c "hb-write ... || true" -> hb-write.
        let t = [
            (10, "tmux: server", 1),
            (900, "node", 10),
            (901, "copilot", 900),
            (902, "bash", 901),
        ];
        let lookup = |pid| {
            t.iter().find(|p| p.0 == pid).map(|p| agent_pid::Proc {
                comm: p.1.to_string(),
                ppid: p.2,
            })
        };
        let carries = |pid| Some(pid >= 900);
        assert_eq!(agent_pid::runtime_pid(902, lookup, carries), Some(900));
        // A simple command: bash execs, the hook's parent is copilot.
        assert_eq!(agent_pid::runtime_pid(901, lookup, carries), Some(900));
    }
}
