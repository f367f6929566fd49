//! Atomic replacement of a file: an exclusive temporary beside the target,
//! written and swapped into its place ([`AtomicFile::commit`]), so a reader
//! sees the old file or the new one, never a part. Also the sweeping of temporaries that killed writers
//! left behind.
//!
//! No fsync (contract v2): a beat is runtime state, like a file in `/run`.
//! The rename is atomic for every process on the host, which is all a
//! reader needs; what a power cut leaves (an empty or old beat) is listed
//! as `invalid (empty)` or stale, and every agent is gone by then anyway.
//! A hook runs inside the agent's tool call, so a write must never wait
//! for the disk (an fsync cost about 95 ms at p99 under disk load).
//!
//! A temporary is named `.TARGET.PID.RAND`: a dot-file (listings skip it),
//! carrying the writer's pid (so a sweeper can tell a dead writer's litter
//! from a live writer's work) and 8 random characters (so two writers never
//! pick the same name). It never ends in the target's suffix, so a collector
//! globbing `*.prom` cannot pick up a half-written export.

use crate::error::{Error, Result};
use crate::proc;
use crate::sys;
use std::ffi::{OsStr, OsString};
use std::fs::{self, File};
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::DirBuilderExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// A temporary older than this is stale even if its writer's pid is alive
/// (the pid may have been reused).
pub const STALE_TEMP_AGE: Duration = Duration::from_secs(60);
const RAND_LEN: usize = 8;

/// A temporary that becomes `target` on [`AtomicFile::commit`], and is
/// removed if dropped before that, so an early `?` never leaves litter.
pub struct AtomicFile {
    file: File,
    temp: PathBuf,
    target: PathBuf,
    committed: bool,
}

impl AtomicFile {
    /// Creates the temporary for `dir/name`, mode 0644 before umask, and
    /// with `create_dir`, `dir` too if it is missing. `O_EXCL|O_NOFOLLOW`
    /// means a planted file or symlink at the chosen name fails the open
    /// rather than redirecting the write.
    pub fn create(dir: &Path, name: &OsStr, create_dir: bool) -> Result<AtomicFile> {
        let target = dir.join(name);
        let (mut planted, mut made_dir) = (0, false);
        loop {
            let temp = dir.join(temp_name(name, proc::own_pid()));
            let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW;
            match sys::open(&temp, flags, 0o644) {
                Ok(file) => {
                    return Ok(AtomicFile {
                        file,
                        temp,
                        target,
                        committed: false,
                    })
                }
                // Someone planted a file at our random name: pick another.
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && planted < 8 => planted += 1,
                // Only now, not before every write: the directory almost
                // always exists, and asking costs two system calls. A
                // missing or non-directory part of the path is reported
                // by `mkdir -p`, which says it best.
                Err(e)
                    if matches!(e.raw_os_error(), Some(libc::ENOENT | libc::ENOTDIR))
                        && create_dir
                        && !made_dir =>
                {
                    ensure_dir(dir)?;
                    made_dir = true;
                }
                Err(e) => return Err(Error::io("create temporary", &temp, &e)),
            }
        }
    }

    pub fn write_all(&mut self, bytes: &[u8]) -> Result<()> {
        self.file
            .write_all(bytes)
            .map_err(|e| Error::io("write", &self.temp, &e))
    }

