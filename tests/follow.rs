//! `hb-read --follow` against real writers, real files and real processes:
//! one line per change and none for anything else (a sentinel agent
//! written after each step that must change nothing proves no line came
//! for it), `was` right each time, deaths and staleness found with no file
//! event, odd files listed without blocking, the directory appearing,
//! vanishing and coming back, inotify refused (polling, one stderr line,
//! the same lines), and every way out being exit 0.

mod common;

use common::*;
use nanoserde::DeJson;
use std::fs;
use std::io::BufRead;
use std::os::unix::fs::symlink;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The derived decoders, in a module of their own: the code nanoserde's
/// derive writes trips a clippy lint that no attribute on a struct reaches.
#[allow(clippy::question_mark)]
mod wire {
    use nanoserde::DeJson;

    #[derive(DeJson, Debug)]
    pub struct Line {
        pub name: String,
        pub health: String,
        pub src: String,
        pub error: Option<String>,
        pub heartbeat: Option<Beat>,
        pub event: String,
        pub time: i64,
        pub was: Option<Was>,
    }

    #[derive(DeJson, Debug)]
    pub struct Beat {
        pub pid: u32,
        pub status: String,
        pub model: Option<String>,
    }

    #[derive(DeJson, Debug, PartialEq)]
    pub struct Was {
        pub status: Option<String>,
        pub health: String,
        pub model: Option<String>,
        pub pid: Option<u32>,
    }
}
use wire::{Line, Was};

/// Long enough for a loaded machine; nothing here waits this long when
/// all is well.
const SOON: Duration = Duration::from_secs(10);

fn parse(line: &str) -> Line {
    Line::deserialize_json(line).unwrap_or_else(|e| panic!("not a change line: {line}: {e}"))
}

fn was(status: Option<&str>, health: &str, model: Option<&str>, pid: Option<u32>) -> Was {
    Was {
        status: status.map(Into::into),
        health: health.into(),
        model: model.map(Into::into),
        pid,
    }
}

impl Line {
    /// What a change is about: its event, agent, health and status.
    fn what(&self) -> (&str, &str, &str, Option<&str>) {
        (&self.event, &self.name, &self.health, self.status())
    }

    fn status(&self) -> Option<&str> {
        self.heartbeat.as_ref().map(|b| b.status.as_str())
    }
    fn model(&self) -> Option<&str> {
        self.heartbeat.as_ref().and_then(|b| b.model.as_deref())
    }
}

/// A JSON follower and the sentinel that proves a quiet step quiet.
struct Stream {
    f: Follower,
    marks: u32,
}

impl Stream {
    fn next(&mut self) -> Line {
        parse(&self.f.line(SOON))
    }

    /// Writes a new sentinel agent (it sorts after every other name) and
    /// asserts that the next line is its appearance: nothing came for
    /// what was done before it.
    #[track_caller]
    fn quiet(&mut self, sb: &Sandbox, what: &str) {
        self.marks += 1;
        let name = format!("zz-mark-{}", self.marks);
        sb.run(WRITE, &["--pid", &std::process::id().to_string(), &name])
            .expect(0);
        let l = self.next();
        assert_eq!(
            (l.event.as_str(), l.name.as_str()),
            ("appeared", name.as_str()),
            "a line came for {what}: {l:?}\nall lines:\n{}",
            self.f.seen.join("\n")
        );
    }
}

