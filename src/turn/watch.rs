//! The sidecar's watch on NAME's record: one inotify instance, polled in
//! the sidecar's own loop, with a watch on the pointer `DIR/.NAME.record`
//! and one on the record it names, so a line the runtime appends is read
//! within milliseconds, and nothing runs while nothing changes.
//!
//! Each watch is on the file itself while it exists, and on its directory
//! only until it appears: the beat directory is shared by the fleet, and a
//! watch on it would wake every sidecar for every other agent's beat. (The
//! pointer is replaced by a rename, which its old inode sees as a move.)
//! Every tick also re-reads the pointer and checks the record for growth,
//! so a lost event (a full queue, a watch that could not be made) costs at
//! most one tick.

use super::tail::{Follower, Id};
use super::{pointer_path, read_pointer, settle, verdict, Pointer, Settled, Turn};
use crate::inotify::{self, Inotify};
use std::os::fd::RawFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// A runtime's reading of one record line (its table's `settle`).
pub type Settle = fn(&[u8]) -> Option<Turn>;

/// Finds the `settle` of the runtime a pointer names, and whether its
/// record marks a prompt no hook marks (its table's `starts`).
pub type Lookup = fn(&str) -> Option<(Settle, bool)>;

/// On the record's directory, for the record to appear (created in place
/// or renamed there).
const DIR_MASK: u32 =
    inotify::IN_MOVED_TO | inotify::IN_CREATE | inotify::IN_ONLYDIR | libc::IN_MASK_ADD;
/// On the beat directory, for the pointer to appear: hooks rename it into
/// place, and a temporary's creation (every beat of the fleet makes one)
/// need not wake the sidecar.
const POINTER_DIR_MASK: u32 = inotify::IN_MOVED_TO | inotify::IN_ONLYDIR | libc::IN_MASK_ADD;
/// On a file: written, replaced (its link count), moved or deleted.
const FILE_MASK: u32 = libc::IN_MODIFY
    | inotify::IN_CLOSE_WRITE
    | inotify::IN_ATTRIB
    | inotify::IN_DELETE_SELF
    | inotify::IN_MOVE_SELF
    | libc::IN_DONT_FOLLOW;

/// Where a watch is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum On {
    /// The file, this one.
    File(Id),
    /// Its directory, for the file to appear.
    Parent,
}

/// A watch for one file: its descriptor and where it is.
type Watch = Option<(i32, On)>;

pub struct Watcher {
    dir: PathBuf,
    name: String,
    lookup: Lookup,
    ino: Option<Inotify>,
    pointer_wd: Watch,
    record_wd: Watch,
    pointer: Option<Pointer>,
    follower: Option<(Follower, Settle, bool)>,
    /// A verdict not written yet (the lock was held): tried again.
    pending: Option<(Turn, i128)>,
}

/// The identity of the regular file at `path` (not followed), if one is.
fn file_id(path: &Path) -> Option<Id> {
    std::fs::symlink_metadata(path)
        .ok()
        .filter(|m| m.file_type().is_file())
        .map(|m| (m.dev(), m.ino()))
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
            pointer_wd: None,
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

    /// The tick's part: the pointer watched and re-read (the first tick
    /// made the directory), the record checked for growth, a verdict the
    /// lock kept back tried again.
    pub fn tick(&mut self, warn: &mut dyn FnMut(String)) {
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
            .and_then(|(f, _, _)| f.path().file_name().map(|n| n.as_encoded_bytes().to_vec()));
        let (mut repoint, mut read, mut lost) = (false, false, false);
        let (pointer_wd, record_wd) = (self.pointer_wd, self.record_wd);
        let drained = ino.drain(|e| {
            lost |= e.mask & inotify::IN_Q_OVERFLOW != 0;
            match pointer_wd {
                Some((wd, On::File(_))) if wd == e.wd => repoint = true,
                Some((wd, On::Parent)) if wd == e.wd => {
                    repoint |= e.name == pointer.as_bytes() || e.mask & inotify::IN_IGNORED != 0;
                }
                _ => {}
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
        if drained.is_err() || lost {
            // Whatever was lost, the tick's checks find now.
            return self.tick(warn);
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
    /// changed; keeps the pointer's watch where the pointer is.
    fn repoint(&mut self) {
        for _ in 0..4 {
            let now = read_pointer(&self.dir, &self.name);
            if now != self.pointer {
                unwatch(&self.ino, &mut self.record_wd, self.pointer_wd);
                self.follower = now.as_ref().and_then(|p| {
                    let (settle, starts) = (self.lookup)(&p.runtime)?;
                    Some((Follower::new(p.record.clone()), settle, starts))
                });
                self.pointer = now;
                self.pending = None;
            }
            // After a moved watch, once more: a rename before it sent
            // no event to it.
            let path = pointer_path(&self.dir, &self.name);
            let want = file_id(&path).map_or(On::Parent, On::File);
            if !self.watch(Which::Pointer, &path, want) {
                break;
            }
        }
    }

    /// Reads the record's new lines and settles their verdict. After a
    /// watch moved (to a new file, to the directory) the record is read
    /// once more: what was written before the watch existed sent no event.
    fn read(&mut self, warn: &mut dyn FnMut(String)) {
        for _ in 0..4 {
            let Some((f, settle, starts)) = &mut self.follower else {
                break;
            };
            let mut turns: Vec<Turn> = self.pending.map(|(t, _)| t).into_iter().collect();
            let before = turns.len();
            if let Some(entry_ns) = f.read(&mut |line| turns.extend(settle(line))) {
                if turns.len() > before {
                    self.pending = verdict(turns, *starts).map(|t| (t, entry_ns));
                }
            }
            let want = f.id().map_or(On::Parent, On::File);
            let path = f.path().to_path_buf();
            if !self.watch(Which::Record, &path, want) {
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

    /// Puts the pointer's or the record's watch `want` (on `path`, or on
    /// its directory); true when it moved it.
    fn watch(&mut self, which: Which, path: &Path, want: On) -> bool {
        let Some(ino) = &self.ino else { return false };
        let (slot, other) = match which {
            Which::Pointer => (&mut self.pointer_wd, self.record_wd),
            Which::Record => (&mut self.record_wd, self.pointer_wd),
        };
        if slot.map(|(_, on)| on) == Some(want) {
            return false;
        }
        unwatch(&self.ino, slot, other);
        let dir_mask = match which {
            Which::Pointer => POINTER_DIR_MASK,
            Which::Record => DIR_MASK,
        };
        let wd = match (want, path.parent()) {
            (On::File(_), _) => ino.add_watch(path, FILE_MASK),
            (On::Parent, Some(parent)) => ino.add_watch(parent, dir_mask),
            (On::Parent, None) => return false,
        };
        // A watch that cannot be made (the user's limit, a directory not
        // there yet): the tick's check stands in.
        *slot = wd.ok().map(|wd| (wd, want));
        slot.is_some()
    }
}

#[derive(Clone, Copy)]
enum Which {
    Pointer,
    Record,
}

/// Drops a watch, unless the other one shares its descriptor (both on one
/// directory: the kernel gives one watch per inode).
fn unwatch(ino: &Option<Inotify>, slot: &mut Watch, other: Watch) {
    if let (Some(ino), Some((wd, _))) = (ino, slot.take()) {
        if other.map(|(w, _)| w) != Some(wd) {
            ino.rm_watch(wd);
        }
    }
}
