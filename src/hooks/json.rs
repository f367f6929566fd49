//! The JSON tokens the hook decoders read: nanoserde 0.2.1's tokenizer
//! (`DeJsonState::next_tok` and the few steps built on it), written again
//! here with one difference, for size. A number with a fraction or an
//! exponent is checked against the grammar of Rust's `f64` parsing, which
//! nanoserde runs on it, and not converted: no member a hook reads is a
//! number, and the conversion alone would cost hb-write about 16 KB. So
//! the decoders use [`Read`] rather than nanoserde's `DeJson`, whose
//! impls call nanoserde's tokenizer. Everything else (what is refused,
//! where, the unescaping, the line and column of an error) is nanoserde's,
//! and a test holds the two tokenizers to the same tokens.

use nanoserde::{DeJsonErr, DeJsonState, DeJsonTok};
use std::str::Chars;

pub type Result<T> = std::result::Result<T, DeJsonErr>;

/// A value a decoder reads, from its first token (already read) to the
/// token after it (read too), as nanoserde's `DeJson`.
pub trait Read: Sized {
    fn read(s: &mut DeJsonState, i: &mut Chars) -> Result<Self>;
}

impl Read for String {
    fn read(s: &mut DeJsonState, i: &mut Chars) -> Result<Self> {
        let v = s.as_string()?;
        next_tok(s, i)?;
        Ok(v)
    }
}

impl<T: Read> Read for Option<T> {
    fn read(s: &mut DeJsonState, i: &mut Chars) -> Result<Self> {
        if s.tok == DeJsonTok::Null {
            next_tok(s, i)?;
            return Ok(None);
        }
        T::read(s, i).map(Some)
    }
}

impl<T: Read> Read for Vec<T> {
    fn read(s: &mut DeJsonState, i: &mut Chars) -> Result<Self> {
        let mut out = Vec::new();
        expect(s, i, DeJsonTok::BlockOpen, "[")?;
        while s.tok != DeJsonTok::BlockClose {
            out.push(T::read(s, i)?);
            match s.tok {
                DeJsonTok::Comma => next_tok(s, i)?,
                DeJsonTok::BlockClose => {}
                _ => return Err(s.err_token(", or ]")),
            }
        }
        expect(s, i, DeJsonTok::BlockClose, "]")?;
        Ok(out)
    }
}

/// The current token is `tok` (`what` in the error): read the next one.
/// nanoserde's `curly_open`, `curly_close`, `block_open`, `block_close`.
pub fn expect(s: &mut DeJsonState, i: &mut Chars, tok: DeJsonTok, what: &str) -> Result<()> {
    if s.tok != tok {
        return Err(s.err_token(what));
    }
    next_tok(s, i)
}

/// Reads the next token into `s.tok` (a string's text into `s.strbuf`):
/// nanoserde's `next_tok` but for the number noted at the top.
pub fn next_tok(s: &mut DeJsonState, i: &mut Chars) -> Result<()> {
    loop {
        while matches!(s.cur, '\n' | '\r' | '\t' | ' ') {
            s.next(i);
        }
        if s.cur != '/' {
            break;
        }
        // A comment (tame refuses them in a payload; nanoserde takes them).
        s.next(i);
        match s.cur {
            '/' => {
                while s.cur != '\n' && s.cur != '\0' {
                    s.next(i);
                }
            }
            '*' => {
                let mut last = s.cur;
                loop {
                    s.next(i);
                    if s.cur == '\0' {
                        return Err(s.err_token("MultiLineCommentClose"));
                    }
                    if last == '*' && s.cur == '/' {
                        s.next(i);
                        break;
                    }
                    last = s.cur;
                }
            }
            _ => return Err(s.err_token("CommentOpen")),
        }
    }
    let single = match s.cur {
        '\0' => {
            s.tok = DeJsonTok::Eof;
            return Ok(());
        }
        ':' => DeJsonTok::Colon,
        ',' => DeJsonTok::Comma,
        '[' => DeJsonTok::BlockOpen,
        ']' => DeJsonTok::BlockClose,
        '{' => DeJsonTok::CurlyOpen,
        '}' => DeJsonTok::CurlyClose,
        '-' | '+' | '0'..='9' => return number(s, i),
        'a'..='z' | 'A'..='Z' | '_' => return word(s, i),
        '"' => return string(s, i),
        _ => return Err(s.err_token("tokenizer")),
    };
    s.next(i);
    s.tok = single;
    Ok(())
}

