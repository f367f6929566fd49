//! `hb-write`: argument parsing and dispatch. What each mode does to a beat
//! is in [`crate::tick`], the long-lived loop in [`crate::sidecar`], runtime
//! hooks in [`crate::hooks`].

use crate::atomic;
use crate::beat;
use crate::cli::{self, Parsed};
use crate::config::{self, Env};
use crate::error::{quote, Error, Result};
use crate::hooks;
use crate::proc;
use crate::tick::{self, Agent, Decided, Then};
use std::ffi::OsString;
use std::path::PathBuf;

pub const HELP: &str = "\
hb-write: write an agent's heartbeat atomically

Usage:
  hb-write [--status S] [--model M] [--pid P] NAME   one beat
  hb-write --native [--status S] [--model M] NAME     a native beat, then the marker
  hb-write --fallback [--pid P] NAME                  one sidecar tick (see below)
  hb-write --sidecar [--while-pid P] [--pid P] NAME   the sidecar loop
  hb-write --clear-native NAME                        remove the marker only
  hb-write --remove NAME                              remove the agent's beat, marker and lock
  hb-write --hook claude|codex|gemini|qwen|copilot|hermes|aider|vibe|cline [--event E] [PAYLOAD]
                                                      a native beat from a runtime hook
  hb-write --titles vibe --pid P NAME                 native beats from the runtime's
                                                      terminal output on stdin

Options:
  --status S       status word, [a-z][a-z0-9_-]{0,31}; default ok
  --model M        the agent's model, 1 to 128 bytes, no control characters
  --pid P          the agent's pid; default: the watched pid (sidecar), the
                   existing beat's pid (--fallback), else this program's parent
  --while-pid P    sidecar: watch P, write status=exited when it ends, and stop
  --dir DIR        heartbeat directory; default $MOSAIC_HEARTBEAT_DIR, else
                   $XDG_STATE_HOME/mosaic/fleet/hb, else
                   $HOME/.local/state/mosaic/fleet/hb
  --interval SECS  seconds between beats, 1 to 86400; default
                   $MOSAIC_HEARTBEAT_INTERVAL, else 10
  --event E        hook mode: the event the hook was installed for, when the
                   runtime's payload does not name it (Copilot CLI)
  --dry-run        check everything, write nothing
  -h, --help       this help
  -V, --version    the version

NAME is 1 to 64 bytes of A-Z a-z 0-9 _ -, starting with a letter or digit.
The beat is DIR/NAME.hb; the native marker DIR/NAME.hb.native; every writer
holds the lock DIR/.NAME.lock while it reads, decides and writes.

A tick (--fallback, and each of the sidecar's) writes nothing while the
marker is fresh; while it is present but quiet and the beat's pid lives, it
carries the native state on (status, model, since) with a new ts; else it
writes a plain ok beat (exited when the pid is dead). A tick that finds the
lock held skips; a native writer waits 200 ms for it, then writes anyway.

Exit status: 0 done; 2 bad usage or input (nothing touched);
3 system error (the previous beat is left intact).
The sidecar exits 0 on SIGTERM/SIGINT and after the watched pid ends.
Hook mode always exits 0 and never writes to stdout.

Examples:
  hb-write --native --status busy --model glm-5.2 w-jarvis
  hb-defer-check w-jarvis || hb-write --pid \"$agent_pid\" w-jarvis
";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Beat,
    Native,
    Fallback,
    Sidecar,
    ClearNative,
    Remove,
    Titles,
}

/// hb-write's arguments, as given (before the environment is consulted).
#[derive(Debug, Default)]
pub struct Args {
    pub mode: Option<Mode>,
    pub name: Option<String>,
    pub status: Option<String>,
    pub model: Option<String>,
    pub pid: Option<String>,
    pub while_pid: Option<String>,
    pub dir: Option<OsString>,
    pub interval: Option<OsString>,
    pub dry_run: bool,
    pub hook: Option<String>,
    /// Hook mode: the runtime's payload given as an argument (Codex notify).
    pub payload: Option<OsString>,
    /// Hook mode: the event the hook was installed for.
    pub event: Option<String>,
    /// `--titles RUNTIME`: whose terminal stdin carries.
    pub titles: Option<String>,
}

