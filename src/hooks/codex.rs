//! Codex: hooks in `hooks.json` with Claude Code's event names, run
//! directly (no shell), and `notify`, a program Codex runs with a JSON
//! argument at the end of every turn of every thread.
//!
//! Which thread an agent's beat follows: Codex's TUI runs hidden threads
//! beside the operator's (title generation), and `notify` reports every
//! thread's `agent-turn-complete`: an `ok` from the title thread once
//! replaced `waiting` while an approval prompt stayed open. The
//! SessionStart hook names the session (its `session_id` is the main
//! thread's id), and is recorded in `DIR/.NAME.codex-session`, a dot-file
//! readers ignore; a notify whose `thread-id` is another thread's then
//! changes nothing. Without a record (notify configured, hooks not
//! trusted) every notify counts.
//!
//! The turn's end with no hook: the rollout the hooks name
//! (`transcript_path`), read by [`rollout`].

mod rollout;

use super::{Ask, Call, Runtime, BASE};
use crate::error::{Error, Result};
use crate::files;
use std::path::{Path, PathBuf};
use Ask::*;

pub const RUNTIME: Runtime = Runtime {
    name: "codex",
    // A hook's event, else notify's `type`.
    event: |f| f.hook_event_name.as_deref().or(f.kind.as_deref()),
    events: &[
        ("SessionStart", Idle),
        ("UserPromptSubmit", Busy),
        ("PreToolUse", Busy),
        ("PostToolUse", Busy),
        ("PermissionRequest", Waiting),
        ("Stop", Idle),
        // An interrupt (Esc, Ctrl+C), a denial ("No, and tell Codex what
        // to do differently") or Esc at a dialog: the turn is over, and
        // no Stop follows.
        ("Interrupt", Idle),
        ("SessionEnd", End),
        ("agent-turn-complete", Idle),
    ],
    // Plan mode's question to the operator: it fires PreToolUse and
    // nothing else until the model goes on.
    questions: &[("PreToolUse", "request_user_input")],
    ignore,
    after,
    records: &[RECORD],
    record: rollout_of,
    settle: rollout::settle,
    ..BASE
};

/// The session's rollout: every hook names it (`transcript_path`).
fn rollout_of(c: &Call) -> Option<PathBuf> {
    let p = Path::new(c.fields.transcript_path.as_deref()?);
    p.is_absolute().then(|| p.to_path_buf())
}

/// `.NAME.codex-session`.
const RECORD: &str = files::CODEX_SESSION;

/// A session id is a UUID; anything longer is not one of Codex's.
const MAX_ID: usize = 128;

/// A notify about another thread (the TUI's title generation) is not the
/// agent's turn ending.
fn ignore(c: &Call, dir: &Path, name: &str) -> bool {
    c.fields
        .thread_id
        .as_deref()
        .is_some_and(|t| is_other_thread(dir, name, t))
}

/// SessionStart: record the session as the agent's main thread.
fn after(c: &Call, dir: &Path, name: &str) -> Result<()> {
    match (c.fields.hook_event_name.as_deref(), &c.fields.session_id) {
        (Some("SessionStart"), Some(s)) => record(dir, name, s),
        _ => Ok(()),
    }
}

/// Records the session's main thread, replacing any earlier session's.
pub fn record(dir: &Path, name: &str, session_id: &str) -> Result<()> {
    if session_id.is_empty() || session_id.len() > MAX_ID || session_id.contains('\n') {
        return Ok(());
    }
    let path = files::record(dir, name, RECORD);
    let mut tmp = path.clone().into_os_string();
    tmp.push(format!(".{}", crate::proc::own_pid()));
    let tmp = std::path::PathBuf::from(tmp);
    let fail = |verb: &str, p: &Path, e: std::io::Error| {
        Error::System(format!(
            "unable to {verb} {}: {}",
            p.display(),
            crate::error::os_message(&e)
        ))
    };
    std::fs::write(&tmp, session_id).map_err(|e| fail("write", &tmp, e))?;
    std::fs::rename(&tmp, &path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        fail("rename", &path, e)
    })
}

