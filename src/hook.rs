//! `hb-write --hook claude|codex`: a runtime's own hook events turned into
//! native beats, so a runtime gets native heartbeats from one line of its
//! configuration.
//!
//! A hook must never disturb the agent: Claude Code reads exit 2 as "block
//! this tool call". So hook mode always exits 0, never writes to stdout,
//! and on any problem writes one line to stderr and leaves every file as
//! it was. Payloads are decoded by nanoserde into a struct of the few
//! members that matter; nanoserde skips the rest, whatever a tool's output
//! (Claude's `tool_response`) holds. [`tame`] runs first, because
//! nanoserde 0.2.1 can panic or loop on malformed input and refuses some
//! valid JSON (README, "Dependencies").

use crate::beat::{self, Beat};
use crate::config::{self, Env};
use crate::error::{quote, Error, Result};
use crate::tick::{self, Decided, Then};
use crate::{atomic, proc};
use nanoserde::{DeJson, DeJsonErr, DeJsonState, DeJsonTok};
use std::borrow::Cow;
use std::ffi::OsString;
use std::io::Read;
use std::str::Chars;

/// Payloads past this size are refused (Claude's PostToolUse carries the
/// tool's whole response, so it can be large, but not unbounded).
const MAX_PAYLOAD: u64 = 32 << 20;

