//! The end of a turn (contract v4) from the outside: Claude Code's hook
//! (the real `hb-write --hook claude`) points at a transcript, a real
//! sidecar follows it, and lines appended to it settle the beat: at once
//! (the sidecar's interval is long, so only its inotify watch can pass
//! within the deadline), also while the marker is fresh; never over a hook
//! that wrote after the entry, never when a new prompt follows the end in
//! the same read; through truncation and replacement of the record; and
//! never blocked or misled by a pointer to a missing file, a symlink, a
//! FIFO or a huge line. The lines are Claude Code 2.1.332's own
//! (`tests/fixtures/hooks/claude/transcript-*.jsonl`). Aider's chat
//! history, whose table `starts` turns: its prompt line makes the beat
//! busy.

mod common;
use common::*;
use std::fs;
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

const NAME: &str = "w-turn";
/// Long: a settle within [`SOON`] can only come from the watch.
const INTERVAL: &str = "60";
const SOON: Duration = Duration::from_secs(10);

fn transcript_line(kind: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/hooks/claude")
        .join(format!("transcript-{kind}.jsonl"));
    let text = fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    text.lines().next().unwrap().to_string()
}

struct Turn {
    sb: Sandbox,
    /// The transcript the hooks name (in its own directory, as Claude's).
    record: PathBuf,
    sidecar: Option<Proc>,
}

impl Turn {
    fn new(tag: &str) -> Turn {
        let sb = Sandbox::new(tag);
        let projects = sb.root.join("projects");
        fs::create_dir_all(&projects).unwrap();
        Turn {
            record: projects.join("s.jsonl"),
            sb,
            sidecar: None,
        }
    }

    fn start_sidecar(&mut self) {
        let mut c = self.sb.cmd(WRITE);
        c.args(["--sidecar", "--interval", INTERVAL, NAME])
            .stdout(Stdio::null());
        self.sidecar = Some(Proc(c.spawn().unwrap()));
        poll("the first beat", SOON, || {
            self.sb.path(&format!("{NAME}.hb")).exists().then_some(())
        });
    }