    /// Puts the temporary in the target's place (no fsync: see the module
    /// comment). An existing target is swapped out with `RENAME_EXCHANGE`
    /// and its old file then removed, rather than renamed over: ext4 (with
    /// its default `auto_da_alloc`) flushes a file renamed over another
    /// before the rename returns, so under another process's fsync load a
    /// plain rename waited 82 ms at p99 here, the exchange 0.15 ms. Readers
    /// see the old file or the new one either way. Where there is no
    /// target yet, or the filesystem cannot exchange, a plain rename.
    pub fn commit(mut self) -> Result<()> {
        let failed = |e: &io::Error| {
            Error::System(format!(
                "unable to rename {} into {}: {}",
                self.temp.display(),
                self.target.display(),
                crate::error::os_message(e)
            ))
        };
        match sys::exchange(&self.temp, &self.target) {
            Ok(()) => {
                // The old file is at the temporary's name now.
                self.committed = true;
                if let Err(e) = fs::remove_file(&self.temp) {
                    if e.raw_os_error() == Some(libc::EISDIR) {
                        // A directory stood at the target, which a rename
                        // would have refused: put it back, and refuse.
                        let _ = sys::exchange(&self.temp, &self.target);
                        self.committed = false;
                        return Err(failed(&io::Error::from_raw_os_error(libc::EISDIR)));
                    }
                    // Once more; else the sweep takes it (its writer,
                    // this process, will be gone).
                    let _ = fs::remove_file(&self.temp);
                }
                Ok(())
            }
            Err(e)
                if matches!(
                    e.raw_os_error(),
                    Some(libc::ENOENT | libc::EINVAL | libc::ENOSYS | libc::EOPNOTSUPP)
                ) =>
            {
                fs::rename(&self.temp, &self.target).map_err(|e| failed(&e))?;
                self.committed = true;
                Ok(())
            }
            Err(e) => Err(failed(&e)),
        }
    }

    pub fn temp_path(&self) -> &Path {
        &self.temp
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_file(&self.temp);
        }
    }
}

/// Writes `bytes` to `dir/name` atomically; see [`AtomicFile::create`].
pub fn write_file(dir: &Path, name: &OsStr, bytes: &[u8], create_dir: bool) -> Result<()> {
    let mut f = AtomicFile::create(dir, name, create_dir)?;
    f.write_all(bytes)?;
    f.commit()
}

/// Creates `dir` and its parents like `mkdir -p`, mode 0755 before umask.
pub fn ensure_dir(dir: &Path) -> Result<()> {
    match fs::DirBuilder::new()
        .recursive(true)
        .mode(0o755)
        .create(dir)
    {
        Ok(()) => Ok(()),
        // `mkdir -p` answers "File exists" when it cannot stat what is
        // there: look again, and report the real reason.
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => match fs::metadata(dir) {
            Ok(m) if m.is_dir() => Ok(()),
            Ok(_) => Err(Error::io("create directory", dir, &e)),
            Err(stat) => Err(Error::io("create directory", dir, &stat)),
        },
        Err(e) => Err(Error::io("create directory", dir, &e)),
    }
}

fn temp_name(target: &OsStr, pid: u32) -> OsString {
    let mut n = crate::files::temp_prefix(target);
    let mut rng = rng();
    let rand: String = (0..RAND_LEN).map(|_| rng.alphanumeric()).collect();
    n.push(format!("{pid}.{rand}"));
    n
}

/// If `file` is a temporary of `target`, the pid of the writer that made it.
fn temp_owner(file: &[u8], target: &[u8]) -> Option<u32> {
    let prefix = crate::files::temp_prefix(OsStr::from_bytes(target));
    let rest = file.strip_prefix(prefix.as_bytes())?;
    let dot = rest.iter().position(|&c| c == b'.')?;
    let (pid, rand) = (&rest[..dot], &rest[dot + 1..]);
    let valid_rand = rand.len() == RAND_LEN && rand.iter().all(u8::is_ascii_alphanumeric);
    if pid.is_empty() || pid.len() > 10 || !valid_rand {
        return None;
    }
    std::str::from_utf8(pid).ok()?.parse().ok()
}

/// Removes the stale temporaries of `dir/target`: those whose writer has
/// exited (or is this very process, which is not writing now), and those
/// older than [`STALE_TEMP_AGE`]. Returns how many it removed. Best effort:
/// a temporary another sweeper removed first is not an error.
pub fn sweep(dir: &Path, target: &OsStr) -> usize {
    let Ok(entries) = sys::dir_entries(dir) else {
        return 0;
    };
    let me = proc::own_pid();
    let now = proc::now_nanos();
    let mut removed = 0;
    for sys::Entry { name: file, .. } in entries {
        let Some(owner) = temp_owner(file.as_bytes(), target.as_bytes()) else {
            continue;
        };
        let path = dir.join(&file);
        let old = fs::symlink_metadata(&path)
            .ok()
            .map(|m| now - (i128::from(m.mtime()) * 1_000_000_000 + i128::from(m.mtime_nsec())))
            .is_some_and(|age| age > STALE_TEMP_AGE.as_nanos() as i128);
        if (old || owner == me || !proc::pid_exists(owner)) && fs::remove_file(&path).is_ok() {
            removed += 1;
        }
    }
    removed
}

