//! What the three binaries share: turning a command's outcome into an exit
//! status and one `PROG: error: ...` line, writing to stdout so that a closed
//! pipe is a quiet exit rather than a panic, and the common flags.

use crate::error::{quote, Error, Result};
use std::ffi::OsString;
use std::io;
use std::process::ExitCode;

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// What parsing the arguments asks for.
#[derive(Debug)]
pub enum Parsed<T> {
    Run(T),
    Help,
    Version,
}

/// Runs a command's `main`, printing its error, and maps the outcome to an
/// exit status. `Ok(n)` is the command's own answer (0 yes, 1 no).
pub fn exit(prog: &str, outcome: Result<u8>) -> ExitCode {
    match outcome {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprint_line(&format!("{prog}: error: {e}"));
            ExitCode::from(e.exit_code())
        }
    }
}

/// Writes all of `bytes` to a file descriptor of ours. Straight to the fd:
/// std's buffered stdout and stderr cost the binaries a few KB, and each
/// output here is one write of a finished text anyway.
fn write_fd(fd: libc::c_int, mut bytes: &[u8]) -> io::Result<()> {
    while !bytes.is_empty() {
        // SAFETY: a valid buffer of that length; a closed fd is EBADF.
        let n = unsafe { libc::write(fd, bytes.as_ptr().cast(), bytes.len()) };
        match usize::try_from(n) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => bytes = bytes.get(n..).unwrap_or_default(),
            Err(_) => {
                let e = io::Error::last_os_error();
                if e.kind() != io::ErrorKind::Interrupted {
                    return Err(e);
                }
            }
        }
    }
    Ok(())
}

/// One line on stderr (the newline is added). A failure to write it has
/// nowhere to be reported, so it is ignored, never a panic.
pub fn eprint_line(line: &str) {
    let _ = write_fd(2, format!("{line}\n").as_bytes());
}

/// Writes all of `bytes` to stdout. A reader that went away (EPIPE) is not
/// our failure: the caller exits quietly with its normal status.
pub fn print(bytes: &[u8]) -> Result<()> {
    print_open(bytes).map(drop)
}

/// [`print`], saying whether stdout is still open: false once its reader
/// went away, which ends a stream quietly.
pub fn print_open(bytes: &[u8]) -> Result<bool> {
    match write_fd(1, bytes) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(false),
        Err(e) => Err(Error::System(format!(
            "unable to write to stdout: {}",
            crate::error::os_message(&e)
        ))),
    }
}

/// Prints the help text or the version line; 0.
pub fn print_help_or_version<T>(prog: &str, help: &str, parsed: &Parsed<T>) -> Result<u8> {
    match parsed {
        Parsed::Help => print(help.as_bytes())?,
        Parsed::Version => print(format!("{prog} {VERSION}\n").as_bytes())?,
        Parsed::Run(_) => {}
    }
    Ok(0)
}

/// The value of a flag as an OsString, with the flag's name in any error.
pub fn value(parser: &mut lexopt::Parser, flag: &str) -> Result<OsString> {
    parser
        .value()
        .map_err(|_| Error::usage(format!("{flag}: missing value")))
}

/// The value of a flag that must be UTF-8.
pub fn string(parser: &mut lexopt::Parser, flag: &str) -> Result<String> {
    value(parser, flag)?
        .into_string()
        .map_err(|_| Error::usage(format!("{flag}: not valid UTF-8")))
}

/// The positional NAME, checked by the contract's rules.
pub fn name(v: OsString) -> Result<String> {
    crate::beat::check_name_os(&v)
        .map(str::to_string)
        .map_err(|why| {
            Error::usage(format!(
                "invalid NAME {}: {why}",
                quote(&v.to_string_lossy())
            ))
        })
}

/// Turns lexopt's "unexpected argument" into a one-line usage error with a
/// pointer to `--help`.
pub fn unexpected(arg: lexopt::Arg<'_>) -> Error {
    Error::usage(format!("{} (see --help)", arg.unexpected()))
}
