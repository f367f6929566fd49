//! Agents in sandboxes and containers (issue 23; contract v4, "Pid
//! namespaces"), with the real tools: util-linux `unshare`, bubblewrap and
//! podman (runc, vfs storage under the test's own directory, no network,
//! a tiny root: busybox-static and the static `hb-*` from the release
//! tarball). Each agent runs under `scripts/start-agent-session.sh` in tmux
//! on a private socket, interval 2 s, and plays Claude Code's recorded hook
//! payloads (`tests/fixtures/hooks/claude/`) one step at a time.
//!
//! Each case checks, while the agent lives, that the host's `hb-read`
//! never says dead or exited, shows the statuses as written, and shows a
//! pid of this agent on the host with the beat's `pstart`; that its end
//! (an exit, a kill inside, a stopped container) reads `exited` or `dead`;
//! that the hooks exit 0 and print nothing; and that `hb-read` inside the
//! sandbox never calls a live host agent dead. The commands are the
//! recipes of `doc/sandboxes.md`, which the last test holds to them. A
//! tool that cannot start here is said on stderr and its cases skipped.

mod common;

use common::*;
use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

const START: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/scripts/start-agent-session.sh"
);
const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/hooks/claude");
const GUIDE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/doc/sandboxes.md");
const INTERVAL: u32 = 2;

#[allow(clippy::question_mark)]
mod wire {
    use nanoserde::DeJson;

    #[derive(DeJson, Debug)]
    pub struct Listing {
        pub rows: Vec<Row>,
    }

    #[derive(DeJson, Debug)]
    pub struct Row {
        pub health: String,
        pub src: String,
        pub heartbeat: Option<Beat>,
    }

    #[derive(DeJson, Debug)]
    pub struct Beat {
        pub pid: u32,
        pub status: String,
        pub host: Option<String>,
        pub pstart: Option<u64>,
        pub alive: Option<bool>,
        pub pidns: Option<u64>,
        pub ns_pid: Option<u32>,
    }
}

/// The cases share two cores with everything else: one at a time.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

fn hb_bin() -> &'static Path {
    Path::new(WRITE).parent().unwrap()
}

/// The release tarball's directory (`scripts/dist.sh` over static musl
/// binaries built once into `target/sandbox`), extracted; None, said on
/// stderr, where it cannot be built.
fn release() -> Option<&'static Path> {
    static DIR: OnceLock<Option<PathBuf>> = OnceLock::new();
    DIR.get_or_init(|| {
        let top = Path::new(env!("CARGO_MANIFEST_DIR"));
        let target = top.join("target/sandbox");
        let t = "x86_64-unknown-linux-musl";
        let built = Command::new(env!("CARGO"))
            .args(["build", "--release", "--locked", "--bins", "--target", t])
            .env("CARGO_TARGET_DIR", &target)
            .env("RUSTFLAGS", "-C relocation-model=static")
            .current_dir(top)
            .output()
            .ok()?;
        if !built.status.success() {
            eprintln!(
                "sandbox: no static musl build here, so no podman cases: {}",
                String::from_utf8_lossy(&built.stderr)
            );
            return None;
        }
        let stage = target.join("stage");
        let _ = fs::remove_dir_all(&stage);
        fs::create_dir_all(stage.join(t)).ok()?;
        for b in ["hb-write", "hb-read", "hb-defer-check"] {
            fs::copy(
                target.join(t).join("release").join(b),
                stage.join(t).join(b),
            )
            .ok()?;
        }
        let out = target.join("out");
        let _ = fs::remove_dir_all(&out);
        let dist = Command::new(top.join("scripts/dist.sh"))
            .arg(&stage)
            .arg("0.0.0-sandbox")
            .arg(&out)
            .output()
            .ok()?;
        assert!(dist.status.success(), "dist.sh: {dist:?}");
        let tarball = out.join(format!("hb-0.0.0-sandbox-{t}.tar.gz"));
        let ok = Command::new("tar")
            .arg("-xzf")
            .arg(&tarball)
            .arg("-C")
            .arg(&out)
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "tar -xzf {}", tarball.display());
        Some(out.join(format!("hb-0.0.0-sandbox-{t}")))
    })
    .as_deref()
}

