//! Shared helpers for the integration tests: the real binaries, a fresh
//! directory per test with the `MOSAIC_*` variables cleared, snapshots to
//! prove "nothing was touched", polling with a deadline, and failures that
//! print the command, its status, stdout, stderr and the directory.
#![allow(dead_code)]

pub mod npm;

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

pub const WRITE: &str = env!("CARGO_BIN_EXE_hb-write");
pub const DEFER: &str = env!("CARGO_BIN_EXE_hb-defer-check");
pub const READ: &str = env!("CARGO_BIN_EXE_hb-read");

/// A fresh directory for one test, removed when the test passes.
pub struct Sandbox {
    pub root: PathBuf,
    /// The heartbeat directory, `root/hb` (not created).
    pub dir: PathBuf,
}

impl Sandbox {
    pub fn new(tag: &str) -> Sandbox {
        let root = std::env::temp_dir().join(format!(
            "hb-test-{tag}-{}-{}",
            std::process::id(),
            fastrand::u64(..)
        ));
        fs::create_dir_all(&root).unwrap();
        let dir = root.join("hb");
        Sandbox { root, dir }
    }

    /// A command for one of the binaries, with every `MOSAIC_*` and XDG
    /// variable cleared and `--dir` pointing into the sandbox.
    pub fn cmd(&self, bin: &str) -> Command {
        let mut c = bare(bin);
        c.arg("--dir").arg(&self.dir);
        c
    }

    pub fn run(&self, bin: &str, args: &[&str]) -> Run {
        Run::of(self.cmd(bin).args(args), self)
    }

    pub fn path(&self, file: &str) -> PathBuf {
        self.dir.join(file)
    }

    pub fn read(&self, file: &str) -> String {
        fs::read_to_string(self.path(file))
            .unwrap_or_else(|e| panic!("read {file}: {e}\n{}", listing(&self.dir)))
    }

    /// Every entry below the sandbox root with its type, mode, size, mtime
    /// and content: equal snapshots mean nothing was touched.
    pub fn snapshot(&self) -> BTreeMap<PathBuf, String> {
        snapshot(&self.root)
    }

    pub fn mkdir(&self) {
        fs::create_dir_all(&self.dir).unwrap();
    }

    /// Writes a file into the heartbeat directory (creating it).
    pub fn put(&self, file: &str, bytes: &[u8]) {
        self.mkdir();
        fs::write(self.path(file), bytes).unwrap();
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            // A read-only or odd-mode leftover must not fail the test.
            let _ = Command::new("chmod")
                .arg("-R")
                .arg("u+rwx")
                .arg(&self.root)
                .status();
            let _ = fs::remove_dir_all(&self.root);
        }
    }
}

/// [`snapshot`] without writer locks (`.NAME.lock`): a writer that failed
/// may leave the lock it made, which is not a beat and holds nothing (it
/// must be an empty regular file, mode 0644 before umask).
pub fn snapshot_but_locks(root: &Path) -> BTreeMap<PathBuf, String> {
    let mut s = snapshot(root);
    s.retain(|path, _| {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        let is_lock = name.is_some_and(|n| n.starts_with('.') && n.ends_with(".lock"));
        if is_lock {
            let m = fs::symlink_metadata(path).unwrap();
            assert!(
                m.file_type().is_file() && m.len() == 0,
                "{path:?} is no lock"
            );
        }
        !is_lock
    });
    s
}

/// What the runtimes put in a hook's environment and a hook reads (the
/// model an operator pinned, a runtime's home): a test's hook sees only
/// what the test gives it.
const RUNTIME_VARS: &[&str] = &[
    "ANTHROPIC_MODEL",
    "QWEN_CODE_MODEL",
    "COPILOT_MODEL",
    "COPILOT_HOME",
];

/// A binary with the environment cleaned of anything that could redirect it.
pub fn bare(bin: &str) -> Command {
    let mut c = Command::new(bin);
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy().into_owned();
        if k.starts_with("MOSAIC_") || k.starts_with("XDG_") || RUNTIME_VARS.contains(&k.as_str()) {
            c.env_remove(k);
        }
    }
    c.stdin(Stdio::null());
    c
}

