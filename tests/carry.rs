//! Contract v2's state model from the outside: a hook-driven runtime that
//! writes once and then falls silent keeps its state (busy, then waiting,
//! with its model and `since`) for as long as its process lives, carried
//! by the sidecar; `since` at every edge; and `--fallback` without `--pid`.

mod common;
use common::*;
use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::{Duration, Instant};

fn sidecar(sb: &Sandbox, interval: u32, watched: u32, name: &str) -> Proc {
    let mut c = sb.cmd(WRITE);
    c.args(["--sidecar", "--interval", &interval.to_string()])
        .args(["--while-pid", &watched.to_string(), name])
        .stdout(Stdio::null());
    Proc(c.spawn().unwrap())
}

fn beat(sb: &Sandbox, name: &str) -> Option<BTreeMap<String, String>> {
    std::fs::read_to_string(sb.path(&format!("{name}.hb")))
        .ok()
        .map(|b| fields(&b))
}

/// One value of one row of `hb-read --json NAME` (at interval 1, as the
/// sidecars here), as its JSON text.
fn json_field(sb: &Sandbox, name: &str, key: &str) -> String {
    let out = sb
        .run(READ, &["--interval", "1", "--json", name])
        .expect(0)
        .stdout();
    let v = std::process::Command::new("jq")
        .args(["-c", &format!(".rows[0].{key}")])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(out.as_bytes())?;
            c.wait_with_output()
        })
        .expect("jq");
    String::from_utf8_lossy(&v.stdout).trim().to_string()
}

/// Samples the beat at 20 Hz for `span` and checks each sample with `ok`;
/// returns the distinct `ts` values seen (how many ticks carried it).
fn hold(sb: &Sandbox, name: &str, span: Duration, ok: impl Fn(&BTreeMap<String, String>)) -> usize {
    let end = Instant::now() + span;
    let mut seen = std::collections::BTreeSet::new();
    while Instant::now() < end {
        let b = beat(sb, name).expect("the beat vanished");
        ok(&b);
        seen.insert(b["ts"].clone());
        std::thread::sleep(Duration::from_millis(50));
    }
    seen.len()
}

