//! Cline CLI (npm `cline`): hooks are files named after the event in
//! `~/.cline/hooks/` (`TaskStart`, `PreToolUse`, ...), each run through
//! its shebang with the payload on stdin. The payload names the event in
//! `hookName`, by Cline's inner names (`TaskStart` sends `agent_start`,
//! `PreToolUse` `tool_call`, ...): those are the table's keys.
//!
//! Silent: Cline parses what a `PreToolUse` or `PostToolUse` hook prints
//! as JSON (`{"cancel":true}` aborts the run, `{"context":...}` reaches the
//! model), so a problem goes to the hook log, never to a stream.
//!
//! The question tool (`ask_question`) blocks on the operator: its
//! `tool_call` is `waiting`, its `tool_result` busy again. The approval
//! dialog of any other tool fires no hook (no title, no bell either): the
//! beat stays busy there, never ok (integrations/cline/README.md).
//!
//! No payload names the model: the session's file does,
//! `sessions/ID/ID.json` (`"model"`) under `$CLINE_SESSION_DATA_DIR`, else
//! `$CLINE_DATA_DIR/sessions`, else `$CLINE_DIR/data/sessions` (`$CLINE_DIR`
//! defaults to `~/.cline`), ID the payload's `sessionContext.rootSessionId`.
//!
//! A Cline session may run inside a hub daemon (`.cline
//! --cline-hub-daemon`) that an earlier Cline left behind, with that
//! Cline's environment: its hooks would carry another agent's
//! `MOSAIC_AGENT_NAME`. A hook with a hub above it changes nothing; the
//! launcher keeps print mode off the hub (`CLINE_SESSION_BACKEND_MODE=local`;
//! the TUI asks for the hub itself).
//! Nor does a hook whose runtime is the native binary orphaned by its node
//! wrapper (Ctrl+C ends the wrapper first; the detached hooks of the
//! session's end run after the sidecar's `exited`).

use super::{payload, Ask, Call, Runtime, BASE};
use std::ffi::OsString;
use std::path::PathBuf;
use Ask::*;

pub const RUNTIME: Runtime = Runtime {
    name: "cline",
    silent: true,
    event: |f| match (f.hook_event_name.as_deref(), f.tool_name.as_deref()) {
        (Some("tool_call"), Some("ask_question")) => Some("tool_call ask_question"),
        (e, _) => e,
    },
    events: &[
        // TaskStart, TaskResume: a prompt, new or resumed.
        ("agent_start", Busy),
        ("agent_resume", Busy),
        ("prompt_submit", Busy),
        // PreToolUse, PostToolUse (also a refused tool's, `success:false`).
        ("tool_call", Busy),
        ("tool_call ask_question", Waiting),
        ("tool_result", Busy),
        // TaskComplete, TaskError, TaskCancel: the turn is over.
        ("agent_end", Idle),
        ("agent_error", Idle),
        ("agent_abort", Idle),
        // SessionShutdown: Esc; Cline stays at its prompt.
        ("session_shutdown", Idle),
    ],
    model,
    // The hub is the hook's own parent (the runtime found above it may be
    // the agent that started the hub, still alive).
    ignore: |c, _, _| under_hub(c.runtime_pid) || c.runtime_pid.is_some_and(wrapper_gone),
    ..BASE
};

/// The session's file names its model.
fn model(c: &Call) -> Option<String> {
    let text = std::fs::read(session_file(c)?).ok()?;
    payload::read(std::str::from_utf8(&text).ok()?).ok()?.model
}

