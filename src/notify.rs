//! `hb-read --follow --exec PROG [ARG...]`: a program run on each change,
//! the way `find -exec` and systemd's `ExecStart=` run one: argv as given,
//! no shell, the change in `HB_*` environment variables (and its line on
//! stdin), so no value from a beat is ever parsed as code.
//!
//! The stream never waits for a notifier. The bound: at most
//! [`MAX_RUNNING`] notifiers at once, never two for the same agent (so an
//! agent's notices come in order); at most [`MAX_QUEUED`] changes waiting
//! for a turn, and when the queue is full the oldest waiting change is
//! dropped (the newer state matters more); a notifier still running after
//! [`TIMEOUT`] gets SIGTERM, and SIGKILL [`GRACE`] later, to its whole
//! process group. Every notifier is reaped as it ends (SIGCHLD), so none
//! is left a zombie. Drops, failures and kills are said on stderr, at most
//! once a minute.

use crate::change::Change;
use crate::error::{quote, Error, Result};
use crate::format::human_age;
use std::collections::VecDeque;
use std::ffi::{CString, OsStr, OsString};
use std::fs::File;
use std::io::{self, Seek, SeekFrom, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub const MAX_RUNNING: usize = 4;
pub const MAX_QUEUED: usize = 64;
pub const TIMEOUT: Duration = Duration::from_secs(30);
pub const GRACE: Duration = Duration::from_secs(2);
/// Notices on stderr at most this often.
const NOTICE_EVERY: Duration = Duration::from_secs(60);

/// The environment a notifier gets, every variable always set (empty when
/// unknown), in this order.
pub const VARS: [&str; 17] = [
    "HB_EVENT",
    "HB_TIME",
    "HB_NAME",
    "HB_STATUS",
    "HB_HEALTH",
    "HB_MODEL",
    "HB_PID",
    "HB_FOR",
    "HB_SINCE",
    "HB_SRC",
    "HB_HOST",
    "HB_ERROR",
    "HB_WAS_STATUS",
    "HB_WAS_HEALTH",
    "HB_WAS_MODEL",
    "HB_WAS_PID",
    "HB_DIR",
];

/// The values of [`VARS`] for a change, raw: a model with spaces, quotes
/// or newlines reaches the program as it is in the beat. Only a NUL, which
/// no environment variable can hold, becomes U+FFFD.
pub fn env_of(c: &Change, dir: &Path) -> Vec<(&'static str, OsString)> {
    let beat = c.row.heartbeat.as_ref();
    let text = |s: Option<&str>| OsString::from(s.unwrap_or("").replace('\0', "\u{FFFD}"));
    let num = |n: Option<i64>| OsString::from(n.map(|n| n.to_string()).unwrap_or_default());
    let was = c.was.as_ref();
    let values = [
        text(Some(c.event.word())),
        num(Some(c.time)),
        text(Some(&c.row.name)),
        text(beat.map(|j| j.beat.status.as_str())),
        text(Some(c.row.health.word())),
        text(beat.and_then(|j| j.beat.model.as_deref())),
        num(beat.map(|j| i64::from(j.beat.pid))),
        text(beat.and_then(|j| j.status_age).map(human_age).as_deref()),
        num(beat.and_then(|j| j.beat.since)),
        text(beat.map(|_| c.row.src.word())),
        text(beat.and_then(|j| j.beat.host.as_deref())),
        text(c.row.error.as_deref()),
        text(was.and_then(|w| w.status.as_deref())),
        text(was.map(|w| w.health.word())),
        text(was.and_then(|w| w.model.as_deref())),
        num(was.and_then(|w| w.pid).map(i64::from)),
        dir.as_os_str().to_os_string(),
    ];
    VARS.into_iter().zip(values).collect()
}

/// Finds PROG as `execvp` would: a path when it holds a `/`, else the
/// first executable file of that name in `PATH`. Done at start, so a
/// misspelt notifier is an error at once rather than a notice per change.
pub fn resolve(prog: &OsStr, path: Option<&OsStr>) -> Result<PathBuf> {
    let executable = |p: &Path| {
        p.metadata().is_ok_and(|m| m.is_file()) && {
            let c = CString::new(p.as_os_str().as_bytes());
            // SAFETY: a valid C string.
            c.is_ok_and(|c| unsafe { libc::access(c.as_ptr(), libc::X_OK) } == 0)
        }
    };
    let not_found =
        |why: &str| Error::usage(format!("--exec: {}: {why}", quote(&prog.to_string_lossy())));
    if prog.is_empty() {
        return Err(not_found("empty program name"));
    }
    if prog.as_bytes().contains(&b'/') {
        let p = PathBuf::from(prog);
        return match executable(&p) {
            true => Ok(p),
            false => Err(not_found("not an executable file")),
        };
    }
    let path = path.unwrap_or(OsStr::new("/usr/local/bin:/usr/bin:/bin"));
    path.as_bytes()
        .split(|&b| b == b':')
        .map(|d| match d {
            b"" => PathBuf::from(".").join(prog),
            d => Path::new(OsStr::from_bytes(d)).join(prog),
        })
        .find(|p| executable(p))
        .ok_or_else(|| not_found("not found in PATH"))
}

struct Job {
    name: String,
    what: String,
    env: Vec<(&'static str, OsString)>,
    line: Vec<u8>,
}

struct Running {
    pid: libc::pid_t,
    name: String,
    what: String,
    started: Duration,
    termed: bool,
}

/// Runs the notifier for each change, within the bound.
pub struct Notifier {
    prog: PathBuf,
    args: Vec<OsString>,
    dir: PathBuf,
    queue: VecDeque<Job>,
    running: Vec<Running>,
    last_notice: Option<Duration>,
    unsaid: u64,
}

impl Notifier {
    pub fn new(prog: PathBuf, args: Vec<OsString>, dir: PathBuf) -> Notifier {
        Notifier {
            prog,
            args,
            dir,
            queue: VecDeque::new(),
            running: Vec::new(),
            last_notice: None,
            unsaid: 0,
        }
    }

    /// Queues a change with its line (the notifier's stdin).
    pub fn push(&mut self, c: &Change, line: &str) {
        if self.queue.len() >= MAX_QUEUED {
            if let Some(old) = self.queue.pop_front() {
                self.notice(format!(
                    "--exec: {} changes wait for a notifier already: the oldest ({}) is dropped",
                    MAX_QUEUED, old.what
                ));
            }
        }
        self.queue.push_back(Job {
            name: c.row.name.clone(),
            what: format!("{} {}", c.row.name, c.event.word()),
            env: env_of(c, &self.dir),
            line: line.as_bytes().to_vec(),
        });
    }

    /// Ends overdue notifiers and starts waiting ones while there is room.
    pub fn pump(&mut self, now: Duration) {
        for r in &mut self.running {
            let age = now.saturating_sub(r.started);
            if age >= TIMEOUT + GRACE {
                kill_group(r.pid, libc::SIGKILL);
            } else if age >= TIMEOUT && !r.termed {
                r.termed = true;
                kill_group(r.pid, libc::SIGTERM);
            }
        }
        while self.running.len() < MAX_RUNNING {
            let Some(i) = self
                .queue
                .iter()
                .position(|j| !self.running.iter().any(|r| r.name == j.name))
            else {
                break;
            };
            let Some(job) = self.queue.remove(i) else {
                break;
            };
            match self.spawn(&job) {
                Ok(pid) => self.running.push(Running {
                    pid,
                    name: job.name,
                    what: job.what,
                    started: now,
                    termed: false,
                }),
                Err(e) => self.notice(format!(
                    "--exec: unable to run {} for {}: {}",
                    self.prog.display(),
                    job.what,
                    crate::error::os_message(&e)
                )),
            }
        }
    }

    /// Starts the notifier with `posix_spawn(3)`: PROG with its arguments,
    /// this process's environment with the change's variables in place of
    /// any of the same name, the change's line as stdin, stdout and stderr
    /// both our stderr (the stream is stdout), in a process group of its
    /// own, with no signal blocked (the follower blocks the ones it reads
    /// from its signalfd) and SIGPIPE back to its default (Rust ignores it).
    fn spawn(&self, job: &Job) -> io::Result<libc::pid_t> {
        let c =
            |b: &[u8]| CString::new(b).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput));
        let path = c(self.prog.as_os_str().as_bytes())?;
        let argv: Vec<CString> = std::iter::once(self.prog.as_os_str())
            .chain(self.args.iter().map(OsString::as_os_str))
            .map(|a| c(a.as_bytes()))
            .collect::<io::Result<_>>()?;
        let mut envp: Vec<CString> = Vec::new();
        for (k, v) in std::env::vars_os() {
            if !VARS.iter().any(|n| k == *n) {
                envp.push(c(&[k.as_bytes(), b"=", v.as_bytes()].concat())?);
            }
        }
        for (k, v) in &job.env {
            envp.push(c(&[k.as_bytes(), b"=", v.as_bytes()].concat())?);
        }
        let ptrs = |v: &[CString]| {
            let mut p: Vec<*mut libc::c_char> = v.iter().map(|s| s.as_ptr().cast_mut()).collect();
            p.push(std::ptr::null_mut());
            p
        };
        let (argv_p, envp_p) = (ptrs(&argv), ptrs(&envp));
        let stdin = stdin_of(&job.line);
        let check = |r: libc::c_int| match r {
            0 => Ok(()),
            e => Err(io::Error::from_raw_os_error(e)),
        };
        // SAFETY: the attribute and file-action objects are initialised
        // before use and destroyed on every path; every pointer handed to
        // posix_spawn points into a live CString or Vec of this frame.
        unsafe {
            let mut fa: libc::posix_spawn_file_actions_t = std::mem::zeroed();
            let mut at: libc::posix_spawnattr_t = std::mem::zeroed();
            check(libc::posix_spawn_file_actions_init(&mut fa))?;
            if let Err(e) = check(libc::posix_spawnattr_init(&mut at)) {
                libc::posix_spawn_file_actions_destroy(&mut fa);
                return Err(e);
            }
            let mut none: libc::sigset_t = std::mem::zeroed();
            let mut pipe: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut none);
            libc::sigemptyset(&mut pipe);
            libc::sigaddset(&mut pipe, libc::SIGPIPE);
            let flags = libc::POSIX_SPAWN_SETPGROUP
                | libc::POSIX_SPAWN_SETSIGMASK
                | libc::POSIX_SPAWN_SETSIGDEF;
            let mut pid: libc::pid_t = 0;
            let r = (|| {
                let stdin_fd = stdin.as_ref().map_or(-1, |f| f.as_raw_fd());
                match stdin_fd {
                    -1 => check(libc::posix_spawn_file_actions_addopen(
                        &mut fa,
                        0,
                        c"/dev/null".as_ptr(),
                        libc::O_RDONLY,
                        0,
                    ))?,
                    fd => check(libc::posix_spawn_file_actions_adddup2(&mut fa, fd, 0))?,
                }
                check(libc::posix_spawn_file_actions_adddup2(&mut fa, 2, 1))?;
                check(libc::posix_spawnattr_setflags(
                    &mut at,
                    flags as libc::c_short,
                ))?;
                check(libc::posix_spawnattr_setpgroup(&mut at, 0))?;
                check(libc::posix_spawnattr_setsigmask(&mut at, &none))?;
                check(libc::posix_spawnattr_setsigdefault(&mut at, &pipe))?;
                check(libc::posix_spawn(
                    &mut pid,
                    path.as_ptr(),
                    &fa,
                    &at,
                    argv_p.as_ptr(),
                    envp_p.as_ptr(),
                ))
            })();
            libc::posix_spawn_file_actions_destroy(&mut fa);
            libc::posix_spawnattr_destroy(&mut at);
            r.map(|()| pid)
        }
    }

    /// Reaps the notifiers that ended (on SIGCHLD); says which failed.
    pub fn reap(&mut self) {
        let mut i = 0;
        while i < self.running.len() {
            let mut status: libc::c_int = 0;
            // SAFETY: waitpid on a child of ours; WNOHANG never blocks.
            let r = unsafe { libc::waitpid(self.running[i].pid, &mut status, libc::WNOHANG) };
            if r == 0 {
                i += 1;
                continue;
            }
            let run = self.running.swap_remove(i);
            if r < 0 {
                continue; // not ours to wait for any more (ECHILD)
            }
            let how = if libc::WIFEXITED(status) {
                match libc::WEXITSTATUS(status) {
                    0 => continue,
                    code => format!("exited {code}"),
                }
            } else if run.termed {
                format!(
                    "was killed (signal {}) after {}s",
                    libc::WTERMSIG(status),
                    TIMEOUT.as_secs()
                )
            } else {
                format!("was killed by signal {}", libc::WTERMSIG(status))
            };
            self.notice(format!(
                "--exec: {} for {} {how}",
                self.prog.display(),
                run.what
            ));
        }
    }

    /// How long the loop may sleep before a notifier is due to be ended;
    /// None when none runs.
    pub fn next_deadline(&self, now: Duration) -> Option<Duration> {
        self.running
            .iter()
            .map(|r| {
                let at = r.started + if r.termed { TIMEOUT + GRACE } else { TIMEOUT };
                at.saturating_sub(now)
            })
            .min()
    }

    /// The follower ends: running notifiers get SIGTERM, queued changes
    /// are not notified.
    pub fn stop(&mut self) {
        for r in &self.running {
            kill_group(r.pid, libc::SIGTERM);
        }
        self.queue.clear();
    }

    /// A notice on stderr, at most once a minute, with a count of those
    /// left unsaid since.
    fn notice(&mut self, what: String) {
        let now = crate::proc::monotonic();
        if self
            .last_notice
            .is_some_and(|t| now.saturating_sub(t) < NOTICE_EVERY)
        {
            self.unsaid += 1;
            return;
        }
        let more = match std::mem::take(&mut self.unsaid) {
            0 => String::new(),
            n => format!(" ({n} more notices in the last minute)"),
        };
        self.last_notice = Some(now);
        crate::cli::eprint_line(&format!(
            "hb-read: warning: {what}{more} (said at most once a minute)"
        ));
    }
}

