//! `hb-write --hook RUNTIME` driven by recorded payloads
//! (`tests/fixtures/hooks/`), each checked for the beat it leaves; and the
//! promise that a hook never disturbs the agent: exit 0, nothing on stdout,
//! at most one stderr line (none at all for a runtime that shows it, whose
//! line goes to the hook log), and every file left as it was on any problem.

mod common;

use common::*;
use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime};

const NAME: &str = "w-hook";

fn fixture(path: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/hooks")
        .join(path);
    fs::read_to_string(&p).unwrap_or_else(|e| panic!("fixture {}: {e}", p.display()))
}

/// A hook call as a runtime makes it: NAME in the environment, the payload
/// on stdin (or as the last argument for Codex's `notify`).
fn hook(sb: &Sandbox, runtime: &str, payload: Payload, extra: &[&str]) -> Run {
    let mut c = sb.cmd(WRITE);
    c.env("MOSAIC_AGENT_NAME", NAME)
        .arg("--hook")
        .arg(runtime)
        .args(extra);
    run_with(c, sb, payload)
}

enum Payload<'a> {
    Stdin(&'a str),
    Arg(&'a str),
}

fn run_with(mut c: Command, sb: &Sandbox, payload: Payload) -> Run {
    let stdin = match payload {
        Payload::Stdin(s) => Some(s.to_string()),
        Payload::Arg(s) => {
            c.arg(s);
            None
        }
    };
    c.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let desc = format!("{c:?}");
    let mut child = c.spawn().unwrap_or_else(|e| panic!("spawn {desc}: {e}"));
    if let Some(s) = stdin {
        // The hook may stop reading early; a closed pipe is not our concern.
        let _ = child.stdin.take().unwrap().write_all(s.as_bytes());
    }
    let out = child.wait_with_output().unwrap();
    Run {
        desc,
        out,
        dir: sb.dir.clone(),
    }
}

/// Exit 0, nothing on stdout, nothing on stderr.
#[track_caller]
fn quiet(r: &Run) {
    r.expect(0);
    assert_eq!(
        (r.stdout().as_str(), r.stderr().as_str()),
        ("", ""),
        "{}",
        r.explain()
    );
}

/// Exit 0, nothing on stdout, exactly one stderr line from the hook.
#[track_caller]
fn refused(r: &Run) {
    r.expect(0).one_error_line("hb-write: hook: ");
    assert_eq!(r.stdout(), "", "{}", r.explain());
}

/// The beat a sidecar leaves for the agent's pane: this test process plays
/// the pane (its pid is alive and on this host).
fn sidecar_beat(sb: &Sandbox, model: Option<&str>) {
    let pid = std::process::id().to_string();
    let mut args = vec!["--pid", pid.as_str()];
    if let Some(m) = model {
        args.extend(["--model", m]);
    }
    args.push(NAME);
    sb.run(WRITE, &args).expect(0);
}

fn beat(sb: &Sandbox) -> std::collections::BTreeMap<String, String> {
    fields(&sb.read(&format!("{NAME}.hb")))
}

fn marker(sb: &Sandbox) -> PathBuf {
    sb.path(&format!("{NAME}.hb.native"))
}

#[track_caller]
fn assert_fresh_marker(sb: &Sandbox) {
    let m = fs::symlink_metadata(marker(sb))
        .unwrap_or_else(|e| panic!("marker: {e}\n{}", listing(&sb.dir)));
    assert!(m.file_type().is_file());
    let age = SystemTime::now()
        .duration_since(m.modified().unwrap())
        .unwrap_or_default();
    assert!(age < Duration::from_secs(5), "marker is {age:?} old");
}

/// What each recorded event must leave: a status, or the marker cleared.
const EVENTS: &[(&str, &str, Option<&str>)] = &[
    // (fixture, status or "clear", the payload's model). Captured from the
    // real CLIs by `make e2e` (tests/fixtures/hooks/README.md says which
    // version sent which), except where the README says hand-written.
    ("claude/session-start.json", "ok", Some("claude-opus-5-5")),
    // Print mode: no model in any payload.
    ("claude/session-start-print.json", "ok", None),
    // 2.1.197 names the 1M-context variant; the beat names the model.
    (
        "claude/session-start-2.1.197.json",
        "ok",
        Some("claude-opus-4-8"),
    ),
    ("claude/user-prompt-submit.json", "busy", None),
    ("claude/pre-tool-use.json", "busy", None),
    ("claude/post-tool-use.json", "busy", None),
    ("claude/post-tool-use-hostile.json", "busy", None),
    ("claude/permission-request.json", "waiting", None),
    ("claude/notification-permission.json", "waiting", None),
    ("claude/notification-idle.json", "ok", None),
    ("claude/notification-idle-untyped.json", "ok", None),
    ("claude/stop.json", "ok", None),
    ("claude/stop-failure.json", "ok", None),
    ("claude/subagent-stop.json", "busy", None),
    ("claude/session-end.json", "clear", None),
    ("codex/session-start.json", "ok", Some("gpt-hb-mock")),
    ("codex/user-prompt-submit.json", "busy", Some("gpt-hb-mock")),
    ("codex/pre-tool-use.json", "busy", Some("gpt-hb-mock")),
    (
        "codex/permission-request.json",
        "waiting",
        Some("gpt-hb-mock"),
    ),
    ("codex/post-tool-use.json", "busy", Some("gpt-hb-mock")),
    ("codex/stop.json", "ok", Some("gpt-hb-mock")),
    ("codex/interrupt.json", "ok", Some("gpt-hb-mock")),
    // Plan mode's question: on screen, then answered.
    (
        "codex/pre-tool-use-request-user-input.json",
        "waiting",
        Some("gpt-hb-mock"),
    ),
    (
        "codex/post-tool-use-request-user-input.json",
        "busy",
        Some("gpt-hb-mock"),
    ),
    ("codex/notify-agent-turn-complete.json", "ok", None),
    ("codex/notify-exec.json", "ok", None),
    // Gemini CLI names the model only in a model request (llm_request).
    ("gemini/session-start.json", "ok", None),
    ("gemini/before-agent.json", "busy", None),
    ("gemini/before-model.json", "busy", Some("gemini-3.8-flash")),
    (
        "gemini/before-tool-selection.json",
        "busy",
        Some("gemini-3.8-flash"),
    ),
    ("gemini/after-model.json", "busy", Some("gemini-3.8-flash")),
    ("gemini/before-tool.json", "busy", None),
    ("gemini/notification-tool-permission.json", "waiting", None),
    ("gemini/after-tool.json", "busy", None),
    // Esc while the shell tool ran: the turn ended, no AfterAgent follows.
    ("gemini/after-tool-cancelled.json", "ok", None),
    // The ask_user question: its dialog, then the answer.
    ("gemini/notification-ask-user.json", "waiting", None),
    ("gemini/after-tool-ask-user.json", "busy", None),
    ("gemini/after-agent.json", "ok", None),
    ("gemini/session-end.json", "clear", None),
    ("qwen/session-start.json", "ok", Some("qwen-hb-mock")),
    ("qwen/session-start-print.json", "ok", Some("qwen-hb-mock")),
    ("qwen/user-prompt-submit.json", "busy", None),
    ("qwen/permission-request.json", "waiting", None),
    ("qwen/notification-permission.json", "waiting", None),
    ("qwen/pre-tool-use.json", "busy", None),
    // The tool's result goes back to the model as a prompt of its own.
    ("qwen/user-prompt-submit-tool-result.json", "busy", None),
    ("qwen/stop.json", "ok", None),
    ("qwen/notification-idle.json", "ok", None),
    ("qwen/session-end.json", "clear", None),
    // Cline names no model in a payload (its session file does, which
    // these sandboxes do not have): the beat's own is kept.
    ("cline/task-start.json", "busy", None),
    ("cline/task-start-print.json", "busy", None),
    ("cline/pre-tool-use-ask-question.json", "waiting", None),
    ("cline/post-tool-use-ask-question.json", "busy", None),
    ("cline/pre-tool-use.json", "busy", None),
    ("cline/post-tool-use.json", "busy", None),
    ("cline/task-complete.json", "ok", None),
    ("cline/task-complete-print.json", "ok", None),
    ("cline/session-shutdown.json", "ok", None),
    // Mistral Vibe: the model is in the session folder's meta.json, gone
    // with the e2e sandbox: the beat's own stays.
    ("vibe/pre-tool.json", "busy", None),
    ("vibe/post-tool.json", "busy", None),
    // Denied at the dialog: the model goes on.
    ("vibe/post-tool-denied.json", "busy", None),
    ("vibe/post-agent.json", "ok", None),
    ("vibe/post-agent-print.json", "ok", None),
    // Hermes names the model in `extra.model` of the session's events and
    // model calls, not of a tool's.
    (
        "hermes/on-session-start.json",
        "busy",
        Some("hermes-hb-mock"),
    ),
    ("hermes/pre-llm-call.json", "busy", Some("hermes-hb-mock")),
    ("hermes/pre-tool-call.json", "busy", None),
    ("hermes/pre-approval-request-smart.json", "busy", None),
    ("hermes/pre-approval-request-cli.json", "waiting", None),
    ("hermes/post-approval-response-deny.json", "busy", None),
    ("hermes/post-approval-response-once.json", "busy", None),
    ("hermes/post-tool-call.json", "busy", None),
    (
        "hermes/on-session-end-interrupted.json",
        "ok",
        Some("hermes-hb-mock"),
    ),
    (
        "hermes/on-session-end-completed.json",
        "ok",
        Some("hermes-hb-mock"),
    ),
    ("hermes/on-session-finalize.json", "clear", None),
];

#[test]
fn every_recorded_event_leaves_its_beat() {
    let me = std::process::id().to_string();
    for &(file, want, payload_model) in EVENTS {
        let sb = Sandbox::new("hook-event");
        sidecar_beat(&sb, Some("prior-model"));
        let before = sb.read(&format!("{NAME}.hb"));
        let runtime = file.split('/').next().unwrap();
        let json = fixture(file);
        let payload = if file.contains("/notify-") {
            Payload::Arg(json.as_str())
        } else {
            Payload::Stdin(json.as_str())
        };
        let r = hook(&sb, runtime, payload, &[]);
        quiet(&r);
        if want == "clear" {
            assert!(
                !marker(&sb).exists(),
                "{file}: marker left\n{}",
                r.explain()
            );
            assert_eq!(
                sb.read(&format!("{NAME}.hb")),
                before,
                "{file}: beat touched"
            );
            continue;
        }
        let b = beat(&sb);
        assert_eq!(b["status"], want, "{file}\n{}", r.explain());
        assert_eq!(b["pid"], me, "{file}: the pane's pid must be kept");
        assert_eq!(
            b["model"],
            payload_model.unwrap_or("prior-model"),
            "{file}: model"
        );
        assert!(
            b.contains_key("host") && b.contains_key("pstart"),
            "{file}: {b:?}"
        );
        assert!((b["ts"].parse::<i64>().unwrap() - now()).abs() <= 2);
        assert_fresh_marker(&sb);
        // The reader sees a native, healthy agent.
        let r = sb.run(READ, &["--check", NAME]);
        r.expect(0);
    }
}

#[test]
fn a_session_flips_status_and_keeps_pid_and_model() {
    let sb = Sandbox::new("hook-flow");
    sidecar_beat(&sb, None);
    let me = std::process::id().to_string();
    let steps = [
        ("claude/session-start.json", "ok"),
        ("claude/user-prompt-submit.json", "busy"),
        ("claude/pre-tool-use.json", "busy"),
        ("claude/notification-permission.json", "waiting"),
        ("claude/post-tool-use.json", "busy"),
        ("claude/stop.json", "ok"),
        ("claude/notification-idle.json", "ok"),
    ];
    for (file, want) in steps {
        quiet(&hook(&sb, "claude", Payload::Stdin(&fixture(file)), &[]));
        let b = beat(&sb);
        assert_eq!((file, b["status"].as_str()), (file, want));
        assert_eq!(b["pid"], me);
        assert_eq!(b["model"], "claude-opus-5-5", "{file}");
    }
    let r = sb.run(READ, &["--json", NAME]);
    r.expect(0);
    assert!(r.stdout().contains("\"native\":true"), "{}", r.explain());

    // SessionEnd hands the beat back to the sidecar at once.
    let before = sb.read(&format!("{NAME}.hb"));
    quiet(&hook(
        &sb,
        "claude",
        Payload::Stdin(&fixture("claude/session-end.json")),
        &[],
    ));
    assert!(!marker(&sb).exists());
    assert_eq!(sb.read(&format!("{NAME}.hb")), before);
    sb.run(DEFER, &[NAME]).expect(1);
    sb.run(WRITE, &["--fallback", "--pid", &me, NAME]).expect(0);
    let b = beat(&sb);
    assert_eq!((b["status"].as_str(), b.get("model")), ("ok", None));
}

#[test]
fn without_a_beat_the_pid_is_the_hooks_parent() {
    let sb = Sandbox::new("hook-parent");
    quiet(&hook(
        &sb,
        "claude",
        Payload::Stdin(&fixture("claude/user-prompt-submit.json")),
        &[],
    ));
    let b = beat(&sb);
    assert_eq!(b["pid"], std::process::id().to_string());
    assert_eq!((b["status"].as_str(), b.get("model")), ("busy", None));
}

#[test]
fn a_dead_pid_from_an_earlier_session_is_not_kept() {
    let sb = Sandbox::new("hook-deadpid");
    let mut gone = Command::new("true").spawn().unwrap();
    let gone_pid = gone.id();
    gone.wait().unwrap();
    sb.run(
        WRITE,
        &["--pid", &gone_pid.to_string(), "--status", "exited", NAME],
    )
    .expect(0);
    quiet(&hook(
        &sb,
        "claude",
        Payload::Stdin(&fixture("claude/session-start.json")),
        &[],
    ));
    let b = beat(&sb);
    assert_eq!(b["pid"], std::process::id().to_string(), "{b:?}");
    sb.run(READ, &["--check", NAME]).expect(0);
}

#[test]
fn the_environment_names_the_directory() {
    let sb = Sandbox::new("hook-env");
    let mut c = bare(WRITE);
    c.env("MOSAIC_AGENT_NAME", NAME)
        .env("MOSAIC_HEARTBEAT_DIR", &sb.dir)
        .args(["--hook", "codex"]);
    quiet(&run_with(
        c,
        &sb,
        Payload::Arg(&fixture("codex/notify-agent-turn-complete.json")),
    ));
    assert_eq!(beat(&sb)["status"], "ok");
    assert_fresh_marker(&sb);
}

#[test]
fn an_explicit_model_wins_over_the_payloads() {
    let sb = Sandbox::new("hook-model");
    let r = hook(
        &sb,
        "claude",
        Payload::Stdin(&fixture("claude/session-start.json")),
        &["--model", "opus-via-config"],
    );
    quiet(&r);
    assert_eq!(beat(&sb)["model"], "opus-via-config");
}

/// Every problem: exit 0, one stderr line, nothing on stdout, no file
/// changed (beat, marker, directory).
#[test]
fn problems_leave_every_file_as_it_was() {
    let good = fixture("claude/stop.json");
    let cases: Vec<(&str, Vec<&str>, Option<&str>, String)> = vec![
        // (what, extra args, MOSAIC_AGENT_NAME, stdin payload)
        ("no NAME", vec!["--hook", "claude"], None, good.clone()),
        (
            "bad NAME",
            vec!["--hook", "claude"],
            Some("../etc"),
            good.clone(),
        ),
        (
            "dotted NAME",
            vec!["--hook", "claude"],
            Some("a.b"),
            good.clone(),
        ),
        (
            "empty payload",
            vec!["--hook", "claude"],
            Some(NAME),
            String::new(),
        ),
        (
            "truncated JSON",
            vec!["--hook", "claude"],
            Some(NAME),
            good[..good.len() / 2].into(),
        ),
        (
            "not an object",
            vec!["--hook", "claude"],
            Some(NAME),
            "[1,2]".into(),
        ),
        (
            "unknown event",
            vec!["--hook", "claude"],
            Some(NAME),
            r#"{"hook_event_name":"Teleport"}"#.into(),
        ),
        (
            "notification that means nothing",
            vec!["--hook", "claude"],
            Some(NAME),
            fixture("claude/notification-auth-success.json"),
        ),
        (
            "model with a control character",
            vec!["--hook", "claude"],
            Some(NAME),
            r#"{"hook_event_name":"SessionStart","model":"a\u0007b"}"#.into(),
        ),
        (
            "model too long",
            vec!["--hook", "claude"],
            Some(NAME),
            format!(
                r#"{{"hook_event_name":"Stop","model":"{}"}}"#,
                "m".repeat(129)
            ),
        ),
        (
            "unknown runtime",
            vec!["--hook", "nosuch"],
            Some(NAME),
            good.clone(),
        ),
        (
            "a status flag",
            vec!["--hook", "claude", "--status", "busy"],
            Some(NAME),
            good.clone(),
        ),
        (
            "a mode flag",
            vec!["--hook", "claude", "--remove"],
            Some(NAME),
            good.clone(),
        ),
        (
            "notify shape for claude",
            vec!["--hook", "claude"],
            Some(NAME),
            fixture("codex/notify-agent-turn-complete.json"),
        ),
        (
            "bad interval",
            vec!["--hook", "claude", "--interval", "0"],
            Some(NAME),
            good.clone(),
        ),
        (
            "help",
            vec!["--hook", "claude", "--help"],
            Some(NAME),
            good.clone(),
        ),
        (
            "raw control character in a string",
            vec!["--hook", "claude"],
            Some(NAME),
            "{\"hook_event_name\":\"Stop\",\"x\":\"a\u{1}b\"}".into(),
        ),
    ];
    for (what, args, name, payload) in cases {
        let sb = Sandbox::new("hook-bad");
        sidecar_beat(&sb, Some("prior-model"));
        sb.put(&format!("{NAME}.hb.native"), b"");
        let before = sb.snapshot();
        let mut c = sb.cmd(WRITE);
        c.args(&args);
        if let Some(n) = name {
            c.env("MOSAIC_AGENT_NAME", n);
        }
        let r = run_with(c, &sb, Payload::Stdin(&payload));
        refused(&r);
        assert_eq!(
            sb.snapshot(),
            before,
            "{what}: files changed\n{}",
            r.explain()
        );
    }
}

/// Payloads on which nanoserde alone would panic (a member without a
/// value) or loop for ever (a container left open): the hook still exits 0
/// with one line, promptly, and touches nothing.
#[test]
fn payloads_that_would_trip_nanoserde_are_refused_promptly() {
    let deep_open = format!(r#"{{"hook_event_name":"Stop","x":{}"#, "[".repeat(100_000));
    for payload in [
        r#"{"hook_event_name":"Stop","x":}"#,
        r#"{"hook_event_name":"Stop","x":,"y":1}"#,
        r#"{"hook_event_name":"Stop","x":[1,2"#,
        "{\"hook_event_name\":\"Stop\",\"x\":[\0]}",
        deep_open.as_str(),
    ] {
        let sb = Sandbox::new("hook-trip");
        sidecar_beat(&sb, Some("prior-model"));
        sb.put(&format!("{NAME}.hb.native"), b"");
        let before = sb.snapshot();
        let mut c = sb.cmd(WRITE);
        c.env("MOSAIC_AGENT_NAME", NAME)
            .args(["--hook", "claude"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let desc = format!("{c:?}");
        let mut child = c.spawn().unwrap();
        let _ = child.stdin.take().unwrap().write_all(payload.as_bytes());
        // Generous: only a hang takes this long; the child is killed then.
        let end = std::time::Instant::now() + Duration::from_secs(60);
        while child.try_wait().unwrap().is_none() {
            if std::time::Instant::now() >= end {
                let _ = child.kill();
                panic!("{desc}: still running after 60 s on {:.80}", payload);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let r = Run {
            desc,
            out: child.wait_with_output().unwrap(),
            dir: sb.dir.clone(),
        };
        refused(&r);
        assert_eq!(sb.snapshot(), before, "{}", r.explain());
    }
}

#[test]
fn a_payload_with_invalid_utf8_is_refused_quietly() {
    let sb = Sandbox::new("hook-utf8");
    sidecar_beat(&sb, None);
    let before = sb.snapshot();
    let mut c = sb.cmd(WRITE);
    c.env("MOSAIC_AGENT_NAME", NAME)
        .args(["--hook", "claude"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    let _ = child
        .stdin
        .take()
        .unwrap()
        .write_all(b"{\"hook_event_name\":\"Stop\",\"x\":\"\xff\"}");
    let out = child.wait_with_output().unwrap();
    let r = Run {
        desc: format!("{c:?}"),
        out,
        dir: sb.dir.clone(),
    };
    refused(&r);
    assert_eq!(sb.snapshot(), before);
}

#[test]
fn system_errors_are_one_line_and_exit_zero() {
    // The marker's place is taken by a directory: refusing up front keeps
    // the beat as it was.
    let sb = Sandbox::new("hook-sys");
    sidecar_beat(&sb, None);
    fs::create_dir(marker(&sb)).unwrap();
    let before = sb.snapshot();
    let r = hook(
        &sb,
        "claude",
        Payload::Stdin(&fixture("claude/stop.json")),
        &[],
    );
    refused(&r);
    assert_eq!(sb.snapshot(), before, "{}", r.explain());

    // The directory is a file: nothing can be written.
    let sb = Sandbox::new("hook-notdir");
    fs::write(&sb.dir, b"not a directory").unwrap();
    let before = sb.snapshot();
    let r = hook(
        &sb,
        "claude",
        Payload::Stdin(&fixture("claude/stop.json")),
        &[],
    );
    refused(&r);
    assert_eq!(sb.snapshot(), before);

    // A directory whose name holds a line feed still gives one line.
    let sb = Sandbox::new("hook-lf");
    let odd = sb.root.join("a\nb");
    fs::write(&odd, b"").unwrap();
    let mut c = bare(WRITE);
    c.env("MOSAIC_AGENT_NAME", NAME)
        .arg("--dir")
        .arg(odd.join("hb"))
        .args(["--hook", "claude"]);
    let r = run_with(c, &sb, Payload::Stdin(&fixture("claude/stop.json")));
    refused(&r);
}

/// The shipped configurations call the hook the way these tests do.
#[test]
fn the_shipped_configurations_call_the_hook() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("integrations");
    let claude = fs::read_to_string(root.join("claude-code/settings.json")).unwrap();
    hb::hooks::payload::check_json(claude.as_bytes()).expect("settings.json is JSON");
    for event in [
        "SessionStart",
        "UserPromptSubmit",
        "PreToolUse",
        "PostToolUse",
        "PermissionRequest",
        "Notification",
        "Stop",
        "StopFailure",
        "SessionEnd",
    ] {
        assert!(
            claude.contains(&format!("\"{event}\"")),
            "settings.json lacks {event}"
        );
    }
    assert!(claude.contains("\"command\": \"hb-write --hook claude\""));

    let hooks = fs::read_to_string(root.join("codex/hooks.json")).unwrap();
    hb::hooks::payload::check_json(hooks.as_bytes()).expect("hooks.json is JSON");
    for event in [
        "SessionStart",
        "UserPromptSubmit",
        "PreToolUse",
        "PermissionRequest",
        "PostToolUse",
        "Stop",
        "Interrupt",
    ] {
        assert!(
            hooks.contains(&format!("\"{event}\"")),
            "hooks.json lacks {event}"
        );
    }
    assert!(hooks.contains("\"command\": \"hb-write --hook codex\""));
    let config = fs::read_to_string(root.join("codex/config.toml")).unwrap();
    assert!(config
        .lines()
        .any(|l| l.trim() == r#"notify = ["hb-write", "--hook", "codex"]"#));

    // Gemini CLI: the extension's hooks, the events the mapping needs and
    // no more (not AfterModel, once per streamed chunk).
    let gemini = fs::read_to_string(root.join("gemini/hooks/hooks.json")).unwrap();
    hb::hooks::payload::check_json(gemini.as_bytes()).expect("hooks.json is JSON");
    let events = [
        "SessionStart",
        "BeforeAgent",
        "BeforeModel",
        "BeforeTool",
        "Notification",
        "AfterTool",
        "AfterAgent",
        "SessionEnd",
    ];
    for event in events {
        assert!(
            gemini.contains(&format!("\"{event}\": [")),
            "gemini hooks.json lacks {event}"
        );
    }
    assert_eq!(
        gemini
            .matches("\"command\": \"hb-write --hook gemini\"")
            .count(),
        events.len()
    );
    let manifest = fs::read_to_string(root.join("gemini/gemini-extension.json")).unwrap();
    assert!(manifest.contains("\"name\": \"hb-heartbeat\""));
}

#[test]
fn a_notify_about_another_codex_thread_changes_nothing() {
    // The TUI's title generation runs in its own thread and reports its
    // turn to notify: it must not end the operator's waiting.
    let sb = Sandbox::new("hook-codex-thread");
    sidecar_beat(&sb, None);
    quiet(&hook(
        &sb,
        "codex",
        Payload::Stdin(&fixture("codex/session-start.json")),
        &[],
    ));
    quiet(&hook(
        &sb,
        "codex",
        Payload::Stdin(&fixture("codex/permission-request.json")),
        &[],
    ));
    let before = sb.read(&format!("{NAME}.hb"));
    let r = hook(
        &sb,
        "codex",
        Payload::Arg(&fixture("codex/notify-title-thread.json")),
        &[],
    );
    quiet(&r);
    assert_eq!(sb.read(&format!("{NAME}.hb")), before, "{}", r.explain());
    assert_eq!(beat(&sb)["status"], "waiting");
    // The session's own thread ends the turn.
    quiet(&hook(
        &sb,
        "codex",
        Payload::Arg(&fixture("codex/notify-agent-turn-complete.json")),
        &[],
    ));
    assert_eq!(beat(&sb)["status"], "ok");
}

#[test]
fn claude_in_print_mode_gets_its_model_from_the_transcript() {
    let sb = Sandbox::new("hook-transcript");
    sidecar_beat(&sb, None);
    let transcript = sb.path("session.jsonl");
    fs::write(
        &transcript,
        concat!(
            r#"{"type":"user","message":{"role":"user","content":"run the tool"}}"#,
            "\n",
            r#"{"parentUuid":"a","isSidechain":false,"message":{"id":"msg_2","type":"message","role":"assistant","model":"claude-opus-5-5","content":[]},"type":"assistant"}"#,
            "\n",
        ),
    )
    .unwrap();
    // A real print-mode PreToolUse, pointed at this transcript.
    let payload = fixture("claude/pre-tool-use.json");
    let start = payload.find("\"transcript_path\":\"").unwrap() + 19;
    let end = start + payload[start..].find('"').unwrap();
    let payload = format!(
        "{}{}{}",
        &payload[..start],
        transcript.display(),
        &payload[end..]
    );
    quiet(&hook(&sb, "claude", Payload::Stdin(&payload), &[]));
    let b = beat(&sb);
    assert_eq!(
        (b["status"].as_str(), b["model"].as_str()),
        ("busy", "claude-opus-5-5")
    );
}

#[test]
fn claude_takes_a_pinned_model_before_the_transcript_names_one() {
    // Print mode's SessionStart names no model, and the transcript has none
    // yet; the operator pinned one on the runtime's command line (the
    // runtime here is python, which runs the hook as Claude Code would) or
    // in ANTHROPIC_MODEL.
    let payload = fixture("claude/session-start-print.json");
    let sb = Sandbox::new("hook-pinned-arg");
    let mut c = bare("python3");
    c.env_remove("ANTHROPIC_MODEL")
        .args([
            "-c",
            "import subprocess, sys; sys.exit(subprocess.call(sys.argv[3:]))",
            "--model",
            "claude-pinned-1",
            WRITE,
            "--hook",
            "claude",
        ])
        .env("MOSAIC_HEARTBEAT_DIR", &sb.dir)
        .env("MOSAIC_AGENT_NAME", NAME);
    quiet(&run_with(c, &sb, Payload::Stdin(&payload)));
    assert_eq!(beat(&sb)["model"], "claude-pinned-1");

    let sb = Sandbox::new("hook-pinned-env");
    let mut c = sb.cmd(WRITE);
    c.env("MOSAIC_AGENT_NAME", NAME)
        .env("ANTHROPIC_MODEL", "claude-pinned-2")
        .args(["--hook", "claude"]);
    quiet(&run_with(c, &sb, Payload::Stdin(&payload)));
    assert_eq!(beat(&sb)["model"], "claude-pinned-2");
}

#[test]
fn a_hook_that_outlived_its_runtime_never_names_pid_1() {
    // `codex exec` may exit before its notify child runs: the hook is
    // reparented to pid 1. Here a pid namespace makes that certain: the
    // hook's shell exits, its child is adopted by the namespace's init.
    if Command::new("unshare")
        .args(["-pf", "--mount-proc", "true"])
        .status()
        .map_or(true, |s| !s.success())
    {
        panic!("unshare -pf is needed (run as root, as CI does)");
    }
    let sb = Sandbox::new("hook-orphan");
    // The beat names an agent that is gone.
    let mut gone = Command::new("true").spawn().unwrap();
    let gone_pid = gone.id().to_string();
    gone.wait().unwrap();
    sb.run(WRITE, &["--pid", &gone_pid, NAME]).expect(0);
    let before = sb.read(&format!("{NAME}.hb"));
    let notify = fixture("codex/notify-exec.json");
    let mut c = Command::new("unshare");
    c.args(["-pf", "--mount-proc", "sh", "-c"])
        // The orphan runs the hook, then says it is done; the namespace's
        // init waits for that (at most 10 s), since its end ends them all.
        .arg(concat!(
            r#"d=$1; shift; sh -c '("$@"; : >"$0") & exit 0' "$d" "$@"; "#,
            r#"i=0; while [ ! -e "$d" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done"#
        ))
        .arg("sh")
        .arg(sb.root.join("hook-done"))
        .arg(WRITE)
        .args(["--hook", "codex"])
        .arg(&notify)
        .env("MOSAIC_AGENT_NAME", NAME)
        .env("MOSAIC_HEARTBEAT_DIR", &sb.dir);
    let r = Run::of(&mut c, &sb);
    r.expect(0);
    assert!(sb.root.join("hook-done").exists(), "{}", r.explain());
    // The hook ran, found no agent, and said so in its one line.
    assert!(r.stderr().contains("no agent to name"), "{}", r.explain());
    assert_eq!(sb.read(&format!("{NAME}.hb")), before, "{}", r.explain());
    assert!(!beat(&sb)["pid"].eq("1"));
}

/// A Gemini CLI session as the real CLI ran it (interactive, approval
/// held): the pane's pid throughout, the model from the first model
/// request on and never dropped, and not a byte on either stream.
#[test]
fn a_gemini_session_flips_status_and_keeps_pid_and_model() {
    let sb = Sandbox::new("hook-gemini-flow");
    sidecar_beat(&sb, None);
    let me = std::process::id().to_string();
    let steps = [
        ("session-start", "ok", None),
        ("before-agent", "busy", None),
        ("before-model", "busy", Some("gemini-3.8-flash")),
        ("before-tool", "busy", Some("gemini-3.8-flash")),
        (
            "notification-tool-permission",
            "waiting",
            Some("gemini-3.8-flash"),
        ),
        ("after-tool", "busy", Some("gemini-3.8-flash")),
        ("before-model", "busy", Some("gemini-3.8-flash")),
        ("after-agent", "ok", Some("gemini-3.8-flash")),
    ];
    for (event, want, model) in steps {
        let file = format!("gemini/{event}.json");
        quiet(&hook(&sb, "gemini", Payload::Stdin(&fixture(&file)), &[]));
        let b = beat(&sb);
        assert_eq!((event, b["status"].as_str()), (event, want));
        assert_eq!(b["pid"], me, "{event}");
        assert_eq!(b.get("model").map(String::as_str), model, "{event}");
    }
    // PreCompress (also `/compress` at the prompt) changes nothing.
    let before = sb.snapshot();
    let r = hook(
        &sb,
        "gemini",
        Payload::Stdin(&fixture("gemini/pre-compress.json")),
        &[],
    );
    quiet(&r);
    assert_eq!(sb.snapshot(), before, "{}", r.explain());
    // SessionEnd hands the beat back; `/quit` sends it more than once.
    for _ in 0..3 {
        quiet(&hook(
            &sb,
            "gemini",
            Payload::Stdin(&fixture("gemini/session-end.json")),
            &[],
        ));
        assert!(!marker(&sb).exists());
    }
    assert!(
        !sb.path(&format!("{NAME}.hook.log")).exists(),
        "{}",
        listing(&sb.dir)
    );
}

/// Everything in the sandbox but the hook logs (and the directory's own
/// times, which a new log changes).
fn snapshot_but_logs(sb: &Sandbox) -> std::collections::BTreeMap<PathBuf, String> {
    let mut s = sb.snapshot();
    s.retain(|p, _| *p != sb.dir && !p.to_string_lossy().ends_with("hook.log"));
    s
}

/// The one line a silent hook logged, from `DIR/LOG`.
#[track_caller]
fn logged_line(sb: &Sandbox, log: &str, r: &Run) -> String {
    let text = fs::read_to_string(sb.path(log))
        .unwrap_or_else(|e| panic!("{log}: {e}\n{}\n{}", r.explain(), listing(&sb.dir)));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1, "{log}: {text:?}");
    let (stamp, rest) = lines[0].split_once(' ').unwrap();
    assert!(
        stamp.len() == 20 && stamp.ends_with('Z') && stamp.as_bytes()[10] == b'T',
        "{text:?}"
    );
    assert!(rest.starts_with("gemini: "), "{text:?}");
    rest.to_string()
}

/// Gemini CLI shows a hook's stderr to its user: on every problem the hook
/// exits 0 with nothing on stdout or stderr, leaves every file as it was,
/// and appends its one line to the hook log, `DIR/NAME.hook.log`, or
/// `DIR/hook.log` when the call names no usable NAME.
#[test]
fn gemini_problems_are_silent_and_go_to_the_hook_log() {
    let good = fixture("gemini/after-agent.json");
    let agent_log = format!("{NAME}.hook.log");
    // (what, extra args, MOSAIC_AGENT_NAME, payload, log, its line has)
    type Case<'a> = (
        &'a str,
        Vec<&'a str>,
        Option<&'a str>,
        String,
        &'a str,
        &'a str,
    );
    let cases: Vec<Case> = vec![
        (
            "truncated JSON",
            vec![],
            Some(NAME),
            good[..good.len() / 2].into(),
            &agent_log,
            "malformed JSON",
        ),
        (
            "unknown event",
            vec![],
            Some(NAME),
            r#"{"hook_event_name":"Teleport"}"#.into(),
            &agent_log,
            "unknown event 'Teleport'",
        ),
        (
            "a notification that means nothing",
            vec![],
            Some(NAME),
            fixture("gemini/notification-tool-permission.json")
                .replace("\"ToolPermission\"", "\"Other\""),
            &agent_log,
            "notification 'Other' changes no status",
        ),
        (
            "Claude's payload",
            vec![],
            Some(NAME),
            fixture("claude/stop.json"),
            &agent_log,
            "unknown event 'Stop'",
        ),
        (
            "a status flag",
            vec!["--status", "busy"],
            Some(NAME),
            good.clone(),
            "hook.log",
            "--hook takes only",
        ),
        (
            "no NAME",
            vec![],
            None,
            good.clone(),
            "hook.log",
            "MOSAIC_AGENT_NAME is not set",
        ),
        (
            "bad NAME",
            vec![],
            Some("../etc"),
            good.clone(),
            "hook.log",
            "MOSAIC_AGENT_NAME",
        ),
    ];
    for (what, args, name, payload, log, has) in cases {
        let sb = Sandbox::new("hook-gemini-bad");
        sidecar_beat(&sb, Some("prior-model"));
        sb.put(&format!("{NAME}.hb.native"), b"");
        let before = snapshot_but_logs(&sb);
        // The directory as the launcher gives it (a call whose arguments
        // do not parse logs there).
        let mut c = bare(WRITE);
        c.env("MOSAIC_HEARTBEAT_DIR", &sb.dir)
            .args(["--hook", "gemini"])
            .args(&args);
        if let Some(n) = name {
            c.env("MOSAIC_AGENT_NAME", n);
        }
        let r = run_with(c, &sb, Payload::Stdin(&payload));
        quiet(&r);
        assert_eq!(snapshot_but_logs(&sb), before, "{what}: files changed");
        let line = logged_line(&sb, log, &r);
        assert!(line.contains(has), "{what}: {line:?}");
    }

    // A system error: the marker's place is taken by a directory.
    let sb = Sandbox::new("hook-gemini-sys");
    sidecar_beat(&sb, None);
    fs::create_dir(marker(&sb)).unwrap();
    let before = snapshot_but_logs(&sb);
    let r = hook(&sb, "gemini", Payload::Stdin(&good), &[]);
    quiet(&r);
    assert_eq!(snapshot_but_logs(&sb), before, "{}", r.explain());
    assert!(logged_line(&sb, &agent_log, &r).contains("unable to refresh marker"));

    // No directory to log in (a file in its place): nothing, anywhere.
    let sb = Sandbox::new("hook-gemini-notdir");
    fs::write(&sb.dir, b"not a directory").unwrap();
    let before = sb.snapshot();
    quiet(&hook(&sb, "gemini", Payload::Stdin(&good), &[]));
    assert_eq!(sb.snapshot(), before);
}

/// An agent whose heartbeat directory it may not write (as nobody): the
/// beat is left as it was, not a byte reaches Gemini, and the line lands
/// in a hook log the agent may append to, else nowhere.
#[test]
fn gemini_in_an_unwritable_directory_is_silent() {
    let ok = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "true"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("SKIP: running as nobody needs root and setpriv");
        return;
    }
    for log_there in [true, false] {
        let sb = Sandbox::new("hook-gemini-ro");
        sidecar_beat(&sb, Some("prior-model"));
        let log = sb.path(&format!("{NAME}.hook.log"));
        if log_there {
            fs::write(&log, b"").unwrap();
            fs::set_permissions(&log, std::os::unix::fs::PermissionsExt::from_mode(0o666)).unwrap();
        }
        let before = snapshot_but_logs(&sb);
        let mut c = bare("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", WRITE])
            .arg("--dir")
            .arg(&sb.dir)
            .args(["--hook", "gemini"])
            .env("MOSAIC_AGENT_NAME", NAME);
        let r = run_with(c, &sb, Payload::Stdin(&fixture("gemini/before-agent.json")));
        quiet(&r);
        assert_eq!(snapshot_but_logs(&sb), before, "{}", r.explain());
        if log_there {
            assert!(logged_line(&sb, &format!("{NAME}.hook.log"), &r).contains("Permission denied"));
        } else {
            assert!(!log.exists(), "{}", listing(&sb.dir));
        }
    }
}

/// Qwen Code puts its session's model in every hook's environment: the
/// beat has it from the first hook on, and SessionStart's own wins.
#[test]
fn qwen_names_the_model_from_its_environment() {
    let sb = Sandbox::new("hook-qwen-model");
    sidecar_beat(&sb, None);
    let qwen = |file: &str, env: Option<&str>| {
        let mut c = sb.cmd(WRITE);
        c.env("MOSAIC_AGENT_NAME", NAME).args(["--hook", "qwen"]);
        match env {
            Some(m) => c.env("QWEN_CODE_MODEL", m),
            None => c.env_remove("QWEN_CODE_MODEL"),
        };
        quiet(&run_with(c, &sb, Payload::Stdin(&fixture(file))));
        let b = beat(&sb);
        (b["status"].clone(), b.get("model").cloned())
    };
    assert_eq!(
        qwen("qwen/user-prompt-submit.json", Some("qwen3-coder-plus")),
        ("busy".into(), Some("qwen3-coder-plus".into()))
    );
    // Switched with /model: the next hook says so.
    assert_eq!(
        qwen("qwen/pre-tool-use.json", Some("qwen3-max")),
        ("busy".into(), Some("qwen3-max".into()))
    );
    // Not in the environment: the beat keeps it.
    assert_eq!(
        qwen("qwen/stop.json", None),
        ("ok".into(), Some("qwen3-max".into()))
    );
    assert_eq!(
        qwen("qwen/session-start.json", Some("qwen3-max")),
        ("ok".into(), Some("qwen-hb-mock".into()))
    );
}

/// Qwen Code reads what a hook prints: every problem leaves both streams
/// empty, the beat as it was, and one line in the hook log.
#[test]
fn qwen_problems_go_to_the_hook_log_and_nowhere_else() {
    let good = fixture("qwen/stop.json");
    let cases: Vec<(&str, Option<&str>, String, &str)> = vec![
        // (what, MOSAIC_AGENT_NAME, payload, the logged line's end)
        (
            "truncated JSON",
            Some(NAME),
            good[..good.len() / 2].into(),
            "qwen: malformed JSON",
        ),
        (
            "no NAME",
            None,
            good.clone(),
            "qwen: MOSAIC_AGENT_NAME is not set",
        ),
        (
            "run by Qwen's detached supervisor",
            Some(NAME),
            fixture("qwen/stop-failure.json"),
            "qwen: unknown event 'StopFailure'",
        ),
        (
            "streamed text",
            Some(NAME),
            fixture("qwen/message-display.json"),
            "qwen: unknown event 'MessageDisplay'",
        ),
        (
            "a notification the installer does not ask for",
            Some(NAME),
            fixture("qwen/notification-auth-success.json"),
            "qwen: notification 'auth_success' changes no status",
        ),
    ];
    for (what, name, payload, logged) in cases {
        let sb = Sandbox::new("hook-qwen-log");
        sidecar_beat(&sb, Some("prior-model"));
        sb.put(&format!("{NAME}.hb.native"), b"");
        // The log is there already, so the directory itself is unchanged.
        let log = if name.is_some() {
            format!("{NAME}.hook.log")
        } else {
            "hook.log".into()
        };
        sb.put(&log, b"");
        let mut before = sb.snapshot();
        let mut c = sb.cmd(WRITE);
        c.args(["--hook", "qwen"]);
        if let Some(n) = name {
            c.env("MOSAIC_AGENT_NAME", n);
        }
        let r = run_with(c, &sb, Payload::Stdin(&payload));
        quiet(&r);
        let text = sb.read(&log);
        assert!(
            text.lines().count() == 1 && text.contains(logged),
            "{what}: the log holds {text:?}\n{}",
            r.explain()
        );
        let mut after = sb.snapshot();
        before.remove(&sb.path(&log));
        after.remove(&sb.path(&log));
        assert_eq!(after, before, "{what}: files changed\n{}", r.explain());
    }

    // A write that fails (the marker's place is a directory): logged.
    let sb = Sandbox::new("hook-qwen-sys");
    sidecar_beat(&sb, None);
    fs::create_dir(marker(&sb)).unwrap();
    let log = format!("{NAME}.hook.log");
    sb.put(&log, b"");
    let mut before = sb.snapshot();
    let r = hook(&sb, "qwen", Payload::Stdin(&good), &[]);
    quiet(&r);
    assert!(sb.read(&log).contains(" qwen: "), "{}", r.explain());
    let mut after = sb.snapshot();
    before.remove(&sb.path(&log));
    after.remove(&sb.path(&log));
    assert_eq!(after, before, "{}", r.explain());

    // No directory to write in (it is a file): nothing anywhere, no log made.
    let sb = Sandbox::new("hook-qwen-notdir");
    fs::write(&sb.dir, b"not a directory").unwrap();
    let before = sb.snapshot();
    quiet(&hook(&sb, "qwen", Payload::Stdin(&good), &[]));
    assert_eq!(sb.snapshot(), before);
}

// --- Copilot CLI: the event named by the hook's command, a silent runtime ---

/// A Copilot CLI hook call: `hb-write --hook copilot --event EVENT`, the
/// payload on stdin, HOME in the sandbox and no `COPILOT_*` of the test's
/// own environment, so only what a test puts there names a model.
fn copilot(sb: &Sandbox, event: &str, payload: &str, name: Option<&str>) -> Run {
    let mut c = sb.cmd(WRITE);
    c.args(["--hook", "copilot", "--event", event])
        .env("HOME", &sb.root)
        .env_remove("COPILOT_HOME")
        .env_remove("COPILOT_MODEL");
    if let Some(n) = name {
        c.env("MOSAIC_AGENT_NAME", n);
    }
    run_with(c, sb, Payload::Stdin(payload))
}

/// Copilot's payloads as 1.0.102 sent them (tests/fixtures/hooks/README.md),
/// the event each hook was installed for, and the beat it leaves.
const COPILOT_EVENTS: &[(&str, &str, &str)] = &[
    // It comes with the first prompt, unawaited: busy like the prompt.
    ("session-start.json", "sessionStart", "busy"),
    ("session-start-print.json", "sessionStart", "busy"),
    ("user-prompt-submitted.json", "userPromptSubmitted", "busy"),
    ("pre-tool-use.json", "preToolUse", "busy"),
    // Sent for tools Copilot approves by itself too: not waiting.
    ("permission-request.json", "permissionRequest", "busy"),
    ("permission-request-print.json", "permissionRequest", "busy"),
    (
        "notification-permission-prompt.json",
        "notification",
        "waiting",
    ),
    ("post-tool-use.json", "postToolUse", "busy"),
    ("error-occurred.json", "errorOccurred", "ok"),
    ("agent-stop.json", "agentStop", "ok"),
    ("agent-stop-print.json", "agentStop", "ok"),
    ("session-end.json", "sessionEnd", "clear"),
    ("session-end-print.json", "sessionEnd", "clear"),
];

fn copilot_fixture(file: &str) -> String {
    fixture(&format!("copilot/{file}"))
}

#[test]
fn every_recorded_copilot_event_leaves_its_beat() {
    let me = std::process::id().to_string();
    for &(file, event, want) in COPILOT_EVENTS {
        let sb = Sandbox::new("hook-copilot");
        sidecar_beat(&sb, Some("prior-model"));
        let before = sb.read(&format!("{NAME}.hb"));
        let r = copilot(&sb, event, &copilot_fixture(file), Some(NAME));
        quiet(&r);
        assert!(!sb.path(&format!("{NAME}.hook.log")).exists(), "{file}");
        if want == "clear" {
            assert!(!marker(&sb).exists(), "{file}: marker left");
            assert_eq!(sb.read(&format!("{NAME}.hb")), before, "{file}");
            continue;
        }
        let b = beat(&sb);
        assert_eq!(b["status"], want, "{file}\n{}", r.explain());
        assert_eq!(b["pid"], me, "{file}: the pane's pid must be kept");
        // No events file here and no COPILOT_MODEL: the beat's model.
        assert_eq!(b["model"], "prior-model", "{file}");
        assert_fresh_marker(&sb);
        sb.run(READ, &["--check", NAME]).expect(0);
    }
}

#[test]
fn copilot_names_the_model_of_the_sessions_events_file() {
    // The events file 1.0.102 wrote, where Copilot keeps it for the
    // session the payloads name.
    let sb = Sandbox::new("hook-copilot-model");
    sidecar_beat(&sb, Some("prior-model"));
    let pre = copilot_fixture("pre-tool-use.json");
    let id = pre.split("\"sessionId\":\"").nth(1).unwrap();
    let id = &id[..id.find('"').unwrap()];
    let state = sb.root.join(".copilot/session-state").join(id);
    fs::create_dir_all(&state).unwrap();
    let events = state.join("events.jsonl");
    fs::write(&events, copilot_fixture("events.jsonl")).unwrap();
    quiet(&copilot(&sb, "preToolUse", &pre, Some(NAME)));
    assert_eq!(beat(&sb)["model"], "hb-mock-model");

    // The operator switches models: the next event follows.
    let mut f = fs::OpenOptions::new().append(true).open(&events).unwrap();
    writeln!(f, r#"{{"type":"session.model_change","data":{{"source":"user","newModel":"gpt-switched","previousModel":"hb-mock-model"}},"id":"x","timestamp":"t","parentId":null}}"#).unwrap();
    quiet(&copilot(
        &sb,
        "postToolUse",
        &copilot_fixture("post-tool-use.json"),
        Some(NAME),
    ));
    assert_eq!(beat(&sb)["model"], "gpt-switched");

    // agentStop names the file itself (transcriptPath).
    let elsewhere = sb.root.join("elsewhere.jsonl");
    fs::write(&elsewhere, copilot_fixture("events.jsonl")).unwrap();
    let stop = copilot_fixture("agent-stop.json");
    let at = stop.find("\"transcriptPath\":\"").unwrap() + 18;
    let end = at + stop[at..].find('"').unwrap();
    let stop = format!("{}{}{}", &stop[..at], elsewhere.display(), &stop[end..]);
    quiet(&copilot(&sb, "agentStop", &stop, Some(NAME)));
    let b = beat(&sb);
    assert_eq!(
        (b["status"].as_str(), b["model"].as_str()),
        ("ok", "hb-mock-model")
    );

    // No events file: the model the operator set, which the hook inherits.
    let sb = Sandbox::new("hook-copilot-env");
    let mut c = sb.cmd(WRITE);
    c.args(["--hook", "copilot", "--event", "sessionStart"])
        .env("HOME", &sb.root)
        .env("MOSAIC_AGENT_NAME", NAME)
        .env("COPILOT_MODEL", "gpt-from-env")
        .env_remove("COPILOT_HOME");
    quiet(&run_with(
        c,
        &sb,
        Payload::Stdin(&copilot_fixture("session-start.json")),
    ));
    assert_eq!(beat(&sb)["model"], "gpt-from-env");
    // Before Copilot has written the file, `copilot --model M` names it,
    // before COPILOT_MODEL (the runtime here is python, which runs the
    // hook as Copilot would).
    let sb = Sandbox::new("hook-copilot-arg");
    let mut c = bare("python3");
    c.args([
        "-c",
        "import subprocess, sys; sys.exit(subprocess.call(sys.argv[3:]))",
        "--model",
        "gpt-from-arg",
        WRITE,
        "--hook",
        "copilot",
        "--event",
        "userPromptSubmitted",
    ])
    .env("MOSAIC_HEARTBEAT_DIR", &sb.dir)
    .env("MOSAIC_AGENT_NAME", NAME)
    .env("HOME", &sb.root)
    .env("COPILOT_MODEL", "gpt-from-env")
    .env_remove("COPILOT_HOME");
    let payload = copilot_fixture("user-prompt-submitted.json");
    quiet(&run_with(c, &sb, Payload::Stdin(&payload)));
    assert_eq!(beat(&sb)["model"], "gpt-from-arg");
}

/// The one line a silent hook logged (and nothing else in that log).
#[track_caller]
fn logged(log: &Path, want: &str) {
    let text = fs::read_to_string(log).unwrap_or_else(|e| panic!("{}: {e}", log.display()));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1, "{text}");
    assert!(
        lines[0].contains("Z copilot: ") && lines[0].contains(want),
        "{want:?} not in {text:?}"
    );
}

/// Every event Copilot's table knows.
const COPILOT_TABLE: &[&str] = &[
    "sessionStart",
    "userPromptSubmitted",
    "preToolUse",
    "permissionRequest",
    "postToolUse",
    "postToolUseFailure",
    "preCompact",
    "subagentStart",
    "subagentStop",
    "notification",
    "errorOccurred",
    "agentStop",
    "sessionEnd",
];

/// Copilot CLI denies a tool when a preToolUse hook exits 1 or 2, and a
/// permission when a permissionRequest hook prints what is not its JSON.
/// So every event the runtime knows, with a malformed payload, without a
/// NAME, or with a directory it cannot write, exits 0 with nothing on
/// stdout or stderr, leaves the beat and the marker as they were, and
/// says what went wrong in the hook log.
#[test]
fn copilot_hooks_never_speak_and_never_fail_whatever_goes_wrong() {
    let shipped = fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("integrations/copilot/mosaic-heartbeat.json"),
    )
    .unwrap();
    // Every event the installer hooks is in the table.
    for line in shipped.lines().filter(|l| l.contains("\"bash\"")) {
        let event = line.split("--event ").nth(1).unwrap();
        let event = event.split(' ').next().unwrap();
        assert!(
            COPILOT_TABLE.contains(&event),
            "{event} is not in the table"
        );
    }
    let prompt = copilot_fixture("notification-permission-prompt.json");
    let pre = copilot_fixture("pre-tool-use.json");
    let as_nobody = unprivileged();
    for &event in COPILOT_TABLE {
        let good = if event == "notification" {
            &prompt
        } else {
            &pre
        };
        let sb = Sandbox::new("hook-copilot-bad");
        sidecar_beat(&sb, Some("prior-model"));
        sb.put(&format!("{NAME}.hb.native"), b"");
        let before = snapshot_but_logs(&sb);
        let log = sb.path(&format!("{NAME}.hook.log"));

        // A malformed payload.
        quiet(&copilot(&sb, event, &good[..good.len() / 2], Some(NAME)));
        logged(&log, "malformed JSON");
        fs::remove_file(&log).unwrap();
        assert_eq!(snapshot_but_logs(&sb), before, "{event}: files changed");

        // No NAME: the directory's own hook log says so.
        quiet(&copilot(&sb, event, good, None));
        logged(&sb.path("hook.log"), "MOSAIC_AGENT_NAME is not set");
        assert_eq!(snapshot_but_logs(&sb), before, "{event}: files changed");

        // A directory the hook cannot write: as root, the hook runs as
        // nobody; else the directory is made read-only. The log is made
        // writable first, so that its line can be read.
        fs::write(&log, "").unwrap();
        fs::set_permissions(&log, fs::Permissions::from_mode(0o666)).unwrap();
        let mut c = match as_nobody.split_first() {
            Some((setpriv, args)) => {
                let mut c = bare(setpriv);
                c.args(args).arg(WRITE);
                c
            }
            None => {
                fs::set_permissions(&sb.dir, fs::Permissions::from_mode(0o555)).unwrap();
                bare(WRITE)
            }
        };
        c.arg("--dir")
            .arg(&sb.dir)
            .args(["--hook", "copilot", "--event", event])
            .env("HOME", &sb.root)
            .env("MOSAIC_AGENT_NAME", NAME)
            .env_remove("COPILOT_HOME")
            .env_remove("COPILOT_MODEL");
        let r = run_with(c, &sb, Payload::Stdin(good));
        fs::set_permissions(&sb.dir, fs::Permissions::from_mode(0o755)).unwrap();
        quiet(&r);
        logged(&log, "Permission denied");
        assert_eq!(snapshot_but_logs(&sb), before, "{event}: files changed");
    }

    // Neither an event that is not Copilot's nor none at all.
    let sb = Sandbox::new("hook-copilot-event");
    sidecar_beat(&sb, None);
    let before = snapshot_but_logs(&sb);
    quiet(&copilot(&sb, "PreToolUse", &pre, Some(NAME)));
    let mut c = sb.cmd(WRITE);
    c.args(["--hook", "copilot"]).env("MOSAIC_AGENT_NAME", NAME);
    quiet(&run_with(c, &sb, Payload::Stdin(&pre)));
    let log = fs::read_to_string(sb.path(&format!("{NAME}.hook.log"))).unwrap();
    assert!(log.contains("unknown event 'PreToolUse'"), "{log}");
    assert!(log.contains("payload names no event"), "{log}");
    assert_eq!(snapshot_but_logs(&sb), before);
}

/// How a hook runs that cannot write the sandbox's directory: as root,
/// as nobody (`setpriv`); else as ourselves, with the directory made
/// read-only (the caller's part).
fn unprivileged() -> Vec<&'static str> {
    // SAFETY: geteuid cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return Vec::new();
    }
    vec![
        "setpriv",
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
    ]
}

/// Aider runs its notifications command with the operator's terminal as
/// stdin: the hook reads not a byte of it (a read would steal a keystroke,
/// and a terminal never ends, so a reading hook would stall Aider). It
/// names Aider's chat history as the record the sidecar follows.
#[test]
fn aider_hooks_read_nothing_from_their_stdin() {
    use std::io::Read;
    use std::os::fd::{FromRawFd, OwnedFd};
    let sb = Sandbox::new("hook-aider-stdin");
    sidecar_beat(&sb, Some("prior-model"));
    // A pipe whose writer stays open, holding a keystroke.
    let mut fds = [0; 2];
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    // SAFETY: both descriptors were just made by pipe(2) and are ours.
    let (r, w) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    let mut w = fs::File::from(w);
    w.write_all(b"y\n").unwrap();
    let mut c = sb.cmd(WRITE);
    c.env("MOSAIC_AGENT_NAME", NAME)
        .env("AIDER_MODEL", "aider-test-model")
        .args(["--hook", "aider"])
        .stdin(Stdio::from(r.try_clone().unwrap()))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    let end = std::time::Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if std::time::Instant::now() > end {
            let _ = child.kill();
            panic!("the aider hook is still running: it waits on its stdin");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let out = child.wait_with_output().unwrap();
    assert!(status.success(), "{status:?} {out:?}");
    assert!(out.stdout.is_empty() && out.stderr.is_empty(), "{out:?}");
    // The keystroke is still there for Aider.
    drop(w);
    let mut left = String::new();
    fs::File::from(r).read_to_string(&mut left).unwrap();
    assert_eq!(left, "y\n");
    let b = beat(&sb);
    assert_eq!(
        (b["status"].as_str(), b["model"].as_str()),
        ("ok", "aider-test-model")
    );
    let pointer = sb.read(&format!(".{NAME}.record"));
    assert!(
        pointer.starts_with("aider\n") && pointer.ends_with("/.aider.chat.history.md\n"),
        "{pointer:?}"
    );
}

#[test]
fn vibe_names_the_model_from_the_sessions_meta_and_ignores_a_subagent() {
    let sb = Sandbox::new("hook-vibe-model");
    sidecar_beat(&sb, Some("prior-model"));
    let session = sb.dir.join("session");
    fs::create_dir_all(&session).unwrap();
    fs::write(
        session.join("meta.json"),
        r#"{"session_id":"s","config":{"active_model":"devstral","model_name":"devstral-2-25"}}"#,
    )
    .unwrap();
    let payload = |extra: &str| {
        format!(
            r#"{{"session_id":"s","transcript_path":{},"cwd":"/","parent_session_id":{extra},"hook_event_name":"post_agent","agent_name":"accept-edits"}}"#,
            nanoserde::SerJson::serialize_json(&session.display().to_string())
        )
    };
    // A subagent's turn ends: nothing changes.
    let before = sb.read(&format!("{NAME}.hb"));
    quiet(&hook(
        &sb,
        "vibe",
        Payload::Stdin(&payload(r#""parent-1""#)),
        &[],
    ));
    assert_eq!(sb.read(&format!("{NAME}.hb")), before);
    assert!(!marker(&sb).exists());
    // The session's own: ok, with the model its meta.json names.
    quiet(&hook(&sb, "vibe", Payload::Stdin(&payload("null")), &[]));
    let b = beat(&sb);
    assert_eq!(
        (b["status"].as_str(), b["model"].as_str()),
        ("ok", "devstral-2-25")
    );
}

#[test]
fn cline_names_the_model_from_its_session_file() {
    let sb = Sandbox::new("hook-cline-model");
    sidecar_beat(&sb, None);
    let json = fixture("cline/task-start.json");
    let id = "1796445951443_su5s5";
    assert!(json.contains(id), "the fixture's rootSessionId");
    let sessions = sb.dir.join("cline-sessions");
    fs::create_dir_all(sessions.join(id)).unwrap();
    fs::write(
        sessions.join(id).join(format!("{id}.json")),
        fixture("cline/session.json"),
    )
    .unwrap();
    let mut c = sb.cmd(WRITE);
    c.env("MOSAIC_AGENT_NAME", NAME)
        .env("CLINE_SESSION_DATA_DIR", &sessions)
        .args(["--hook", "cline"]);
    quiet(&run_with(c, &sb, Payload::Stdin(&json)));
    let b = beat(&sb);
    assert_eq!(
        (b["status"].as_str(), b["model"].as_str()),
        ("busy", "hb-mock-model")
    );
}
