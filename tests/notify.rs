//! `hb-read --follow --exec`: hostile values reach the notifier byte for
//! byte in its environment with no shell anywhere (traced), a slow or
//! failing notifier never holds the stream, stays within the bound and
//! leaves no zombie; and the docs' recipes, run as the docs show
//! them: the webhook and the push against an HTTP server on 127.0.0.1, the
//! desktop notice against a stand-in `notify-send`, the systemd user unit
//! through `systemd-analyze verify`.

mod common;

use common::*;
use nanoserde::DeJson;
use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc;
use std::time::Duration;

const SOON: Duration = Duration::from_secs(10);

/// The HB_* variables of each environment in `env -0` output (entries
/// ended by NUL), raw bytes. An environment holds each variable once, so a
/// variable seen again starts the next one (each `env` writes its whole
/// output at once: two never mix).
fn hb_vars(out: &[u8]) -> Vec<BTreeMap<String, Vec<u8>>> {
    let mut all = Vec::new();
    let mut cur: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for entry in out.split(|&b| b == 0).filter(|e| !e.is_empty()) {
        let Some(eq) = entry.iter().position(|&b| b == b'=') else {
            continue;
        };
        let (k, v) = (String::from_utf8_lossy(&entry[..eq]), &entry[eq + 1..]);
        if !k.starts_with("HB_") {
            continue;
        }
        if cur.contains_key(&*k) {
            all.push(std::mem::take(&mut cur));
        }
        cur.insert(k.into_owned(), v.to_vec());
    }
    if !cur.is_empty() {
        all.push(cur);
    }
    all
}

#[test]
fn hostile_values_reach_the_notifier_byte_for_byte_and_no_shell_runs() {
    if !have_strace() {
        return;
    }
    let sb = Sandbox::new("exec-hostile");
    let me = std::process::id();
    let pwned = sb.root.join("PWNED");
    // A model a shell would act on at every turn; the beat format cannot
    // hold a line feed, so a carriage return in the middle stands in for
    // one, with a tab, an escape and a backslash.
    // (Relative: hb-read and its notifier run in the sandbox's root.)
    let model = "a b 'q' \"d\" $(touch PWNED) `touch PWNED` ; * \r-ish\t\x1b[2J\\n";
    sb.put_atomic(
        "w-1.hb",
        format!("ts={}\npid={me}\nstatus=waiting\nmodel={model}\n", now()).as_bytes(),
    );
    // An odd file name: listed invalid, its name as it is.
    let odd = "w $(touch PWNED)";
    sb.put_atomic(&format!("{odd}.hb"), b"junk");
    let trace = sb.root.join("execve.log");
    let mut c = bare("strace");
    c.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap())
        .current_dir(&sb.root);
    c.args(["-f", "-qq", "-e", "trace=execve", "-s", "256", "-o"])
        .arg(&trace)
        .arg("--")
        .arg(READ)
        .arg("--dir")
        .arg(&sb.dir)
        .args(["--follow", "--exec", "env", "-0"]);
    let mut f = Follower::spawn(c, &sb);
    let lines = [f.line(SOON), f.line(SOON)];
    let model = model.as_bytes();
    // Both notifiers ran and printed (to hb-read's stderr) and were reaped.
    let vars = poll("two environments", SOON, || {
        let v = hb_vars(&fs::read(&f.stderr).unwrap());
        (v.len() == 2).then_some(v)
    });
    let of = |name: &[u8]| {
        vars.iter()
            .find(|v| v["HB_NAME"] == name)
            .unwrap_or_else(|| panic!("no notifier for {name:?}: {vars:?}\n{lines:?}"))
    };
    let w1 = of(b"w-1");
    assert_eq!(w1["HB_MODEL"], model);
    assert_eq!(w1["HB_STATUS"], b"waiting");
    assert_eq!(w1["HB_EVENT"], b"appeared");
    assert_eq!(w1["HB_PID"], me.to_string().as_bytes());
    assert_eq!(w1["HB_WAS_STATUS"], b"");
    assert_eq!(w1["HB_DIR"], sb.dir.as_os_str().as_bytes());
    let bad = of(odd.as_bytes());
    assert_eq!(bad["HB_HEALTH"], b"invalid");
    assert_eq!(bad["HB_ERROR"], b"file name is not a valid NAME");
    assert_eq!(bad["HB_STATUS"], b"");
    // Every variable, always.
    for v in &vars {
        assert_eq!(v.len(), 17, "{v:?}");
    }
    // The stream's own lines are escaped: each one line.
    assert!(
        lines
            .iter()
            .all(|l| !l.contains('\r') && !l.contains('\x1b')),
        "{lines:?}"
    );
    // SIGTERM to hb-read (strace's child): it ends 0, and strace with it.
    let hb = child_of(f.proc.pid()).expect("hb-read under strace");
    // SAFETY: kill(2) on the process this test started.
    assert_eq!(unsafe { libc::kill(hb as i32, libc::SIGTERM) }, 0);
    assert_eq!(f.proc.exit_within(SOON).code(), Some(0));
    assert!(!pwned.exists(), "a shell ran a value");
    // Only hb-read and env were ever executed: no shell.
    let log = fs::read_to_string(&trace).unwrap();
    let execs: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("execve(") && !l.contains("= -1 "))
        .filter_map(|l| l.split('"').nth(1))
        .collect();
    assert!(execs.len() >= 3, "{log}");
    for e in &execs {
        let prog = Path::new(e).file_name().unwrap().to_str().unwrap();
        assert!(prog == "hb-read" || prog == "env", "{e} ran:\n{log}");
    }
}