#[test]
fn a_hook_style_writer_keeps_its_state_while_its_process_lives() {
    let sb = Sandbox::new("carry");
    let pane = agent(); // what the sidecar watches
    let runtime = agent(); // the runtime's own process, named by its beats
    let (w, n) = (pane.pid().to_string(), runtime.pid().to_string());
    let mut sc = sidecar(&sb, 1, pane.pid(), "w");
    poll("the sidecar's first beat", Duration::from_secs(5), || {
        beat(&sb, "w").filter(|b| b["pid"] == w)
    });

    // One event, then ten intervals of silence: busy all along, with its
    // model and the same since; carried by the sidecar once the marker is
    // older than 2 intervals (its ts keeps moving).
    sb.run(
        WRITE,
        &[
            "--native", "--status", "busy", "--model", "m-1", "--pid", &n, "w",
        ],
    )
    .expect(0);
    let busy_since = beat(&sb, "w").unwrap()["since"].clone();
    let ticks = hold(&sb, "w", Duration::from_secs(10), |b| {
        assert_eq!(
            (
                b["status"].as_str(),
                b.get("model").map(String::as_str),
                b["pid"].as_str()
            ),
            ("busy", Some("m-1"), n.as_str()),
            "the busy state was not kept: {b:?}"
        );
        assert_eq!(b["since"], busy_since, "since moved: {b:?}");
    });
    assert!(ticks >= 7, "only {ticks} distinct ts in 10 s of carrying");
    assert_eq!(json_field(&sb, "w", "src"), "\"carried\"");
    assert_eq!(json_field(&sb, "w", "health"), "\"healthy\"");
    let age: i64 = json_field(&sb, "w", "heartbeat.status_age")
        .parse()
        .unwrap();
    assert!(age >= 9, "status_age {age} after 10 s busy");
    let table = sb.run(READ, &["--interval", "1", "w"]).expect(0).stdout();
    let row: Vec<&str> = table.lines().nth(1).unwrap().split_whitespace().collect();
    assert_eq!(
        (row[2], row[4], row[7]),
        ("busy", "m-1", "carried"),
        "{table}"
    );
    assert!(row[3].ends_with('s') && row[3] != "0s", "FOR {table}");

    // A permission prompt: waiting, the model kept, a new since.
    sb.run(
        WRITE,
        &[
            "--native", "--status", "waiting", "--model", "m-1", "--pid", &n, "w",
        ],
    )
    .expect(0);
    let wait_since = beat(&sb, "w").unwrap()["since"].clone();
    assert!(wait_since.parse::<i64>().unwrap() >= busy_since.parse::<i64>().unwrap() + 9);
    hold(&sb, "w", Duration::from_secs(5), |b| {
        assert_eq!(
            (b["status"].as_str(), b.get("model").map(String::as_str)),
            ("waiting", Some("m-1")),
            "{b:?}"
        );
        assert_eq!(b["since"], wait_since, "{b:?}");
    });

    // The runtime's process ends without a word: the next tick writes a
    // plain ok for the watched pid.
    drop(runtime);
    let b = poll(
        "a plain beat after the runtime died",
        Duration::from_secs(3),
        || beat(&sb, "w").filter(|b| b["status"] == "ok"),
    );
    assert_eq!(
        (b["pid"].as_str(), b.get("model")),
        (w.as_str(), None),
        "{b:?}"
    );
    assert_eq!(json_field(&sb, "w", "health"), "\"healthy\"");

    // Another session: carried while quiet, until --clear-native hands the
    // beat back; a plain ok within a tick.
    let runtime = agent();
    let n = runtime.pid().to_string();
    sb.run(
        WRITE,
        &[
            "--native", "--status", "busy", "--model", "m-2", "--pid", &n, "w",
        ],
    )
    .expect(0);
    poll("the sidecar to carry it", Duration::from_secs(4), || {
        (json_field(&sb, "w", "src") == "\"carried\"").then_some(())
    });
    assert_eq!(beat(&sb, "w").unwrap()["status"], "busy");
    sb.run(WRITE, &["--clear-native", "w"]).expect(0);
    let b = poll(
        "a plain beat after the hand-back",
        Duration::from_millis(2500),
        || beat(&sb, "w").filter(|b| b["status"] == "ok"),
    );
    assert_eq!((b["pid"].as_str(), b.get("model")), (w.as_str(), None));
    assert_eq!(json_field(&sb, "w", "src"), "\"sidecar\"");

    // The watched pid's end still gives exited at once.
    drop(pane);
    let b = poll("exited", Duration::from_secs(1), || {
        beat(&sb, "w").filter(|b| b["status"] == "exited")
    });
    assert_eq!(b["pid"], w);
    assert!(sc.exit_within(Duration::from_secs(5)).success());
    drop(runtime);
}

/// Writes a beat file by hand, as another writer (or an older one) left it.
fn put_beat(sb: &Sandbox, pid: u32, status: &str, since: Option<i64>) {
    let mut text = format!("ts={}\npid={pid}\nstatus={status}\nmodel=m\n", now());
    if let Some(s) = since {
        text.push_str(&format!("since={s}\n"));
    }
    sb.put("w.hb", text.as_bytes());
}

fn since_of(sb: &Sandbox) -> i64 {
    beat(sb, "w").unwrap()["since"].parse().unwrap()
}