/// Did the caller ask for hook mode? Checked before parsing, so that even a
/// parse error in hook mode exits 0.
pub fn requested(args: &[OsString]) -> bool {
    args.iter().any(|a| {
        let b = a.as_encoded_bytes();
        b == b"--hook" || b.starts_with(b"--hook=")
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runtime {
    Claude,
    Codex,
}

/// What an event asks of the heartbeat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// A native beat with this status (and the payload's model, if any).
    Beat(&'static str),
    /// The session ended: hand the beat back to the sidecar.
    ClearNative,
}

/// An event and the model it reports.
#[derive(Debug, PartialEq)]
pub struct Event {
    pub action: Action,
    pub model: Option<String>,
}

/// The derived decoders, in a module of their own: the code nanoserde's
/// derive writes trips a clippy lint that no attribute on a struct reaches.
#[allow(clippy::question_mark)]
mod wire {
    use super::{Model, Text};
    use nanoserde::DeJson;

    /// The members of either runtime's payload that matter here; nanoserde
    /// skips every other member. Each is absent unless it holds text, so an
    /// odd value in one never costs the agent its beat. A new member is one
    /// line here.
    #[derive(DeJson)]
    pub struct Payload {
        pub hook_event_name: Option<Text>,
        /// Codex `notify`: `{"type": "agent-turn-complete", ...}`.
        #[nserde(rename = "type")]
        pub kind: Option<Text>,
        pub model: Option<Model>,
        pub notification_type: Option<Text>,
        pub message: Option<Text>,
    }

    /// Its members are [`Text`], which never holds an object: no nesting
    /// of a payload can make the decoding recurse.
    #[derive(DeJson)]
    pub struct ModelObject {
        pub id: Option<Text>,
        pub display_name: Option<Text>,
    }
}
use wire::{ModelObject, Payload};

/// A member read as text: a string, else (any other value, skipped) none.
/// A string that held a lone surrogate is none too: [`tame`] wrote U+FFFD
/// in its place, and such a field is treated as absent rather than
/// guessed at.
struct Text(Option<String>);

impl DeJson for Text {
    fn de_json(s: &mut DeJsonState, i: &mut Chars) -> std::result::Result<Self, DeJsonErr> {
        if s.tok != DeJsonTok::Str {
            skip(s, i)?;
            return Ok(Text(None));
        }
        let v = s.as_string()?;
        s.next_tok(i)?;
        Ok(Text(
            Some(v).filter(|v| !v.contains(char::REPLACEMENT_CHARACTER)),
        ))
    }
}

/// A model as runtimes send it: a string, or an object with an `id`, else
/// a `display_name` (Claude's status-line shape). Anything else is none.
struct Model(Option<String>);

impl DeJson for Model {
    fn de_json(s: &mut DeJsonState, i: &mut Chars) -> std::result::Result<Self, DeJsonErr> {
        if s.tok != DeJsonTok::CurlyOpen {
            return Text::de_json(s, i).map(|t| Model(t.0));
        }
        let o = ModelObject::de_json(s, i)?;
        Ok(Model(text(o.id).or(text(o.display_name))))
    }
}

fn text(t: Option<Text>) -> Option<String> {
    t.and_then(|t| t.0)
}

/// Skips one value with nanoserde, which panics when there is none (the
/// token is `,`, `:`, `}`, `]` or the end).
fn skip(s: &mut DeJsonState, i: &mut Chars) -> std::result::Result<(), DeJsonErr> {
    match s.tok {
        DeJsonTok::Str
        | DeJsonTok::U64(_)
        | DeJsonTok::I64(_)
        | DeJsonTok::F64(_)
        | DeJsonTok::Bool(_)
        | DeJsonTok::Null
        | DeJsonTok::CurlyOpen
        | DeJsonTok::BlockOpen => s.whole_field(i),
        _ => Err(s.err_token("a value")),
    }
}

/// Reads one whole JSON text with `read` (nanoserde), after [`tame`], and
/// refuses anything after it (nanoserde stops at the value's end).
fn decode<T>(
    json: &str,
    read: impl FnOnce(&mut DeJsonState, &mut Chars) -> std::result::Result<T, DeJsonErr>,
) -> std::result::Result<T, String> {
    let json = tame(json)?;
    let mut s = DeJsonState::default();
    let mut i = json.chars();
    s.next(&mut i);
    let at = |line: usize, col: usize| format!("line {}, column {}", line + 1, col + 1);
    match s.next_tok(&mut i).and_then(|()| read(&mut s, &mut i)) {
        Ok(v) if s.tok == DeJsonTok::Eof => Ok(v),
        Ok(_) => Err(format!(
            "malformed JSON: more after the value at {}",
            at(s.line, s.col)
        )),
        // Not nanoserde's message: it can quote a whole bare word.
        Err(e) => Err(format!("malformed JSON at {}", at(e.line, e.col))),
    }
}

/// Is `b` one JSON value, as a hook reads its payload? For tests and the
/// fuzzer: nanoserde is laxer than RFC 8259 inside the values it skips.
pub fn check_json(b: &[u8]) -> std::result::Result<(), String> {
    let json = std::str::from_utf8(b).map_err(|_| "not UTF-8".to_string())?;
    decode(json, skip)
}

/// Makes a payload safe and readable for nanoserde 0.2.1, in one pass over
/// its bytes (README, "Dependencies"). It refuses what would make
/// nanoserde panic (a member with no value), loop for ever (a container
/// left open, a NUL, which nanoserde takes for the end) or count brackets
/// it does not see (a comment); and a raw control character in a string,
/// or a bad escape, which nanoserde would take. It rewrites three valid
/// tokens nanoserde refuses, each in place with as many ASCII bytes, so
/// only a payload that needs a rewrite is copied: a lone surrogate escape
/// becomes `\ufffd`; an integer of more than 18 digits ends in `.`
/// instead of its last digit (a float to nanoserde; no member that
/// matters is a number); an exponent's `+` becomes `0`.
fn tame(json: &str) -> std::result::Result<Cow<'_, str>, String> {
    let b = json.as_bytes();
    let bad = |at: usize, why: &str| Err(format!("malformed JSON at byte {at}: {why}"));
    let hex = |at: usize| {
        let d = b.get(at..at + 4)?;
        d.iter()
            .try_fold(0, |n, &d| Some(n << 4 | char::from(d).to_digit(16)?))
    };
    let mut copy: Option<Vec<u8>> = None;
    let mut fix = |at: usize, with: &[u8]| {
        copy.get_or_insert_with(|| b.to_vec())[at..at + with.len()].copy_from_slice(with)
    };
    let mut depth = 0usize;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'"' => loop {
                i += 1;
                match b.get(i) {
                    None => return bad(i, "unterminated string"),
                    Some(b'"') => break,
                    Some(0..=0x1f) => return bad(i, "control character in a string"),
                    Some(b'\\') => match b.get(i + 1) {
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => i += 1,
                        Some(b'u') => {
                            let Some(c) = hex(i + 2) else {
                                return bad(i, "bad \\u escape");
                            };
                            let pair = (0xD800..0xDC00).contains(&c)
                                && b.get(i + 6..i + 8) == Some(b"\\u")
                                && hex(i + 8).is_some_and(|lo| (0xDC00..0xE000).contains(&lo));
                            if pair {
                                i += 6;
                            } else if (0xD800..0xE000).contains(&c) {
                                fix(i + 2, b"fffd");
                            }
                            i += 5;
                        }
                        _ => return bad(i, "bad escape"),
                    },
                    Some(_) => {}
                }
            },
            b'{' | b'[' => depth += 1,
            b'}' | b']' => match depth.checked_sub(1) {
                Some(d) => depth = d,
                None => return bad(i, "unbalanced bracket"),
            },
            b':' => {
                let mut j = i + 1;
                while matches!(b.get(j), Some(b' ' | b'\t' | b'\n' | b'\r')) {
                    j += 1;
                }
                if matches!(b.get(j), None | Some(b',' | b':' | b'}' | b']')) {
                    return bad(j, "a member without a value");
                }
            }
            b'-' | b'0'..=b'9' => {
                let digits = |i: &mut usize| {
                    let start = *i;
                    while b.get(*i).is_some_and(u8::is_ascii_digit) {
                        *i += 1;
                    }
                    *i - start
                };
                i += usize::from(b[i] == b'-');
                let whole = digits(&mut i);
                let mut float = false;
                if b.get(i) == Some(&b'.') {
                    i += 1;
                    digits(&mut i);
                    float = true;
                }
                if matches!(b.get(i), Some(b'e' | b'E')) {
                    i += 1;
                    if b.get(i) == Some(&b'+') {
                        fix(i, b"0");
                    }
                    i += usize::from(matches!(b.get(i), Some(b'+' | b'-')));
                    digits(&mut i);
                    float = true;
                }
                if !float && whole > 18 {
                    fix(i - 1, b".");
                }
                continue;
            }
            // A comment, a sign nanoserde would take, or its end of input.
            b'/' | b'+' | 0 => return bad(i, "not JSON"),
            _ => {}
        }
        i += 1;
    }
    if depth != 0 {
        return bad(i, "unclosed bracket");
    }
    match copy {
        None => Ok(Cow::Borrowed(json)),
        // Only ASCII bytes were replaced by ASCII bytes.
        Some(v) => String::from_utf8(v)
            .map(Cow::Owned)
            .map_err(|_| "payload is not UTF-8".to_string()),
    }
}