#[test]
fn the_notifier_gets_the_line_on_stdin() {
    let sb = Sandbox::new("exec-stdin");
    let me = std::process::id().to_string();
    let mut f = Follower::follow(&sb, &["--json", "--exec", "cat"]);
    sb.run(WRITE, &["--pid", &me, "--status", "busy", "w-1"])
        .expect(0);
    let line = f.line(SOON);
    let err = poll("cat's copy", SOON, || {
        let e = f.err();
        e.ends_with('\n').then_some(e)
    });
    assert_eq!(err, format!("{line}\n"));
}

/// The children of `pid`, and whether any of them is a zombie.
fn children(pid: u32) -> Vec<(u32, char)> {
    let list = fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
    list.split_whitespace()
        .filter_map(|c| c.parse().ok())
        .map(|c: u32| {
            let stat = fs::read_to_string(format!("/proc/{c}/stat")).unwrap_or_default();
            let state = stat
                .rsplit(')')
                .next()
                .and_then(|r| r.trim().chars().next());
            (c, state.unwrap_or('?'))
        })
        .collect()
}

fn alive(pid: u32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(
        |s| !matches!(s.rsplit(')').next().map(str::trim), Some(r) if r.starts_with('Z')),
    )
}

#[test]
fn a_slow_notifier_never_holds_the_stream_and_stays_within_the_bound() {
    let sb = Sandbox::new("exec-slow");
    let me = std::process::id().to_string();
    // Longer than any deadline here: they end because they are ended.
    let mut f = Follower::follow(&sb, &["--exec", "sleep", "60"]);
    let hb = f.proc.pid();
    // 70 agents, as fast as hb-write goes: every line comes (the stream
    // does not wait), at most 4 notifiers run at once, and the queue
    // drops the oldest past 64.
    let mut most = 0;
    let mut seen = Vec::new();
    for i in 0..70 {
        sb.run(WRITE, &["--pid", &me, &format!("w-{i:02}")])
            .expect(0);
        seen.push(f.line(SOON));
        most = most.max(children(hb).len());
    }
    assert!(most <= 4, "{most} notifiers at once");
    assert_eq!(children(hb).len(), 4);
    let err = poll("the drop notice", SOON, || {
        let e = f.err();
        (!e.is_empty()).then_some(e)
    });
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("hb-read: warning: --exec: 64 changes wait for a notifier already")
            && err.contains("dropped"),
        "{err}"
    );
    // SIGTERM: exit 0 at once, and the running notifiers are ended too.
    let sleeps: Vec<u32> = children(hb).iter().map(|c| c.0).collect();
    f.proc.signal(libc::SIGTERM);
    assert_eq!(f.proc.exit_within(SOON).code(), Some(0));
    poll("the notifiers to end", SOON, || {
        sleeps.iter().all(|&p| !alive(p)).then_some(())
    });
}

#[test]
fn a_failing_notifier_is_said_once_and_reaped() {
    let sb = Sandbox::new("exec-false");
    let me = std::process::id().to_string();
    let mut f = Follower::follow(&sb, &["--exec", "false"]);
    let hb = f.proc.pid();
    for i in 0..5 {
        sb.run(WRITE, &["--pid", &me, &format!("w-{i}")]).expect(0);
        f.line(SOON);
    }
    // All reaped: no child left, zombie or not.
    poll("every notifier reaped", SOON, || {
        children(hb).is_empty().then_some(())
    });
    let err = f.err();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("hb-read: warning: --exec: ") && err.contains(" exited 1"),
        "{err}"
    );
    // Still following.
    sb.run(WRITE, &["--pid", &me, "--status", "busy", "w-0"])
        .expect(0);
    assert!(f
        .line(SOON)
        .contains(" w-0 changed busy healthy ok/healthy "));
}

