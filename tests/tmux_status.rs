//! `hb-read --format tmux` in a real tmux client: a client of an inner
//! tmux server, attached inside a pane of an outer one, whose screen
//! (`capture-pane -e` of the outer pane) shows the inner client's status
//! line as tmux drew it: the counts in their colours, nothing from hb-read
//! when there are no agents, and no value of a beat ever taken by tmux as a
//! format (`#(...)` would run a command).

mod common;

use common::*;
use std::fs;
use std::path::Path;

/// The last line of the outer pane: the inner client's status line.
fn status_line(outer: &Tmux, escapes: bool) -> String {
    let shown = outer.capture("o", escapes);
    shown
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_default()
        .to_string()
}

#[test]
fn a_tmux_client_shows_the_fleet_in_its_status_line() {
    let sb = Sandbox::new("tmux-status");
    let me = std::process::id().to_string();
    sb.mkdir();
    // What reaches tmux's config must hold no quote or space.
    let safe = |p: &Path| {
        let s = p.to_str().unwrap().to_string();
        assert!(
            s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"/_-.".contains(&b)),
            "{s}"
        );
        s
    };
    let conf = sb.root.join("inner.conf");
    fs::write(
        &conf,
        format!(
            "set -g status-interval 1\n\
             set -g status-left ''\n\
             set -g status-right-length 120\n\
             set -g status-right '[#({} --dir {} --format tmux)]'\n",
            safe(Path::new(READ)),
            safe(&sb.dir)
        ),
    )
    .unwrap();
    let inner = Tmux::new(&sb, "inner");
    inner.run(&[
        "-f",
        conf.to_str().unwrap(),
        "new-session",
        "-d",
        "-s",
        "i",
        "-x",
        "120",
        "-y",
        "8",
    ]);
    inner.run(&["source-file", conf.to_str().unwrap()]);
    let outer = Tmux::new(&sb, "outer");
    outer.run(&[
        "new-session",
        "-d",
        "-s",
        "o",
        "-x",
        "120",
        "-y",
        "10",
        "--",
        "tmux",
        "-L",
        &inner.socket,
        "attach",
        "-t",
        "i",
    ]);
    // No agents: hb-read prints nothing, the brackets stay empty.
    outer.wait_for("o", "an empty status", |s| s.contains("[]"));

    // A hostile file name and a hostile model: neither may reach tmux as a
    // format (the command would create PWNED in the server's directory).
    let agent = agent();
    let pid = agent.pid().to_string();
    sb.run(WRITE, &["--pid", &me, "--status", "busy", "w-busy"])
        .expect(0);
    sb.run(WRITE, &["--pid", &me, "--status", "busy", "w-busy2"])
        .expect(0);
    sb.run(
        WRITE,
        &[
            "--pid",
            &pid,
            "--status",
            "waiting",
            "--model",
            "#(touch PWNED)#[fg=blue]",
            "w-wait",
        ],
    )
    .expect(0);
    sb.run(WRITE, &["--pid", "2147483647", "w-dead"]).expect(0);
    sb.run(WRITE, &["--pid", &me, "--status", "exited", "w-gone"])
        .expect(0);
    sb.put_atomic("w #(touch PWNED) #[fg=blue].hb", b"junk");
    let plain = outer.wait_for("o", "the fleet in the status line", |s| {
        s.lines().any(|l| {
            l.contains("[ 1 waiting w-wait ")
                && l.contains("s   1 dead   1 invalid  2 busy 1 exited]")
        })
    });
    assert!(!plain.contains("PWNED"), "{plain}");
    // Badges: black on yellow, white on red; busy bold, exited dim: the
    // SGR codes tmux wrote since its last reset before each text.
    let line = status_line(&outer, true);
    for (want, text) in [
        (&["30", "43", "1"][..], " 1 waiting w-wait"),
        (&["37", "41", "1"], " 1 dead "),
        (&["37", "41"], " 1 invalid "),
        (&["1"], "2 busy"),
        (&["2"], "1 exited"),
    ] {
        let at = line
            .find(text)
            .unwrap_or_else(|| panic!("no {text:?} in {line:?}"));
        let before = &line[..at];
        let since_reset = &before[before.rfind("\x1b[0m").map_or(0, |i| i + 4)..];
        let codes: Vec<&str> = since_reset
            .split("\x1b[")
            .filter_map(|c| c.strip_suffix('m'))
            .flat_map(|c| c.split(';'))
            .collect();
        for w in want {
            assert!(
                codes.contains(w),
                "{text:?} lacks SGR {w} ({codes:?}): {line:?}"
            );
        }
    }
    for dir in [
        sb.root.as_path(),
        Path::new(env!("CARGO_MANIFEST_DIR")),
        Path::new("/"),
    ] {
        assert!(
            !dir.join("PWNED").exists(),
            "tmux ran a value in {}",
            dir.display()
        );
    }
    // Back to no agents: nothing again.
    for n in ["w-busy", "w-busy2", "w-wait", "w-dead", "w-gone"] {
        sb.run(WRITE, &["--remove", n]).expect(0);
    }
    fs::remove_file(sb.path("w #(touch PWNED) #[fg=blue].hb")).unwrap();
    outer.wait_for("o", "an empty status again", |s| s.contains("[]"));
    drop(agent);
}
