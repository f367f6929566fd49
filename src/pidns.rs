//! Pid namespaces (contract v4): which namespace a pid belongs to, and
//! where a beat's pid can be checked from here.
//!
//! A writer in a sandbox or container (`unshare --pid`, `bwrap
//! --unshare-pid`, podman, docker) names a pid of its own namespace and
//! records that namespace's inode as `pidns`. A reader in another
//! namespace maps it: the process here whose `/proc/PID/ns/pid` is that
//! inode and whose `NSpid:` line (in `/proc/PID/status`) ends with the
//! beat's pid. A namespace it cannot see (a reader inside a sandbox, a
//! process it may not inspect) leaves the pid unknown, never dead.
//!
//! Cost: a [`View`] looks through `/proc` at most once, and only when a
//! beat names a namespace other than the reader's: newest process first,
//! one `stat` of `ns/pid` each, `/proc/PID/status` only of the processes
//! in a namespace a beat names, each read once; a lookup stops at its
//! match, and the next one goes on from there. Only a pid that is not
//! found costs the whole of `/proc`.

use std::os::unix::fs::MetadataExt;

/// The inode of the initial pid namespace (`PROC_PID_INIT_INO`, fixed by
/// the kernel since Linux 3.8): a reader in it can see every other.
pub const INIT: u64 = 0xEFFF_FFFC;

/// The pid namespace of `/proc/WHO` (`self` or a pid), by its inode.
pub fn of(who: &str) -> Option<u64> {
    std::fs::metadata(format!("/proc/{who}/ns/pid"))
        .ok()
        .map(|m| m.ino())
}

/// This process's pid namespace, asked once.
pub fn own() -> Option<u64> {
    use std::sync::OnceLock;
    static OWN: OnceLock<Option<u64>> = OnceLock::new();
    *OWN.get_or_init(|| of("self"))
}

/// Where a beat's pid can be checked from here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Located {
    /// Check this pid here; `from` is the beat's own pid when it was
    /// mapped from its namespace. `strict`: the beat names another host,
    /// so only a matching start time says it is this process (a namespace
    /// inode of another machine may be one of ours by chance).
    Check {
        pid: u32,
        from: Option<u32>,
        strict: bool,
    },
    /// Known to have ended: its namespace is visible and holds no such
    /// pid, or the namespace is gone and this reader would see it.
    Gone,
    /// Cannot be checked: another host, or a namespace not visible here.
    Unknown,
}

impl Located {
    /// The reader's `alive`, with the beat's `pstart`.
    pub fn alive(self, pstart: Option<u64>) -> Option<bool> {
        match self {
            Located::Check {
                pid, strict: false, ..
            } => Some(crate::proc::alive(pid, pstart)),
            Located::Check {
                pid, strict: true, ..
            } => (pstart.is_some() && crate::proc::alive(pid, pstart)).then_some(true),
            Located::Gone => Some(false),
            Located::Unknown => None,
        }
    }

    /// The pid to show: the mapped one, else the beat's.
    pub fn shown(self, beat_pid: u32) -> (u32, Option<u32>) {
        match self {
            Located::Check { pid, from, .. } => (pid, from),
            _ => (beat_pid, None),
        }
    }
}

/// One process seen in the scan: its pid here, its namespace, and (read
/// when first needed) its pid in that namespace.
struct Entry {
    pid: u32,
    ns: u64,
    ns_pid: Option<Option<u32>>,
}

struct Scan {
    /// The pids not looked at yet, ascending: taken from the end, the
    /// newest first, since a sandbox's agent is most often among the
    /// newest processes and a lookup stops at its match.
    pending: Vec<u32>,
    /// The processes looked at, of namespaces other than ours.
    entries: Vec<Entry>,
    /// Every process's namespace could be read, from the initial
    /// namespace: a namespace not found is gone, not hidden.
    complete: bool,
}

impl Scan {
    /// The pids in `/proc`, none looked at yet.
    fn new(own: Option<u64>) -> Scan {
        // Not fs::read_dir, whose drop may panic (see sys::dir_entries).
        let listed = crate::sys::dir_entries("/proc".as_ref());
        let mut pending: Vec<u32> = listed
            .iter()
            .flatten()
            .filter_map(|d| d.name.to_str()?.parse().ok())
            .collect();
        pending.sort_unstable();
        Scan {
            pending,
            entries: Vec::new(),
            complete: listed.is_ok() && own == Some(INIT),
        }
    }

    /// Looks at the newest pid not looked at yet: its entry, when it is
    /// in another namespace than `own`; None when none is left.
    fn next(&mut self, own: Option<u64>) -> Option<Option<&mut Entry>> {
        let pid = self.pending.pop()?;
        match std::fs::metadata(format!("/proc/{pid}/ns/pid")) {
            Ok(m) if Some(m.ino()) != own => {
                self.entries.push(Entry {
                    pid,
                    ns: m.ino(),
                    ns_pid: None,
                });
                Some(self.entries.last_mut())
            }
            Ok(_) => Some(None),
            // Gone since the listing: nothing hidden. Pid 1 here is the
            // init of our own namespace, whatever hides it.
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) || pid == 1 => Some(None),
            Err(_) => {
                self.complete = false;
                Some(None)
            }
        }
    }
}

