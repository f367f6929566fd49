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
    match text.rfind(" (os error ") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

impl fmt::Display for Error {
    /// One line whatever a path or an argument in it holds: control
    /// characters are shown escaped (`\n`, `\u{1b}`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (Error::Usage(m) | Error::System(m)) = self;
        for c in m.chars() {
            if c.is_control() {
                write!(f, "{}", c.escape_debug())?;
            } else {
                f.write_char(c)?;
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
        let e = Error::usage("invalid NAME 'a\nb\x1b': plain é");
        assert_eq!(e.to_string(), "invalid NAME 'a\\nb\\u{1b}': plain é");
    }
}
