//! `hb-write --hook claude|codex`: a runtime's own hook events turned into
//! native beats, so a runtime gets native heartbeats from one line of its
//! configuration.
//!
//! A hook must never disturb the agent: Claude Code reads exit 2 as "block
//! this tool call". So hook mode always exits 0, never writes to stdout,
//! and on any problem writes one line to stderr and leaves every file as
//! it was. Payloads are read with the strict JSON scanner below and only
//! the few top-level members that matter are decoded: a tool's output
//! (Claude's `tool_response`) may hold anything, and it must not cost the
//! agent its beat. No JSON library: one costs tens of KB of float code in
//! a size-budgeted binary, and the scanner was needed anyway.

use crate::beat::{self, Beat};
use crate::config::{self, Env};
use crate::error::{quote, Error, Result};
use crate::tick::{self, Decided, Then};
use crate::{atomic, proc};
use std::ffi::OsString;
use std::io::Read;

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

/// The fields of either runtime's payload that matter here, each a string
/// or absent. The rest of a payload is skipped unparsed.
#[derive(Debug)]
struct Payload {
    hook_event_name: Option<String>,
    /// Codex `notify`: `{"type": "agent-turn-complete", ...}`.
    kind: Option<String>,
    model: Option<String>,
    notification_type: Option<String>,
    message: Option<String>,
}

impl Payload {
    /// Reads the members that matter; as in most JSON readers, the last of
    /// repeated keys wins. Keys are compared as written: runtimes never
    /// escape these.
    fn read(json: &str) -> std::result::Result<Payload, String> {
        let mut values: [Option<&str>; 5] = [None; 5];
        for m in scan_json(json.as_bytes())? {
            let slot = match &json[m.key.0 + 1..m.key.1 - 1] {
                "hook_event_name" => 0,
                "type" => 1,
                "model" => 2,
                "notification_type" => 3,
                "message" => 4,
                _ => continue,
            };
            values[slot] = Some(&json[m.value.0..m.value.1]);
        }
        let [hook_event_name, kind, model, notification_type, message] =
            values.map(|v| v.and_then(text));
        Ok(Payload {
            hook_event_name,
            kind,
            model,
            notification_type,
            message,
        })
    }
}

/// A member's value (valid JSON) as runtimes send text: a string, or an
/// object with an `id` or else a `display_name` string (Claude's
/// status-line model). Anything else is no text.
fn text(value: &str) -> Option<String> {
    match value.as_bytes().first() {
        Some(b'"') => unescape(value),
        Some(b'{') => {
            let members = scan_json(value.as_bytes()).ok()?;
            let field = |name: &str| {
                let m = members
                    .iter()
                    .rev()
                    .find(|m| &value[m.key.0 + 1..m.key.1 - 1] == name)?;
                let v = &value[m.value.0..m.value.1];
                v.starts_with('"').then(|| unescape(v)).flatten()
            };
            field("id").or_else(|| field("display_name"))
        }
        _ => None,
    }
}

/// The text of a JSON string literal, quotes included. `None` when it is
/// not a well-formed literal, or holds a lone surrogate (`"\ud800"`): no
/// Rust string can, and such a field is treated as absent rather than
/// guessed at.
fn unescape(lit: &str) -> Option<String> {
    let body = lit.strip_prefix('"')?.strip_suffix('"')?;
    let b = body.as_bytes();
    let mut out = String::with_capacity(b.len());
    let (mut i, mut start) = (0, 0);
    while i < b.len() {
        match b[i] {
            b'\\' => {}
            b'"' => return None,
            _ => {
                i += 1;
                continue;
            }
        }
        // ASCII, so `i` is a character boundary.
        out.push_str(&body[start..i]);
        let (c, len) = match b.get(i + 1)? {
            b'"' => ('"', 2),
            b'\\' => ('\\', 2),
            b'/' => ('/', 2),
            b'b' => ('\u{8}', 2),
            b'f' => ('\u{c}', 2),
            b'n' => ('\n', 2),
            b'r' => ('\r', 2),
            b't' => ('\t', 2),
            b'u' => {
                let hi = hex4(b.get(i + 2..i + 6)?)?;
                if (0xD800..0xDC00).contains(&hi) {
                    // A high surrogate must be followed by a low one.
                    if b.get(i + 6..i + 8)? != b"\\u" {
                        return None;
                    }
                    let lo = hex4(b.get(i + 8..i + 12)?)?;
                    if !(0xDC00..0xE000).contains(&lo) {
                        return None;
                    }
                    let c = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                    (char::from_u32(c)?, 12)
                } else {
                    // None for a lone low surrogate.
                    (char::from_u32(hi)?, 6)
                }
            }
            _ => return None,
        };
        out.push(c);
        i += len;
        start = i;
    }
    out.push_str(&body[start..]);
    Some(out)
}

