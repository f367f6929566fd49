//! The end of a turn (contract v4, "No state outlives its turn"): a native
//! `busy` or `waiting` ends when the runtime's turn or dialog ends, also
//! when the runtime fires no hook for that end (an interrupt, a denial, Esc
//! at a dialog). The runtime still writes the end into its own session
//! record; this module holds the mechanism, once, that reads it there:
//!
//! - a hook names the record its runtime keeps ([`crate::hooks::Runtime`]'s
//!   `record`) in the pointer `DIR/.NAME.record` ([`point`]);
//! - the sidecar follows the record it names like `tail -F` ([`tail`]),
//!   woken by inotify ([`watch`]), and hands each new complete line to the
//!   runtime's `settle`, which says what the line means for the turn
//!   ([`Turn`]);
//! - a batch's [`verdict`] is written by [`settle`], under the writer lock,
//!   with guards that make sure it never undoes a hook, and it stamps
//!   `DIR/.NAME.settled` so readers say `src` `settled`.
//!
//! Which record and which entries mean what is each runtime's knowledge and
//! sits in its table file (`src/hooks/NAME.rs`).

pub mod tail;
pub mod watch;

use crate::beat::Beat;
use crate::error::{Error, Result};
use crate::listing::{read_beat, ReadBeat};
use crate::lock::{self, Lock, Refused, Wait};
use crate::{atomic, files, proc, sys, tick};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

/// What one line of a runtime's record (or its terminal title) says about
/// the turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Turn {
    /// The turn or the dialog ended with no hook (an interrupt, a denial
    /// that ends the turn, Esc at a dialog): `busy` or `waiting` becomes
    /// `ok`.
    Ended,
    /// A dialog was answered and the model goes on: `waiting` becomes
    /// `busy`.
    Resumed,
    /// A new turn or prompt began. It cancels an earlier verdict of the
    /// same batch, so that a late read of "an interrupt, then a new
    /// prompt" does nothing. Written by itself only for a runtime whose
    /// record marks a prompt and no hook does (its table's `starts`:
    /// Aider): `ok` or `waiting` becomes `busy`, and the hook at the end of
    /// the model's call has the last word.
    Started,
    /// A dialog opened that no hook announced (terminal titles): `busy`
    /// becomes `waiting`.
    Waiting,
}

impl Turn {
    /// The status this verdict makes of a beat saying `status`, or None
    /// when it changes nothing (only the transitions above are made).
    pub fn over(self, status: &str) -> Option<&'static str> {
        match (self, status) {
            (Turn::Ended, "busy" | "waiting") => Some("ok"),
            (Turn::Resumed, "waiting") => Some("busy"),
            (Turn::Waiting, "busy") => Some("waiting"),
            // Only ever a verdict under `starts` (see [`verdict`]).
            (Turn::Started, "ok" | "waiting") => Some("busy"),
            _ => None,
        }
    }
}

/// The verdict of a batch of lines read at once: its last `Ended`,
/// `Resumed` or `Waiting`, unless a `Started` came after it. When the
/// record `starts` turns (the runtime's table says so: no hook marks a
/// prompt), that `Started` is the verdict itself. (A hook's write after
/// it is [`settle`]'s guard.)
pub fn verdict(turns: impl IntoIterator<Item = Turn>, starts: bool) -> Option<Turn> {
    turns.into_iter().fold(None, |_, t| match t {
        Turn::Started if !starts => None,
        t => Some(t),
    })
}

/// `DIR/.NAME.record`: which record the runtime keeps (`RUNTIME\nPATH\n`).
pub fn pointer_path(dir: &Path, name: &str) -> PathBuf {
    files::record(dir, name, files::POINTER)
}

/// `DIR/.NAME.settled`: touched when a verdict was written; readers say
/// `src` `settled` while it is newer than the marker.
pub fn settled_path(dir: &Path, name: &str) -> PathBuf {
    files::record(dir, name, files::SETTLED)
}

/// A pointer is at most this long (a runtime's name and a path).
const MAX_POINTER: usize = 8 << 10;

