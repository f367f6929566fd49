//! The writer lock `DIR/.NAME.lock` (contract v2) from the outside: held
//! by another process (util-linux `flock`), a native write still lands
//! after at most 200 ms and a tick leaves the beat alone; a sidecar stopped
//! while it holds the lock never stalls a hook; a symlink or FIFO planted
//! at the lock's path is never followed or blocked on; `--remove` removes
//! it, and readers and the sweep leave it alone.

mod common;
use common::*;
use std::fs;
use std::os::unix::fs::FileTypeExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Is the lock at `path` held by someone (util-linux `flock -n` fails)?
/// Is the lock file there and held by another process? (flock(1) exits 75
/// when it is held; a missing directory is no lock held.)
fn held(path: &Path) -> bool {
    path.exists()
        && Command::new("flock")
            .args(["-n", "-E", "75"])
            .arg(path)
            .arg("true")
            .stderr(Stdio::null())
            .status()
            .unwrap()
            .code()
            == Some(75)
}

/// The process running hb-write with `needle` among its arguments (strace
/// forks before it executes its tracee, and may fork twice: the tracer's
/// first child is not always the sidecar).
fn writer_with(needle: &str) -> Option<u32> {
    fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let pid: u32 = e.file_name().to_str()?.parse().ok()?;
        let cmd = fs::read(format!("/proc/{pid}/cmdline")).ok()?;
        let mut args = cmd.split(|&b| b == 0);
        (args.next()? == WRITE.as_bytes() && args.any(|a| a == needle.as_bytes())).then_some(pid)
    })
}