/// A script from the docs (the README or a page of the guide, `doc/`),
/// between `<!-- recipe: NAME -->` and the end of the code block that
/// follows it.
fn recipe(name: &str) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut pages = vec![root.join("README.md")];
    for e in fs::read_dir(root.join("doc")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "md") {
            pages.push(p);
        }
    }
    let mark = format!("<!-- recipe: {name} -->\n");
    let (text, at) = pages
        .iter()
        .find_map(|p| {
            let text = fs::read_to_string(p).unwrap();
            text.find(&mark).map(|at| (text, at))
        })
        .unwrap_or_else(|| panic!("no recipe {name} in README.md or doc/*.md"));
    let block = &text[at + mark.len()..];
    let body = &block[block.find('\n').unwrap() + 1..];
    body[..body.find("\n```").unwrap() + 1].to_string()
}

fn install(sb: &Sandbox, name: &str) -> PathBuf {
    let bin = sb.root.join("bin");
    fs::create_dir_all(&bin).unwrap();
    let path = bin.join(name);
    fs::write(&path, recipe(name)).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// `hb-read --follow --exec RECIPE` with the recipe's variable set, as the
/// README says to run it.
fn follow_with_recipe(sb: &Sandbox, name: &str, var: (&str, &str)) -> Follower {
    let script = install(sb, name);
    let mut c = sb.cmd(READ);
    c.arg("--follow")
        .arg("--exec")
        .arg(&script)
        .env(var.0, var.1);
    Follower::spawn(c, sb)
}

/// One HTTP request as a server sees it.
#[derive(Debug)]
struct Request {
    line: String,
    headers: BTreeMap<String, String>,
    body: Vec<u8>,
}

/// An HTTP server on 127.0.0.1 that answers 200 to every request and
/// hands each one over.
fn http_server() -> (String, mpsc::Receiver<Request>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", l.local_addr().unwrap());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { return };
            let mut r = BufReader::new(s.try_clone().unwrap());
            let mut line = String::new();
            r.read_line(&mut line).unwrap();
            let mut headers = BTreeMap::new();
            loop {
                let mut h = String::new();
                r.read_line(&mut h).unwrap();
                let h = h.trim_end();
                if h.is_empty() {
                    break;
                }
                let (k, v) = h.split_once(':').unwrap();
                headers.insert(k.to_ascii_lowercase(), v.trim().to_string());
            }
            let n: usize = headers
                .get("content-length")
                .map_or(0, |v| v.parse().unwrap());
            let mut body = vec![0; n];
            r.read_exact(&mut body).unwrap();
            s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
                .unwrap();
            if tx
                .send(Request {
                    line: line.trim_end().to_string(),
                    headers,
                    body,
                })
                .is_err()
            {
                return;
            }
        }
    });
    (url, rx)
}

/// Drives a recipe: busy (nothing sent), waiting with a hostile model
/// (sent), the agent killed (sent). Returns the follower's lines.
fn drive(sb: &Sandbox, f: &mut Follower) -> (Proc, Vec<String>) {
    let agent = agent();
    let pid = agent.pid().to_string();
    let model = "<!channel> & \"q\" $(touch x) `y`";
    let mut lines = Vec::new();
    for status in ["busy", "waiting"] {
        sb.run(
            WRITE,
            &["--pid", &pid, "--status", status, "--model", model, "w-1"],
        )
        .expect(0);
        lines.push(f.line(SOON));
    }
    (agent, lines)
}

/// A derived decoder in a module of its own: the code nanoserde's derive
/// writes trips a clippy lint that no attribute on a struct reaches.
#[allow(clippy::question_mark)]
mod wire {
    #[derive(nanoserde::DeJson)]
    pub struct Slack {
        pub text: String,
    }
}
use wire::Slack;

#[test]
fn the_webhook_recipe_posts_to_a_slack_compatible_server() {
    for tool in ["curl", "jq"] {
        assert!(
            Command::new(tool).arg("--version").output().is_ok(),
            "the recipe needs {tool} (Debian: {tool})"
        );
    }
    let sb = Sandbox::new("recipe-slack");
    let (url, posts) = http_server();
    let mut f = follow_with_recipe(&sb, "hb-slack", ("HB_WEBHOOK_URL", &url));
    let (agent, _) = drive(&sb, &mut f);
    let r = posts.recv_timeout(SOON).expect("a post for waiting");
    assert_eq!(r.line, "POST /hook HTTP/1.1");
    assert_eq!(r.headers["content-type"], "application/json");
    let text = Slack::deserialize_json(std::str::from_utf8(&r.body).unwrap())
        .unwrap()
        .text;
    // FOR is 0s, or 1s when the clock ticked between the write and the read.
    assert!(
        text.starts_with("*w-1* waits for you: waiting for ")
            && text.ends_with("s, model &lt;!channel&gt; &amp; \"q\" $(touch x) `y`"),
        "{text}"
    );
    drop(agent);
    let r = posts.recv_timeout(SOON).expect("a post for the death");
    let text = Slack::deserialize_json(std::str::from_utf8(&r.body).unwrap())
        .unwrap()
        .text;
    assert!(text.starts_with("*w-1* died: waiting for "), "{text}");
    // Nothing for busy, nor anything else.
    f.line(SOON); // the dead line
    assert!(posts.recv_timeout(Duration::from_millis(300)).is_err());
    assert_eq!(f.err(), "");
}

