//! Races and kills. A native writer and a fallback writer hammer one NAME
//! while readers parse it continuously: no read may ever see a torn, empty,
//! missing or mixed beat. Then a storm of writers is SIGKILLed at random
//! instants through their lives: the beat (and an `--output` export) is
//! always whole, and after the contract's bound of 300 later writes no
//! stale temporary is left.
//!
//! Contract v2's writer lock: a tick and a native write started together
//! over thousands of trials, and a long run of every writer at once (a
//! sidecar, cron-style loops, a native writer flipping states), lose no
//! native update; a control without the lock shows the trial can see one.
//!
//! `HB_RACE_SEED` replays a storm or the trials; the counts are printed.

mod common;

use common::*;
use hb::beat::Beat;
use std::fs;
use std::io::ErrorKind;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

/// Writes per writer in the race.
const RACE_WRITES: usize = 2000;
/// Writers killed in the storm.
const KILLS: usize = 400;
/// The contract's bound: after this many writes no stale temporary is left.
const LATER_WRITES: usize = 300;

fn quiet(mut c: Command) -> Command {
    c.stdout(Stdio::null()).stderr(Stdio::piped());
    c
}

/// What a read of the raced beat may be: exactly one writer's beat.
fn check_raced(bytes: &[u8], native_pid: u32, fallback_pid: u32) -> Result<bool, String> {
    let b = Beat::parse(bytes).map_err(|why| format!("invalid read ({why}): {bytes:?}"))?;
    if b.pid == native_pid && b.status == "busy" && b.model.as_deref() == Some("glm-5.2") {
        Ok(true)
    } else if b.pid == fallback_pid && b.status == "ok" && b.model.is_none() {
        Ok(false)
    } else {
        Err(format!("a beat no writer wrote: {bytes:?}"))
    }
}

#[test]
fn a_native_and_a_fallback_writer_racing_never_show_a_torn_beat() {
    let sb = Arc::new(Sandbox::new("race"));
    let native_pid = std::process::id();
    let fallback_pid = 1;
    let np = native_pid.to_string();
    let native_args = [
        "--native", "--status", "busy", "--model", "glm-5.2", "--pid", &np, "w1",
    ];
    sb.run(WRITE, &native_args).expect(0);

    let done = Arc::new(AtomicBool::new(false));
    let reads = Arc::new(AtomicUsize::new(0));
    let seen_native = Arc::new(AtomicUsize::new(0));
    let cli_reads = Arc::new(AtomicUsize::new(0));

    // An in-process reader: every read must parse as one writer's beat.
    let reader = {
        let (sb, done, reads, seen_native) =
            (sb.clone(), done.clone(), reads.clone(), seen_native.clone());
        thread::spawn(move || -> Result<(), String> {
            let path = sb.path("w1.hb");
            while !done.load(Ordering::Relaxed) {
                let bytes = match fs::read(&path) {
                    Ok(b) => b,
                    Err(e) if e.kind() == ErrorKind::NotFound => {
                        return Err("the beat vanished during a rename".into())
                    }
                    Err(e) => return Err(format!("read: {e}")),
                };
                if check_raced(&bytes, native_pid, fallback_pid)? {
                    seen_native.fetch_add(1, Ordering::Relaxed);
                }
                reads.fetch_add(1, Ordering::Relaxed);
                thread::yield_now();
            }
            Ok(())
        })
    };
    // The real reader binary, continuously: never invalid, never missing.
    let cli_reader = {
        let (sb, done, cli_reads) = (sb.clone(), done.clone(), cli_reads.clone());
        thread::spawn(move || -> Result<(), String> {
            while !done.load(Ordering::Relaxed) {
                let r = sb.run(READ, &["--json", "w1"]);
                let out = r.stdout();
                if r.code() != Some(0)
                    || out.contains("\"invalid\"")
                    || out.contains("\"missing\"")
                    || !out.contains("\"heartbeat\":{")
                {
                    return Err(format!("bad listing during the race\n{}", r.explain()));
                }
                cli_reads.fetch_add(1, Ordering::Relaxed);
            }
            Ok(())
        })
    };
    let writer = |args: Vec<String>| {
        let sb = sb.clone();
        thread::spawn(move || -> Result<usize, String> {
            for _ in 0..RACE_WRITES {
                let mut c = quiet(sb.cmd(WRITE));
                let out = c.args(&args).output().map_err(|e| e.to_string())?;
                if !out.status.success() {
                    return Err(format!(
                        "{args:?}: {}: {}",
                        out.status,
                        String::from_utf8_lossy(&out.stderr)
                    ));
                }
            }
            Ok(RACE_WRITES)
        })
    };
    let native = writer(native_args.iter().map(|s| s.to_string()).collect());
    // The fallback's write when the marker is not fresh: a plain `ok` beat
    // for the pane's pid (a fresh marker would make `--fallback` defer).
    let fallback = writer(["--pid", "1", "w1"].map(String::from).to_vec());
    let results = [native.join().unwrap(), fallback.join().unwrap()];
    done.store(true, Ordering::Relaxed);
    let r1 = reader.join().unwrap();
    let r2 = cli_reader.join().unwrap();
    for r in &results {
        assert!(r.is_ok(), "a writer failed: {r:?}");
    }
    r1.unwrap();
    r2.unwrap();
    let leftovers = temporaries(&sb.dir);
    assert!(leftovers.is_empty(), "temporaries left: {leftovers:?}");
    let (reads, native_reads) = (
        reads.load(Ordering::Relaxed),
        seen_native.load(Ordering::Relaxed),
    );
    eprintln!(
        "races: {} writes raced ({RACE_WRITES} native + {RACE_WRITES} fallback), \
         {reads} in-process reads ({native_reads} native, {} fallback) and {} hb-read \
         listings, 0 torn or invalid",
        2 * RACE_WRITES,
        reads - native_reads,
        cli_reads.load(Ordering::Relaxed)
    );
    assert!(reads > 0 && cli_reads.load(Ordering::Relaxed) > 0);
}

