//! The Pi extension (`integrations/pi/`): type-checked with tsc against the
//! real `@earendil-works/pi-coding-agent` (0.79.9 and 1.6.0) from the npm registry, and its
//! handlers driven in a node test that checks the beats the real hb-write
//! leaves.
//!
//! Runs when node and npm are present; without them, or when the registry
//! cannot be reached, it prints a note and passes (the only test allowed to
//! skip). The npm install is cached in `target/tmp/pi-integration`, under a
//! lock, and redone only when `package.json` changes.

mod common;

use common::*;
use std::fs;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn skip(why: &str) {
    eprintln!("NOTE: skipping the Pi extension test: {why}");
}

fn on_path(name: &str) -> bool {
    Command::new(name)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Runs a command with a deadline, killing it when it passes.
fn run(c: &mut Command, limit: Duration) -> Output {
    let desc = format!("{c:?}");
    let mut child = c
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {desc}: {e}"));
    let end = Instant::now() + limit;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() >= end {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}\n{}{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Holds an exclusive lock on the cache while it lives.
struct Lock {
    _file: fs::File,
}

impl Lock {
    fn take(path: &Path) -> Lock {
        let f = fs::File::create(path).unwrap();
        // SAFETY: flock on a file we own; released when the file closes.
        assert_eq!(unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) }, 0);
        Lock { _file: f }
    }
}

fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let name = e.file_name();
        if name == "node_modules" || name == "dist" {
            continue;
        }
        let ty = e.file_type().unwrap();
        if ty.is_dir() {
            copy_tree(&e.path(), &to.join(&name));
        } else if ty.is_file() {
            fs::copy(e.path(), to.join(&name)).unwrap();
        }
    }
}

#[test]
fn the_pi_extension_type_checks_and_beats() {
    if !on_path("node") || !on_path("npm") {
        return skip("node or npm is not installed");
    }
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("integrations/pi");
    let work = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("pi-integration");
    fs::create_dir_all(&work).unwrap();
    let _lock = Lock::take(&work.join(".lock"));
    let _ = fs::remove_dir_all(work.join("test"));
    let _ = fs::remove_dir_all(work.join("dist"));
    copy_tree(&src, &work);

    let manifest = fs::read(src.join("package.json")).unwrap();
    let stamp = work.join(".installed-package.json");
    let tsc = work.join("node_modules/typescript/bin/tsc");
    let cached = fs::read(&stamp).is_ok_and(|s| s == manifest) && tsc.is_file();
    if !cached {
        let _ = fs::remove_file(&stamp);
        let o = run(
            Command::new("npm")
                .args([
                    "install",
                    "--no-audit",
                    "--no-fund",
                    "--ignore-scripts",
                    "--no-save",
                ])
                .current_dir(&work),
            Duration::from_secs(300),
        );
        if !o.status.success() {
            let ping = run(
                Command::new("npm").arg("ping").current_dir(&work),
                Duration::from_secs(30),
            );
            if !ping.status.success() {
                return skip(&format!(
                    "the npm registry cannot be reached:\n{}",
                    text(&ping)
                ));
            }
            panic!(
                "npm install failed with the registry reachable:\n{}",
                text(&o)
            );
        }
        fs::write(&stamp, &manifest).unwrap();
    }

    // The extension against the real ExtensionAPI; its output is what the
    // node test loads.
    let o = run(
        Command::new("node")
            .arg(&tsc)
            .args(["-p", "tsconfig.json"])
            .current_dir(&work),
        Duration::from_secs(120),
    );
    assert!(
        o.status.success(),
        "tsc on mosaic-heartbeat.ts:\n{}",
        text(&o)
    );

    // And against the latest Pi, whose types declare more events.
    let o = run(
        Command::new("node")
            .arg(&tsc)
            .args(["-p", "tsconfig.latest.json"])
            .current_dir(&work),
        Duration::from_secs(120),
    );
    assert!(
        o.status.success(),
        "tsc on mosaic-heartbeat.ts against the latest Pi:\n{}",
        text(&o)
    );

    // And the check has teeth: a handler that misreads the API fails it.
    let o = run(
        Command::new("node")
            .arg(&tsc)
            .args([
                "--noEmit",
                "--strict",
                "--skipLibCheck",
                "--module",
                "NodeNext",
                "--moduleResolution",
                "NodeNext",
                "--types",
                "node",
                "test/negative.ts",
            ])
            .current_dir(&work),
        Duration::from_secs(120),
    );
    let said = text(&o);
    assert!(
        !o.status.success() && said.contains("TS2322"),
        "tsc accepted test/negative.ts: the API is not being checked\n{said}"
    );

    let o = run(
        Command::new("node")
            .args(["--test", "test/"])
            .env("HB_WRITE", WRITE)
            .env_remove("MOSAIC_AGENT_NAME")
            .env_remove("MOSAIC_HEARTBEAT_DIR")
            .env_remove("MOSAIC_HEARTBEAT_INTERVAL")
            .current_dir(&work),
        Duration::from_secs(60),
    );
    assert!(o.status.success(), "node --test:\n{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("# pass 6") && out.contains("# fail 0"),
        "{out}"
    );
}
