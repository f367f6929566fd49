//! `hb-write --sidecar` from the outside, as a real long-lived process: the
//! first beat at once, a schedule that does not drift, deference to a fresh
//! marker and the hand-back on `--clear-native`, the watched pid's end
//! (through a pidfd: far sooner than the next tick), SIGTERM and SIGINT,
//! the sweep at start, and no fork, thread or busy wait (under strace).
//!
//! Where a test must prove "at once" rather than "at the next tick", it uses
//! a long interval, so that only the prompt path can pass within the
//! deadline, and the test stays short.

mod common;
use common::*;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn sidecar(sb: &Sandbox, interval: u32, args: &[&str], name: &str) -> Proc {
    let mut c = sb.cmd(WRITE);
    c.args(["--sidecar", "--interval", &interval.to_string()])
        .args(args)
        .arg(name)
        .stdout(Stdio::null());
    Proc(c.spawn().unwrap())
}

/// The beat's fields, or None while there is no beat.
fn beat(sb: &Sandbox, name: &str) -> Option<std::collections::BTreeMap<String, String>> {
    fs::read_to_string(sb.path(&format!("{name}.hb")))
        .ok()
        .map(|b| fields(&b))
}

fn pstart(pid: u32) -> String {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 1..];
    after.split_whitespace().nth(19).unwrap().to_string()
}

/// Is `pid` asleep in poll(2), i.e. between ticks? (`/proc/PID/syscall`
/// names the call a sleeping process is blocked in.)
fn waiting_in_poll(pid: u32) -> Option<()> {
    let s = fs::read_to_string(format!("/proc/{pid}/syscall")).ok()?;
    let nr: libc::c_long = s.split_whitespace().next()?.parse().ok()?;
    #[cfg(target_arch = "x86_64")]
    let polls = [libc::SYS_poll, libc::SYS_ppoll];
    #[cfg(not(target_arch = "x86_64"))]
    let polls = [libc::SYS_ppoll];
    polls.contains(&nr).then_some(())
}

fn mtime_ns(p: &Path) -> Option<i128> {
    let m = fs::metadata(p).ok()?;
    Some(i128::from(m.mtime()) * 1_000_000_000 + i128::from(m.mtime_nsec()))
}

#[test]
fn the_first_beat_comes_at_once_with_the_watched_pid() {
    let sb = Sandbox::new("sc-first");
    let agent = agent();
    let pid = agent.pid().to_string();
    let t0 = Instant::now();
    // Interval 30: a beat within the deadline can only be the first tick.
    let _sc = sidecar(&sb, 30, &["--while-pid", &pid], "w-first");
    let b = poll("the first beat", Duration::from_secs(10), || {
        beat(&sb, "w-first")
    });
    let took = t0.elapsed();
    assert!(took < Duration::from_secs(2), "first beat after {took:?}");
    assert_eq!(b["pid"], pid);
    assert_eq!(b["status"], "ok");
    assert!(!b.contains_key("model"), "{b:?}");
    assert_eq!(b["pstart"], pstart(agent.pid()));
    assert!((now() - b["ts"].parse::<i64>().unwrap()).abs() <= 2);
}

