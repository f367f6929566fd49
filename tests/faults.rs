//! Injected system-call failures. Each scenario first runs a real binary
//! under `strace -y` to discover every system call that touches the
//! directory it writes into (nothing is hard-coded: a change in the
//! implementation changes the list), then, for each such call and each of
//! ENOSPC, EIO, EACCES, EROFS and EDQUOT, runs it again with
//! `strace -e inject=SYSCALL:error=ERR:when=N` failing exactly that call.
//!
//! Before the commit point (the rename over the target) a failure must exit
//! 3 with one line naming the path and the OS error, leave the directory as
//! it was to the byte and the nanosecond, and leave no temporary. After it
//! (the marker) the binary may exit 3 but must leave a valid, new beat.
//! Hook mode must exit 0 whatever happens.
//!
//! One-shot writers sweep stale temporaries on a random one write in 16,
//! which shifts the call counts; every injected run is traced too, and a
//! run whose injected call is not the one aimed at is checked for the
//! invariants that always hold and then retried.

mod common;

use common::*;
use hb::beat::Beat;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

const ERRNOS: [(&str, &str); 5] = [
    ("ENOSPC", "No space left on device"),
    ("EIO", "Input/output error"),
    ("EACCES", "Permission denied"),
    ("EROFS", "Read-only file system"),
    ("EDQUOT", "Disk quota exceeded"),
];

const OLD_BEAT: &[u8] = b"ts=1700000000\npid=1\nstatus=ok\nmodel=old\n";
const PAYLOAD: &[u8] = br#"{"hook_event_name":"UserPromptSubmit","prompt":"hi"}"#;

/// One system call of a trace that touched the watched directory.
#[derive(Debug, Clone)]
struct Call {
    /// The syscall's name, as strace prints it.
    sc: String,
    /// Its rank among all calls of that name in the process (strace's
    /// `when=N` counts the same way).
    nth: usize,
    /// The syscall with the paths it touched, temporaries' random parts
    /// masked, so a call can be recognised in another run.
    sig: String,
    /// After the rename over the target succeeded.
    committed: bool,
    injected: bool,
}

/// `.NAME.hb.123.abcdEFGH` -> `.NAME.hb.*`: a temporary's pid and random
/// part differ from run to run.
fn mask_temp(component: &str) -> String {
    let parts: Vec<&str> = component.split('.').collect();
    let n = parts.len();
    let is_temp = component.starts_with('.')
        && n >= 4
        && parts[n - 1].len() == 8
        && parts[n - 1].bytes().all(|c| c.is_ascii_alphanumeric())
        && !parts[n - 2].is_empty()
        && parts[n - 2].bytes().all(|c| c.is_ascii_digit());
    if is_temp {
        format!("{}.*", parts[..n - 2].join("."))
    } else {
        component.to_string()
    }
}

/// The paths under `watched` that a trace line names, as `path:` (an
/// argument) or `fd:` (a descriptor's target, from `strace -y`).
fn paths_in(line: &str, watched: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = line[from..].find(watched) {
        let start = from + i;
        let kind = match line[..start].chars().last() {
            Some('"') => "path",
            Some('<') => "fd",
            _ => "other",
        };
        let rest = &line[start + watched.len()..];
        let end = rest.find(['"', '>']).unwrap_or(rest.len());
        let masked: Vec<String> = rest[..end].split('/').map(mask_temp).collect();
        out.push(format!("{kind}:DIR{}", masked.join("/")));
        from = start + watched.len();
    }
    out
}

/// Parses an `strace -y` log into the calls that touched `watched`.
fn parse_trace(log: &str, watched: &Path, target: &Path) -> Vec<Call> {
    let watched = watched.to_str().unwrap();
    let target = format!("\"{}\"", target.to_str().unwrap());
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut committed = false;
    let mut calls = Vec::new();
    for line in log.lines() {
        let Some(open) = line.find('(') else { continue };
        let sc = &line[..open];
        if sc.is_empty() || !sc.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_') {
            continue;
        }
        let nth = {
            let c = counts.entry(sc.to_string()).or_insert(0);
            *c += 1;
            *c
        };
        let injected = line.ends_with("(INJECTED)");
        // Only the arguments: a failed call has no returned descriptor.
        let args = line.rfind(") = ").map_or(line, |i| &line[..i]);
        let paths = paths_in(args, watched);
        if !paths.is_empty() || injected {
            calls.push(Call {
                sc: sc.to_string(),
                nth,
                sig: format!("{sc} {}", paths.join(" ")),
                committed,
                injected,
            });
        }
        if sc.starts_with("rename") && line.contains(&target) && line.ends_with(" = 0") {
            committed = true;
        }
    }
    calls
}