/// The value of hex digits (callers pass four); `None` for anything else,
/// a sign included (unlike `from_str_radix`).
fn hex4(b: &[u8]) -> Option<u32> {
    b.iter()
        .try_fold(0, |n, &d| Some(n << 4 | char::from(d).to_digit(16)?))
}

/// Maps a payload to what it asks of the heartbeat.
pub fn interpret(runtime: Runtime, json: &str) -> std::result::Result<Event, String> {
    let p = Payload::read(json)?;
    let action = match (p.hook_event_name.as_deref(), p.kind.as_deref()) {
        (Some(ev), _) => claude_style(ev, p.notification_type.as_deref(), p.message.as_deref())?,
        (None, Some("agent-turn-complete")) if runtime == Runtime::Codex => Action::Beat("ok"),
        (None, Some(k)) => return Err(format!("unknown event type {}", quote(k))),
        (None, None) => return Err("payload names no event".into()),
    };
    Ok(Event {
        action,
        model: p.model,
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

/// A strict RFC 8259 check, iterative so that no nesting depth can
/// overflow the stack.
pub fn check_json(b: &[u8]) -> std::result::Result<(), String> {
    scan_json(b).map(drop)
}

/// A member of the top-level object: byte ranges of its key (quotes
/// included) and of its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Member {
    pub key: (usize, usize),
    pub value: (usize, usize),
}

/// [`check_json`], returning the top-level object's members in order (none
/// when the text is not an object).
pub fn scan_json(b: &[u8]) -> std::result::Result<Vec<Member>, String> {
    let bad = |at: usize| Err(format!("malformed JSON at byte {at}"));
    let mut members = Vec::new();
    // A top-level member whose value is being read: its key and the
    // value's start.
    let mut open: Option<((usize, usize), usize)> = None;
    // Called when a value ends at `end` and the stack is back to `depth`.
    let mut value_done = |depth: usize, end: usize, open: &mut Option<((usize, usize), usize)>| {
        if depth == 1 {
            if let Some((key, start)) = open.take() {
                members.push(Member {
                    key,
                    value: (start, end),
                });
            }
        }
    };
    let ws = |i: &mut usize| {
        while *i < b.len() && matches!(b[*i], b' ' | b'\t' | b'\n' | b'\r') {
            *i += 1
        }
    };
    // The stack holds b'{' or b'['; `want_value` says what comes next.
    let mut stack: Vec<u8> = Vec::new();
    let mut i = 0;
    let mut want_value = true;
    loop {
        ws(&mut i);
        if want_value {
            // In an object a key comes first.
            if stack.last() == Some(&b'{') && !matches!(b.get(i), Some(b'"')) {
                return bad(i);
            }
            match b.get(i) {
                Some(b'{') | Some(b'[') => {
                    stack.push(b[i]);
                    i += 1;
                    let close = if b[i - 1] == b'{' { b'}' } else { b']' };
                    // Allow empty containers.
                    ws(&mut i);
                    if b.get(i) == Some(&close) {
                        stack.pop();
                        i += 1;
                        want_value = false;
                        if stack.last() == Some(&b':') {
                            stack.pop();
                            value_done(stack.len(), i, &mut open);
                        }
                    }
                    continue;
                }
                Some(b'"') => {
                    let start = i;
                    i = string_end(b, i)
                        .ok_or_else(|| format!("malformed JSON string at byte {i}"))?;
                    if stack.last() == Some(&b'{') {
                        let key = (start, i);
                        ws(&mut i);
                        if b.get(i) != Some(&b':') {
                            return bad(i);
                        }
                        i += 1;
                        ws(&mut i);
                        if stack.len() == 1 {
                            open = Some((key, i));
                        }
                        // The member's value: push a marker so the key is
                        // not asked for again.
                        stack.push(b':');
                        continue;
                    }
                }
                Some(b't') if b[i..].starts_with(b"true") => i += 4,
                Some(b'f') if b[i..].starts_with(b"false") => i += 5,
                Some(b'n') if b[i..].starts_with(b"null") => i += 4,
                Some(b'-' | b'0'..=b'9') => {
                    i = number_end(b, i)
                        .ok_or_else(|| format!("malformed JSON number at byte {i}"))?
                }
                _ => return bad(i),
            }
            want_value = false;
            if stack.last() == Some(&b':') {
                stack.pop();
                value_done(stack.len(), i, &mut open);
            }
        } else {
            match (stack.last(), b.get(i)) {
                (None, None) => return Ok(members),
                (None, Some(_)) => return bad(i),
                (Some(_), Some(b',')) => {
                    i += 1;
                    want_value = true;
                }
                (Some(b'{'), Some(b'}')) | (Some(b'['), Some(b']')) => {
                    i += 1;
                    stack.pop();
                    if stack.last() == Some(&b':') {
                        stack.pop();
                        value_done(stack.len(), i, &mut open);
                    }
                }
                _ => return bad(i),
            }
        }
    }
}

fn string_end(b: &[u8], start: usize) -> Option<usize> {
    let mut i = start + 1;
    while i < b.len() {
        match b[i] {
            b'"' => return Some(i + 1),
            b'\\' => match b.get(i + 1)? {
                b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => i += 2,
                b'u' if b.get(i + 2..i + 6)?.iter().all(u8::is_ascii_hexdigit) => i += 6,
                _ => return None,
            },
            0..=0x1f => return None,
            _ => i += 1,
        }
    }
    None
}

fn number_end(b: &[u8], start: usize) -> Option<usize> {
    let mut i = start;
    let digits = |i: &mut usize| {
        let s = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1
        }
        *i > s
    };
    if b.get(i) == Some(&b'-') {
        i += 1;
    }
    if b.get(i) == Some(&b'0') {
        i += 1;
    } else if !digits(&mut i) {
        return None;
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        if !digits(&mut i) {
            return None;
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if !digits(&mut i) {
            return None;
        }
    }
    Some(i)
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
            if atomic::should_sweep() {
                tick::sweep(&dir, &name);
            }
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
            })
            .map(drop)
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
    fn the_validator_accepts_json_and_rejects_the_rest() {
        for good in [
            r#"{}"#,
            r#"[]"#,
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
            r#"{"a":}"#,
            r#"{"a":[}"#,
            r#"{"a" 1}"#,
            r#"{1:2}"#,
            "[1,]",
            "[,1]",
            "{,}",
            r#"{"a":1,}"#,
            "01",
            "1.",
            "-",
            "tru",
            "\"\u{1}\"",
            "\"\\x\"",
            "[1] 2",
            "{\"a\":1}}",
            "\0",
            "[\"a\":1]",
        ] {
            assert!(check_json(bad.as_bytes()).is_err(), "{bad:?}");
        }
        let deep = "[".repeat(100_000) + &"]".repeat(100_000);
        assert_eq!(check_json(deep.as_bytes()), Ok(()));
    }

    #[test]
    fn the_scanner_finds_the_top_level_members() {
        let json = r#" {"a" : [1,{"b":2}] ,"c":"x\"y", "d":{}, "e" : -1.5e3,"f":[] } "#;
        let got: Vec<(&str, &str)> = scan_json(json.as_bytes())
            .unwrap()
            .iter()
            .map(|m| (&json[m.key.0..m.key.1], &json[m.value.0..m.value.1]))
            .collect();
        assert_eq!(
            got,
            [
                (r#""a""#, r#"[1,{"b":2}]"#),
                (r#""c""#, r#""x\"y""#),
                (r#""d""#, "{}"),
                (r#""e""#, "-1.5e3"),
                (r#""f""#, "[]"),
            ]
        );
        assert_eq!(scan_json(b"[1,2]"), Ok(vec![]));
        assert_eq!(scan_json(b"{}"), Ok(vec![]));
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
    fn strings_are_unescaped() {
        let u = |lit: &str| unescape(lit);
        assert_eq!(u(r#""""#).as_deref(), Some(""));
        assert_eq!(u(r#""plain é 模""#).as_deref(), Some("plain é 模"));
        assert_eq!(
            u(r#""\"\\\/\b\f\n\r\t""#).as_deref(),
            Some("\"\\/\u{8}\u{c}\n\r\t")
        );
        assert_eq!(u(r#""a\u00e9\u6A21z""#).as_deref(), Some("aé模z"));
        assert_eq!(u(r#""\u0000""#).as_deref(), Some("\0"));
        // A surrogate pair is one character.
        assert_eq!(u(r#""\ud83e\udd80!""#).as_deref(), Some("🦀!"));
        assert_eq!(u(r#""\uD83E\uDD80""#).as_deref(), Some("🦀"));
        // Lone surrogates, bad escapes and broken literals are no text.
        for bad in [
            r#""\ud800""#,
            r#""\ud800x""#,
            r#""\ud800\u0041""#,
            r#""\ud800\ud800""#,
            r#""\udc00""#,
            r#""\udd80\ud83e""#,
            r#""\u12""#,
            r#""\u+123""#,
            r#""\x""#,
            r#""\""#,
            r#""a"b""#,
            r#"""#,
            "x",
        ] {
            assert_eq!(u(bad), None, "{bad}");
        }
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