/// What a pointer says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pointer {
    /// The runtime whose `settle` reads the record.
    pub runtime: String,
    /// The record, an absolute path.
    pub record: PathBuf,
}

/// The bytes of a pointer, or None for what a pointer cannot hold (a
/// relative path, a newline or a NUL, a bad runtime name).
pub fn encode(runtime: &str, record: &Path) -> Option<Vec<u8>> {
    let path = record.as_os_str().as_bytes();
    let plain = |b: &[u8]| !b.is_empty() && !b.iter().any(|&c| c == b'\n' || c == 0);
    if !record.is_absolute() || !plain(path) || !plain(runtime.as_bytes()) {
        return None;
    }
    let mut out = Vec::with_capacity(runtime.len() + path.len() + 2);
    out.extend_from_slice(runtime.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(path);
    out.push(b'\n');
    (out.len() <= MAX_POINTER).then_some(out)
}

/// A pointer's bytes read back; None for anything [`encode`] would not
/// have written.
pub fn decode(bytes: &[u8]) -> Option<Pointer> {
    let body = bytes.strip_suffix(b"\n")?;
    let nl = body.iter().position(|&c| c == b'\n')?;
    let (runtime, path) = (&body[..nl], &body[nl + 1..]);
    let runtime = std::str::from_utf8(runtime).ok()?;
    let record = PathBuf::from(std::ffi::OsStr::from_bytes(path));
    (encode(runtime, &record)?.as_slice() == bytes).then(|| Pointer {
        runtime: runtime.to_string(),
        record,
    })
}

/// A small regular file's bytes, never through a symlink, never waiting on
/// a FIFO; None when missing, not regular, unreadable, or past `max`.
fn read_small(path: &Path, max: usize) -> Option<Vec<u8>> {
    let flags = libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY;
    let mut file = sys::open(path, flags, 0).ok()?;
    let meta = file.metadata().ok()?;
    if !meta.file_type().is_file() || meta.len() > max as u64 {
        return None;
    }
    let mut buf = vec![0; max + 1];
    let n = sys::read_into(&mut file, &mut buf, meta.len() as usize).ok()?;
    (n <= max).then(|| {
        buf.truncate(n);
        buf
    })
}

/// The pointer NAME's hooks wrote last, if it is one.
pub fn read_pointer(dir: &Path, name: &str) -> Option<Pointer> {
    decode(&read_small(&pointer_path(dir, name), MAX_POINTER)?)
}

/// A hook's part: points NAME's pointer at `record` for `runtime`, after
/// the beat. Only when it changed (a hook runs inside the agent's tool
/// call: one small read is all it costs then), atomically, without
/// creating the directory (the beat did). A record a pointer cannot hold
/// is no error: nothing is written. True when it wrote.
pub fn point(dir: &Path, name: &str, runtime: &str, record: &Path) -> Result<bool> {
    let Some(bytes) = encode(runtime, record) else {
        return Ok(false);
    };
    let path = pointer_path(dir, name);
    if read_small(&path, MAX_POINTER).as_deref() == Some(&bytes[..]) {
        return Ok(false);
    }
    let file = path.file_name().unwrap_or_default();
    atomic::write_file(dir, file, &bytes, false)?;
    Ok(true)
}

/// What [`settle`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settled {
    /// The beat now says this, and the stamp was touched.
    Wrote(&'static str),
    /// No marker: no native writer owns the state; the sidecar's own beats
    /// need no settling.
    NoMarker,
    /// The marker is newer than the record's entry: a hook wrote after it,
    /// and its word stands.
    HookCameLater,
    /// The beat's status is not one the verdict changes (or there is no
    /// valid beat).
    Unchanged,
    /// Another writer held the lock past a native writer's wait: nothing
    /// written; the caller may try again.
    Busy,
}

/// Nanoseconds since the epoch of a file's mtime.
pub fn mtime_ns(m: &std::fs::Metadata) -> i128 {
    i128::from(m.mtime()) * 1_000_000_000 + i128::from(m.mtime_nsec())
}

/// Writes a verdict read from a runtime's record (or its title) into
/// NAME's beat, under the writer lock (waiting for it as a native writer
/// does, but never writing without it when another writer holds it),
/// and only:
///
/// - when the marker is present (a native writer owns the state);
/// - when no native write came after the entry: the marker's mtime is not
///   newer than `entry_ns`, the record's mtime when the entry was read
///   (nanoseconds since the epoch);
/// - for the transitions of [`Turn::over`].
///
/// The pid, model, host and pstart are kept, `since` follows the writer
/// rule; the marker is not touched (freshness stays as the hook left it),
/// and `DIR/.NAME.settled` is stamped newer than the marker. It acts also
/// while the marker is fresh.
pub fn settle(dir: &Path, name: &str, verdict: Turn, entry_ns: i128) -> Result<Settled> {
    let _lock = match Lock::take(dir, name, Wait::Upto(lock::NATIVE_WAIT), false) {
        Ok(l) => Some(l),
        Err(Refused::Busy) => return Ok(Settled::Busy),
        Err(Refused::NoDir) => return Ok(Settled::NoMarker),
        // A lock that can never serve here (as every writer does).
        Err(Refused::Unlockable(_)) => None,
        Err(Refused::Failed(e)) => return Err(e),
    };
    let marker_path = files::marker(dir, name);
    let marker_ns = match std::fs::symlink_metadata(&marker_path) {
        Ok(m) if m.file_type().is_file() => mtime_ns(&m),
        Ok(_) => return Ok(Settled::NoMarker),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Settled::NoMarker),
        Err(e) => return Err(Error::io("stat marker", &marker_path, &e)),
    };
    if marker_ns > entry_ns {
        return Ok(Settled::HookCameLater);
    }
    let ReadBeat::Valid(old) = read_beat(&files::beat(dir, name)) else {
        return Ok(Settled::Unchanged);
    };
    let Some(status) = verdict.over(&old.status) else {
        return Ok(Settled::Unchanged);
    };
    let now = proc::now_secs();
    let beat = Beat {
        ts: now,
        status: status.into(),
        since: Some(tick::since(Some(&old), old.pid, status, now)),
        ..old
    };
    tick::write_beat(dir, name, &beat)?;
    stamp(&settled_path(dir, name), marker_ns)?;
    Ok(Settled::Wrote(status))
}