/// A binary run that writes into `watched`, committing `target`.
struct Scenario {
    title: &'static str,
    bin: &'static str,
    args: Vec<String>,
    watched: PathBuf,
    target: PathBuf,
    /// A new, complete target contains this (it tells the new beat from
    /// the old one); None when the new content is not distinguishable.
    new_mark: Option<&'static str>,
    hook: bool,
    setup: Box<dyn Fn(&Sandbox)>,
}

struct Outcome {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    calls: Vec<Call>,
    explain: String,
}

fn run_traced(sb: &Sandbox, s: &Scenario, inject: Option<String>) -> Outcome {
    let log = sb.root.join("trace.log");
    let _ = fs::remove_file(&log);
    let mut c = bare("strace");
    c.current_dir("/")
        .args(["-qq", "-y", "-s", "4", "-o"])
        .arg(&log);
    if let Some(i) = &inject {
        c.arg("-e").arg(i);
    }
    c.arg("--")
        .arg(s.bin)
        .arg("--dir")
        .arg(&sb.dir)
        .args(&s.args);
    if s.hook {
        c.env("MOSAIC_AGENT_NAME", "w1");
        c.stdin(payload_file(sb, PAYLOAD));
    }
    let desc = format!("{c:?}");
    let out = c.output().unwrap_or_else(|e| panic!("spawn {desc}: {e}"));
    let text = fs::read_to_string(&log).unwrap_or_default();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let explain = format!(
        "command: {desc}\nstatus: {}\nstdout:\n{stdout}\nstderr:\n{stderr}\ndirectory:\n{}\ntrace (calls on the directory):\n{}",
        out.status,
        listing(&s.watched),
        parse_trace(&text, &s.watched, &s.target)
            .iter()
            .map(|c| format!("  #{} {}{}\n", c.nth, c.sig, if c.injected { "  <- INJECTED" } else { "" }))
            .collect::<String>()
    );
    Outcome {
        code: out.status.code(),
        stdout,
        stderr,
        calls: parse_trace(&text, &s.watched, &s.target),
        explain,
    }
}

/// What holds after every run, whichever call failed: no panic, a
/// documented exit status, no temporary, a target that is whole.
fn check_invariants(s: &Scenario, o: &Outcome, old: &[u8]) {
    let e = &o.explain;
    assert!(!o.stderr.contains("panicked"), "panic\n{e}");
    if s.hook {
        assert_eq!(o.code, Some(0), "hook mode must exit 0\n{e}");
        assert!(o.stdout.is_empty(), "hook mode wrote to stdout\n{e}");
        assert!(o.stderr.lines().count() <= 1, "more than one line\n{e}");
    } else {
        assert!(matches!(o.code, Some(0) | Some(3)), "exit status\n{e}");
    }
    assert_eq!(
        temporaries(&s.watched),
        Vec::<String>::new(),
        "temporary left\n{e}"
    );
    let now = match fs::read(&s.target) {
        Ok(now) => now,
        // The first beat: there was none to keep.
        Err(_) if old.is_empty() && o.code == Some(3) => return,
        Err(err) => panic!("target gone: {err}\n{e}"),
    };
    if s.target.extension().is_some_and(|x| x == "hb") {
        Beat::parse(&now).unwrap_or_else(|why| panic!("invalid beat: {why}\n{e}"));
    } else if now != old {
        assert!(
            now.ends_with(b"\n") && !now.is_empty(),
            "partial output\n{e}"
        );
    }
}

type Tally = BTreeMap<String, BTreeMap<&'static str, usize>>;