/// Does `cmd` run here? Else says why, once per tool.
fn works(tool: &str, cmd: &mut Command) -> bool {
    match cmd.output() {
        Ok(o) if o.status.success() => true,
        Ok(o) => {
            eprintln!(
                "sandbox: {tool} cannot start here, its cases are skipped: {}",
                String::from_utf8_lossy(&o.stderr).trim()
            );
            false
        }
        Err(e) => {
            eprintln!("sandbox: no {tool} here ({e}), its cases are skipped");
            false
        }
    }
}

/// One case's world: the heartbeat directory, the agent's control
/// directory (payloads in, the hooks' exit statuses and output out), a
/// private tmux server, and podman's storage.
struct World {
    sb: Sandbox,
    ctl: PathBuf,
    tmux: Tmux,
}

/// The agent: a shell script playing Claude Code's hook payloads. It
/// waits for the test's go-files in CTL between steps; `exit` ends it,
/// `kill` kills it with SIGKILL from inside.
const AGENT: &str = r#"#!/bin/sh
CTL=${CTL:-$PWD}
hook() {
    hb-write --hook claude <"$CTL/$1.json" >"$CTL/out.$1" 2>&1
    echo $? >"$CTL/rc.$1"
}
step() {
    while [ ! -e "$CTL/$1" ]; do
        [ -e "$CTL/kill" ] && kill -KILL $$
        [ -e "$CTL/exit" ] && exit 0
        sleep 0.1
    done
}
hook session-start
hook user-prompt-submit
step waiting
hook notification-permission
step ok
hook stop
step never
"#;

const STEPS: [(&str, &str); 4] = [
    ("session-start", "ok"),
    ("user-prompt-submit", "busy"),
    ("notification-permission", "waiting"),
    ("stop", "ok"),
];

impl World {
    fn new(tag: &str) -> World {
        let sb = Sandbox::new(tag);
        let ctl = sb.root.join("ctl");
        fs::create_dir_all(&ctl).unwrap();
        fs::create_dir_all(&sb.dir).unwrap();
        for (step, _) in STEPS {
            fs::copy(
                Path::new(FIXTURES).join(format!("{step}.json")),
                ctl.join(format!("{step}.json")),
            )
            .unwrap();
        }
        let agent = ctl.join("agent");
        fs::write(&agent, AGENT).unwrap();
        chmod_x(&agent);
        let tmux = Tmux::new(&sb, tag);
        World { sb, ctl, tmux }
    }

    /// Runs a launcher recipe of the guide (its words, `claude` replaced
    /// by `agent`), on this test's tmux socket, from the agent's working
    /// directory: the pane's pid.
    fn start(&self, recipe: Vec<OsString>, agent: &[&str]) -> u32 {
        let mut argv = recipe;
        assert_eq!(argv[0], "start-agent-session.sh", "{argv:?}");
        let at = argv.iter().rposition(|w| w == "claude").expect("claude");
        argv.splice(at..=at, os(agent));
        let mut c = bare(START);
        c.env_remove("TMUX")
            .env("HB_BIN", hb_bin())
            .env("HOME", &self.sb.root)
            .env("TMUX_TMPDIR", &self.tmux.tmpdir)
            .env("PATH", host_path(self))
            .current_dir(&self.ctl)
            .args(["-L", &self.tmux.socket])
            .args(&argv[1..]);
        let r = Run::of(&mut c, &self.sb);
        r.expect(0);
        fields(&r.stdout())["pane_pid"].parse().unwrap()
    }

    /// The guide's variables for this world.
    fn vars(&self, name: &str) -> Vars {
        let mut v = Vars::new();
        v.set("NAME", name);
        v.set("HB_DIR", self.sb.dir.to_str().unwrap());
        v.set("PWD", self.ctl.to_str().unwrap());
        v
    }

    fn go(&self, step: &str) {
        fs::write(self.ctl.join(step), "").unwrap();
    }

    fn listing(&self, name: &str) -> wire::Row {
        let r = self.sb.run(READ, &["--json", "--interval", "2", name]);
        let l: wire::Listing = nanoserde::DeJson::deserialize_json(&r.stdout())
            .unwrap_or_else(|e| panic!("{e}: {}", r.explain()));
        l.rows.into_iter().next().unwrap()
    }