#[test]
fn ticks_stay_on_a_fixed_schedule() {
    let sb = Sandbox::new("sc-sched");
    let _sc = sidecar(&sb, 1, &["--pid", "1"], "w-sched");
    let path = sb.path("w-sched.hb");
    // Every write is a rename of a new file, so each tick changes the mtime.
    let mut writes: Vec<i128> = Vec::new();
    let end = Instant::now() + Duration::from_secs(15);
    while writes.len() < 5 {
        assert!(
            Instant::now() < end,
            "only {} writes: {writes:?}",
            writes.len()
        );
        if let Some(m) = mtime_ns(&path) {
            if writes.last() != Some(&m) {
                writes.push(m);
            }
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    // Tick k lands at start + k s: late by scheduling only, never drifting
    // by the cost of the ticks before it.
    let offsets: Vec<i128> = writes
        .iter()
        .enumerate()
        .map(|(k, m)| (m - writes[0]) - k as i128 * 1_000_000_000)
        .collect();
    for (k, off) in offsets.iter().enumerate() {
        assert!(
            (-100_000_000..500_000_000).contains(off),
            "tick {k} is {} ms off the schedule; offsets in ms: {:?}",
            off / 1_000_000,
            offsets.iter().map(|o| o / 1_000_000).collect::<Vec<_>>()
        );
    }
}

#[test]
fn sigterm_and_sigint_exit_0_at_once_leaving_the_beat_as_it_is() {
    for sig in [libc::SIGTERM, libc::SIGINT] {
        let sb = Sandbox::new("sc-signal");
        let mut sc = sidecar(&sb, 30, &["--pid", "1"], "w-sig");
        poll("the first beat", Duration::from_secs(10), || {
            beat(&sb, "w-sig")
        });
        let before = sb.snapshot();
        sc.signal(sig);
        // Well before the next tick (30 s): only the signalfd can wake it.
        let status = sc.exit_within(Duration::from_secs(10));
        assert_eq!(status.code(), Some(0), "signal {sig}: {status:?}");
        assert_eq!(sb.snapshot(), before, "signal {sig} changed a file");
    }
}

#[test]
fn the_watched_pid_ending_writes_exited_at_once_and_exits_0() {
    let sb = Sandbox::new("sc-exit");
    let mut agent = agent();
    let pid = agent.pid().to_string();
    sb.run(
        WRITE,
        &[
            "--native", "--status", "busy", "--model", "m", "--pid", &pid, "w-exit",
        ],
    )
    .expect(0);
    let mut sc = sidecar(&sb, 30, &["--while-pid", &pid], "w-exit");
    poll(
        "the sidecar to wait for its next tick",
        Duration::from_secs(10),
        || waiting_in_poll(sc.pid()),
    );
    // Killed and not reaped: a zombie is an ended agent too.
    agent.0.kill().unwrap();
    let t0 = Instant::now();
    let b = poll("the exited beat", Duration::from_secs(10), || {
        beat(&sb, "w-exit").filter(|b| b["status"] == "exited")
    });
    let took = t0.elapsed();
    assert!(took < Duration::from_secs(2), "exited after {took:?}");
    assert_eq!(b["pid"], pid);
    assert_eq!(sc.exit_within(Duration::from_secs(10)).code(), Some(0));
    assert!(
        !sb.path("w-exit.hb.native").exists(),
        "the marker outlived its agent"
    );
    let _ = agent.0.wait();
}

#[test]
fn a_watched_pid_already_gone_gets_its_exited_beat_and_exit_0() {
    let sb = Sandbox::new("sc-gone");
    let mut gone = agent();
    let pid = gone.pid().to_string();
    gone.0.kill().unwrap();
    gone.0.wait().unwrap();
    let mut sc = sidecar(&sb, 30, &["--while-pid", &pid], "w-gone");
    assert_eq!(sc.exit_within(Duration::from_secs(10)).code(), Some(0));
    let b = beat(&sb, "w-gone").unwrap();
    assert_eq!((b["status"].as_str(), b["pid"].as_str()), ("exited", &*pid));
}

#[test]
fn it_defers_to_a_fresh_marker_and_clear_native_hands_back_within_a_tick() {
    let sb = Sandbox::new("sc-clear");
    // Interval 4: the marker stays fresh 8 s, so an ok beat within a tick of
    // the clear can only come from the hand-back.
    let w = |args: &[&str]| {
        let mut a = vec!["--interval", "4"];
        a.extend_from_slice(args);
        sb.run(WRITE, &a).expect(0);
    };
    w(&[
        "--native", "--status", "busy", "--model", "m-1", "--pid", "1", "w-clr",
    ]);
    let sc = sidecar(&sb, 4, &["--pid", "1"], "w-clr");
    poll(
        "the sidecar to wait for its next tick",
        Duration::from_secs(10),
        || waiting_in_poll(sc.pid()),
    );
    // It has had its first tick (sleeping in poll) and deferred.
    let b = beat(&sb, "w-clr").unwrap();
    assert_eq!((b["status"].as_str(), b["model"].as_str()), ("busy", "m-1"));
    w(&["--clear-native", "w-clr"]);
    let t0 = Instant::now();
    let b = poll("the fallback beat", Duration::from_secs(10), || {
        beat(&sb, "w-clr").filter(|b| !b.contains_key("model"))
    });
    let took = t0.elapsed();
    assert!(
        took < Duration::from_millis(5500),
        "hand-back after {took:?}"
    );
    assert_eq!(b["status"], "ok");
}

#[test]
fn it_sweeps_its_stale_temporaries_when_it_starts() {
    let sb = Sandbox::new("sc-sweep");
    sb.mkdir();
    // A dead writer's temporary, a live writer's one older than 60 s, a live
    // writer's fresh one, and another NAME's dead one.
    let dead = ".w-sw.hb.2147483647.AAAAAAAA";
    let old = ".w-sw.hb.1.BBBBBBBB";
    let live = ".w-sw.hb.1.CCCCCCCC";
    let other = ".w-other.hb.2147483647.DDDDDDDD";
    for f in [dead, old, live, other] {
        sb.put(f, b"x");
    }
    let st = Command::new("touch")
        .args(["-d", "@1000000000"])
        .arg(sb.path(old))
        .status()
        .unwrap();
    assert!(st.success());
    let _sc = sidecar(&sb, 30, &["--pid", "1"], "w-sw");
    poll("the first beat", Duration::from_secs(10), || {
        beat(&sb, "w-sw")
    });
    assert!(!sb.path(dead).exists(), "{}", listing(&sb.dir));
    assert!(!sb.path(old).exists(), "{}", listing(&sb.dir));
    assert!(sb.path(live).exists(), "{}", listing(&sb.dir));
    assert!(sb.path(other).exists(), "{}", listing(&sb.dir));
}

/// Under strace for three ticks: one process, one thread, no fork, clone
/// or exec after its own start, and a handful of calls per tick, i.e. no
/// busy wait.
#[test]
fn it_never_forks_nor_spawns_a_thread_nor_busy_waits() {
    if !have_strace() {
        return;
    }
    let sb = Sandbox::new("sc-strace");
    let log = sb.root.join("trace");
    let mut agent = agent();
    let pid = agent.pid().to_string();
    let mut c = bare("strace");
    c.arg("-f")
        .arg("-o")
        .arg(&log)
        .arg(WRITE)
        .arg("--dir")
        .arg(&sb.dir)
        .args(["--sidecar", "--interval", "1", "--while-pid", &pid, "w-st"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut traced = Proc(c.spawn().unwrap());
    // Three ticks after the first: four different beats.
    let mut seen = Vec::new();
    poll("four beats", Duration::from_secs(20), || {
        if let Some(b) = beat(&sb, "w-st") {
            if seen.last() != Some(&b["ts"]) {
                seen.push(b["ts"].clone());
            }
        }
        (seen.len() >= 4).then_some(())
    });
    // The sidecar is strace's only child: one thread, no child of its own.
    let children = fs::read_to_string(format!(
        "/proc/{}/task/{}/children",
        traced.pid(),
        traced.pid()
    ))
    .unwrap();
    let sc: u32 = children.split_whitespace().next().unwrap().parse().unwrap();
    let status = fs::read_to_string(format!("/proc/{sc}/status")).unwrap();
    assert!(status.contains("\nThreads:\t1\n"), "{status}");
    agent.0.kill().unwrap();
    let st = traced.exit_within(Duration::from_secs(10));
    assert!(st.success(), "strace: {st:?}");
    let _ = agent.0.wait();

    let trace = fs::read_to_string(&log).unwrap();
    let calls: Vec<&str> = trace
        .lines()
        .filter(|l| !l.contains("+++") && !l.contains("---"))
        .collect();
    let named = |n: &str| {
        calls
            .iter()
            .filter(|l| {
                // "PID call(args) = ret", or without the pid.
                let mut words = l
                    .split_whitespace()
                    .skip_while(|w| w.parse::<u32>().is_ok());
                words
                    .next()
                    .is_some_and(|c| c.starts_with(&format!("{n}(")))
            })
            .count()
    };
    for forbidden in ["fork", "vfork", "clone", "clone3"] {
        assert_eq!(named(forbidden), 0, "{forbidden} in\n{trace}");
    }
    assert_eq!(named("execve"), 1, "{trace}");
    let ticks = seen.len();
    let polls = named("poll") + named("ppoll");
    assert!(
        polls <= 2 * ticks + 4,
        "{polls} polls for {ticks} ticks: a busy wait?\n{trace}"
    );
    // Start-up (loader, libc) is included; a busy loop would be thousands.
    assert!(
        calls.len() < 150 + 60 * ticks,
        "{} calls for {ticks} ticks\n{trace}",
        calls.len()
    );
    assert_eq!(beat(&sb, "w-st").unwrap()["status"], "exited");
}
