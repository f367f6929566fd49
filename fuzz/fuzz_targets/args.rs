//! Shared by the argument targets: the input is argv, NUL-separated, as raw
//! OS bytes (so non-UTF-8 arguments are reached too).
#![allow(dead_code)]

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;

pub fn argv(data: &[u8]) -> Vec<OsString> {
    if data.is_empty() {
        return Vec::new();
    }
    data.split(|&c| c == 0)
        .map(|a| OsString::from_vec(a.to_vec()))
        .collect()
}

/// A usage error is one line: the binaries print it after `PROG: error: `.
pub fn one_line(e: &hb::error::Error) {
    let text = e.to_string();
    assert!(!text.is_empty() && !text.contains('\n'), "{text:?}");
}

/// No environment: resolution must not depend on the fuzzing machine's.
pub fn no_env(_: &str) -> Option<OsString> {
    None
}