/// Discovers the calls, injects every errno into each, checks, and returns
/// the number of faults tried per syscall and errno.
fn inject_everywhere(s: Scenario, pick: fn(&Call) -> bool) -> Option<Tally> {
    if !have_strace() {
        return None;
    }
    let sb = Sandbox::new(s.title);
    // Scenarios name paths relative to the sandbox; `OUT` in the
    // arguments stands for the target.
    let target = sb.root.join(&s.target);
    let args = s
        .args
        .iter()
        .map(|a| match a.as_str() {
            "OUT" => target.to_str().unwrap().to_string(),
            _ => a.clone(),
        })
        .collect();
    let s = Scenario {
        watched: sb.root.join(&s.watched),
        target,
        args,
        ..s
    };
    // Discovery: a clean run without a sweep (a sweep's calls are best
    // effort and random; they are exercised by the retries below).
    let calls = (0..20)
        .find_map(|_| {
            (s.setup)(&sb);
            let o = run_traced(&sb, &s, None);
            assert_eq!(o.code, Some(0), "the unfaulted run failed\n{}", o.explain);
            let swept = o.calls.iter().any(|c| c.sc.starts_with("getdents"));
            (!swept).then_some(o.calls)
        })
        .expect("twenty runs in a row swept");
    let removes = s.args.iter().any(|a| a == "--clear-native");
    assert!(
        removes || calls.iter().any(|c| c.sc.starts_with("rename")),
        "discovery found no rename: {calls:#?}"
    );
    assert!(!calls.is_empty(), "no call discovered");

    let calls: Vec<Call> = calls.into_iter().filter(pick).collect();
    let mut tally = Tally::new();
    let mut recovered = 0;
    for call in &calls {
        for (errno, text) in ERRNOS {
            let spec = format!("inject={}:error={errno}:when={}", call.sc, call.nth);
            let mut hit = false;
            let mut last = String::new();
            for _attempt in 0..100 {
                (s.setup)(&sb);
                let before = snapshot_but_locks(&s.watched);
                let old = fs::read(&s.target).unwrap_or_default();
                let o = run_traced(&sb, &s, Some(spec.clone()));
                let injected: Vec<&Call> = o.calls.iter().filter(|c| c.injected).collect();
                let aimed = injected.len() == 1 && injected[0].sig == call.sig;
                last = o.explain.clone();
                if !aimed && injected.iter().any(|c| !all_but_bugs(c)) {
                    continue; // a sweep shifted the fault onto a known bug
                }
                check_invariants(&s, &o, &old);
                if !aimed {
                    continue; // a sweep shifted the counts: try again
                }
                let e = format!(
                    "fault {errno} in {} (#{})\n{}",
                    call.sig, call.nth, o.explain
                );
                let prog = Path::new(s.bin).file_name().unwrap().to_str().unwrap();
                if s.hook {
                    if !o.stderr.is_empty() {
                        assert!(
                            o.stderr.starts_with("hb-write: hook: ")
                                && o.stderr.contains(text)
                                && o.stderr.contains(s.watched.to_str().unwrap()),
                            "the hook's line does not name the path and the error\n{e}"
                        );
                    }
                } else if o.code == Some(3) {
                    let err = &o.stderr;
                    assert!(
                        err.starts_with(&format!("{prog}: error: unable to "))
                            && err.lines().count() == 1
                            && err.ends_with('\n'),
                        "not one error line\n{e}"
                    );
                    assert!(err.contains(text), "the line does not name the error\n{e}");
                    assert!(
                        err.contains(s.watched.to_str().unwrap()),
                        "the line does not name the path\n{e}"
                    );
                } else if call.sig.contains(".w1.lock") && !o.stderr.is_empty() {
                    // The lock could not serve: a native writer goes on
                    // without it (a tick too), and says so in one line.
                    let err = &o.stderr;
                    assert!(
                        err.starts_with(&format!("{prog}: warning: unable to lock "))
                            && err.lines().count() == 1
                            && err.contains(text)
                            && err.contains(s.watched.to_str().unwrap()),
                        "not one warning line naming the lock and the error\n{e}"
                    );
                } else {
                    assert!(o.stderr.is_empty(), "exit 0 with a message\n{e}");
                }
                let unchanged = snapshot_but_locks(&s.watched) == before;
                let new_beat = s
                    .new_mark
                    .is_some_and(|m| fs::read_to_string(&s.target).is_ok_and(|t| t.contains(m)));
                if !call.committed {
                    // The write failed and left everything as it was, or
                    // the binary got over the fault and wrote the whole
                    // new beat; never anything in between.
                    let failed = unchanged && (s.hook || o.code == Some(3));
                    // (`--clear-native` writes no beat: its work is the
                    // marker's removal.)
                    let cleared = removes && !s.watched.join("w1.hb.native").exists();
                    let got_over = o.code == Some(0) && (new_beat || cleared);
                    assert!(
                        failed || got_over,
                        "a failure before the commit point changed the directory \
                         or exited 0 without the new beat\n{e}"
                    );
                    if !failed {
                        recovered += 1;
                    }
                } else if s.new_mark.is_some() {
                    assert!(new_beat, "the committed beat is not the new one\n{e}");
                }
                *tally
                    .entry(call.sc.clone())
                    .or_default()
                    .entry(errno)
                    .or_default() += 1;
                hit = true;
                break;
            }
            assert!(
                hit,
                "could not aim {spec} at {} in 100 runs; the last:\n{last}",
                call.sig
            );
        }
    }
    let total: usize = tally.values().flat_map(|m| m.values()).sum();
    let per: Vec<String> = tally
        .iter()
        .map(|(sc, m)| format!("{sc} x{}", m.values().sum::<usize>()))
        .collect();
    eprintln!(
        "faults: {}: {total} injected faults over {} calls x {} errnos, \
         {recovered} got over by the binary ({})",
        s.title,
        calls.len(),
        ERRNOS.len(),
        per.join(", ")
    );
    Some(tally)
}

