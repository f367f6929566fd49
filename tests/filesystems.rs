//! Real filesystems and hostile files: a full tmpfs (no data pages, then no
//! inodes), a read-only remount, symlinks planted at the beat, the marker,
//! the `--output` file and a temporary's name, FIFOs, sockets and
//! directories named like beats and markers, and permissions seen by an
//! unprivileged user (via `setpriv`).
//!
//! Mounting and changing user need root; without it those tests print a
//! SKIP line and pass. Every run is bounded: a binary that blocks on a FIFO
//! fails the test instead of hanging it.

mod common;

use common::*;
use hb::beat::Beat;
use std::fs;
use std::io::Write;
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const PAYLOAD: &[u8] = br#"{"hook_event_name":"UserPromptSubmit","prompt":"hi"}"#;

fn is_root() -> bool {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() == 0 }
}

fn need_root(what: &str) -> bool {
    if !is_root() {
        eprintln!("SKIP: {what} needs root (mount, setpriv); run the tests as root");
    }
    is_root()
}

/// Runs a command, failing the test if it has not exited within 10 s (a
/// binary that opened a FIFO would wait forever).
fn bounded(sb: &Sandbox, c: &mut Command) -> Run {
    let desc = format!("{c:?}");
    let mut child = c
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {desc}: {e}"));
    let end = Instant::now() + Duration::from_secs(10);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > end {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{desc} blocked for 10 s\n{}", listing(&sb.dir));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let out = child.wait_with_output().unwrap();
    Run {
        desc,
        out,
        dir: sb.dir.clone(),
    }
}

fn run(sb: &Sandbox, bin: &str, args: &[&str]) -> Run {
    bounded(sb, sb.cmd(bin).args(args))
}

/// A file holding `payload`, beside the sandbox so snapshots ignore it.
fn payload_file(sb: &Sandbox) -> fs::File {
    let input = sb.root.with_extension("payload");
    fs::write(&input, PAYLOAD).unwrap();
    let f = fs::File::open(&input).unwrap();
    fs::remove_file(&input).unwrap();
    f
}

fn hook(sb: &Sandbox, name: &str, prefix: &[&str]) -> Run {
    let mut c = Command::new(prefix[0]);
    c.args(&prefix[1..]).arg(WRITE);
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy().into_owned();
        if k.starts_with("MOSAIC_") || k.starts_with("XDG_") {
            c.env_remove(k);
        }
    }
    c.arg("--dir").arg(&sb.dir).args(["--hook", "claude"]);
    c.env("MOSAIC_AGENT_NAME", name).stdin(payload_file(sb));
    bounded(sb, &mut c)
}

/// Asserts a hook run disturbed nothing: exit 0, no stdout, one line.
#[track_caller]
fn quiet_hook(r: &Run) {
    r.expect(0);
    assert!(r.stdout().is_empty(), "{}", r.explain());
    r.one_error_line("hb-write: hook: ");
}

/// A tmpfs mounted on `at` for the life of the value.
struct Mount(PathBuf);