/// Is this notify from a thread other than the recorded session's?
pub fn is_other_thread(dir: &Path, name: &str, thread_id: &str) -> bool {
    match std::fs::read(files::record(dir, name, RECORD)) {
        Ok(main) if main.len() <= MAX_ID => main != thread_id.as_bytes(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hooks::{interpret, Action};

    #[test]
    fn notify_turn_complete_is_ok() {
        let e = interpret(
            &RUNTIME,
            r#"{"type":"agent-turn-complete","thread-id":"t","input-messages":["a"],"last-assistant-message":"done"}"#,
        );
        assert_eq!(e.map(|e| e.action), Ok(Action::Beat("ok")));
        let e = interpret(&RUNTIME, r#"{"hook_event_name":"PermissionRequest"}"#);
        assert_eq!(e.map(|e| e.action), Ok(Action::Beat("waiting")));
        assert!(interpret(&RUNTIME, r#"{"type":"other"}"#).is_err());
    }

    #[test]
    fn an_interrupt_ends_the_turn_and_a_question_waits() {
        let s = |json: &str| interpret(&RUNTIME, json).map(|e| e.action);
        // As Codex 0.171.0 sends it, 0.02-0.05 s after the key.
        assert_eq!(
            s(
                r#"{"session_id":"019a","turn_id":"1","transcript_path":"/h/.codex/sessions/r.jsonl","cwd":"/w","hook_event_name":"Interrupt","model":"gpt-x","permission_mode":"default"}"#
            ),
            Ok(Action::Beat("ok"))
        );
        let pre = |tool: &str| {
            format!(r#"{{"hook_event_name":"PreToolUse","tool_name":"{tool}","tool_input":{{}}}}"#)
        };
        assert_eq!(s(&pre("request_user_input")), Ok(Action::Beat("waiting")));
        assert_eq!(s(&pre("exec_command")), Ok(Action::Beat("busy")));
        // Only its PreToolUse asks: any other event about it is the turn's.
        let post = r#"{"hook_event_name":"PostToolUse","tool_name":"request_user_input"}"#;
        assert_eq!(s(post), Ok(Action::Beat("busy")));
        assert_eq!(
            s(r#"{"hook_event_name":"PreToolUse","tool_name":7}"#),
            Ok(Action::Beat("busy"))
        );
    }

    #[test]
    fn the_record_is_the_rollout_the_hook_names() {
        let with = |path: Option<&str>| {
            let fields = crate::hooks::payload::Fields {
                transcript_path: path.map(String::from),
                ..Default::default()
            };
            let call = Call {
                fields: &fields,
                env: &|_| None,
                runtime_pid: None,
            };
            (RUNTIME.record)(&call)
        };
        assert_eq!(
            with(Some("/h/.codex/sessions/2026/12/05/rollout-x.jsonl")),
            Some(PathBuf::from(
                "/h/.codex/sessions/2026/12/05/rollout-x.jsonl"
            ))
        );
        assert_eq!(with(Some("rollout-x.jsonl")), None);
        assert_eq!(with(None), None);
    }

    #[test]
    fn only_the_recorded_sessions_thread_counts() {
        let dir = std::env::temp_dir().join(format!("hb-codex-thread-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // No record: every thread counts.
        assert!(!is_other_thread(&dir, "a", "t1"));
        record(&dir, "a", "t1").unwrap();
        assert!(!is_other_thread(&dir, "a", "t1"));
        assert!(is_other_thread(&dir, "a", "title-thread"));
        // Another agent's record is its own.
        assert!(!is_other_thread(&dir, "b", "title-thread"));
        // A new session replaces the old.
        record(&dir, "a", "t2").unwrap();
        assert!(is_other_thread(&dir, "a", "t1"));
        // Junk is not recorded.
        record(&dir, "a", &"x".repeat(200)).unwrap();
        assert!(!is_other_thread(&dir, "a", "t2"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