pub fn parse_args<I>(args: I) -> Result<Parsed<Args>>
where
    I: IntoIterator,
    I::Item: Into<OsString>,
{
    use lexopt::prelude::*;
    let mut p = lexopt::Parser::from_args(args);
    let mut a = Args::default();
    let set_mode = |a: &mut Args, m: Mode, flag: &str| match a.mode {
        Some(old) if old != m => Err(Error::usage(format!(
            "{flag} cannot be combined with {}",
            mode_flag(old)
        ))),
        _ => {
            a.mode = Some(m);
            Ok(())
        }
    };
    while let Some(arg) = p.next()? {
        match arg {
            Short('h') | Long("help") => return Ok(Parsed::Help),
            Short('V') | Long("version") => return Ok(Parsed::Version),
            Long("native") => set_mode(&mut a, Mode::Native, "--native")?,
            Long("fallback") => set_mode(&mut a, Mode::Fallback, "--fallback")?,
            Long("sidecar") => set_mode(&mut a, Mode::Sidecar, "--sidecar")?,
            Long("clear-native") => set_mode(&mut a, Mode::ClearNative, "--clear-native")?,
            Long("remove") => set_mode(&mut a, Mode::Remove, "--remove")?,
            Long("titles") => {
                set_mode(&mut a, Mode::Titles, "--titles")?;
                a.titles = Some(cli::string(&mut p, "--titles")?);
            }
            Long("hook") => a.hook = Some(cli::string(&mut p, "--hook")?),
            Long("event") => a.event = Some(cli::string(&mut p, "--event")?),
            Long("status") => a.status = Some(cli::string(&mut p, "--status")?),
            Long("model") => a.model = Some(cli::string(&mut p, "--model")?),
            Long("pid") => a.pid = Some(cli::string(&mut p, "--pid")?),
            Long("while-pid") => a.while_pid = Some(cli::string(&mut p, "--while-pid")?),
            Long("dir") => a.dir = Some(cli::value(&mut p, "--dir")?),
            Long("interval") => a.interval = Some(cli::value(&mut p, "--interval")?),
            Long("dry-run") => a.dry_run = true,
            Value(v) if a.hook.is_some() && a.payload.is_none() => a.payload = Some(v),
            Value(v) if a.name.is_none() && a.hook.is_none() => a.name = Some(cli::name(v)?),
            _ => return Err(cli::unexpected(arg)),
        }
    }
    Ok(Parsed::Run(a))
}

fn mode_flag(m: Mode) -> &'static str {
    match m {
        Mode::Beat => "a beat",
        Mode::Native => "--native",
        Mode::Fallback => "--fallback",
        Mode::Sidecar => "--sidecar",
        Mode::ClearNative => "--clear-native",
        Mode::Remove => "--remove",
        Mode::Titles => "--titles",
    }
}

/// A validated request: everything checked, nothing touched yet.
#[derive(Debug)]
pub struct Request {
    pub mode: Mode,
    pub name: String,
    pub dir: PathBuf,
    pub interval: u32,
    pub status: String,
    pub model: Option<String>,
    /// `--pid`, else the watched pid; `None`: the mode's default (the
    /// parent for a beat, the old beat's pid for `--fallback`).
    pub pid: Option<u32>,
    pub while_pid: Option<u32>,
    pub dry_run: bool,
    /// `--titles`: the runtime whose terminal is read.
    pub titles: Option<&'static str>,
}

fn check_pid(v: &str, flag: &str) -> Result<u32> {
    beat::parse_pid(v).map_err(|why| Error::usage(format!("{flag}: {}: {why}", quote(v))))
}

