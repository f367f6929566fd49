//! Clocks and identities: beats dated at and past the edges of healthy
//! (interval 1, 10 and 86400), in the far past and the far future; the
//! marker's `-1 s <= age < 2 x interval` window with its edges; pid reuse
//! caught by `pstart`; beats from another host judged by age alone.
//!
//! Edges are tested without timing assumptions: a beat's age is checked
//! against the `now` that `hb-read` reports (retried when a second ticked
//! over), and a marker's verdict is asserted only when the whole span of
//! ages it could have had during the run lies on one side of an edge.

mod common;

use common::*;
use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

const DEAD_PID: u32 = 2147483647;

fn own_pstart() -> u64 {
    pstart(std::process::id()).expect("/proc/self/stat")
}

fn pstart(pid: u32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

fn this_host() -> String {
    let sb = Sandbox::new("host");
    sb.run(WRITE, &["w"]).expect(0);
    fields(&sb.read("w.hb"))["host"].clone()
}

/// The JSON object of one row of `hb-read --json`, as text.
fn row<'a>(json: &'a str, name: &str) -> &'a str {
    let start = json
        .find(&format!("{{\"name\":\"{name}\""))
        .unwrap_or_else(|| panic!("no row {name} in {json}"));
    let rest = &json[start + 1..];
    let end = rest.find("{\"name\":").unwrap_or(rest.len());
    &json[start..start + 1 + end]
}

/// A scalar value of `key` in a JSON fragment, as text.
fn val<'a>(json: &'a str, key: &str) -> &'a str {
    let pat = format!("\"{key}\":");
    let i = json
        .find(&pat)
        .unwrap_or_else(|| panic!("no {key} in {json}"))
        + pat.len();
    let rest = &json[i..];
    let end = rest.find([',', '}']).unwrap();
    rest[..end].trim_matches('"')
}

fn beat(ts: &str, pid: u32, extra: &str) -> Vec<u8> {
    format!("ts={ts}\npid={pid}\nstatus=ok\n{extra}").into_bytes()
}

/// Writes one beat per (name, ts-offset) and reads them all in one run of
/// `hb-read --json`, retrying until the reader's `now` is the one the ages
/// were computed from. Returns the JSON.
fn read_aged(sb: &Sandbox, args: &[&str], beats: &[(&str, i64, u32, &str)]) -> String {
    for _ in 0..10 {
        let t0 = now();
        for (name, age, pid, extra) in beats {
            sb.put(
                &format!("{name}.hb"),
                &beat(&(t0 - age).to_string(), *pid, extra),
            );
        }
        let mut a = vec!["--json"];
        a.extend_from_slice(args);
        let r = sb.run(READ, &a);
        r.expect(0);
        let out = r.stdout();
        if val(&out, "now") == t0.to_string() {
            return out;
        }
    }
    panic!("the clock ticked over ten times in a row");
}

#[test]
fn beat_ages_at_the_edges_of_healthy_for_intervals_1_10_and_86400() {
    let me = std::process::id();
    let mut checked = 0;
    for interval in [1i64, 10, 86400] {
        let sb = Sandbox::new("ages");
        let stale_after = 3 * interval;
        let cases: Vec<(String, i64, &str)> = vec![
            ("future-past-edge".into(), -interval - 1, "stale"),
            ("future-at-edge".into(), -interval, "healthy"),
            ("now".into(), 0, "healthy"),
            ("old-at-edge".into(), stale_after, "healthy"),
            ("old-past-edge".into(), stale_after + 1, "stale"),
        ];
        let beats: Vec<(&str, i64, u32, &str)> = cases
            .iter()
            .map(|(n, age, _)| (n.as_str(), *age, me, ""))
            .collect();
        let iv = interval.to_string();
        let json = read_aged(&sb, &["--interval", &iv], &beats);
        assert_eq!(val(&json, "stale_after"), stale_after.to_string());
        for (name, age, health) in &cases {
            let r = row(&json, name);
            assert_eq!(val(r, "health"), *health, "interval {interval}: {r}");
            assert_eq!(val(r, "age"), age.to_string(), "{r}");
            assert_eq!(val(r, "healthy"), (*health == "healthy").to_string(), "{r}");
            checked += 1;
        }
        // --check agrees with the rows (beats written again, and read
        // again should the clock tick over while it runs).
        let check = |names: &[&str]| {
            for _ in 0..10 {
                let t0 = now();
                for (name, age, _) in cases.iter().filter(|c| names.contains(&c.0.as_str())) {
                    sb.put(
                        &format!("{name}.hb"),
                        &beat(&(t0 - age).to_string(), me, ""),
                    );
                }
                let mut a = vec!["--check", "--interval", &iv];
                a.extend_from_slice(names);
                let r = sb.run(READ, &a);
                if now() == t0 {
                    return r;
                }
            }
            panic!("the clock ticked over ten times in a row");
        };
        check(&["now", "old-at-edge"]).expect(0);
        check(&["old-past-edge"]).expect(1);
    }
    // --stale-after overrides 3 x interval.
    let sb = Sandbox::new("stale-after");
    let json = read_aged(
        &sb,
        &["--stale-after", "5"],
        &[("five", 5, me, ""), ("six", 6, me, "")],
    );
    assert_eq!(val(row(&json, "five"), "health"), "healthy");
    assert_eq!(val(row(&json, "six"), "health"), "stale");
    eprintln!("clocks: {} beat ages checked at the edges", checked + 2);
}

