//! Decoding a runtime's hook payload: the few members that matter, read
//! as nanoserde's derived `DeJson` reads them (over [`super::json`]'s
//! tokens), skipping every other member however large or deep (Claude's
//! `tool_response` can be megabytes). [`tame`] runs first, because
//! nanoserde 0.2.1's tokenizer can loop on malformed input and refuses
//! some valid JSON (doc/development.md, "Dependencies").

use super::json::{self, next_tok, Read};
use nanoserde::{DeJsonErr, DeJsonState, DeJsonTok};
use std::borrow::Cow;
use std::str::Chars;

/// The members a hook reads, each the text it held or none.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Fields {
    pub hook_event_name: Option<String>,
    /// Codex `notify`: `{"type": "agent-turn-complete", ...}`.
    pub kind: Option<String>,
    /// A string, or an object's `id`, else its `display_name`.
    pub model: Option<String>,
    pub notification_type: Option<String>,
    pub message: Option<String>,
    /// `transcript_path` (Claude Code), `transcriptPath` (Copilot CLI).
    pub transcript_path: Option<String>,
    /// `session_id` (Codex), `sessionId` (Copilot CLI).
    pub session_id: Option<String>,
    pub thread_id: Option<String>,
    /// Gemini CLI: the model a model request goes to (`llm_request.model`).
    pub llm_request_model: Option<String>,
    /// Hermes Agent: the event's keyword arguments (`extra`), of which its
    /// `model` and an approval's `surface` (`cli`, `smart`, `gateway`).
    pub extra_model: Option<String>,
    pub extra_surface: Option<String>,
    /// Mistral Vibe: set when the hook runs inside a subagent.
    pub parent_session_id: Option<String>,
    /// Mistral Vibe `post_tool`: `success`, `failure` or `cancelled`.
    pub tool_status: Option<String>,
    /// The tool a tool event is about: Codex's `tool_name` (its question
    /// tool), Cline's `preToolUse`/`postToolUse` `toolName`.
    pub tool_name: Option<String>,
    /// Cline: `sessionContext.rootSessionId`, which names its session file.
    pub root_session_id: Option<String>,
    /// Gemini CLI's AfterTool: what the tool said, to the model
    /// (`tool_response.llmContent`) and to the user
    /// (`tool_response.returnDisplay`), when it is text.
    pub tool_llm_content: Option<String>,
    pub tool_return_display: Option<String>,
}

/// Reads a payload: one JSON object, nothing after it.
pub fn read(json: &str) -> std::result::Result<Fields, String> {
    let p = decode(json, Payload::read)?;
    let inner = |o: Option<Inner>| o.and_then(|o| o.0).unwrap_or_default();
    let response = inner(p.tool_response);
    let extra = inner(p.extra);
    let cline_tool = inner(p.pre_tool_use.or(p.post_tool_use));
    Ok(Fields {
        // Cline's `hookName` (Copilot CLI's, in one payload, goes unread:
        // its hooks name their event).
        hook_event_name: text(p.hook_event_name).or(text(p.hook_name)),
        kind: text(p.kind),
        model: p.model.and_then(|m| m.0),
        notification_type: text(p.notification_type),
        message: text(p.message),
        transcript_path: text(p.transcript_path).or(text(p.transcript_path_camel)),
        session_id: text(p.session_id).or(text(p.session_id_camel)),
        thread_id: text(p.thread_id),
        llm_request_model: text(inner(p.llm_request).model),
        extra_model: text(extra.model),
        extra_surface: text(extra.surface),
        parent_session_id: text(p.parent_session_id),
        tool_status: text(p.tool_status),
        tool_name: text(p.tool_name).or(text(cline_tool.tool_name)),
        root_session_id: text(inner(p.session_context).root_session_id),
        tool_llm_content: text(response.llm_content),
        tool_return_display: text(response.return_display),
    })
}