/// `sessions/ID/ID.json` in Cline's data directory, ID the root session.
fn session_file(c: &Call) -> Option<PathBuf> {
    let id = c.fields.root_session_id.as_deref().filter(|id| {
        (1..=128).contains(&id.len())
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    })?;
    let var = |k: &str| {
        (c.env)(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
    };
    let sessions = var("CLINE_SESSION_DATA_DIR")
        .or_else(|| var("CLINE_DATA_DIR").map(|d| d.join("sessions")))
        .or_else(|| {
            var("CLINE_DIR")
                .or_else(|| var("HOME").map(|h| h.join(".cline")))
                .map(|d| d.join("data").join("sessions"))
        })?;
    Some(sessions.join(id).join(OsString::from(format!("{id}.json"))))
}

/// Is `pid` Cline's native binary left without its node wrapper (the
/// pane's process, gone at Ctrl+C), adopted by init or a reaper? Its
/// detached hooks still run then, after the sidecar wrote `exited`; a beat
/// from them would name a process that is about to end, not the agent.
fn wrapper_gone(pid: u32) -> bool {
    use super::agent_pid::{read_proc, REAPERS};
    read_proc(pid).is_some_and(|p| {
        p.comm != "node"
            && (p.ppid <= 1 || read_proc(p.ppid).is_some_and(|up| REAPERS.contains(&&*up.comm)))
    })
}

/// Does a hub daemon stand between this hook and its runtime? The hub is
/// the hook's parent (or a shell's above it), and the runtime found above
/// the hub may be the agent that started it, still alive.
fn under_hub(runtime: Option<u32>) -> bool {
    let mut pid = crate::proc::parent_pid();
    for _ in 0..8 {
        if pid <= 1 || Some(pid) == runtime {
            return false;
        }
        if in_hub(pid) {
            return true;
        }
        match super::agent_pid::read_proc(pid) {
            Some(p) => pid = p.ppid,
            None => return false,
        }
    }
    false
}

/// Is `pid` a Cline hub daemon (whose hooks carry another Cline's
/// environment)?
fn in_hub(pid: u32) -> bool {
    crate::proc::cmdline(pid)
        .is_some_and(|c| c.split(|&b| b == 0).any(|a| a == b"--cline-hub-daemon"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hooks::payload::Fields;
    use crate::hooks::{interpret, Action};

    fn s(json: &str) -> Result<Action, String> {
        interpret(&RUNTIME, json).map(|e| e.action)
    }

    #[test]
    fn events_map_to_statuses() {
        let ev = |name: &str, rest: &str| format!(r#"{{"hookName":"{name}"{rest}}}"#);
        for e in [
            "agent_start",
            "agent_resume",
            "prompt_submit",
            "tool_result",
        ] {
            assert_eq!(s(&ev(e, "")), Ok(Action::Beat("busy")), "{e}");
        }
        for e in [
            "agent_end",
            "agent_error",
            "agent_abort",
            "session_shutdown",
        ] {
            assert_eq!(s(&ev(e, "")), Ok(Action::Beat("ok")), "{e}");
        }
        let tool = |t: &str| format!(r#","preToolUse":{{"toolName":"{t}","parameters":{{}}}}"#);
        assert_eq!(
            s(&ev("tool_call", &tool("run_commands"))),
            Ok(Action::Beat("busy"))
        );
        assert_eq!(
            s(&ev("tool_call", &tool("ask_question"))),
            Ok(Action::Beat("waiting"))
        );
        // The question answered: busy again.
        let done = r#","postToolUse":{"toolName":"ask_question","success":true}"#;
        assert_eq!(s(&ev("tool_result", done)), Ok(Action::Beat("busy")));
        // A tool name that is no text is no question.
        let odd = r#","preToolUse":{"toolName":["ask_question"]}"#;
        assert_eq!(s(&ev("tool_call", odd)), Ok(Action::Beat("busy")));
        // The hook files' names are not the payload's.
        assert!(s(&ev("TaskStart", "")).is_err());
        assert!(s(&ev("tool_call ask_question", "")).is_ok());
        assert!(s("{}").is_err());
    }

    fn fields(id: &str) -> Fields {
        Fields {
            root_session_id: Some(id.into()),
            ..Fields::default()
        }
    }

    #[test]
    fn the_session_file_is_found_as_cline_finds_it() {
        let f = fields("1796444361552_yuss7");
        let at = |vars: &'static [(&'static str, &'static str)]| {
            let env = move |k: &str| {
                vars.iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| OsString::from(v))
            };
            session_file(&Call {
                fields: &f,
                env: &env,
                runtime_pid: None,
            })
        };
        let want = |d: &str| {
            Some(PathBuf::from(format!(
                "{d}/1796444361552_yuss7/1796444361552_yuss7.json"
            )))
        };
        assert_eq!(at(&[("HOME", "/h")]), want("/h/.cline/data/sessions"));
        assert_eq!(
            at(&[("HOME", "/h"), ("CLINE_DIR", "/c")]),
            want("/c/data/sessions")
        );
        assert_eq!(
            at(&[("CLINE_DIR", "/c"), ("CLINE_DATA_DIR", "/d")]),
            want("/d/sessions")
        );
        assert_eq!(
            at(&[("CLINE_DATA_DIR", "/d"), ("CLINE_SESSION_DATA_DIR", "/s")]),
            want("/s")
        );
        // Relative or empty directories are not Cline's.
        assert_eq!(
            at(&[("HOME", "/h"), ("CLINE_DIR", "rel"), ("CLINE_DATA_DIR", "")]),
            want("/h/.cline/data/sessions")
        );
        assert_eq!(at(&[]), None);
        // An id that could leave the directory names no file.
        for bad in ["../x", "a/b", "", ".."] {
            let f = fields(bad);
            let env = |_: &str| Some(OsString::from("/h"));
            let c = Call {
                fields: &f,
                env: &env,
                runtime_pid: None,
            };
            assert_eq!(session_file(&c), None, "{bad}");
        }
    }

    #[test]
    fn the_model_comes_from_the_session_file() {
        let dir = std::env::temp_dir().join(format!("hb-cline-{}", std::process::id()));
        let id = "1796444361552_yuss7";
        std::fs::create_dir_all(dir.join(id)).unwrap();
        let recorded = include_str!("../../tests/fixtures/hooks/cline/session.json");
        std::fs::write(dir.join(id).join(format!("{id}.json")), recorded).unwrap();
        let f = fields(id);
        let d = dir.clone();
        let env = move |k: &str| (k == "CLINE_SESSION_DATA_DIR").then(|| d.clone().into());
        let c = Call {
            fields: &f,
            env: &env,
            runtime_pid: None,
        };
        assert_eq!(model(&c).as_deref(), Some("hb-mock-model"));
        let other = fields("nope");
        let c = Call {
            fields: &other,
            env: &env,
            runtime_pid: None,
        };
        assert_eq!(model(&c), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_hub_daemon_is_never_the_agent() {
        assert!(!in_hub(std::process::id()));
        assert!(!in_hub(u32::MAX));
    }

    #[test]
    fn no_hub_stands_above_this_test() {
        assert!(!under_hub(None));
        assert!(!under_hub(Some(std::process::id())));
    }

    #[test]
    fn an_orphaned_runtime_is_never_the_agent() {
        // This test's process has a live parent that is no reaper.
        assert!(!wrapper_gone(std::process::id()));
        assert!(!wrapper_gone(u32::MAX));
    }
}