#[test]
fn far_past_and_far_future_beats_are_stale_without_overflow() {
    let sb = Sandbox::new("far");
    let me = std::process::id();
    sb.put("zero.hb", &beat("0", me, ""));
    sb.put("max.hb", &beat("9223372036854775807", me, ""));
    sb.put("past-i64.hb", &beat("9223372036854775808", me, ""));
    sb.put("twenty.hb", &beat("00000000000000000001", me, ""));
    sb.put("nineteen.hb", &beat("0000000000000000001", me, ""));
    let r = sb.run(READ, &["--json"]);
    r.expect(0);
    let json = r.stdout();
    let now: i64 = val(&json, "now").parse().unwrap();
    let z = row(&json, "zero");
    assert_eq!(
        (val(z, "health"), val(z, "age")),
        ("stale", now.to_string().as_str())
    );
    let m = row(&json, "max");
    assert_eq!(val(m, "health"), "stale", "{m}");
    assert_eq!(val(m, "age"), (now - i64::MAX).to_string(), "{m}");
    assert_eq!(val(row(&json, "past-i64"), "health"), "invalid");
    assert_eq!(val(row(&json, "twenty"), "health"), "invalid");
    assert_eq!(val(row(&json, "nineteen"), "health"), "stale");
    // Every format copes with the extremes.
    sb.run(READ, &[]).expect(0);
    let p = sb.run(READ, &["--format", "prometheus"]);
    p.expect(0);
    assert!(p.stdout().contains("9223372036854775807") || p.stdout().contains("e+18"));
}

#[test]
fn intervals_1_and_86400_are_accepted_and_their_neighbours_refused() {
    let sb = Sandbox::new("intervals");
    for bin in [WRITE, DEFER, READ] {
        let name: &[&str] = if bin == READ { &[] } else { &["w1"] };
        for (iv, code) in [
            ("1", None),
            ("86400", None),
            ("0", Some(2)),
            ("86401", Some(2)),
        ] {
            for bad in ["", "-1", "1.5", " 1", "1e3", "０"] {
                let mut a = vec!["--interval", bad];
                a.extend_from_slice(name);
                sb.run(bin, &a).expect(2);
            }
            let mut a = vec!["--interval", iv];
            a.extend_from_slice(name);
            let r = sb.run(bin, &a);
            match code {
                Some(c) => {
                    r.expect(c);
                }
                None => assert!(matches!(r.code(), Some(0) | Some(1)), "{}", r.explain()),
            }
            let mut c = sb.cmd(bin);
            c.env("MOSAIC_HEARTBEAT_INTERVAL", iv).args(name);
            let r = Run::of(&mut c, &sb);
            assert_eq!(r.code() == Some(2), code.is_some(), "{}", r.explain());
        }
    }
}

