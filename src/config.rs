//! Settings every binary shares: where the heartbeat directory is and what
//! the interval is, resolved from flags, then the environment, then defaults.
//!
//! The environment is passed in as a lookup so tests can drive resolution
//! without touching the process environment.

use crate::error::{Error, Result};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

pub const DEFAULT_INTERVAL: u32 = 10;
pub const MAX_INTERVAL: u32 = 86400;

/// Reads a variable; the real one is [`process_env`].
pub type Env<'a> = &'a dyn Fn(&str) -> Option<OsString>;

/// The process environment, treating an empty variable as unset.
pub fn process_env(key: &str) -> Option<OsString> {
    std::env::var_os(key).filter(|v| !v.is_empty())
}

/// `--dir`, `$MOSAIC_HEARTBEAT_DIR`, `$XDG_STATE_HOME/mosaic/fleet/hb`,
/// `$HOME/.local/state/mosaic/fleet/hb`. Never `XDG_RUNTIME_DIR`: cron and
/// system units lack it. A relative `XDG_STATE_HOME` is ignored, as the XDG
/// spec says.
pub fn resolve_dir(flag: Option<OsString>, env: Env) -> Result<PathBuf> {
    if let Some(d) = flag {
        if d.is_empty() {
            return Err(Error::usage("--dir: empty path"));
        }
        return Ok(PathBuf::from(d));
    }
    if let Some(d) = env("MOSAIC_HEARTBEAT_DIR").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(d));
    }
    let suffix = Path::new("mosaic/fleet/hb");
    if let Some(state) = env("XDG_STATE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
    {
        return Ok(state.join(suffix));
    }
    if let Some(home) = env("HOME").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(home).join(".local/state").join(suffix));
    }
    Err(Error::usage(
        "no heartbeat directory: set --dir, MOSAIC_HEARTBEAT_DIR, XDG_STATE_HOME or HOME",
    ))
}

/// `--interval`, else `$MOSAIC_HEARTBEAT_INTERVAL`, else 10.
pub fn resolve_interval(flag: Option<OsString>, env: Env) -> Result<u32> {
    if let Some(v) = flag {
        return parse_interval(&v).map_err(|why| Error::usage(format!("--interval: {why}")));
    }
    match env("MOSAIC_HEARTBEAT_INTERVAL").filter(|v| !v.is_empty()) {
        Some(v) => parse_interval(&v)
            .map_err(|why| Error::usage(format!("MOSAIC_HEARTBEAT_INTERVAL: {why}"))),
        None => Ok(DEFAULT_INTERVAL),
    }
}

/// A whole number of seconds from 1 to 86400.
pub fn parse_interval(v: &std::ffi::OsStr) -> std::result::Result<u32, String> {
    parse_seconds(v, 1, MAX_INTERVAL)
}

/// A whole number of seconds within `min..=max`, plain ASCII digits.
pub fn parse_seconds(v: &std::ffi::OsStr, min: u32, max: u32) -> std::result::Result<u32, String> {
    let s = v.to_string_lossy();
    match crate::beat::parse_digits(&s, 10) {
        Some(n) if n >= u64::from(min) && n <= u64::from(max) => Ok(n as u32),
        _ => Err(format!(
            "{} is not a whole number of seconds from {min} to {max}",
            crate::error::quote(&s)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<OsString> {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| OsString::from(v))
        }
    }

    #[test]
    fn dir_resolves_in_contract_order() {
        let all = env_of(&[
            ("MOSAIC_HEARTBEAT_DIR", "/m"),
            ("XDG_STATE_HOME", "/x"),
            ("HOME", "/h"),
            ("XDG_RUNTIME_DIR", "/run/user/1"),
        ]);
        assert_eq!(
            resolve_dir(Some("/f".into()), &all).unwrap(),
            Path::new("/f")
        );
        assert_eq!(resolve_dir(None, &all).unwrap(), Path::new("/m"));
        let e = env_of(&[("XDG_STATE_HOME", "/x"), ("HOME", "/h")]);
        assert_eq!(
            resolve_dir(None, &e).unwrap(),
            Path::new("/x/mosaic/fleet/hb")
        );
        let e = env_of(&[("XDG_STATE_HOME", "rel"), ("HOME", "/h")]);
        assert_eq!(
            resolve_dir(None, &e).unwrap(),
            Path::new("/h/.local/state/mosaic/fleet/hb")
        );
        let e = env_of(&[("XDG_RUNTIME_DIR", "/run/user/1")]);
        assert_eq!(resolve_dir(None, &e).unwrap_err().exit_code(), 2);
        assert_eq!(resolve_dir(Some("".into()), &e).unwrap_err().exit_code(), 2);
    }

    #[test]
    fn interval_limits_and_sources() {
        let none = env_of(&[]);
        assert_eq!(resolve_interval(None, &none).unwrap(), 10);
        let e = env_of(&[("MOSAIC_HEARTBEAT_INTERVAL", "7")]);
        assert_eq!(resolve_interval(None, &e).unwrap(), 7);
        assert_eq!(resolve_interval(Some("3".into()), &e).unwrap(), 3);
        for good in ["1", "86400", "0010"] {
            assert!(parse_interval(good.as_ref()).is_ok(), "{good}");
        }
        for bad in [
            "0",
            "86401",
            "",
            "-1",
            "1.5",
            " 1",
            "1s",
            "99999999999999999999",
        ] {
            assert!(parse_interval(bad.as_ref()).is_err(), "{bad}");
        }
        let e = env_of(&[("MOSAIC_HEARTBEAT_INTERVAL", "ten")]);
        let err = resolve_interval(None, &e).unwrap_err();
        assert!(err.to_string().starts_with("MOSAIC_HEARTBEAT_INTERVAL"));
    }
}
