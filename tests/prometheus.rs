//! `hb-read --format prometheus` and `--output` against the real tools:
//! `promtool check metrics` on a mixed fleet, the alert rules through
//! `promtool check rules` and `promtool test rules`, and a real
//! node_exporter on 127.0.0.1 serving the file `hb-read --output` refreshed.
//!
//! CI installs promtool and node_exporter (Debian's `prometheus` and
//! `prometheus-node-exporter`); a missing tool fails the test and says which.

mod common;

use common::*;
use std::ffi::OsStr;
use std::fs;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A tool from PATH (or the Debian location), or a failure naming it.
fn tool(name: &str, package: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/bin"), PathBuf::from("/usr/sbin")])
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!("required tool `{name}` is missing: install the Debian package `{package}`")
        })
}

fn promtool() -> PathBuf {
    tool("promtool", "prometheus")
}

fn rules_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("integrations/prometheus")
}

/// A fleet with every kind of row: healthy (native and sidecar), stale,
/// dead, exited, invalid, legacy, from another host, a file name that is
/// not a NAME, two names that differ only in bytes that are not UTF-8, and
/// models with quotes, backslashes and tabs.
fn mixed_fleet(sb: &Sandbox) {
    let me = std::process::id().to_string();
    let now = now();
    sb.run(
        WRITE,
        &[
            "--native",
            "--status",
            "busy",
            "--model",
            r#"glm "5.2" \ turbo"#,
            "--pid",
            &me,
            "w-busy",
        ],
    )
    .expect(0);
    sb.run(WRITE, &["--pid", &me, "w-idle"]).expect(0);
    sb.run(WRITE, &["--pid", &me, "--status", "exited", "w-exited"])
        .expect(0);
    let mut gone = Command::new("true").spawn().unwrap();
    let gone_pid = gone.id().to_string();
    gone.wait().unwrap();
    sb.run(WRITE, &["--pid", &gone_pid, "--model", "opus", "w-dead"])
        .expect(0);
    sb.put(
        "w-stale.hb",
        format!("ts={}\npid={me}\nstatus=ok\nmodel=m\n", now - 3600).as_bytes(),
    );
    sb.put(
        "w-legacy.hb",
        format!("ts={now}\npid={me}\nstatus=ok\n").as_bytes(),
    );
    sb.put(
        "w-odd-model.hb",
        format!("ts={now}\npid={me}\nstatus=waiting\nmodel=a\"b\\c\td\n").as_bytes(),
    );
    sb.put(
        "w-remote.hb",
        format!("ts={now}\npid={gone_pid}\nstatus=ok\nhost=elsewhere-7\n").as_bytes(),
    );
    sb.put("w-invalid.hb", b"ts=1\npid=x\nstatus=ok\n");
    sb.put(
        "bad.name.hb",
        format!("ts={now}\npid={me}\nstatus=ok\n").as_bytes(),
    );
    for raw in [&b"x\xff.hb"[..], b"x\xfe.hb"] {
        fs::write(
            sb.dir.join(OsStr::from_bytes(raw)),
            b"ts=1\npid=1\nstatus=ok\n",
        )
        .unwrap();
    }
}

/// Runs promtool on `text` (stdin) and asserts it has nothing to say.
#[track_caller]
fn promtool_accepts(text: &str) {
    let mut child = Command::new(promtool())
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && said.trim().is_empty(),
        "promtool check metrics: {}\n{said}\n--- input ---\n{text}",
        out.status
    );
}

#[track_caller]
fn has_line(text: &str, line: &str) {
    assert!(
        text.lines().any(|l| l == line),
        "no line {line:?} in\n{text}"
    );
}