/// Checks every value against the contract before anything is touched.
pub fn validate(a: Args, env: Env) -> Result<Request> {
    let mode = a.mode.unwrap_or(Mode::Beat);
    let name = a
        .name
        .ok_or_else(|| Error::usage("missing NAME (see --help)"))?;
    let only_for = |given: bool, flag: &str, modes: &[Mode]| {
        if given && !modes.contains(&mode) {
            Err(Error::usage(format!(
                "{flag} cannot be combined with {}",
                mode_flag(mode)
            )))
        } else {
            Ok(())
        }
    };
    let writes_status = [Mode::Beat, Mode::Native];
    only_for(a.status.is_some(), "--status", &writes_status)?;
    only_for(a.model.is_some(), "--model", &writes_status)?;
    only_for(
        a.pid.is_some(),
        "--pid",
        &[
            Mode::Beat,
            Mode::Native,
            Mode::Fallback,
            Mode::Sidecar,
            Mode::Titles,
        ],
    )?;
    only_for(a.while_pid.is_some(), "--while-pid", &[Mode::Sidecar])?;
    only_for(a.event.is_some(), "--event", &[])?;

    let status = a.status.unwrap_or_else(|| "ok".into());
    beat::check_status(&status)
        .map_err(|why| Error::usage(format!("--status {}: {why}", quote(&status))))?;
    if let Some(m) = &a.model {
        beat::check_model(m).map_err(|why| Error::usage(format!("--model {}: {why}", quote(m))))?;
    }
    let while_pid = a
        .while_pid
        .as_deref()
        .map(|v| check_pid(v, "--while-pid"))
        .transpose()?;
    let pid = match &a.pid {
        Some(v) => Some(check_pid(v, "--pid")?),
        None => while_pid,
    };
    let titles = match a.titles.as_deref() {
        None => None,
        Some(rt) => match hooks::runtime(rt).filter(|r| r.title.is_some()) {
            Some(r) if pid.is_some() => Some(r.name),
            Some(_) => return Err(Error::usage("--titles needs --pid (the pane's process)")),
            None => {
                let known: Vec<&str> = hooks::RUNTIMES
                    .iter()
                    .filter(|r| r.title.is_some())
                    .map(|r| r.name)
                    .collect();
                return Err(Error::usage(format!(
                    "--titles {}: no runtime whose terminal hb reads by that name: {}",
                    quote(rt),
                    known.join(", ")
                )));
            }
        },
    };
    let interval = config::resolve_interval(a.interval, env)?;
    let dir = config::resolve_dir(a.dir, env)?;
    Ok(Request {
        mode,
        name,
        dir,
        interval,
        status,
        model: a.model,
        pid,
        while_pid,
        dry_run: a.dry_run,
        titles,
    })
}

/// Carries out a one-shot request; the sidecar mode runs its loop.
pub fn execute(r: Request) -> Result<()> {
    if r.dry_run {
        return Ok(());
    }
    let (dir, name) = (r.dir.as_path(), r.name.as_str());
    let warn = &mut |w: String| cli::eprint_line(&format!("hb-write: warning: {w}"));
    // One write in 16 sweeps stale temporaries, after its beat is out: the
    // beat comes first.
    let sweep_now = || {
        if atomic::should_sweep() {
            tick::sweep(dir, name);
        }
    };
    match r.mode {
        Mode::Beat | Mode::Native => {
            let then = match r.mode {
                Mode::Native => Then::Touch,
                _ => Then::Keep,
            };
            let pid = r.pid.unwrap_or_else(proc::parent_pid);
            tick::write_given(dir, name, then, warn, |_| {
                Ok(Some(Decided {
                    pid,
                    status: r.status,
                    model: r.model,
                    pstart: None,
                    pidns: None,
                }))
            })?;
            sweep_now();
            Ok(())
        }
        Mode::Fallback => {
            let agent = match r.pid {
                Some(pid) => Agent::Pid { pid, pstart: None },
                None => Agent::FromBeat,
            };
            let host = proc::hostname();
            tick::fallback(dir, name, r.interval, agent, host.as_deref(), warn)?;
            sweep_now();
            Ok(())
        }
        Mode::ClearNative => tick::clear_native(dir, name, warn),
        Mode::Remove => tick::remove(dir, name, &crate::files::records(dir, name), warn),
        Mode::Sidecar => crate::sidecar::run(&crate::sidecar::Sidecar {
            dir: r.dir.clone(),
            name: r.name.clone(),
            interval: r.interval,
            pid: r.pid.unwrap_or_else(proc::parent_pid),
            while_pid: r.while_pid,
        }),
        Mode::Titles => match (r.titles.and_then(hooks::runtime), r.pid) {
            (Some(rt), Some(pid)) => crate::title::run(rt, dir, name, pid, &stdin(), warn),
            _ => Err(crate::error::Error::usage(
                "--titles needs a runtime and --pid",
            )),
        },
    }
}

/// Standard input as a file: each read takes what the pipe holds, so a
/// title is read as soon as it is printed (std's `stdin()` costs the
/// binary its buffering and locking).
fn stdin() -> std::mem::ManuallyDrop<std::fs::File> {
    use std::os::fd::FromRawFd;
    // SAFETY: fd 0 is never closed here (ManuallyDrop), as std's own stdin
    // does; a closed fd 0 reads as EBADF.
    std::mem::ManuallyDrop::new(unsafe { std::fs::File::from_raw_fd(0) })
}