#[test]
fn one_json_line_per_change_and_none_for_anything_else() {
    let sb = Sandbox::new("follow");
    let me = std::process::id();
    let t = now();
    sb.put_atomic(
        "w-pre.hb",
        format!("ts={t}\npid={me}\nstatus=ok\n").as_bytes(),
    );
    // Interval 1, so a native marker turns carried after 2 s (no change);
    // stale only past 60 s, so only the beat made old goes stale.
    let mut s = Stream {
        f: Follower::follow(&sb, &["--json", "--interval", "1", "--stale-after", "60"]),
        marks: 0,
    };

    let l = s.next();
    assert_eq!(
        (l.event.as_str(), l.name.as_str(), l.health.as_str(), &l.was),
        ("appeared", "w-pre", "healthy", &None)
    );
    assert!((l.time - now()).abs() <= 5, "{l:?}");

    // A sidecar at interval 1: its ts-only rewrites are no change. It runs
    // for the whole test, at least 10 s (checked at the end).
    let side_agent = agent();
    let mut c = sb.cmd(WRITE);
    c.args(["--sidecar", "--interval", "1", "--while-pid"])
        .arg(side_agent.pid().to_string())
        .arg("w-side");
    let mut sidecar = Proc(c.spawn().unwrap());
    let side_start = Instant::now();
    let l = s.next();
    assert_eq!(
        (l.event.as_str(), l.name.as_str(), l.status()),
        ("appeared", "w-side", Some("ok"))
    );

    // A native writer: appears busy, then waiting, then another model.
    let runtime = agent();
    let pid = runtime.pid().to_string();
    let native = |status: &str, model: &str| {
        sb.run(
            WRITE,
            &[
                "--native", "--status", status, "--model", model, "--pid", &pid, "w-a",
            ],
        )
        .expect(0);
    };
    native("busy", "m-1");
    let l = s.next();
    assert_eq!(
        (l.event.as_str(), l.name.as_str(), l.status(), l.model()),
        ("appeared", "w-a", Some("busy"), Some("m-1"))
    );
    assert_eq!(l.heartbeat.as_ref().unwrap().pid, runtime.pid());
    native("waiting", "m-1");
    let l = s.next();
    // SRC as the line was made: the marker is fresh by now. (The first
    // line may say sidecar: a native write renames the beat in, then
    // touches the marker.)
    assert_eq!(
        (l.event.as_str(), l.status(), l.src.as_str()),
        ("changed", Some("waiting"), "native")
    );
    assert_eq!(
        l.was,
        Some(was(
            Some("busy"),
            "healthy",
            Some("m-1"),
            Some(runtime.pid())
        ))
    );
    native("waiting", "m-2");
    let l = s.next();
    assert_eq!((l.event.as_str(), l.model()), ("changed", Some("m-2")));
    assert_eq!(
        l.was,
        Some(was(
            Some("waiting"),
            "healthy",
            Some("m-1"),
            Some(runtime.pid())
        ))
    );
    // The same state again: a new ts only.
    native("waiting", "m-2");
    s.quiet(&sb, "a rewrite with only a new ts");
    // The marker goes: SRC changes, nothing else.
    sb.run(WRITE, &["--clear-native", "w-a"]).expect(0);
    s.quiet(&sb, "--clear-native");

    // The runtime dies: no file changes, yet it is dead within a second
    // or so (here: before SOON).
    drop(runtime);
    let l = s.next();
    assert_eq!(l.what(), ("changed", "w-a", "dead", Some("waiting")));
    assert_eq!(l.was.as_ref().map(|w| w.health.as_str()), Some("healthy"));

    // A beat that goes stale by age alone, 5 s from now.
    let t = now() - 55;
    sb.put_atomic(
        "w-old.hb",
        format!("ts={t}\npid={me}\nstatus=busy\n").as_bytes(),
    );
    let l = s.next();
    assert_eq!(
        (l.event.as_str(), l.name.as_str(), l.health.as_str()),
        ("appeared", "w-old", "healthy")
    );
    let l = s.next();
    assert_eq!(
        (l.event.as_str(), l.name.as_str(), l.health.as_str()),
        ("changed", "w-old", "stale")
    );
    assert_eq!(l.was, Some(was(Some("busy"), "healthy", None, Some(me))));

    // Removed for good: the row is missing, `was` what it was.
    sb.run(WRITE, &["--remove", "w-a"]).expect(0);
    let l = s.next();
    assert_eq!(
        (
            l.event.as_str(),
            l.name.as_str(),
            l.health.as_str(),
            l.heartbeat.is_none()
        ),
        ("removed", "w-a", "missing", true)
    );
    assert_eq!(
        l.was,
        Some(was(
            Some("waiting"),
            "dead",
            Some("m-2"),
            Some(pid.parse().unwrap())
        ))
    );

    // Invalid beats and planted odd files: listed invalid, never a hang.
    sb.put_atomic("w-bad.hb", b"ts=1\npid=x\nstatus=ok\n");
    let l = s.next();
    assert_eq!(
        (l.event.as_str(), l.name.as_str(), l.health.as_str()),
        ("appeared", "w-bad", "invalid")
    );
    assert!(l.error.as_deref().unwrap().contains("pid"), "{l:?}");
    let fifo = sb.path("w-fifo.hb");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let l = s.next();
    assert_eq!((l.name.as_str(), l.health.as_str()), ("w-fifo", "invalid"));
    symlink(sb.path("w-pre.hb"), sb.path("w-link.hb")).unwrap();
    let l = s.next();
    assert_eq!((l.name.as_str(), l.health.as_str()), ("w-link", "invalid"));
    assert!(l.error.as_deref().unwrap().contains("symlink"), "{l:?}");
    // An invalid beat made valid is a change; a temporary, a lock and a
    // marker are not beats.
    sb.put_atomic(
        "w-bad.hb",
        format!("ts={}\npid={me}\nstatus=ok\n", now()).as_bytes(),
    );
    let l = s.next();
    assert_eq!(
        (l.event.as_str(), l.name.as_str(), l.health.as_str()),
        ("changed", "w-bad", "healthy")
    );
    assert_eq!(l.was, Some(was(None, "invalid", None, None)));
    sb.put(".w-x.hb.123.tmp", b"x");
    sb.put(".w-x.lock", b"");
    sb.put("w-x.hb.native", b"");
    s.quiet(&sb, "a temporary, a lock and a marker");

    // The sidecar ran 10 s at least, and the only line about it was its
    // appearance.
    while side_start.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(fs::read_to_string(sb.path("w-side.hb"))
        .unwrap()
        .contains("status=ok"));
    s.quiet(&sb, "the sidecar's ticks");
    let about_side = s.f.seen.iter().filter(|l| l.contains("\"w-side\"")).count();
    assert_eq!(about_side, 1, "{}", s.f.seen.join("\n"));
    // Its agent ends: the sidecar writes `exited`, and that is the one
    // change, with no passing `dead` before it, even when the sidecar is
    // a little late (held stopped for 50 ms here; the grace is 500 ms).
    sidecar.signal(libc::SIGSTOP);
    drop(side_agent);
    std::thread::sleep(Duration::from_millis(50));
    sidecar.signal(libc::SIGCONT);
    let l = s.next();
    assert_eq!(l.what(), ("changed", "w-side", "exited", Some("exited")));
    assert_eq!(l.was.as_ref().map(|w| w.health.as_str()), Some("healthy"));
    assert!(sidecar.0.wait().unwrap().success());

    // SIGTERM: exit 0, nothing on stderr.
    s.f.proc.signal(libc::SIGTERM);
    let st = s.f.proc.exit_within(SOON);
    assert_eq!(st.code(), Some(0), "{st:?}");
    assert_eq!(s.f.err(), "");
}