/// A fresh `hb/` with the old beat (and the marker when asked).
fn fresh(sb: &Sandbox, marker: bool) {
    let _ = fs::remove_dir_all(&sb.dir);
    sb.put("w1.hb", OLD_BEAT);
    if marker {
        sb.put("w1.hb.native", b"");
    }
}

fn beat_scenario(title: &'static str, args: &[&str], marker: bool, mark: &'static str) -> Scenario {
    Scenario {
        title,
        bin: WRITE,
        args: args.iter().map(|s| s.to_string()).collect(),
        watched: "hb".into(),
        target: "hb/w1.hb".into(),
        new_mark: Some(mark),
        hook: false,
        setup: Box::new(move |sb| fresh(sb, marker)),
    }
}

/// Every call except those a known bug makes fail; see the `bug_` tests.
fn all_but_bugs(c: &Call) -> bool {
    !reads_the_old_beat(c) && !closes_the_directory(c)
}

/// Closing a directory that was listed (the sweep, `hb-read`'s listing):
/// `std::fs::ReadDir`'s drop panics when `closedir` fails.
fn closes_the_directory(c: &Call) -> bool {
    c.sig == format!("{} fd:DIR", c.sc) && c.sc == "close"
}

/// Hook mode reads the old beat to keep its pid and model; a fault there is
/// taken for "no beat" and a beat with another pid is written.
fn reads_the_old_beat(c: &Call) -> bool {
    !c.committed
        && c.sig
            .split(' ')
            .any(|t| t == "path:DIR/w1.hb" || t == "fd:DIR/w1.hb")
        && !c.sc.starts_with("rename")
}

fn plain() -> Scenario {
    beat_scenario(
        "fault-beat",
        &["--status", "busy", "--model", "new", "--pid", "1", "w1"],
        false,
        "model=new",
    )
}

fn native(marker: bool) -> Scenario {
    beat_scenario(
        "fault-native",
        &["--native", "--status", "busy", "--model", "new", "w1"],
        marker,
        "model=new",
    )
}

fn fallback() -> Scenario {
    beat_scenario(
        "fault-fallback",
        &["--fallback", "--pid", "1", "w1"],
        false,
        "status=ok\nhost=",
    )
}

fn hook_scenario() -> Scenario {
    Scenario {
        title: "fault-hook",
        bin: WRITE,
        args: vec!["--hook".into(), "claude".into()],
        watched: "hb".into(),
        target: "hb/w1.hb".into(),
        // The old beat's pid and model are kept across the busy flip.
        new_mark: Some("pid=1\nstatus=busy\nmodel=old\n"),
        hook: true,
        setup: Box::new(|sb| fresh(sb, true)),
    }
}

#[test]
fn a_plain_beat_survives_every_fault() {
    inject_everywhere(plain(), all_but_bugs);
}

#[test]
fn a_native_beat_with_a_marker_survives_every_fault() {
    inject_everywhere(native(true), all_but_bugs);
}

#[test]
fn a_native_beat_creating_its_marker_survives_every_fault() {
    inject_everywhere(native(false), all_but_bugs);
}

#[test]
fn a_fallback_tick_survives_every_fault() {
    inject_everywhere(fallback(), all_but_bugs);
}