/// Sets the stamp's mtime to now, and past `after` (the marker's) should
/// the coarse file clock give both the same time: the reader's rule is
/// "newer than the marker". Never through a symlink, never opening a FIFO.
fn stamp(path: &Path, after: i128) -> Result<()> {
    let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_NOFOLLOW | libc::O_NONBLOCK;
    let file = sys::open(path, flags, 0o644).map_err(|e| Error::io("open stamp", path, &e))?;
    let meta = file
        .metadata()
        .map_err(|e| Error::io("stat stamp", path, &e))?;
    if !meta.file_type().is_file() {
        return Err(Error::System(format!(
            "unable to stamp {}: not a regular file",
            path.display()
        )));
    }
    let at = proc::now_nanos().max(after + 1);
    let ts = libc::timespec {
        // time_t left to inference: the libc crate marks musl's alias deprecated.
        tv_sec: at.div_euclid(1_000_000_000) as _,
        tv_nsec: at.rem_euclid(1_000_000_000) as _,
    };
    let times = [ts, ts];
    // SAFETY: a valid fd and two timespecs.
    if unsafe { libc::futimens(file.as_raw_fd(), times.as_ptr()) } != 0 {
        return Err(Error::io(
            "set the time of stamp",
            path,
            &io::Error::last_os_error(),
        ));
    }
    Ok(())
}