/// Sets a file's mtime, in nanoseconds since the epoch, without following
/// a symlink.
fn set_mtime(p: &Path, ns: i128) {
    let c = std::ffi::CString::new(p.to_str().unwrap()).unwrap();
    let t = |ns: i128| libc::timespec {
        tv_sec: ns.div_euclid(1_000_000_000) as libc::time_t,
        tv_nsec: ns.rem_euclid(1_000_000_000) as libc::c_long,
    };
    let times = [t(ns), t(ns)];
    // SAFETY: a valid C string and two timespecs.
    let rc = unsafe {
        libc::utimensat(
            libc::AT_FDCWD,
            c.as_ptr(),
            times.as_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
        )
    };
    assert_eq!(rc, 0, "utimensat {}", p.display());
}

fn now_ns() -> i128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as i128
}

const SEC: i128 = 1_000_000_000;

/// The contract's freshness, for an age in nanoseconds.
fn fresh_by_contract(age: i128, interval: i128) -> bool {
    -SEC <= age && age < 2 * interval * SEC
}

/// Dates the marker `age` ago, runs `hb-defer-check`, and returns its
/// verdict; None when the run took long enough for the age to cross an
/// edge (the caller retries).
fn defer_verdict(sb: &Sandbox, interval: i128, age: i128) -> Option<bool> {
    let marker = sb.path("w1.hb.native");
    let t0 = now_ns();
    set_mtime(&marker, t0 - age);
    let start = Instant::now();
    let iv = interval.to_string();
    let r = sb.run(DEFER, &["-v", "--interval", &iv, "w1"]);
    let spent = start.elapsed().as_nanos() as i128 + (now_ns() - t0).max(0);
    let verdict = match r.code() {
        Some(0) => true,
        Some(1) => false,
        _ => panic!("{}", r.explain()),
    };
    // The age the checker saw lies in [age, age + spent].
    let (lo, hi) = (
        fresh_by_contract(age, interval),
        fresh_by_contract(age + spent, interval),
    );
    if lo != hi {
        return None;
    }
    assert_eq!(
        verdict,
        lo,
        "interval {interval}, marker age {:.3}s\n{}",
        age as f64 / 1e9,
        r.explain()
    );
    Some(verdict)
}

#[test]
fn the_marker_is_fresh_from_minus_1s_to_twice_the_interval() {
    let sb = Sandbox::new("marker");
    sb.put("w1.hb.native", b"");
    let mut checked = 0;
    for interval in [1i128, 10, 86400] {
        let edge = 2 * interval * SEC;
        let ages = [
            -SEC * 3600 * 24 * 365 * 80, // the marker dated decades ahead
            -3600 * SEC,
            -3 * SEC / 2,
            -SEC / 2,
            0,
            edge - SEC / 2,
            edge + SEC / 2,
            edge + 3600 * SEC,
            now_ns(), // dated 1970
        ];
        for age in ages {
            let v = (0..20)
                .find_map(|_| defer_verdict(&sb, interval, age))
                .expect("every run crossed an edge");
            assert_eq!(v, fresh_by_contract(age, interval));
            checked += 1;
        }
    }
    eprintln!("clocks: {checked} marker ages checked");
}

#[test]
fn the_fallback_and_the_reader_follow_the_marker() {
    let sb = Sandbox::new("follow");
    sb.run(WRITE, &["--native", "--status", "busy", "w1"])
        .expect(0);
    let marker = sb.path("w1.hb.native");
    // A marker in the future (clock stepped back) silences nobody.
    set_mtime(&marker, now_ns() + 10 * SEC);
    let r = sb.run(READ, &["--json", "w1"]);
    assert_eq!(val(row(&r.stdout(), "w1"), "native"), "false");
    assert_eq!(val(row(&r.stdout(), "w1"), "src"), "carried");
    // Not fresh but present, and the writer's pid (this test) lives: the
    // tick carries the native state on (v2).
    sb.run(WRITE, &["--fallback", "w1"]).expect(0);
    assert_eq!(fields(&sb.read("w1.hb"))["status"], "busy");
    // A fresh marker: the fallback leaves the beat as it is.
    sb.run(WRITE, &["--native", "--status", "busy", "w1"])
        .expect(0);
    let before = sb.snapshot();
    sb.run(WRITE, &["--fallback", "w1"]).expect(0);
    assert!(
        sb.snapshot() == before,
        "the fallback overwrote a native beat"
    );
    let r = sb.run(READ, &["--json", "w1"]);
    assert_eq!(val(row(&r.stdout(), "w1"), "native"), "true");
    // Past 2 x interval it takes over again, carrying the state while the
    // pid lives, and a plain ok once the native writer hands back.
    set_mtime(&marker, now_ns() - 21 * SEC);
    let ts = fields(&sb.read("w1.hb"))["ts"].clone();
    poll("a later second", std::time::Duration::from_secs(5), || {
        ((now_ns() / SEC).to_string() != ts).then_some(())
    });
    sb.run(WRITE, &["--fallback", "--interval", "10", "w1"])
        .expect(0);
    let f = fields(&sb.read("w1.hb"));
    assert_eq!(f["status"], "busy");
    assert_ne!(f["ts"], ts, "a carried beat has a new ts");
    sb.run(WRITE, &["--clear-native", "w1"]).expect(0);
    sb.run(WRITE, &["--fallback", "--interval", "10", "w1"])
        .expect(0);
    assert_eq!(fields(&sb.read("w1.hb"))["status"], "ok");
}

