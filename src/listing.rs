//! The fleet as a reader sees it: reading beat files without ever blocking
//! or following a link, and judging each agent's health by the contract.

use crate::beat::{self, Beat};
use crate::error::{Error, Result};
use crate::{marker, proc, sys};
use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    Healthy,
    Stale,
    Dead,
    Exited,
    Invalid,
    Missing,
}

impl Health {
    pub const ALL: [Health; 6] = [
        Health::Healthy,
        Health::Stale,
        Health::Dead,
        Health::Exited,
        Health::Invalid,
        Health::Missing,
    ];

    pub fn word(self) -> &'static str {
        match self {
            Health::Healthy => "healthy",
            Health::Stale => "stale",
            Health::Dead => "dead",
            Health::Exited => "exited",
            Health::Invalid => "invalid",
            Health::Missing => "missing",
        }
    }
}

/// Where an agent's beat comes from, by its marker (v2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Src {
    /// The marker is fresh: the native writer is writing.
    Native,
    /// The marker is present but quiet: the sidecar carries the native
    /// writer's last state while its process lives.
    Carried,
    /// No marker: the sidecar's own beats.
    Sidecar,
    /// The marker is present, and the state was settled from the
    /// runtime's own record since the native writer last wrote (v4,
    /// "The end of a turn"; [`crate::turn`]).
    Settled,
}

impl Src {
    pub fn word(self) -> &'static str {
        match self {
            Src::Native => "native",
            Src::Carried => "carried",
            Src::Sidecar => "sidecar",
            Src::Settled => "settled",
        }
    }
}

/// A valid beat and what the reader concluded from it.
#[derive(Debug, Clone, PartialEq)]
pub struct Judged {
    pub beat: Beat,
    pub age: i64,
    /// `now - since`: how long the status has held; None without `since`.
    pub status_age: Option<i64>,
    /// None: the beat is from another host, its pid cannot be checked.
    pub alive: Option<bool>,
    pub healthy: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The NAME; for a file whose stem is not a valid NAME, its stem as
    /// lossy UTF-8 (formats escape it).
    pub name: String,
    pub health: Health,
    pub native: bool,
    pub src: Src,
    pub error: Option<String>,
    pub heartbeat: Option<Judged>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Listing {
    pub dir: PathBuf,
    pub now: i64,
    pub interval: u32,
    pub stale_after: u32,
    pub rows: Vec<Row>,
}

impl Listing {
    pub fn all_healthy(&self) -> bool {
        self.rows.iter().all(|r| r.health == Health::Healthy)
    }
}

/// What reading one `NAME.hb` gave.
#[derive(Debug, Clone, PartialEq)]
pub enum ReadBeat {
    Missing,
    /// Stat, open or read failed (`verb`, OS error): the beat may be fine,
    /// this reader just cannot see it.
    Unreadable(&'static str, String),
    Invalid(String),
    Valid(Beat),
}

fn kind_of(ft: fs::FileType) -> &'static str {
    if ft.is_symlink() {
        "a symlink"
    } else if ft.is_dir() {
        "a directory"
    } else if ft.is_fifo() {
        "a FIFO"
    } else if ft.is_socket() {
        "a socket"
    } else if ft.is_block_device() || ft.is_char_device() {
        "a device"
    } else {
        "not a regular file"
    }
}

/// What a directory entry's `d_type` says the file is: None when it is a
/// regular file or the filesystem does not say.
fn kind_of_entry(d_type: u8) -> Option<&'static str> {
    match d_type {
        libc::DT_REG | libc::DT_UNKNOWN => None,
        libc::DT_LNK => Some("a symlink"),
        libc::DT_DIR => Some("a directory"),
        libc::DT_FIFO => Some("a FIFO"),
        libc::DT_SOCK => Some("a socket"),
        libc::DT_BLK | libc::DT_CHR => Some("a device"),
        _ => Some("not a regular file"),
    }
}

fn not_regular(kind: &str) -> ReadBeat {
    ReadBeat::Invalid(format!("{kind}, not a regular file"))
}