#[test]
fn text_lines_split_in_a_shell_and_say_what_was() {
    let sb = Sandbox::new("follow-text");
    let me = std::process::id().to_string();
    let mut f = Follower::follow(&sb, &[]);
    let model = "glm 5.2 \"fast\"";
    let [a, b] = ["busy", "waiting"].map(|status| {
        let args = ["--status", status, "--model", model, "--pid", &me, "w-1"];
        sb.run(WRITE, &args).expect(0);
        f.line(SOON)
    });
    // TIME NAME EVENT STATUS HEALTH WAS FOR PID MODEL, as `read -r` splits.
    let out = Command::new("bash")
        .args([
            "--norc",
            "-c",
            "while read -r time name event status health was for pid model; do \
             printf '%s|%s|%s|%s|%s|%s|%s|%s\\n' \"$name\" \"$event\" \"$status\" \"$health\" \"$was\" \"$for\" \"$pid\" \"$model\"; \
             [[ $time =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}[+-][0-9]{2}:[0-9]{2}$ ]] || echo \"bad time $time\"; done",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(format!("{a}\n{b}\n").as_bytes())?;
            c.wait_with_output()
        })
        .unwrap();
    let got = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        got,
        format!(
            "w-1|appeared|busy|healthy|-|0s|{me}|glm 5.2 \"fast\"\n\
             w-1|changed|waiting|healthy|busy/healthy|0s|{me}|glm 5.2 \"fast\"\n"
        ),
        "{a}\n{b}"
    );
    // An agent asked for by NAME that has no beat is listed missing at
    // start, and appears when written.
    let mut f = Follower::follow(&sb, &["w-1", "w-2"]);
    let lines = [f.line(SOON), f.line(SOON)];
    assert!(
        lines[0].contains(" w-1 appeared waiting healthy - "),
        "{lines:?}"
    );
    assert!(
        lines[1].ends_with(" w-2 appeared - missing - - - -"),
        "{lines:?}"
    );
    sb.run(WRITE, &["--pid", &me, "w-2"]).expect(0);
    let l = f.line(SOON);
    assert!(l.contains(" w-2 appeared ok healthy - 0s "), "{l}");
    sb.run(WRITE, &["--remove", "w-2"]).expect(0);
    let l = f.line(SOON);
    assert!(
        l.ends_with(" w-2 removed - missing ok/healthy - - -"),
        "{l}"
    );
}

