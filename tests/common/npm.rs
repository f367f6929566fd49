//! The integrations written in TypeScript (`integrations/pi/`,
//! `integrations/opencode/`) are checked in node: each is copied into
//! `target/tmp/NAME-integration`, its `package.json` installed there from
//! the npm registry (the real runtime's API to type-check against,
//! typescript, @types/node), then tsc and `node --test` run in it.
//!
//! The install is cached per integration, under a lock, and redone only
//! when `package.json` changes. Without node or npm, or when the registry
//! cannot be reached, `prepare` prints a note and the test passes: the
//! only tests allowed to skip.

use std::fs;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// An integration copied into `target/tmp`, its packages installed; the
/// cache stays locked while this lives.
pub struct Prepared {
    work: PathBuf,
    _lock: fs::File,
}

impl Prepared {
    /// tsc from the installed typescript, with these arguments.
    pub fn tsc(&self, args: &[&str]) -> Output {
        run(
            Command::new("node")
                .arg(self.work.join("node_modules/typescript/bin/tsc"))
                .args(args)
                .current_dir(&self.work),
            Duration::from_secs(120),
        )
    }

    /// The project compiles with `tsconfig` (its output is what the node
    /// test loads).
    pub fn assert_compiles(&self, tsconfig: &str) {
        let o = self.tsc(&["-p", tsconfig]);
        assert!(o.status.success(), "tsc -p {tsconfig}:\n{}", text(&o));
    }

    /// The check has teeth: `test/negative.ts`, which misreads the
    /// runtime's API, must fail to type-check.
    pub fn assert_negative_fails(&self) {
        let o = self.tsc(&[
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
        ]);
        let said = text(&o);
        assert!(
            !o.status.success() && said.contains("TS2322"),
            "tsc accepted test/negative.ts: the API is not being checked\n{said}"
        );
    }

    /// `node --test test/` with the real hb-write as HB_WRITE, the
    /// `MOSAIC_*` variables cleared and these added; `pass` tests pass.
    pub fn assert_node_tests(&self, env: &[(&str, &Path)], pass: usize) {
        let o = run(
            Command::new("node")
                .args(["--test", "test/"])
                .env("HB_WRITE", super::WRITE)
                .env_remove("MOSAIC_AGENT_NAME")
                .env_remove("MOSAIC_HB_WRITE")
                .env_remove("MOSAIC_HEARTBEAT_DIR")
                .env_remove("MOSAIC_HEARTBEAT_INTERVAL")
                .envs(env.iter().copied())
                .current_dir(&self.work),
            Duration::from_secs(120),
        );
        assert!(o.status.success(), "node --test:\n{}", text(&o));
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(
            out.contains(&format!("# pass {pass}\n")) && out.contains("# fail 0"),
            "{out}"
        );
    }
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

/// Status, stdout and stderr, for a failure message.
fn text(o: &Output) -> String {
    format!(
        "{}\n{}{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
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

/// `integrations/NAME` in `target/tmp/NAME-integration`, installed; None
/// (with a note on stderr) when it cannot be checked here.
pub fn prepare(name: &str) -> Option<Prepared> {
    let skip = |why: &str| eprintln!("NOTE: skipping the {name} integration test: {why}");
    if !on_path("node") || !on_path("npm") {
        skip("node or npm is not installed");
        return None;
    }
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("integrations")
        .join(name);
    let work = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-integration"));
    fs::create_dir_all(&work).unwrap();
    let lock = fs::File::create(work.join(".lock")).unwrap();
    // SAFETY: flock on a file we own; released when the file closes.
    assert_eq!(unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) }, 0);
    let _ = fs::remove_dir_all(work.join("test"));
    let _ = fs::remove_dir_all(work.join("dist"));
    copy_tree(&src, &work);

    let manifest = fs::read(src.join("package.json")).unwrap();
    let stamp = work.join(".installed-package.json");
    let cached = fs::read(&stamp).is_ok_and(|s| s == manifest)
        && work.join("node_modules/typescript/bin/tsc").is_file();
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
                skip(&format!(
                    "the npm registry cannot be reached:\n{}",
                    text(&ping)
                ));
                return None;
            }
            panic!(
                "npm install failed with the registry reachable:\n{}",
                text(&o)
            );
        }
        fs::write(&stamp, &manifest).unwrap();
    }
    Some(Prepared { work, _lock: lock })
}