/// Reads a beat by reader rule 1: never follows a symlink, never opens
/// anything but a regular file (a FIFO would block, a device could act),
/// never reads past the cap.
pub fn read_beat(path: &Path) -> ReadBeat {
    match fs::symlink_metadata(path) {
        Ok(m) if !m.file_type().is_file() => not_regular(kind_of(m.file_type())),
        Ok(_) => read_regular(path),
        Err(e) if e.kind() == io::ErrorKind::NotFound => ReadBeat::Missing,
        Err(e) => ReadBeat::Unreadable("stat", crate::error::os_message(&e)),
    }
}

/// Reads a beat already seen to be a regular file (by `lstat`, or by the
/// directory listing's `d_type`, which spares a system call per beat).
fn read_regular(path: &Path) -> ReadBeat {
    // O_NOFOLLOW and O_NONBLOCK guard the window since it was seen, should
    // the file be swapped for a link or a FIFO meanwhile.
    let flags = libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY;
    let mut file = match sys::open(path, flags, 0) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return ReadBeat::Missing,
        Err(e) => return ReadBeat::Unreadable("open", crate::error::os_message(&e)),
    };
    let size = match file.metadata() {
        Ok(m) if m.file_type().is_file() => m.len(),
        Ok(m) => return not_regular(kind_of(m.file_type())),
        Err(e) => return ReadBeat::Unreadable("stat", crate::error::os_message(&e)),
    };
    // One byte past the cap tells an oversized file from a full one.
    let mut buf = [0u8; beat::MAX_BEAT_BYTES + 1];
    let expected = usize::try_from(size).unwrap_or(usize::MAX);
    let n = match sys::read_into(&mut file, &mut buf, expected) {
        Ok(n) => n,
        Err(e) => return ReadBeat::Unreadable("read", crate::error::os_message(&e)),
    };
    match Beat::parse(&buf[..n]) {
        Ok(b) => ReadBeat::Valid(b),
        Err(why) => ReadBeat::Invalid(why),
    }
}

/// The health rules of the contract, for a valid beat.
pub fn judge(
    beat: Beat,
    now: i64,
    interval: u32,
    stale_after: u32,
    local_host: Option<&str>,
) -> (Health, Judged) {
    let alive = proc::is_local(beat.host.as_deref(), local_host)
        .then(|| proc::alive(beat.pid, beat.pstart));
    assess(beat, now, interval, stale_after, alive)
}

/// [`judge`] with the liveness already known (None: another host's pid),
/// for a follower that learns of a pid's end from the kernel rather than
/// by asking `/proc` again every second.
pub fn assess(
    beat: Beat,
    now: i64,
    interval: u32,
    stale_after: u32,
    alive: Option<bool>,
) -> (Health, Judged) {
    let health = health_of(&beat, now, interval, stale_after, alive);
    let judged = Judged {
        age: now.saturating_sub(beat.ts),
        status_age: beat.since.map(|s| now.saturating_sub(s)),
        alive,
        healthy: health == Health::Healthy,
        beat,
    };
    (health, judged)
}

/// The health word of a valid beat, in the contract's order: exited,
/// dead, stale (age out of `-interval..=stale_after`), else healthy.
pub fn health_of(
    beat: &Beat,
    now: i64,
    interval: u32,
    stale_after: u32,
    alive: Option<bool>,
) -> Health {
    let age = now.saturating_sub(beat.ts);
    let in_range = -i64::from(interval) <= age && age <= i64::from(stale_after);
    if beat.status == "exited" {
        Health::Exited
    } else if alive == Some(false) {
        Health::Dead
    } else if !in_range {
        Health::Stale
    } else {
        Health::Healthy
    }
}

/// SRC of an agent by its marker (v2): fresh is native, present carried;
/// either is settled when the settled stamp is newer than the marker (v4).
pub fn src_of(dir: &Path, name: &str, interval: u32, now_ns: i128) -> Src {
    match marker::freshness(&marker::marker_path(dir, name), interval, now_ns) {
        Ok(f) if f.is_present() && crate::turn::is_settled(dir, name) => Src::Settled,
        Ok(f) if f.is_fresh() => Src::Native,
        Ok(f) if f.is_present() => Src::Carried,
        _ => Src::Sidecar,
    }
}