#[test]
fn a_mixed_fleet_passes_promtool() {
    let sb = Sandbox::new("prom-mixed");
    mixed_fleet(&sb);
    let r = sb.run(READ, &["--format", "prometheus"]);
    r.expect(0);
    let text = r.stdout();
    promtool_accepts(&text);

    for (agent, health) in [
        ("w-busy", "healthy"),
        ("w-idle", "healthy"),
        ("w-legacy", "healthy"),
        ("w-odd-model", "healthy"),
        ("w-remote", "healthy"),
        ("w-stale", "stale"),
        ("w-dead", "dead"),
        ("w-exited", "exited"),
        ("w-invalid", "invalid"),
        ("bad.name", "invalid"),
    ] {
        has_line(
            &text,
            &format!("mosaic_agent_health{{agent=\"{agent}\",health=\"{health}\"}} 1"),
        );
    }
    has_line(&text, r#"mosaic_agent_busy{agent="w-busy"} 1"#);
    has_line(&text, r#"mosaic_agent_busy{agent="w-idle"} 0"#);
    has_line(&text, r#"mosaic_agent_native{agent="w-busy"} 1"#);
    has_line(&text, r#"mosaic_agent_alive{agent="w-dead"} 0"#);
    assert!(
        !text.contains(r#"mosaic_agent_alive{agent="w-remote"}"#),
        "{text}"
    );
    let host = fields(&sb.read("w-busy.hb"))["host"].clone();
    has_line(
        &text,
        &format!(
            r#"mosaic_agent_info{{agent="w-busy",status="busy",model="glm \"5.2\" \\ turbo",host="{host}"}} 1"#
        ),
    );
    has_line(
        &text,
        "mosaic_agent_info{agent=\"w-odd-model\",status=\"waiting\",model=\"a\\\"b\\\\c\td\",host=\"\"} 1",
    );
    has_line(
        &text,
        r#"mosaic_agent_info{agent="w-legacy",status="ok",model="",host=""} 1"#,
    );
    let ts = fields(&sb.read("w-busy.hb"))["ts"].clone();
    has_line(
        &text,
        &format!(r#"mosaic_agent_heartbeat_timestamp_seconds{{agent="w-busy"}} {ts}"#),
    );
    for (health, n) in [
        ("healthy", 5),
        ("stale", 1),
        ("dead", 1),
        ("exited", 1),
        ("invalid", 4),
        ("missing", 0),
    ] {
        has_line(
            &text,
            &format!(r#"mosaic_agent_fleet_agents{{health="{health}"}} {n}"#),
        );
    }
    has_line(&text, "mosaic_agent_stale_after_seconds 30");

    // Asked for by NAME, a missing agent is a row too.
    let r = sb.run(READ, &["--format", "prometheus", "w-busy", "w-nowhere"]);
    r.expect(0);
    promtool_accepts(&r.stdout());
    has_line(
        &r.stdout(),
        r#"mosaic_agent_health{agent="w-nowhere",health="missing"} 1"#,
    );

    // An empty or missing directory is an empty fleet, still well-formed.
    let empty = Sandbox::new("prom-empty");
    let r = empty.run(READ, &["--format", "prometheus"]);
    r.expect(0);
    promtool_accepts(&r.stdout());
    has_line(
        &r.stdout(),
        r#"mosaic_agent_fleet_agents{health="healthy"} 0"#,
    );
}

#[test]
fn output_writes_the_file_atomically() {
    let sb = Sandbox::new("prom-output");
    mixed_fleet(&sb);
    let out = sb.root.join("textfile");
    fs::create_dir(&out).unwrap();
    let target = out.join("mosaic-agents.prom");
    let r = Run::of(
        sb.cmd(READ)
            .args(["--format", "prometheus", "--output"])
            .arg(&target),
        &sb,
    );
    r.expect(0);
    assert_eq!(r.stdout(), "", "{}", r.explain());
    let text = fs::read_to_string(&target).unwrap();
    promtool_accepts(&text);
    has_line(&text, r#"mosaic_agent_busy{agent="w-busy"} 1"#);
    let names: Vec<_> = fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        names,
        ["mosaic-agents.prom"],
        "leftovers in {}",
        out.display()
    );
    let mode = fs::metadata(&target).unwrap();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&mode.permissions()) & 0o044,
        0o044,
        "node_exporter runs as another user: the file must be readable"
    );
}

/// The collector globs `*.prom`: the temporary must never match it. Make
/// the rename fail (a directory holds the target's name) so the error names
/// the temporary, then check its name and that it was cleaned up.
#[test]
fn the_temporary_never_matches_the_collectors_glob() {
    let sb = Sandbox::new("prom-temp");
    mixed_fleet(&sb);
    let out = sb.root.join("textfile");
    fs::create_dir_all(out.join("mosaic-agents.prom/occupied")).unwrap();
    let before = snapshot(&out);
    let r = Run::of(
        sb.cmd(READ)
            .args(["--format", "prometheus", "--output"])
            .arg(out.join("mosaic-agents.prom")),
        &sb,
    );
    r.expect(3)
        .one_error_line("hb-read: error: unable to rename ");
    let err = r.stderr();
    let temp = err
        .split("unable to rename ")
        .nth(1)
        .and_then(|s| s.split(" into ").next())
        .unwrap_or_else(|| panic!("no temporary named in {err:?}"));
    let temp_name = Path::new(temp).file_name().unwrap().to_str().unwrap();
    assert!(temp_name.starts_with(".mosaic-agents.prom."), "{temp_name}");
    assert!(!temp_name.ends_with(".prom"), "{temp_name} matches *.prom");
    assert_eq!(snapshot(&out), before, "the temporary was left behind");
}

#[test]
fn the_alert_rules_check_and_pass_their_tests() {
    for args in [
        &["check", "rules", "mosaic-agents.rules.yml"][..],
        &["test", "rules", "mosaic-agents.rules.test.yml"],
    ] {
        let out = Command::new(promtool())
            .args(args)
            .current_dir(rules_dir())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "promtool {args:?}: {}\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// A node_exporter child, killed and reaped however the test ends.
struct Exporter {
    child: Child,
    addr: SocketAddr,
    log: PathBuf,
}

impl Drop for Exporter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Exporter {
    /// node_exporter on 127.0.0.1 with a free port and only the textfile
    /// collector. A port taken between our probe and its bind makes it
    /// exit; then another port is tried.
    fn start(textfile_dir: &Path, log: PathBuf) -> Exporter {
        let bin = tool("prometheus-node-exporter", "prometheus-node-exporter");
        for _ in 0..5 {
            let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
            let child = Command::new(&bin)
                .arg(format!("--web.listen-address={addr}"))
                .arg("--collector.disable-defaults")
                .arg("--collector.textfile")
                .arg(format!(
                    "--collector.textfile.directory={}",
                    textfile_dir.display()
                ))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(fs::File::create(&log).unwrap())
                .spawn()
                .unwrap_or_else(|e| panic!("spawn {}: {e}", bin.display()));
            let mut ex = Exporter {
                child,
                addr,
                log: log.clone(),
            };
            let up = poll("node_exporter to listen", Duration::from_secs(10), || {
                if let Ok(Some(_)) = ex.child.try_wait() {
                    return Some(false);
                }
                ex.get("/metrics").map(|_| true)
            });
            if up {
                return ex;
            }
        }
        panic!(
            "node_exporter would not start; log:\n{}",
            fs::read_to_string(&log).unwrap_or_default()
        );
    }

    /// One HTTP/1.0 GET; the body of a 200 answer.
    fn get(&self, path: &str) -> Option<String> {
        let mut s = TcpStream::connect_timeout(&self.addr, Duration::from_secs(2)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
        s.write_all(format!("GET {path} HTTP/1.0\r\nHost: {}\r\n\r\n", self.addr).as_bytes())
            .ok()?;
        let mut resp = String::new();
        s.read_to_string(&mut resp).ok()?;
        let (head, body) = resp.split_once("\r\n\r\n")?;
        let status = head.lines().next()?.split(' ').nth(1)?;
        (status == "200").then(|| body.to_string())
    }

    fn scrape(&self) -> String {
        self.get("/metrics").unwrap_or_else(|| {
            panic!(
                "scrape failed; log:\n{}",
                fs::read_to_string(&self.log).unwrap_or_default()
            )
        })
    }
}

#[test]
fn node_exporter_serves_the_refreshed_file() {
    let sb = Sandbox::new("prom-node");
    mixed_fleet(&sb);
    let textfile = sb.root.join("textfile");
    fs::create_dir(&textfile).unwrap();
    let export = || {
        Run::of(
            sb.cmd(READ)
                .args(["--format", "prometheus", "--output"])
                .arg(textfile.join("mosaic-agents.prom")),
            &sb,
        )
        .expect(0);
    };
    export();
    let ex = Exporter::start(&textfile, sb.root.join("node_exporter.log"));

    let body = ex.scrape();
    has_line(&body, "node_textfile_scrape_error 0");
    for agent in [
        "w-busy",
        "w-idle",
        "w-stale",
        "w-dead",
        "w-exited",
        "w-invalid",
        "bad.name",
    ] {
        assert!(
            body.contains(&format!("mosaic_agent_healthy{{agent=\"{agent}\"}}")),
            "{agent} missing from the scrape:\n{body}"
        );
    }
    has_line(
        &body,
        r#"mosaic_agent_health{agent="w-dead",health="dead"} 1"#,
    );
    assert!(body.contains(r#"model="glm \"5.2\" \\ turbo""#), "{body}");
    assert!(body.contains("node_textfile_mtime_seconds{file="), "{body}");
    assert!(!body.contains("w-later"));

    // The timer's next run: a new agent appears in the next scrape.
    sb.run(
        WRITE,
        &["--pid", &std::process::id().to_string(), "w-later"],
    )
    .expect(0);
    export();
    let body = poll(
        "the refreshed file in a scrape",
        Duration::from_secs(10),
        || {
            let b = ex.scrape();
            b.contains(r#"mosaic_agent_healthy{agent="w-later"} 1"#)
                .then_some(b)
        },
    );
    has_line(&body, "node_textfile_scrape_error 0");
    has_line(&body, r#"mosaic_agent_fleet_agents{health="healthy"} 6"#);

    // node_exporter drops a malformed or repeated series with only a log
    // line to show for it: the log must have none.
    let log = fs::read_to_string(&ex.log).unwrap();
    assert!(
        !log.lines().any(|l| l.contains("level=error")),
        "node_exporter complained:\n{log}"
    );
}
