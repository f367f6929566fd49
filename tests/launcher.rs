//! `scripts/start-agent-session.sh` and `scripts/stop-agent-session.sh` in
//! real tmux, each test on its own private socket (`tmux -L`), torn down
//! even when the test fails: the tmux server killed, its socket file
//! removed, and every process still naming the test's directory killed.
//!
//! The launcher runs with `HB_BIN` set to the tested binaries, `HOME` in
//! the sandbox (no user tmux.conf) and the `MOSAIC_*` variables cleared, so
//! whatever the pane knows of its heartbeat came through `new-session -e`.

mod common;
use common::*;
use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::fs;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const START: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/scripts/start-agent-session.sh"
);
const STOP: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/stop-agent-session.sh");

fn hb_bin() -> &'static Path {
    Path::new(WRITE).parent().unwrap()
}

/// A private tmux server and a sandbox, both gone when this is dropped.
struct Fleet {
    socket: String,
    sb: Sandbox,
}

impl Fleet {
    fn new(tag: &str) -> Fleet {
        let ok = Command::new("tmux")
            .arg("-V")
            .output()
            .is_ok_and(|o| o.status.success());
        assert!(ok, "these tests need tmux 3.2 or newer in PATH");
        Fleet {
            socket: format!("hbt-{tag}-{}-{}", std::process::id(), fastrand::u32(..)),
            sb: Sandbox::new(tag),
        }
    }

    /// tmux on the private socket, from a clean environment.
    fn tmux(&self) -> Command {
        let mut c = bare("tmux");
        c.env_remove("TMUX").env("HOME", &self.sb.root);
        c.arg("-L").arg(&self.socket);
        c
    }

    fn tmux_ok(&self, args: &[&str]) -> Option<String> {
        let o = self.tmux().args(args).output().unwrap();
        o.status
            .success()
            .then(|| String::from_utf8_lossy(&o.stdout).into_owned())
    }

    fn has_session(&self, name: &str) -> bool {
        self.tmux_ok(&["has-session", "-t", &format!("={name}")])
            .is_some()
    }

    fn script(&self, script: &str) -> Command {
        let mut c = bare(script);
        c.env_remove("TMUX")
            .env("HB_BIN", hb_bin())
            .env("HOME", &self.sb.root)
            .current_dir(&self.sb.root);
        c
    }

    /// Starts NAME running `command`, interval `interval`, on our socket.
    fn start(&self, name: &str, interval: u32, command: &[&OsStr]) -> Run {
        let mut c = self.script(START);
        c.args(["-L", &self.socket, "--interval", &interval.to_string()])
            .arg("--dir")
            .arg(&self.sb.dir)
            .args([name, "--"])
            .args(command);
        Run::of(&mut c, &self.sb)
    }

    /// Starts NAME and returns what the launcher printed.
    fn started(&self, name: &str, interval: u32, command: &[&OsStr]) -> Started {
        let r = self.start(name, interval, command);
        r.expect(0);
        let f = fields(&r.stdout());
        let num = |k: &str| -> u32 {
            f.get(k)
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("no {k} printed\n{}", r.explain()))
        };
        Started {
            pane: num("pane_pid"),
            sidecar: num("sidecar_pid"),
        }
    }

    fn stop(&self, args: &[&str]) -> Run {
        let mut c = self.script(STOP);
        c.args(["-L", &self.socket]).args(args);
        Run::of(&mut c, &self.sb)
    }

    fn beat(&self, name: &str) -> Option<BTreeMap<String, String>> {
        fs::read_to_string(self.sb.path(&format!("{name}.hb")))
            .ok()
            .map(|b| fields(&b))
    }

    /// The live sidecars of NAME in this fleet's directory.
    fn sidecars_of(&self, name: &str) -> Vec<u32> {
        pids_naming(self.sb.dir.as_os_str().as_bytes())
            .into_iter()
            .filter(|&p| {
                fs::read(format!("/proc/{p}/cmdline")).is_ok_and(|c| {
                    let args: Vec<&[u8]> = c.split(|&b| b == 0).filter(|a| !a.is_empty()).collect();
                    args.contains(&&b"--sidecar"[..]) && args.last() == Some(&name.as_bytes())
                }) && alive(p)
            })
            .collect()
    }

    fn socket_path(&self) -> PathBuf {
        let base = std::env::var_os("TMUX_TMPDIR").unwrap_or_else(|| "/tmp".into());
        // SAFETY: getuid cannot fail.
        let uid = unsafe { libc::getuid() };
        Path::new(&base)
            .join(format!("tmux-{uid}"))
            .join(&self.socket)
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        let _ = self.tmux().arg("kill-server").output();
        let _ = fs::remove_file(self.socket_path());
        // Sidecars and agents name the sandbox in their arguments.
        for pid in pids_naming(self.sb.root.as_os_str().as_bytes()) {
            // SAFETY: kill(2) on a process of this test.
            unsafe { libc::kill(pid as i32, libc::SIGKILL) };
        }
    }
}