/// The members of any runtime's payload that matter here; every other
/// member is skipped. Each is absent unless it holds text, so an odd value
/// in one never costs the agent its beat. A new member is one line here
/// and one in its [`decoder!`].
struct Payload {
    hook_event_name: Option<Text>,
    /// Codex `notify`: `{"type": "agent-turn-complete", ...}`.
    kind: Option<Text>,
    model: Option<Model>,
    notification_type: Option<Text>,
    message: Option<Text>,
    /// Claude Code: the session's transcript, which names the model.
    transcript_path: Option<Text>,
    /// Codex: the session (hooks) and the thread a notify is about.
    session_id: Option<Text>,
    /// Copilot CLI: the session, and its events file (agentStop).
    session_id_camel: Option<Text>,
    transcript_path_camel: Option<Text>,
    thread_id: Option<Text>,
    /// Gemini CLI: the model request (BeforeModel, BeforeToolSelection),
    /// of which only its `model` is read.
    llm_request: Option<Inner>,
    /// Hermes Agent: the event's keyword arguments.
    extra: Option<Inner>,
    /// Mistral Vibe: a subagent's hook names its parent session.
    parent_session_id: Option<Text>,
    /// Mistral Vibe `post_tool`: how the tool ended.
    tool_status: Option<Text>,
    /// Codex: the tool of a tool event (`request_user_input` asks).
    tool_name: Option<Text>,
    /// Gemini CLI: a tool's result (AfterTool), of which only its text
    /// is read.
    tool_response: Option<Inner>,
    /// Cline: the event (`agent_start`, `tool_call`, ...), the tool
    /// and the session.
    hook_name: Option<Text>,
    pre_tool_use: Option<Inner>,
    post_tool_use: Option<Inner>,
    session_context: Option<Inner>,
}

decoder!(Payload {
    hook_event_name: "hook_event_name",
    kind: "type",
    model: "model",
    notification_type: "notification_type",
    message: "message",
    transcript_path: "transcript_path",
    session_id: "session_id",
    session_id_camel: "sessionId",
    transcript_path_camel: "transcriptPath",
    thread_id: "thread-id",
    llm_request: "llm_request",
    extra: "extra",
    parent_session_id: "parent_session_id",
    tool_status: "tool_status",
    tool_name: "tool_name",
    tool_response: "tool_response",
    hook_name: "hookName",
    pre_tool_use: "preToolUse",
    post_tool_use: "postToolUse",
    session_context: "sessionContext",
});

/// Its members are [`Text`], which never holds an object: no nesting
/// of a payload can make the decoding recurse.
struct ModelObject {
    id: Option<Text>,
    display_name: Option<Text>,
}
decoder!(ModelObject {
    id: "id",
    display_name: "display_name"
});

/// An object inside the payload, of which a few text members are
/// read; one decoder for all of them: Gemini's `llm_request` (its
/// `model`; the whole conversation is skipped) and `tool_response`
/// (AfterTool: `llmContent`, `returnDisplay`, when text), Hermes'
/// `extra` (`model`, an approval's `surface`), Cline's `preToolUse`
/// and `postToolUse` (`toolName`) and `sessionContext`
/// (`rootSessionId`). Its members are [`Text`]: no nesting recurses.
#[derive(Default)]
struct InnerObject {
    model: Option<Text>,
    surface: Option<Text>,
    llm_content: Option<Text>,
    return_display: Option<Text>,
    tool_name: Option<Text>,
    root_session_id: Option<Text>,
}
decoder!(InnerObject {
    model: "model",
    surface: "surface",
    llm_content: "llmContent",
    return_display: "returnDisplay",
    tool_name: "toolName",
    root_session_id: "rootSessionId",
});

/// A member read as text: a string, else (any other value, skipped) none.
/// A string that held a lone surrogate is none too: [`tame`] wrote U+FFFD
/// in its place, and such a field is treated as absent rather than
/// guessed at.
struct Text(Option<String>);

impl Read for Text {
    fn read(s: &mut DeJsonState, i: &mut Chars) -> json::Result<Self> {
        if s.tok != DeJsonTok::Str {
            skip(s, i)?;
            return Ok(Text(None));
        }
        let v = s.as_string()?;
        next_tok(s, i)?;
        Ok(Text(
            Some(v).filter(|v| !v.contains(char::REPLACEMENT_CHARACTER)),
        ))
    }
}

/// A model as runtimes send it: a string, or an object with an `id`, else
/// a `display_name` (Claude's status-line shape). Anything else is none.
struct Model(Option<String>);

impl Read for Model {
    fn read(s: &mut DeJsonState, i: &mut Chars) -> json::Result<Self> {
        if s.tok != DeJsonTok::CurlyOpen {
            return Text::read(s, i).map(|t| Model(t.0));
        }
        let o = ModelObject::read(s, i)?;
        Ok(Model(text(o.id).or(text(o.display_name))))
    }
}

/// An [`InnerObject`] where the payload has an object; anything else is
/// none.
struct Inner(Option<InnerObject>);

impl Read for Inner {
    fn read(s: &mut DeJsonState, i: &mut Chars) -> json::Result<Self> {
        if s.tok != DeJsonTok::CurlyOpen {
            skip(s, i)?;
            return Ok(Inner(None));
        }
        Ok(Inner(Some(InnerObject::read(s, i)?)))
    }
}

fn text(t: Option<Text>) -> Option<String> {
    t.and_then(|t| t.0)
}

