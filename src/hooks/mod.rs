//! `hb-write --hook RUNTIME`: a runtime's own hook events turned into
//! native beats, so a runtime gets native heartbeats from one line of its
//! configuration.
//!
//! The mechanics live here, once: read the payload, decode it
//! ([`payload`]), find the runtime's pid ([`agent_pid`]), take the lock,
//! write, and never disturb the agent. A hook always exits 0 and never
//! writes to stdout (Claude Code reads exit 2 as "block this tool call";
//! Copilot CLI denies a tool on exit 1 or 2). On a problem it leaves every
//! file as it was and says so in one line: on stderr, or, for a runtime
//! that shows or reads what a hook prints ([`Runtime::silent`]), appended
//! to the agent's hook log ([`log`]) and nowhere else.
//!
//! Each runtime is a table in a file of its own ([`claude`], [`codex`],
//! ...): its event names and what each asks of the beat, its notification
//! types, and its quirks as functions (where its model can be found, a
//! thread to ignore, a record to keep). Adding a runtime (doc/development.md, "Adding
//! a runtime"): one file here with a `RUNTIME`, one line in [`RUNTIMES`],
//! a line in [`payload`] for each member no runtime read before, a
//! fixture folder, an e2e scenario and an installer entry.

pub mod agent_pid;
mod aider;
mod claude;
mod cline;
mod codex;
mod copilot;
mod gemini;
mod hermes;
mod json;
pub mod log;
pub mod payload;
mod qwen;
mod tail;
mod vibe;

use crate::beat::{self, Beat};
use crate::config::{self, Env};
use crate::error::{quote, Error, Result};
use crate::tick::{self, Decided, Then};
use crate::turn::{self, Turn};
use crate::{atomic, proc};
use payload::Fields;
use std::ffi::OsString;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Every runtime `--hook` knows, by the name it is called with.
pub const RUNTIMES: &[&Runtime] = &[
    &claude::RUNTIME,
    &codex::RUNTIME,
    &gemini::RUNTIME,
    &qwen::RUNTIME,
    &copilot::RUNTIME,
    &hermes::RUNTIME,
    &aider::RUNTIME,
    &vibe::RUNTIME,
    &cline::RUNTIME,
];

/// Payloads past this size are refused (Claude's PostToolUse carries the
/// tool's whole response, so it can be large, but not unbounded).
const MAX_PAYLOAD: u64 = 32 << 20;

/// What an event asks of the heartbeat, as a runtime's table says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ask {
    /// In a turn: a prompt submitted, a tool about to run or done.
    Busy,
    /// `ok`, idle: the session started, the turn ended or failed.
    Idle,
    /// Blocked on the operator: a permission dialog.
    Waiting,
    /// The session ended: hand the beat back to the sidecar.
    End,
    /// Look the payload's `notification_type` up in the runtime's
    /// notification table.
    ByType,
    /// A known event that changes nothing (no file is touched, no line).
    Nothing,
}

/// What a hook call does, once its event is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// A native beat with this status (and the model, if one is known).
    Beat(&'static str),
    /// The session ended: hand the beat back to the sidecar.
    ClearNative,
    /// Nothing to do.
    Nothing,
}

/// One hook call as a runtime's functions see it.
pub struct Call<'a> {
    pub fields: &'a Fields,
    pub env: Env<'a>,
    /// The runtime's process, when the hook still has one above it.
    pub runtime_pid: Option<u32>,
}

impl Call<'_> {
    /// The model the operator pinned: `FLAG M` on the runtime's command
    /// line, else the environment variable `var`, which the hook inherits
    /// from the runtime.
    pub fn pinned(&self, flag: &str, var: &str) -> Option<String> {
        self.runtime_pid
            .and_then(|pid| crate::proc::cmdline_option(pid, flag))
            .or_else(|| (self.env)(var).and_then(|m| m.into_string().ok()))
            .filter(|m| !m.is_empty())
    }
}