    /// Samples the host's listing until the beat says `status` (written by
    /// the hook of `step`), then for `hold` more: never dead nor exited,
    /// the pid this agent's on the host (a descendant of the pane) with
    /// the beat's start time. Returns the samples taken.
    fn hold(&self, name: &str, pane: u32, status: &str, hold: Duration) -> usize {
        let mut seen_at = None;
        let mut samples = 0;
        let end = Instant::now() + Duration::from_secs(30);
        loop {
            let row = self.listing(name);
            samples += 1;
            let b = row.heartbeat.as_ref().unwrap_or_else(|| panic!("{row:?}"));
            assert!(
                !matches!(row.health.as_str(), "dead" | "exited") && b.status != "exited",
                "{name} read {} while it lived: {row:?}",
                row.health
            );
            assert_eq!(row.health, "healthy", "{row:?}");
            if b.status == status {
                if b.ns_pid.is_some() || is_descendant(b.pid, pane) {
                    assert!(
                        is_descendant(b.pid, pane),
                        "pid {} not under pane {pane}: {row:?}",
                        b.pid
                    );
                    assert_eq!(b.alive, Some(true), "{row:?}");
                    let here = stat_start(b.pid);
                    assert_eq!(b.pstart, here, "pstart of {}: {row:?}", b.pid);
                }
                let t = *seen_at.get_or_insert_with(Instant::now);
                if t.elapsed() >= hold {
                    return samples;
                }
            }
            assert!(Instant::now() < end, "{name} never said {status}: {row:?}");
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Plays the steps, each status held past two intervals (so the
    /// sidecar carries it), then ends the agent by `end` and waits for
    /// `exited` or `dead`: the seconds that took.
    fn play(&self, name: &str, pane: u32, end: impl FnOnce()) -> f64 {
        // The stream too (`--follow`, which maps a pid once per beat's
        // pid): never dead nor exited while the agent lives.
        let mut follow = Follower::follow(&self.sb, &["--json", "--interval", "2", name]);
        let long = Duration::from_secs(u64::from(2 * INTERVAL) + 1);
        self.hold(name, pane, "busy", long);
        let row = self.listing(name);
        assert_eq!(row.src, "carried", "the sidecar carries busy: {row:?}");
        self.go("waiting");
        self.hold(name, pane, "waiting", long);
        self.go("ok");
        self.hold(name, pane, "ok", Duration::from_secs(1));
        let b = self.listing(name).heartbeat.unwrap();
        eprintln!(
            "sandbox: {name}: pid {} (in its namespace {:?}), pidns {:?}, host {:?}",
            b.pid, b.ns_pid, b.pidns, b.host
        );
        self.hooks_were_quiet();
        let t = Instant::now();
        end();
        poll("exited or dead", Duration::from_secs(30), || {
            let row = self.listing(name);
            matches!(row.health.as_str(), "exited" | "dead").then_some(())
        });
        let secs = t.elapsed().as_secs_f64();
        eprintln!("sandbox: {name}: ended, seen {secs:.2} s later");
        let mut statuses = Vec::new();
        loop {
            let line = follow.line(Duration::from_secs(30));
            let row: wire::Row = nanoserde::DeJson::deserialize_json(&line).unwrap();
            if matches!(row.health.as_str(), "exited" | "dead") {
                break;
            }
            let hb = row.heartbeat.as_ref().unwrap_or_else(|| panic!("{line}"));
            assert_eq!(row.health, "healthy", "--follow while it lived: {line}");
            if hb.ns_pid.is_some() {
                assert_eq!(hb.pid, b.pid, "--follow's mapped pid: {line}");
            }
            statuses.push(hb.status.clone());
        }
        assert_eq!(statuses, ["busy", "waiting", "ok"], "{:?}", follow.seen);
        secs
    }

    /// Every hook exited 0 and printed nothing.
    fn hooks_were_quiet(&self) {
        for (step, _) in STEPS {
            let rc = fs::read_to_string(self.ctl.join(format!("rc.{step}"))).unwrap_or_default();
            assert_eq!(rc.trim(), "0", "hook {step}");
            let out = fs::read_to_string(self.ctl.join(format!("out.{step}"))).unwrap();
            assert_eq!(out, "", "hook {step} printed");
        }
    }

    /// A live agent of the host's own, for the readers inside a sandbox:
    /// a native beat of a process of the host.
    fn host_agent(&self) -> Proc {
        let p = agent();
        self.sb
            .run(
                WRITE,
                &[
                    "--native",
                    "--status",
                    "busy",
                    "--pid",
                    &p.pid().to_string(),
                    "host-agent",
                ],
            )
            .expect(0);
        p
    }
}

fn chmod_x(p: &Path) {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(p, fs::Permissions::from_mode(0o755)).unwrap();
}

fn stat_start(pid: u32) -> Option<u64> {
    let s = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &s[s.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

fn ppid(pid: u32) -> Option<u32> {
    let s = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &s[s.rfind(')')? + 1..];
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// Is `pid` `root` or below it? podman's container processes hang from
/// conmon, which podman starts apart from its own process: for those the
/// container's processes are looked for under conmon by the test caller.
fn is_descendant(mut pid: u32, root: u32) -> bool {
    for _ in 0..64 {
        if pid == root {
            return true;
        }
        match ppid(pid) {
            Some(p) if p > 1 => pid = p,
            _ => return false,
        }
    }
    false
}

/// `hb-read --json` run by `wrap` (a command that enters a sandbox) over
/// the host's directory: the host agent is never dead; what it says of it.
fn read_inside(wrap: &[OsString], host_agent: u32) -> wire::Row {
    let mut c = Command::new(&wrap[0]);
    c.args(&wrap[1..]).args(["--json", "host-agent"]);
    let o = c.output().unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    let l: wire::Listing =
        nanoserde::DeJson::deserialize_json(&text).unwrap_or_else(|e| panic!("{e}: {o:?}"));
    let row = l.rows.into_iter().next().unwrap();
    assert_ne!(
        row.health, "dead",
        "a live host agent ({host_agent}) read inside: {row:?}"
    );
    assert_eq!(row.heartbeat.as_ref().unwrap().alive, None, "{row:?}");
    row
}

fn os(v: &[&str]) -> Vec<OsString> {
    v.iter().map(OsString::from).collect()
}

fn host_path(w: &World) -> String {
    format!(
        "{}:{}:/usr/bin:/bin:/usr/sbin:/sbin",
        hb_bin().display(),
        w.ctl.display()
    )
}

/// The guide's shell variables: each a list of words (an unquoted
/// expansion splits into them, a quoted one joins them).
struct Vars(Vec<(String, Vec<String>)>);

impl Vars {
    fn new() -> Vars {
        Vars(Vec::new())
    }

    fn set(&mut self, k: &str, v: &str) {
        self.set_words(k, vec![v.to_string()]);
    }

    fn set_words(&mut self, k: &str, v: Vec<String>) {
        self.0.retain(|(n, _)| n != k);
        self.0.push((k.to_string(), v));
    }

    fn get(&self, k: &str) -> &[String] {
        let v = self.0.iter().find(|(n, _)| n == k);
        &v.unwrap_or_else(|| panic!("the guide uses ${k}, unknown to the test"))
            .1
    }
}

/// A recipe line as the shell splits it: words, double quotes, `$VAR`.
fn words(line: &str, vars: &Vars) -> Vec<OsString> {
    let mut out: Vec<String> = Vec::new();
    let mut cur: Option<String> = None;
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                quoted = !quoted;
                cur.get_or_insert_with(String::new);
            }
            '$' => {
                let mut name = String::new();
                while let Some(&n) = chars.peek() {
                    if !(n.is_ascii_alphanumeric() || n == '_') {
                        break;
                    }
                    name.push(n);
                    chars.next();
                }
                let v = vars.get(&name);
                if quoted {
                    cur.get_or_insert_with(String::new).push_str(&v.join(" "));
                } else {
                    for (i, w) in v.iter().enumerate() {
                        if i > 0 {
                            out.extend(cur.take());
                        }
                        cur.get_or_insert_with(String::new).push_str(w);
                    }
                }
            }
            c if c.is_whitespace() && !quoted => out.extend(cur.take()),
            c => cur.get_or_insert_with(String::new).push(c),
        }
    }
    assert!(!quoted, "unbalanced quotes: {line}");
    out.extend(cur.take());
    out.into_iter().map(OsString::from).collect()
}

/// The one line of the guide's code blocks that starts with `start` and
/// holds every word of `with` and none of `without`.
fn recipe(start: &str, with: &[&str], without: &[&str]) -> String {
    let guide = fs::read_to_string(GUIDE).unwrap();
    let mut in_code = false;
    let found: Vec<&str> = guide
        .lines()
        .filter(|l| {
            if l.starts_with("```") {
                in_code = !in_code;
                return false;
            }
            in_code
        })
        .filter(|l| l.starts_with(start))
        .filter(|l| with.iter().all(|w| l.split(' ').any(|x| x == *w)))
        .filter(|l| !without.iter().any(|w| l.split(' ').any(|x| x == *w)))
        .collect();
    assert_eq!(found.len(), 1, "recipe {start} {with:?}: {found:?}");
    found[0].to_string()
}

#[test]
fn an_agent_under_unshare_is_pid_1_and_listed_truly() {
    let _one = serial();
    let mut probe = Command::new("unshare");
    if !works(
        "unshare",
        probe.args(["--pid", "--fork", "--mount-proc", "true"]),
    ) {
        return;
    }
    let w = World::new("unshare");
    let host = w.host_agent();
    let name = "sb-unshare";
    let line = recipe("start-agent-session.sh", &["unshare"], &[]);
    let pane = w.start(words(&line, &w.vars(name)), &["agent"]);
    w.hold(name, pane, "busy", Duration::from_millis(1));
    let b = w.listing(name).heartbeat.unwrap();
    assert_eq!(
        b.ns_pid,
        Some(1),
        "the runtime is pid 1 of its namespace: {b:?}"
    );
    let dir = w.sb.dir.to_str().unwrap();
    read_inside(
        &os(&[
            "unshare",
            "--pid",
            "--fork",
            "--mount-proc",
            READ,
            "--dir",
            dir,
        ]),
        host.pid(),
    );
    w.play(name, pane, || w.go("exit"));
}

#[test]
fn an_agent_under_bubblewrap_is_pid_2_and_listed_truly() {
    let _one = serial();
    let mut probe = Command::new("bwrap");
    let probe = probe.args([
        "--unshare-pid",
        "--ro-bind",
        "/",
        "/",
        "--proc",
        "/proc",
        "true",
    ]);
    if !works("bwrap", probe) {
        return;
    }
    let w = World::new("bwrap");
    let host = w.host_agent();
    let name = "sb-bwrap";
    let line = recipe("start-agent-session.sh", &["bwrap"], &[]);
    let mut argv = words(&line, &w.vars(name));
    // The guide's recipe hides /tmp (`--tmpfs /tmp`), where an installed
    // hb never is, but this test's binaries (the checkout's target/) are
    // when the checkout is under /tmp: bound back, read-only, after it.
    let at = argv
        .windows(2)
        .position(|p| p[0] == "--tmpfs" && p[1] == "/tmp")
        .expect("the recipe's --tmpfs /tmp")
        + 2;
    let bin = hb_bin().as_os_str().to_owned();
    argv.splice(at..at, [OsString::from("--ro-bind"), bin.clone(), bin]);
    let pane = w.start(argv.clone(), &["agent"]);
    w.hold(name, pane, "busy", Duration::from_millis(1));
    let b = w.listing(name).heartbeat.unwrap();
    assert_eq!(b.ns_pid, Some(2), "bubblewrap's own init is pid 1: {b:?}");
    // A reader in a sandbox of the recipe's kind, over the host's beats.
    let at = argv.iter().position(|a| a == "bwrap").unwrap();
    let mut wrap = argv[at..argv.len() - 1].to_vec();
    let dir = w.sb.dir.to_str().unwrap();
    wrap.extend(os(&[READ, "--dir", dir]));
    read_inside(&wrap, host.pid());
    // And over the sandboxed agent's: another sandbox's namespace, unseen.
    let o = Command::new(&wrap[0])
        .args(&wrap[1..])
        .args(["--json", name])
        .output()
        .unwrap();
    let l: wire::Listing =
        nanoserde::DeJson::deserialize_json(&String::from_utf8_lossy(&o.stdout)).unwrap();
    let b = l.rows.into_iter().next().unwrap().heartbeat.unwrap();
    assert_eq!((b.pid, b.alive), (2, None));
    w.play(name, pane, || w.go("kill"));
}

/// podman with this test's own storage, and the options this machine
/// needs (`$PODMAN_OPTS` in the guide).
struct Podman {
    base: Vec<String>,
    opts: Vec<String>,
    /// podman wants its run root's path within 50 bytes: one of its own
    /// in /tmp, removed when done.
    runroot: PathBuf,
}

impl Drop for Podman {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.runroot);
    }
}

impl Podman {
    fn new(w: &World) -> Option<(Podman, &'static Path)> {
        if which("busybox").is_none() {
            eprintln!(
                "sandbox: no busybox (busybox-static) for a container's root: podman cases skipped"
            );
            return None;
        }
        let rel = release()?;
        let st = w.sb.root.join("podman");
        let s = |p: &str| st.join(p).to_str().unwrap().to_string();
        let runroot = PathBuf::from(format!("/tmp/hb-podman-{}", fastrand::u32(..)));
        let base = vec![
            "podman".into(),
            "--root".into(),
            s("root"),
            "--runroot".into(),
            runroot.to_str().unwrap().into(),
            "--tmpdir".into(),
            s("tmp"),
            "--storage-driver".into(),
            "vfs".into(),
        ];
        let opts = [
            "--runtime",
            "runc",
            "--network",
            "none",
            "--ulimit",
            "nofile=20000:20000",
            "--ulimit",
            "nproc=32768:32768",
        ];
        let p = Podman {
            base,
            opts: opts.map(String::from).to_vec(),
            runroot,
        };
        let root = rootfs(w);
        let mut probe = p.cmd(&["run", "--rm"]);
        probe
            .args(&p.opts)
            .arg("--rootfs")
            .arg(&root)
            .arg("/bin/true");
        works("podman", &mut probe).then_some((p, rel))
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(&self.base[0]);
        c.args(&self.base[1..]).args(args);
        c
    }