#[test]
fn clearing_the_marker_survives_every_fault() {
    let mut s = beat_scenario("fault-clear", &["--clear-native", "w1"], true, "");
    s.new_mark = None;
    inject_everywhere(s, all_but_bugs);
}

#[test]
fn the_output_file_of_hb_read_survives_every_fault() {
    inject_everywhere(
        Scenario {
            title: "fault-output",
            bin: READ,
            args: ["--format", "prometheus", "--output", "OUT"]
                .map(String::from)
                .to_vec(),
            watched: "out".into(),
            target: "out/m.prom".into(),
            new_mark: None,
            hook: false,
            setup: Box::new(|sb| {
                fresh(sb, false);
                let out = sb.root.join("out");
                let _ = fs::remove_dir_all(&out);
                fs::create_dir_all(&out).unwrap();
                fs::write(out.join("m.prom"), b"# old export\n").unwrap();
            }),
        },
        all_but_bugs,
    );
}

#[test]
fn a_hook_survives_every_fault_and_exits_0() {
    inject_everywhere(hook_scenario(), all_but_bugs);
}

/// The first beat ever: the directory is created only when the temporary
/// cannot be, so a missing directory is the only case that makes `mkdir`.
fn first_beat() -> Scenario {
    let mut s = plain();
    s.title = "fault-first";
    s.setup = Box::new(|sb| {
        let _ = fs::remove_dir_all(&sb.dir);
    });
    s
}

#[test]
fn a_first_beat_creating_its_directory_survives_every_fault() {
    let tally = inject_everywhere(first_beat(), all_but_bugs);
    if let Some(t) = tally {
        assert!(t.contains_key("mkdir"), "no fault in mkdir: {t:?}");
    }
}

/// `mkdir -p` answers "File exists" when what is there is not a directory
/// it can stat; the error must be the real one.
#[test]
fn bug_mkdir_p_meeting_a_vanished_directory_names_the_real_error() {
    if !have_strace() {
        return;
    }
    let sb = Sandbox::new("fault-vanished");
    let s = first_beat();
    let s = Scenario {
        watched: sb.dir.clone(),
        target: sb.dir.join("w1.hb"),
        ..s
    };
    (s.setup)(&sb);
    let o = run_traced(&sb, &s, Some("inject=mkdir:error=EEXIST".into()));
    assert_eq!(o.code, Some(3), "{}", o.explain);
    assert!(
        o.stderr
            .starts_with("hb-write: error: unable to create directory ")
            && o.stderr.ends_with(": No such file or directory\n")
            && o.stderr.lines().count() == 1,
        "{}",
        o.explain
    );
    assert!(!sb.dir.exists());
}

#[test]
fn bug_a_hook_that_cannot_read_the_old_beat_changes_nothing() {
    inject_everywhere(hook_scenario(), reads_the_old_beat);
}

/// A file holding `payload`, beside the sandbox so snapshots ignore it.
fn payload_file(sb: &Sandbox, payload: &[u8]) -> fs::File {
    let input = sb.root.with_extension("payload");
    fs::write(&input, payload).unwrap();
    let f = fs::File::open(&input).unwrap();
    fs::remove_file(&input).unwrap();
    f
}

/// Runs `hb-write --hook claude` with a payload and an environment.
fn hook(sb: &Sandbox, name: Option<&str>, args: &[&str], payload: &[u8]) -> Run {
    let mut c = sb.cmd(WRITE);
    c.arg("--hook").args(args);
    c.stdin(payload_file(sb, payload));
    if let Some(n) = name {
        c.env("MOSAIC_AGENT_NAME", n);
    }
    Run::of(&mut c, sb)
}