/// A runtime: its table and its quirks. Start from [`BASE`] and set what
/// differs (`Runtime { name: "x", events: EVENTS, ..BASE }`).
pub struct Runtime {
    /// The name after `--hook`.
    pub name: &'static str,
    /// The runtime shows a hook's stderr to its user, or feeds its stdout
    /// to the model, or takes either as a decision: the hook prints
    /// nothing at all, even on a problem, and the line goes to the hook
    /// log instead.
    pub silent: bool,
    /// The payload member that names the event (`hook_event_name`, ...).
    pub event: fn(&Fields) -> Option<&str>,
    /// Event name -> what it asks.
    pub events: &'static [(&'static str, Ask)],
    /// For [`Ask::ByType`]: `notification_type` -> what it asks.
    pub notifications: &'static [(&'static str, Ask)],
    /// The runtime's question tools, as (event, `tool_name`): a call of
    /// one at that event is the operator being asked, so `waiting`
    /// (Codex's `request_user_input` fires only its PreToolUse).
    pub questions: &'static [(&'static str, &'static str)],
    /// A notification the table does not know: what it asks, or why it
    /// changes nothing (Claude's older payloads name no type).
    pub untyped: fn(&Fields) -> std::result::Result<Ask, String>,
    /// The payload's model as the beat should say it.
    pub payload_model: fn(String) -> String,
    /// Where else this call can learn the model when its payload names
    /// none (a transcript, the runtime's command line or environment),
    /// before the existing beat's.
    pub model: fn(&Call) -> Option<String>,
    /// Is this call about something other than the agent's own session
    /// (Codex's hidden threads), so that it changes nothing?
    pub ignore: fn(&Call, &Path, &str) -> bool,
    /// After the beat: what the runtime keeps beside it (Codex's session).
    pub after: fn(&Call, &Path, &str) -> Result<()>,
    /// Files the runtime's quirks keep beside the beat (dot-files, which
    /// readers ignore), as names after `.NAME.`: `--remove` takes them.
    pub records: &'static [&'static str],
    /// A busy event whose payload says the turn ended all the same (Gemini
    /// CLI's AfterTool for a tool the user cancelled: no AfterAgent
    /// follows): `ok`.
    pub ended: fn(&Fields) -> bool,
    /// The session record this call points to (a transcript, a rollout,
    /// an events file), which the sidecar follows for the ends of turns
    /// that fire no hook ([`crate::turn`]).
    pub record: fn(&Call) -> Option<PathBuf>,
    /// One complete line of that record (no newline) -> what it says
    /// about the turn, or `None` for a line that says nothing about it.
    pub settle: fn(&[u8]) -> Option<Turn>,
    /// The record marks a submitted prompt and no hook does (Aider): its
    /// [`Turn::Started`] is a verdict of its own, `ok` (or `waiting`)
    /// becoming `busy` ([`crate::turn::verdict`]). Off: a new turn only
    /// cancels an earlier end read with it.
    pub starts: bool,
    /// The payload comes on stdin. Not for a runtime that hands a hook its
    /// terminal as stdin (Aider): reading it would steal the operator's
    /// keys. Such a hook has no payload (`{}`) unless it is an argument.
    pub stdin: bool,
    /// The runtime's last word on what a call does, once its process is
    /// known: Aider's one hook is `ok` or `waiting` by what its chat
    /// history says.
    pub decide: fn(&Call, Action) -> Action,
    /// The runtime's terminal: an OSC (0 and 2 the title, or the
    /// runtime's own number) and its text -> what it says of the state,
    /// for `hb-write --titles` ([`crate::title`]); the function's `None`:
    /// this one says nothing. No table: the terminal is not read.
    pub title: Option<fn(u32, &str) -> Option<Ask>>,
}

/// The defaults: the event in `hook_event_name`, no notifications, no
/// other source of the model, nothing ignored or kept.
pub const BASE: Runtime = Runtime {
    name: "",
    silent: false,
    event: |f| f.hook_event_name.as_deref(),
    events: &[],
    notifications: &[],
    questions: &[],
    untyped: |_| Err("notification changes no status".into()),
    payload_model: |m| m,
    model: |_| None,
    ignore: |_, _, _| false,
    after: |_, _, _| Ok(()),
    records: &[],
    ended: |_| false,
    record: |_| None,
    settle: |_| None,
    starts: false,
    stdin: true,
    decide: |_, a| a,
    title: None,
};

