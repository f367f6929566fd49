//! `start-agent-session.sh --titles vibe` against a real tmux pane: the
//! agent is a script that prints Mistral Vibe's tab status (OSC 7501) and
//! hostile titles when a key is sent to it, and the beat follows what the
//! terminal says (busy, waiting, ok) for the pane's pid; the values the
//! launcher handles are hostile (a heartbeat directory and a TMPDIR with
//! `;`, `#(...)`, `#{...}`, spaces), a canary proves nothing ran; the
//! watcher ends with the pane, and an operator's own `pipe-pane` takes the
//! pane over with one line in the log.

mod common;
use common::*;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const START: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/scripts/start-agent-session.sh"
);
const LONG: Duration = Duration::from_secs(20);

/// The agent: each Enter sent to its pane prints the next step.
const AGENT: &str = r#"
step() { IFS= read -r _ || exit 0; printf "$@"; }
step '\033]0;>> Vibe\007\033]7501;state=working:app=vibe:msg=VmliZQ==\033\\'
# Hostile: a title far past the bound that says "blocked" (skipped whole),
# tmux formats and a command substitution in titles, invalid UTF-8,
# escapes inside, one never ended but cancelled, a C1 OSC; then the dialog.
big=$(head -c 200000 /dev/zero | tr '\0' 'x')
step '\033]7501;state=blocked:%s\033\\\033]0;#(touch %s)#{pane_pid}$(touch %s)\007\033]2;\377\376\033[31m\007\033]0;x\030\233\2350;y\234\033]7501;state=blocked:kind=permission:app=vibe\033\\' "$big" "$CANARY" "$CANARY"
step '\033]0;Vibe\007\033]7501;state=idle:app=vibe\033\\'
step '\033]7501;state=working\007'
IFS= read -r _
"#;

struct Started {
    pane_pid: u32,
    titles_pid: u32,
    log: PathBuf,
}

fn start(sb: &Sandbox, tmux: &Tmux, dir: &Path, tmpdir: &Path, name: &str) -> Started {
    let agent = sb.root.join("agent.sh");
    fs::write(&agent, AGENT).unwrap();
    let bin = Path::new(WRITE).parent().unwrap();
    let o = Command::new(START)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &sb.root)
        .env("HB_BIN", bin)
        .env("TMUX_TMPDIR", &tmux.tmpdir)
        .env("TMPDIR", tmpdir)
        .env("CANARY", sb.root.join("canary"))
        .args(["-L", &tmux.socket, "--interval", "1", "--titles", "vibe"])
        .arg("--dir")
        .arg(dir)
        .args([name, "--", "bash"])
        .arg(&agent)
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(o.status.success(), "start: {o:?}");
    assert!(o.stderr.is_empty(), "start: {o:?}");
    let key = |k: &str| {
        out.lines()
            .find_map(|l| l.strip_prefix(&format!("{k}=")))
            .unwrap_or_else(|| panic!("no {k} in {out}"))
            .to_string()
    };
    Started {
        pane_pid: key("pane_pid").parse().unwrap(),
        titles_pid: key("titles_pid").parse().unwrap(),
        log: PathBuf::from(key("log")),
    }
}

/// `status=` and `pid=` of the beat, once its status is `want`.
#[track_caller]
fn wait_status(dir: &Path, name: &str, want: &str) -> std::collections::BTreeMap<String, String> {
    poll(&format!("status={want}"), LONG, || {
        let b = fields(&fs::read_to_string(dir.join(format!("{name}.hb"))).ok()?);
        (b.get("status").map(String::as_str) == Some(want)).then_some(b)
    })
}

fn gone(pid: u32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            s.rsplit_once(')')
                .is_some_and(|(_, r)| r.trim_start().starts_with(['Z', 'X']))
        })
        .unwrap_or(true)
}

#[test]
fn what_the_pane_says_becomes_the_beat_and_hostile_titles_cost_nothing() {
    let sb = Sandbox::new("titles");
    let tmux = Tmux::new(&sb, "titles");
    let canary = sb.root.join("canary");
    let dir = sb
        .root
        .join("hb;#(touch canary)#{pane_pid} $(touch canary)");
    let tmpdir = sb.root.join("tmp");
    fs::create_dir_all(&tmpdir).unwrap();
    let name = "vb-titles";
    let s = start(&sb, &tmux, &dir, &tmpdir, name);
    // The FIFO is gone once both ends are open.
    assert_eq!(fs::read_dir(&tmpdir).unwrap().count(), 0);
    let target = format!("={name}:");
    let key = || tmux.run(&["send-keys", "-t", &target, "Enter"]);
    let marker = dir.join(format!("{name}.hb.native"));

    key();
    let b = wait_status(&dir, name, "busy");
    assert_eq!(b["pid"], s.pane_pid.to_string());
    // A title is a native write: the marker follows the beat's rename.
    poll("the marker", LONG, || marker.exists().then_some(()));
    key();
    let b = wait_status(&dir, name, "waiting");
    assert_eq!(b["pid"], s.pane_pid.to_string());
    key();
    wait_status(&dir, name, "ok");
    key();
    wait_status(&dir, name, "busy");
    // The agent ends: the sidecar writes exited, the watcher ends with it.
    key();
    wait_status(&dir, name, "exited");
    poll("the watcher to end", LONG, || {
        gone(s.titles_pid).then_some(())
    });
    assert!(!canary.exists(), "a title ran a command");
    let log = fs::read_to_string(&s.log).unwrap();
    assert!(log.is_empty(), "the log: {log}");
}

#[test]
fn a_hostile_tmpdir_is_not_used_and_an_operators_pipe_takes_the_pane() {
    let sb = Sandbox::new("titles-pipe");
    let tmux = Tmux::new(&sb, "titles-pipe");
    let canary = sb.root.join("canary");
    let tmpdir = sb.root.join("tmp #(touch canary);");
    fs::create_dir_all(&tmpdir).unwrap();
    let name = "vb-pipe";
    let s = start(&sb, &tmux, &sb.dir, &tmpdir, name);
    assert_eq!(fs::read_dir(&tmpdir).unwrap().count(), 0);
    let target = format!("={name}:");
    tmux.run(&["send-keys", "-t", &target, "Enter"]);
    wait_status(&sb.dir, name, "busy");
    // The operator pipes the pane elsewhere: tmux closes ours.
    let theirs = sb.root.join("theirs");
    tmux.run(&[
        "pipe-pane",
        "-t",
        &target,
        &format!("cat >{}", theirs.display()),
    ]);
    poll("the watcher to stop", LONG, || {
        gone(s.titles_pid).then_some(())
    });
    let log = fs::read_to_string(&s.log).unwrap();
    assert!(
        log.contains("no longer read") && log.lines().count() == 1,
        "the log: {log}"
    );
    // The agent runs on, its output goes to the operator's pipe, and the
    // beat is the hooks' (here: none) and the sidecar's.
    tmux.run(&["send-keys", "-t", &target, "Enter"]);
    poll("the operator's pipe to get output", LONG, || {
        fs::metadata(&theirs)
            .is_ok_and(|m| m.len() > 200_000)
            .then_some(())
    });
    assert!(!gone(s.pane_pid));
    assert_eq!(
        wait_status(&sb.dir, name, "busy")["pid"],
        s.pane_pid.to_string()
    );
    assert!(!canary.exists(), "a value ran a command");
}
