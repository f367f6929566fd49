//! `scripts/hb-install-hooks` on configurations that already hold the
//! user's own settings and hooks: it adds exactly its entries, a second run
//! changes nothing, `--uninstall` gives back the user's file byte for byte.
//! Codex's trust step needs a real Codex and is proven by `make e2e`
//! (every Codex mode is configured by this script alone); so do Gemini
//! CLI's `gemini extensions` commands, played here by a stand-in.
//!
//! Runs when node is present (the script is a Node program); without it,
//! it prints a note and passes, as tests/pi.rs does.

use std::fs;
use std::os::unix::fs::PermissionsExt;
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
        self.run_with(args, &[])
    }
    /// With more of the environment: a runtime's own home variable.
    fn run_with(&self, args: &[&str], vars: &[(&str, &Path)]) -> Output {
        Command::new(SCRIPT)
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &self.0)
            .envs(vars.iter().copied())
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
    let o = h.run_with(&["qwen"], &[("QWEN_HOME", &qhome)]);
    ok(&o);
    assert!(qhome.join("settings.json").exists(), "{}", text(&o));
    assert!(!h.0.join(".qwen").exists());
}

/// A stand-in for Gemini CLI's `gemini extensions install|uninstall` (the
/// real one is proven by `make e2e`): it refuses to install unless the
/// folder is trusted (as Gemini does, which the installer answers with
/// GEMINI_CLI_TRUST_WORKSPACE), copies the extension where Gemini keeps
/// it with Gemini's install record beside, refuses an extension that is
/// already there, and logs each call.
const FAKE_GEMINI: &str = r#"#!/usr/bin/env bash
set -euo pipefail
printf '%s trust=%s\n' "$*" "${GEMINI_CLI_TRUST_WORKSPACE:-}" >>"$HOME/gemini-calls"
ext=${GEMINI_CLI_HOME:-$HOME}/.gemini/extensions
case "$1 $2" in
"extensions install")
    [[ ${GEMINI_CLI_TRUST_WORKSPACE:-} == true ]] || { echo "not trusted" >&2; exit 1; }
    [[ $4 == --consent ]] || { echo "no consent" >&2; exit 1; }
    name=$(sed -n 's/^ *"name": "\(.*\)",$/\1/p' "$3/gemini-extension.json")
    [[ ! -e $ext/$name ]] || { echo "Extension \"$name\" is already installed." >&2; exit 1; }
    mkdir -p "$ext" && cp -R "$3" "$ext/$name"
    printf '{"source": "%s", "type": "local"}' "$3" >"$ext/$name/.gemini-extension-install.json"
    ;;
"extensions uninstall")
    [[ -d $ext/$3 ]] || { echo "Extension not found." >&2; exit 1; }
    rm -rf "${ext:?}/$3"
    ;;
*) exit 2 ;;
esac
"#;

/// The user's own Gemini settings, which the installer never touches.
const GEMINI_SETTINGS: &str = r#"{
  "model": {"name": "gemini-2.5-pro"},
  "hooks": {"AfterAgent": [{"hooks": [{"type": "command", "command": "notify-send done"}]}]}
}
"#;

impl Home {
    /// The installer with the stand-in `gemini` (HB_GEMINI).
    fn gemini(&self, args: &[&str]) -> Output {
        let fake = self.0.join("gemini");
        if !fake.exists() {
            fs::write(&fake, FAKE_GEMINI).unwrap();
            fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755))
                .unwrap();
        }
        self.gemini_with(&fake, args)
    }
    /// The installer with `bin` as Gemini CLI.
    fn gemini_with(&self, bin: &Path, args: &[&str]) -> Output {
        Command::new(SCRIPT)
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &self.0)
            .env("HB_GEMINI", bin)
            .output()
            .unwrap()
    }
    fn gemini_calls(&self) -> String {
        fs::read_to_string(self.0.join("gemini-calls")).unwrap_or_default()
    }
}

