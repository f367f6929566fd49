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

/// The user's own Qwen Code settings: a provider, an approval mode and
/// hooks of their own on events we hook too.
const QWEN_USER_SETTINGS: &str = r#"{
  "security": {
    "auth": {
      "selectedType": "openai"
    }
  },
  "tools": {
    "approvalMode": "default"
  },
  "hooks": {
    "PreToolUse": [
      {
        "matcher": "run_shell_command",
        "hooks": [
          {
            "type": "command",
            "command": "my-audit",
            "timeout": 10
          }
        ]
      }
    ],
    "Stop": [
      {
        "hooks": [
          {
            "type": "command",
            "command": "my-notify"
          }
        ]
      }
    ]
  }
}
"#;

#[test]
fn qwen_settings_keep_the_users_hooks_and_come_back_byte_for_byte() {
    if !have_node() {
        return;
    }
    let h = Home::new("qwen");
    let file = h.0.join(".qwen/settings.json");
    fs::create_dir_all(file.parent().unwrap()).unwrap();
    fs::write(&file, QWEN_USER_SETTINGS).unwrap();

    let out = ok(&h.run(&["qwen"]));
    assert_eq!(out.matches("added ").count(), 7, "{out}");
    let now = fs::read_to_string(&file).unwrap();
    let v = now.replace([' ', '\n'], "");
    for kept in [
        r#""selectedType":"openai""#,
        r#""approvalMode":"default""#,
        r#""matcher":"run_shell_command","hooks":[{"type":"command","command":"my-audit","timeout":10}]"#,
        r#""command":"my-notify""#,
        // Qwen's timeout is in seconds.
        r#""hooks":[{"type":"command","command":"hb-write--hookqwen","timeout":5}]"#,
        r#""matcher":"permission_prompt|idle_prompt""#,
    ] {
        assert!(v.contains(kept), "{kept} not in:\n{now}");
    }
    assert_eq!(now.matches("hb-write --hook qwen").count(), 7, "{now}");
    // Only the events the mapping needs: none that Qwen runs through its
    // detached supervisor.
    for event in [
        "MessageDisplay",
        "StopFailure",
        "SessionDelete",
        "PostToolUse",
    ] {
        assert!(!now.contains(&format!("\"{event}\"")), "{event}:\n{now}");
    }
    // The user's hooks stay first.
    assert!(now.find("my-audit").unwrap() < now.rfind("hb-write --hook qwen").unwrap());

    let out = ok(&h.run(&["qwen"]));
    assert!(out.contains("nothing to change"), "{out}");
    assert_eq!(fs::read_to_string(&file).unwrap(), now);

    let out = ok(&h.run(&["--uninstall", "qwen"]));
    assert_eq!(out.matches("removed ").count(), 7, "{out}");
    assert_eq!(fs::read_to_string(&file).unwrap(), QWEN_USER_SETTINGS);
}

#[test]
fn qwen_home_moves_the_settings() {
    if !have_node() {
        return;
    }
    let h = Home::new("qwen-home");
    let qhome = h.0.join("elsewhere");
    let o = Command::new(SCRIPT)
        .arg("qwen")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &h.0)
        .env("QWEN_HOME", &qhome)
        .output()
        .unwrap();
    ok(&o);
    assert!(qhome.join("settings.json").exists(), "{}", text(&o));
    assert!(!h.0.join(".qwen").exists());
}