fn digits(s: &mut DeJsonState, i: &mut Chars) -> usize {
    let mut n = 0;
    while s.cur.is_ascii_digit() {
        s.numbuf.push(s.cur);
        s.next(i);
        n += 1;
    }
    n
}

/// A number, scanned as nanoserde does. An integer is parsed as nanoserde
/// parses it (`u64`, or `i64` after a `-`); a number with a fraction or an
/// exponent is `F64(0.0)` when `f64` would parse it: some digit in its
/// mantissa and, when it has an exponent, in that.
fn number(s: &mut DeJsonState, i: &mut Chars) -> Result<()> {
    s.numbuf.truncate(0);
    let neg = s.cur == '-';
    if matches!(s.cur, '-' | '+') {
        s.numbuf.push(s.cur);
        s.next(i);
    }
    let mut mantissa = digits(s, i);
    let mut float = false;
    let mut exponent = true;
    if s.cur == '.' {
        float = true;
        s.numbuf.push(s.cur);
        s.next(i);
        mantissa += digits(s, i);
    }
    if matches!(s.cur, 'e' | 'E') {
        float = true;
        s.numbuf.push(s.cur);
        s.next(i);
        if s.cur == '-' {
            s.numbuf.push(s.cur);
            s.next(i);
        }
        exponent = digits(s, i) > 0;
    }
    let tok = if float {
        (mantissa > 0 && exponent).then_some(DeJsonTok::F64(0.0))
    } else if neg {
        s.numbuf.parse().ok().map(DeJsonTok::I64)
    } else {
        s.numbuf.parse().ok().map(DeJsonTok::U64)
    };
    match tok {
        Some(t) => {
            s.tok = t;
            Ok(())
        }
        None => Err(s.err_parse("number")),
    }
}

/// `true`, `false`, `null`; any other bare word is refused.
fn word(s: &mut DeJsonState, i: &mut Chars) -> Result<()> {
    s.identbuf.truncate(0);
    while s.cur.is_ascii_alphabetic() || s.cur == '_' {
        s.identbuf.push(s.cur);
        s.next(i);
    }
    s.tok = match s.identbuf.as_str() {
        "true" => DeJsonTok::Bool(true),
        "false" => DeJsonTok::Bool(false),
        "null" => DeJsonTok::Null,
        _ => {
            s.tok = DeJsonTok::BareIdent;
            let why = format!("Got ##{}## needed true, false, null", s.identbuf);
            return Err(s.err_token(&why));
        }
    };
    Ok(())
}

/// A string, unescaped into `s.strbuf` as nanoserde does (its `\0`, and
/// any other escaped character taken as itself).
fn string(s: &mut DeJsonState, i: &mut Chars) -> Result<()> {
    s.strbuf.truncate(0);
    s.next(i);
    while s.cur != '"' {
        if s.cur == '\0' {
            return Err(s.err_parse("string"));
        }
        if s.cur != '\\' {
            s.strbuf.push(s.cur);
            s.next(i);
            continue;
        }
        s.next(i);
        let c = match s.cur {
            'n' => '\n',
            'r' => '\r',
            't' => '\t',
            'b' => '\x08',
            'f' => '\x0c',
            '0' => '\0',
            '\0' => return Err(s.err_parse("string")),
            'u' => match unescape(s, i) {
                Some(c) => {
                    s.strbuf.push(c);
                    continue;
                }
                None => return Err(s.err_parse("string")),
            },
            c => c,
        };
        s.strbuf.push(c);
        s.next(i);
    }
    s.next(i);
    s.tok = DeJsonTok::Str;
    Ok(())
}

