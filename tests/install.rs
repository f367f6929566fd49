//! `scripts/hb-install-hooks` on configurations that already hold the
//! user's own settings and hooks: it adds exactly its entries, a second run
//! changes nothing, `--uninstall` gives back the user's file byte for byte.
//! Codex's trust step needs a real Codex and is proven by `make e2e`
//! (every Codex mode is configured by this script alone).
//!
//! Runs when node is present (the script is a Node program); without it,
//! it prints a note and passes, as tests/pi.rs does.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/hb-install-hooks");

fn have_node() -> bool {
    let ok = Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("NOTE: skipping the installer tests: node is not installed");
    }
    ok
}

struct Home(PathBuf);

impl Home {
    fn new(tag: &str) -> Home {
        let p = std::env::temp_dir().join(format!(
            "hb-install-{tag}-{}-{}",
            std::process::id(),
            fastrand::u64(..)
        ));
        fs::create_dir_all(&p).unwrap();
        Home(p)
    }
    fn run(&self, args: &[&str]) -> Output {
        Command::new(SCRIPT)
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &self.0)
            .output()
            .unwrap()
    }
}

impl Drop for Home {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn text(o: &Output) -> String {
    format!(
        "{}\nstdout:\n{}stderr:\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[track_caller]
fn ok(o: &Output) -> String {
    assert_eq!(o.status.code(), Some(0), "{}", text(o));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The user's own Claude Code settings: a model, permissions, env, and
/// hooks of their own on events we hook too.
const USER_SETTINGS: &str = r#"{
  "model": "opus",
  "permissions": {
    "allow": [
      "Bash(git status)"
    ]
  },
  "env": {
    "FOO": "bar"
  },
  "hooks": {
    "PreToolUse": [
      {
        "matcher": "Bash",
        "hooks": [
          {
            "type": "command",
            "command": "my-audit --log /tmp/x"
          }
        ]
      }
    ],
    "Stop": [
      {
        "hooks": [
          {
            "type": "command",
            "command": "notify-send done"
          }
        ]
      }
    ]
  }
}
"#;

#[test]
fn claude_settings_keep_the_users_hooks_and_come_back_byte_for_byte() {
    if !have_node() {
        return;
    }
    let h = Home::new("claude");
    let file = h.0.join(".claude/settings.json");
    fs::create_dir_all(file.parent().unwrap()).unwrap();
    fs::write(&file, USER_SETTINGS).unwrap();

    let out = ok(&h.run(&["claude"]));
    assert_eq!(out.matches("added ").count(), 9, "{out}");
    let now = fs::read_to_string(&file).unwrap();
    for kept in [
        "\"model\": \"opus\"",
        "Bash(git status)",
        "\"FOO\": \"bar\"",
        "my-audit --log /tmp/x",
        "notify-send done",
    ] {
        assert!(now.contains(kept), "{kept} lost:\n{now}");
    }
    assert_eq!(now.matches("hb-write --hook claude").count(), 9, "{now}");
    // The user's hook stays first: ours come after.
    let pre = now.find("my-audit").unwrap();
    let ours = now[now.find("\"PreToolUse\"").unwrap()..]
        .find("hb-write --hook claude")
        .unwrap()
        + now.find("\"PreToolUse\"").unwrap();
    assert!(pre < ours, "{now}");

    // Idempotent.
    let out = ok(&h.run(&["claude"]));
    assert!(out.contains("nothing to change"), "{out}");
    assert_eq!(fs::read_to_string(&file).unwrap(), now);

    // --uninstall removes exactly what was added.
    let out = ok(&h.run(&["--uninstall", "claude"]));
    assert_eq!(out.matches("removed ").count(), 9, "{out}");
    assert_eq!(fs::read_to_string(&file).unwrap(), USER_SETTINGS);
    let out = ok(&h.run(&["--uninstall", "claude"]));
    assert!(out.contains("nothing to change"), "{out}");
}

#[test]
fn claude_without_settings_gets_a_file_and_the_dry_run_writes_none() {
    if !have_node() {
        return;
    }
    let h = Home::new("claude-new");
    let file = h.0.join(".claude/settings.json");
    let out = ok(&h.run(&["--dry-run", "claude"]));
    assert_eq!(out.matches("added ").count(), 9, "{out}");
    assert!(!file.exists());
    ok(&h.run(&["claude"]));
    let json = fs::read_to_string(&file).unwrap();
    assert!(
        json.contains("\"matcher\": \"permission_prompt|idle_prompt\""),
        "{json}"
    );
}

#[test]
fn bad_usage_and_a_broken_file_change_nothing() {
    if !have_node() {
        return;
    }
    let h = Home::new("claude-bad");
    for args in [&[][..], &["vim"][..], &["--bogus", "claude"][..]] {
        let o = h.run(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o));
        assert!(String::from_utf8_lossy(&o.stderr).starts_with("hb-install-hooks: error: "));
    }
    let file = h.0.join(".claude/settings.json");
    fs::create_dir_all(file.parent().unwrap()).unwrap();
    fs::write(&file, "{ \"model\": ").unwrap();
    let o = h.run(&["claude"]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert_eq!(fs::read_to_string(&file).unwrap(), "{ \"model\": ");
}

#[test]
fn the_pi_extension_is_installed_once_and_a_changed_copy_is_left_alone() {
    if !have_node() {
        return;
    }
    let h = Home::new("pi");
    let dest = h.0.join(".pi/agent/extensions/mosaic-heartbeat.ts");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("integrations/pi/mosaic-heartbeat.ts");
    // The user's own extension beside it stays.
    fs::create_dir_all(dest.parent().unwrap()).unwrap();
    fs::write(dest.with_file_name("mine.ts"), "export default () => {};\n").unwrap();

    assert!(ok(&h.run(&["pi"])).contains("installed"));
    assert_eq!(fs::read(&dest).unwrap(), fs::read(&src).unwrap());
    assert!(ok(&h.run(&["pi"])).contains("nothing to change"));
    assert!(ok(&h.run(&["--uninstall", "pi"])).contains("removed"));
    assert!(!dest.exists());
    assert!(dest.with_file_name("mine.ts").exists());

    // A copy the user edited is theirs now.
    ok(&h.run(&["pi"]));
    fs::write(&dest, "// edited\n").unwrap();
    assert!(ok(&h.run(&["--uninstall", "pi"])).contains("left in place"));
    assert_eq!(fs::read_to_string(&dest).unwrap(), "// edited\n");
}

#[test]
fn copilot_hooks_are_a_file_of_their_own_and_the_users_stay() {
    if !have_node() {
        return;
    }
    let h = Home::new("copilot");
    let hooks = h.0.join(".copilot/hooks");
    let file = hooks.join("mosaic-heartbeat.json");
    let mine = "{\"version\":1,\"hooks\":{\"preToolUse\":[{\"type\":\"command\",\"bash\":\"my-audit\"}]}}\n";
    let settings = "{\"model\": \"gpt-5\"}\n";
    fs::create_dir_all(&hooks).unwrap();
    fs::write(hooks.join("mine.json"), mine).unwrap();
    fs::write(h.0.join(".copilot/settings.json"), settings).unwrap();

    let out = ok(&h.run(&["--dry-run", "copilot"]));
    assert_eq!(out.matches("added ").count(), 10, "{out}");
    assert!(!file.exists());
    let out = ok(&h.run(&["copilot"]));
    assert_eq!(out.matches("added ").count(), 10, "{out}");
    // What a hand install copies is what the installer writes.
    let shipped =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("integrations/copilot/mosaic-heartbeat.json");
    let ours = fs::read_to_string(&file).unwrap();
    assert_eq!(ours, fs::read_to_string(shipped).unwrap());
    assert!(ours.contains("\"matcher\": \"permission_prompt|elicitation_dialog\""));
    assert!(ok(&h.run(&["copilot"])).contains("nothing to change"));
    assert_eq!(fs::read_to_string(&file).unwrap(), ours);

    // An entry the user added to our file stays when ours go.
    let edited = ours.replacen(
        "\"agentStop\": [",
        "\"agentStop\": [\n      {\"type\": \"command\", \"bash\": \"notify-send done\"},",
        1,
    );
    fs::write(&file, &edited).unwrap();
    let out = ok(&h.run(&["--uninstall", "copilot"]));
    assert_eq!(out.matches("removed ").count(), 10, "{out}");
    let left = fs::read_to_string(&file).unwrap();
    assert!(
        left.contains("notify-send done") && !left.contains("hb-write"),
        "{left}"
    );
    fs::remove_file(&file).unwrap();
    ok(&h.run(&["copilot"]));
    let out = ok(&h.run(&["--uninstall", "copilot"]));
    assert!(out.contains("removed the file, now empty"), "{out}");
    assert!(!file.exists());
    assert!(ok(&h.run(&["--uninstall", "copilot"])).contains("nothing to change"));
    assert_eq!(fs::read_to_string(hooks.join("mine.json")).unwrap(), mine);
    assert_eq!(
        fs::read_to_string(h.0.join(".copilot/settings.json")).unwrap(),
        settings
    );

    // $COPILOT_HOME moves it; a file of another version is left alone.
    let home = h.0.join("copilot-home");
    let o = Command::new(SCRIPT)
        .arg("copilot")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &h.0)
        .env("COPILOT_HOME", &home)
        .output()
        .unwrap();
    ok(&o);
    assert!(home.join("hooks/mosaic-heartbeat.json").exists());
    fs::write(&file, "{\"version\": 2}\n").unwrap();
    let o = h.run(&["copilot"]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert_eq!(fs::read_to_string(&file).unwrap(), "{\"version\": 2}\n");
}
