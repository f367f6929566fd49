//! The escaping every output shares: what a beat may hold (control
//! characters, bidi and zero-width characters, a tmux `#`, a quote in a
//! Prometheus label) made safe for the place it is shown. JSON's escaping
//! is nanoserde's (see [`super::json`]).

use crate::error::is_hidden;
use std::fmt::Write as _;

/// Makes a field safe to print on a terminal: control characters and the
/// invisible characters that reorder or hide text are shown escaped, so a
/// beat cannot drive the terminal or disguise itself.
pub fn escape_field(s: &str) -> String {
    if !s.chars().any(|c| is_hidden(c) || c == '\\') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x100 && (c.is_control()) => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if is_hidden(c) => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// Text for tmux's status line: shown as is, but `#` starts a tmux format
/// (`#(...)` would run a command), so it is doubled; control characters
/// are escaped as in the table.
pub fn tmux_text(s: &str) -> String {
    escape_field(s).replace('#', "##")
}

/// A label value escaped as the exposition format says: backslash, double
/// quote and line feed.
pub fn prom_label(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    let mut start = 0;
    for (i, b) in v.bytes().enumerate() {
        let esc = match b {
            b'\\' => "\\\\",
            b'"' => "\\\"",
            b'\n' => "\\n",
            _ => continue,
        };
        // ASCII, so `i` is a character boundary.
        out.push_str(&v[start..i]);
        out.push_str(esc);
        start = i + 1;
    }
    out.push_str(&v[start..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_defuses_terminal_control() {
        assert_eq!(escape_field("glm-5.2"), "glm-5.2");
        assert_eq!(escape_field("a\x1b[2Jb"), "a\\x1b[2Jb");
        assert_eq!(escape_field("a\nb\\"), "a\\nb\\\\");
        assert_eq!(escape_field("x\u{202E}y\u{9b}"), "x\\u{202e}y\\x9b");
        assert_eq!(prom_label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }

    #[test]
    fn tmux_text_doubles_every_hash() {
        assert_eq!(tmux_text("a#(x)#{y}\n"), "a##(x)##{y}\\n");
    }
}
