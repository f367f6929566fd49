//! The sidecar's watch on NAME's record: one inotify instance, polled in
//! the sidecar's own loop, with a watch on the beat directory (for the
//! pointer `DIR/.NAME.record`) and one on the record it names (or, while
//! that does not exist yet, on its directory), so a line the runtime
//! appends is read within milliseconds, and nothing runs while nothing
//! changes. Every tick also re-reads the pointer and checks the record for
//! growth, so a lost event (a full queue, a watch that could not be made)
//! costs at most one tick.

use super::tail::{Follower, Id};
use super::{read_pointer, settle, verdict, Pointer, Settled, Turn};
use crate::inotify::{self, Inotify};
use std::os::fd::RawFd;
use std::path::{Path, PathBuf};

/// A runtime's reading of one record line (its table's `settle`).
pub type Settle = fn(&[u8]) -> Option<Turn>;

/// Finds the `settle` of the runtime a pointer names.
pub type Lookup = fn(&str) -> Option<Settle>;

const DIR_MASK: u32 = inotify::IN_MOVED_TO
    | inotify::IN_DELETE
    | inotify::IN_CREATE
    | inotify::IN_ONLYDIR
    | libc::IN_MASK_ADD;
const RECORD_MASK: u32 = libc::IN_MODIFY
    | inotify::IN_ATTRIB
    | inotify::IN_DELETE_SELF
    | inotify::IN_MOVE_SELF
    | libc::IN_DONT_FOLLOW;

/// Where the record's watch is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum On {
    /// The record file, this one.
    File(Id),
    /// Its directory, for the record to appear.
    Parent,
}

pub struct Watcher {
    dir: PathBuf,
    name: String,
    lookup: Lookup,
    ino: Option<Inotify>,
    dir_wd: Option<i32>,
    record_wd: Option<(i32, On)>,
    pointer: Option<Pointer>,
    follower: Option<(Follower, Settle)>,
    /// A verdict not written yet (the lock was held): tried again.
    pending: Option<(Turn, i128)>,
}

impl Watcher {
    /// A watcher for NAME in `dir`. Without inotify (the instance limit),
    /// it still works, by the tick.
    pub fn new(dir: &Path, name: &str, lookup: Lookup) -> Watcher {
        Watcher {
            dir: dir.to_path_buf(),
            name: name.to_string(),
            lookup,
            ino: Inotify::new().ok(),
            dir_wd: None,
            record_wd: None,
            pointer: None,
            follower: None,
            pending: None,
        }
    }

    /// The descriptor to poll for readability, if inotify is there.
    pub fn fd(&self) -> Option<RawFd> {
        self.ino.as_ref().map(Inotify::raw_fd)
    }

    /// The tick's part: the directory watched (the first tick made the
    /// directory), the pointer re-read, the record checked for growth, a
    /// verdict the lock kept back tried again.
    pub fn tick(&mut self, warn: &mut dyn FnMut(String)) {
        if self.dir_wd.is_none() {
            if let Some(ino) = &self.ino {
                self.dir_wd = ino.add_watch(&self.dir, DIR_MASK).ok();
            }
        }
        self.repoint();
        self.read(warn);
    }

    /// inotify said something: read the events and act on them.
    pub fn ready(&mut self, warn: &mut dyn FnMut(String)) {
        let Some(ino) = &self.ino else { return };
        let pointer = format!(".{}.record", self.name);
        let record_name = self
            .follower
            .as_ref()
            .and_then(|(f, _)| f.path().file_name().map(|n| n.as_encoded_bytes().to_vec()));
        let (mut repoint, mut read, mut overflow) = (false, false, false);
        let (dir_wd, record_wd) = (self.dir_wd, self.record_wd);
        let drained = ino.drain(|e| {
            if e.mask & inotify::IN_Q_OVERFLOW != 0 {
                overflow = true;
            }
            if Some(e.wd) == dir_wd {
                if e.name == pointer.as_bytes() {
                    repoint = true;
                }
                if e.mask & (inotify::IN_IGNORED | inotify::IN_DELETE_SELF) != 0 {
                    overflow = true;
                }
            }
            match record_wd {
                Some((wd, On::File(_))) if wd == e.wd => read = true,
                Some((wd, On::Parent)) if wd == e.wd => {
                    read |=
                        record_name.as_deref() == Some(e.name) || e.mask & inotify::IN_IGNORED != 0;
                }
                _ => {}
            }
        });
        if drained.is_err() || overflow {
            // Whatever was lost, the tick's checks find.
            self.dir_wd = None;
            self.tick(warn);
            return;
        }
        if repoint {
            self.repoint();
        }
        if repoint || read {
            // (A new follower's first read makes its watch.)
            self.read(warn);
        }
    }

    /// Follows the record the pointer names now, from its end, when that
    /// changed.
    fn repoint(&mut self) {
        let now = read_pointer(&self.dir, &self.name);
        if now == self.pointer {
            return;
        }
        self.unwatch_record();
        self.follower = now.as_ref().and_then(|p| {
            let settle = (self.lookup)(&p.runtime)?;
            Some((Follower::new(p.record.clone()), settle))
        });
        self.pointer = now;
        self.pending = None;
    }

    /// Reads the record's new lines and settles their verdict. After a
    /// watch moved (to a new file, to the directory) the record is read
    /// once more: what was written before the watch existed sent no event.
    fn read(&mut self, warn: &mut dyn FnMut(String)) {
        for _ in 0..4 {
            let Some((f, settle)) = &mut self.follower else {
                break;
            };
            let mut turns: Vec<Turn> = self.pending.map(|(t, _)| t).into_iter().collect();
            let before = turns.len();
            if let Some(entry_ns) = f.read(&mut |line| turns.extend(settle(line))) {
                if turns.len() > before {
                    self.pending = verdict(turns).map(|t| (t, entry_ns));
                }
            }
            if !self.sync_watch() {
                break;
            }
        }
        if let Some((turn, entry_ns)) = self.pending {
            match settle(&self.dir, &self.name, turn, entry_ns) {
                Ok(Settled::Busy) => {}
                Ok(_) => self.pending = None,
                Err(e) => {
                    self.pending = None;
                    warn(e.to_string());
                }
            }
        }
    }

    /// Keeps the record's watch on the file the follower has open, or on
    /// its directory while it has none; true when it moved the watch.
    fn sync_watch(&mut self) -> bool {
        if self.ino.is_none() {
            return false;
        }
        let Some((f, _)) = &self.follower else {
            self.unwatch_record();
            return false;
        };
        let want = f.id().map_or(On::Parent, On::File);
        if self.record_wd.map(|(_, on)| on) == Some(want) {
            return false;
        }
        let path = f.path().to_path_buf();
        self.unwatch_record();
        let Some(ino) = &self.ino else { return false };
        let wd = match (want, path.parent()) {
            (On::File(_), _) => ino.add_watch(&path, RECORD_MASK),
            (On::Parent, Some(parent)) => ino.add_watch(parent, DIR_MASK),
            (On::Parent, None) => return false,
        };
        // A watch that cannot be made (the user's limit, a directory not
        // there yet): the tick's check stands in.
        self.record_wd = wd.ok().map(|wd| (wd, want));
        self.record_wd.is_some()
    }

    fn unwatch_record(&mut self) {
        if let (Some(ino), Some((wd, _))) = (&self.ino, self.record_wd.take()) {
            // The directory's watch may be the same (a record in DIR).
            if Some(wd) != self.dir_wd {
                ino.rm_watch(wd);
            }
        }
    }
}