/// The runtime called `name`.
pub fn runtime(name: &str) -> Option<&'static Runtime> {
    RUNTIMES.iter().copied().find(|r| r.name == name)
}

/// Did the caller ask for hook mode? Checked before parsing, so that even a
/// parse error in hook mode exits 0. Gives the runtime's name when it can
/// be told (`--hook NAME` or `--hook=NAME`; empty when it cannot).
pub fn requested(args: &[OsString]) -> Option<String> {
    let mut it = args.iter().map(|a| a.as_encoded_bytes());
    while let Some(a) = it.next() {
        if a == b"--hook" {
            let next = it.next().unwrap_or_default();
            return Some(String::from_utf8_lossy(next).into_owned());
        }
        if let Some(v) = a.strip_prefix(b"--hook=") {
            return Some(String::from_utf8_lossy(v).into_owned());
        }
    }
    None
}

/// An event and the model it reports.
#[derive(Debug, PartialEq)]
pub struct Event {
    pub action: Action,
    pub fields: Fields,
}

/// Maps a payload to what it asks of the heartbeat, by the runtime's table.
pub fn interpret(rt: &Runtime, json: &str) -> std::result::Result<Event, String> {
    interpret_as(rt, json, None)
}

/// [`interpret`], with the event named by the hook's command (`--event`)
/// when it names one: Copilot CLI's payloads do not say which event they
/// are, so each installed hook says it.
pub fn interpret_as(
    rt: &Runtime,
    json: &str,
    event: Option<&str>,
) -> std::result::Result<Event, String> {
    let fields = payload::read(json)?;
    let action = action(rt, &fields, event)?;
    Ok(Event { action, fields })
}

fn action(rt: &Runtime, f: &Fields, given: Option<&str>) -> std::result::Result<Action, String> {
    let name = given
        .or_else(|| (rt.event)(f))
        .ok_or("payload names no event (the hook's command can: --event NAME)")?;
    let ask = lookup(rt.events, name).ok_or_else(|| format!("unknown event {}", quote(name)))?;
    let asks =
        |(event, tool): &(&str, &str)| *event == name && f.tool_name.as_deref() == Some(*tool);
    let ask = if rt.questions.iter().any(asks) {
        Ask::Waiting
    } else {
        ask
    };
    let ask = match ask {
        Ask::ByType => match f.notification_type.as_deref() {
            Some(kind) => lookup(rt.notifications, kind)
                .ok_or_else(|| format!("notification {} changes no status", quote(kind)))?,
            None => (rt.untyped)(f)?,
        },
        other => other,
    };
    Ok(match ask {
        Ask::Busy if (rt.ended)(f) => Action::Beat("ok"),
        Ask::Busy => Action::Beat("busy"),
        Ask::Idle => Action::Beat("ok"),
        Ask::Waiting => Action::Beat("waiting"),
        Ask::End => Action::ClearNative,
        Ask::ByType | Ask::Nothing => Action::Nothing,
    })
}

fn lookup(table: &[(&str, Ask)], key: &str) -> Option<Ask> {
    table.iter().find(|(k, _)| *k == key).map(|(_, a)| *a)
}

/// Does `text` contain `word` (ASCII, any case)? A plain scan: the words
/// are short, and a substring searcher costs the binary more than it saves.
pub fn mentions(text: &str, word: &str) -> bool {
    text.as_bytes()
        .windows(word.len())
        .any(|w| w.eq_ignore_ascii_case(word.as_bytes()))
}

/// Hook mode's arguments, from hb-write's parser.
#[derive(Debug, Default)]
pub struct Args {
    pub runtime: String,
    pub model: Option<String>,
    pub dir: Option<OsString>,
    pub interval: Option<OsString>,
    pub dry_run: bool,
    /// The runtime's payload given as an argument (Codex notify).
    pub payload: Option<OsString>,
    /// The event the hook was installed for (`--event`), for a runtime
    /// whose payload does not name it (Copilot CLI); it wins over the
    /// payload's.
    pub event: Option<String>,
}

/// Where a hook call stands, for its report: the runtime, once known, and
/// where its log is, once the directory and NAME are.
#[derive(Default)]
struct Report {
    silent: bool,
    dir: Option<PathBuf>,
    name: Option<String>,
    warning: Option<String>,
}

