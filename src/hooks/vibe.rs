//! Mistral Vibe: `[[hooks]]` in `~/.vibe/hooks.toml`, each run as
//! `/bin/sh -c COMMAND` by the session's `vibe-app-server` (which the
//! pane's `vibe-rs` starts; `vibe` itself execs `vibe-rs`), the payload on
//! stdin. Only three events exist: `pre_tool` (before the permission
//! dialog), `post_tool` (only when the tool's body ran) and `post_agent`
//! (the turn's end, also a subagent's). Vibe acts on JSON on a hook's
//! stdout and warns in its UI about any other output, so the hook is
//! silent: a problem goes to the hook log.
//!
//! No hook marks a prompt, a dialog, an interrupt or the exit. Vibe's
//! terminal says them: OSC 7501 `state=working|blocked:...|done|idle`
//! (beside its title `>> Vibe`, `? Vibe`, `Vibe`), read on the launcher's
//! side by `hb-write --titles vibe` ([`crate::title`]); [`title`] is its
//! table. The exit is the sidecar's (the pane's process ends).
//!
//! The model: no payload names it; the session folder the payload's
//! `transcript_path` names holds `meta.json`, whose `config.model_name`
//! is the model the session asks for ([`meta_model`]).

use super::{Ask, Call, Runtime, BASE};
use crate::hooks::payload::decode;
use std::io::Read;
use std::path::Path;
use Ask::*;

pub const RUNTIME: Runtime = Runtime {
    name: "vibe",
    silent: true,
    events: &[
        ("pre_tool", Busy),
        ("post_tool", Busy),
        ("post_agent", Idle),
    ],
    // A tool that was cancelled (the operator's Esc) ended the turn: the
    // same column Gemini's cancelled AfterTool uses.
    ended: |f| f.tool_status.as_deref() == Some("cancelled"),
    model,
    // A subagent's turn is not the session's: its post_agent would say ok
    // while the main agent works on.
    ignore: |c, _, _| c.fields.parent_session_id.is_some(),
    title: Some(title),
    ..BASE
};

/// OSC 7501 (Vibe's tab status) -> what it asks. The title (OSC 0) says
/// the same with a prefix on the session's title, which the model writes
/// and which may itself start with `? ` or `>> `: only 7501 is read.
fn title(osc: u32, text: &str) -> Option<Ask> {
    if osc != 7501 {
        return None;
    }
    let state = text.split(':').find_map(|kv| kv.strip_prefix("state="))?;
    match state {
        "working" => Some(Busy),
        // kind=permission, and whatever else blocks on the operator.
        "blocked" => Some(Waiting),
        "done" | "idle" => Some(Idle),
        _ => None,
    }
}

/// `meta.json` past this size is not read (it holds a few lists that grow
/// with the session; the model is near its end).
const MAX_META: u64 = 1 << 20;

fn model(c: &Call) -> Option<String> {
    let dir = Path::new(c.fields.transcript_path.as_deref()?);
    dir.is_absolute()
        .then(|| meta_model(&dir.join("meta.json")))
        .flatten()
}

/// The decoders (payload.rs, [`decoder!`]).
mod wire {
    use crate::hooks::payload::decoder;

    pub struct Meta {
        pub config: Option<Config>,
    }
    decoder!(Meta { config: "config" });

    pub struct Config {
        pub model_name: Option<String>,
        pub active_model: Option<String>,
    }
    decoder!(Config {
        model_name: "model_name",
        active_model: "active_model",
    });
}