/// What a reader knows of the namespaces around it; one per listing, tick
/// or hook call, so `/proc` is scanned at most once each.
pub struct View {
    own: Option<u64>,
    scan: Option<Scan>,
}

impl Default for View {
    fn default() -> Self {
        View::new()
    }
}

impl View {
    pub fn new() -> View {
        View {
            own: own(),
            scan: None,
        }
    }

    /// Where the pid of a beat (its `pid`, `pidns`, and whether its `host`
    /// is this one) can be checked.
    pub fn locate(&mut self, pid: u32, pidns: Option<u64>, local_host: bool) -> Located {
        let here = Located::Check {
            pid,
            from: None,
            strict: false,
        };
        let ns = match (pidns, self.own) {
            // No namespace said, or ours unknown (no /proc): as before v4.
            (None, _) | (_, None) => return if local_host { here } else { Located::Unknown },
            (Some(ns), Some(own)) if ns == own => {
                return if local_host { here } else { Located::Unknown }
            }
            (Some(ns), Some(_)) => ns,
        };
        let own = self.own;
        let scan = self.scan.get_or_insert_with(|| Scan::new(own));
        let found = |e: &mut Entry| {
            let ns_pid = *e.ns_pid.get_or_insert_with(|| ns_pid_of(e.pid));
            (ns_pid == Some(pid)).then_some(Located::Check {
                pid: e.pid,
                from: Some(pid),
                strict: !local_host,
            })
        };
        // The processes looked at already, then the rest, newest first;
        // each process's status is read at most once.
        let mut visible = false;
        for e in scan.entries.iter_mut().filter(|e| e.ns == ns) {
            visible = true;
            if let Some(at) = found(e) {
                return at;
            }
        }
        while let Some(next) = scan.next(own) {
            if let Some(e) = next.filter(|e| e.ns == ns) {
                visible = true;
                if let Some(at) = found(e) {
                    return at;
                }
            }
        }
        match local_host && (visible || scan.complete) {
            true => Located::Gone,
            false => Located::Unknown,
        }
    }
}

/// The pid a process has in its own namespace: the last field of its
/// `NSpid:` line.
fn ns_pid_of(pid: u32) -> Option<u32> {
    use std::io::Read;
    let f = std::fs::File::open(format!("/proc/{pid}/status")).ok()?;
    let mut buf = Vec::with_capacity(2048);
    f.take(8192).read_to_end(&mut buf).ok()?;
    last_ns_pid(&buf)
}

/// The last field of the `NSpid:` line of a `/proc/PID/status`.
pub fn last_ns_pid(status: &[u8]) -> Option<u32> {
    let line = status
        .split(|&c| c == b'\n')
        .find_map(|l| l.strip_prefix(b"NSpid:"))?;
    let last = line
        .split(|c| c.is_ascii_whitespace())
        .rfind(|f| !f.is_empty())?;
    std::str::from_utf8(last).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_nspid_field_is_the_pid_inside() {
        assert_eq!(
            last_ns_pid(b"Name:\tx\nNSpid:\t4242\t2\nNSpgid:\t1\n"),
            Some(2)
        );
        assert_eq!(last_ns_pid(b"NSpid:\t77\n"), Some(77));
        assert_eq!(last_ns_pid(b"NSpid:\t77\t\n"), Some(77));
        assert_eq!(last_ns_pid(b"Name:\tx\n"), None);
        assert_eq!(last_ns_pid(b"NSpid:\tx\n"), None);
    }

    #[test]
    fn our_own_namespace_is_checked_as_before() {
        let me = std::process::id();
        let mut v = View::new();
        let here = Located::Check {
            pid: me,
            from: None,
            strict: false,
        };
        assert_eq!(v.locate(me, None, true), here);
        assert_eq!(v.locate(me, own(), true), here);
        assert_eq!(v.locate(me, own(), false), Located::Unknown);
        assert!(v.scan.is_none(), "no scan for our own namespace");
    }

    #[test]
    fn a_namespace_nobody_is_in_is_unknown_unless_all_is_seen() {
        let mut v = View::new();
        // No process has inode 1 as its namespace.
        let got = v.locate(5, Some(1), true);
        let complete = v.scan.as_ref().unwrap().complete;
        assert_eq!(
            got,
            if complete {
                Located::Gone
            } else {
                Located::Unknown
            }
        );
        assert_eq!(v.locate(5, Some(1), false), Located::Unknown);
        assert_eq!(Located::Unknown.alive(Some(3)), None);
        assert_eq!(Located::Gone.alive(None), Some(false));
    }
}