/// Skips one value, as nanoserde's `whole_field` does, but refuses a
/// token that starts none (`,`, `:`, `}`, `]`, the end), where nanoserde
/// panics. Ours rather than nanoserde's for size too: the panic's message
/// formats the token, which alone links float formatting (about 15 KB)
/// into hb-write.
fn skip(s: &mut DeJsonState, i: &mut Chars) -> std::result::Result<(), DeJsonErr> {
    match s.tok {
        DeJsonTok::Str
        | DeJsonTok::U64(_)
        | DeJsonTok::I64(_)
        | DeJsonTok::F64(_)
        | DeJsonTok::Bool(_)
        | DeJsonTok::Null => next_tok(s, i),
        DeJsonTok::CurlyOpen | DeJsonTok::BlockOpen => {
            let mut open = 0usize;
            loop {
                match s.tok {
                    DeJsonTok::CurlyOpen | DeJsonTok::BlockOpen => open += 1,
                    DeJsonTok::CurlyClose | DeJsonTok::BlockClose => open -= 1,
                    _ => {}
                }
                next_tok(s, i)?;
                if open == 0 {
                    return Ok(());
                }
            }
        }
        _ => Err(s.err_token("a value")),
    }
}

/// Reads one object as nanoserde's `#[derive(DeJson)]` does: `member`
/// reads the value of a member it knows and says so; any other value is
/// skipped with [`skip`]. The derive is not used because its code calls
/// nanoserde's `whole_field` (see [`skip`] for why not), and this one body
/// serves every struct.
pub(crate) fn object(
    s: &mut DeJsonState,
    i: &mut Chars,
    member: &mut dyn FnMut(
        &str,
        &mut DeJsonState,
        &mut Chars,
    ) -> std::result::Result<bool, DeJsonErr>,
) -> std::result::Result<(), DeJsonErr> {
    json::expect(s, i, DeJsonTok::CurlyOpen, "{")?;
    while s.tok == DeJsonTok::Str {
        let key = std::mem::take(&mut s.strbuf);
        next_tok(s, i)?;
        json::expect(s, i, DeJsonTok::Colon, ":")?;
        if !member(&key, s, i)? {
            skip(s, i)?;
        }
        match s.tok {
            DeJsonTok::Comma => next_tok(s, i)?,
            DeJsonTok::CurlyClose => {}
            _ => return Err(s.err_token(", or }")),
        }
    }
    json::expect(s, i, DeJsonTok::CurlyClose, "}")
}

/// Reads a member's value into its slot. Not inlined: a copy in each arm
/// of each [`decoder!`] costs hb-write kilobytes.
#[inline(never)]
pub(crate) fn put<T: Read>(
    slot: &mut Option<T>,
    s: &mut DeJsonState,
    i: &mut Chars,
) -> json::Result<()> {
    *slot = Read::read(s, i)?;
    Ok(())
}

/// `impl Read` for a struct of `Option` members over [`object`], each
/// named with its JSON key: `decoder!(Line { kind: "type", data: "data" })`.
/// A key given twice keeps its last value, as with nanoserde's derive.
macro_rules! decoder {
    ($t:ident { $($f:ident: $k:literal),* $(,)? }) => {
        impl $crate::hooks::json::Read for $t {
            fn read(
                s: &mut nanoserde::DeJsonState,
                i: &mut std::str::Chars,
            ) -> $crate::hooks::json::Result<Self> {
                let mut v = $t { $($f: None),* };
                $crate::hooks::payload::object(s, i, &mut |key, s, i| {
                    match key {
                        $($k => $crate::hooks::payload::put(&mut v.$f, s, i)?,)*
                        _ => return Ok(false),
                    }
                    Ok(true)
                })?;
                Ok(v)
            }
        }
    };
}
pub(crate) use decoder;

/// Reads one whole JSON text with `read` (nanoserde), after [`tame`], and
/// refuses anything after it (nanoserde stops at the value's end). Also
/// for what a runtime's quirks read beside the payload (Copilot CLI's
/// events file).
pub(crate) fn decode<T>(
    json: &str,
    read: impl FnOnce(&mut DeJsonState, &mut Chars) -> std::result::Result<T, DeJsonErr>,
) -> std::result::Result<T, String> {
    let json = tame(json)?;
    let mut s = DeJsonState::default();
    let mut i = json.chars();
    s.next(&mut i);
    let at = |line: usize, col: usize| format!("line {}, column {}", line + 1, col + 1);
    match next_tok(&mut s, &mut i).and_then(|()| read(&mut s, &mut i)) {
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
/// its bytes (doc/development.md, "Dependencies"). It refuses what would make
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
