//! The sidecar loop (`hb-write --sidecar`): one long-lived process that
//! writes a fallback beat at once and then every interval, deferring while
//! the native marker is fresh, until the watched pid ends or a signal asks
//! it to stop.
//!
//! One thread, no fork, no busy wait: the loop sleeps in `poll(2)` on a
//! signalfd (SIGTERM, SIGINT), a pidfd of the watched process and the
//! inotify descriptor that follows the runtime's record ([`Watcher`]: the
//! ends of turns that fire no hook), with a timeout to the next tick. Ticks fall on absolute monotonic deadlines
//! `start + k x interval`, so the schedule never drifts however long a
//! write takes; deadlines missed (a stopped or starved process) are
//! skipped, not caught up in a burst. A pending signal always wins over a
//! due tick, so SIGTERM never costs one more write.

use crate::error::{Error, Result};
use crate::tick::{self, Agent, Decided, Then, Ticked};
use crate::turn::watch::Watcher;
use crate::{poller, proc};
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::path::PathBuf;
use std::time::Duration;

/// Sweep stale temporaries every this many ticks (and at start).
const SWEEP_EVERY: u64 = 32;

#[derive(Debug, Clone)]
pub struct Sidecar {
    pub dir: PathBuf,
    pub name: String,
    pub interval: u32,
    /// The pid written into beats.
    pub pid: u32,
    /// The process whose end stops the loop.
    pub while_pid: Option<u32>,
}

/// How the watched process is followed: a pidfd, or a check each tick on
/// kernels without `pidfd_open` (before 5.3).
enum Watch {
    None,
    Pidfd(OwnedFd),
    Poll { pid: u32, pstart: Option<u64> },
}

impl Watch {
    fn open(pid: Option<u32>) -> Result<Option<Watch>> {
        let Some(pid) = pid else {
            return Ok(Some(Watch::None));
        };
        let err = match poller::pidfd_open(pid) {
            Ok(fd) => return Ok(Some(Watch::Pidfd(fd))),
            Err(e) => e,
        };
        match err.raw_os_error() {
            Some(libc::ESRCH) => Ok(None), // already gone
            Some(libc::ENOSYS) | Some(libc::EPERM) => {
                if proc::pid_exists(pid) {
                    Ok(Some(Watch::Poll {
                        pid,
                        pstart: proc::pstart(pid),
                    }))
                } else {
                    Ok(None)
                }
            }
            _ => Err(Error::System(format!(
                "unable to watch pid {pid}: {}",
                crate::error::os_message(&err)
            ))),
        }
    }

    /// For the tick check without a pidfd: has the process ended (or been
    /// replaced by another with the same pid)? A zombie has ended too:
    /// `kill(pid, 0)` still succeeds on it until its parent reaps it, and a
    /// parent that never reaps must not keep the agent "alive".
    fn ended_by_check(&self) -> bool {
        match self {
            Watch::Poll { pid, pstart } => !proc::alive(*pid, *pstart),
            _ => false,
        }
    }
}

fn sys(what: &str) -> Error {
    Error::System(format!(
        "unable to {what}: {}",
        crate::error::os_message(&io::Error::last_os_error())
    ))
}

enum Wake {
    Deadline,
    Signal,
    WatchedExit,
    /// The record's watch has news ([`turn::watch`]).
    Turn,
}