/// Maps a payload to what it asks of the heartbeat.
pub fn interpret(runtime: Runtime, json: &str) -> std::result::Result<Event, String> {
    let p = decode(json, Payload::de_json)?;
    let (event, kind) = (text(p.hook_event_name), text(p.kind));
    let (notification_type, message) = (text(p.notification_type), text(p.message));
    let action = match (event.as_deref(), kind.as_deref()) {
        (Some(ev), _) => claude_style(ev, notification_type.as_deref(), message.as_deref())?,
        (None, Some("agent-turn-complete")) if runtime == Runtime::Codex => Action::Beat("ok"),
        (None, Some(k)) => return Err(format!("unknown event type {}", quote(k))),
        (None, None) => return Err("payload names no event".into()),
    };
    Ok(Event {
        action,
        model: p.model.and_then(|m| m.0),
    })
}

/// Claude Code's events; Codex's hooks use the same names.
fn claude_style(
    event: &str,
    notification_type: Option<&str>,
    message: Option<&str>,
) -> std::result::Result<Action, String> {
    Ok(match event {
        "SessionStart" | "Stop" | "StopFailure" => Action::Beat("ok"),
        // A subagent's end is not the turn's: the main agent carries on.
        "UserPromptSubmit" | "PreToolUse" | "PostToolUse" | "PostToolUseFailure" | "PreCompact"
        | "SubagentStart" | "SubagentStop" => Action::Beat("busy"),
        "PermissionRequest" => Action::Beat("waiting"),
        "SessionEnd" => Action::ClearNative,
        "Notification" => notification(notification_type, message)?,
        other => return Err(format!("unknown event {}", quote(other))),
    })
}

