//! Waiting on the kernel for the long-running commands: one `epoll` set
//! over every descriptor a loop cares about (signals through a signalfd,
//! inotify, pidfds of agents and the terminal), each registered under a
//! token the loop chose, so a loop sleeps in one system call and wakes
//! only for what happened. Also the two descriptors those loops make
//! themselves: a signalfd for the signals they handle, and a pidfd that
//! becomes readable when a process ends.

use crate::error::{Error, Result};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// An epoll set.
pub struct Poller {
    epfd: OwnedFd,
}

/// One readiness report: the token a descriptor was added under, and its
/// epoll events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ready {
    pub token: u64,
    pub events: u32,
}

impl Poller {
    pub fn new() -> Result<Poller> {
        // SAFETY: epoll_create1 returns a new fd or -1.
        let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if fd < 0 {
            return Err(sys_error("create an epoll set"));
        }
        // SAFETY: the fd is new and ours.
        Ok(Poller {
            epfd: unsafe { OwnedFd::from_raw_fd(fd) },
        })
    }

    /// Adds `fd` for `events` (`EPOLLIN`, or 0 for only its errors and
    /// hang-ups, which epoll always reports).
    pub fn add(&self, fd: RawFd, token: u64, events: u32) -> io::Result<()> {
        let mut ev = libc::epoll_event { events, u64: token };
        // SAFETY: a valid epoll fd and event struct.
        let r = unsafe { libc::epoll_ctl(self.epfd.as_raw_fd(), libc::EPOLL_CTL_ADD, fd, &mut ev) };
        if r == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }

    /// Removes `fd`; one that is not in the set is no error (closing a
    /// descriptor removes it anyway).
    pub fn remove(&self, fd: RawFd) {
        let mut ev = libc::epoll_event { events: 0, u64: 0 };
        // SAFETY: as in add; the result does not matter.
        unsafe { libc::epoll_ctl(self.epfd.as_raw_fd(), libc::EPOLL_CTL_DEL, fd, &mut ev) };
    }

    /// Waits up to `timeout_ms` (-1: for ever) and fills `out` with what is
    /// ready; a signal that interrupts the wait gives an empty `out`.
    pub fn wait(&self, out: &mut Vec<Ready>, timeout_ms: i32) -> Result<()> {
        const MAX: usize = 64;
        let mut evs = [libc::epoll_event { events: 0, u64: 0 }; MAX];
        out.clear();
        // SAFETY: a buffer of MAX events.
        let n = unsafe {
            libc::epoll_wait(
                self.epfd.as_raw_fd(),
                evs.as_mut_ptr(),
                MAX as i32,
                timeout_ms,
            )
        };
        if n < 0 {
            if io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
                return Ok(());
            }
            return Err(sys_error("wait for events"));
        }
        out.extend(evs.iter().take(n as usize).map(|e| Ready {
            token: e.u64,
            events: e.events,
        }));
        Ok(())
    }
}

/// The token of the signalfd in a loop's set ([`Poller::with_signals`]).
pub const TOKEN_SIGNALS: u64 = 0;

impl Poller {
    /// A set holding a signalfd for `signals` (blocked from here on) under
    /// [`TOKEN_SIGNALS`]; the signalfd, for [`read_signals`].
    pub fn with_signals(signals: &[libc::c_int]) -> Result<(Poller, OwnedFd)> {
        let sig = signal_fd(signals)?;
        let p = Poller::new()?;
        p.add(sig.as_raw_fd(), TOKEN_SIGNALS, libc::EPOLLIN as u32)
            .map_err(|e| {
                Error::System(format!(
                    "unable to wait for signals: {}",
                    crate::error::os_message(&e)
                ))
            })?;
        Ok((p, sig))
    }
}

/// A wait's timeout in milliseconds: to just past the next second of the
/// wall clock, when ages change, or to `cap` when that is sooner. The
/// long-running loops wake on each second this way, and never spin.
pub fn timeout_ms(cap: Option<std::time::Duration>) -> i32 {
    let into = crate::proc::now_nanos().rem_euclid(1_000_000_000) as i64;
    let ms = (1_000_000_000 - into) / 1_000_000 + 2;
    let cap = cap.map_or(i64::MAX, |d| d.as_millis().min(i64::MAX as u128) as i64 + 1);
    ms.min(cap).clamp(1, 1002) as i32
}