/// Was NAME's state settled from a record since its native writer last
/// wrote? The stamp is a regular file newer than the marker, which is
/// present. (The stamp is looked at first: most agents have none.)
pub fn is_settled(dir: &Path, name: &str) -> bool {
    let regular = |p: PathBuf| {
        std::fs::symlink_metadata(p)
            .ok()
            .filter(|m| m.file_type().is_file())
    };
    regular(settled_path(dir, name)).is_some_and(|s| {
        regular(files::marker(dir, name)).is_some_and(|m| mtime_ns(&s) > mtime_ns(&m))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use Turn::*;

    #[test]
    fn a_batch_says_its_last_end_unless_a_new_turn_came_after() {
        let v = |t: &[Turn]| verdict(t.iter().copied(), false);
        assert_eq!(v(&[]), None);
        assert_eq!(v(&[Ended]), Some(Ended));
        assert_eq!(v(&[Ended, Started]), None);
        assert_eq!(v(&[Started]), None);
        assert_eq!(v(&[Started, Ended]), Some(Ended));
        assert_eq!(v(&[Ended, Started, Resumed]), Some(Resumed));
        assert_eq!(v(&[Resumed, Ended]), Some(Ended));
        assert_eq!(v(&[Waiting, Started]), None);
    }

    #[test]
    fn a_record_that_starts_turns_says_busy_last() {
        let v = |t: &[Turn]| verdict(t.iter().copied(), true);
        assert_eq!(v(&[]), None);
        assert_eq!(v(&[Started]), Some(Started));
        // A late read of "an interrupt, then a new prompt": the new turn.
        assert_eq!(v(&[Ended, Started]), Some(Started));
        assert_eq!(v(&[Started, Ended]), Some(Ended));
        assert_eq!(v(&[Waiting, Started]), Some(Started));
    }

    #[test]
    fn only_the_transitions_of_the_contract_are_made() {
        assert_eq!(Ended.over("busy"), Some("ok"));
        assert_eq!(Ended.over("waiting"), Some("ok"));
        assert_eq!(Ended.over("ok"), None);
        assert_eq!(Ended.over("exited"), None);
        assert_eq!(Resumed.over("waiting"), Some("busy"));
        assert_eq!(Resumed.over("ok"), None);
        assert_eq!(Resumed.over("busy"), None);
        assert_eq!(Waiting.over("busy"), Some("waiting"));
        assert_eq!(Waiting.over("ok"), None);
        // (a verdict only where the record starts turns)
        assert_eq!(Started.over("ok"), Some("busy"));
        assert_eq!(Started.over("waiting"), Some("busy"));
        assert_eq!(Started.over("busy"), None);
        assert_eq!(Started.over("exited"), None);
    }

    struct Dir(PathBuf);
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
    fn scratch() -> Dir {
        let d = std::env::temp_dir().join(format!(
            "hb-turn-{}-{}",
            std::process::id(),
            fastrand::u64(..)
        ));
        std::fs::create_dir_all(&d).unwrap();
        Dir(d)
    }
    const BEAT: &str = "ts=100\npid=4242\nstatus=busy\nmodel=m-1\nhost=h\npstart=77\nsince=90\n";
    fn status(d: &Path) -> Beat {
        match read_beat(&d.join("w.hb")) {
            ReadBeat::Valid(b) => b,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn settling_keeps_the_agent_and_leaves_the_marker() {
        let d = scratch();
        std::fs::write(d.0.join("w.hb"), BEAT).unwrap();
        std::fs::write(d.0.join("w.hb.native"), b"").unwrap();
        let marker = mtime_ns(&std::fs::metadata(d.0.join("w.hb.native")).unwrap());
        assert_eq!(
            settle(&d.0, "w", Ended, marker).unwrap(),
            (Settled::Wrote("ok"))
        );
        let b = status(&d.0);
        assert_eq!(
            (
                b.status.as_str(),
                b.pid,
                b.model.as_deref(),
                b.host.as_deref()
            ),
            ("ok", 4242, Some("m-1"), Some("h"))
        );
        assert_eq!(b.pstart, Some(77));
        assert!(b.since.unwrap() > 90);
        let after = std::fs::metadata(d.0.join("w.hb.native")).unwrap();
        assert_eq!(mtime_ns(&after), marker);
        assert!(is_settled(&d.0, "w"));
        // Over ok: nothing to do.
        assert_eq!(
            settle(&d.0, "w", Ended, marker).unwrap(),
            (Settled::Unchanged)
        );
        // A prompt the record marks (a runtime whose table `starts`): busy.
        assert_eq!(
            settle(&d.0, "w", Started, marker).unwrap(),
            (Settled::Wrote("busy"))
        );
        assert_eq!(status(&d.0).pid, 4242);
        // A hook writes again: its marker is newer than the stamp.
        std::thread::sleep(std::time::Duration::from_millis(20));
        crate::marker::touch(&d.0.join("w.hb.native")).unwrap();
        assert!(!is_settled(&d.0, "w"));
    }

    #[test]
    fn settling_never_undoes_a_later_hook_nor_writes_without_a_marker() {
        let d = scratch();
        std::fs::write(d.0.join("w.hb"), BEAT).unwrap();
        assert_eq!(
            settle(&d.0, "w", Ended, i128::MAX).unwrap(),
            (Settled::NoMarker)
        );
        std::fs::write(d.0.join("w.hb.native"), b"").unwrap();
        let marker = mtime_ns(&std::fs::metadata(d.0.join("w.hb.native")).unwrap());
        assert_eq!(
            settle(&d.0, "w", Ended, marker - 1).unwrap(),
            (Settled::HookCameLater)
        );
        assert_eq!(status(&d.0).status, "busy");
        assert_eq!(
            settle(&d.0, "w", Resumed, marker).unwrap(),
            (Settled::Unchanged)
        );
        assert_eq!(
            settle(&d.0, "w", Started, marker).unwrap(),
            (Settled::Unchanged)
        );
        assert!(!settled_path(&d.0, "w").exists());
        // No directory at all: nothing made.
        let gone = d.0.join("gone");
        assert_eq!(
            settle(&gone, "w", Ended, marker).unwrap(),
            (Settled::NoMarker)
        );
        assert!(!gone.exists());
    }

    #[test]
    fn a_pointer_is_written_only_when_it_changed() {
        let d = scratch();
        let rec = Path::new("/r/s.jsonl");
        assert!(point(&d.0, "w", "claude", rec).unwrap());
        assert!(!point(&d.0, "w", "claude", rec).unwrap());
        assert_eq!(
            read_pointer(&d.0, "w"),
            Some(Pointer {
                runtime: "claude".into(),
                record: rec.into()
            })
        );
        assert!(point(&d.0, "w", "claude", Path::new("/r/t.jsonl")).unwrap());
        assert!(!point(&d.0, "w", "claude", Path::new("rel")).unwrap());
        assert_eq!(
            read_pointer(&d.0, "w").unwrap().record,
            Path::new("/r/t.jsonl")
        );
    }

    #[test]
    fn a_pointer_to_a_symlink_is_not_read() {
        let d = scratch();
        std::fs::write(d.0.join("real"), b"claude\n/r\n").unwrap();
        std::os::unix::fs::symlink(d.0.join("real"), pointer_path(&d.0, "w")).unwrap();
        assert_eq!(read_pointer(&d.0, "w"), None);
    }

    #[test]
    fn a_pointer_holds_a_runtime_and_an_absolute_path() {
        let p = encode("claude", Path::new("/h/.claude/p/s.jsonl")).unwrap();
        assert_eq!(p, b"claude\n/h/.claude/p/s.jsonl\n");
        assert_eq!(
            decode(&p),
            Some(Pointer {
                runtime: "claude".into(),
                record: "/h/.claude/p/s.jsonl".into()
            })
        );
        assert_eq!(encode("claude", Path::new("rel/s.jsonl")), None);
        assert_eq!(encode("claude", Path::new("/a\nb")), None);
        assert_eq!(encode("", Path::new("/a")), None);
        assert_eq!(encode("c\nx", Path::new("/a")), None);
        let long = format!("/{}", "x".repeat(MAX_POINTER));
        assert_eq!(encode("claude", Path::new(&long)), None);
        for bad in [
            &b""[..],
            b"claude\n",
            b"claude\n/a",
            b"claude\nrel\n",
            b"claude\n/a\n/b\n",
            b"\n/a\n",
            b"claude\n/a\n\n",
        ] {
            assert_eq!(decode(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }
}