#[test]
fn the_push_recipe_posts_the_line() {
    let sb = Sandbox::new("recipe-ntfy");
    let (url, posts) = http_server();
    let mut f = follow_with_recipe(&sb, "hb-ntfy", ("HB_NTFY_URL", &url));
    let (_agent, lines) = drive(&sb, &mut f);
    let r = posts.recv_timeout(SOON).expect("a post for waiting");
    assert_eq!(r.headers["title"], "w-1 waits for you");
    assert_eq!(r.headers["priority"], "high");
    assert_eq!(r.body, format!("{}\n", lines[1]).as_bytes());
    assert_eq!(f.err(), "");
}

#[test]
fn the_desktop_recipe_calls_notify_send_with_the_values_as_words() {
    let sb = Sandbox::new("recipe-notify");
    let script = install(&sb, "hb-notify");
    // A stand-in notify-send that records its arguments.
    let args = sb.root.join("notify-send.args");
    let fake = sb.root.join("bin/notify-send");
    fs::write(
        &fake,
        format!("#!/bin/sh\nprintf '%s\\0' \"$@\" >> '{}'\n", args.display()),
    )
    .unwrap();
    fs::set_permissions(&fake, fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        sb.root.join("bin").display(),
        std::env::var("PATH").unwrap()
    );
    let mut c = sb.cmd(READ);
    c.arg("--follow")
        .arg("--exec")
        .arg(&script)
        .env("PATH", path);
    let mut f = Follower::spawn(c, &sb);
    let (_agent, _) = drive(&sb, &mut f);
    let got = poll("notify-send to run", SOON, || fs::read(&args).ok());
    let words: Vec<&OsStr> = got
        .split(|&b| b == 0)
        .filter(|w| !w.is_empty())
        .map(OsStr::from_bytes)
        .collect();
    assert_eq!(
        words[..4],
        [
            "--app-name=hb",
            "--urgency=critical",
            "--",
            "w-1 waits for you"
        ]
        .map(OsStr::new)
    );
    let body = words[4].to_str().unwrap();
    assert!(
        words.len() == 5
            && body.starts_with("status waiting for ")
            && body.ends_with("s, model <!channel> & \"q\" $(touch x) `y`"),
        "{words:?}"
    );
}

#[test]
fn the_systemd_user_unit_verifies_and_follows_its_directory() {
    let sb = Sandbox::new("recipe-unit");
    let unit = recipe("hb-follow.service").replace("/usr/local/bin/hb-read", READ);
    let dir = sb.root.join("units");
    fs::create_dir_all(&dir).unwrap();
    let path = dir.join("hb-follow.service");
    fs::write(&path, &unit).unwrap();
    let runtime = sb.root.join("run");
    fs::create_dir_all(&runtime).unwrap();
    fs::set_permissions(&runtime, fs::Permissions::from_mode(0o700)).unwrap();
    let out = Command::new("systemd-analyze")
        .args(["--user", "verify"])
        .arg(&path)
        .env("XDG_RUNTIME_DIR", &runtime)
        .env("HOME", &sb.root)
        .output()
        .expect("systemd-analyze (Debian: systemd)");
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        unit
    );
    // Its command, with its environment (%h is the home directory).
    let env = unit
        .lines()
        .find_map(|l| l.strip_prefix("Environment=MOSAIC_HEARTBEAT_DIR="))
        .unwrap()
        .replace("%h", sb.root.to_str().unwrap());
    let argv: Vec<&str> = unit
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .unwrap()
        .split_whitespace()
        .collect();
    let home_dir = Path::new(&env);
    fs::create_dir_all(home_dir).unwrap();
    let mut c = bare(argv[0]);
    c.args(&argv[1..]).env("MOSAIC_HEARTBEAT_DIR", home_dir);
    let mut f = Follower::spawn(c, &sb);
    let mut w = bare(WRITE);
    w.arg("--dir")
        .arg(home_dir)
        .args(["--pid", &std::process::id().to_string(), "w-1"]);
    assert!(w.status().unwrap().success());
    assert!(f.line(SOON).contains(" w-1 appeared ok healthy "));
}
