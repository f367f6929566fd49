//! The one error type: a usage error (exit 2) or a system error (exit 3),
//! each a single line that names the operation, the path and the cause.

use std::fmt::{self, Write as _};
use std::io;
use std::path::Path;

#[derive(Debug)]
pub enum Error {
    /// Bad input: an argument, a NAME, a value. Nothing was touched.
    Usage(String),
    /// The system refused: I/O, permissions, a full disk.
    System(String),
}

impl Error {
    pub fn usage(msg: impl Into<String>) -> Error {
        Error::Usage(msg.into())
    }

    /// `unable to VERB PATH: OS error`, the s6 way of naming a failure.
    pub fn io(verb: &str, path: &Path, err: &io::Error) -> Error {
        Error::System(format!(
            "unable to {verb} {}: {}",
            path.display(),
            os_message(err)
        ))
    }

    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Usage(_) => 2,
            Error::System(_) => 3,
        }
    }
}

/// The OS error text without Rust's " (os error 28)" suffix.
pub fn os_message(err: &io::Error) -> String {
    let text = err.to_string();
    // A suffix compare, not a search: no substring searcher in the binaries.
    match err.raw_os_error() {
        Some(code) => match text.strip_suffix(&format!(" (os error {code})")) {
            Some(t) => t.to_string(),
            None => text,
        },
        None => text,
    }
}

/// Characters that could drive or disguise a terminal: control characters
/// and the invisible ones that reorder or hide text.
pub fn is_hidden(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

/// A value to quote in a message, between single quotes: `\` and `'` are
/// escaped so the quoting stays unambiguous; [`Error`]'s `Display` escapes
/// the characters in [`is_hidden`].
pub fn quote(v: &str) -> String {
    let mut out = String::with_capacity(v.len() + 2);
    out.push('\'');
    for c in v.chars() {
        if c == '\\' || c == '\'' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('\'');
    out
}

impl fmt::Display for Error {
    /// One line whatever a path or an argument in it holds: the characters
    /// in [`is_hidden`] are shown escaped (`\n`, `\u{1b}`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (Error::Usage(m) | Error::System(m)) = self;
        for c in m.chars() {
            match c {
                '\n' => f.write_str("\\n")?,
                '\r' => f.write_str("\\r")?,
                '\t' => f.write_str("\\t")?,
                c if is_hidden(c) => write!(f, "\\u{{{:x}}}", c as u32)?,
                c => f.write_char(c)?,
            }
        }
        Ok(())
    }
}

impl From<lexopt::Error> for Error {
    fn from(e: lexopt::Error) -> Error {
        Error::Usage(e.to_string())
    }
}

pub type Result<T> = std::result::Result<T, Error>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_error_names_verb_path_and_cause_without_errno_suffix() {
        let e = Error::io(
            "rename",
            Path::new("/x/a.hb"),
            &io::Error::from_raw_os_error(libc::ENOSPC),
        );
        assert_eq!(
            e.to_string(),
            "unable to rename /x/a.hb: No space left on device"
        );
        assert_eq!(e.exit_code(), 3);
        assert_eq!(Error::usage("bad").exit_code(), 2);
    }

    #[test]
    fn a_message_is_one_line_whatever_it_quotes() {
        let e = Error::usage("invalid NAME 'a\nb\x1b\u{202e}': plain é");
        assert_eq!(
            e.to_string(),
            "invalid NAME 'a\\nb\\u{1b}\\u{202e}': plain é"
        );
    }

    #[test]
    fn quoted_values_keep_their_quotes_unambiguous() {
        assert_eq!(quote("w-1"), "'w-1'");
        assert_eq!(quote(r"a'b\c"), r"'a\'b\\c'");
        let e = Error::usage(format!("invalid NAME {}", quote("a\nb")));
        assert_eq!(e.to_string(), "invalid NAME 'a\\nb'");
    }
}