/// hb-write's whole life: parse, validate, act.
pub fn main<I>(args: I, env: Env) -> Result<u8>
where
    I: IntoIterator,
    I::Item: Into<OsString>,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    if let Some(runtime) = hooks::requested(&args) {
        // Hook mode exits 0 whatever happens, a parse error included.
        hooks::main(parse_args(args).and_then(hook_args), &runtime, env);
        return Ok(0);
    }
    match parse_args(args)? {
        Parsed::Run(a) => {
            execute(validate(a, env)?)?;
            Ok(0)
        }
        other => cli::print_help_or_version("hb-write", HELP, &other),
    }
}

/// The arguments of hook mode, which takes only a few of hb-write's flags.
fn hook_args(p: Parsed<Args>) -> Result<hooks::Args> {
    let Parsed::Run(a) = p else {
        return Err(Error::usage("--help and --version are not for hook mode"));
    };
    if a.mode.is_some()
        || a.name.is_some()
        || a.status.is_some()
        || a.pid.is_some()
        || a.while_pid.is_some()
    {
        return Err(Error::usage(
            "--hook takes only --dir, --interval, --model, --event, --dry-run and a payload",
        ));
    }
    Ok(hooks::Args {
        runtime: a.hook.unwrap_or_default(),
        model: a.model,
        dir: a.dir,
        interval: a.interval,
        dry_run: a.dry_run,
        payload: a.payload,
        event: a.event,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<OsString> {
        None
    }

    fn req(args: &[&str]) -> Result<Request> {
        match parse_args(args.iter().copied())? {
            Parsed::Run(a) => validate(a, &no_env),
            _ => panic!("not a run"),
        }
    }

    #[test]
    fn a_plain_beat_defaults_to_ok_and_the_parent_pid() {
        let r = req(&["--dir", "/d", "w-1"]).unwrap();
        assert_eq!(
            (r.mode, r.status.as_str(), r.interval),
            (Mode::Beat, "ok", 10)
        );
        assert_eq!(r.pid, None);
    }

    #[test]
    fn sidecar_pid_defaults_to_the_watched_pid() {
        let r = req(&["--dir", "/d", "--sidecar", "--while-pid", "77", "w"]).unwrap();
        assert_eq!((r.pid, r.while_pid), (Some(77), Some(77)));
        let r = req(&[
            "--dir",
            "/d",
            "--sidecar",
            "--while-pid",
            "77",
            "--pid",
            "5",
            "w",
        ])
        .unwrap();
        assert_eq!((r.pid, r.while_pid), (Some(5), Some(77)));
    }

    #[test]
    fn bad_values_are_usage_errors() {
        for args in [
            &["--dir", "/d"][..],
            &["--dir", "/d", "../x"],
            &["--dir", "/d", "--status", "Busy", "w"],
            &["--dir", "/d", "--model", "", "w"],
            &["--dir", "/d", "--model", "a\nb", "w"],
            &["--dir", "/d", "--pid", "0", "w"],
            &["--dir", "/d", "--pid", "2147483648", "w"],
            &["--dir", "/d", "--interval", "0", "w"],
            &["--dir", "/d", "--native", "--remove", "w"],
            &["--dir", "/d", "--fallback", "--status", "busy", "w"],
            &["--dir", "/d", "--while-pid", "3", "w"],
            &["--dir", "/d", "--event", "preToolUse", "w"],
            &["--dir", "/d", "--bogus", "w"],
            &["--dir", "/d", "a", "b"],
            &["--dir", "/d", "--status"],
            &["w"], // no directory resolvable
        ] {
            let e = req(args).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{args:?}: {e}");
        }
    }

    #[test]
    fn hook_mode_takes_the_event_its_hook_was_installed_for() {
        let Ok(Parsed::Run(a)) = parse_args(["--hook", "copilot", "--event", "preToolUse"]) else {
            panic!("not a run");
        };
        let h = hook_args(Parsed::Run(a)).unwrap();
        assert_eq!(
            (h.runtime.as_str(), h.event.as_deref(), h.payload),
            ("copilot", Some("preToolUse"), None)
        );
    }

    #[test]
    fn help_and_version_win() {
        assert!(parse_args(["--bogus-later", "-h"]).is_err());
        assert!(matches!(parse_args(["-h"]), Ok(Parsed::Help)));
        assert!(matches!(
            parse_args(["w", "--version"]),
            Ok(Parsed::Version)
        ));
    }
}