/// A row from what reading the beat gave; `judge` turns a valid beat into
/// its health (by [`judge`] or [`assess`]).
pub fn row_of(
    name: String,
    src: Src,
    read: ReadBeat,
    judge: impl FnOnce(Beat) -> (Health, Judged),
) -> Row {
    let (health, error, heartbeat) = match read {
        ReadBeat::Missing => (Health::Missing, None, None),
        ReadBeat::Unreadable(verb, why) => (
            Health::Invalid,
            Some(format!("unable to {verb}: {why}")),
            None,
        ),
        ReadBeat::Invalid(why) => (Health::Invalid, Some(why), None),
        ReadBeat::Valid(beat) => {
            let (health, judged) = judge(beat);
            (health, None, Some(judged))
        }
    };
    Row {
        name,
        health,
        native: src == Src::Native,
        src,
        error,
        heartbeat,
    }
}

/// What to list and how to judge it.
pub struct Query<'a> {
    pub dir: &'a Path,
    /// Empty: every `*.hb` in the directory.
    pub names: &'a [String],
    pub interval: u32,
    pub stale_after: u32,
    pub now: i64,
}

/// Builds the listing. A missing directory is an empty listing; one that
/// cannot be read is a system error.
pub fn list(q: &Query) -> Result<Listing> {
    let local = proc::hostname();
    let now_ns = proc::now_nanos();
    let src = |name: &str| src_of(q.dir, name, q.interval, now_ns);
    let row = |name: String, src: Src, read: ReadBeat| -> Row {
        row_of(name, src, read, |beat| {
            judge(beat, q.now, q.interval, q.stale_after, local.as_deref())
        })
    };

    let mut rows = Vec::new();
    if !q.names.is_empty() {
        for (i, name) in q.names.iter().enumerate() {
            if !q.names[..i].contains(name) {
                let read = read_beat(&marker::beat_path(q.dir, name));
                rows.push(row(name.clone(), src(name), read));
            }
        }
        return Ok(listing(q, rows));
    }

    let entries = match sys::dir_entries(q.dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(listing(q, rows)),
        Err(e) => return Err(Error::io("read directory", q.dir, &e)),
    };
    // The markers this listing saw: only their agents' markers are worth a
    // stat (one created since is as if the listing had been taken before).
    let mut markers: Vec<&[u8]> = entries
        .iter()
        .filter_map(|e| e.name.as_bytes().strip_suffix(b".hb.native"))
        .collect();
    markers.sort_unstable();
    let mut beats: Vec<(&sys::Entry, &[u8])> = entries
        .iter()
        .filter_map(|e| Some((e, beat_stem(e.name.as_bytes())?)))
        .collect();
    beats.sort_unstable_by(|a, b| a.0.name.cmp(&b.0.name));
    for (e, stem) in beats {
        let name = String::from_utf8_lossy(stem).into_owned();
        if !is_name(stem) {
            rows.push(row(name, Src::Sidecar, ReadBeat::Invalid(BAD_NAME.into())));
            continue;
        }
        let src = if markers.binary_search(&stem).is_ok() {
            src(&name)
        } else {
            Src::Sidecar
        };
        let path = q.dir.join(&e.name);
        let read = match (e.kind, kind_of_entry(e.kind)) {
            (_, Some(kind)) => not_regular(kind),
            (libc::DT_UNKNOWN, None) => read_beat(&path),
            (_, None) => read_regular(&path),
        };
        rows.push(row(name, src, read));
    }
    Ok(listing(q, rows))
}

/// The reason given for a `*.hb` whose stem is not a valid NAME.
pub const BAD_NAME: &str = "file name is not a valid NAME";

