//! `hb-read`: the fleet listing as a table, JSON, Prometheus metrics or a
//! tmux status line, optionally written atomically to a file, `--check` as
//! a probe; and live: `--follow` as a stream of changes (with `--exec`, a
//! notifier), `--watch` as a view in the terminal. This module parses and
//! dispatches; the live modes are [`follow`] and [`watch`].

use crate::cli::{self, Parsed};
use crate::config::{self, Env};
use crate::error::{Error, Result};
use crate::fleet::Settings;
use crate::listing::{self, Query};
use crate::notify::{self, Notifier};
use crate::{atomic, follow, format, proc, watch};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

pub const HELP: &str = "\
hb-read: list, follow and watch agents' heartbeats: model, age and health

Usage:
  hb-read [--json | --format table|json|prometheus|tmux] [--stale-after SECS]
          [--check] [--output FILE] [--color WHEN] [--dir DIR]
          [--interval SECS] [NAME...]
  hb-read --follow [--json] [--stale-after SECS] [--dir DIR]
          [--interval SECS] [NAME...] [--exec PROG [ARG...]]
  hb-read --watch [--color WHEN] [--stale-after SECS] [--dir DIR]
          [--interval SECS] [NAME...]

With no NAME, every DIR/*.hb, sorted by name; with NAMEs, just those (one
that has no beat is listed as missing).

Options:
  --json              same as --format json
  --format F          table (default), json, prometheus (text format for
                      node_exporter's textfile collector), or tmux (one line
                      for tmux's status-right, empty with no agents)
  --stale-after SECS  a beat older than this is stale; default 3 x interval
  --check             exit 1 unless every listed agent is healthy
  --output FILE       write the output to FILE atomically instead of stdout
  --color WHEN        colour the table: auto (default: only when stdout is a
                      terminal, NO_COLOR is unset or empty and TERM is not
                      dumb), always, or never
  --follow            print each agent's state, then one line per change as
                      it happens, until killed (see Following)
  --exec PROG [ARG...]
                      with --follow: run PROG on each change, with no shell,
                      the change in HB_* variables and its line on stdin;
                      every argument after --exec is PROG's
  --watch             the table live in this terminal, redrawn on each
                      change and each second; q or Ctrl-C leaves
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
last state alive, settled when the sidecar ended its turn from the runtime's
own record (an interrupt no hook announced), else sidecar.

Following: a line per agent at start (event appeared), then one each time
an agent appears, is removed, or changes its status, health, model or pid
(a stale beat or a dead pid within about a second), with the fields
  TIME NAME EVENT STATUS HEALTH WAS FOR PID MODEL
TIME is local ISO 8601; EVENT appeared, changed or removed; WAS the
STATUS/HEALTH before; MODEL comes last (it may hold spaces); a dash is
unknown. With --json, each line is a rows[] object of --json with event,
time and was. A notifier gets HB_EVENT HB_TIME HB_NAME HB_STATUS HB_HEALTH
HB_MODEL HB_PID HB_FOR HB_SINCE HB_SRC HB_HOST HB_ERROR HB_WAS_STATUS
HB_WAS_HEALTH HB_WAS_MODEL HB_WAS_PID HB_DIR (empty when unknown); at most
4 run at once, 64 changes wait, each is ended after 30 s. A closed pipe,
SIGTERM or SIGINT end it with exit 0.

Exit status: 0 done (with --check: all healthy); 1 with --check: an agent
is not healthy; 2 bad usage or input; 3 system error.

Examples:
  hb-read
  hb-read --check w-jarvis || echo \"w-jarvis needs attention\"
  hb-read --format prometheus --output /var/lib/node_exporter/mosaic.prom
  hb-read --follow --json | jq -c 'select(.heartbeat.status == \"waiting\")'
  hb-read --watch
";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
    Prometheus,
    Tmux,
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
    pub follow: bool,
    pub watch: bool,
    /// `--exec PROG [ARG...]`: the program and its arguments.
    pub exec: Option<Vec<OsString>>,
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
                    "tmux" => Format::Tmux,
                    other => {
                        return Err(Error::usage(format!(
                            "--format: {} is not table, json, prometheus or tmux",
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
            Long("follow") => a.follow = true,
            Long("watch") => a.watch = true,
            Long("exec") => {
                // PROG and every argument after it are the notifier's,
                // as with find -exec: none is read as hb-read's.
                let mut argv: Vec<OsString> = p.optional_value().into_iter().collect();
                argv.extend(p.raw_args()?);
                if argv.is_empty() {
                    return Err(Error::usage("--exec: missing PROG"));
                }
                a.exec = Some(argv);
            }
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

/// The flags that go with `--follow`, `--watch` and `--exec`, and those
/// that do not: any other mix is a usage error, never silently ignored.
fn check_modes(a: &Args) -> Result<()> {
    let no = |what: &str| Err(Error::usage(what.to_string()));
    if a.follow && a.watch {
        return no("--follow and --watch do not go together");
    }
    if a.exec.is_some() && !a.follow {
        return no("--exec goes with --follow");
    }
    let live = if a.follow { "--follow" } else { "--watch" };
    if a.follow || a.watch {
        if a.check {
            return no(&format!("--check does not go with {live}"));
        }
        if a.output.is_some() {
            return no(&format!("--output does not go with {live}"));
        }
    }
    match (a.follow, a.watch, a.format) {
        (true, _, Some(Format::Prometheus | Format::Tmux)) => {
            no("--follow prints lines, or JSON lines with --json: no other --format")
        }
        (_, true, Some(_)) => no("--watch shows the table: no --json or --format"),
        _ => Ok(()),
    }
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
    check_modes(&a)?;
    let interval = config::resolve_interval(a.interval, env)?;
    let stale_after = match &a.stale_after {
        Some(v) => config::parse_seconds(v, 1, i32::MAX as u32)
            .map_err(|why| Error::usage(format!("--stale-after: {why}")))?,
        None => 3 * interval,
    };
    let output = a.output.as_deref().map(output_target).transpose()?;
    let dir = config::resolve_dir(a.dir, env)?;
    let color = match a.color.unwrap_or(Color::Auto) {
        Color::Always => Some(true),
        Color::Never => Some(false),
        Color::Auto => None,
    };
    let live = || Settings {
        dir: dir.clone(),
        names: a.names.clone(),
        interval,
        stale_after,
    };
    if a.watch {
        return watch::run(live(), color, env);
    }
    if a.follow {
        let notifier = match a.exec.as_deref().map(<[OsString]>::split_first) {
            Some(Some((prog, args))) => Some(Notifier::new(
                notify::resolve(prog, env("PATH").as_deref())?,
                args.to_vec(),
                dir.clone(),
            )),
            Some(None) => return Err(Error::usage("--exec: missing PROG")),
            None => None,
        };
        return follow::run(live(), a.format == Some(Format::Json), notifier);
    }

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
            color.unwrap_or_else(|| auto_color(env, output.is_some())),
        ),
        Format::Json => format::json(&listing),
        Format::Prometheus => format::prometheus(&listing),
        Format::Tmux => format::tmux(&listing),
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
    fn every_argument_after_exec_is_the_notifiers() {
        let exec = |args: &[&str]| match parse_args(args.iter().copied()) {
            Ok(Parsed::Run(a)) => Ok((a.exec, a.names, a.format)),
            Ok(_) => Err(0),
            Err(e) => Err(e.exit_code()),
        };
        let os = |v: &[&str]| v.iter().map(OsString::from).collect::<Vec<_>>();
        assert_eq!(
            exec(&["--follow", "w-1", "--exec", "notify", "--json", "w-2", "--"]),
            Ok((
                Some(os(&["notify", "--json", "w-2", "--"])),
                vec!["w-1".into()],
                None
            ))
        );
        assert_eq!(
            exec(&["--follow", "--exec=curl", "-d", "@-"]),
            Ok((Some(os(&["curl", "-d", "@-"])), vec![], None))
        );
        assert_eq!(exec(&["--follow", "--exec"]), Err(2));
        assert_eq!(
            exec(&["--format", "tmux"]).map(|a| a.2),
            Ok(Some(Format::Tmux))
        );
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