/// Sleeps until `deadline`, a signal, the watched process's end, or news
/// on `turn` (the record's inotify descriptor). Always polls at least once
/// (with no wait when the deadline has passed), so a signal or an exit
/// that is already pending wins over a due tick, and a due tick wins over
/// the record's news (which waits to the next round, so a storm of events
/// cannot starve the ticks).
fn wait_until(
    deadline: Duration,
    sig: &OwnedFd,
    watch: &Watch,
    turn: Option<RawFd>,
) -> Result<Wake> {
    loop {
        // Round up so we never wake a hair early and spin.
        let left = deadline.saturating_sub(proc::monotonic());
        let ms = left
            .as_millis()
            .saturating_add(u128::from(left.subsec_nanos() % 1_000_000 != 0));
        let timeout = i32::try_from(ms).unwrap_or(i32::MAX);
        let mut fds = [
            libc::pollfd {
                fd: sig.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: match watch {
                    Watch::Pidfd(fd) => fd.as_raw_fd(),
                    _ => -1, // poll ignores negative fds
                },
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: turn.unwrap_or(-1),
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        // SAFETY: fds is a valid array of three pollfd.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), 3, timeout) };
        if n < 0 {
            if io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            return Err(sys("poll"));
        }
        if fds[0].revents != 0 {
            return Ok(Wake::Signal);
        }
        if fds[1].revents != 0 {
            return Ok(Wake::WatchedExit);
        }
        if proc::monotonic() >= deadline {
            return Ok(Wake::Deadline);
        }
        if fds[2].revents != 0 {
            return Ok(Wake::Turn);
        }
    }
}

/// The next deadline strictly after `now` on the grid `start + k x step`.
fn next_deadline(start: Duration, step: Duration, now: Duration) -> Duration {
    let elapsed = now.saturating_sub(start).as_nanos();
    let k = elapsed / step.as_nanos() + 1;
    start + Duration::from_nanos((k * step.as_nanos()) as u64)
}

/// The agent ended: a last beat with `status=exited`, and the marker goes
/// too, since no native writer outlives its agent. It waits for the lock
/// as a native writer does: it is the last word, and must not be skipped.
fn write_exited(s: &Sidecar, pstart: Option<u64>) -> Result<()> {
    let warn = &mut warn;
    tick::write_given(&s.dir, &s.name, Then::Remove, warn, |_| {
        Ok(Some(Decided {
            pid: s.pid,
            status: "exited".into(),
            model: None,
            pstart,
            pidns: None,
        }))
    })
    .map(drop)
}

/// A warning on stderr. A closed stderr must not end the loop (nor panic,
/// as `eprintln!` would).
fn warn(w: String) {
    crate::cli::eprint_line(&format!("hb-write: warning: {w}"));
}

/// A notice about the lock is given at most this often.
const NOTICE_EVERY: Duration = Duration::from_secs(60);

pub fn run(s: &Sidecar) -> Result<()> {
    let sig = poller::signal_fd(&[libc::SIGTERM, libc::SIGINT])?;
    // What does not change over the agent's life, read once at start.
    let host = proc::hostname();
    let pstart = proc::pstart(s.pid);
    let agent = Agent::Pid { pid: s.pid, pstart };
    // The first write creates the directory if it is missing.
    tick::sweep(&s.dir, &s.name);
    let Some(watch) = Watch::open(s.while_pid)? else {
        return write_exited(s, pstart);
    };

    let step = Duration::from_secs(u64::from(s.interval));
    let start = proc::monotonic();
    let mut deadline = start; // the first tick is due at once
    let mut ticks: u64 = 0;
    // Lock notices (a tick skipped, a lock that cannot serve) at most once
    // a minute: one every tick would flood the pane's log.
    let mut last_notice: Option<Duration> = None;
    let mut notice = |w: String| {
        let now = proc::monotonic();
        if last_notice.map_or(true, |t| now.saturating_sub(t) >= NOTICE_EVERY) {
            last_notice = Some(now);
            warn(format!("{w} (said at most once a minute)"));
        }
    };
    // The ends of turns that fire no hook, from the runtime's record.
    let mut turns = Watcher::new(&s.dir, &s.name, |rt| {
        crate::hooks::runtime(rt).map(|r| (r.settle, r.starts))
    });
    loop {
        match wait_until(deadline, &sig, &watch, turns.fd())? {
            Wake::Deadline => {}
            Wake::Signal => return Ok(()),
            Wake::WatchedExit => return write_exited(s, pstart),
            Wake::Turn => {
                turns.ready(&mut notice);
                continue;
            }
        }
        if watch.ended_by_check() {
            return write_exited(s, pstart);
        }
        let ticked = tick::fallback(
            &s.dir,
            &s.name,
            s.interval,
            agent,
            host.as_deref(),
            &mut notice,
        );
        match ticked {
            Ok(Ticked::Skipped) => notice(format!(
                "lock {} held by another writer: tick skipped",
                crate::files::lock(&s.dir, &s.name).display()
            )),
            Ok(_) => {}
            // A broken set-up shows at once; later faults (a full disk for
            // a while) are reported and retried on the next tick.
            Err(e) if ticks == 0 => return Err(e),
            Err(e) => warn(e.to_string()),
        }
        // After the tick, which made the directory.
        turns.tick(&mut notice);
        ticks += 1;
        if ticks % SWEEP_EVERY == 0 {
            tick::sweep(&s.dir, &s.name);
        }
        deadline = next_deadline(start, step, proc::monotonic());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines_stay_on_the_grid_and_skip_missed_ones() {
        let start = proc::monotonic();
        let step = Duration::from_secs(10);
        let at = |ms| start + Duration::from_millis(ms);
        assert_eq!(next_deadline(start, step, at(0)), at(10_000));
        assert_eq!(next_deadline(start, step, at(9_999)), at(10_000));
        assert_eq!(next_deadline(start, step, at(10_000)), at(20_000));
        // A write that took 3 s does not push the schedule back.
        assert_eq!(next_deadline(start, step, at(13_000)), at(20_000));
        // After a long stall, the next tick is the next grid point.
        assert_eq!(next_deadline(start, step, at(1_234_567)), at(1_240_000));
    }

    /// A child that was killed but not reaped is a zombie: `kill(pid, 0)`
    /// still succeeds, and the check without a pidfd must see it as ended.
    #[test]
    fn the_check_without_a_pidfd_sees_a_zombie_as_ended() {
        let mut child = std::process::Command::new("sleep")
            .arg("1000")
            .spawn()
            .unwrap();
        let pid = child.id();
        let watch = Watch::Poll {
            pid,
            pstart: proc::pstart(pid),
        };
        assert!(!watch.ended_by_check());
        child.kill().unwrap();
        let end = proc::monotonic() + Duration::from_secs(10);
        while !watch.ended_by_check() {
            assert!(proc::monotonic() < end, "pid {pid} never ended");
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(proc::pid_exists(pid), "kill(0) should still see the zombie");
        child.wait().unwrap();
        assert!(watch.ended_by_check());
    }

    #[test]
    fn a_pidfd_watch_wakes_when_the_process_ends() {
        let mut child = std::process::Command::new("sleep")
            .arg("1000")
            .spawn()
            .unwrap();
        let Some(watch @ Watch::Pidfd(_)) = Watch::open(Some(child.id())).unwrap() else {
            // A kernel without pidfd_open: nothing to test here.
            child.kill().unwrap();
            child.wait().unwrap();
            return;
        };
        // Not blocked here, so this signalfd never fires: only the pidfd can.
        let empty: libc::sigset_t = unsafe { std::mem::zeroed() };
        let quiet = unsafe { libc::signalfd(-1, &empty, libc::SFD_CLOEXEC) };
        assert!(quiet >= 0);
        let quiet = unsafe { std::os::fd::FromRawFd::from_raw_fd(quiet) };
        let soon = proc::monotonic() + Duration::from_millis(50);
        assert!(matches!(
            wait_until(soon, &quiet, &watch, None).unwrap(),
            Wake::Deadline
        ));
        child.kill().unwrap();
        let far = proc::monotonic() + Duration::from_secs(30);
        assert!(matches!(
            wait_until(far, &quiet, &watch, None).unwrap(),
            Wake::WatchedExit
        ));
        assert!(proc::monotonic() < far);
        child.wait().unwrap();
    }
}