#[test]
fn a_directory_made_later_or_made_again_is_followed() {
    let sb = Sandbox::new("follow-dir");
    let me = std::process::id().to_string();
    // Two levels missing: the nearest existing ancestor is watched.
    let dir = sb.root.join("a/b/hb");
    let mut c = bare(READ);
    c.arg("--follow").arg("--dir").arg(&dir);
    let mut f = Follower::spawn(c, &sb);
    let write = |name: &str| {
        let mut c = bare(WRITE);
        c.arg("--dir").arg(&dir).args(["--pid", &me, name]);
        assert!(c.status().unwrap().success());
    };
    write("w-1");
    let l = f.line(SOON);
    assert!(l.contains(" w-1 appeared ok healthy "), "{l}");
    // Removed with its beats: they are removed; made again: followed again.
    fs::remove_dir_all(&dir).unwrap();
    let l = f.line(SOON);
    assert!(l.contains(" w-1 removed - missing ok/healthy "), "{l}");
    write("w-2");
    let l = f.line(SOON);
    assert!(l.contains(" w-2 appeared ok healthy "), "{l}");
    // Replaced by another directory under the same name.
    let other = sb.root.join("a/b/other");
    fs::create_dir(&other).unwrap();
    fs::write(
        other.join("w-3.hb"),
        format!("ts={}\npid={me}\nstatus=ok\n", now()),
    )
    .unwrap();
    fs::rename(&dir, sb.root.join("a/b/old")).unwrap();
    fs::rename(&other, &dir).unwrap();
    let lines = [f.line(SOON), f.line(SOON)];
    assert!(
        lines.iter().any(|l| l.contains(" w-2 removed ")),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains(" w-3 appeared ok healthy ")),
        "{lines:?}"
    );
    assert_eq!(f.err(), "");
}

/// The events of a line, for comparing two followers.
fn events(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .map(|l| l.split(' ').skip(1).take(5).collect::<Vec<_>>().join(" "))
        .collect()
}

#[test]
fn without_inotify_it_reads_every_second_says_so_once_and_prints_the_same() {
    if !have_strace() {
        return;
    }
    let sb = Sandbox::new("follow-noinotify");
    let me = std::process::id().to_string();
    sb.run(WRITE, &["--pid", &me, "w-0"]).expect(0);
    let mut plain = Follower::follow(&sb, &[]);
    let log = sb.root.join("strace.log");
    let mut c = bare("strace");
    c.args(["-f", "-qq", "-e", "trace=inotify_add_watch", "-e"])
        .arg("inject=inotify_add_watch:error=ENOSPC")
        .arg("-o")
        .arg(&log)
        .arg("--")
        .arg(READ)
        .arg("--dir")
        .arg(&sb.dir)
        .arg("--follow");
    let mut polled = Follower::spawn(c, &sb);
    let first = [plain.line(SOON), polled.line(SOON)];
    let step = |f: &mut [&mut Follower; 2], args: &[&str]| {
        sb.run(WRITE, args).expect(0);
        for x in f.iter_mut() {
            x.line(SOON);
        }
    };
    let mut both = [&mut plain, &mut polled];
    step(&mut both, &["--pid", &me, "--status", "busy", "w-1"]);
    step(&mut both, &["--pid", &me, "--status", "waiting", "w-1"]);
    step(&mut both, &["--remove", "w-0"]);
    assert_eq!(events(&plain.seen), events(&polled.seen), "{first:?}");
    // One line on stderr, naming the directory, the cause and the fallback.
    let err = polled.err();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("hb-read: warning: unable to watch ")
            && err.contains("No space left on device")
            && err.contains("every second"),
        "{err}"
    );
    assert_eq!(plain.err(), "");
    // SIGTERM to hb-read (strace's child): it ends 0, and strace with it.
    let hb = child_of(polled.proc.pid()).expect("hb-read under strace");
    // SAFETY: kill(2) on the process this test started.
    assert_eq!(unsafe { libc::kill(hb as i32, libc::SIGTERM) }, 0);
    assert_eq!(polled.proc.exit_within(SOON).code(), Some(0));
    let trace = fs::read_to_string(&log).unwrap();
    assert!(trace.contains("(INJECTED)"), "{trace}");
}