/// Every file under `dir`, relative, with its bytes.
fn tree(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                todo.push(p);
            } else {
                out.push((
                    p.strip_prefix(dir).unwrap().to_path_buf(),
                    fs::read(&p).unwrap(),
                ));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn the_gemini_extension_is_installed_and_removed_by_geminis_own_command() {
    if !have_node() {
        return;
    }
    let h = Home::new("gemini");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("integrations/gemini");
    let dest = h.0.join(".gemini/extensions/hb-heartbeat");
    let settings = h.0.join(".gemini/settings.json");
    fs::create_dir_all(settings.parent().unwrap()).unwrap();
    fs::write(&settings, GEMINI_SETTINGS).unwrap();

    // A dry run calls nothing and writes nothing.
    let out = ok(&h.gemini(&["--dry-run", "gemini"]));
    assert!(out.contains("installed from "), "{out}");
    assert!(!dest.exists() && h.gemini_calls().is_empty());

    let out = ok(&h.gemini(&["gemini"]));
    assert!(
        out.contains(&format!("{}: installed from", dest.display())),
        "{out}"
    );
    let calls = h.gemini_calls();
    assert_eq!(
        calls,
        format!(
            "extensions install {} --consent --skip-settings trust=true\n",
            src.display()
        )
    );
    let mut installed = tree(&dest);
    installed.retain(|(p, _)| p != Path::new(".gemini-extension-install.json"));
    assert_eq!(installed, tree(&src));
    assert_eq!(fs::read_to_string(&settings).unwrap(), GEMINI_SETTINGS);

    // Idempotent: the copy is this version's, so Gemini is not even asked.
    assert!(ok(&h.gemini(&["gemini"])).contains("nothing to change"));
    assert_eq!(h.gemini_calls(), calls);

    // An older copy is replaced: Gemini installs over none.
    fs::write(dest.join("hooks/hooks.json"), "{\"hooks\": {}}\n").unwrap();
    let out = ok(&h.gemini(&["gemini"]));
    assert!(out.contains("updated"), "{out}");
    assert!(h.gemini_calls()[calls.len()..].starts_with("extensions uninstall hb-heartbeat"));
    assert_eq!(
        fs::read(dest.join("hooks/hooks.json")).unwrap(),
        fs::read(src.join("hooks/hooks.json")).unwrap()
    );

    // --uninstall: through Gemini, and only the extension goes.
    let out = ok(&h.gemini(&["--uninstall", "gemini"]));
    assert!(out.contains("removed"), "{out}");
    assert!(!dest.exists());
    assert_eq!(fs::read_to_string(&settings).unwrap(), GEMINI_SETTINGS);
    assert!(ok(&h.gemini(&["--uninstall", "gemini"])).contains("nothing to change"));
}

#[test]
fn without_a_working_gemini_the_installer_says_why_and_exits_3() {
    if !have_node() {
        return;
    }
    let h = Home::new("gemini-none");
    let o = h.gemini_with(&h.0.join("no-such-gemini"), &["gemini"]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.starts_with("hb-install-hooks: error: unable to run "),
        "{err}"
    );
    assert!(!h.0.join(".gemini/extensions").exists());

    // Gemini refuses (an administrator's allowlist, say): its words, exit 3.
    let refusing = h.0.join("refusing-gemini");
    fs::write(
        &refusing,
        "#!/bin/sh\necho 'Installing extension from source is not allowed' >&2\nexit 1\n",
    )
    .unwrap();
    fs::set_permissions(
        &refusing,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let o = h.gemini_with(&refusing, &["gemini"]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("exit 1: Installing extension from source is not allowed"),
        "{err}"
    );
    assert!(!h.0.join(".gemini/extensions").exists());
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
    ok(&h.run_with(&["copilot"], &[("COPILOT_HOME", &home)]));
    assert!(home.join("hooks/mosaic-heartbeat.json").exists());
    fs::write(&file, "{\"version\": 2}\n").unwrap();
    let o = h.run(&["copilot"]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert_eq!(fs::read_to_string(&file).unwrap(), "{\"version\": 2}\n");
}

#[test]
fn the_opencode_plugin_goes_beside_the_users_own_and_comes_back_out() {
    if !have_node() {
        return;
    }
    let h = Home::new("opencode");
    let dir = h.0.join(".config/opencode");
    let dest = dir.join("plugins/mosaic-heartbeat.ts");
    let src =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("integrations/opencode/mosaic-heartbeat.ts");
    // The user's settings and plugin, and OpenCode's dependencies as an
    // online start leaves them.
    fs::create_dir_all(dir.join("plugins")).unwrap();
    fs::create_dir_all(dir.join("node_modules/@opencode-ai/plugin")).unwrap();
    fs::write(
        dir.join("opencode.json"),
        "{ \"model\": \"a/b\" } // mine\n",
    )
    .unwrap();
    fs::write(
        dir.join("plugins/mine.js"),
        "export default async () => ({});\n",
    )
    .unwrap();
    fs::write(
        dir.join("package.json"),
        r#"{"dependencies":{"@opencode-ai/plugin":"1.18.33"}}"#,
    )
    .unwrap();
    fs::write(
        dir.join("package-lock.json"),
        r#"{"lockfileVersion":3,"packages":{"":{"dependencies":{"@opencode-ai/plugin":"1.18.33"}}}}"#,
    )
    .unwrap();
    let before = tree(&h.0);

    let out = ok(&h.run(&["opencode"]));
    assert!(
        out.contains("plugins/mosaic-heartbeat.ts: installed"),
        "{out}"
    );
    assert!(!out.contains("note:"), "{out}");
    assert_eq!(fs::read(&dest).unwrap(), fs::read(&src).unwrap());
    assert!(ok(&h.run(&["opencode"])).contains("nothing to change"));

    let out = ok(&h.run(&["--uninstall", "opencode"]));
    assert_eq!(out.matches("removed").count(), 1, "{out}");
    assert_eq!(
        tree(&h.0),
        before,
        "--uninstall did not give the directory back"
    );
    assert!(ok(&h.run(&["--uninstall", "opencode"])).contains("nothing to change"));

    // A copy the user edited is theirs now.
    ok(&h.run(&["opencode"]));
    fs::write(&dest, "// edited\n").unwrap();
    assert!(ok(&h.run(&["--uninstall", "opencode"])).contains("left in place"));
    assert_eq!(fs::read_to_string(&dest).unwrap(), "// edited\n");
}

#[test]
fn opencode_says_when_its_next_start_runs_npm_and_honours_xdg() {
    if !have_node() {
        return;
    }
    let h = Home::new("opencode-xdg");
    let xdg = h.0.join("xdg");
    let dir = xdg.join("opencode");
    let env = [("XDG_CONFIG_HOME", xdg.as_path())];
    // No node_modules: OpenCode will install, and wait for it, at start.
    let out = ok(&h.run_with(&["opencode"], &env));
    assert!(
        out.contains(&format!(
            "{}: installed",
            dir.join("plugins/mosaic-heartbeat.ts").display()
        )),
        "{out}"
    );
    assert!(
        out.contains("note: OpenCode's next start installs @opencode-ai/plugin"),
        "{out}"
    );
    assert!(!h.0.join(".config").exists());
    // node_modules, but a dependency the lock does not list: still.
    fs::create_dir_all(dir.join("node_modules")).unwrap();
    fs::write(
        dir.join("package.json"),
        r#"{"dependencies":{"left-pad":"1.3.0"}}"#,
    )
    .unwrap();
    fs::write(
        dir.join("package-lock.json"),
        r#"{"packages":{"":{"dependencies":{"@opencode-ai/plugin":"1.18.33"}}}}"#,
    )
    .unwrap();
    assert!(ok(&h.run_with(&["opencode"], &env)).contains("note:"));
    // What it made, it takes back: the file and the directory it made.
    let out = ok(&h.run_with(&["--uninstall", "opencode"], &env));
    assert!(out.contains("now empty"), "{out}");
    assert!(!dir.join("plugins").exists());
    // --dry-run writes nothing.
    let out = ok(&h.run_with(&["--dry-run", "opencode"], &env));
    assert!(out.contains("installed"), "{out}");
    assert!(!dir.join("plugins").exists());
}

/// A user's Hermes config.yaml: four-space event indent, list items at the
/// key's indent, a comment, a hook of their own on an event we hook too.
const HERMES_USER_CONFIG: &str = "model:
  default: x  # mine
hooks:
    # my hooks
    on_session_end:
    - command: notify-send done
      timeout: 3
    pre_verify:
    - command: my-check
display:
  skin: dark
";

#[test]
fn hermes_hooks_and_approvals_come_back_out_byte_for_byte() {
    if !have_node() {
        return;
    }
    let h = Home::new("hermes");
    let dir = h.0.join(".hermes");
    fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("config.yaml");
    let allow = dir.join("shell-hooks-allowlist.json");
    fs::write(&cfg, HERMES_USER_CONFIG).unwrap();
    let mine = "{\n  \"approvals\": [\n    {\n      \"approved_at\": \"2026-01-01T00:00:00.000001Z\",\n      \"command\": \"notify-send done\",\n      \"event\": \"on_session_end\",\n      \"script_mtime_at_approval\": null\n    }\n  ]\n}";
    fs::write(&allow, mine).unwrap();

    let out = ok(&h.run(&["hermes"]));
    assert_eq!(out.matches("added ").count(), 9, "{out}");
    let now = fs::read_to_string(&cfg).unwrap();
    // Ours after the user's, at their indents; new events in the block.
    assert!(
        now.contains("    on_session_end:\n    - command: notify-send done\n      timeout: 3\n    - command: hb-write --hook hermes\n      timeout: 5\n"),
        "{now}"
    );
    assert!(
        now.contains("    pre_tool_call:\n      - command: hb-write --hook hermes\n"),
        "{now}"
    );
    assert!(now.ends_with("display:\n  skin: dark\n"), "{now}");
    assert_eq!(now.matches("hb-write --hook hermes").count(), 9, "{now}");
    let list = fs::read_to_string(&allow).unwrap();
    assert_eq!(
        list.matches("\"command\": \"hb-write --hook hermes\"")
            .count(),
        9
    );
    assert!(list.starts_with(&mine[..mine.len() - 6]), "{list}");

    let out = ok(&h.run(&["hermes"]));
    assert!(out.contains("nothing to change"), "{out}");

    ok(&h.run(&["--uninstall", "hermes"]));
    assert_eq!(fs::read_to_string(&cfg).unwrap(), HERMES_USER_CONFIG);
    assert_eq!(fs::read_to_string(&allow).unwrap(), mine);

    // No config at all: a file with our hooks only, and back to nothing.
    fs::remove_file(&cfg).unwrap();
    fs::remove_file(&allow).unwrap();
    ok(&h.run(&["hermes"]));
    let mode = fs::metadata(&allow).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    ok(&h.run(&["--uninstall", "hermes"]));
    assert_eq!(fs::read_to_string(&cfg).unwrap(), "");
    assert!(!allow.exists());

    // A `hooks:` that is not a block mapping is left as it is.
    fs::write(&cfg, "hooks: [1]\n").unwrap();
    let o = h.run(&["hermes"]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert_eq!(fs::read_to_string(&cfg).unwrap(), "hooks: [1]\n");
}

#[test]
fn aider_settings_are_a_marked_block_and_a_users_own_is_left_alone() {
    if !have_node() {
        return;
    }
    let h = Home::new("aider");
    let conf = h.0.join(".aider.conf.yml");
    fs::write(&conf, "dark-mode: true\n").unwrap();
    let out = ok(&h.run(&["aider"]));
    assert!(out.contains("added notifications-command"), "{out}");
    assert_eq!(
        fs::read_to_string(&conf).unwrap(),
        "dark-mode: true\n# hb-install-hooks\nnotifications: true\nnotifications-command: hb-write --hook aider\n"
    );
    assert!(ok(&h.run(&["aider"])).contains("nothing to change"));
    ok(&h.run(&["--uninstall", "aider"]));
    assert_eq!(fs::read_to_string(&conf).unwrap(), "dark-mode: true\n");

    // The user's own notifications settings win: nothing is touched.
    for own in ["notifications: false\n", "notifications-command: say hi\n"] {
        fs::write(&conf, own).unwrap();
        let o = h.run(&["aider"]);
        assert_eq!(o.status.code(), Some(3), "{}", text(&o));
        assert_eq!(fs::read_to_string(&conf).unwrap(), own);
    }
    fs::remove_file(&conf).unwrap();
    ok(&h.run(&["aider"]));
    ok(&h.run(&["--uninstall", "aider"]));
    assert!(!conf.exists());
}

const VIBE_USER_HOOKS: &str =
    "# my hooks\n[[hooks]]\nname = \"lint\"\ntype = \"post_agent\"\ncommand = \"make lint\"\n";

#[test]
fn vibe_hooks_keep_the_users_and_come_back_byte_for_byte() {
    if !have_node() {
        return;
    }
    let h = Home::new("vibe");
    let file = h.0.join(".vibe/hooks.toml");
    fs::create_dir_all(file.parent().unwrap()).unwrap();
    fs::write(&file, VIBE_USER_HOOKS).unwrap();

    let out = ok(&h.run(&["vibe"]));
    assert_eq!(out.matches("added ").count(), 3, "{out}");
    let now = fs::read_to_string(&file).unwrap();
    assert!(now.starts_with(VIBE_USER_HOOKS), "{now}");
    for event in ["pre_tool", "post_tool", "post_agent"] {
        assert!(
            now.contains(&format!(
                "type = \"{event}\"\ncommand = \"hb-write --hook vibe || true\"\n"
            )),
            "{event}:\n{now}"
        );
    }
    let out = ok(&h.run(&["vibe"]));
    assert!(out.contains("nothing to change"), "{out}");
    assert_eq!(fs::read_to_string(&file).unwrap(), now);

    let out = ok(&h.run(&["--uninstall", "vibe"]));
    assert_eq!(out.matches("removed ").count(), 3, "{out}");
    assert_eq!(fs::read_to_string(&file).unwrap(), VIBE_USER_HOOKS);
}

#[test]
fn vibe_home_moves_the_hooks() {
    if !have_node() {
        return;
    }
    let h = Home::new("vibe-home");
    let vhome = h.0.join("elsewhere");
    let o = h.run_with(&["vibe"], &[("VIBE_HOME", &vhome)]);
    ok(&o);
    assert!(vhome.join("hooks.toml").exists(), "{}", text(&o));
    assert!(!h.0.join(".vibe").exists());
}