#[test]
fn a_hook_with_bad_input_exits_0_and_changes_nothing() {
    let sb = Sandbox::new("hook-bad");
    fresh(&sb, true);
    let good: &[u8] = PAYLOAD;
    // What is wrong, MOSAIC_AGENT_NAME, arguments after --hook, payload.
    type Case<'a> = (&'a str, Option<&'a str>, &'a [&'a str], &'a [u8]);
    let cases: &[Case] = &[
        (
            "garbage JSON",
            Some("w1"),
            &["claude"],
            b"{\"hook_event_name\":",
        ),
        (
            "not JSON at all",
            Some("w1"),
            &["claude"],
            b"\xff\xfe garbage \x00",
        ),
        ("an empty payload", Some("w1"), &["claude"], b""),
        (
            "an unknown event",
            Some("w1"),
            &["claude"],
            br#"{"hook_event_name":"Bogus"}"#,
        ),
        ("no NAME", None, &["claude"], good),
        ("an empty NAME", Some(""), &["claude"], good),
        ("a NAME with a slash", Some("../w1"), &["claude"], good),
        ("a NAME with a dot", Some("w1.x"), &["claude"], good),
        ("a NAME too long", Some(&"a".repeat(65)), &["claude"], good),
        ("an unknown runtime", Some("w1"), &["bogus"], good),
        ("a bad payload argument", Some("w1"), &["codex", "{]"], b""),
        (
            "a stray flag",
            Some("w1"),
            &["claude", "--status", "busy"],
            good,
        ),
        (
            "a bad model",
            Some("w1"),
            &["claude", "--model", " x"],
            good,
        ),
    ];
    let before = sb.snapshot();
    for (what, name, args, payload) in cases {
        let r = hook(&sb, *name, args, payload);
        let e = format!("{what}\n{}", r.explain());
        assert_eq!(r.code(), Some(0), "{e}");
        assert!(r.stdout().is_empty(), "stdout written\n{e}");
        let err = r.stderr();
        assert!(
            err.lines().count() == 1 && err.starts_with("hb-write: hook: "),
            "expected one line on stderr\n{e}"
        );
        assert!(sb.snapshot() == before, "a file changed\n{e}");
    }
    // The same good payload does write, so the cases above were refused
    // for what they are, not for something else.
    let r = hook(&sb, Some("w1"), &["claude"], good);
    r.expect(0);
    assert!(sb.read("w1.hb").contains("status=busy"), "{}", r.explain());
}

#[test]
fn a_hook_that_cannot_write_exits_0_and_changes_nothing() {
    // A plain file where the directory should be: the write fails with a
    // real OS error, no injection needed.
    let sb = Sandbox::new("hook-io");
    fs::write(&sb.dir, b"not a directory").unwrap();
    let before = sb.snapshot();
    let r = hook(&sb, Some("w1"), &["claude"], PAYLOAD);
    r.expect(0);
    assert!(r.stdout().is_empty(), "{}", r.explain());
    r.one_error_line("hb-write: hook: unable to ");
    assert!(
        r.stderr().contains(sb.dir.to_str().unwrap()),
        "{}",
        r.explain()
    );
    assert!(sb.snapshot() == before, "{}", r.explain());
}

#[test]
fn bug_errors_stay_one_line_whatever_the_arguments_hold() {
    let sb = Sandbox::new("one-line");
    fs::write(sb.root.join("file"), b"x").unwrap();
    let under_file = sb.root.join("file").join("a\nb");
    let cases: Vec<(&str, Vec<std::ffi::OsString>, i32)> = vec![
        (WRITE, vec!["-\n".into()], 2),
        (WRITE, vec!["--native=a\nb".into(), "w1".into()], 2),
        (READ, vec!["--a\nb".into()], 2),
        (DEFER, vec!["--x\u{1b}[2J".into(), "w1".into()], 2),
        (
            WRITE,
            vec!["--dir".into(), under_file.clone().into(), "w1".into()],
            3,
        ),
        (READ, vec!["--dir".into(), under_file.into()], 3),
    ];
    for (bin, args, code) in cases {
        let mut c = bare(bin);
        c.args(&args);
        let r = Run::of(&mut c, &sb);
        let prog = Path::new(bin).file_name().unwrap().to_str().unwrap();
        r.expect(code).one_error_line(&format!("{prog}: error: "));
    }
}