/// Carries out a hook call; any `Err` is the one line to report, and a
/// warning (the lock was not had) goes into the report.
fn run(a: Args, env: Env, report: &mut Report) -> Result<()> {
    let rt = match runtime(&a.runtime) {
        Some(rt) => rt,
        None if a.runtime.is_empty() => return Err(Error::usage("--hook needs a runtime")),
        None => {
            let known: Vec<&str> = RUNTIMES.iter().map(|r| r.name).collect();
            return Err(Error::usage(format!(
                "unknown runtime {}: {}",
                quote(&a.runtime),
                known.join(", ")
            )));
        }
    };
    report.silent = rt.silent;
    // The directory first: a silent runtime's problems are logged there.
    let dir = config::resolve_dir(a.dir, env)?;
    report.dir = Some(dir.clone());
    let name =
        env("MOSAIC_AGENT_NAME").ok_or_else(|| Error::usage("MOSAIC_AGENT_NAME is not set"))?;
    let name = beat::check_name_os(&name)
        .map_err(|why| Error::usage(format!("MOSAIC_AGENT_NAME: {why}")))?
        .to_string();
    report.name = Some(name.clone());
    // Unused here, but a bad value is still bad input, as in every mode.
    config::resolve_interval(a.interval, env)?;

    let payload = match a.payload {
        Some(p) => p
            .into_string()
            .map_err(|_| Error::usage("payload is not valid UTF-8"))?,
        None if !rt.stdin => "{}".into(),
        None => String::from_utf8(read_stdin()?)
            .map_err(|_| Error::usage("payload is not valid UTF-8"))?,
    };
    let event = interpret_as(rt, &payload, a.event.as_deref()).map_err(Error::Usage)?;
    // An explicit --model (from the hook's configuration) beats the payload's.
    let given = a.model.or(event.fields.model.clone().map(rt.payload_model));
    if let Some(m) = &given {
        beat::check_model(m).map_err(|why| Error::usage(format!("model {}: {why}", quote(m))))?;
    }
    if a.dry_run || event.action == Action::Nothing {
        return Ok(());
    }
    let call = Call {
        fields: &event.fields,
        env,
        runtime_pid: agent_pid::of_this_hook(&name),
    };
    if (rt.ignore)(&call, &dir, &name) {
        return Ok(());
    }
    let warn = &mut |w: String| report.warning = Some(w);
    match (rt.decide)(&call, event.action) {
        Action::Nothing => {}
        Action::ClearNative => tick::clear_native(&dir, &name, warn)?,
        Action::Beat(status) => {
            // The model: given, else what the runtime makes available
            // (read before the lock is taken), else the beat's own, so a
            // busy/ok flip never loses it.
            let model =
                given.or_else(|| (rt.model)(&call).filter(|m| beat::check_model(m).is_ok()));
            tick::write_given(&dir, &name, Then::Touch, warn, |old| {
                // The runtime's own pid; when the hook outlived it, the
                // existing beat's while that lives, else nothing is written.
                let (pid, pstart, pidns) = match (
                    call.runtime_pid,
                    old.filter(|b| pid_still_ours(b)),
                ) {
                    (Some(p), _) => (p, None, None),
                    (None, Some(b)) => (b.pid, b.pstart, b.pidns),
                    (None, None) => return Err(Error::usage(
                        "no agent to name: the hook's runtime is gone, and so is the beat's pid",
                    )),
                };
                let model = model.or_else(|| old.and_then(|b| b.model.clone()));
                Ok(Some(Decided {
                    pid,
                    status: status.into(),
                    model,
                    pstart,
                    pidns,
                }))
            })?;
            // The record the sidecar follows, after the beat (which made
            // the directory); a problem with it costs the beat nothing.
            if let Some(record) = (rt.record)(&call) {
                if let Err(e) = turn::point(&dir, &name, rt.name, &record) {
                    warn(e.to_string());
                }
            }
            // One hook in 16 sweeps stale temporaries, after its beat.
            if atomic::should_sweep() {
                tick::sweep(&dir, &name);
            }
        }
    }
    // After the beat, which created the directory if need be.
    (rt.after)(&call, &dir, &name)
}