/// The stem of a directory entry that is listed as a beat: `STEM.hb`, not a
/// dot-file (temporaries, locks); None for anything else.
pub fn beat_stem(file: &[u8]) -> Option<&[u8]> {
    file.strip_suffix(b".hb")
        .filter(|_| !file.starts_with(b"."))
}

/// Is a beat's stem a valid NAME?
pub fn is_name(stem: &[u8]) -> bool {
    std::str::from_utf8(stem).is_ok_and(|s| beat::check_name(s).is_ok())
}

fn listing(q: &Query, rows: Vec<Row>) -> Listing {
    Listing {
        dir: q.dir.to_path_buf(),
        now: q.now,
        interval: q.interval,
        stale_after: q.stale_after,
        rows,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn beat(ts: i64, pid: u32, status: &str, host: Option<&str>) -> Beat {
        Beat {
            ts,
            pid,
            status: status.into(),
            model: None,
            host: host.map(Into::into),
            pstart: None,
            since: None,
        }
    }

    #[test]
    fn health_follows_the_contract_order() {
        let me = std::process::id();
        let dead = i32::MAX as u32;
        let h = |b: Beat| judge(b, 1000, 10, 30, Some("here")).0;
        assert_eq!(h(beat(1000, me, "busy", None)), Health::Healthy);
        assert_eq!(h(beat(970, me, "ok", None)), Health::Healthy); // age 30
        assert_eq!(h(beat(969, me, "ok", None)), Health::Stale); // age 31
        assert_eq!(h(beat(1010, me, "ok", None)), Health::Healthy); // age -10
        assert_eq!(h(beat(1011, me, "ok", None)), Health::Stale); // age -11
        assert_eq!(h(beat(1000, dead, "ok", None)), Health::Dead);
        assert_eq!(h(beat(1, dead, "ok", None)), Health::Dead); // dead before stale
        assert_eq!(h(beat(1, dead, "exited", None)), Health::Exited);
        assert_eq!(h(beat(1000, me, "exited", None)), Health::Exited);
    }

    #[test]
    fn a_beat_from_another_host_is_judged_by_age_alone() {
        let dead = i32::MAX as u32;
        let (health, j) = judge(
            beat(1000, dead, "ok", Some("elsewhere")),
            1000,
            10,
            30,
            Some("here"),
        );
        assert_eq!((health, j.alive, j.healthy), (Health::Healthy, None, true));
        let (health, j) = judge(
            beat(1000, dead, "ok", Some("here")),
            1000,
            10,
            30,
            Some("here"),
        );
        assert_eq!((health, j.alive), (Health::Dead, Some(false)));
    }

    #[test]
    fn a_reused_pid_is_dead() {
        let me = std::process::id();
        let mut b = beat(1000, me, "ok", None);
        b.pstart = proc::pstart(me).map(|s| s + 1);
        assert_eq!(judge(b, 1000, 10, 30, None).0, Health::Dead);
    }

    #[test]
    fn an_unreaped_zombie_is_dead() {
        let mut child = std::process::Command::new("sleep")
            .arg("1000")
            .spawn()
            .unwrap();
        let pid = child.id();
        let b = beat(1000, pid, "ok", None);
        assert_eq!(judge(b.clone(), 1000, 10, 30, None).0, Health::Healthy);
        child.kill().unwrap();
        // Not reaped yet: kill(pid, 0) still succeeds on the zombie.
        let end = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while judge(b.clone(), 1000, 10, 30, None).0 != Health::Dead {
            assert!(std::time::Instant::now() < end, "zombie {pid} still alive");
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert!(proc::pid_exists(pid));
        child.wait().unwrap();
    }

    #[test]
    fn extreme_timestamps_do_not_overflow() {
        let me = std::process::id();
        let (h, j) = judge(beat(i64::MAX, me, "ok", None), 0, 10, 30, None);
        assert_eq!((h, j.age), (Health::Stale, -i64::MAX));
        let (h, _) = judge(beat(0, me, "ok", None), i64::MAX, 10, 30, None);
        assert_eq!(h, Health::Stale);
    }
}