impl Mount {
    fn tmpfs(at: &Path, opts: &str) -> Option<Mount> {
        fs::create_dir_all(at).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", opts, "tmpfs"])
            .arg(at)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            eprintln!("SKIP: cannot mount a tmpfs on {}", at.display());
            return None;
        }
        Some(Mount(at.to_path_buf()))
    }

    fn remount(&self, opts: &str) {
        let st = Command::new("mount")
            .args(["-o", &format!("remount,{opts}")])
            .arg(&self.0)
            .status()
            .unwrap();
        assert!(st.success(), "remount {opts} failed");
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Fills the filesystem holding `dir` until it refuses, with data or with
/// empty files (inodes).
fn fill(dir: &Path, inodes: bool) {
    if inodes {
        for i in 0.. {
            if fs::File::create(dir.join(format!("filler-{i}"))).is_err() {
                return;
            }
        }
    } else {
        let mut f = fs::File::create(dir.join("filler")).unwrap();
        let chunk = [0u8; 4096];
        while f.write_all(&chunk).is_ok() {}
    }
}

/// The snapshot of everything under `dir` but directories (whose mtime a
/// created and removed temporary changes, rightly).
fn files(dir: &Path) -> std::collections::BTreeMap<PathBuf, String> {
    let mut s = snapshot_but_locks(dir);
    s.retain(|_, v| !v.starts_with("mode=40"));
    s
}

#[track_caller]
fn fails_with(r: &Run, prog: &str, why: &str, path: &Path) {
    r.expect(3)
        .one_error_line(&format!("{prog}: error: unable to "));
    let err = r.stderr();
    assert!(
        err.contains(why) && err.contains(path.to_str().unwrap()),
        "the error line must name {} and say {why:?}\n{}",
        path.display(),
        r.explain()
    );
}

#[test]
fn a_full_tmpfs_fails_cleanly_keeps_the_old_beat_and_recovers() {
    if !need_root("a full tmpfs") {
        return;
    }
    for (opts, inodes) in [("size=64k", false), ("size=1m,nr_inodes=16", true)] {
        let sb = Sandbox::new("full");
        let Some(_m) = Mount::tmpfs(&sb.dir, opts) else {
            return;
        };
        run(&sb, WRITE, &["--native", "--model", "old", "w1"]).expect(0);
        fs::create_dir(sb.path("out")).unwrap();
        fs::write(sb.path("out/m.prom"), b"# old\n").unwrap();
        fill(&sb.dir, inodes);
        let before = files(&sb.dir);
        for args in [
            &["--model", "new", "w1"][..],
            &["--native", "--status", "busy", "w1"],
            &["--fallback", "--pid", "1", "w2"],
        ] {
            let r = run(&sb, WRITE, args);
            fails_with(&r, "hb-write", "No space left on device", &sb.dir);
            assert!(files(&sb.dir) == before, "changed\n{}", r.explain());
            assert!(temporaries(&sb.dir).is_empty(), "{}", r.explain());
        }
        let out = sb.path("out/m.prom");
        let r = run(
            &sb,
            READ,
            &["--format", "prometheus", "--output", out.to_str().unwrap()],
        );
        fails_with(&r, "hb-read", "No space left on device", &sb.path("out"));
        quiet_hook(&hook(&sb, "w1", &["env"]));
        let after = files(&sb.dir);
        let changed: Vec<_> = after
            .iter()
            .filter(|(k, v)| before.get(*k) != Some(v))
            .collect();
        assert!(
            changed.is_empty(),
            "a failed write changed files: {changed:#?}"
        );
        // Reading a full filesystem works; the old beat is still whole.
        let r = run(&sb, READ, &["--json", "w1"]);
        r.expect(0);
        assert!(r.stdout().contains("\"model\":\"old\""), "{}", r.explain());
        // Space comes back: the next beat repairs everything.
        for e in fs::read_dir(&sb.dir).unwrap().flatten() {
            if e.file_name().to_string_lossy().starts_with("filler") {
                fs::remove_file(e.path()).unwrap();
            }
        }
        run(&sb, WRITE, &["--model", "new", "w1"]).expect(0);
        assert!(sb.read("w1.hb").contains("model=new"));
    }
}

#[test]
fn a_read_only_filesystem_fails_writes_cleanly_and_still_reads() {
    if !need_root("a read-only remount") {
        return;
    }
    let sb = Sandbox::new("ro");
    let Some(m) = Mount::tmpfs(&sb.dir, "size=1m") else {
        return;
    };
    run(
        &sb,
        WRITE,
        &["--native", "--status", "busy", "--model", "m", "w1"],
    )
    .expect(0);
    fs::create_dir(sb.path("out")).unwrap();
    fs::write(sb.path("out/m.prom"), b"# old\n").unwrap();
    m.remount("ro");
    let before = snapshot(&sb.dir);
    for args in [
        &["w1"][..],
        &["--native", "w1"],
        &["--fallback", "--pid", "1", "w2"],
        &["--clear-native", "w1"],
        &["--remove", "w1"],
    ] {
        let r = run(&sb, WRITE, args);
        fails_with(&r, "hb-write", "Read-only file system", &sb.dir);
    }
    let out = sb.path("out/m.prom");
    let r = run(
        &sb,
        READ,
        &["--format", "prometheus", "--output", out.to_str().unwrap()],
    );
    fails_with(&r, "hb-read", "Read-only file system", &sb.path("out"));
    quiet_hook(&hook(&sb, "w1", &["env"]));
    assert!(
        snapshot(&sb.dir) == before,
        "a write changed a read-only directory"
    );
    assert!(temporaries(&sb.dir).is_empty());

    // Reading needs nothing written.
    let r = run(&sb, READ, &["--json"]);
    r.expect(0);
    let s = r.stdout();
    assert!(
        s.contains("\"name\":\"w1\",\"health\":\"healthy\",\"native\":true"),
        "{}",
        r.explain()
    );
    run(&sb, READ, &["--check", "w1"]).expect(0);
    run(&sb, DEFER, &["w1"]).expect(0);
    run(&sb, DEFER, &["w2"]).expect(1);
}

/// A file outside the heartbeat directory that no write may touch.
fn victim(sb: &Sandbox, name: &str) -> PathBuf {
    let dir = sb.root.join("outside");
    fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    fs::write(&p, b"precious\n").unwrap();
    p
}

#[test]
fn symlinks_never_lead_a_write_outside_the_directory() {
    let sb = Sandbox::new("symlinks");
    sb.mkdir();
    let outside = sb.root.join("outside");
    let beat_victim = victim(&sb, "beat");
    let marker_victim = victim(&sb, "marker");
    let out_victim = victim(&sb, "export");
    let temp_victim = victim(&sb, "temp");
    symlink(&beat_victim, sb.path("w1.hb")).unwrap();
    symlink(&marker_victim, sb.path("w1.hb.native")).unwrap();
    symlink(outside.join("created-beat"), sb.path("w2.hb")).unwrap();
    symlink(outside.join("created-marker"), sb.path("w2.hb.native")).unwrap();
    symlink(&temp_victim, sb.path(".w1.hb.2147483647.AAAAAAAA")).unwrap();
    let out = sb.root.join("m.prom");
    symlink(&out_victim, &out).unwrap();
    // Let a changed mtime show even on a coarse clock.
    std::thread::sleep(Duration::from_millis(20));
    let outside_before = snapshot(&outside);

    // The reader never follows a link: both rows are invalid, the marker
    // is not fresh however fresh its target is.
    let r = run(&sb, READ, &["--json"]);
    r.expect(0);
    assert!(r.stdout().contains("a symlink"), "{}", r.explain());
    assert!(!r.stdout().contains("\"native\":true"), "{}", r.explain());
    run(&sb, DEFER, &["w1"]).expect(1);

    // A beat replaces the link itself; a marker link refuses the write
    // after the beat is committed (exit 3, valid beat).
    run(&sb, WRITE, &["w1"]).expect(0);
    let r = run(&sb, WRITE, &["--native", "--model", "m", "w1"]);
    r.expect(3)
        .one_error_line("hb-write: error: unable to refresh marker");
    let r = run(&sb, WRITE, &["--native", "w2"]);
    r.expect(3);
    run(&sb, WRITE, &["--fallback", "--pid", "1", "w2"]).expect(0);
    for n in ["w1.hb", "w2.hb"] {
        let m = fs::symlink_metadata(sb.path(n)).unwrap();
        assert!(m.file_type().is_file(), "{n} is still a link");
        Beat::parse(&fs::read(sb.path(n)).unwrap()).unwrap();
    }
    quiet_hook(&hook(&sb, "w1", &["env"]));
    let r = run(
        &sb,
        READ,
        &["--format", "prometheus", "--output", out.to_str().unwrap()],
    );
    r.expect(0);
    assert!(fs::symlink_metadata(&out).unwrap().file_type().is_file());
    // The sweep removes a stale temporary that is a link, not its target;
    // clearing a marker link removes the link.
    run(&sb, WRITE, &["--clear-native", "w1"]).expect(0);
    run(&sb, WRITE, &["--remove", "w2"]).expect(0);
    run(&sb, WRITE, &["--remove", "w1"]).expect(0);
    assert!(
        fs::read_dir(&sb.dir).unwrap().next().is_none(),
        "links left\n{}",
        listing(&sb.dir)
    );
    assert!(
        snapshot(&outside) == outside_before,
        "a write went through a link: {:#?}",
        snapshot(&outside)
    );
}

fn mkfifo(p: &Path) {
    let c = std::ffi::CString::new(p.to_str().unwrap()).unwrap();
    // SAFETY: a valid C string.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0, "mkfifo");
}

#[test]
fn fifos_sockets_and_directories_named_like_beats_never_block() {
    let sb = Sandbox::new("special");
    sb.mkdir();
    mkfifo(&sb.path("f1.hb"));
    mkfifo(&sb.path("f1.hb.native"));
    let _beat_socket = UnixListener::bind(sb.path("s1.hb")).unwrap();
    let _marker_socket = UnixListener::bind(sb.path("s1.hb.native")).unwrap();
    fs::create_dir(sb.path("d1.hb")).unwrap();
    fs::create_dir(sb.path("d1.hb.native")).unwrap();
    let out = sb.root.join("m.prom");
    mkfifo(&out);

    let r = run(&sb, READ, &["--json"]);
    r.expect(0);
    for (name, kind) in [("d1", "a directory"), ("f1", "a FIFO"), ("s1", "a socket")] {
        let want = format!(
            "\"name\":\"{name}\",\"health\":\"invalid\",\"native\":false,\"src\":\"sidecar\",\"error\":\"{kind}"
        );
        assert!(r.stdout().contains(&want), "{want}\n{}", r.explain());
    }
    run(&sb, READ, &["f1", "s1", "d1"]).expect(0);
    run(&sb, READ, &["--check", "f1"]).expect(1);
    for name in ["f1", "s1", "d1"] {
        run(&sb, DEFER, &["-v", name]).expect(1);
        quiet_hook(&hook(&sb, name, &["env"]));
        // The marker is not a regular file: the fallback writes (replacing
        // a FIFO or socket beat; a directory cannot be replaced).
        let r = run(&sb, WRITE, &["--fallback", "--pid", "1", name]);
        if name == "d1" {
            fails_with(&r, "hb-write", "Is a directory", &sb.dir);
        } else {
            r.expect(0);
        }
        let r = run(&sb, WRITE, &["--native", name]);
        r.expect(3);
    }
    let r = run(&sb, WRITE, &["--clear-native", "d1"]);
    fails_with(&r, "hb-write", "Is a directory", &sb.dir);
    let r = run(&sb, WRITE, &["--remove", "d1"]);
    fails_with(&r, "hb-write", "Is a directory", &sb.dir);
    assert!(sb.path("d1.hb").is_dir() && sb.path("d1.hb.native").is_dir());
    run(&sb, WRITE, &["--clear-native", "f1"]).expect(0);
    run(&sb, WRITE, &["--clear-native", "s1"]).expect(0);
    let r = run(&sb, READ, &["--output", out.to_str().unwrap()]);
    r.expect(0);
    assert!(fs::symlink_metadata(&out).unwrap().file_type().is_file());
    assert!(temporaries(&sb.dir).is_empty(), "{}", listing(&sb.dir));
}

/// `setpriv` as nobody, or None (with a SKIP line) when we cannot.
fn as_nobody() -> Option<[&'static str; 4]> {
    if !need_root("running as an unprivileged user") {
        return None;
    }
    let ok = Command::new("setpriv")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("SKIP: setpriv (util-linux) is not installed");
        return None;
    }
    Some([
        "setpriv",
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
    ])
}