/// `\uXXXX` (the `u` current), or a surrogate pair of two: nanoserde's
/// `hex_unescape_char`.
fn unescape(s: &mut DeJsonState, i: &mut Chars) -> Option<char> {
    s.next(i);
    let a = hex4(s, i)?;
    if let Some(c) = char::from_u32(a) {
        return Some(c);
    }
    if (0xd800..0xdc00).contains(&a) && s.cur == '\\' {
        s.next(i);
        if s.cur == 'u' {
            s.next(i);
            let b = hex4(s, i)?;
            if (0xdc00..0xe000).contains(&b) {
                return char::from_u32((((a - 0xd800) << 10) | (b - 0xdc00)) + 0x10000);
            }
        }
    }
    None
}

fn hex4(s: &mut DeJsonState, i: &mut Chars) -> Option<u32> {
    let mut n = 0;
    for _ in 0..4 {
        n = n << 4 | s.cur.to_digit(16)?;
        s.next(i);
    }
    Some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every token of `json` by `next`, until the end or an error: the
    /// token (an F64 as 0), the string, the line and column, and whether
    /// it was an error and where.
    fn tokens(
        json: &str,
        next: fn(&mut DeJsonState, &mut Chars) -> Result<()>,
    ) -> Vec<(String, String, usize, usize)> {
        let mut s = DeJsonState::default();
        let mut i = json.chars();
        s.next(&mut i);
        let mut out = Vec::new();
        for _ in 0..1000 {
            let r = next(&mut s, &mut i);
            let tok = match (&r, &s.tok) {
                (Err(e), _) => format!("error at {}:{}", e.line, e.col),
                (_, DeJsonTok::F64(_)) => "F64".into(),
                (_, t) => format!("{t:?}"),
            };
            out.push((tok, s.strbuf.clone(), s.line, s.col));
            if r.is_err() || s.tok == DeJsonTok::Eof {
                break;
            }
        }
        out
    }

    #[test]
    fn the_tokens_are_nanoserdes() {
        let mut cases: Vec<String> = [
            r#"{"a": [1, -2, +3, 1.5, -1.5e-3, 1e5, 1E5, 2., .5, 1.e5, 1e, 1.5e-, -, +, -.5]}"#,
            "1.",
            "-.",
            ".",
            "1e-",
            "18446744073709551615",
            "18446744073709551616",
            "-9223372036854775808",
            "-9223372036854775809",
            "+5",
            "-0",
            "00",
            "1.2.3",
            "1ee5",
            "1e--5",
            "1e+5",
            r#""a\n\r\t\b\f\0\/\\\"\q\u00e9\ud83d\ude00\ud83d\u0041\udc00\u12""#,
            r#""\uD83D\uDE00x""#,
            r#""\ud800\\""#,
            "\"\u{e9}\u{1f600}\"",
            "\"unterminated",
            "\"a\\",
            "true false null nul True _x tru",
            "// comment\n{}",
            "/* c */ [] /* x",
            "/x",
            "/* */",
            "{\"a\":\n  {\"b\": [\r\n true,\tnull ]}}",
            "@",
            "\u{e9}",
            "",
            "   ",
            "{\"k\"\0:1}",
            "[1,2]]",
            "{,}",
            "[1 2]",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        // Random texts over JSON's alphabet.
        let alphabet: Vec<char> = "{}[]:,\"\\/*-+.eE0123456789 \n\tutrnfalsbx_\u{e9}\0"
            .chars()
            .collect();
        let mut rng = fastrand::Rng::with_seed(24);
        for _ in 0..20_000 {
            let n = rng.usize(0..24);
            cases.push(
                (0..n)
                    .map(|_| alphabet[rng.usize(..alphabet.len())])
                    .collect(),
            );
        }
        for c in &cases {
            assert_eq!(
                tokens(c, next_tok),
                tokens(c, DeJsonState::next_tok),
                "{c:?}"
            );
        }
    }
}
