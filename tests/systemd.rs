//! The systemd units: `make install` puts them under
//! `$(PREFIX)/lib/systemd/system` with the binary paths filled in,
//! `systemd-analyze verify` accepts them as installed, their commands work,
//! and `make uninstall` takes them away again.
//!
//! The test installs the debug binaries it was built with (`BINSRC`) and
//! skips the release build (`CARGO=true`), so it stays quick. CI installs
//! systemd; a missing `systemd-analyze` fails the test and says so.

mod common;

use common::*;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

const UNITS: [&str; 4] = [
    "mosaic-hb-fallback@.service",
    "mosaic-hb-fallback@.timer",
    "mosaic-hb-export.service",
    "mosaic-hb-export.timer",
];

fn make(target: &str, prefix: &Path) -> std::process::Output {
    let bins = Path::new(WRITE).parent().unwrap();
    let mut c = Command::new("make");
    c.current_dir(env!("CARGO_MANIFEST_DIR"))
        .arg("--no-print-directory")
        .arg(target)
        .arg("CARGO=true")
        .arg(format!("BINSRC={}", bins.display()))
        .arg(format!("PREFIX={}", prefix.display()));
    // A parent make's flags (jobserver fds) must not leak into this one.
    for v in ["MAKEFLAGS", "MFLAGS", "MAKELEVEL"] {
        c.env_remove(v);
    }
    let out = c.output().unwrap_or_else(|e| panic!("make: {e}"));
    assert!(
        out.status.success(),
        "make {target}: {}\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn systemd_analyze() -> PathBuf {
    ["/usr/bin/systemd-analyze", "/bin/systemd-analyze"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "required tool `systemd-analyze` is missing: install the Debian package `systemd`"
            )
        })
}

/// The `ExecStart=` of a unit file, split into words.
fn exec_start(unit: &str) -> Vec<String> {
    unit.lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .expect("ExecStart=")
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

#[test]
fn installed_units_verify_and_run() {
    let sb = Sandbox::new("systemd");
    let prefix = sb.root.join("prefix");
    make("install", &prefix);
    let unit_dir = prefix.join("lib/systemd/system");

    for u in UNITS {
        let p = unit_dir.join(u);
        let text = fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        assert!(!text.contains("@BINDIR@"), "{u}: placeholder left");
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o644,
            "{u}"
        );
        if u.ends_with(".service") {
            let bin = PathBuf::from(&exec_start(&text)[0]);
            assert_eq!(bin.parent(), Some(prefix.join("bin").as_path()), "{u}");
            assert!(bin.is_file(), "{u}: {} not installed", bin.display());
        }
    }

    // Templates are verified through an instance, as systemd loads them.
    for ext in ["service", "timer"] {
        std::os::unix::fs::symlink(
            format!("mosaic-hb-fallback@.{ext}"),
            unit_dir.join(format!("mosaic-hb-fallback@w-unit.{ext}")),
        )
        .unwrap();
    }
    let files: Vec<PathBuf> = [
        "mosaic-hb-fallback@w-unit.service",
        "mosaic-hb-fallback@w-unit.timer",
        "mosaic-hb-export.service",
        "mosaic-hb-export.timer",
    ]
    .iter()
    .map(|u| unit_dir.join(u))
    .collect();
    let out = Command::new(systemd_analyze())
        .arg("verify")
        .args(&files)
        .env("SYSTEMD_LOG_COLOR", "0")
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // Complaints about the host's own units are not ours; any about ours are.
    let ours: Vec<&str> = said.lines().filter(|l| l.contains("mosaic-hb")).collect();
    assert!(
        out.status.success() && ours.is_empty(),
        "systemd-analyze verify: {}\n{said}",
        out.status
    );

    // The commands as systemd would run them (%i and the environment
    // filled in) write a fallback beat and the export.
    let unit = |u: &str| fs::read_to_string(unit_dir.join(u)).unwrap();
    let argv: Vec<String> = exec_start(&unit("mosaic-hb-fallback@.service"))
        .into_iter()
        .filter(|w| w != "$MOSAIC_HB_FALLBACK_ARGS")
        .map(|w| w.replace("%i", "w-unit"))
        .collect();
    let fallback = || {
        let mut c = bare(&argv[0]);
        c.args(&argv[1..]).env("MOSAIC_HEARTBEAT_DIR", &sb.dir);
        Run::of(&mut c, &sb)
    };
    // No beat yet: a timer has no agent of its own, so it must be told the
    // pid (exit 2, nothing written), never guess pid 1, its parent.
    fallback()
        .expect(2)
        .one_error_line("hb-write: error: no valid beat");
    assert!(!sb.path("w-unit.hb").exists());
    // Once the agent's sidecar or runtime wrote a beat, the unit keeps
    // that beat's pid, and says exited when that process is gone.
    let mut agent = Command::new("sleep").arg("600").spawn().unwrap();
    let pid = agent.id().to_string();
    sb.run(WRITE, &["--pid", &pid, "w-unit"]).expect(0);
    fallback().expect(0);
    let f = fields(&sb.read("w-unit.hb"));
    assert_eq!((f["status"].as_str(), f["pid"].as_str()), ("ok", &*pid));
    agent.kill().unwrap();
    agent.wait().unwrap();
    fallback().expect(0);
    let f = fields(&sb.read("w-unit.hb"));
    assert_eq!((f["status"].as_str(), f["pid"].as_str()), ("exited", &*pid));
    agent = Command::new("sleep").arg("600").spawn().unwrap();
    let pid = agent.id().to_string();
    sb.run(WRITE, &["--pid", &pid, "w-unit"]).expect(0);

    let prom = sb.root.join("mosaic-agents.prom");
    let argv: Vec<String> = exec_start(&unit("mosaic-hb-export.service"))
        .into_iter()
        .map(|w| w.replace("${MOSAIC_HB_PROM_FILE}", prom.to_str().unwrap()))
        .collect();
    let mut c = bare(&argv[0]);
    c.args(&argv[1..]).env("MOSAIC_HEARTBEAT_DIR", &sb.dir);
    Run::of(&mut c, &sb).expect(0);
    let text = fs::read_to_string(&prom).unwrap();
    assert!(
        text.lines()
            .any(|l| l == r#"mosaic_agent_healthy{agent="w-unit"} 1"#),
        "{text}"
    );

    agent.kill().unwrap();
    agent.wait().unwrap();
    make("uninstall", &prefix);
    for u in UNITS {
        assert!(!unit_dir.join(u).exists(), "{u} left after uninstall");
    }
    assert!(!prefix.join("bin/hb-write").exists());
}
