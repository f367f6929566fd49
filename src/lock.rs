//! The per-agent writer lock `DIR/.NAME.lock` (contract v2): every writer
//! of NAME holds `flock(LOCK_EX)` on it from before it reads the old beat
//! or the marker until after its rename and marker update, so a tick that
//! decided on an old beat can never rename over a newer native one.
//!
//! Two policies, as the contract has them: a native writer or a hook waits
//! at most [`NATIVE_WAIT`] and then writes without the lock (a hook must
//! never stall the agent), and a tick that cannot have it at once skips.
//!
//! The file is opened read-only (flock needs no write access, so a lock
//! file that root's cron created 0644 still serves the agent's user),
//! `O_NOFOLLOW` (a planted symlink is never followed) and `O_NONBLOCK` (a
//! planted FIFO never blocks the open); anything but a regular file is not
//! used. `--remove` unlinks the file while holding it; a writer that
//! was waiting on that inode finds, once it has the lock, that the path
//! now names another file or none, and starts over on the new one.

use crate::atomic;
use crate::error::Error;
use crate::{files, proc};
use std::fs::File;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::os::unix::io::AsRawFd;
use std::path::Path;
use std::time::Duration;

/// How long a native writer or a hook waits for the lock.
pub const NATIVE_WAIT: Duration = Duration::from_millis(200);

/// A held lock; released when dropped (closing the fd releases the flock).
#[derive(Debug)]
pub struct Lock {
    _file: File,
}

/// Why the lock was not had.
#[derive(Debug)]
pub enum Refused {
    /// Another writer holds it (for a tick: at once; else past the wait).
    Busy,
    /// The directory is missing, and the caller did not ask to create it
    /// (there is nothing to lock: no beat, no marker).
    NoDir,
    /// The lock cannot serve here: a symlink or FIFO planted at its path,
    /// or a filesystem without flock. Writers go on without it and say so
    /// (the message is the reason): refusing would let anyone who can write
    /// the directory stop an agent's beats.
    Unlockable(String),
    /// A system error that would fail the write as well (the directory is
    /// read-only, full, gone): the writer fails with it.
    Failed(Error),
}

/// How long to wait for a lock another writer holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    /// A tick: only if it is free now.
    Never,
    /// A native writer: up to this long.
    Upto(Duration),
}

impl Lock {
    /// Takes the lock of `dir/.name.lock`, creating the file (and with
    /// `create_dir`, the directory) if missing.
    pub fn take(
        dir: &Path,
        name: &str,
        wait: Wait,
        create_dir: bool,
    ) -> std::result::Result<Lock, Refused> {
        let path = files::lock(dir, name);
        let deadline = match wait {
            Wait::Never => proc::monotonic(),
            Wait::Upto(d) => proc::monotonic() + d,
        };
        let mut made_dir = false;
        // Each round opens the file and locks it; it starts over only when
        // a `--remove` unlinked the file it locked.
        loop {
            let flags = libc::O_RDONLY | libc::O_CREAT | libc::O_NOFOLLOW | libc::O_NONBLOCK;
            let file = match crate::sys::open(&path, flags, 0o644) {
                Ok(f) => f,
                // A missing or non-directory part of the path: `mkdir -p`
                // says best what is wrong (as for the temporary).
                Err(e)
                    if matches!(e.raw_os_error(), Some(libc::ENOENT | libc::ENOTDIR))
                        && !made_dir =>
                {
                    if !create_dir {
                        return Err(Refused::NoDir);
                    }
                    atomic::ensure_dir(dir).map_err(Refused::Failed)?;
                    made_dir = true;
                    continue;
                }
                Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
                    return Err(unlockable(&path, "a symlink"))
                }
                Err(e) => return Err(Refused::Failed(Error::io("open lock", &path, &e))),
            };
            let meta =
                fstat(&file).map_err(|e| Refused::Failed(Error::io("stat lock", &path, &e)))?;
            if meta.st_mode & libc::S_IFMT != libc::S_IFREG {
                return Err(unlockable(&path, "not a regular file"));
            }
            flock_until(&file, deadline).map_err(|e| match e {
                None => Refused::Busy,
                Some(e) => unlockable(&path, &crate::error::os_message(&e)),
            })?;
            // Still the file at `path`? Otherwise `--remove` unlinked it
            // while we waited: a lock on it excludes nobody.
            match std::fs::symlink_metadata(&path) {
                Ok(now) if now.dev() == meta.st_dev && now.ino() == meta.st_ino => {
                    return Ok(Lock { _file: file })
                }
                _ => continue,
            }
        }
    }
}

/// `fstat(2)` itself: std's `metadata` makes a `statx` and, when that
/// fails, more calls to find out why.
fn fstat(file: &File) -> io::Result<libc::stat> {
    // SAFETY: a valid fd and a zeroed stat for the kernel to fill.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    if unsafe { libc::fstat(file.as_raw_fd(), &mut st) } == 0 {
        Ok(st)
    } else {
        Err(io::Error::last_os_error())
    }
}

fn unlockable(path: &Path, why: &str) -> Refused {
    Refused::Unlockable(format!("unable to lock {}: {why}", path.display()))
}

/// `flock(LOCK_EX)` before `deadline`: `Err(None)` when it is still held
/// by another then. Polled with a short, growing sleep: flock has no
/// timeout of its own, and a timer signal would interrupt the caller too.
fn flock_until(file: &File, deadline: Duration) -> std::result::Result<(), Option<io::Error>> {
    let mut nap = Duration::from_micros(500);
    loop {
        // SAFETY: a valid fd.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
            return Ok(());
        }
        let e = io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EWOULDBLOCK) => {}
            Some(libc::EINTR) => continue,
            _ => return Err(Some(e)),
        }
        let left = deadline.saturating_sub(proc::monotonic());
        if left.is_zero() {
            return Err(None);
        }
        std::thread::sleep(nap.min(left));
        nap = (nap * 2).min(Duration::from_millis(10));
    }
}

/// Removes the lock file (`--remove`), while the caller holds it.
pub fn remove(dir: &Path, name: &str) -> crate::error::Result<()> {
    crate::marker::remove(&files::lock(dir, name), "lock")
}