struct Started {
    pane: u32,
    sidecar: u32,
}

/// Processes (other than this one) with `needle` in their command line.
fn pids_naming(needle: &[u8]) -> Vec<u32> {
    let me = std::process::id();
    let mut out = Vec::new();
    for e in fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(cmdline) = fs::read(e.path().join("cmdline")) else {
            continue;
        };
        if pid != me && cmdline.windows(needle.len()).any(|w| w == needle) {
            out.push(pid);
        }
    }
    out
}

/// Running and not a zombie (an unreaped process still answers kill 0).
fn alive(pid: u32) -> bool {
    let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    let state = stat[stat.rfind(')').unwrap() + 1..].trim_start();
    !state.starts_with('Z') && !state.starts_with('X')
}

fn gone(pid: u32) -> Option<()> {
    (!alive(pid)).then_some(())
}

const LONG: Duration = Duration::from_secs(10);

/// A stand-in agent, with no shell parsing its arguments: bash runs a fixed
/// script that records its pid, its arguments (NUL-separated) and its
/// environment next to `$0`, then waits.
const RECORDER: &str =
    r#"echo $$ >"$0.pid"; printf '%s\0' "$@" >"$0.args"; env -0 >"$0.env"; exec sleep 600"#;

fn recorder<'a>(out: &'a Path, args: &[&'a OsStr]) -> Vec<&'a OsStr> {
    let mut v = vec![os("bash"), os("-c"), os(RECORDER), out.as_os_str()];
    v.extend_from_slice(args);
    v
}

fn read_when_there(p: &Path) -> Vec<u8> {
    poll(&format!("{}", p.display()), LONG, || {
        fs::read(p).ok().filter(|b| !b.is_empty())
    })
}

fn env_of(bytes: &[u8]) -> BTreeMap<Vec<u8>, Vec<u8>> {
    bytes
        .split(|&b| b == 0)
        .filter_map(|kv| {
            let eq = kv.iter().position(|&b| b == b'=')?;
            Some((kv[..eq].to_vec(), kv[eq + 1..].to_vec()))
        })
        .collect()
}

#[test]
fn arguments_reach_the_agent_byte_for_byte_and_no_shell_runs_them() {
    let f = Fleet::new("argv");
    let work = f.sb.root.join("work");
    fs::create_dir_all(&work).unwrap();
    fs::write(work.join("a-file"), b"").unwrap(); // something for * to match
    let out = f.sb.root.join("rec");
    let hostile = [
        "two words",
        "it's \"quoted\"",
        "$(touch pwned-1)",
        "`touch pwned-2`",
        "; touch pwned-3",
        "ends-in;",
        ";",
        "\\;",
        "x && touch pwned-4 | cat",
        "*",
        "",
        "line\nbreak",
        "-leading-dash",
        "--",
        "$HOME ${PATH}",
        "back\\slash\ttab",
        " lead and trail ",
        "ünïcödé",
        "#not-a-comment",
    ];
    let args: Vec<&OsStr> = hostile.iter().map(|s| os(s)).collect();
    let mut c = f.script(START);
    c.args(["-L", &f.socket, "--interval", "1", "--workdir"])
        .arg(&work)
        .arg("--dir")
        .arg(&f.sb.dir)
        .args(["w-argv", "--"])
        .args(recorder(&out, &args));
    let r = Run::of(&mut c, &f.sb);
    r.expect(0);

    let got = read_when_there(&out.with_extension("args"));
    let want: Vec<u8> = hostile.iter().flat_map(|a| a.bytes().chain([0])).collect();
    assert_eq!(
        String::from_utf8_lossy(&got),
        String::from_utf8_lossy(&want),
        "arguments changed on the way\n{}",
        r.explain()
    );
    // The agent's pid is the pane's, and the sidecar's beat carries it.
    let agent_pid = String::from_utf8(read_when_there(&out.with_extension("pid"))).unwrap();
    let printed = fields(&r.stdout());
    assert_eq!(agent_pid.trim(), printed["pane_pid"], "{}", r.explain());
    assert_eq!(f.beat("w-argv").unwrap()["pid"], printed["pane_pid"]);
    // It runs in its working directory, and nothing was run anywhere.
    let cwd = fs::read_link(format!("/proc/{}/cwd", agent_pid.trim())).unwrap();
    assert_eq!(cwd, work);
    for dir in [&work, &f.sb.root, &f.sb.dir] {
        for e in fs::read_dir(dir).unwrap().flatten() {
            let n = e.file_name();
            assert!(
                !n.to_string_lossy().starts_with("pwned"),
                "a shell ran an argument: {}",
                e.path().display()
            );
        }
    }
}

#[test]
fn a_lone_command_is_not_handed_to_a_shell_either() {
    // tmux runs a single command word through `sh -c`: the launcher must
    // not let it. A path with a space, `;`, `$(...)` and `*` runs as is.
    let f = Fleet::new("lone");
    let odd = f.sb.root.join("odd name; $(touch pwned) *");
    std::os::unix::fs::symlink("/bin/cat", &odd).unwrap();
    let s = f.started("w-lone", 1, &[odd.as_os_str()]);
    let exe = poll("the agent to exec", LONG, || {
        fs::read_link(format!("/proc/{}/exe", s.pane))
            .ok()
            .filter(|e| e.file_name() == Some(os("cat")))
    });
    let argv0 = fs::read(format!("/proc/{}/cmdline", s.pane)).unwrap();
    assert_eq!(
        argv0,
        [odd.as_os_str().as_bytes(), b"\0"].concat(),
        "exe {exe:?}"
    );
    assert!(!f.sb.root.join("pwned").exists());
}

#[test]
fn the_pane_gets_its_name_and_settings_from_a_server_started_without_them() {
    let f = Fleet::new("env");
    // The original bug: the tmux server already runs, started from an
    // environment with no MOSAIC_* at all (here: an empty one, like cron's).
    let mut pre = f.tmux();
    pre.env_clear()
        .args(["new-session", "-d", "-s", "earlier", "sleep", "600"]);
    let st = pre.status().unwrap();
    assert!(st.success());

    // The launcher too runs from a bare environment: no PATH, no HOME.
    let out = f.sb.root.join("rec");
    let native = format!(
        r#"while :; do {WRITE} --native --status busy --model glm-5.2 "$MOSAIC_AGENT_NAME"; sleep 0.2; done"#
    );
    let mut c = Command::new(START);
    c.env_clear()
        .env("HB_BIN", hb_bin())
        .current_dir(&f.sb.root)
        .args(["-L", &f.socket, "--interval", "1", "--dir"])
        .arg(&f.sb.dir)
        .args(["w-env", "--", "bash", "-c"])
        .arg(format!(r#"env -0 >"$0.env"; {native}"#))
        .arg(&out);
    let r = Run::of(&mut c, &f.sb);
    r.expect(0);

    let env = env_of(&read_when_there(&out.with_extension("env")));
    let get = |k: &str| env.get(k.as_bytes()).map(|v| OsString::from_vec(v.clone()));
    assert_eq!(get("MOSAIC_AGENT_NAME"), Some("w-env".into()), "{env:?}");
    assert_eq!(get("MOSAIC_HEARTBEAT_DIR"), Some(f.sb.dir.clone().into()));
    assert_eq!(get("MOSAIC_HEARTBEAT_INTERVAL"), Some("1".into()));
    // With nothing but its environment, the agent's native beat lands in
    // the directory the sidecar and the reader use.
    // The marker follows the beat's rename, so wait for both: right after
    // the first native rename there is an instant with no marker yet.
    let b = poll("the native beat and its marker", LONG, || {
        f.beat("w-env")
            .filter(|b| b.get("model").is_some() && f.sb.path("w-env.hb.native").exists())
    });
    assert_eq!(b["status"], "busy");
    assert_eq!(b["pid"], fields(&r.stdout())["pane_pid"]);
}

#[test]
fn the_sidecar_beats_with_the_pane_pid_and_never_covers_a_native_writer() {
    let f = Fleet::new("native");
    // A native writer in the pane: beats every 0.3 s from its pane
    // environment until told to stop, then idles.
    let stop = f.sb.root.join("stop-native");
    let script = format!(
        r#"while [ ! -e "$0" ]; do {WRITE} --native --status busy --model m-7 "$MOSAIC_AGENT_NAME"; sleep 0.3; done; exec sleep 600"#
    );
    let s = f.started(
        "w-nat",
        1,
        &[os("bash"), os("-c"), os(&script), stop.as_os_str()],
    );
    // The sidecar is alive and ticking (interval 1) all along.
    assert!(alive(s.sidecar));
    let end = Instant::now() + Duration::from_secs(3);
    let mut samples = 0;
    // The contract's native write is the beat, then the marker: a sidecar
    // tick that began before the very first marker may still land on the
    // first native beat (the next native beat repairs it). From then on,
    // with the marker fresh, no sample may show the sidecar.
    let mut strict_from: Option<Instant> = None;
    while Instant::now() < end {
        if strict_from.is_none() && f.sb.path("w-nat.hb.native").exists() {
            strict_from = Some(Instant::now() + Duration::from_millis(500));
        }
        if let Some(b) = f.beat("w-nat") {
            samples += 1;
            assert_eq!(b["pid"], s.pane.to_string(), "{b:?}");
            if strict_from.is_some_and(|t| Instant::now() >= t) {
                assert_eq!(
                    (b["status"].as_str(), b.get("model").map(String::as_str)),
                    ("busy", Some("m-7")),
                    "sample {samples}: the sidecar overwrote a native beat"
                );
            }
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(strict_from.is_some() && samples > 100, "{samples} samples");
    assert!(alive(s.sidecar), "the sidecar died");

    // The native writer falls quiet, its process alive: once the marker is
    // older than 2 intervals the sidecar carries its state on (v2), at
    // its next tick, within 3 s: busy, with the model, a new ts.
    fs::write(&stop, b"").unwrap();
    let last_native = poll("the native writer to stop", LONG, || {
        let m = fs::metadata(f.sb.path("w-nat.hb.native")).ok()?;
        let before = m.modified().ok()?;
        std::thread::sleep(Duration::from_millis(700));
        let after = fs::metadata(f.sb.path("w-nat.hb.native")).ok()?;
        (after.modified().ok()? == before).then_some(before)
    });
    let native_ts = last_native
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let b = poll("the carried beat", LONG, || {
        f.beat("w-nat")
            .filter(|b| b["ts"].parse::<u64>().unwrap() >= native_ts + 2)
    });
    let took = last_native.elapsed().unwrap();
    assert!(took < Duration::from_millis(4500), "carried {took:?} after");
    assert_eq!(
        (b["status"].as_str(), b.get("model").map(String::as_str)),
        ("busy", Some("m-7")),
        "the carried beat lost the native state: {b:?}"
    );
    assert_eq!(b["pid"], s.pane.to_string());
    // The runtime hands the beat back: a plain ok at the next tick.
    f.sb.run(WRITE, &["--clear-native", "w-nat"]).expect(0);
    let b = poll("the plain beat", LONG, || {
        f.beat("w-nat").filter(|b| b.get("model").is_none())
    });
    assert_eq!(
        (b["status"].as_str(), b["pid"].as_str()),
        ("ok", &*s.pane.to_string())
    );
}

#[test]
fn killing_the_agent_records_exited_within_a_second_and_the_sidecar_goes() {
    let f = Fleet::new("kill");
    // Interval 30: only the pidfd, not a tick, can notice within the bound.
    let s = f.started("w-kill", 30, &[os("sleep"), os("600")]);
    assert_eq!(f.beat("w-kill").unwrap()["status"], "ok");
    // SAFETY: kill(2) on the agent this test started.
    assert_eq!(unsafe { libc::kill(s.pane as i32, libc::SIGKILL) }, 0);
    let t0 = Instant::now();
    let b = poll("the exited beat", LONG, || {
        f.beat("w-kill").filter(|b| b["status"] == "exited")
    });
    let took = t0.elapsed();
    assert!(took < Duration::from_secs(2), "exited after {took:?}");
    assert_eq!(b["pid"], s.pane.to_string());
    poll("the sidecar to go", LONG, || gone(s.sidecar));
    poll("the session to end", LONG, || {
        (!f.has_session("w-kill")).then_some(())
    });
}

#[test]
fn sigterm_stops_the_sidecar_at_once_and_leaves_agent_and_beat_alone() {
    let f = Fleet::new("term");
    let s = f.started("w-term", 30, &[os("sleep"), os("600")]);
    let before = fs::read(f.sb.path("w-term.hb")).unwrap();
    // SAFETY: kill(2) on the sidecar this test started.
    assert_eq!(unsafe { libc::kill(s.sidecar as i32, libc::SIGTERM) }, 0);
    // Long before its next tick (30 s).
    poll("the sidecar to exit", LONG, || gone(s.sidecar));
    assert_eq!(fs::read(f.sb.path("w-term.hb")).unwrap(), before);
    assert!(alive(s.pane) && f.has_session("w-term"));
}

#[test]
fn a_bad_name_or_setting_is_refused_before_tmux_is_touched() {
    let f = Fleet::new("bad");
    let long = "a".repeat(65);
    let work = f.sb.root.join("work");
    fs::create_dir_all(&work).unwrap();
    let before = f.sb.snapshot();
    for (name, prefix) in [
        ("w.a", "hb-write: error: invalid NAME"),
        ("w:a", "hb-write: error: invalid NAME"),
        ("", "hb-write: error: invalid NAME"),
        ("a b", "hb-write: error: invalid NAME"),
        ("../x", "hb-write: error: invalid NAME"),
        ("_x", "hb-write: error: invalid NAME"),
        (&long, "hb-write: error: invalid NAME"),
        ("-x", "start-agent-session.sh: error: unknown option"),
    ] {
        let r = f.start(name, 1, &[os("sleep"), os("600")]);
        r.expect(2).one_error_line(prefix);
    }
    // A bad interval, a missing working directory, a missing command.
    let mut c = f.script(START);
    c.args(["-L", &f.socket, "--interval", "0", "--dir"])
        .arg(&f.sb.dir)
        .args(["w-ok", "--", "sleep", "1"]);
    Run::of(&mut c, &f.sb)
        .expect(2)
        .one_error_line("hb-write: error: --interval");
    let mut c = f.script(START);
    c.args(["-L", &f.socket, "--workdir", "/nonexistent/hb", "--dir"])
        .arg(&f.sb.dir)
        .args(["w-ok", "--", "sleep", "1"]);
    Run::of(&mut c, &f.sb)
        .expect(2)
        .one_error_line("start-agent-session.sh: error: --workdir");
    let mut c = f.script(START);
    c.args(["-L", &f.socket, "--dir"])
        .arg(&f.sb.dir)
        .args(["w-ok", "--"]);
    Run::of(&mut c, &f.sb)
        .expect(2)
        .one_error_line("start-agent-session.sh: error: missing COMMAND");

    let ls = f.tmux().arg("ls").output().unwrap();
    assert!(!ls.status.success(), "a tmux server was started");
    assert_eq!(f.sb.snapshot(), before, "something was written");
}

#[test]
fn a_duplicate_session_is_refused_and_left_alone() {
    let f = Fleet::new("dup");
    // Interval 30: nothing changes on its own during the test.
    let s = f.started("w-dup", 30, &[os("sleep"), os("600")]);
    let before = f.sb.snapshot();
    let r = f.start("w-dup", 30, &[os("sleep"), os("700")]);
    r.expect(1)
        .one_error_line("start-agent-session.sh: error: session w-dup already exists");
    assert_eq!(f.sb.snapshot(), before);
    let panes = f
        .tmux_ok(&["list-panes", "-s", "-t", "=w-dup", "-F", "#{pane_pid}"])
        .unwrap();
    assert_eq!(panes.trim(), s.pane.to_string());
    assert_eq!(f.sidecars_of("w-dup"), vec![s.sidecar]);
}

#[test]
fn stop_ends_exactly_its_session_and_leaves_no_sidecar() {
    let f = Fleet::new("stop");
    let w = f.started("w", 1, &[os("sleep"), os("600")]);
    let keep = f.started("w-keep", 1, &[os("sleep"), os("600")]);

    // "w-k" would match "w-keep" as a tmux prefix pattern: not as a NAME.
    f.stop(&["--dir", f.sb.dir.to_str().unwrap(), "w-k"])
        .expect(1)
        .one_error_line("stop-agent-session.sh: no session w-k");
    assert!(f.has_session("w-keep") && alive(keep.sidecar));

    // The directory comes from the session's environment.
    let r = f.stop(&["w"]);
    r.expect(0);
    assert!(r.stdout().contains("stopped w"), "{}", r.explain());
    assert!(!f.has_session("w"));
    assert!(gone(w.pane).is_some() && gone(w.sidecar).is_some());
    assert!(f.sidecars_of("w").is_empty());
    let b = f.beat("w").unwrap();
    assert_eq!(
        (b["status"].as_str(), b["pid"].as_str()),
        ("exited", &*w.pane.to_string())
    );
    // The other agent is untouched.
    assert!(f.has_session("w-keep") && alive(keep.pane) && alive(keep.sidecar));

    // A silent runtime's hook log goes with the rest.
    fs::write(f.sb.path("w-keep.hook.log"), "x\n").unwrap();
    let r = f.stop(&["--remove", "w-keep"]);
    r.expect(0);
    assert!(!f.has_session("w-keep"));
    assert!(f.sidecars_of("w-keep").is_empty() && gone(keep.sidecar).is_some());
    for file in [
        "w-keep.hb",
        "w-keep.hb.native",
        "w-keep.sidecar.log",
        "w-keep.hook.log",
    ] {
        assert!(!f.sb.path(file).exists(), "{file} left\n{}", r.explain());
    }
    assert!(f.sb.path("w.hb").exists());
}

#[test]
fn stop_makes_an_agent_that_ignores_sighup_go() {
    let f = Fleet::new("hup");
    let s = f.started(
        "w-hup",
        1,
        &[os("bash"), os("-c"), os("trap '' HUP; exec sleep 600")],
    );
    let t0 = Instant::now();
    let r = f.stop(&["w-hup"]);
    r.expect(0);
    assert!(r.stderr().contains("SIGTERM"), "{}", r.explain());
    assert!(gone(s.pane).is_some() && gone(s.sidecar).is_some());
    assert_eq!(f.beat("w-hup").unwrap()["status"], "exited");
    assert!(t0.elapsed() < Duration::from_secs(15));
}

/// The files in the fleet's directory, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn remove_takes_every_file_an_agent_leaves_after_a_full_life() {
    // A life that makes every file an agent can have (src/files.rs): the
    // launcher's beats and log, a runtime's record (Codex's SessionStart),
    // a silent runtime's hook log (Gemini CLI, an unknown event), a native
    // write (the marker), the lock, and a temporary a killed writer left.
    let f = Fleet::new("files");
    let codex = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/hooks/codex/session-start.json"
    );
    let life = concat!(
        "\"$1\" --hook codex <\"$2\" && ",
        "\"$1\" --hook gemini <<<'{\"hook_event_name\":\"Bogus\"}' && ",
        "\"$1\" --native --status busy --model m \"$MOSAIC_AGENT_NAME\" && ",
        "exec sleep 600"
    );
    let s = f.started(
        "w-life",
        1,
        &[
            os("bash"),
            os("-c"),
            os(life),
            os("bash"),
            os(WRITE),
            os(codex),
        ],
    );
    f.sb.put(".w-life.hb.2147483647.AAAAAAAA", b"half a beat");
    // The mark of a state the sidecar settled from the runtime's record
    // (src/turn.rs): planted, as a turn that ended with no hook leaves it.
    f.sb.put(".w-life.settled", b"");
    let full = [
        ".w-life.codex-session",
        ".w-life.hb.2147483647.AAAAAAAA",
        ".w-life.lock",
        // The hook's pointer to Codex's rollout (src/turn.rs).
        ".w-life.record",
        ".w-life.settled",
        "w-life.hb",
        "w-life.hb.native",
        "w-life.hook.log",
        "w-life.sidecar.log",
    ];
    // Exactly these (a sidecar's temporary lives for microseconds: looked
    // at again until the deadline).
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut files = listing(&f.sb.dir);
    while files != full && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
        files = listing(&f.sb.dir);
    }
    assert_eq!(
        files, full,
        "a file that is not in this list: name it in src/files.rs, and make --remove take it"
    );
    f.stop(&["w-life"]).expect(0);
    assert!(gone(s.pane).is_some() && gone(s.sidecar).is_some());

    // hb-write --remove takes all but the launcher's and the hook's logs...
    bare(WRITE)
        .args(["--remove", "--dir"])
        .arg(&f.sb.dir)
        .arg("w-life")
        .status()
        .unwrap()
        .success()
        .then_some(())
        .expect("hb-write --remove");
    assert_eq!(
        listing(&f.sb.dir),
        ["w-life.hook.log", "w-life.sidecar.log"]
    );
    // ...and the stop script's --remove takes them too, session or none.
    f.stop(&["--dir", f.sb.dir.to_str().unwrap(), "--remove", "w-life"])
        .expect(1);
    assert_eq!(listing(&f.sb.dir), Vec::<String>::new());
}
