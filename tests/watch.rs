//! `hb-read --watch` in a real terminal: a tmux pane on a private server.
//! The table appears on the alternate screen, in colour, follows a beat's
//! change within a second or so, fits a narrower terminal, and `q`,
//! Ctrl-C or SIGTERM give the pane back showing what it showed before.

mod common;

use common::*;
use std::time::Duration;

/// A pane running bash, with the binaries and the directory in its
/// environment; it shows a mark first, which must be there again after.
fn pane(sb: &Sandbox, tag: &str) -> Tmux {
    let t = Tmux::new(sb, tag);
    t.run(&[
        "new-session",
        "-d",
        "-s",
        "w",
        "-x",
        "100",
        "-y",
        "16",
        "-e",
        &format!("HB_READ={READ}"),
        "-e",
        &format!("HB_DIR={}", sb.dir.display()),
        "--",
        "bash",
        "--norc",
        "--noprofile",
    ]);
    t.run(&["send-keys", "-t", "w", "clear; echo BEFORE-MARK", "Enter"]);
    t.wait_for("w", "the mark", |s| s.lines().any(|l| l == "BEFORE-MARK"));
    t
}

/// Types the command that starts the view into the pane's shell.
fn launch(t: &Tmux) {
    let line = "\"$HB_READ\" --dir \"$HB_DIR\" --watch";
    t.run(&["send-keys", "-t", "w", line, "Enter"]);
}

fn start_watch(t: &Tmux) -> String {
    launch(t);
    t.wait_for("w", "the table", |s| {
        s.lines()
            .any(|l| l.starts_with("NAME ") && l.contains("HEALTH"))
    })
}

fn alternate(t: &Tmux) -> String {
    t.run(&["display-message", "-p", "-t", "w", "#{alternate_on}"])
        .trim()
        .to_string()
}

/// The pane is back: the mark shows, the table does not, and the
/// alternate screen is off.
#[track_caller]
fn given_back(t: &Tmux) {
    let shown = t.wait_for("w", "the shell again", |s| {
        s.lines().any(|l| l == "BEFORE-MARK") && !s.contains("HEALTH")
    });
    assert_eq!(alternate(t), "0", "{shown}");
    assert_eq!(
        t.run(&["display-message", "-p", "-t", "w", "#{cursor_flag}"])
            .trim(),
        "1",
        "the cursor is still hidden"
    );
}

