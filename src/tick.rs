//! Every writer's update of one agent's beat, under the writer lock
//! ([`crate::lock`]), in one place:
//!
//! - the fallback tick of contract v2, for the sidecar and `--fallback`: a
//!   fresh marker, nothing; a marker present but quiet and a beat whose
//!   process lives, that beat carried on with a new `ts`; else a plain `ok`
//!   beat, or `exited` for a pid known dead;
//! - a given beat (a plain one, a native one, a hook's), and the sidecar's
//!   last one, each with `since` by the writer rule;
//! - clearing the marker and removing an agent.
//!
//! The lock is held from before the old beat and the marker are read until
//! after the rename and the marker update, so no writer decides on a beat
//! that another is replacing.

use crate::beat::Beat;
use crate::error::{Error, Result};
use crate::listing::{self, read_beat, ReadBeat};
use crate::lock::{self, Lock, Refused, Wait};
use crate::pidns::{self, Located};
use crate::{atomic, files, marker, proc};
use std::path::{Path, PathBuf};

/// Writes `DIR/NAME.hb` atomically, creating DIR if needed.
pub fn write_beat(dir: &Path, name: &str, beat: &Beat) -> Result<()> {
    let file = files::beat_file(name);
    atomic::write_file(dir, file.as_ref(), beat.encode().as_bytes(), true)
}

/// Removes stale temporaries of `NAME.hb`.
pub fn sweep(dir: &Path, name: &str) -> usize {
    atomic::sweep(dir, files::beat_file(name).as_ref())
}

/// `since` by the writer rule: kept from the old beat while it names the
/// same pid with the same status, else now. A legacy old beat has none to
/// keep, so the status is dated from now.
pub fn since(old: Option<&Beat>, pid: u32, status: &str, now: i64) -> i64 {
    match old {
        Some(b) if b.pid == pid && b.status == status => b.since.unwrap_or(now),
        _ => now,
    }
}

/// What a fallback tick did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ticked {
    /// The marker is fresh: the native writer owns the beat.
    Deferred,
    /// The native writer is quiet but its process lives: its state was
    /// carried on.
    Carried,
    /// A plain `ok` beat.
    Plain,
    /// A plain beat saying `exited`: the pid is known dead.
    Exited,
    /// Another writer held the lock: nothing done, the next tick comes.
    Skipped,
}

/// Whose pid a plain tick writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Agent {
    /// This pid (`--pid`, or the sidecar's watched pid), with the start
    /// time it had when the writer learned of it, if known, so that a
    /// reused pid reads as dead.
    Pid { pid: u32, pstart: Option<u64> },
    /// `--fallback` without `--pid`: the old beat's, when it is valid and
    /// its pid can be checked here: from this host, or from a pid namespace
    /// visible here (a timer has no agent of its own to name).
    FromBeat,
}

/// The old beat as a writer needs it: `None` when missing or invalid (it is
/// replaced), an error when it cannot be read (it may be fine, and writing
/// now would replace what it holds with guesses).
fn old_beat(dir: &Path, name: &str) -> Result<Option<Beat>> {
    let path = files::beat(dir, name);
    match read_beat(&path) {
        ReadBeat::Valid(b) => Ok(Some(b)),
        ReadBeat::Missing | ReadBeat::Invalid(_) => Ok(None),
        ReadBeat::Unreadable(verb, why) => Err(Error::System(format!(
            "unable to {verb} beat {}: {why}",
            path.display()
        ))),
    }
}

fn no_pid() -> Error {
    Error::usage("no valid beat of this host to take the agent's pid from: pass --pid")
}

/// One fallback tick (the sidecar's, and `hb-write --fallback`'s), by
/// contract v2's rules; `host` is this host's nodename.
pub fn fallback(
    dir: &Path,
    name: &str,
    interval: u32,
    agent: Agent,
    host: Option<&str>,
    warn: &mut dyn FnMut(String),
) -> Result<Ticked> {
    // One view of the pid namespaces per tick: a beat from a sandbox on
    // this host is checked through its mapped pid (contract v4).
    let mut view = pidns::View::new();
    let mut local = |b: Beat| {
        let at = listing::locate(&b, host, &mut view);
        (at != Located::Unknown).then_some((b, at))
    };
    // Bad input touches nothing: without a pid and a beat to take it from,
    // refuse before the lock file is made.
    if agent == Agent::FromBeat && old_beat(dir, name)?.and_then(&mut local).is_none() {
        return Err(no_pid());
    }
    let _lock = match Lock::take(dir, name, Wait::Never, true) {
        Ok(l) => Some(l),
        // (NoDir cannot be: the directory is created.)
        Err(Refused::Busy | Refused::NoDir) => return Ok(Ticked::Skipped),
        Err(Refused::Unlockable(why)) => {
            warn(format!("{why}: ticking without the lock"));
            None
        }
        Err(Refused::Failed(e)) => return Err(e),
    };
    let now_ns = proc::now_nanos();
    let fresh = marker::freshness(&files::marker(dir, name), interval, now_ns)?;
    if fresh.is_fresh() {
        return Ok(Ticked::Deferred);
    }
    let now = now_ns.div_euclid(1_000_000_000) as i64;
    let old = old_beat(dir, name)?;
    let mine = old.clone().and_then(local);
    if fresh.is_present() {
        if let Some((b, _)) = mine
            .as_ref()
            .filter(|(b, at)| at.alive(b.pstart) == Some(true))
        {
            write_beat(
                dir,
                name,
                &Beat {
                    ts: now,
                    ..b.clone()
                },
            )?;
            return Ok(Ticked::Carried);
        }
    }
    let (pid, known, ns, at) = match (agent, &mine) {
        (Agent::Pid { pid, pstart }, _) => (pid, pstart, pidns::own(), None),
        (Agent::FromBeat, Some((b, at))) => (b.pid, b.pstart, b.pidns, Some(*at)),
        (Agent::FromBeat, None) => return Err(no_pid()),
    };
    let (alive, pstart) = match at {
        // A pid mapped from another namespace: its start time is the
        // beat's; one that cannot be told dead is alive.
        Some(at @ (Located::Gone | Located::Check { from: Some(_), .. })) => {
            (at.alive(known) != Some(false), None)
        }
        _ => proc::probe(pid, known),
    };
    let status = if alive { "ok" } else { "exited" };
    write_beat(
        dir,
        name,
        &Beat {
            ts: now,
            pid,
            status: status.into(),
            model: None,
            host: host.map(String::from),
            pstart: known.or(pstart),
            since: Some(since(old.as_ref(), pid, status, now)),
            pidns: ns,
        },
    )?;
    Ok(if alive { Ticked::Plain } else { Ticked::Exited })
}