pub fn snapshot(root: &Path) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            let m = fs::symlink_metadata(&p).unwrap();
            let ft = m.file_type();
            let content = if ft.is_file() {
                format!("{:?}", fs::read(&p).unwrap_or_default())
            } else if ft.is_symlink() {
                format!("-> {:?}", fs::read_link(&p).unwrap())
            } else {
                String::new()
            };
            if ft.is_dir() {
                stack.push(p.clone());
            }
            out.insert(
                p,
                format!(
                    "mode={:o} size={} mtime={}.{} {content}",
                    m.mode(),
                    m.size(),
                    m.mtime(),
                    m.mtime_nsec()
                ),
            );
        }
    }
    out
}

/// Is strace here? Tests that trace print a SKIP line when it is not.
pub fn have_strace() -> bool {
    let ok = Command::new("strace")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("SKIP: strace is not installed; tracing tests need it");
    }
    ok
}

/// Temporaries (dot-files) in a directory: what a writer must not leave.
pub fn temporaries(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                // The writer lock `.NAME.lock` is a dot-file, not litter.
                .filter(|n| n.starts_with('.') && !n.ends_with(".lock"))
                .collect()
        })
        .unwrap_or_default()
}

/// `ls -la` of a directory, for failure messages.
pub fn listing(dir: &Path) -> String {
    let out = Command::new("ls").arg("-la").arg(dir).output();
    match out {
        Ok(o) => String::from_utf8_lossy(&o.stdout).into_owned(),
        Err(e) => format!("(ls failed: {e})"),
    }
}

/// A finished command and everything needed to explain a failure.
pub struct Run {
    pub desc: String,
    pub out: Output,
    pub dir: PathBuf,
}

impl Run {
    pub fn of(c: &mut Command, sb: &Sandbox) -> Run {
        let desc = format!("{:?}", c);
        let out = c.output().unwrap_or_else(|e| panic!("spawn {desc}: {e}"));
        Run {
            desc,
            out,
            dir: sb.dir.clone(),
        }
    }

    pub fn code(&self) -> Option<i32> {
        self.out.status.code()
    }

    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.out.stdout).into_owned()
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.out.stderr).into_owned()
    }

    pub fn explain(&self) -> String {
        format!(
            "command: {}\nstatus: {}\nstdout:\n{}\nstderr:\n{}\ndirectory {}:\n{}",
            self.desc,
            self.out.status,
            self.stdout(),
            self.stderr(),
            self.dir.display(),
            listing(&self.dir)
        )
    }

    /// Asserts the exact exit code; returns self for more checks.
    #[track_caller]
    pub fn expect(&self, code: i32) -> &Run {
        assert_eq!(
            self.code(),
            Some(code),
            "wrong exit code\n{}",
            self.explain()
        );
        self
    }

    /// Asserts stderr is one line starting with `prefix`.
    #[track_caller]
    pub fn one_error_line(&self, prefix: &str) -> &Run {
        let err = self.stderr();
        assert!(
            err.starts_with(prefix) && err.ends_with('\n') && err.lines().count() == 1,
            "expected one stderr line starting {prefix:?}\n{}",
            self.explain()
        );
        self
    }
}