#[test]
fn bug_a_failed_close_of_a_listed_directory_is_no_panic() {
    if !have_strace() {
        return;
    }
    // `--remove` always sweeps; a listing always reads the directory.
    let runs: [(&str, &[&str], i32); 3] = [
        (WRITE, &["--remove", "w1"], 0),
        (READ, &["--json"], 0),
        (READ, &["--output", "OUT"], 0),
    ];
    let mut tried = 0;
    for (bin, args, code) in runs {
        for (errno, _) in ERRNOS {
            let sb = Sandbox::new("fault-closedir");
            let out = sb.root.join("m.prom");
            let args: Vec<String> = args
                .iter()
                .map(|a| match *a {
                    "OUT" => out.to_str().unwrap().to_string(),
                    a => a.to_string(),
                })
                .collect();
            let s = Scenario {
                title: "fault-closedir",
                bin,
                args,
                watched: sb.dir.clone(),
                target: sb.path("w1.hb"),
                new_mark: None,
                hook: false,
                setup: Box::new(|sb| fresh(sb, true)),
            };
            (s.setup)(&sb);
            let found = run_traced(&sb, &s, None);
            let close = found
                .calls
                .iter()
                .find(|c| closes_the_directory(c))
                .unwrap_or_else(|| panic!("no close of the directory\n{}", found.explain));
            (s.setup)(&sb);
            let spec = format!("inject=close:error={errno}:when={}", close.nth);
            let o = run_traced(&sb, &s, Some(spec));
            assert!(
                o.code == Some(code) && !o.stderr.contains("panicked"),
                "a failed closedir must not panic\n{}",
                o.explain
            );
            tried += 1;
        }
    }
    eprintln!("faults: closedir: {tried} injected faults");
}

/// Contract v2: no write path waits for the disk. Every writer runs under
/// `strace -f` watching the calls that would; a control run of `sync`
/// shows the trace does see them.
#[test]
fn no_write_path_syncs_to_disk() {
    if !have_strace() {
        return;
    }
    let sb = Sandbox::new("nosync");
    let log = sb.root.join("sync.log");
    let calls = "trace=fsync,fdatasync,sync_file_range,sync,syncfs,msync";
    let traced = |args: &[&str], bin: &str, stdin: Option<&[u8]>| -> String {
        let mut c = bare("strace");
        c.args(["-f", "-qq", "-e", calls, "-o"])
            .arg(&log)
            .arg("--")
            .arg(bin);
        if bin != "sync" {
            c.arg("--dir").arg(&sb.dir);
        }
        c.args(args).env("MOSAIC_AGENT_NAME", "w1");
        if let Some(p) = stdin {
            c.stdin(payload_file(&sb, p));
        }
        let out = c.output().unwrap();
        assert!(out.status.success(), "{args:?}: {out:?}");
        fs::read_to_string(&log).unwrap()
    };
    assert!(
        traced(&[], "sync", None).contains("sync()"),
        "the trace sees no sync"
    );
    let out = sb.root.join("m.prom");
    let out = out.to_str().unwrap();
    let a = common::agent();
    let p = a.pid().to_string();
    let paths: [(&str, &str, &[&str]); 6] = [
        ("beat", WRITE, &["--pid", &p, "w1"]),
        (
            "native",
            WRITE,
            &[
                "--native", "--status", "busy", "--model", "m", "--pid", &p, "w1",
            ],
        ),
        ("fallback", WRITE, &["--clear-native", "w1"]),
        ("fallback", WRITE, &["--fallback", "w1"]),
        ("hook", WRITE, &["--hook", "claude"]),
        (
            "--output",
            READ,
            &["--format", "prometheus", "--output", out],
        ),
    ];
    for (what, bin, args) in paths {
        let stdin = (what == "hook").then_some(PAYLOAD);
        let log = traced(args, bin, stdin);
        assert!(log.trim().is_empty(), "{what} ({args:?}) synced:\n{log}");
    }
    // The sidecar, over a few ticks (interval 1), then SIGTERM.
    let mut c = bare("strace");
    c.args(["-f", "-qq", "-e", calls, "-o"])
        .arg(&log)
        .arg("--")
        .arg(WRITE)
        .arg("--dir")
        .arg(&sb.dir)
        .args(["--sidecar", "--interval", "1", "--pid", &p, "w1"]);
    let mut sc = common::Proc(c.spawn().unwrap());
    let ts = |sb: &Sandbox| fields(&sb.read("w1.hb"))["ts"].clone();
    let first = ts(&sb);
    poll(
        "two sidecar ticks",
        std::time::Duration::from_secs(6),
        || (ts(&sb).parse::<i64>().unwrap() >= first.parse::<i64>().unwrap() + 2).then_some(()),
    );
    let child = child_of(sc.pid()).expect("the traced sidecar");
    // SAFETY: kill(2) on the traced sidecar, strace's only child.
    unsafe { libc::kill(child as i32, libc::SIGTERM) };
    sc.exit_within(std::time::Duration::from_secs(5));
    let log = fs::read_to_string(&log).unwrap();
    assert!(log.trim().is_empty(), "the sidecar synced:\n{log}");
}