/// What a given beat does to the marker after its rename.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Then {
    /// A plain beat: leave it.
    Keep,
    /// A native beat: refresh it.
    Touch,
    /// The agent ended: no native writer outlives it.
    Remove,
}

/// What a writer of a given beat decided, having seen the old beat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decided {
    pub pid: u32,
    pub status: String,
    pub model: Option<String>,
    /// The pid's start time, when the writer knows it already.
    pub pstart: Option<u64>,
    /// The pid namespace of `pid`, when not the writer's own (a pid kept
    /// from an old beat keeps its namespace); None: the writer's.
    pub pidns: Option<u64>,
}

/// Runs `f` under the lock, as a native writer takes it: waiting at most
/// [`lock::NATIVE_WAIT`], then going on without it and saying so through
/// `warn` (so a hook can keep to one line); so too when the lock cannot
/// serve here. Without the directory there is nothing to lock unless
/// `create_dir`.
pub fn locked<T>(
    dir: &Path,
    name: &str,
    create_dir: bool,
    warn: &mut dyn FnMut(String),
    f: impl FnOnce() -> Result<T>,
) -> Result<T> {
    let _lock = match Lock::take(dir, name, Wait::Upto(lock::NATIVE_WAIT), create_dir) {
        Ok(l) => Some(l),
        Err(Refused::Busy) => {
            warn(format!(
                "lock {} still held by another writer after {} ms: writing without it",
                files::lock(dir, name).display(),
                // As u64: formatting a u128 costs hb-write 1 KB.
                lock::NATIVE_WAIT.as_millis() as u64
            ));
            None
        }
        Err(Refused::NoDir) => None,
        Err(Refused::Unlockable(why)) => {
            warn(format!("{why}: writing without it"));
            None
        }
        Err(Refused::Failed(e)) => return Err(e),
    };
    f()
}

/// Writes a given beat: `decide` sees the old beat (`None`: missing or
/// invalid) and returns what to write, or `None` to write nothing. `since`
/// follows the writer rule; `then` says what becomes of the marker.
pub fn write_given(
    dir: &Path,
    name: &str,
    then: Then,
    warn: &mut dyn FnMut(String),
    decide: impl FnOnce(Option<&Beat>) -> Result<Option<Decided>>,
) -> Result<bool> {
    let marker_path = files::marker(dir, name);
    if then == Then::Touch {
        // Refuse up front what would make the marker's refresh fail, so
        // that a problem leaves the beat untouched too.
        marker::check_touchable(&marker_path)?;
    }
    locked(dir, name, true, warn, || {
        let old = old_beat(dir, name)?;
        let Some(d) = decide(old.as_ref())? else {
            return Ok(false);
        };
        let now = proc::now_secs();
        let since = since(old.as_ref(), d.pid, &d.status, now);
        let beat = Beat {
            ts: now,
            pid: d.pid,
            pstart: d.pstart.or_else(|| proc::pstart(d.pid)),
            status: d.status,
            model: d.model,
            host: proc::hostname(),
            since: Some(since),
            pidns: d.pidns.or_else(pidns::own),
        };
        write_beat(dir, name, &beat)?;
        match then {
            Then::Keep => {}
            Then::Touch => marker::touch(&marker_path)?,
            Then::Remove => marker::remove(&marker_path, "marker")?,
        }
        Ok(true)
    })
}

/// `--clear-native`: the marker goes, so the next tick writes a plain beat.
pub fn clear_native(dir: &Path, name: &str, warn: &mut dyn FnMut(String)) -> Result<()> {
    locked(dir, name, false, warn, || {
        marker::remove(&files::marker(dir, name), "marker")
    })
}

/// `--remove`: the beat, the marker, their temporaries, the `records`
/// runtimes keep beside them (Codex's session) and the lock file.
pub fn remove(
    dir: &Path,
    name: &str,
    records: &[PathBuf],
    warn: &mut dyn FnMut(String),
) -> Result<()> {
    locked(dir, name, false, warn, || {
        marker::remove(&files::beat(dir, name), "beat")?;
        marker::remove(&files::marker(dir, name), "marker")?;
        for record in records {
            marker::remove(record, "runtime record")?;
        }
        sweep(dir, name);
        lock::remove(dir, name)
    })
}
