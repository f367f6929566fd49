//! The three binaries from the outside: exit codes, hostile input that must
//! touch nothing, legacy and hostile beat files, directory resolution, and
//! a race of writers against a reader.

mod common;
use common::*;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn a_beat_has_the_contract_keys_in_order_and_mode_0644() {
    let sb = Sandbox::new("keys");
    sb.run(
        WRITE,
        &[
            "--status", "busy", "--model", "glm-5.2", "--pid", "1", "w-1",
        ],
    )
    .expect(0);
    let beat = sb.read("w-1.hb");
    let keys: Vec<&str> = beat.lines().map(|l| l.split('=').next().unwrap()).collect();
    assert_eq!(
        keys,
        ["ts", "pid", "status", "model", "host", "pstart", "since", "pidns"],
        "{beat}"
    );
    let f = fields(&beat);
    assert_eq!(
        (f["pid"].as_str(), f["status"].as_str(), f["model"].as_str()),
        ("1", "busy", "glm-5.2")
    );
    assert!((now() - f["ts"].parse::<i64>().unwrap()).abs() <= 2);
    assert!(beat.ends_with('\n'));
    let mode = fs::metadata(sb.path("w-1.hb"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode & 0o644, 0o644, "beat mode {mode:o}");
    assert!(!sb.path("w-1.hb.native").exists());
}

#[test]
fn the_default_pid_is_the_writers_parent() {
    let sb = Sandbox::new("ppid");
    // The test process spawns hb-write directly, so it is the parent.
    sb.run(WRITE, &["w"]).expect(0);
    assert_eq!(
        fields(&sb.read("w.hb"))["pid"],
        std::process::id().to_string()
    );
}

#[test]
fn native_refreshes_the_marker_and_defer_check_sees_it() {
    let sb = Sandbox::new("native");
    sb.run(DEFER, &["w"]).expect(1);
    sb.run(WRITE, &["--native", "--status", "busy", "w"])
        .expect(0);
    assert_eq!(fs::metadata(sb.path("w.hb.native")).unwrap().len(), 0);
    sb.run(DEFER, &["w"]).expect(0);
    let v = sb.run(DEFER, &["-v", "w"]);
    v.expect(0);
    assert!(
        v.stderr().starts_with("hb-defer-check: fresh:"),
        "{}",
        v.explain()
    );
    // A fresh marker makes --fallback leave the native beat alone...
    let before = sb.read("w.hb");
    sb.run(WRITE, &["--fallback", "w"]).expect(0);
    assert_eq!(sb.read("w.hb"), before);
    // ...until the native writer hands back.
    sb.run(WRITE, &["--clear-native", "w"]).expect(0);
    sb.run(DEFER, &["w"]).expect(1);
    sb.run(WRITE, &["--fallback", "--pid", "1", "w"]).expect(0);
    assert_eq!(fields(&sb.read("w.hb"))["status"], "ok");
}

#[test]
fn remove_takes_the_agent_out_of_the_listing() {
    let sb = Sandbox::new("remove");
    sb.run(WRITE, &["--native", "w"]).expect(0);
    sb.run(WRITE, &["--remove", "w"]).expect(0);
    assert!(!sb.path("w.hb").exists() && !sb.path("w.hb.native").exists());
    // Removing what is not there is done, not an error.
    sb.run(WRITE, &["--remove", "w"]).expect(0);
    sb.run(WRITE, &["--clear-native", "w"]).expect(0);
    assert_eq!(sb.run(READ, &[]).expect(0).stdout().lines().count(), 1);
}

#[test]
fn dry_run_checks_but_creates_nothing() {
    let sb = Sandbox::new("dry");
    let before = sb.snapshot();
    sb.run(WRITE, &["--dry-run", "--native", "--status", "busy", "w"])
        .expect(0);
    sb.run(WRITE, &["--dry-run", "bad.name"]).expect(2);
    assert_eq!(sb.snapshot(), before);
    assert!(!sb.dir.exists());
}

#[test]
fn writers_create_a_missing_directory_and_readers_do_not() {
    let sb = Sandbox::new("mkdir");
    sb.run(READ, &[]).expect(0);
    sb.run(READ, &["--json"]).expect(0);
    sb.run(DEFER, &["w"]).expect(1);
    assert!(!sb.dir.exists(), "a reader created the directory");
    let mut deep = sb.cmd(WRITE);
    deep.args(["--dir"]).arg(sb.dir.join("a/b")).arg("w");
    Run::of(&mut deep, &sb).expect(0);
    assert!(sb.dir.join("a/b/w.hb").is_file());
}

const HOSTILE_NAMES: &[&str] = &[
    "../x",
    "a/b",
    ".x",
    "",
    " ",
    "a b",
    "a.b",
    "a:b",
    "a\nb",
    "$(touch pwned)",
    "-",
    "_x",
    "x;y",
    "*",
    "é",
];

fn sixty_five() -> String {
    "a".repeat(65)
}

#[test]
fn hostile_names_are_refused_by_every_binary_and_touch_nothing() {
    let sb = Sandbox::new("names");
    sb.run(WRITE, &["--native", "w"]).expect(0);
    let before = sb.snapshot();
    let long = sixty_five();
    let names: Vec<&str> = HOSTILE_NAMES
        .iter()
        .copied()
        .chain([long.as_str()])
        .collect();
    for name in names {
        for args in [
            vec![name],
            vec!["--native", name],
            vec!["--fallback", name],
            vec!["--remove", name],
            vec!["--clear-native", name],
            vec!["--sidecar", name],
        ] {
            // `--` so a NAME like "-" is a NAME, not a flag.
            let mut a = args.clone();
            let n = a.pop().unwrap();
            a.extend(["--", n]);
            sb.run(WRITE, &a)
                .expect(2)
                .one_error_line("hb-write: error: ");
        }
        sb.run(DEFER, &["--", name])
            .expect(2)
            .one_error_line("hb-defer-check: error: ");
        sb.run(READ, &["--", name])
            .expect(2)
            .one_error_line("hb-read: error: ");
    }
    assert_eq!(sb.snapshot(), before);
    assert!(!sb.root.join("pwned").exists());
}

#[test]
fn the_longest_name_is_accepted() {
    let sb = Sandbox::new("long");
    let name = "a".repeat(64);
    sb.run(WRITE, &[&name]).expect(0);
    assert!(sb.path(&format!("{name}.hb")).is_file());
}

#[test]
fn hostile_values_and_flags_are_usage_errors_that_touch_nothing() {
    let sb = Sandbox::new("values");
    sb.run(WRITE, &["--native", "--model", "m", "w"]).expect(0);
    let before = sb.snapshot();
    let long_model = "m".repeat(129);
    let cases: Vec<Vec<&str>> = vec![
        vec!["--status", "", "w"],
        vec!["--status", "Busy", "w"],
        vec!["--status", "busy now", "w"],
        vec!["--status", "1ok", "w"],
        vec!["--status", "abcdefghijabcdefghijabcdefghijabc", "w"],
        vec!["--model", "", "w"],
        vec!["--model", " lead", "w"],
        vec!["--model", "trail ", "w"],
        vec!["--model", "a\nstatus=ok", "w"],
        vec!["--model", "esc\x1b[2J", "w"],
        vec!["--model", &long_model, "w"],
        vec!["--pid", "0", "w"],
        vec!["--pid", "-1", "w"],
        vec!["--pid", "2147483648", "w"],
        vec!["--pid", "12abc", "w"],
        vec!["--pid", "", "w"],
        vec!["--interval", "0", "w"],
        vec!["--interval", "86401", "w"],
        vec!["--interval", "1.5", "w"],
        vec!["--interval", "-5", "w"],
        vec!["--bogus", "w"],
        vec!["-x", "w"],
        vec!["w", "extra"],
        vec![],
        vec!["--status"],
        vec!["--native", "--remove", "w"],
        vec!["--fallback", "--model", "m", "w"],
        vec!["--while-pid", "5", "w"],
    ];
    for args in &cases {
        sb.run(WRITE, args)
            .expect(2)
            .one_error_line("hb-write: error: ");
    }
    for args in [
        vec!["--interval", "0", "w"],
        vec!["--bogus", "w"],
        vec![],
        vec!["a", "b"],
    ] {
        sb.run(DEFER, &args)
            .expect(2)
            .one_error_line("hb-defer-check: error: ");
    }
    for args in [
        vec!["--interval", "x"],
        vec!["--stale-after", "0"],
        vec!["--format", "yaml"],
        vec!["--json", "--format", "table"],
        vec!["--bogus"],
        vec!["--output", "/"],
    ] {
        sb.run(READ, &args)
            .expect(2)
            .one_error_line("hb-read: error: ");
    }
    assert_eq!(sb.snapshot(), before);
}

#[test]
fn a_bad_interval_in_the_environment_is_a_usage_error() {
    let sb = Sandbox::new("envint");
    let r = Run::of(
        sb.cmd(WRITE)
            .env("MOSAIC_HEARTBEAT_INTERVAL", "soon")
            .arg("w"),
        &sb,
    );
    r.expect(2)
        .one_error_line("hb-write: error: MOSAIC_HEARTBEAT_INTERVAL");
    assert!(!sb.dir.exists());
}

#[test]
fn system_failures_exit_3_with_one_line_naming_the_path() {
    let sb = Sandbox::new("sys");
    // The "directory" is a regular file: nothing can be created below it.
    let file = sb.root.join("plain");
    fs::write(&file, b"x").unwrap();
    let below = file.join("hb");
    let b = below.to_str().unwrap();
    let r = Run::of(bare(WRITE).args(["--dir", b, "w"]), &sb);
    r.expect(3)
        .one_error_line("hb-write: error: unable to create directory");
    assert!(
        r.stderr().contains(b) && r.stderr().contains("Not a directory"),
        "{}",
        r.explain()
    );
    Run::of(bare(READ).args(["--dir", file.to_str().unwrap()]), &sb)
        .expect(3)
        .one_error_line("hb-read: error: unable to read directory");
    // A marker path that loops: stat fails with ELOOP, not "absent".
    let looped = sb.root.join("loop");
    std::os::unix::fs::symlink(&looped, &looped).unwrap();
    Run::of(
        bare(DEFER).args(["--dir", looped.to_str().unwrap(), "w"]),
        &sb,
    )
    .expect(3)
    .one_error_line("hb-defer-check: error: unable to stat marker");
    assert_eq!(fs::read(&file).unwrap(), b"x");
}

#[test]
fn a_directory_at_the_beat_path_is_exit_3_and_left_alone() {
    let sb = Sandbox::new("dirbeat");
    fs::create_dir_all(sb.path("w.hb")).unwrap();
    let r = sb.run(WRITE, &["w"]);
    r.expect(3)
        .one_error_line("hb-write: error: unable to rename");
    assert!(sb.path("w.hb").is_dir());
    assert_eq!(temporaries(&sb.dir), Vec::<String>::new(), "temporary left");
}

#[test]
fn help_and_version_go_to_stdout_with_exit_0() {
    for bin in [WRITE, DEFER, READ] {
        let sb = Sandbox::new("help");
        let h = Run::of(bare(bin).arg("--help"), &sb);
        h.expect(0);
        assert!(
            h.stdout().contains("Usage:") && h.stdout().contains("Exit status"),
            "{}",
            h.explain()
        );
        assert!(h.stderr().is_empty());
        let v = Run::of(bare(bin).arg("-V"), &sb);
        v.expect(0);
        assert!(v
            .stdout()
            .ends_with(&format!(" {}\n", env!("CARGO_PKG_VERSION"))));
    }
}

#[test]
fn legacy_beats_have_a_null_model() {
    let sb = Sandbox::new("legacy");
    let ts = now();
    sb.put(
        "w-old.hb",
        format!("ts={ts}\npid={}\nstatus=ok\n", std::process::id()).as_bytes(),
    );
    let json = sb.run(READ, &["--json"]).expect(0).stdout();
    assert!(json.contains("\"model\":null"), "{json}");
    assert!(json.contains("\"host\":null"), "{json}");
    let table = sb.run(READ, &[]).expect(0).stdout();
    let row: Vec<&str> = table.lines().nth(1).unwrap().split_whitespace().collect();
    assert_eq!(row[0], "w-old");
    assert_eq!((row[3], row[4]), ("-", "-"), "no since, no model\n{table}");
    assert_eq!(row[6], "healthy", "{table}");
    assert!(
        json.contains("\"since\":null,\"status_age\":null"),
        "{json}"
    );
}

#[test]
fn the_json_has_the_contract_shape() {
    let sb = Sandbox::new("json");
    sb.run(
        WRITE,
        &[
            "--native",
            "--status",
            "busy",
            "--model",
            "glm \"5\" \\",
            "w-a",
        ],
    )
    .expect(0);
    sb.put("w-bad.hb", b"ts=1\npid=x\nstatus=ok\n");
    let out = sb
        .run(READ, &["--json", "w-a", "w-bad", "w-gone"])
        .expect(0)
        .stdout();
    let jq = |filter: &str| {
        let mut c = Command::new("jq")
            .arg("-c")
            .arg(filter)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("jq");
        use std::io::Write;
        c.stdin.take().unwrap().write_all(out.as_bytes()).unwrap();
        String::from_utf8(c.wait_with_output().unwrap().stdout)
            .unwrap()
            .trim()
            .to_string()
    };
    assert_eq!(
        jq("keys"),
        r#"["dir","interval","now","rows","stale_after"]"#
    );
    assert_eq!(jq(".interval,.stale_after"), "10\n30");
    assert_eq!(jq("[.rows[].name]"), r#"["w-a","w-bad","w-gone"]"#);
    assert_eq!(jq("[.rows[].health]"), r#"["healthy","invalid","missing"]"#);
    assert_eq!(jq(".rows[0].native"), "true");
    assert_eq!(jq(".rows[0].heartbeat.model"), r#""glm \"5\" \\""#);
    assert_eq!(
        jq(".rows[0].heartbeat | [.status,.alive,.healthy,(.age|type),(.ts|type)]"),
        r#"["busy",true,true,"number","number"]"#
    );
    assert_eq!(jq(".rows[1].error"), r#""line 2: pid: not a number""#);
    assert_eq!(jq(".rows[1].heartbeat"), "null");
}

/// Whatever a beat's text holds (every ASCII control character, DEL, C1,
/// bidi controls, a name that is not UTF-8), `--json` stays JSON that jq
/// reads back to the very same text.
#[test]
fn hostile_text_stays_json_that_jq_reads_back() {
    let sb = Sandbox::new("json-hostile");
    let model: String = (0u8..0x80)
        .filter(|&b| b != b'\n')
        .map(char::from)
        .chain("\u{80}\u{9f}\u{a0}\u{2028}\u{202e}\u{feff}é🦀".chars())
        .collect();
    let host = "h\u{202e}\"\\";
    sb.put(
        "w-x.hb",
        format!("ts=1\npid=1\nstatus=ok\nmodel={model}\nhost={host}\n").as_bytes(),
    );
    use std::os::unix::ffi::OsStrExt;
    let odd = std::ffi::OsStr::from_bytes(b"bad\x1b\xff\"\\.hb");
    fs::write(sb.dir.join(odd), b"x").unwrap();
    let out = sb.run(READ, &["--json"]).expect(0).stdout();
    let jq = |filter: &str| {
        let mut c = Command::new("jq")
            .args(["-j", filter])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("jq");
        use std::io::Write;
        c.stdin.take().unwrap().write_all(out.as_bytes()).unwrap();
        let r = c.wait_with_output().unwrap();
        assert!(r.status.success(), "jq {filter} refused:\n{out}");
        String::from_utf8(r.stdout).unwrap()
    };
    assert_eq!(jq(".rows[1].heartbeat.model"), model);
    assert_eq!(jq(".rows[1].heartbeat.host"), host);
    assert_eq!(jq(".rows[0].health"), "invalid");
    assert!(jq(".rows[0].name").starts_with("bad\u{1b}"));
}

/// Runs `hb-read` with a deadline: a reader that blocks on a FIFO fails
/// the test instead of hanging it.
fn read_with_deadline(sb: &Sandbox, args: &[&str]) -> String {
    let mut child = sb
        .cmd(READ)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let out = child.wait_with_output().unwrap();
            assert_eq!(
                status.code(),
                Some(0),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            return String::from_utf8(out.stdout).unwrap();
        }
        if start.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            panic!("hb-read blocked\n{}", listing(&sb.dir));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn symlinks_fifos_oversized_and_odd_files_are_invalid_rows_without_hanging() {
    let sb = Sandbox::new("hostile");
    sb.mkdir();
    let secret = sb.root.join("secret");
    let secret_text = format!("ts={}\npid=1\nstatus=ok\n", now());
    fs::write(&secret, &secret_text).unwrap();
    std::os::unix::fs::symlink(&secret, sb.path("w-link.hb")).unwrap();
    let fifo = sb.path("w-fifo.hb");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let mut big = format!("ts={}\npid=1\nstatus=ok\n", now()).into_bytes();
    big.resize(4097, b'\n');
    sb.put("w-big.hb", &big);
    sb.put("w-bin.hb", b"ts=1\npid=1\nstatus=ok\nmodel=\xff\xfe\n");
    fs::create_dir(sb.path("w-dir.hb")).unwrap();
    sb.put("bad.name.hb", b"ts=1\npid=1\nstatus=ok\n");
    sb.put(".w-hidden.hb", b"");
    sb.put("w-ok.hb.native", b"");
    let table = read_with_deadline(&sb, &[]);
    let rows: Vec<&str> = table.lines().skip(1).collect();
    let find = |n: &str| {
        *rows
            .iter()
            .find(|r| r.starts_with(&format!("{n} ")))
            .unwrap_or_else(|| panic!("no {n} in\n{table}"))
    };
    for (name, why) in [
        ("w-link", "symlink"),
        ("w-fifo", "FIFO"),
        ("w-big", "larger than 4096"),
        ("w-bin", "UTF-8"),
        ("w-dir", "directory"),
        ("bad.name", "not a valid NAME"),
    ] {
        let row = find(name);
        assert!(
            row.contains("invalid") && row.contains(why),
            "{name}: {row}"
        );
    }
    assert_eq!(rows.len(), 6, "{table}");
    // Named reads take the same path.
    let json = read_with_deadline(&sb, &["--json", "w-fifo", "w-link"]);
    assert_eq!(json.matches("\"invalid\"").count(), 2, "{json}");
    // The symlink's target is neither read into a valid row nor changed.
    assert_eq!(fs::read_to_string(&secret).unwrap(), secret_text);
}

#[test]
fn control_characters_in_a_beat_are_escaped_in_the_table() {
    let sb = Sandbox::new("escape");
    sb.put(
        "w.hb",
        format!(
            "ts={}\npid=1\nstatus=ok\nmodel=\x1b]0;pwned\x07\x1b[2J\n",
            now()
        )
        .as_bytes(),
    );
    let table = sb.run(READ, &[]).expect(0).stdout();
    assert!(!table.bytes().any(|b| b == 0x1b || b == 0x07), "{table:?}");
    assert!(table.contains("\\x1b]0;pwned\\x07"), "{table}");
}

#[test]
fn check_is_a_probe() {
    let sb = Sandbox::new("check");
    sb.run(WRITE, &["--pid", &std::process::id().to_string(), "w-live"])
        .expect(0);
    sb.run(READ, &["--check", "w-live"]).expect(0);
    sb.run(READ, &["--check"]).expect(0);
    sb.run(READ, &["--check", "w-live", "w-missing"]).expect(1);
    sb.put(
        "w-stale.hb",
        format!("ts={}\npid={}\nstatus=ok\n", now() - 31, std::process::id()).as_bytes(),
    );
    sb.run(READ, &["--check", "w-stale"]).expect(1);
    sb.run(READ, &["--check", "--stale-after", "60", "w-stale"])
        .expect(0);
    sb.run(READ, &["--check"]).expect(1);
}

#[test]
fn a_closed_stdout_is_not_a_panic() {
    let sb = Sandbox::new("pipe");
    for i in 0..200 {
        sb.run(WRITE, &[&format!("w-{i}")]).expect(0);
    }
    for args in [&[][..], &["--json"], &["--format", "prometheus"]] {
        let mut child = sb
            .cmd(READ)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take()); // the reader of the pipe goes away
        let out = child.wait_with_output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.stderr.is_empty(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let mut child = bare(WRITE)
        .arg("--help")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    assert_eq!(child.wait().unwrap().code(), Some(0));
}

#[test]
fn the_directory_resolves_in_contract_order_without_runtime_dir() {
    let sb = Sandbox::new("resolve");
    let home = sb.root.join("home");
    let xdg = sb.root.join("state");
    let env_i = |vars: &[(&str, &std::path::Path)]| {
        let mut c = Command::new("env");
        c.arg("-i");
        for (k, v) in vars {
            c.arg(format!("{k}={}", v.display()));
        }
        c.arg(WRITE).arg("w");
        Run::of(&mut c, &sb)
    };
    let runtime = sb.root.join("run");
    env_i(&[("HOME", &home), ("XDG_RUNTIME_DIR", &runtime)]).expect(0);
    assert!(home.join(".local/state/mosaic/fleet/hb/w.hb").is_file());
    env_i(&[("HOME", &home), ("XDG_STATE_HOME", &xdg)]).expect(0);
    assert!(xdg.join("mosaic/fleet/hb/w.hb").is_file());
    let m = sb.root.join("m");
    env_i(&[
        ("HOME", &home),
        ("XDG_STATE_HOME", &xdg),
        ("MOSAIC_HEARTBEAT_DIR", &m),
    ])
    .expect(0);
    assert!(m.join("w.hb").is_file());
    env_i(&[("XDG_RUNTIME_DIR", &runtime)])
        .expect(2)
        .one_error_line("hb-write: error: no heartbeat directory");
    env_i(&[]).expect(2);
    assert!(!runtime.exists());
    // The reader resolves the same directory the writer did.
    let r = Run::of(
        Command::new("env")
            .arg("-i")
            .arg(format!("HOME={}", home.display()))
            .arg(READ)
            .arg("w"),
        &sb,
    );
    assert!(r.expect(0).stdout().contains("healthy"), "{}", r.explain());
}

#[test]
fn four_writers_and_a_reader_never_see_a_torn_beat() {
    let sb = Sandbox::new("race");
    sb.run(WRITE, &["--model", "seed", "w"]).expect(0);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let path = sb.path("w.hb");
        let stop = stop.clone();
        std::thread::spawn(move || {
            let (mut reads, mut bad) = (0u64, Vec::new());
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let bytes = fs::read(&path).expect("the beat vanished");
                reads += 1;
                let f = fields(&String::from_utf8_lossy(&bytes));
                if !bytes.ends_with(b"\n")
                    || !f.contains_key("ts")
                    || !f.contains_key("status")
                    || !f.contains_key("pid")
                {
                    bad.push(bytes);
                }
            }
            (reads, bad)
        })
    };
    let writers: Vec<_> = (0..4)
        .map(|i| {
            let dir = sb.dir.clone();
            std::thread::spawn(move || {
                for n in 0..60 {
                    let status = if n % 2 == 0 { "busy" } else { "ok" };
                    let out = bare(WRITE)
                        .arg("--dir")
                        .arg(&dir)
                        .args([
                            "--status",
                            status,
                            "--model",
                            &format!("writer-{i}"),
                            if i % 2 == 0 { "--native" } else { "--pid" },
                        ])
                        .args(if i % 2 == 0 {
                            vec!["w"]
                        } else {
                            vec!["1", "w"]
                        })
                        .output()
                        .unwrap();
                    assert_eq!(
                        out.status.code(),
                        Some(0),
                        "{}",
                        String::from_utf8_lossy(&out.stderr)
                    );
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (reads, bad) = reader.join().unwrap();
    assert!(reads > 0);
    assert!(
        bad.is_empty(),
        "{} torn reads of {reads}: {:?}",
        bad.len(),
        bad.first()
    );
    // hb-read agrees the beat is whole, and no temporary outlived its writer.
    sb.run(READ, &["--check", "w"]).expect(0);
    let leftovers = temporaries(&sb.dir);
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
