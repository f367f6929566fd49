//! `hb-defer-check`: "is the native writer active?" as an exit status, so a
//! fallback writer can say `hb-defer-check "$n" || hb-write "$n"`.

use crate::cli::{self, Parsed};
use crate::config::{self, Env};
use crate::error::{Error, Result};
use crate::marker::{self, Freshness};
use std::ffi::OsString;

pub const HELP: &str = "\
hb-defer-check: is an agent's native heartbeat writer active?

Usage:
  hb-defer-check [-v] [--dir DIR] [--interval SECS] NAME

Exits 0 when the marker DIR/NAME.hb.native is fresh (a native writer wrote
within 2 x interval: the sidecar should defer), 1 when it is not (write the
fallback beat).

Options:
  -v, --verbose    say why, with the marker's age, on stderr
  --dir DIR        heartbeat directory; default $MOSAIC_HEARTBEAT_DIR, else
                   $XDG_STATE_HOME/mosaic/fleet/hb, else
                   $HOME/.local/state/mosaic/fleet/hb
  --interval SECS  1 to 86400; default $MOSAIC_HEARTBEAT_INTERVAL, else 10
  -h, --help       this help
  -V, --version    the version

Exit status: 0 fresh (defer); 1 not fresh (write); 2 bad usage or input;
3 system error.

Example:
  hb-defer-check \"$name\" || hb-write --pid \"$agent_pid\" \"$name\"
";

#[derive(Debug, Default)]
pub struct Args {
    pub verbose: bool,
    pub name: Option<String>,
    pub dir: Option<OsString>,
    pub interval: Option<OsString>,
}

pub fn parse_args<I>(args: I) -> Result<Parsed<Args>>
where
    I: IntoIterator,
    I::Item: Into<OsString>,
{
    use lexopt::prelude::*;
    let mut p = lexopt::Parser::from_args(args);
    let mut a = Args::default();
    while let Some(arg) = p.next()? {
        match arg {
            Short('h') | Long("help") => return Ok(Parsed::Help),
            Short('V') | Long("version") => return Ok(Parsed::Version),
            Short('v') | Long("verbose") => a.verbose = true,
            Long("dir") => a.dir = Some(cli::value(&mut p, "--dir")?),
            Long("interval") => a.interval = Some(cli::value(&mut p, "--interval")?),
            Value(v) if a.name.is_none() => a.name = Some(cli::name(v)?),
            _ => return Err(cli::unexpected(arg)),
        }
    }
    Ok(Parsed::Run(a))
}

/// Seconds with one decimal, for humans: `1.5s`, `-0.2s`. Integer
/// arithmetic: float formatting would cost the binary kilobytes.
fn secs(ns: i128) -> String {
    let sign = if ns < 0 { "-" } else { "" };
    // Tenths of a second, rounded half up.
    let tenths = u64::try_from((ns.unsigned_abs() + 50_000_000) / 100_000_000).unwrap_or(u64::MAX);
    format!("{sign}{}.{}s", tenths / 10, tenths % 10)
}

pub fn main<I>(args: I, env: Env) -> Result<u8>
where
    I: IntoIterator,
    I::Item: Into<OsString>,
{
    let a = match parse_args(args)? {
        Parsed::Run(a) => a,
        other => return cli::print_help_or_version("hb-defer-check", HELP, &other),
    };
    let name = a
        .name
        .ok_or_else(|| Error::usage("missing NAME (see --help)"))?;
    let interval = config::resolve_interval(a.interval, env)?;
    let dir = config::resolve_dir(a.dir, env)?;
    let path = crate::files::marker(&dir, &name);
    let verdict = marker::freshness(&path, interval, crate::proc::now_nanos())?;
    if a.verbose {
        let line = match &verdict {
            Freshness::Fresh { age_ns } => format!(
                "fresh: {} written {} ago (< {}s): defer",
                path.display(),
                secs(*age_ns),
                2 * interval
            ),
            Freshness::Stale { age_ns, why } => match age_ns {
                Some(age) => format!(
                    "not fresh: {why}: {} written {} ago: write the fallback",
                    path.display(),
                    secs(*age)
                ),
                None => format!("not fresh: {why}: {}: write the fallback", path.display()),
            },
        };
        // Not eprintln!: a failed write to stderr must not panic.
        cli::eprint_line(&format!("hb-defer-check: {line}"));
    }
    Ok(if verdict.is_fresh() { 0 } else { 1 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_have_one_decimal() {
        assert_eq!(secs(0), "0.0s");
        assert_eq!(secs(1_500_000_000), "1.5s");
        assert_eq!(secs(19_960_000_000), "20.0s");
        assert_eq!(secs(49_999_999), "0.0s");
        assert_eq!(secs(50_000_000), "0.1s");
        assert_eq!(secs(-40_000_000), "-0.0s");
        assert_eq!(secs(-1_260_000_000), "-1.3s");
        assert_eq!(secs(86_400_000_000_000), "86400.0s");
        // As the float formatting this replaced printed them.
        for ns in [
            0,
            7,
            123_456_789,
            999_999_999,
            3_141_592_653,
            -2_718_281_828,
        ] {
            assert_eq!(secs(ns), format!("{:.1}s", ns as f64 / 1e9), "{ns}");
        }
    }
}
