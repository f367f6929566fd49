//! `hb-read`: the fleet listing as a table, JSON or Prometheus metrics,
//! optionally written atomically to a file, and `--check` as a probe.

use crate::cli::{self, Parsed};
use crate::config::{self, Env};
use crate::error::{Error, Result};
use crate::listing::{self, Query};
use crate::{atomic, format, proc};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

pub const HELP: &str = "\
hb-read: list agents' heartbeats with their model, age and health

Usage:
  hb-read [--json | --format table|json|prometheus] [--stale-after SECS]
          [--check] [--output FILE] [--color WHEN] [--dir DIR]
          [--interval SECS] [NAME...]

With no NAME, every DIR/*.hb, sorted by name; with NAMEs, just those (one
that has no beat is listed as missing).

Options:
  --json              same as --format json
  --format F          table (default), json, or prometheus (text format for
                      node_exporter's textfile collector)
  --stale-after SECS  a beat older than this is stale; default 3 x interval
  --check             exit 1 unless every listed agent is healthy
  --output FILE       write the output to FILE atomically instead of stdout
  --color WHEN        colour the table: auto (default: only when stdout is a
                      terminal, NO_COLOR is unset or empty and TERM is not
                      dumb), always, or never
  --dir DIR           heartbeat directory; default $MOSAIC_HEARTBEAT_DIR, else
                      $XDG_STATE_HOME/mosaic/fleet/hb, else
                      $HOME/.local/state/mosaic/fleet/hb
  --interval SECS     1 to 86400; default $MOSAIC_HEARTBEAT_INTERVAL, else 10
  -h, --help          this help
  -V, --version       the version

Table columns: NAME PID STATUS FOR MODEL AGE HEALTH SRC. FOR is how long
the status has held, AGE how old the beat is. HEALTH is healthy, stale (age
out of range), dead (pid gone or reused), exited, invalid (the reason
follows the row) or missing. SRC is native when the agent's own runtime is
writing, carried when it is quiet between events and the sidecar keeps its
last state alive, else sidecar.

Exit status: 0 done (with --check: all healthy); 1 with --check: an agent
is not healthy; 2 bad usage or input; 3 system error.

Examples:
  hb-read
  hb-read --check w-jarvis || echo \"w-jarvis needs attention\"
  hb-read --format prometheus --output /var/lib/node_exporter/mosaic.prom
";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
    Prometheus,
}

/// `--color`: when the table is coloured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Color {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Default)]
pub struct Args {
    pub format: Option<Format>,
    pub color: Option<Color>,
    pub stale_after: Option<OsString>,
    pub check: bool,
    pub output: Option<PathBuf>,
    pub dir: Option<OsString>,
    pub interval: Option<OsString>,
    pub names: Vec<String>,
}

pub fn parse_args<I>(args: I) -> Result<Parsed<Args>>
where
    I: IntoIterator,
    I::Item: Into<OsString>,
{
    use lexopt::prelude::*;
    let mut p = lexopt::Parser::from_args(args);
    let mut a = Args::default();
    let set_format = |a: &mut Args, f: Format| match a.format {
        Some(old) if old != f => Err(Error::usage("conflicting output formats")),
        _ => {
            a.format = Some(f);
            Ok(())
        }
    };
    while let Some(arg) = p.next()? {
        match arg {
            Short('h') | Long("help") => return Ok(Parsed::Help),
            Short('V') | Long("version") => return Ok(Parsed::Version),
            Long("json") => set_format(&mut a, Format::Json)?,
            Long("format") => {
                let f = match cli::string(&mut p, "--format")?.as_str() {
                    "table" => Format::Table,
                    "json" => Format::Json,
                    "prometheus" => Format::Prometheus,
                    other => {
                        return Err(Error::usage(format!(
                            "--format: {} is not table, json or prometheus",
                            crate::error::quote(other)
                        )))
                    }
                };
                set_format(&mut a, f)?;
            }
            Long("color") => {
                a.color = Some(match cli::string(&mut p, "--color")?.as_str() {
                    "auto" => Color::Auto,
                    "always" => Color::Always,
                    "never" => Color::Never,
                    other => {
                        return Err(Error::usage(format!(
                            "--color: {} is not auto, always or never",
                            crate::error::quote(other)
                        )))
                    }
                })
            }
            Long("stale-after") => a.stale_after = Some(cli::value(&mut p, "--stale-after")?),
            Long("check") => a.check = true,
            Long("output") => a.output = Some(cli::value(&mut p, "--output")?.into()),
            Long("dir") => a.dir = Some(cli::value(&mut p, "--dir")?),
            Long("interval") => a.interval = Some(cli::value(&mut p, "--interval")?),
            Value(v) => a.names.push(cli::name(v)?),
            _ => return Err(cli::unexpected(arg)),
        }
    }
    Ok(Parsed::Run(a))
}

/// Splits `--output FILE` into its directory and file name.
fn output_target(path: &Path) -> Result<(PathBuf, OsString)> {
    let name = path
        .file_name()
        .ok_or_else(|| Error::usage(format!("--output: '{}' names no file", path.display())))?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    Ok((dir, name.to_os_string()))
}

/// `--color auto`: only for a person at a terminal. Never into a file or
/// a pipe, and not when the user opted out (`NO_COLOR`, no-color.org) or
/// the terminal cannot show it (`TERM=dumb`).
fn auto_color(env: Env, to_file: bool) -> bool {
    // SAFETY: isatty only inspects the descriptor.
    let tty = unsafe { libc::isatty(1) } == 1;
    tty && !to_file && env("NO_COLOR").is_none() && !matches!(env("TERM"), Some(t) if t == "dumb")
}

pub fn main<I>(args: I, env: Env) -> Result<u8>
where
    I: IntoIterator,
    I::Item: Into<OsString>,
{
    let a = match parse_args(args)? {
        Parsed::Run(a) => a,
        other => return cli::print_help_or_version("hb-read", HELP, &other),
    };
    let interval = config::resolve_interval(a.interval, env)?;
    let stale_after = match &a.stale_after {
        Some(v) => config::parse_seconds(v, 1, i32::MAX as u32)
            .map_err(|why| Error::usage(format!("--stale-after: {why}")))?,
        None => 3 * interval,
    };
    let output = a.output.as_deref().map(output_target).transpose()?;
    let dir = config::resolve_dir(a.dir, env)?;

    let listing = listing::list(&Query {
        dir: &dir,
        names: &a.names,
        interval,
        stale_after,
        now: proc::now_secs(),
    })?;
    let text = match a.format.unwrap_or(Format::Table) {
        Format::Table => format::table(
            &listing,
            match a.color.unwrap_or(Color::Auto) {
                Color::Always => true,
                Color::Never => false,
                Color::Auto => auto_color(env, output.is_some()),
            },
        ),
        Format::Json => format::json(&listing),
        Format::Prometheus => format::prometheus(&listing),
    };
    match output {
        Some((out_dir, file)) => {
            atomic::write_file(&out_dir, &file, text.as_bytes(), false)?;
            if atomic::should_sweep() {
                atomic::sweep(&out_dir, &file);
            }
        }
        None => cli::print(text.as_bytes())?,
    }
    Ok(if a.check && !listing.all_healthy() {
        1
    } else {
        0
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_parse_and_conflict() {
        let f = |args: &[&str]| match parse_args(args.iter().copied()) {
            Ok(Parsed::Run(a)) => Ok(a.format),
            Ok(_) => Ok(None),
            Err(e) => Err(e.exit_code()),
        };
        assert_eq!(f(&["--json"]), Ok(Some(Format::Json)));
        assert_eq!(f(&["--format", "prometheus"]), Ok(Some(Format::Prometheus)));
        assert_eq!(f(&["--json", "--format", "json"]), Ok(Some(Format::Json)));
        assert_eq!(f(&["--json", "--format", "table"]), Err(2));
        assert_eq!(f(&["--format", "yaml"]), Err(2));
        assert_eq!(f(&["bad.name"]), Err(2));
    }

    #[test]
    fn output_paths_split_into_dir_and_name() {
        let (d, n) = output_target(Path::new("m.prom")).unwrap();
        assert_eq!((d.as_path(), n.to_str()), (Path::new("."), Some("m.prom")));
        let (d, _) = output_target(Path::new("/var/lib/x/m.prom")).unwrap();
        assert_eq!(d, Path::new("/var/lib/x"));
        assert!(output_target(Path::new("/")).is_err());
        assert!(output_target(Path::new("x/..")).is_err());
    }
}