/// A notification: a permission prompt or a question to the operator is
/// `waiting`; the idle prompt is `ok`. Older payloads have no type, only a
/// message ("Claude needs your permission to use Bash", "Claude is waiting
/// for your input").
fn notification(kind: Option<&str>, message: Option<&str>) -> std::result::Result<Action, String> {
    match kind {
        Some("permission_prompt") | Some("elicitation_dialog") => Ok(Action::Beat("waiting")),
        Some("idle_prompt") => Ok(Action::Beat("ok")),
        Some(other) => Err(format!("notification {} changes no status", quote(other))),
        None => {
            let m = message.unwrap_or("");
            if mentions(m, "permission") {
                Ok(Action::Beat("waiting"))
            } else if mentions(m, "waiting for your input") || mentions(m, "idle") {
                Ok(Action::Beat("ok"))
            } else {
                Err("notification changes no status".into())
            }
        }
    }
}

/// Does `text` contain `word` (ASCII, any case)? A plain scan: the words
/// are short, and a substring searcher costs the binary more than it saves.
fn mentions(text: &str, word: &str) -> bool {
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
}

/// Carries out a hook call; any `Err` is the one line to report, and a
/// warning (the lock was not had) goes into `warning`.
fn run(a: Args, env: Env, warning: &mut Option<String>) -> Result<()> {
    let runtime = match a.runtime.as_str() {
        "claude" => Runtime::Claude,
        "codex" => Runtime::Codex,
        "" => return Err(Error::usage("--hook needs a runtime")),
        other => {
            return Err(Error::usage(format!(
                "unknown runtime {}: claude or codex",
                quote(other)
            )))
        }
    };
    let name =
        env("MOSAIC_AGENT_NAME").ok_or_else(|| Error::usage("MOSAIC_AGENT_NAME is not set"))?;
    let name = beat::check_name_os(&name)
        .map_err(|why| Error::usage(format!("MOSAIC_AGENT_NAME: {why}")))?
        .to_string();
    let dir = config::resolve_dir(a.dir, env)?;
    // Unused here, but a bad value is still bad input, as in every mode.
    config::resolve_interval(a.interval, env)?;

    let payload = match a.payload {
        Some(p) => p
            .into_string()
            .map_err(|_| Error::usage("payload is not valid UTF-8"))?,
        None => String::from_utf8(read_stdin()?)
            .map_err(|_| Error::usage("payload is not valid UTF-8"))?,
    };
    let event = interpret(runtime, &payload).map_err(Error::Usage)?;
    // An explicit --model (from the hook's configuration) beats the payload's.
    let model = a.model.or(event.model);
    if let Some(m) = &model {
        beat::check_model(m).map_err(|why| Error::usage(format!("model {}: {why}", quote(m))))?;
    }
    if a.dry_run {
        return Ok(());
    }
    let warn = &mut |w: String| *warning = Some(w);
    match event.action {
        Action::ClearNative => tick::clear_native(&dir, &name, warn),
        Action::Beat(status) => {
            tick::write_given(&dir, &name, Then::Touch, warn, |old| {
                // Keep the agent's pid (the sidecar wrote the pane's) and
                // its model across busy/ok flips.
                let kept = old.filter(|b| pid_still_ours(b));
                Ok(Some(Decided {
                    pid: kept.map_or_else(proc::parent_pid, |b| b.pid),
                    status: status.into(),
                    model: model.or_else(|| old.and_then(|b| b.model.clone())),
                    pstart: kept.and_then(|b| b.pstart),
                }))
            })?;
            // One hook in 16 sweeps stale temporaries, after its beat.
            if atomic::should_sweep() {
                tick::sweep(&dir, &name);
            }
            Ok(())
        }
    }
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
    proc::is_local(b.host.as_deref(), proc::hostname().as_deref()) && proc::alive(b.pid, b.pstart)
}