#[test]
fn the_table_lives_on_the_alternate_screen_and_q_gives_the_pane_back() {
    let sb = Sandbox::new("watch");
    let me = std::process::id().to_string();
    let model = "a-model-name-far-too-long-to-fit-in-a-narrow-terminal-at-all-xyz";
    sb.run(
        WRITE,
        &["--pid", &me, "--status", "busy", "--model", model, "w-1"],
    )
    .expect(0);
    sb.run(WRITE, &["--pid", "2147483647", "w-dead"]).expect(0);
    // Values that would drive the terminal (a pane title, a clear, a
    // clipboard write) in a model and in an odd file's name: shown
    // escaped, never acted on.
    let hostile = "\x1b]2;PWNED\x07\x1b[2J\x1b]52;c;UFdORUQ=\x07";
    sb.put_atomic(
        "w-evil.hb",
        format!("ts={}\npid={me}\nstatus=ok\nmodel={hostile}\n", now()).as_bytes(),
    );
    sb.put_atomic("w-\x1b]2;PWNED\x07.hb", b"junk");
    let t = pane(&sb, "hbw");
    let shown = start_watch(&t);
    assert_eq!(alternate(&t), "1", "{shown}");
    assert!(shown.contains("\\x1b]2;PWNED\\x07"), "{shown}");
    let title = t.run(&["display-message", "-p", "-t", "w", "#{pane_title}"]);
    assert!(
        !title.contains("PWNED"),
        "the pane's title was set: {title}"
    );
    let header = shown.lines().next().unwrap();
    assert!(
        header.starts_with("4 agents  2 healthy  1 dead  1 invalid  ")
            && header.contains(&*sb.dir.to_string_lossy()),
        "{shown}"
    );
    // The table is fitted to 100 columns: the model is cut, and every
    // other column is whole, the last one to its last character.
    assert!(
        shown.contains(&model[..20]) && !shown.contains(model),
        "{shown}"
    );
    for l in shown
        .lines()
        .filter(|l| l.starts_with("w-1 ") || l.starts_with("w-dead "))
    {
        assert!(l.ends_with(" sidecar") && l.chars().count() <= 100, "{l:?}");
    }
    // Colour, as the table has it.
    let coloured = t.capture("w", true);
    assert!(coloured.contains("\x1b[32mhealthy"), "{coloured:?}");
    assert!(coloured.contains("\x1b[31mdead"), "{coloured:?}");

    // A change shows (on the next frame: within a second or so).
    sb.run(
        WRITE,
        &["--pid", &me, "--status", "waiting", "--model", model, "w-1"],
    )
    .expect(0);
    let shown = t.wait_for("w", "w-1 waiting", |s| {
        s.lines()
            .any(|l| l.starts_with("w-1 ") && l.contains(" waiting "))
    });
    assert!(
        shown.lines().next().unwrap().contains("1 waiting"),
        "{shown}"
    );

    // Narrower: cut, never wrapped; the model ends in an ellipsis.
    t.run(&["resize-window", "-t", "w", "-x", "60"]);
    // (The MODEL column at its narrowest, 8: a frame drawn for 60.)
    let shown = t.wait_for("w", "the narrow table", |s| s.contains(" a-model… "));
    for l in shown.lines() {
        assert!(l.chars().count() <= 60, "{l:?} in\n{shown}");
    }
    assert!(shown.lines().any(|l| l.starts_with("w-dead ")), "{shown}");

    t.run(&["send-keys", "-t", "w", "q"]);
    given_back(&t);
}

#[test]
fn sigterm_and_ctrl_c_give_the_pane_back_too() {
    let sb = Sandbox::new("watch-term");
    sb.run(WRITE, &["--pid", &std::process::id().to_string(), "w-1"])
        .expect(0);
    let t = pane(&sb, "hbt");
    start_watch(&t);
    // The pane's shell runs hb-read as its child.
    let shell: u32 = t
        .run(&["display-message", "-p", "-t", "w", "#{pane_pid}"])
        .trim()
        .parse()
        .unwrap();
    let hb = poll("hb-read in the pane", Duration::from_secs(10), || {
        child_of(shell)
    });
    // SAFETY: kill(2) on the hb-read this test started in its pane.
    assert_eq!(unsafe { libc::kill(hb as i32, libc::SIGTERM) }, 0);
    given_back(&t);
    start_watch(&t);
    t.run(&["send-keys", "-t", "w", "C-c"]);
    given_back(&t);
    // Ctrl-Z gives the pane back to the shell; `fg` takes it again, on the
    // alternate screen, and q still gives it back as it was.
    start_watch(&t);
    t.run(&["send-keys", "-t", "w", "C-z"]);
    let shown = t.wait_for("w", "the job stopped", |s| s.contains("Stopped"));
    assert!(
        shown.contains("BEFORE-MARK") && !shown.contains("HEALTH"),
        "{shown}"
    );
    assert_eq!(alternate(&t), "0", "{shown}");
    t.run(&["send-keys", "-t", "w", "fg", "Enter"]);
    t.wait_for("w", "the table again", |s| s.contains("HEALTH"));
    assert_eq!(alternate(&t), "1");
    t.run(&["send-keys", "-t", "w", "q"]);
    given_back(&t);
    // An empty directory says so.
    sb.run(WRITE, &["--remove", "w-1"]).expect(0);
    launch(&t);
    t.wait_for("w", "no agents", |s| s.contains("no agents in "));
    t.run(&["send-keys", "-t", "w", "q"]);
    given_back(&t);
}