#[test]
fn a_reader_that_goes_away_or_a_signal_ends_it_with_0() {
    let sb = Sandbox::new("follow-end");
    let me = std::process::id().to_string();
    sb.run(WRITE, &["--pid", &me, "w-1"]).expect(0);
    // The reader closes the pipe after the first line: the follower
    // notices at once, with no further change to write.
    let mut c = sb.cmd(READ);
    c.arg("--follow")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut p = Proc(c.spawn().unwrap());
    let mut out = std::io::BufReader::new(p.0.stdout.take().unwrap());
    let mut first = String::new();
    out.read_line(&mut first).unwrap();
    assert!(first.contains(" w-1 appeared "), "{first}");
    drop(out);
    let st = p.exit_within(SOON);
    assert_eq!(st.code(), Some(0), "{st:?}");
    let mut err = String::new();
    std::io::Read::read_to_string(p.0.stderr.as_mut().unwrap(), &mut err).unwrap();
    assert_eq!(err, "");
    // SIGINT, as Ctrl-C sends it.
    let mut f = Follower::follow(&sb, &["--json"]);
    f.line(SOON);
    f.proc.signal(libc::SIGINT);
    assert_eq!(f.proc.exit_within(SOON).code(), Some(0));
}

#[test]
fn live_modes_refuse_flags_that_do_not_go_with_them() {
    let sb = Sandbox::new("follow-usage");
    for (args, says) in [
        (&["--follow", "--watch"][..], "--follow and --watch"),
        (&["--exec", "true"], "--exec goes with --follow"),
        (&["--follow", "--check"], "--check"),
        (&["--watch", "--output", "x"], "--output"),
        (
            &["--follow", "--format", "prometheus"],
            "--follow prints lines",
        ),
        (&["--follow", "--format", "tmux"], "--follow prints lines"),
        (&["--watch", "--json"], "--watch shows the table"),
        (&["--follow", "--exec"], "--exec: missing PROG"),
        (
            &["--follow", "--exec", "no-such-notifier-hb"],
            "--exec: 'no-such-notifier-hb': not found",
        ),
        (
            &["--follow", "--exec", "/etc/passwd"],
            "not an executable file",
        ),
    ] {
        let r = sb.run(READ, args);
        r.expect(2).one_error_line("hb-read: error: ");
        assert!(r.stderr().contains(says), "{args:?}: {}", r.explain());
    }
    // Everything after --exec is the notifier's: even a NAME-like word or
    // a flag of hb-read's.
    let r = sb.run(READ, &["--watch", "--exec", "true", "--json"]);
    r.expect(2)
        .one_error_line("hb-read: error: --exec goes with --follow");
    // Not a terminal: the error points at --follow.
    let r = sb.run(READ, &["--watch"]);
    r.expect(2)
        .one_error_line("hb-read: error: --watch: stdout is not a terminal");
    assert!(r.stderr().contains("--follow"), "{}", r.explain());
    assert!(!sb.dir.exists());
}

#[test]
fn an_unreadable_directory_is_a_system_error() {
    let sb = Sandbox::new("follow-unreadable");
    sb.mkdir();
    let mut c = Command::new("setpriv");
    if c.arg("--version").output().is_err() || unsafe { libc::geteuid() } != 0 {
        eprintln!("SKIP: needs root and setpriv for an unprivileged reader");
        return;
    }
    fs::set_permissions(&sb.dir, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    let mut c = bare("setpriv");
    c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(READ)
        .arg("--dir")
        .arg(&sb.dir)
        .arg("--follow");
    let r = Run::of(&mut c, &sb);
    r.expect(3)
        .one_error_line("hb-read: error: unable to read directory ");
}