/// The process group of a notifier (its own: it was started in one), so a
/// notifier that is a script takes its children with it.
fn kill_group(pid: libc::pid_t, sig: libc::c_int) {
    // SAFETY: kill(2) on a process group we made (its leader not reaped
    // yet, so the id is still ours).
    unsafe { libc::kill(-pid, sig) };
}

/// The line as the notifier's stdin: an in-memory file, so writing it
/// never blocks whatever its length and whether or not the notifier reads
/// it. Where no such file can be made, stdin is /dev/null.
fn stdin_of(line: &[u8]) -> Option<OwnedFd> {
    // SAFETY: a valid C string; memfd_create returns a new fd or -1.
    let fd = unsafe { libc::memfd_create(c"hb-change".as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return None;
    }
    // SAFETY: the fd is new and ours.
    let mut f = unsafe { File::from_raw_fd(fd) };
    f.write_all(line).ok()?;
    f.seek(SeekFrom::Start(0)).ok()?;
    Some(f.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::change::Event;
    use crate::listing::{Health, Row, Src};

    fn change(name: &str) -> Change {
        Change {
            event: Event::Appeared,
            time: 0,
            row: Row {
                name: name.into(),
                health: Health::Missing,
                native: false,
                src: Src::Sidecar,
                error: None,
                heartbeat: None,
            },
            was: None,
        }
    }

    /// Runs `reap` until nothing runs, or fails after 10 s.
    fn reap_all(n: &mut Notifier) {
        let end = crate::proc::monotonic() + Duration::from_secs(10);
        while !n.running.is_empty() {
            assert!(
                crate::proc::monotonic() < end,
                "a notifier was never reaped"
            );
            std::thread::sleep(Duration::from_millis(10));
            n.reap();
        }
    }

    #[test]
    fn an_overdue_notifier_gets_sigterm_then_sigkill_and_is_reaped() {
        let path = Some(OsStr::new("/usr/bin:/bin"));
        // One that ends on SIGTERM, one that ignores it.
        for (prog, args) in [
            ("sleep", vec!["60"]),
            ("sh", vec!["-c", "trap '' TERM; sleep 60 & wait"]),
        ] {
            let prog = resolve(OsStr::new(prog), path).unwrap();
            let args = args.into_iter().map(OsString::from).collect();
            let mut n = Notifier::new(prog, args, "/d".into());
            let t0 = crate::proc::monotonic();
            n.push(&change("w-1"), "line\n");
            n.pump(t0);
            assert_eq!(n.running.len(), 1);
            assert_eq!(n.next_deadline(t0), Some(TIMEOUT));
            n.pump(t0 + TIMEOUT);
            assert!(n.running[0].termed);
            assert_eq!(n.next_deadline(t0 + TIMEOUT), Some(GRACE));
            std::thread::sleep(Duration::from_millis(200));
            n.reap();
            n.pump(t0 + TIMEOUT + GRACE);
            reap_all(&mut n);
        }
    }

    #[test]
    fn an_agents_notices_run_one_at_a_time_in_order() {
        let sleep = resolve(OsStr::new("sleep"), Some(OsStr::new("/usr/bin:/bin"))).unwrap();
        let mut n = Notifier::new(sleep, vec!["60".into()], "/d".into());
        let t0 = crate::proc::monotonic();
        for name in ["w-1", "w-1", "w-2", "w-3", "w-4", "w-5", "w-6"] {
            n.push(&change(name), "line\n");
        }
        n.pump(t0);
        let running: Vec<&str> = n.running.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(running, ["w-1", "w-2", "w-3", "w-4"]);
        let queued: Vec<&str> = n.queue.iter().map(|j| j.name.as_str()).collect();
        assert_eq!(queued, ["w-1", "w-5", "w-6"]);
        n.stop();
        reap_all(&mut n);
        assert!(n.queue.is_empty());
    }

    #[test]
    fn programs_resolve_like_execvp() {
        let sh = resolve(
            OsStr::new("sh"),
            Some(OsStr::new("/nonexistent:/bin:/usr/bin")),
        )
        .unwrap();
        assert!(sh.ends_with("sh"), "{sh:?}");
        assert!(resolve(OsStr::new("/bin/sh"), None).is_ok());
        for bad in ["no-such-program-hb", "/etc/passwd", "/nonexistent/x", ""] {
            let e = resolve(OsStr::new(bad), Some(OsStr::new("/bin:/usr/bin"))).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{bad}");
            assert!(e.to_string().starts_with("--exec: "), "{e}");
        }
    }
}