#[test]
fn a_live_pid_with_another_start_time_is_dead() {
    let sb = Sandbox::new("reuse");
    let mut child = Command::new("sleep").arg("60").spawn().unwrap();
    let pid = child.id();
    let start = poll(
        "the child's start time",
        std::time::Duration::from_secs(5),
        || pstart(pid),
    );
    let gone = {
        let mut c = Command::new("true").spawn().unwrap();
        let p = c.id();
        c.wait().unwrap();
        p
    };
    let pst = |s: u64| format!("pstart={s}\n");
    let json = read_aged(
        &sb,
        &[],
        &[
            ("same", 0, pid, &pst(start)),
            ("reused", 0, pid, &pst(start + 1)),
            ("no-pstart", 0, pid, ""),
            ("bad-pstart", 0, pid, "pstart=x\n"),
            ("gone", 0, gone, ""),
        ],
    );
    let _ = child.kill();
    let _ = child.wait();
    for (name, health, alive) in [
        ("same", "healthy", "true"),
        ("reused", "dead", "false"),
        ("no-pstart", "healthy", "true"),
        ("bad-pstart", "healthy", "true"),
        ("gone", "dead", "false"),
    ] {
        let r = row(&json, name);
        assert_eq!((val(r, "health"), val(r, "alive")), (health, alive), "{r}");
    }
    // The writer records the real start time, so its own beat is alive.
    let me = std::process::id().to_string();
    sb.run(WRITE, &["--pid", &me, "w"]).expect(0);
    assert_eq!(fields(&sb.read("w.hb"))["pstart"], own_pstart().to_string());
    let r = sb.run(READ, &["--json", "w"]);
    assert_eq!(val(row(&r.stdout(), "w"), "alive"), "true");
}

#[test]
fn a_beat_from_another_host_is_judged_by_age_alone() {
    let sb = Sandbox::new("host");
    let here = format!("host={}\n", this_host());
    let json = read_aged(
        &sb,
        &[],
        &[
            ("far-fresh", 0, DEAD_PID, "host=elsewhere-07\n"),
            ("far-old", 31, DEAD_PID, "host=elsewhere-07\n"),
            ("far-future", -11, DEAD_PID, "host=elsewhere-07\n"),
            (
                "far-reused",
                0,
                std::process::id(),
                "host=elsewhere-07\npstart=1\n",
            ),
            ("here-dead", 0, DEAD_PID, &here),
            ("here-alive", 0, std::process::id(), &here),
            ("empty-host", 0, DEAD_PID, "host=\n"),
        ],
    );
    for (name, health, alive) in [
        ("far-fresh", "healthy", "null"),
        ("far-old", "stale", "null"),
        ("far-future", "stale", "null"),
        ("far-reused", "healthy", "null"),
        ("here-dead", "dead", "false"),
        ("here-alive", "healthy", "true"),
        // An empty host is no host: the pid is checked here.
        ("empty-host", "dead", "false"),
    ] {
        let r = row(&json, name);
        assert_eq!((val(r, "health"), val(r, "alive")), (health, alive), "{r}");
    }
    sb.run(READ, &["--check", "far-fresh"]).expect(0);
    sb.run(READ, &["--check", "here-dead"]).expect(1);
}