/// The payload on stdin, refused past [`MAX_PAYLOAD`]. Plain reads of fd 0
/// into one buffer: std's buffered stdin and `read_to_string` cost the
/// binary a few KB.
fn read_stdin() -> Result<Vec<u8>> {
    use std::os::fd::FromRawFd;
    // SAFETY: fd 0 is never closed here (ManuallyDrop), as std's own stdin
    // does; a closed fd 0 reads as EBADF.
    let mut input = std::mem::ManuallyDrop::new(unsafe { std::fs::File::from_raw_fd(0) });
    let mut buf = Vec::new();
    let mut chunk = vec![0; 64 << 10];
    loop {
        match input.read(&mut chunk) {
            Ok(0) => return Ok(buf),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return Err(Error::System(format!(
                    "unable to read the payload: {}",
                    crate::error::os_message(&e)
                )))
            }
        }
        if buf.len() as u64 > MAX_PAYLOAD {
            return Err(Error::usage("payload is larger than 32 MiB"));
        }
    }
}

/// Is the existing beat's pid worth keeping? Not when it is from another
/// host, nor when that process is gone or was reused (a beat left by an
/// earlier session): keeping it would report a live agent as dead for as
/// long as its hooks keep the marker fresh.
fn pid_still_ours(b: &Beat) -> bool {
    let local = proc::hostname();
    let at = crate::listing::locate(b, local.as_deref(), &mut crate::pidns::View::new());
    at.alive(b.pstart) == Some(true)
}

/// Hook mode's whole life: whatever happens, the caller exits 0, and at
/// most one line is reported (an error, else a warning): on stderr, or
/// for a silent runtime in its hook log. `runtime` is the name the
/// arguments gave, so that even a parse error is reported the runtime's way.
pub fn main(args: Result<Args>, runtime_name: &str, env: Env) {
    let mut report = Report {
        silent: runtime(runtime_name).is_some_and(|r| r.silent),
        ..Report::default()
    };
    // Error's Display escapes control characters: always one line.
    let line = match args.and_then(|a| run(a, env, &mut report)) {
        Err(e) => Some(e.to_string()),
        Ok(()) => report.warning.take(),
    };
    let Some(line) = line else { return };
    if report.silent {
        if report.dir.is_none() {
            report.dir = config::resolve_dir(None, env).ok();
        }
        if let Some(dir) = &report.dir {
            log::append(dir, report.name.as_deref(), runtime_name, &line);
        }
    } else {
        crate::cli::eprint_line(&format!("hb-write: hook: {line}"));
    }
}

#[cfg(test)]
mod tests {
    use super::payload::check_json;
    use super::*;

    const CLAUDE: &Runtime = &claude::RUNTIME;

    fn ev(rt: &Runtime, json: &str) -> std::result::Result<Event, String> {
        interpret(rt, json).map(|mut e| {
            e.fields.model = e.fields.model.map(rt.payload_model);
            e
        })
    }