/// Another process holding the lock until dropped: a shell opens it as fd
/// 9, util-linux `flock 9` locks that open file, and the shell becomes a
/// `sleep` that keeps fd 9 (so killing it releases the lock and leaves no
/// orphan behind).
fn hold_lock(path: &Path) -> Proc {
    let p = Proc(
        Command::new("bash")
            .args(["-c", r#"exec 9>>"$1" && flock 9 && exec sleep 600"#, "hold"])
            .arg(path)
            .stdin(Stdio::null())
            .spawn()
            .unwrap(),
    );
    poll("flock to take the lock", Duration::from_secs(5), || {
        held(path).then_some(())
    });
    p
}

/// A run and its wall time.
fn timed(c: &mut Command, sb: &Sandbox) -> (Run, Duration) {
    let t = Instant::now();
    let r = Run::of(c, sb);
    (r, t.elapsed())
}

fn hook(sb: &Sandbox, payload: &str) -> Command {
    let mut c = sb.cmd(WRITE);
    c.args(["--hook", "claude", payload])
        .env("MOSAIC_AGENT_NAME", "w");
    c
}

#[test]
fn a_held_lock_delays_a_native_write_200_ms_at_most_and_a_tick_skips() {
    let sb = Sandbox::new("lock-held");
    let a = agent();
    let p = a.pid().to_string();
    sb.run(WRITE, &["--model", "m-0", "--pid", &p, "w"])
        .expect(0);
    let holder = hold_lock(&sb.path(".w.lock"));

    // A tick that cannot have the lock at once skips: exit 0, untouched.
    let before = sb.snapshot();
    let (r, _) = timed(sb.cmd(WRITE).args(["--fallback", "--pid", &p, "w"]), &sb);
    r.expect(0);
    assert_eq!(sb.snapshot(), before, "a tick wrote past a held lock");

    // A native write waits 200 ms, then lands without the lock and says so.
    // (Best of five: the bound is 250 ms of wall time on a shared machine.)
    let mut times = Vec::new();
    for i in 1..=5 {
        let m = format!("m-{i}");
        let (r, took) = timed(
            sb.cmd(WRITE).args([
                "--native", "--status", "busy", "--model", &m, "--pid", &p, "w",
            ]),
            &sb,
        );
        r.expect(0).one_error_line("hb-write: warning: lock ");
        assert!(r.stderr().contains("writing without it"), "{}", r.explain());
        assert_eq!(fields(&sb.read("w.hb"))["model"], m);
        assert!(took >= Duration::from_millis(200), "did not wait: {took:?}");
        times.push(took);
        if took < Duration::from_millis(250) {
            break;
        }
    }
    eprintln!("lock: native writes past a held lock took {times:?}");
    assert!(
        times.iter().any(|t| *t < Duration::from_millis(250)),
        "no native write landed within 250 ms: {times:?}"
    );

    // A hook too: exit 0, its beat, at most one line.
    let r = Run::of(&mut hook(&sb, r#"{"hook_event_name":"Stop"}"#), &sb);
    r.expect(0).one_error_line("hb-write: hook: lock ");
    assert_eq!(fields(&sb.read("w.hb"))["status"], "ok");

    // A sidecar skips its ticks, and says so once, not every tick.
    sb.run(WRITE, &["--clear-native", "w"]).expect(0);
    let before = sb.snapshot();
    let mut sc = sb.cmd(WRITE);
    sc.args(["--sidecar", "--interval", "1", "--pid", &p, "w"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut sc = Proc(sc.spawn().unwrap());
    std::thread::sleep(Duration::from_millis(3500)); // three ticks or more
    assert_eq!(sb.snapshot(), before, "the sidecar wrote past a held lock");
    drop(holder);
    let b = poll(
        "the sidecar's tick once the lock is free",
        Duration::from_secs(3),
        || {
            let b = fields(&sb.read("w.hb"));
            (!b.contains_key("model")).then_some(b)
        },
    );
    assert_eq!(b["status"], "ok");
    sc.signal(libc::SIGTERM);
    assert!(sc.exit_within(Duration::from_secs(5)).success());
    let mut err = String::new();
    std::io::Read::read_to_string(sc.0.stderr.as_mut().unwrap(), &mut err).unwrap();
    assert_eq!(err.lines().count(), 1, "one notice, not one a tick:\n{err}");
    assert!(err.contains("tick skipped"), "{err}");
}

#[test]
fn a_sidecar_stopped_while_it_holds_the_lock_never_stalls_a_hook() {
    if !have_strace() {
        return;
    }
    let sb = Sandbox::new("lock-stopped");
    let a = agent();
    // The sidecar's every flock returns only after 60 s: it holds the lock
    // from its first tick on. Then it is stopped outright.
    let mut c = Command::new("strace");
    c.args(["-f", "-qq", "-o", "/dev/null", "-e"])
        .arg("inject=flock:delay_exit=60000000")
        .arg("--")
        .arg(WRITE)
        .arg("--dir")
        .arg(&sb.dir)
        .args([
            "--sidecar",
            "--interval",
            "1",
            "--pid",
            &a.pid().to_string(),
            "w",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut traced = Traced {
        tracer: Some(Proc(c.spawn().unwrap())),
        pid: None,
    };
    let lock = sb.path(".w.lock");
    poll(
        "the sidecar to hold the lock",
        Duration::from_secs(10),
        || held(&lock).then_some(()),
    );
    let dir = sb.dir.to_str().unwrap().to_string();
    let sidecar = poll("the traced sidecar", Duration::from_secs(5), || {
        writer_with(&dir)
    });
    // Whatever happens below, a panic included, the sidecar goes.
    traced.pid = Some(sidecar);
    // SAFETY: kill(2) on a process of this test.
    assert_eq!(unsafe { libc::kill(sidecar as i32, libc::SIGSTOP) }, 0);
    assert!(held(&lock));

    let mut times = Vec::new();
    for (i, event) in ["UserPromptSubmit", "PreToolUse", "Stop"]
        .iter()
        .cycle()
        .take(9)
        .enumerate()
    {
        let payload = format!(r#"{{"hook_event_name":"{event}","model":"m-{i}"}}"#);
        let (r, took) = timed(&mut hook(&sb, &payload), &sb);
        r.expect(0);
        assert!(
            r.stdout().is_empty() && r.stderr().lines().count() <= 1,
            "{}",
            r.explain()
        );
        assert_eq!(
            fields(&sb.read("w.hb"))["model"],
            format!("m-{i}"),
            "{}",
            r.explain()
        );
        times.push(took);
    }
    times.sort();
    eprintln!(
        "lock: 9 hooks past a stopped sidecar holding the lock: median {:?}, max {:?}",
        times[4], times[8]
    );
    // A stall would be a minute; the wait is 200 ms.
    assert!(times[8] < Duration::from_secs(5), "{times:?}");
    drop(traced);
}

/// A process of a test under strace, and its tracer: when the test ends,
/// however it ends (a panic included), the process is killed before and
/// after its tracer is (a tracee killed in a ptrace stop waits for its
/// tracer), until it is gone or a zombie, so that no sidecar outlives its
/// test.
struct Traced {
    tracer: Option<Proc>,
    pid: Option<u32>,
}

impl Drop for Traced {
    fn drop(&mut self) {
        // SAFETY: kill(2) on a process of this test.
        let kill = |pid: u32| unsafe { libc::kill(pid as i32, libc::SIGKILL) };
        if let Some(pid) = self.pid {
            kill(pid);
        }
        drop(self.tracer.take());
        let Some(pid) = self.pid else { return };
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while std::time::Instant::now() < deadline {
            kill(pid);
            let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let state = stat.rsplit(')').next().unwrap_or("").trim_start();
            if stat.is_empty() || state.starts_with('Z') || state.starts_with('X') {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

#[test]
fn a_planted_symlink_or_fifo_at_the_lock_is_never_followed_or_blocked_on() {
    let sb = Sandbox::new("lock-planted");
    let a = agent();
    let p = a.pid().to_string();
    sb.mkdir();
    let outside = sb.root.join("outside");
    let lock = sb.path(".w.lock");

    // A symlink to a file that does not exist, then to one that does.
    std::os::unix::fs::symlink(&outside, &lock).unwrap();
    for exists in [false, true] {
        if exists {
            fs::write(&outside, b"precious").unwrap();
        }
        let before = fs::symlink_metadata(&outside)
            .ok()
            .map(|m| m.modified().unwrap());
        for args in [
            &["--native", "--status", "busy", "--pid", &p, "w"][..],
            &["--fallback", "--pid", &p, "w"],
        ] {
            let r = sb.run(WRITE, args);
            r.expect(0)
                .one_error_line("hb-write: warning: unable to lock ");
            assert!(r.stderr().contains("symlink"), "{}", r.explain());
        }
        assert_eq!(fields(&sb.read("w.hb"))["pid"], p);
        assert_eq!(
            fs::symlink_metadata(&outside)
                .ok()
                .map(|m| m.modified().unwrap()),
            before
        );
        if exists {
            assert_eq!(fs::read(&outside).unwrap(), b"precious");
        } else {
            assert!(!outside.exists(), "the write created the symlink's target");
        }
        assert!(fs::symlink_metadata(&lock)
            .unwrap()
            .file_type()
            .is_symlink());
    }
    // --remove removes the link, never what it points to.
    sb.run(WRITE, &["--remove", "w"]).expect(0);
    assert!(fs::symlink_metadata(&lock).is_err() && outside.exists());

    // A FIFO: no writer blocks on it (each run is bounded).
    let st = Command::new("mkfifo").arg(&lock).status().unwrap();
    assert!(st.success());
    for args in [
        &["--native", "--status", "busy", "--pid", &p, "w"][..],
        &["--fallback", "--pid", &p, "w"],
        &["--clear-native", "w"],
    ] {
        let mut c = Command::new("timeout");
        c.arg("10").arg(WRITE).arg("--dir").arg(&sb.dir).args(args);
        let r = Run::of(&mut c, &sb);
        r.expect(0)
            .one_error_line("hb-write: warning: unable to lock ");
    }
    assert!(fs::symlink_metadata(&lock).unwrap().file_type().is_fifo());
    // Readers ignore it.
    let out = sb.run(READ, &[]).expect(0).stdout();
    assert_eq!(out.lines().count(), 2, "one agent, one row:\n{out}");
    sb.run(WRITE, &["--remove", "w"]).expect(0);
    assert!(fs::symlink_metadata(&lock).is_err());
}

#[test]
fn the_lock_is_not_a_beat_nor_litter_and_remove_takes_it() {
    let sb = Sandbox::new("lock-life");
    for _ in 0..40 {
        sb.run(WRITE, &["--pid", "1", "w"]).expect(0);
    }
    // Made once, 0644 before umask, empty; forty writes (some of which
    // swept) left it in place.
    let m = fs::symlink_metadata(sb.path(".w.lock")).unwrap();
    assert!(m.file_type().is_file() && m.len() == 0);
    use std::os::unix::fs::PermissionsExt;
    let umask = 0o022; // the tests' umask (cargo's default)
    assert_eq!(m.permissions().mode() & 0o777, 0o644 & !umask);
    let out = sb.run(READ, &[]).expect(0).stdout();
    assert_eq!(out.lines().count(), 2, "one agent, one row:\n{out}");
    // --remove takes every file of the agent, the Codex hook's session
    // record too.
    sb.put(".w.codex-session", b"019a-session");
    sb.run(WRITE, &["--remove", "w"]).expect(0);
    assert_eq!(
        fs::read_dir(&sb.dir).unwrap().count(),
        0,
        "{}",
        listing(&sb.dir)
    );
}
