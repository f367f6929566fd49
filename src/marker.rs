//! The native marker `NAME.hb.native` and its freshness: is a native writer
//! active, so that the sidecar must not overwrite its beats?

use crate::error::{Error, Result};
use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::os::unix::io::AsRawFd;
use std::path::Path;

fn not_regular(path: &Path) -> Error {
    Error::System(format!(
        "unable to refresh marker {}: not a regular file",
        path.display()
    ))
}

/// Refuses a marker path that holds anything but a regular file (a missing
/// one is fine: [`touch`] creates it). Lets a writer refuse before it
/// writes a beat whose marker it could not refresh.
pub fn check_touchable(path: &Path) -> Result<()> {
    match fs::symlink_metadata(path) {
        Ok(m) if !m.file_type().is_file() => Err(not_regular(path)),
        _ => Ok(()),
    }
}

/// Creates the marker if missing and sets its mtime to now, never through
/// a symlink and never opening anything but a regular file.
pub fn touch(path: &Path) -> Result<()> {
    check_touchable(path)?;
    // O_NONBLOCK: should a FIFO appear between the check and the open, the
    // open fails or returns at once instead of waiting for a reader.
    let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_NOFOLLOW | libc::O_NONBLOCK;
    let file =
        crate::sys::open(path, flags, 0o644).map_err(|e| Error::io("open marker", path, &e))?;
    let meta = file
        .metadata()
        .map_err(|e| Error::io("stat marker", path, &e))?;
    if !meta.file_type().is_file() {
        return Err(not_regular(path));
    }
    // SAFETY: a valid fd; a null times pointer means "now".
    if unsafe { libc::futimens(file.as_raw_fd(), std::ptr::null()) } != 0 {
        return Err(Error::io(
            "set the time of marker",
            path,
            &io::Error::last_os_error(),
        ));
    }
    Ok(())
}

/// Removes a file; one that is already gone is not an error.
pub fn remove(path: &Path, what: &str) -> Result<()> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io(&format!("remove {what}"), path, &e)),
    }
}

/// What the marker says, with the facts behind the verdict.
#[derive(Debug, Clone, PartialEq)]
pub enum Freshness {
    /// Fresh: a native writer wrote `age_ns` ago.
    Fresh { age_ns: i128 },
    /// Not fresh, and why, with the marker's age where there is one.
    Stale { age_ns: Option<i128>, why: String },
}

impl Freshness {
    pub fn is_fresh(&self) -> bool {
        matches!(self, Freshness::Fresh { .. })
    }

    /// Is there a marker at all (a regular file, fresh or not)? A present
    /// one that is not fresh means a native writer owns the state but is
    /// quiet between events: the sidecar carries that state (v2).
    pub fn is_present(&self) -> bool {
        matches!(
            self,
            Freshness::Fresh { .. }
                | Freshness::Stale {
                    age_ns: Some(_),
                    ..
                }
        )
    }
}

/// Fresh when the marker is a regular file and
/// `-1 s <= now - mtime < 2 x interval`. A marker from the future (clock
/// stepped back) is not fresh, so a dead native writer cannot silence the
/// sidecar for long.
pub fn freshness(path: &Path, interval: u32, now_ns: i128) -> Result<Freshness> {
    let meta = match fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if matches!(e.raw_os_error(), Some(libc::ENOENT) | Some(libc::ENOTDIR)) => {
            return Ok(Freshness::Stale {
                age_ns: None,
                why: "no marker".into(),
            })
        }
        Err(e) => return Err(Error::io("stat marker", path, &e)),
    };
    if !meta.file_type().is_file() {
        return Ok(Freshness::Stale {
            age_ns: None,
            why: "marker is not a regular file".into(),
        });
    }
    let mtime_ns = i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec());
    Ok(judge(now_ns - mtime_ns, interval))
}

fn judge(age_ns: i128, interval: u32) -> Freshness {
    const SEC: i128 = 1_000_000_000;
    let limit = 2 * i128::from(interval) * SEC;
    if age_ns < -SEC {
        Freshness::Stale {
            age_ns: Some(age_ns),
            why: "marker is dated in the future".into(),
        }
    } else if age_ns >= limit {
        Freshness::Stale {
            age_ns: Some(age_ns),
            why: format!("marker is older than 2 x interval ({}s)", 2 * interval),
        }
    } else {
        Freshness::Fresh { age_ns }
    }
}

/// Is the native writer of `name` active right now?
pub fn is_fresh(dir: &Path, name: &str, interval: u32) -> Result<bool> {
    Ok(freshness(
        &crate::files::marker(dir, name),
        interval,
        crate::proc::now_nanos(),
    )?
    .is_fresh())
}

#[cfg(test)]
mod tests {
    use super::*;
    const SEC: i128 = 1_000_000_000;

    #[test]
    fn freshness_edges() {
        assert!(judge(0, 10).is_fresh());
        assert!(judge(-SEC, 10).is_fresh());
        assert!(!judge(-SEC - 1, 10).is_fresh());
        assert!(judge(20 * SEC - 1, 10).is_fresh());
        assert!(!judge(20 * SEC, 10).is_fresh());
        assert!(judge(2 * SEC - 1, 1).is_fresh());
        assert!(!judge(2 * SEC, 1).is_fresh());
        assert!(judge(172_799 * SEC, 86400).is_fresh());
        assert!(!judge(172_800 * SEC, 86400).is_fresh());
    }

    #[test]
    fn missing_marker_or_directory_is_not_fresh() {
        let p = Path::new("/nonexistent-hb-dir/x.hb.native");
        let f = freshness(p, 10, 0).unwrap();
        assert!(!f.is_fresh());
    }
}