    #[test]
    fn models_come_as_strings_or_objects() {
        let m = |json: &str| ev(CLAUDE, json).map(|e| e.fields.model);
        assert_eq!(
            m(r#"{"hook_event_name":"SessionStart","model":"claude-opus-4"}"#),
            Ok(Some("claude-opus-4".into()))
        );
        assert_eq!(
            m(r#"{"hook_event_name":"SessionStart","model":{"id":"opus","display_name":"Opus"}}"#),
            Ok(Some("opus".into()))
        );
        assert_eq!(
            m(r#"{"hook_event_name":"SessionStart","model":7}"#),
            Ok(None)
        );
        assert_eq!(
            m(r#"{"hook_event_name":"SessionStart","model":null}"#),
            Ok(None)
        );
    }

    #[test]
    fn what_a_json_library_might_refuse_elsewhere_in_a_payload_costs_nothing() {
        // A lone surrogate and a number past f64 in a tool's response.
        let e = ev(
            CLAUDE,
            r#"{"hook_event_name":"PostToolUse","tool_response":{"s":"\ud800","n":1e400,"m":123456789012345678901234567890},"model":"opus"}"#,
        )
        .unwrap();
        assert_eq!(
            (e.action, e.fields.model.as_deref()),
            (Action::Beat("busy"), Some("opus"))
        );
        // In a member that matters, the field is absent: the beat keeps
        // the model it had.
        let e = ev(CLAUDE, r#"{"hook_event_name":"Stop","model":"\ud800"}"#).unwrap();
        assert_eq!((e.action, e.fields.model), (Action::Beat("ok"), None));
    }

    #[test]
    fn strings_are_unescaped_by_nanoserde() {
        let m = |lit: &str| {
            let json = format!(r#"{{"hook_event_name":"Stop","model":{lit}}}"#);
            ev(CLAUDE, &json).map(|e| e.fields.model)
        };
        assert_eq!(m(r#""""#), Ok(Some("".into())));
        assert_eq!(m(r#""plain é 模""#), Ok(Some("plain é 模".into())));
        assert_eq!(
            m(r#""\"\\\/\b\f\n\r\t""#),
            Ok(Some("\"\\/\u{8}\u{c}\n\r\t".into()))
        );
        assert_eq!(m(r#""a\u00e9\u6A21z""#), Ok(Some("aé模z".into())));
        assert_eq!(m(r#""\u0000""#), Ok(Some("\0".into())));
        // A surrogate pair is one character.
        assert_eq!(m(r#""\ud83e\udd80!""#), Ok(Some("🦀!".into())));
        assert_eq!(m(r#""\uD83E\uDD80""#), Ok(Some("🦀".into())));
        // A lone surrogate: the model is absent, the event still counts.
        for lone in [
            r#""\ud800""#,
            r#""\ud800x""#,
            r#""\ud800\u0041""#,
            r#""\ud800\ud800""#,
            r#""\udc00""#,
            r#""\udd80\ud83e""#,
            r#""ok\uDFFF""#,
        ] {
            assert_eq!(m(lone), Ok(None), "{lone}");
        }
        // Bad escapes and broken literals make the payload unreadable.
        for bad in [
            r#""\u12""#,
            r#""\u+123""#,
            r#""\x""#,
            r#""\0""#,
            r#""\""#,
            r#""a"b""#,
            r#"""#,
            "\"a\u{1}b\"",
            "\"a\u{7f}\u{9b}b\"",
            "x",
        ] {
            let got = m(bad);
            // DEL and C1 are not JSON's control characters: text.
            if bad.contains('\u{7f}') {
                assert_eq!(got, Ok(Some("a\u{7f}\u{9b}b".into())));
            } else {
                assert!(got.is_err(), "{bad:?} gave {got:?}");
            }
        }
    }

    #[test]
    fn hostile_payloads_are_refused_without_a_panic_or_a_hang() {
        let deep = |open: &str, close: &str| {
            format!(
                r#"{{"hook_event_name":"Stop","x":{}1{}}}"#,
                open.repeat(100_000),
                close.repeat(100_000)
            )
        };
        for junk in [
            // Something after the object.
            r#"{"hook_event_name":"Stop"} x"#,
            r#"{"hook_event_name":"Stop"} }"#,
            r#"{"hook_event_name":"Stop"},"#,
            r#"{"hook_event_name":"Stop"}{}"#,
            "{\"hook_event_name\":\"Stop\"}\0x",
            // nanoserde would panic: a member with no value.
            r#"{"x":}"#,
            r#"{"x":,"hook_event_name":"Stop"}"#,
            r#"{"x"::1,"hook_event_name":"Stop"}"#,
            r#"{"hook_event_name":"Stop","x":"#,
            r#"{"hook_event_name":"Stop","x": "#,
            r#"{"model":,"hook_event_name":"Stop"}"#,
            // nanoserde would loop for ever: a container left open.
            r#"{"hook_event_name":"Stop","x":["#,
            r#"{"hook_event_name":"Stop","x":[1,2"#,
            r#"{"hook_event_name":"Stop","x":{"a":[{"#,
            "{\"hook_event_name\":\"Stop\",\"x\":[\0]}",
            r#"{"hook_event_name":"Stop","x":[/*]*/]"#,
            // Comments and signs JSON does not have.
            "// c\n{\"hook_event_name\":\"Stop\"}",
            r#"{"hook_event_name":"Stop","x":+1}"#,
            // Unbalanced.
            r#"{"hook_event_name":"Stop","x":]}"#,
            r#"]{"hook_event_name":"Stop"}"#,
        ] {
            assert!(ev(CLAUDE, junk).is_err(), "{junk:?}");
            assert!(check_json(junk.as_bytes()).is_err(), "{junk:?}");
        }
        let unclosed = format!(r#"{{"hook_event_name":"Stop","x":{}"#, "[".repeat(100_000));
        assert!(ev(CLAUDE, &unclosed).is_err());
        // Deep nesting costs no stack, skipped or in the model.
        for json in [deep("[", "]"), deep(r#"{"a":"#, "}")] {
            assert_eq!(ev(CLAUDE, &json).map(|e| e.action), Ok(Action::Beat("ok")));
        }
        let json = format!(
            r#"{{"hook_event_name":"Stop","model":{{"id":{}1{}}}}}"#,
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        assert_eq!(ev(CLAUDE, &json).map(|e| e.fields.model), Ok(None));
    }

    #[test]
    fn numbers_nanoserde_refuses_cost_nothing() {
        for n in [
            "123456789012345678901234567890",
            "-123456789012345678901234567890",
            "18446744073709551616",
            "-9223372036854775809",
            "1e400",
            "-1E+400",
            "1e+29",
            "1.5E+3",
            "1.5e-7",
            "0",
            "-0",
            "[1e+5,99999999999999999999,{\"n\":-1e-400}]",
        ] {
            let json = format!(r#"{{"x":{n},"hook_event_name":"Stop","y":{n}}}"#);
            assert_eq!(
                ev(CLAUDE, &json).map(|e| e.action),
                Ok(Action::Beat("ok")),
                "{n}"
            );
            assert_eq!(check_json(n.as_bytes()), Ok(()), "{n}");
        }
        // A number where text is wanted is no text.
        let e = ev(CLAUDE, r#"{"hook_event_name":"Stop","model":1e+400}"#);
        assert_eq!(e.map(|e| e.fields.model), Ok(None));
    }

    #[test]
    fn a_model_object_gives_its_id_else_its_display_name() {
        let m = |model: &str| {
            let json = format!(r#"{{"hook_event_name":"SessionStart","model":{model}}}"#);
            ev(CLAUDE, &json).unwrap().fields.model
        };
        assert_eq!(
            m(r#"{"display_name":"Opus","id":"op\u0075s"}"#).as_deref(),
            Some("opus")
        );
        assert_eq!(
            m(r#"{"id":null,"display_name":"Opus"}"#).as_deref(),
            Some("Opus")
        );
        assert_eq!(
            m(r#"{"id":{"id":"x"},"display_name":"Opus"}"#).as_deref(),
            Some("Opus")
        );
        assert_eq!(m(r#"{"name":"x"}"#), None);
        assert_eq!(m("{}"), None);
        assert_eq!(m(r#"["opus"]"#), None);
        // The last of repeated keys wins, at either level.
        assert_eq!(m(r#"{"id":"a","id":"b"}"#).as_deref(), Some("b"));
        let e = ev(
            CLAUDE,
            r#"{"model":"a","hook_event_name":"Stop","model":"b"}"#,
        );
        assert_eq!(e.unwrap().fields.model.as_deref(), Some("b"));
    }

    #[test]
    fn keys_are_unescaped_and_skipped_values_read_laxly() {
        let e = ev(CLAUDE, r#"{"hook_event_nam\u0065":"Stop"}"#);
        assert_eq!(e.map(|e| e.action), Ok(Action::Beat("ok")));
        // What nanoserde takes inside a skipped value costs nothing.
        for lax in [r#"[1 2]"#, r#"[}"#, "01", r#"{"a":1,}"#] {
            let json = format!(r#"{{"x":{lax},"hook_event_name":"Stop",}}"#);
            assert!(ev(CLAUDE, &json).is_ok(), "{json}");
        }
    }

    #[test]
    fn malformed_payloads_are_errors_not_panics() {
        for junk in [
            "",
            "{",
            r#"{"hook_event_name":[1,"#,
            "null",
            "[]",
            r#"{"hook_event_name":"Stop","x":}"#,
        ] {
            assert!(ev(CLAUDE, junk).is_err(), "{junk:?}");
        }
    }
}