/// Hook mode's whole life: whatever happens, the caller exits 0, and at
/// most one line reaches stderr (an error, else a warning).
pub fn main(args: Result<Args>, env: Env) {
    let mut warning = None;
    // Error's Display escapes control characters: always one line.
    let line = match args.and_then(|a| run(a, env, &mut warning)) {
        Err(e) => Some(e.to_string()),
        Ok(()) => warning,
    };
    if let Some(line) = line {
        crate::cli::eprint_line(&format!("hb-write: hook: {line}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(rt: Runtime, json: &str) -> std::result::Result<Event, String> {
        interpret(rt, json)
    }

    #[test]
    fn claude_events_map_to_statuses() {
        let s = |json: &str| ev(Runtime::Claude, json).map(|e| e.action);
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
            s(r#"{"hook_event_name":"SessionEnd","reason":"exit"}"#),
            Ok(Action::ClearNative)
        );
        assert!(s(r#"{"hook_event_name":"Bogus"}"#).is_err());
        assert!(s(r#"{"session_id":"x"}"#).is_err());
    }

    #[test]
    fn models_come_as_strings_or_objects() {
        let m = |json: &str| ev(Runtime::Claude, json).map(|e| e.model);
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
    fn codex_notify_turn_complete_is_ok() {
        let e = ev(
            Runtime::Codex,
            r#"{"type":"agent-turn-complete","thread-id":"t","input-messages":["a"],"last-assistant-message":"done"}"#,
        );
        assert_eq!(e.map(|e| e.action), Ok(Action::Beat("ok")));
        assert!(ev(Runtime::Claude, r#"{"type":"agent-turn-complete"}"#).is_err());
    }

    #[test]
    fn what_a_json_library_might_refuse_elsewhere_in_a_payload_costs_nothing() {
        // A lone surrogate and a number past f64 in a tool's response.
        let e = ev(
            Runtime::Claude,
            r#"{"hook_event_name":"PostToolUse","tool_response":{"s":"\ud800","n":1e400,"m":123456789012345678901234567890},"model":"opus"}"#,
        )
        .unwrap();
        assert_eq!(
            (e.action, e.model.as_deref()),
            (Action::Beat("busy"), Some("opus"))
        );
        // In a member that matters, the field is absent: the beat keeps
        // the model it had.
        let e = ev(
            Runtime::Claude,
            r#"{"hook_event_name":"Stop","model":"\ud800"}"#,
        )
        .unwrap();
        assert_eq!((e.action, e.model), (Action::Beat("ok"), None));
    }

    #[test]
    fn strings_are_unescaped_by_nanoserde() {
        let m = |lit: &str| {
            let json = format!(r#"{{"hook_event_name":"Stop","model":{lit}}}"#);
            ev(Runtime::Claude, &json).map(|e| e.model)
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
            assert!(ev(Runtime::Claude, junk).is_err(), "{junk:?}");
            assert!(check_json(junk.as_bytes()).is_err(), "{junk:?}");
        }
        let unclosed = format!(r#"{{"hook_event_name":"Stop","x":{}"#, "[".repeat(100_000));
        assert!(ev(Runtime::Claude, &unclosed).is_err());
        // Deep nesting costs no stack, skipped or in the model.
        for json in [deep("[", "]"), deep(r#"{"a":"#, "}")] {
            assert_eq!(
                ev(Runtime::Claude, &json).map(|e| e.action),
                Ok(Action::Beat("ok"))
            );
        }
        let json = format!(
            r#"{{"hook_event_name":"Stop","model":{{"id":{}1{}}}}}"#,
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        assert_eq!(ev(Runtime::Claude, &json).map(|e| e.model), Ok(None));
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
                ev(Runtime::Claude, &json).map(|e| e.action),
                Ok(Action::Beat("ok")),
                "{n}"
            );
            assert_eq!(check_json(n.as_bytes()), Ok(()), "{n}");
        }
        // A number where text is wanted is no text.
        let e = ev(
            Runtime::Claude,
            r#"{"hook_event_name":"Stop","model":1e+400}"#,
        );
        assert_eq!(e.map(|e| e.model), Ok(None));
    }

    #[test]
    fn tame_copies_only_a_payload_it_rewrites() {
        let clean = r#"{"a":[1,-2.5e-3,"\ud83d\ude00"],"b":{"c":null}}"#;
        assert!(matches!(tame(clean), Ok(Cow::Borrowed(_))));
        for (raw, want) in [
            (r#"["\ud800"]"#, r#"["\ufffd"]"#),
            (r#"["\\ud800"]"#, r#"["\\ud800"]"#),
            ("[1e+5]", "[1e05]"),
            ("[1234567890123456789]", "[123456789012345678.]"),
            ("[123456789012345678]", "[123456789012345678]"),
            (r#"["1234567890123456789"]"#, r#"["1234567890123456789"]"#),
        ] {
            assert_eq!(tame(raw).as_deref(), Ok(want), "{raw}");
        }
    }

    #[test]
    fn the_checker_reads_whole_json_values() {
        for good in [
            "{}",
            "[]",
            r#"{"a":[]}"#,
            r#" { "a" : { } , "b" : [ 1 , -0.5e+3 , "x\u00e9\n" , true , false , null ] } "#,
            r#""s""#,
            "0",
            "[[[[]]]]",
        ] {
            assert_eq!(check_json(good.as_bytes()), Ok(()), "{good}");
        }
        for bad in [
            "",
            "{",
            "[",
            "tru",
            "\"\u{1}\"",
            "\"\\x\"",
            "[1] 2",
            "\0",
            b"\xff".map(char::from).iter().collect::<String>().as_str(),
        ] {
            assert!(check_json(bad.as_bytes()).is_err(), "{bad:?}");
        }
        assert!(check_json(b"[\"\xff\"]").is_err());
    }

    #[test]
    fn a_model_object_gives_its_id_else_its_display_name() {
        let m = |model: &str| {
            let json = format!(r#"{{"hook_event_name":"SessionStart","model":{model}}}"#);
            ev(Runtime::Claude, &json).unwrap().model
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
            Runtime::Claude,
            r#"{"model":"a","hook_event_name":"Stop","model":"b"}"#,
        );
        assert_eq!(e.unwrap().model.as_deref(), Some("b"));
    }

    #[test]
    fn keys_are_unescaped_and_skipped_values_read_laxly() {
        let e = ev(Runtime::Claude, r#"{"hook_event_nam\u0065":"Stop"}"#);
        assert_eq!(e.map(|e| e.action), Ok(Action::Beat("ok")));
        // What nanoserde takes inside a skipped value costs nothing.
        for lax in [r#"[1 2]"#, r#"[}"#, "01", r#"{"a":1,}"#] {
            let json = format!(r#"{{"x":{lax},"hook_event_name":"Stop",}}"#);
            assert!(ev(Runtime::Claude, &json).is_ok(), "{json}");
        }
    }

    #[test]
    fn a_subagent_ending_leaves_the_turn_busy() {
        let e = ev(Runtime::Claude, r#"{"hook_event_name":"SubagentStop"}"#).unwrap();
        assert_eq!(e.action, Action::Beat("busy"));
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
            assert!(ev(Runtime::Claude, junk).is_err(), "{junk:?}");
        }
    }
}