#[test]
fn since_is_kept_while_the_same_pid_keeps_the_same_status() {
    let sb = Sandbox::new("since");
    let a = agent();
    let p = a.pid().to_string();
    let recent = |s: i64| (now() - s).abs() <= 2;

    // Same pid, same status: kept.
    put_beat(&sb, a.pid(), "busy", Some(1000));
    sb.run(WRITE, &["--native", "--status", "busy", "--pid", &p, "w"])
        .expect(0);
    assert_eq!(since_of(&sb), 1000);
    // Status changed: now.
    sb.run(
        WRITE,
        &["--native", "--status", "waiting", "--pid", &p, "w"],
    )
    .expect(0);
    assert!(recent(since_of(&sb)));
    // Pid changed, same status: now.
    put_beat(&sb, a.pid(), "busy", Some(1000));
    sb.run(WRITE, &["--native", "--status", "busy", "--pid", "1", "w"])
        .expect(0);
    assert!(recent(since_of(&sb)));

    // Carried: the marker is present but quiet and the pid lives: kept.
    put_beat(&sb, a.pid(), "busy", Some(1000));
    sb.put("w.hb.native", b"");
    let old = std::time::SystemTime::now() - Duration::from_secs(60);
    std::fs::File::options()
        .write(true)
        .open(sb.path("w.hb.native"))
        .unwrap()
        .set_modified(old)
        .unwrap();
    sb.run(WRITE, &["--fallback", "--pid", &p, "w"]).expect(0);
    let b = beat(&sb, "w").unwrap();
    assert_eq!(
        (b["status"].as_str(), b["since"].as_str()),
        ("busy", "1000")
    );

    // A plain ok after the hand-back: the status changed, so now; and the
    // next plain tick keeps it.
    sb.run(WRITE, &["--clear-native", "w"]).expect(0);
    sb.run(WRITE, &["--fallback", "--pid", &p, "w"]).expect(0);
    let b = beat(&sb, "w").unwrap();
    assert_eq!(b["status"], "ok");
    let plain = since_of(&sb);
    assert!(recent(plain));
    put_beat(&sb, a.pid(), "ok", Some(plain - 100));
    sb.run(WRITE, &["--fallback", "--pid", &p, "w"]).expect(0);
    assert_eq!(since_of(&sb), plain - 100);

    // A legacy beat has none: the reader says so (FOR -, JSON null), and
    // the next write dates the status from now.
    put_beat(&sb, a.pid(), "busy", None);
    let table = sb.run(READ, &["w"]).expect(0).stdout();
    let row: Vec<&str> = table.lines().nth(1).unwrap().split_whitespace().collect();
    assert_eq!(row[3], "-", "{table}");
    assert_eq!(json_field(&sb, "w", "heartbeat.since"), "null");
    assert_eq!(json_field(&sb, "w", "heartbeat.status_age"), "null");
    sb.run(WRITE, &["--native", "--status", "busy", "--pid", &p, "w"])
        .expect(0);
    assert!(recent(since_of(&sb)));

    // The reader: status_age = now - since, FOR in AGE's format.
    put_beat(&sb, a.pid(), "waiting", Some(now() - 192));
    let age: i64 = json_field(&sb, "w", "heartbeat.status_age")
        .parse()
        .unwrap();
    assert!((192..=194).contains(&age), "status_age {age}");
    let table = sb.run(READ, &["w"]).expect(0).stdout();
    assert!(
        table.contains(" 3m12s ") || table.contains(" 3m13s "),
        "{table}"
    );
}

#[test]
fn fallback_without_a_pid_keeps_the_beats_pid_or_refuses() {
    let sb = Sandbox::new("nopid");
    // No beat: exit 2, one line saying to pass --pid, nothing touched
    // (not even the directory).
    let before = sb.snapshot();
    sb.run(WRITE, &["--fallback", "w"])
        .expect(2)
        .one_error_line("hb-write: error: no valid beat");
    assert!(sb
        .run(WRITE, &["--fallback", "w"])
        .stderr()
        .contains("--pid"));
    assert_eq!(sb.snapshot(), before);
    assert!(!sb.dir.exists());

    // A beat from another host, or an invalid one, names no pid of ours.
    sb.put("w.hb", b"ts=1\npid=4242\nstatus=ok\nhost=elsewhere-7\n");
    sb.run(WRITE, &["--fallback", "w"]).expect(2);
    sb.put("w.hb", b"ts=1\npid=x\nstatus=ok\n");
    sb.run(WRITE, &["--fallback", "w"]).expect(2);

    // The agent's beat: its pid is kept, not this writer's parent.
    let a = agent();
    let p = a.pid().to_string();
    sb.run(WRITE, &["--pid", &p, "--status", "starting", "w"])
        .expect(0);
    sb.run(WRITE, &["--fallback", "w"]).expect(0);
    let b = beat(&sb, "w").unwrap();
    assert_eq!(
        (b["pid"].as_str(), b["status"].as_str()),
        (p.as_str(), "ok")
    );
    assert_eq!(b.get("model"), None);

    // The pid is dead: exited, still that pid.
    drop(a);
    sb.run(WRITE, &["--fallback", "w"]).expect(0);
    let b = beat(&sb, "w").unwrap();
    assert_eq!(
        (b["pid"].as_str(), b["status"].as_str()),
        (p.as_str(), "exited")
    );
    assert_eq!(json_field(&sb, "w", "health"), "\"exited\"");
}