/// One write in `SWEEP_ODDS` sweeps: amortised O(1) per write, and after 300
/// writes the chance that none swept is (15/16)^300, about 4e-9.
pub const SWEEP_ODDS: u32 = 16;

pub fn should_sweep() -> bool {
    rng().u32(..SWEEP_ODDS) == 0
}

/// The generator for temporary names and sweeping odds. Not fastrand's
/// global one: its thread-local seeding (std's hasher, thread ids, the
/// clock) costs each binary about 5 KB. Seeded by the kernel once per
/// process; each call then carries the stream on, so a sidecar's ticks
/// make no system call for it.
fn rng() -> fastrand::Rng {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let mut seed = NEXT.load(Ordering::Relaxed);
    if seed == 0 {
        let mut bytes = [0u8; 8];
        // SAFETY: a valid buffer of that length.
        let n =
            unsafe { libc::getrandom(bytes.as_mut_ptr().cast(), bytes.len(), libc::GRND_NONBLOCK) };
        seed = u64::from_ne_bytes(bytes);
        if n != 8 {
            // No entropy yet (early boot): the pid and the clock still
            // differ between writers.
            seed ^= u64::from(proc::own_pid()) << 32 ^ proc::now_nanos() as u64;
        }
    }
    let mut rng = fastrand::Rng::with_seed(seed);
    // Never 0, which means "not seeded yet".
    NEXT.store(rng.u64(..) | 1, Ordering::Relaxed);
    rng
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tempdir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "hb-atomic-{tag}-{}-{}",
            std::process::id(),
            fastrand::u64(..)
        ));
        fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn temp_names_are_recognised_only_for_their_target() {
        assert_eq!(temp_owner(b".a.hb.123.abcdEFGH", b"a.hb"), Some(123));
        assert_eq!(temp_owner(b".a.hb.123.abcdEFG", b"a.hb"), None);
        assert_eq!(temp_owner(b".a-b.hb.123.abcdEFGH", b"a.hb"), None);
        assert_eq!(temp_owner(b".a.hb.native.123.abcdEFGH", b"a.hb"), None);
        assert_eq!(temp_owner(b"a.hb.123.abcdEFGH", b"a.hb"), None);
        assert_eq!(temp_owner(b".a.hb..abcdEFGH", b"a.hb"), None);
        let n = temp_name(OsStr::new("m.prom"), 77);
        assert_eq!(temp_owner(n.as_bytes(), b"m.prom"), Some(77));
        assert!(!n.as_bytes().ends_with(b".prom"));
    }

    #[test]
    fn commit_replaces_and_drop_cleans_up() {
        let d = tempdir("commit");
        write_file(&d, OsStr::new("a.hb"), b"one", false).unwrap();
        write_file(&d, OsStr::new("a.hb"), b"two", false).unwrap();
        assert_eq!(fs::read(d.join("a.hb")).unwrap(), b"two");
        {
            let mut f = AtomicFile::create(&d, OsStr::new("a.hb"), false).unwrap();
            f.write_all(b"never").unwrap();
            assert!(f.temp_path().exists());
        }
        let names: Vec<_> = fs::read_dir(&d)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![OsString::from("a.hb")]);
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn sweep_removes_dead_writers_temps_and_keeps_live_ones() {
        let d = tempdir("sweep");
        // pid 1 is alive; 2^31-1 is not a pid any kernel hands out.
        let live = d.join(".a.hb.1.AAAAAAAA");
        let dead = d.join(".a.hb.2147483647.BBBBBBBB");
        let mine = d.join(format!(".a.hb.{}.CCCCCCCC", std::process::id()));
        let other = d.join(".b.hb.2147483647.DDDDDDDD");
        for p in [&live, &dead, &mine, &other] {
            fs::write(p, b"x").unwrap();
        }
        assert_eq!(sweep(&d, OsStr::new("a.hb")), 2);
        assert!(live.exists() && other.exists());
        assert!(!dead.exists() && !mine.exists());
        fs::remove_dir_all(&d).unwrap();
    }
}