/// `config.model_name` of a session's `meta.json`, else its
/// `config.active_model` (the alias the operator picked).
pub fn meta_model(path: &Path) -> Option<String> {
    let f = std::fs::File::open(path).ok()?;
    if !f.metadata().ok()?.is_file() {
        return None;
    }
    let mut text = String::new();
    f.take(MAX_META + 1).read_to_string(&mut text).ok()?;
    if text.len() as u64 > MAX_META {
        return None;
    }
    let meta = decode(&text, crate::hooks::json::Read::read).ok()?;
    let wire::Meta { config } = meta;
    let c = config?;
    c.model_name
        .filter(|m| !m.is_empty())
        .or(c.active_model.filter(|m| !m.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hooks::{interpret, Action};

    fn s(json: &str) -> Result<Action, String> {
        interpret(&RUNTIME, json).map(|e| e.action)
    }

    #[test]
    fn events_map_to_statuses() {
        let tool = |event: &str, status: &str| {
            s(&format!(
                r#"{{"hook_event_name":"{event}","tool_name":"file_system.bash","tool_status":"{status}"}}"#
            ))
        };
        assert_eq!(tool("pre_tool", ""), Ok(Action::Beat("busy")));
        assert_eq!(tool("post_tool", "success"), Ok(Action::Beat("busy")));
        assert_eq!(tool("post_tool", "failure"), Ok(Action::Beat("busy")));
        assert_eq!(tool("post_tool", "cancelled"), Ok(Action::Beat("ok")));
        assert_eq!(
            s(r#"{"hook_event_name":"post_agent","agent_name":"accept-edits"}"#),
            Ok(Action::Beat("ok"))
        );
        assert!(s(r#"{"hook_event_name":"Stop"}"#).is_err());
        assert!(s(r#"{"hook_event_name":"session_start"}"#).is_err());
    }

    #[test]
    fn a_subagents_hooks_change_nothing() {
        let e = interpret(
            &RUNTIME,
            r#"{"hook_event_name":"post_agent","parent_session_id":"p-1"}"#,
        )
        .unwrap();
        assert_eq!(e.fields.parent_session_id.as_deref(), Some("p-1"));
        let e = interpret(
            &RUNTIME,
            r#"{"hook_event_name":"post_agent","parent_session_id":null}"#,
        )
        .unwrap();
        assert_eq!(e.fields.parent_session_id, None);
    }

    #[test]
    fn the_tab_status_is_the_state() {
        let t = |osc, text| title(osc, text);
        assert_eq!(t(7501, "state=working:app=vibe:msg=VmliZQ=="), Some(Busy));
        assert_eq!(
            t(
                7501,
                "state=blocked:kind=permission:app=vibe:msg=UnVubmluZyBjb21tYW5k"
            ),
            Some(Waiting)
        );
        assert_eq!(t(7501, "state=done:app=vibe:msg=RG9uZQ=="), Some(Idle));
        assert_eq!(t(7501, "state=idle:app=vibe"), Some(Idle));
        // Vibe's query at start, other states, other OSCs: nothing.
        assert_eq!(t(7501, "?"), None);
        assert_eq!(t(7501, "state=thinking"), None);
        assert_eq!(t(7501, ""), None);
        assert_eq!(t(7501, "app=vibe:msg=state=working"), None);
        // The title says it too, but the model writes the rest of it.
        assert_eq!(t(0, ">> Vibe"), None);
        assert_eq!(t(2, "? Vibe"), None);
        assert_eq!(t(0, "state=working"), None);
    }

    #[test]
    fn the_model_is_the_sessions_meta() {
        let dir = std::env::temp_dir().join(format!("hb-vibe-meta-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let meta = dir.join("meta.json");
        let m = |text: &str| {
            std::fs::write(&meta, text).unwrap();
            meta_model(&meta)
        };
        assert_eq!(
            m(
                r#"{"session_id":"x","child_sessions":[],"config":{"active_model":"alias","model_name":"mock-model"},"artifacts":[]}"#
            ),
            Some("mock-model".into())
        );
        assert_eq!(
            m(r#"{"config":{"active_model":"alias","model_name":""}}"#),
            Some("alias".into())
        );
        assert_eq!(
            m(r#"{"config":{"active_model":"alias"}}"#),
            Some("alias".into())
        );
        for junk in ["", "{", "[]", r#"{"config":7}"#, r#"{"config":{}}"#, "{} x"] {
            assert_eq!(m(junk), None, "{junk:?}");
        }
        std::fs::write(&meta, " ".repeat(MAX_META as usize + 1)).unwrap();
        assert_eq!(meta_model(&meta), None);
        assert_eq!(meta_model(&dir), None);
        assert_eq!(meta_model(&dir.join("missing")), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