/// Blocks `signals` and returns a signalfd that reads them, so a loop
/// learns of them in its wait and ends cleanly. The mask is inherited
/// across fork and exec: a program started later must clear it.
pub fn signal_fd(signals: &[libc::c_int]) -> Result<OwnedFd> {
    // SAFETY: plain libc calls on a zeroed sigset we own.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for &s in signals {
            libc::sigaddset(&mut set, s);
        }
        if libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) != 0 {
            return Err(sys_error("block signals"));
        }
        let fd = libc::signalfd(-1, &set, libc::SFD_CLOEXEC | libc::SFD_NONBLOCK);
        if fd < 0 {
            return Err(sys_error("create signalfd"));
        }
        Ok(OwnedFd::from_raw_fd(fd))
    }
}

/// The signals waiting on a signalfd, oldest first (each kind at most once:
/// the kernel keeps one of each pending).
pub fn read_signals(fd: &OwnedFd) -> Vec<libc::c_int> {
    let mut out = Vec::new();
    loop {
        // SAFETY: signalfd_siginfo is plain data; read fills it or fails.
        let mut info: libc::signalfd_siginfo = unsafe { std::mem::zeroed() };
        let size = std::mem::size_of::<libc::signalfd_siginfo>();
        let n = unsafe {
            libc::read(
                fd.as_raw_fd(),
                (&mut info as *mut libc::signalfd_siginfo).cast(),
                size,
            )
        };
        if n != size as isize {
            return out;
        }
        out.push(info.ssi_signo as libc::c_int);
    }
}

/// `pidfd_open(2)`: a descriptor that becomes readable when the process
/// ends (a zombie has ended). ESRCH: it is gone already; ENOSYS before
/// Linux 5.3.
pub fn pidfd_open(pid: u32) -> io::Result<OwnedFd> {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return Err(io::Error::from_raw_os_error(libc::ESRCH));
    };
    // SAFETY: pidfd_open takes a pid and flags and returns a new fd.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the kernel just gave us this fd; we own it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// Raises the soft limit on open files to the hard one: a follower holds a
/// pidfd per agent, and the usual soft limit of 1024 is below a large
/// fleet. Where it cannot, agents past the limit are checked by reading
/// `/proc` instead, so a failure here is no error.
pub fn raise_fd_limit() {
    // SAFETY: getrlimit fills the struct; setrlimit reads it.
    unsafe {
        let mut l = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut l) == 0 && l.rlim_cur < l.rlim_max {
            l.rlim_cur = l.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &l);
        }
    }
}

fn sys_error(what: &str) -> Error {
    Error::System(format!(
        "unable to {what}: {}",
        crate::error::os_message(&io::Error::last_os_error())
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pidfd_wakes_the_poller_when_its_process_ends() {
        let mut child = std::process::Command::new("sleep")
            .arg("1000")
            .spawn()
            .unwrap();
        let fd = match pidfd_open(child.id()) {
            Ok(fd) => fd,
            Err(_) => {
                // A kernel without pidfd_open: nothing to test here.
                child.kill().unwrap();
                child.wait().unwrap();
                return;
            }
        };
        let p = Poller::new().unwrap();
        p.add(fd.as_raw_fd(), 7, libc::EPOLLIN as u32).unwrap();
        let mut out = Vec::new();
        p.wait(&mut out, 20).unwrap();
        assert!(out.is_empty(), "{out:?}");
        child.kill().unwrap();
        // Not reaped: a zombie has ended, and the pidfd says so.
        p.wait(&mut out, 30_000).unwrap();
        assert_eq!(out.iter().map(|r| r.token).collect::<Vec<_>>(), [7]);
        child.wait().unwrap();
        assert_eq!(
            pidfd_open(child.id()).unwrap_err().raw_os_error(),
            Some(libc::ESRCH)
        );
    }
}