fn seed() -> u64 {
    let seed = std::env::var("HB_RACE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..));
    eprintln!("races: seed {seed} (replay with HB_RACE_SEED={seed})");
    seed
}

/// The temporaries of `target` in `dir`, with their writers' pids.
fn temps(dir: &Path, target: &str) -> Vec<(String, u32)> {
    let prefix = format!(".{target}.");
    fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter_map(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            let pid = n.strip_prefix(&prefix)?.split('.').next()?.parse().ok()?;
            Some((n, pid))
        })
        .collect()
}

fn pid_alive(pid: u32) -> bool {
    // SAFETY: signal 0 only checks for existence.
    let rc = unsafe { libc::kill(pid as libc::pid_t, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// A temporary is stale when its writer has exited (the contract); one
/// whose pid was reused by a live process is not stale before 60 s.
fn stale(found: &[(String, u32)]) -> Vec<&String> {
    found
        .iter()
        .filter(|(_, pid)| !pid_alive(*pid))
        .map(|(n, _)| n)
        .collect()
}

#[test]
fn writers_killed_at_random_instants_never_leave_a_broken_beat() {
    let mut rng = fastrand::Rng::with_seed(seed());
    let sb = Sandbox::new("storm");
    let out_dir = sb.root.join("out");
    fs::create_dir_all(&out_dir).unwrap();
    let out = out_dir.join("m.prom");
    let out_s = out.to_str().unwrap().to_string();
    sb.run(WRITE, &["--native", "--model", "glm-5.2", "w1"])
        .expect(0);
    sb.run(READ, &["--format", "prometheus", "--output", &out_s])
        .expect(0);

    let kinds: [Vec<String>; 4] = [
        ["--native", "--status", "busy", "--model", "glm-5.2", "w1"]
            .map(String::from)
            .to_vec(),
        ["--pid", "1", "w1"].map(String::from).to_vec(),
        ["--fallback", "--interval", "1", "w1"]
            .map(String::from)
            .to_vec(),
        ["--format", "prometheus", "--output", &out_s]
            .map(String::from)
            .to_vec(),
    ];
    let spawn = |k: usize| -> Child {
        let bin = if k == 3 { READ } else { WRITE };
        quiet(sb.cmd(bin)).args(&kinds[k]).spawn().unwrap()
    };
    // How long a writer lives, so that kill instants cover its whole life:
    // its shortest life, as a burst of other work during these runs must
    // not stretch the instants until most writers finish before them.
    let life = (0..4)
        .flat_map(|k| (0..5).map(move |_| k))
        .map(|k| {
            let t = Instant::now();
            spawn(k).wait().unwrap();
            t.elapsed()
        })
        .min()
        .unwrap();
    // The load on a shared machine changes while this runs, so the window
    // follows what the kills find: a batch that all finished first narrows
    // it, a batch all killed widens it. Half the kills landing mid-run is
    // the aim; the run goes on (to a bound) until a quarter have.
    let mut max_delay = (life * 2).as_micros() as u64;
    let (mut narrowest, mut widest) = (max_delay, max_delay);

    let (mut killed, mut finished) = (0, 0);
    let mut most_temps = 0;
    let mut batch = Vec::new();
    let mut n = 0;
    while n < KILLS || (killed <= KILLS / 4 && n < 4 * KILLS) {
        // Four at a time, each killed at its own random instant.
        batch.clear();
        for _ in 0..4 {
            let k = rng.usize(..4);
            let at = Duration::from_micros(rng.u64(..=max_delay));
            batch.push((spawn(k), Instant::now() + at));
        }
        batch.sort_by_key(|(_, at)| *at);
        for (child, at) in &mut batch {
            thread::sleep(at.saturating_duration_since(Instant::now()));
            let _ = child.kill(); // SIGKILL
        }
        let mut landed = 0;
        for (child, _) in &mut batch {
            use std::os::unix::process::ExitStatusExt;
            let st = child.wait().unwrap();
            if st.signal() == Some(libc::SIGKILL) {
                landed += 1;
            } else {
                assert!(st.success(), "a writer failed on its own: {st}");
                finished += 1;
            }
            n += 1;
        }
        killed += landed;
        if landed == 0 {
            max_delay = (max_delay * 3 / 4).max(20);
        } else if landed == batch.len() {
            max_delay = max_delay * 5 / 4 + 1;
        }
        narrowest = narrowest.min(max_delay);
        widest = widest.max(max_delay);
        // Whole, always.
        let beat = fs::read(sb.path("w1.hb")).expect("the beat vanished");
        Beat::parse(&beat)
            .unwrap_or_else(|why| panic!("broken beat after a kill: {why}: {beat:?}"));
        let export = fs::read_to_string(&out).expect("the export vanished");
        assert!(
            export.ends_with('\n') && export.contains("mosaic_agent_") && export.contains("w1"),
            "broken export after a kill: {export:?}"
        );
        most_temps =
            most_temps.max(temps(&sb.dir, "w1.hb").len() + temps(&out_dir, "m.prom").len());
    }
    let left = temps(&sb.dir, "w1.hb").len() + temps(&out_dir, "m.prom").len();

    // The contract's bound of later writes sweeps every stale temporary.
    for _ in 0..LATER_WRITES {
        sb.run(WRITE, &["--pid", "1", "w1"]).expect(0);
    }
    for _ in 0..LATER_WRITES {
        sb.run(READ, &["--format", "prometheus", "--output", &out_s])
            .expect(0);
    }
    let beat_temps = temps(&sb.dir, "w1.hb");
    let out_temps = temps(&out_dir, "m.prom");
    assert!(
        stale(&beat_temps).is_empty() && stale(&out_temps).is_empty(),
        "stale temporaries after {LATER_WRITES} writes: {:?} {:?}\n{}",
        stale(&beat_temps),
        stale(&out_temps),
        listing(&sb.dir)
    );
    eprintln!(
        "races: {n} writers SIGKILLed at random instants up to {narrowest}..{widest} us \
         ({killed} died mid-run, {finished} finished first); beat and export whole every time; \
         {left} temporaries left by the killed (at most {most_temps} at once), \
         {} after {LATER_WRITES} later writes of each (none stale)",
        beat_temps.len() + out_temps.len()
    );
    assert!(killed > KILLS / 4, "too few kills landed mid-run: {killed}");
}

/// One trial of the race that lost native updates before the lock: a
/// marker present but stale, an old native beat whose pid lives (so the
/// tick would carry it), then a tick and a native write started together
/// at a random offset. Returns whether the native update survived.
fn lost_update_trial(sb: &Sandbox, rng: &mut fastrand::Rng, pid: &str, n: usize) -> bool {
    let old = format!(
        "ts={}\npid={pid}\nstatus=busy\nmodel=m-old\nsince=1\n",
        now()
    );
    fs::write(sb.path("w.hb"), old).unwrap();
    let stale = std::time::SystemTime::now() - Duration::from_secs(120);
    fs::File::options()
        .write(true)
        .open(sb.path("w.hb.native"))
        .unwrap()
        .set_modified(stale)
        .unwrap();
    let model = format!("m-{n}");
    let spawn = |args: &[&str]| {
        let mut c = quiet(sb.cmd(WRITE));
        c.args(args).stderr(Stdio::null());
        c.spawn().unwrap()
    };
    let tick = ["--fallback", "--interval", "1", "--pid", pid, "w"];
    let native = [
        "--native", "--status", "waiting", "--model", &model, "--pid", pid, "w",
    ];
    let gap = Duration::from_micros(rng.u64(0..1500));
    let (first, second) = if rng.bool() {
        (&tick[..], &native[..])
    } else {
        (&native[..], &tick[..])
    };
    let mut a = spawn(first);
    thread::sleep(gap);
    let mut b = spawn(second);
    assert!(a.wait().unwrap().success() && b.wait().unwrap().success());
    let f = fields(&fs::read_to_string(sb.path("w.hb")).unwrap());
    f["status"] == "waiting" && f.get("model") == Some(&model)
}

#[test]
fn a_tick_never_renames_over_a_newer_native_beat() {
    let sb = Sandbox::new("lost");
    sb.mkdir();
    fs::write(sb.path("w.hb.native"), b"").unwrap();
    let agent = common::agent();
    let pid = agent.pid().to_string();
    let seed = std::env::var("HB_RACE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..));
    let mut rng = fastrand::Rng::with_seed(seed);
    const TRIALS: usize = 2000;
    let lost = (0..TRIALS)
        .filter(|&n| !lost_update_trial(&sb, &mut rng, &pid, n))
        .count();

    // The control: the same race with the lock unusable (a FIFO planted
    // at its path: writers go on without it) loses updates, so the trial
    // can see a loss.
    fs::remove_file(sb.path(".w.lock")).unwrap();
    assert!(Command::new("mkfifo")
        .arg(sb.path(".w.lock"))
        .status()
        .unwrap()
        .success());
    let (mut control, mut control_lost) = (0, 0);
    while control < 3000 && control_lost < 5 {
        control += 1;
        if !lost_update_trial(&sb, &mut rng, &pid, TRIALS + control) {
            control_lost += 1;
        }
    }
    eprintln!(
        "races: lost native updates: {lost} of {TRIALS} trials with the lock; \
         {control_lost} of {control} without it (seed {seed}, HB_RACE_SEED replays)"
    );
    assert_eq!(lost, 0, "native updates lost with the lock (seed {seed})");
    assert!(
        control_lost > 0,
        "the control never lost an update: the trial cannot see one"
    );
}

#[test]
fn a_long_run_of_every_writer_loses_no_native_update_and_tears_no_read() {
    let sb = Arc::new(Sandbox::new("long"));
    let agent = common::agent();
    let pid = agent.pid().to_string();
    sb.run(WRITE, &["--pid", &pid, "w"]).expect(0);
    let done = Arc::new(AtomicBool::new(false));
    let mut sc = sb.cmd(WRITE);
    sc.args(["--sidecar", "--interval", "1", "--while-pid", &pid, "w"])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let sidecar = common::Proc(sc.spawn().unwrap());

    // Two cron-style loops of `--fallback` without --pid.
    let crons: Vec<_> = (0..2)
        .map(|_| {
            let (sb, done) = (sb.clone(), done.clone());
            thread::spawn(move || {
                let mut n = 0;
                while !done.load(Ordering::Relaxed) {
                    let mut c = quiet(sb.cmd(WRITE));
                    c.args(["--fallback", "--interval", "1", "w"])
                        .stderr(Stdio::null());
                    assert!(c.status().unwrap().success());
                    n += 1;
                    thread::sleep(Duration::from_millis(fastrand::u64(0..20)));
                }
                n
            })
        })
        .collect();
    // A reader that parses every read.
    let reader = {
        let (sb, done) = (sb.clone(), done.clone());
        thread::spawn(move || {
            let (mut reads, mut torn) = (0usize, 0usize);
            while !done.load(Ordering::Relaxed) {
                match fs::read(sb.path("w.hb")) {
                    Ok(b) if Beat::parse(&b).is_ok() => {}
                    _ => torn += 1,
                }
                reads += 1;
            }
            (reads, torn)
        })
    };

    // The native writer flips states with a new model each time, in bursts
    // with pauses past 2 intervals (the marker goes stale: ticks carry).
    // After each write, and all through each pause, the beat is its own.
    let (mut writes, mut checks, mut lost) = (0, 0, Vec::new());
    let end = Instant::now() + Duration::from_secs(12);
    while Instant::now() < end {
        for _ in 0..10 {
            let status = ["busy", "waiting", "ok"][writes % 3];
            let model = format!("m-{writes}");
            sb.run(
                WRITE,
                &[
                    "--native", "--status", status, "--model", &model, "--pid", &pid, "w",
                ],
            )
            .expect(0);
            writes += 1;
            let until = Instant::now() + Duration::from_millis(fastrand::u64(0..40));
            loop {
                let f = fields(&fs::read_to_string(sb.path("w.hb")).unwrap());
                checks += 1;
                if f.get("model") != Some(&model) || f["status"] != status {
                    lost.push(format!("after {model}/{status}: {f:?}"));
                }
                if Instant::now() >= until {
                    break;
                }
            }
        }
        let status = ["busy", "waiting", "ok"][(writes - 1) % 3];
        let model = format!("m-{}", writes - 1);
        let until = Instant::now() + Duration::from_millis(2200 + fastrand::u64(0..400));
        while Instant::now() < until {
            let f = fields(&fs::read_to_string(sb.path("w.hb")).unwrap());
            checks += 1;
            if f.get("model") != Some(&model) || f["status"] != status {
                lost.push(format!("while quiet after {model}/{status}: {f:?}"));
            }
            thread::sleep(Duration::from_millis(5));
        }
    }
    done.store(true, Ordering::Relaxed);
    let cron_ticks: usize = crons.into_iter().map(|c| c.join().unwrap()).sum();
    let (reads, torn) = reader.join().unwrap();
    drop(sidecar);
    eprintln!(
        "races: long run: {writes} native writes checked {checks} times, {} lost; \
         {cron_ticks} cron ticks and a sidecar at interval 1; {reads} reads, {torn} torn",
        lost.len()
    );
    assert!(
        lost.is_empty(),
        "lost native updates: {:?}",
        &lost[..lost.len().min(5)]
    );
    assert_eq!(torn, 0, "torn reads");
    assert!(cron_ticks > 100 && reads > 1000, "too little traffic");
}