fn nobody(sb: &Sandbox, prefix: &[&str], bin: &str, args: &[&str]) -> Run {
    let mut c = bare(prefix[0]);
    c.args(&prefix[1..])
        .arg(bin)
        .arg("--dir")
        .arg(&sb.dir)
        .args(args);
    bounded(sb, &mut c)
}

#[test]
fn permissions_as_an_unprivileged_user() {
    let Some(who) = as_nobody() else { return };
    let sb = Sandbox::new("perms");
    run(&sb, WRITE, &["--native", "--model", "m", "w1"]).expect(0);
    run(&sb, WRITE, &["w2"]).expect(0);
    fs::set_permissions(sb.path("w2.hb"), fs::Permissions::from_mode(0o600)).unwrap();
    let before = sb.snapshot();

    // An unreadable beat is an invalid row, not an error.
    let r = nobody(&sb, &who, READ, &["--json"]);
    r.expect(0);
    let want = "\"name\":\"w2\",\"health\":\"invalid\",\"native\":false,\"src\":\"sidecar\",\"error\":\"unable to open: Permission denied\"";
    assert!(r.stdout().contains(want), "{}", r.explain());
    assert!(
        r.stdout()
            .contains("\"name\":\"w1\",\"health\":\"healthy\""),
        "{}",
        r.explain()
    );
    nobody(&sb, &who, READ, &["--check"]).expect(1);
    nobody(&sb, &who, DEFER, &["w1"]).expect(0);

    // An unwritable directory is exit 3, and nothing changes.
    for args in [
        &["w3"][..],
        &["--native", "w1"],
        &["--fallback", "--pid", "1", "w2"],
        &["--clear-native", "w1"],
    ] {
        let r = nobody(&sb, &who, WRITE, args);
        fails_with(&r, "hb-write", "Permission denied", &sb.dir);
    }
    let out = sb.path("m.prom");
    let r = nobody(&sb, &who, READ, &["--output", out.to_str().unwrap()]);
    fails_with(&r, "hb-read", "Permission denied", &sb.dir);
    quiet_hook(&hook(&sb, "w1", &who));
    assert!(
        sb.snapshot() == before,
        "an unprivileged write changed files"
    );

    // A directory nobody may list is a system error for a full listing.
    fs::set_permissions(&sb.dir, fs::Permissions::from_mode(0o700)).unwrap();
    let r = nobody(&sb, &who, READ, &[]);
    fails_with(&r, "hb-read", "Permission denied", &sb.dir);
    fs::set_permissions(&sb.dir, fs::Permissions::from_mode(0o755)).unwrap();
    assert_eq!(
        fs::metadata(sb.path("w1.hb")).unwrap().mode() & 0o777,
        0o644
    );
}