    /// The guide's variables for a container in `w`.
    fn vars(&self, w: &World, name: &str, rel: &Path) -> Vars {
        let mut v = w.vars(name);
        v.set("HB", rel.to_str().unwrap());
        v.set("ROOTFS", rootfs(w).to_str().unwrap());
        v.set("BOX", "box");
        v.set_words("PODMAN_OPTS", self.opts.clone());
        v
    }

    /// A recipe's words with `podman` given this test's storage.
    fn localize(&self, argv: Vec<OsString>) -> Vec<OsString> {
        let mut out = Vec::new();
        for a in argv {
            if a == "podman" {
                out.extend(self.base.iter().map(OsString::from));
            } else {
                out.push(a);
            }
        }
        out
    }

    fn run(&self, argv: Vec<OsString>) -> std::process::Output {
        let argv = self.localize(argv);
        Command::new(&argv[0]).args(&argv[1..]).output().unwrap()
    }
}

/// A tiny root: busybox-static's applets; hb comes in by a bind of the
/// release tarball's directory at /opt/hb, the agent by its working
/// directory's at /work.
fn rootfs(w: &World) -> PathBuf {
    let root = w.sb.root.join("rootfs");
    for d in [
        "bin", "proc", "dev", "sys", "etc", "tmp", "hb", "work", "opt/hb",
    ] {
        fs::create_dir_all(root.join(d)).unwrap();
    }
    if !root.join("bin/busybox").exists() {
        fs::copy(which("busybox").unwrap(), root.join("bin/busybox")).unwrap();
        for applet in ["sh", "sleep", "true", "cat", "kill", "echo"] {
            std::os::unix::fs::symlink("busybox", root.join("bin").join(applet)).unwrap();
        }
    }
    root
}

#[test]
fn an_agent_in_podman_run_is_listed_truly_also_on_a_read_only_root() {
    let _one = serial();
    for read_only in [false, true] {
        let w = World::new(if read_only { "podman-ro" } else { "podman" });
        let Some((p, rel)) = Podman::new(&w) else {
            return;
        };
        let name = if read_only {
            "sb-podman-ro"
        } else {
            "sb-podman"
        };
        let (with, without) = match read_only {
            true => (["run", "--read-only"], [].as_slice()),
            false => (["run", "run"], ["--read-only"].as_slice()),
        };
        let line = recipe("start-agent-session.sh", &with, without);
        let argv = p.localize(words(&line, &p.vars(&w, name, rel)));
        w.start(argv, &["/work/agent"]);
        // The container's processes hang from conmon, not from the pane:
        // the agent's on the host is the process the beat was mapped to.
        let row = poll("a busy beat", Duration::from_secs(30), || {
            let r = w.listing(name);
            (r.heartbeat.as_ref()?.status == "busy").then_some(r)
        });
        let b = row.heartbeat.as_ref().unwrap();
        assert_eq!((b.ns_pid, b.alive), (Some(1), Some(true)), "{row:?}");
        assert_ne!(b.host, hostname(), "podman's nodename: {row:?}");
        assert_eq!(b.pstart, stat_start(b.pid), "{row:?}");
        if read_only {
            // A silent runtime's problem lands in the hook log, in the bind.
            let o = p
                .cmd(&["exec", "-e", &format!("MOSAIC_AGENT_NAME={name}")])
                .args(["-e", "MOSAIC_HEARTBEAT_DIR=/hb", name])
                .args(["/opt/hb/hb-write", "--hook", "gemini", "not json"])
                .output()
                .unwrap();
            assert!(
                o.status.success() && o.stdout.is_empty() && o.stderr.is_empty(),
                "{o:?}"
            );
            let log = fs::read_to_string(w.sb.dir.join(format!("{name}.hook.log"))).unwrap();
            assert!(log.contains("gemini"), "{log}");
            // The root itself is read-only.
            let o = p
                .cmd(&["exec", name, "/bin/sh", "-c", "echo x > /x"])
                .output()
                .unwrap();
            assert!(!o.status.success(), "{o:?}");
        }
        w.play(name, b.pid, || {
            if read_only {
                w.go("exit");
            } else {
                p.cmd(&["stop", "-t", "0", name]).output().unwrap();
            }
        });
    }
}

#[test]
fn an_agent_in_podman_exec_is_listed_truly() {
    let _one = serial();
    let w = World::new("podman-exec");
    let Some((p, rel)) = Podman::new(&w) else {
        return;
    };
    let host = w.host_agent();
    let name = "sb-exec";
    let vars = p.vars(&w, name, rel);
    // The container, started apart; the agent is `podman exec`'d into it.
    let o = p.run(words(&recipe("podman run -d", &[], &[]), &vars));
    assert!(o.status.success(), "{o:?}");
    let _box = Removed(p.cmd(&["rm", "-f", "-t", "0", "box"]));
    let line = recipe("start-agent-session.sh", &["exec"], &[]);
    w.start(p.localize(words(&line, &vars)), &["/work/agent"]);
    let row = poll("a busy beat", Duration::from_secs(30), || {
        let r = w.listing(name);
        (r.heartbeat.as_ref()?.status == "busy").then_some(r)
    });
    let b = row.heartbeat.as_ref().unwrap();
    assert!(b.ns_pid.is_some_and(|p| p > 1), "{row:?}");
    assert_eq!(b.alive, Some(true), "{row:?}");
    // Inside the container, over the host's directory: the host's agent
    // unseen, the container's own as today.
    let reader = p.localize(words(&recipe("podman exec \"$BOX\"", &[], &[]), &vars));
    read_inside(&reader, host.pid());
    let o = Command::new(&reader[0])
        .args(&reader[1..])
        .args(["--json", name])
        .output()
        .unwrap();
    let l: wire::Listing =
        nanoserde::DeJson::deserialize_json(&String::from_utf8_lossy(&o.stdout)).unwrap();
    let own = l.rows.into_iter().next().unwrap().heartbeat.unwrap();
    assert_eq!((own.alive, own.ns_pid), (Some(true), None), "{own:?}");
    w.play(name, b.pid, || w.go("kill"));
}

#[test]
fn every_recipe_of_the_guide_is_run_by_a_case_here() {
    let guide = fs::read_to_string(GUIDE).unwrap();
    let used = [
        recipe("start-agent-session.sh", &["unshare"], &[]),
        recipe("start-agent-session.sh", &["bwrap"], &[]),
        recipe("start-agent-session.sh", &["run", "run"], &["--read-only"]),
        recipe("start-agent-session.sh", &["run", "--read-only"], &[]),
        recipe("start-agent-session.sh", &["exec"], &[]),
        recipe("podman run -d", &[], &[]),
        recipe("podman exec \"$BOX\"", &[], &[]),
    ];
    let mut in_code = false;
    for l in guide.lines() {
        if l.starts_with("```") {
            in_code = !in_code;
            continue;
        }
        let command = l.starts_with("start-agent-session.sh") || l.starts_with("podman");
        if in_code && command {
            assert!(used.iter().any(|u| u == l), "no test runs: {l}");
        }
    }
}

/// Runs its command when dropped: a container removed even when a test
/// fails.
struct Removed(Command);

impl Drop for Removed {
    fn drop(&mut self) {
        let _ = self.0.output();
    }
}

fn which(tool: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join(tool))
            .find(|f| f.is_file())
    })
}

fn hostname() -> Option<String> {
    fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_string())
}