    /// A Claude Code hook call naming `record` as its transcript.
    fn hook_to(&self, event: &str, record: &Path) {
        let payload = format!(
            r#"{{"session_id":"s","transcript_path":"{}","cwd":"/","hook_event_name":"{event}","model":"claude-opus-5-5"}}"#,
            record.display()
        );
        let mut c = self.sb.cmd(WRITE);
        c.env("MOSAIC_AGENT_NAME", NAME)
            .args(["--hook", "claude"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = c.spawn().unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(payload.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success() && out.stderr.is_empty(), "{out:?}");
    }

    fn hook(&self, event: &str) {
        self.hook_to(event, &self.record);
    }

    /// A hook that points the sidecar at a record that exists already: the
    /// sidecar follows it from its end as it is when it reads the pointer
    /// (what came before is history), so the test lets it read the pointer
    /// before it appends.
    fn first_hook(&self, event: &str) {
        self.hook(event);
        self.while_stopped(|| {});
    }

    fn append(&self, line: &str) {
        let mut f = fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(&self.record)
            .unwrap();
        f.write_all(format!("{line}\n").as_bytes()).unwrap();
    }

    fn beat(&self) -> std::collections::BTreeMap<String, String> {
        fields(&self.sb.read(&format!("{NAME}.hb")))
    }

    fn status(&self) -> String {
        self.beat()["status"].clone()
    }

    fn wait_status(&self, want: &str) {
        poll(&format!("status {want}"), SOON, || {
            (self.status() == want).then_some(())
        });
    }

    /// The SRC column of hb-read's table.
    fn src(&self) -> String {
        let r = self.sb.run(READ, &["--format", "table", NAME]);
        r.expect(0);
        let out = r.stdout();
        out.lines()
            .nth(1)
            .and_then(|l| l.split_whitespace().last())
            .unwrap_or_default()
            .to_string()
    }

    fn sidecar_pid(&self) -> u32 {
        self.sidecar.as_ref().unwrap().pid()
    }

    /// Runs `f` while the sidecar is stopped, so that everything `f` does
    /// reaches it in one read; then lets it go on and waits until it went
    /// back to sleep, having read it all.
    fn while_stopped(&self, f: impl FnOnce()) {
        let pid = self.sidecar_pid();
        self.sidecar.as_ref().unwrap().signal(libc::SIGSTOP);
        poll("the sidecar to stop", SOON, || {
            (state(pid) == 'T').then_some(())
        });
        f();
        let before = switches(pid);
        self.sidecar.as_ref().unwrap().signal(libc::SIGCONT);
        poll("the sidecar to read and sleep again", SOON, || {
            (switches(pid) > before && state(pid) == 'S').then_some(())
        });
    }
}

fn state(pid: u32) -> char {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    stat[stat.rfind(')').unwrap() + 2..].chars().next().unwrap()
}

fn switches(pid: u32) -> u64 {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

fn mtime_ns(p: &Path) -> i128 {
    let m = fs::symlink_metadata(p).unwrap();
    i128::from(m.mtime()) * 1_000_000_000 + i128::from(m.mtime_nsec())
}

/// The coarse file clock must move on between two writes whose order a
/// test asserts.
fn tick_the_file_clock() {
    std::thread::sleep(Duration::from_millis(30));
}

#[test]
fn an_interrupt_after_a_hooks_busy_is_ok_at_once_while_the_marker_is_fresh() {
    let mut t = Turn::new("turn-e1");
    t.start_sidecar();
    // SessionStart names a transcript Claude Code has not written yet.
    t.hook("SessionStart");
    assert_eq!(
        t.sb.read(&format!(".{NAME}.record")),
        format!("claude\n{}\n", t.record.display())
    );
    t.hook("UserPromptSubmit");
    t.append(&transcript_line("prompt"));
    assert_eq!(t.status(), "busy");
    let marker = t.sb.path(&format!("{NAME}.hb.native"));
    let marked = mtime_ns(&marker);
    let busy = t.beat();
    t.append(&transcript_line("interrupted"));
    t.wait_status("ok");
    let ok = t.beat();
    for kept in ["pid", "model", "host", "pstart"] {
        assert_eq!(ok.get(kept), busy.get(kept), "{kept}");
    }
    // The marker is as the hook left it (still fresh), and readers say
    // where the state came from.
    assert_eq!(mtime_ns(&marker), marked);
    // The settled mark follows the beat's rename: looked at until it shows.
    poll("src settled", SOON, || (t.src() == "settled").then_some(()));
    let json = t.sb.run(READ, &["--json", NAME]);
    assert!(
        json.stdout().contains(r#""src":"settled""#),
        "{}",
        json.stdout()
    );
    // The next prompt is the hook's again (a file-clock tick after the
    // settle, so that its marker is newer than the settled mark).
    tick_the_file_clock();
    t.hook("UserPromptSubmit");
    assert_eq!(t.status(), "busy");
    assert_eq!(t.src(), "native");
    t.append(&transcript_line("prompt"));
    t.hook("Stop");
    assert_eq!(t.status(), "ok");
}

#[test]
fn a_denial_at_the_dialog_ends_the_wait() {
    let mut t = Turn::new("turn-e3");
    t.start_sidecar();
    t.append(&transcript_line("prompt"));
    t.first_hook("UserPromptSubmit");
    t.hook("PermissionRequest");
    assert_eq!(t.status(), "waiting");
    t.append(&transcript_line("rejected"));
    t.append(&transcript_line("interrupted-tool-use"));
    t.wait_status("ok");
}

#[test]
fn a_hook_that_wrote_after_the_entry_is_never_undone() {
    let mut t = Turn::new("turn-later");
    t.start_sidecar();
    t.append(&transcript_line("prompt"));
    t.first_hook("UserPromptSubmit");
    t.while_stopped(|| {
        t.append(&transcript_line("interrupted"));
        tick_the_file_clock();
        // A new prompt's hook, before its entry is in the transcript.
        t.hook("UserPromptSubmit");
    });
    assert_eq!(t.status(), "busy");
    // The sidecar is not stuck: the next interrupt settles.
    tick_the_file_clock();
    t.append(&transcript_line("interrupted"));
    t.wait_status("ok");
}

#[test]
fn a_new_prompt_after_an_interrupt_in_one_read_does_nothing() {
    let mut t = Turn::new("turn-batch");
    t.start_sidecar();
    t.append(&transcript_line("prompt"));
    t.first_hook("UserPromptSubmit");
    t.while_stopped(|| {
        t.append(&transcript_line("interrupted"));
        t.append(&transcript_line("prompt"));
    });
    assert_eq!(t.status(), "busy");
    assert_eq!(t.src(), "native");
    t.append(&transcript_line("interrupted"));
    t.wait_status("ok");
}

#[test]
fn a_truncated_or_replaced_record_is_read_from_its_start() {
    let mut t = Turn::new("turn-replace");
    t.append(&transcript_line("prompt"));
    t.start_sidecar();
    t.first_hook("UserPromptSubmit");
    // Truncated in place, then the end written.
    fs::write(
        &t.record,
        format!("{}\n", transcript_line("interrupted")).as_bytes(),
    )
    .unwrap();
    t.wait_status("ok");
    tick_the_file_clock();
    t.hook("UserPromptSubmit");
    // Replaced by a rename.
    let tmp = t.record.with_extension("tmp");
    fs::write(
        &tmp,
        format!(
            "{}\n{}\n",
            transcript_line("prompt"),
            transcript_line("interrupted")
        ),
    )
    .unwrap();
    fs::rename(&tmp, &t.record).unwrap();
    t.wait_status("ok");
    // Deleted and made anew.
    tick_the_file_clock();
    t.hook("UserPromptSubmit");
    fs::remove_file(&t.record).unwrap();
    t.append(&transcript_line("interrupted"));
    t.wait_status("ok");
}

#[test]
fn a_huge_line_is_skipped_and_the_end_after_it_read() {
    let mut t = Turn::new("turn-huge");
    t.append(&transcript_line("prompt"));
    t.start_sidecar();
    t.first_hook("UserPromptSubmit");
    let huge = format!(
        r#"{{"type":"user","message":{{"role":"user","content":"{}"}},"x":"[Request interrupted by user]"}}"#,
        "x".repeat(3 << 20)
    );
    t.append(&huge);
    t.append(&transcript_line("interrupted"));
    t.wait_status("ok");
}

#[test]
fn a_pointer_to_a_symlink_or_a_fifo_is_not_followed_and_blocks_nothing() {
    let mut t = Turn::new("turn-odd");
    t.append(&transcript_line("prompt"));
    t.start_sidecar();
    let link = t.record.with_extension("link");
    std::os::unix::fs::symlink(&t.record, &link).unwrap();
    let fifo = t.record.with_extension("fifo");
    let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
    for odd in [&link, &fifo] {
        t.hook_to("UserPromptSubmit", odd);
        t.while_stopped(|| {});
        t.while_stopped(|| t.append(&transcript_line("interrupted")));
        assert_eq!(t.status(), "busy", "{}", odd.display());
    }
    // Still answering: pointed back at the file, it settles.
    t.first_hook("UserPromptSubmit");
    t.while_stopped(|| {});
    t.append(&transcript_line("interrupted"));
    t.wait_status("ok");
    // And a signal ends it at once.
    let mut p = t.sidecar.take().unwrap();
    p.signal(libc::SIGTERM);
    assert!(p.exit_within(SOON).success());
}

#[test]
fn nothing_is_written_when_nothing_changed() {
    let mut t = Turn::new("turn-quiet");
    t.append(&transcript_line("prompt"));
    t.start_sidecar();
    t.first_hook("UserPromptSubmit");
    let pointer = t.sb.path(&format!(".{NAME}.record"));
    let (ino, when) = (fs::metadata(&pointer).unwrap().ino(), mtime_ns(&pointer));
    t.hook("PreToolUse");
    t.hook("PostToolUse");
    assert_eq!(fs::metadata(&pointer).unwrap().ino(), ino);
    assert_eq!(mtime_ns(&pointer), when);
    // Lines that say nothing about the turn, and a prompt while busy:
    // the beat is not rewritten, and nothing is stamped.
    let beat = t.sb.path(&format!("{NAME}.hb"));
    let before = (fs::metadata(&beat).unwrap().ino(), mtime_ns(&beat));
    t.while_stopped(|| {
        t.append(r#"{"type":"assistant","message":{"role":"assistant","content":[]}}"#);
        t.append("not json at all");
        t.append(&transcript_line("prompt"));
    });
    assert_eq!(
        (fs::metadata(&beat).unwrap().ino(), mtime_ns(&beat)),
        before
    );
    assert!(!t.sb.path(&format!(".{NAME}.settled")).exists());
    // An end over `ok` changes nothing either.
    t.hook("Stop");
    let before = (fs::metadata(&beat).unwrap().ino(), mtime_ns(&beat));
    t.while_stopped(|| t.append(&transcript_line("interrupted")));
    assert_eq!(
        (fs::metadata(&beat).unwrap().ino(), mtime_ns(&beat)),
        before
    );
}

#[test]
fn without_a_marker_nothing_is_settled_and_remove_takes_every_file() {
    let mut t = Turn::new("turn-remove");
    t.append(&transcript_line("prompt"));
    t.start_sidecar();
    t.first_hook("UserPromptSubmit");
    t.append(&transcript_line("interrupted"));
    t.wait_status("ok");
    let settled = t.sb.path(&format!(".{NAME}.settled"));
    poll("the settled mark", SOON, || settled.exists().then_some(()));
    // The session ended: the marker is gone, the sidecar's beats stand.
    t.hook("UserPromptSubmit");
    t.sb.run(WRITE, &["--clear-native", NAME]).expect(0);
    t.while_stopped(|| t.append(&transcript_line("interrupted")));
    assert_eq!(t.status(), "busy");
    assert_eq!(t.src(), "sidecar");
    drop(t.sidecar.take());
    t.sb.run(WRITE, &["--remove", NAME]).expect(0);
    let left: Vec<_> = fs::read_dir(&t.sb.dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

/// Aider: no hook marks a prompt, its chat history does (its table
/// `starts`): `#### PROMPT` makes an `ok` beat busy at once, a command
/// that calls no model does not, Ctrl-C's line ends the turn, and the hook
/// at the end of the model's call has the last word. (The lines are Aider
/// 0.86.2's, `tests/fixtures/hooks/aider`.)
#[test]
fn a_prompt_in_a_record_that_starts_turns_is_busy_at_once() {
    let mut t = Turn::new("turn-aider");
    t.start_sidecar();
    // A hook made the marker and an ok beat (Aider's at the end of its
    // first model call); the pointer names Aider's chat history.
    t.hook("Stop");
    assert_eq!(t.status(), "ok");
    let history = t.sb.root.join("work/.aider.chat.history.md");
    fs::create_dir_all(history.parent().unwrap()).unwrap();
    fs::write(&history, "#### run the tool  \n\n> Tokens: 2.3k sent  \n").unwrap();
    let add = |line: &str| {
        let mut f = fs::OpenOptions::new().append(true).open(&history).unwrap();
        f.write_all(format!("{line}\n").as_bytes()).unwrap();
    };
    t.while_stopped(|| {
        let tmp = t.sb.path(".pointer-tmp");
        fs::write(&tmp, format!("aider\n{}\n", history.display())).unwrap();
        fs::rename(&tmp, t.sb.path(&format!(".{NAME}.record"))).unwrap();
    });
    // What was there before is history: still ok.
    assert_eq!(t.status(), "ok");
    // A command that calls no model: nothing.
    t.while_stopped(|| add("#### /add a.py  "));
    assert_eq!(t.status(), "ok");
    tick_the_file_clock();
    add("#### run the tool  ");
    t.wait_status("busy");
    poll("src settled", SOON, || (t.src() == "settled").then_some(()));
    // Ctrl-C while the model answers.
    add("> ^C again to exit  ");
    t.wait_status("ok");
    // A late read of "interrupt, then a new prompt": the new turn.
    t.while_stopped(|| {
        add("> ^C again to exit  ");
        add("#### go on  ");
    });
    assert_eq!(t.status(), "busy");
    // The hook at the end of the model call wins (a file-clock tick after
    // the settle, so that its marker is newer than the settled mark).
    tick_the_file_clock();
    t.hook("Stop");
    assert_eq!(t.status(), "ok");
    assert_eq!(t.src(), "native");
}