/// Polls `f` until it returns Some or the deadline passes.
pub fn poll<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let end = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        if Instant::now() >= end {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The `key=value` lines of a beat as a map (last wins).
pub fn fields(beat: &str) -> BTreeMap<String, String> {
    beat.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

pub fn os(s: &str) -> &OsStr {
    OsStr::new(s)
}

/// A running process killed (and reaped) when the test ends, pass or fail.
pub struct Proc(pub Child);

impl Proc {
    pub fn pid(&self) -> u32 {
        self.0.id()
    }

    pub fn signal(&self, sig: i32) {
        // SAFETY: kill(2) on our own child's pid.
        assert_eq!(unsafe { libc::kill(self.pid() as i32, sig) }, 0);
    }

    /// Its exit status, waiting up to `timeout`.
    pub fn exit_within(&mut self, timeout: Duration) -> ExitStatus {
        poll("the process to exit", timeout, || {
            self.0.try_wait().unwrap()
        })
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A stand-in agent: a process that lives until killed.
pub fn agent() -> Proc {
    Proc(
        Command::new("sleep")
            .arg("1000")
            .stdin(Stdio::null())
            .spawn()
            .unwrap(),
    )
}

/// The first child of `pid` (e.g. the program `strace` runs).
pub fn child_of(pid: u32) -> Option<u32> {
    fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

impl Sandbox {
    /// Writes a file into the heartbeat directory as writers do: a
    /// temporary (a dot-file) beside it, then a rename, so no reader ever
    /// sees it half written.
    pub fn put_atomic(&self, file: &str, bytes: &[u8]) {
        self.mkdir();
        let tmp = self.path(&format!(".{file}.tmp{}", fastrand::u32(..)));
        fs::write(&tmp, bytes).unwrap();
        fs::rename(&tmp, self.path(file)).unwrap();
    }
}

/// `hb-read` running in the background (`--follow` and the like), its
/// stdout read line by line by a thread, its stderr in a file.
pub struct Follower {
    pub proc: Proc,
    lines: std::sync::mpsc::Receiver<String>,
    pub stderr: PathBuf,
    /// Every line read so far, for failure messages.
    pub seen: Vec<String>,
}

impl Follower {
    /// Starts `c` (stdout piped, stderr to a file in the sandbox).
    pub fn spawn(mut c: Command, sb: &Sandbox) -> Follower {
        let stderr = sb.root.join(format!("follower-{}.err", fastrand::u32(..)));
        c.stdout(Stdio::piped())
            .stderr(fs::File::create(&stderr).unwrap());
        let mut child = c.spawn().unwrap_or_else(|e| panic!("spawn {c:?}: {e}"));
        let out = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Follower {
            proc: Proc(child),
            lines: rx,
            stderr,
            seen: Vec::new(),
        }
    }

    /// `hb-read --follow ARGS` on the sandbox's directory.
    pub fn follow(sb: &Sandbox, args: &[&str]) -> Follower {
        let mut c = sb.cmd(READ);
        c.arg("--follow").args(args);
        Follower::spawn(c, sb)
    }

    /// The next line, if one comes within `timeout`.
    pub fn try_line(&mut self, timeout: Duration) -> Option<String> {
        let line = self.lines.recv_timeout(timeout).ok()?;
        self.seen.push(line.clone());
        Some(line)
    }

    /// The next line; fails, saying what came so far, when none comes in
    /// `timeout`.
    #[track_caller]
    pub fn line(&mut self, timeout: Duration) -> String {
        match self.try_line(timeout) {
            Some(l) => l,
            None => panic!(
                "no line within {timeout:?}\nlines so far:\n{}\nstderr:\n{}",
                self.seen.join("\n"),
                self.err()
            ),
        }
    }

    pub fn err(&self) -> String {
        fs::read_to_string(&self.stderr).unwrap_or_default()
    }
}

/// A private tmux server (its own socket in the sandbox, no config), gone
/// when this is dropped.
pub struct Tmux {
    pub socket: String,
    pub tmpdir: PathBuf,
    home: PathBuf,
}

impl Tmux {
    pub fn new(sb: &Sandbox, tag: &str) -> Tmux {
        let ok = Command::new("tmux")
            .arg("-V")
            .output()
            .is_ok_and(|o| o.status.success());
        assert!(ok, "these tests need tmux 3.2 or newer in PATH");
        let tmpdir = sb.root.join("tmux");
        fs::create_dir_all(&tmpdir).unwrap();
        Tmux {
            socket: format!("{tag}-{}", fastrand::u32(..)),
            tmpdir,
            home: sb.root.clone(),
        }
    }

    /// tmux on this server, from a clean environment (no user config, not
    /// inside another tmux).
    pub fn cmd(&self) -> Command {
        let mut c = bare("tmux");
        c.env_remove("TMUX")
            .env("TMUX_TMPDIR", &self.tmpdir)
            .env("HOME", &self.home)
            .env("LANG", "C.UTF-8")
            .args(["-L", &self.socket, "-f", "/dev/null"]);
        c
    }

    /// Runs a tmux command; its stdout.
    #[track_caller]
    pub fn run(&self, args: &[&str]) -> String {
        let o = self.cmd().args(args).output().unwrap();
        assert!(o.status.success(), "tmux {args:?}: {o:?}");
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    /// What a pane shows (with `-e`, its colours as SGR codes).
    pub fn capture(&self, target: &str, escapes: bool) -> String {
        let mut args = vec!["capture-pane", "-p", "-t", target];
        if escapes {
            args.push("-e");
        }
        self.run(&args)
    }

    /// Waits until the pane shows what `f` accepts; fails with the pane.
    #[track_caller]
    pub fn wait_for(&self, target: &str, what: &str, f: impl Fn(&str) -> bool) -> String {
        let end = Instant::now() + Duration::from_secs(10);
        loop {
            let shown = self.capture(target, false);
            if f(&shown) {
                return shown;
            }
            assert!(
                Instant::now() < end,
                "the pane never showed {what}; it shows:\n{shown}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd().arg("kill-server").output();
    }
}
