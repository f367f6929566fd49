//! Aider (PyPI `aider-chat`): its one hook, `--notifications-command CMD`
//! (`notifications: true` and `notifications-command:` in
//! `.aider.conf.yml`), run by `/bin/sh -c` in line, once per model call, at
//! the first input Aider then waits for: a confirmation ("Run shell
//! command?") or its prompt. No payload, no arguments, and its stdin is the
//! operator's terminal: the hook never reads it ([`Runtime::stdin`]).
//!
//! Which of the two inputs it is, the hook reads from the chat history
//! (`.aider.chat.history.md` in the git root, else Aider's working
//! directory, or `--chat-history-file`), which holds the model's reply by
//! then: a fenced shell block that no answer follows yet means "Run shell
//! command?" comes next (waiting), anything else the prompt (ok). The
//! other confirmations (a file the reply mentions, an edit outside the
//! chat's files, a URL) are not told apart: they read ok. With
//! `--yes-always` no question waits: ok.
//!
//! The history is also the record the sidecar follows ([`crate::turn`]):
//! `#### PROMPT` when a prompt is submitted (a new turn), `> ... (Y)es/(N)o
//! ...: y` when a confirmation is answered and `> ^C again to exit` after
//! Ctrl-C, which end the dialog no hook closes (Aider rings once per model
//! call, so the prompt after an answer fires nothing). No hook fires when
//! a prompt is submitted either, so the table `starts`: the history's
//! `#### PROMPT` makes the beat busy, and the hook at the end of the
//! model's call says waiting or ok. Only once the hook pointed at the
//! history and made the marker, at the end of the session's first model
//! call: the first prompt reads ok (integrations/aider/README.md).
//!
//! The model: `--model` on Aider's command line, else `$AIDER_MODEL`, else
//! the history's last `> Model: M with ...` line (Aider writes it at start,
//! also for a model from its config file).

use super::{Action, Ask, Call, Runtime, BASE};
use crate::turn::Turn;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

pub const RUNTIME: Runtime = Runtime {
    name: "aider",
    silent: true,
    stdin: false,
    // Its one hook, named by the table: Aider waits for an input.
    event: |_| Some("input"),
    events: &[("input", Ask::Idle)],
    model,
    record: history,
    settle,
    starts: true,
    decide,
    ..BASE
};

/// The chat history's name, beside Aider's git root or working directory.
const HISTORY: &str = ".aider.chat.history.md";

/// How much of the history's end a hook reads: the last prompt's replies
/// and questions, and most often its session's `> Model:` line.
const TAIL: u64 = 64 << 10;

/// Fence openings Aider takes for a shell command (its editblock coder's
/// `shell_starts`; `sh` also opens `shell`).
const SHELL_FENCES: &[&str] = &[
    "```bash",
    "```sh",
    "```cmd",
    "```batch",
    "```powershell",
    "```ps1",
    "```zsh",
    "```fish",
    "```ksh",
    "```csh",
    "```tcsh",
];

/// The chat history of the Aider that ran this hook: `--chat-history-file`
/// on its command line or `$AIDER_CHAT_HISTORY_FILE` (relative to its
/// working directory), else `.aider.chat.history.md` in the git root above
/// that directory, else in it.
fn history(c: &Call) -> Option<PathBuf> {
    let pid = c.runtime_pid?;
    let cwd = std::fs::read_link(format!("/proc/{pid}/cwd")).ok()?;
    if let Some(p) = c.pinned("--chat-history-file", "AIDER_CHAT_HISTORY_FILE") {
        return Some(cwd.join(p));
    }
    let root = cwd
        .ancestors()
        .find(|d| d.join(".git").exists())
        .unwrap_or(&cwd);
    Some(root.join(HISTORY))
}

/// The end of the history, from a line's start.
fn tail(path: &Path) -> Option<String> {
    let mut f = std::fs::File::open(path).ok()?;
    let len = f.metadata().ok()?.len();
    let from = len.saturating_sub(TAIL);
    f.seek(SeekFrom::Start(from)).ok()?;
    let mut buf = Vec::new();
    f.take(TAIL).read_to_end(&mut buf).ok()?;
    let start = if from == 0 {
        0
    } else {
        buf.iter()
            .position(|&b| b == b'\n')
            .map_or(buf.len(), |i| i + 1)
    };
    Some(String::from_utf8_lossy(&buf[start..]).into_owned())
}

/// The input Aider waits for, by the history's end: the last prompt's
/// reply holds a shell block no confirmation's answer followed yet.
/// With `--yes-always` (or `$AIDER_YES_ALWAYS`) Aider answers every
/// question itself (a shell command's with no): none waits.
fn decide(c: &Call, a: Action) -> Action {
    if yes_always(c) {
        return a;
    }
    match history(c).and_then(|p| tail(&p)) {
        Some(text) if asks_to_run(&text) => Action::Beat("waiting"),
        _ => a,
    }
}

fn yes_always(c: &Call) -> bool {
    let flag = |cmd: Vec<u8>| cmd.split(|&b| b == 0).any(|a| a == b"--yes-always");
    c.runtime_pid
        .and_then(crate::proc::cmdline)
        .is_some_and(flag)
        || (c.env)("AIDER_YES_ALWAYS")
            .is_some_and(|v| matches!(v.to_str(), Some("1" | "true" | "True" | "yes" | "on")))
}

/// Does the history end in a reply whose shell command Aider is about to
/// offer to run? Only the lines after the last prompt count.
pub fn asks_to_run(history: &str) -> bool {
    let mut pending = false;
    for line in history.lines() {
        let l = line.trim();
        if l.starts_with("#### ") || l == "####" {
            pending = false;
        } else if SHELL_FENCES.iter().any(|f| l.starts_with(f)) {
            pending = true;
        } else if is_answer(l) {
            pending = false;
        }
    }
    pending
}

/// `> QUESTION (Y)es/(N)o...: ANSWER`: a confirmation as Aider logs it
/// once answered.
fn is_answer(line: &str) -> bool {
    line.starts_with("> ")
        && line.contains("(Y)es/(N)o")
        && line
            .rsplit_once("]: ")
            .is_some_and(|(_, ans)| !ans.trim().is_empty())
}

/// In-chat commands that send a message to the model (Aider's `cmd_ask`,
/// `cmd_code`, `cmd_architect`, `cmd_context` with a message, `cmd_ok`).
/// Any other command (`/add`, `/run`, `/exit`, a shortened name) calls no
/// model as far as the history can tell, and would leave a beat busy that
/// no hook ends.
const MODEL_COMMANDS: &[&str] = &["/ask", "/code", "/architect", "/context", "/ok"];

/// What a line of the chat history says about the turn.
pub fn settle(line: &[u8]) -> Option<Turn> {
    let line = std::str::from_utf8(line).ok()?.trim_end();
    if let Some(input) = line.strip_prefix("#### ") {
        starts_turn(input.trim()).then_some(Turn::Started)
    } else if line == "####" {
        // An empty line of a multi-line message.
        Some(Turn::Started)
    } else if is_answer(line) || line.starts_with("> ^C ") {
        // An answered confirmation: Aider runs what was approved and comes
        // back to its prompt, with no hook (it rings once per model call).
        // Ctrl-C: "^C again to exit", at a dialog or in a model call.
        Some(Turn::Ended)
    } else {
        None
    }
}

/// Does this input (a `#### ` line's rest) go to the model? A message,
/// or a command of [`MODEL_COMMANDS`] (`/ok` alone, the others with a
/// message); not another command, a `!` shell line or an empty input
/// (`<blank>`, as Aider logs it).
fn starts_turn(input: &str) -> bool {
    if input.starts_with('!') || input == "<blank>" {
        return false;
    }
    if !input.starts_with('/') {
        return true;
    }
    let (cmd, rest) = input.split_once(char::is_whitespace).unwrap_or((input, ""));
    MODEL_COMMANDS.contains(&cmd) && (cmd == "/ok" || !rest.trim().is_empty())
}

/// `--model`, else `$AIDER_MODEL`, else the session's `> Model:` line.
fn model(c: &Call) -> Option<String> {
    c.pinned("--model", "AIDER_MODEL").or_else(|| {
        let text = tail(&history(c)?)?;
        text.lines().rev().find_map(model_line)
    })
}

/// `> Model: openai/x with diff edit format` -> `openai/x`.
fn model_line(line: &str) -> Option<String> {
    let rest = line.trim_end().strip_prefix("> Model: ")?;
    let m = rest.split(" with ").next()?.trim();
    (!m.is_empty()).then(|| m.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The chat history as Aider 0.86.2 wrote it (tests/fixtures/hooks/aider).
    fn fixture(name: &str) -> String {
        let p = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/hooks/aider")
            .join(name);
        std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    }

    #[test]
    fn a_reply_with_a_shell_block_asks_to_run_it() {
        // As the hook saw it, before "Run shell command?".
        assert!(asks_to_run(&fixture("history-at-confirmation.md")));
        // After the answer, and after Ctrl-C at the question, the prompt.
        assert!(!asks_to_run(&fixture("history-answered.md")));
        // A reply without one (the whole edit format's): the prompt.
        assert!(!asks_to_run(
            "#### run the tool  \n\nDone: the tool ran.\n\n> Tokens: 594 sent, 6 received.  \n"
        ));
        assert!(!asks_to_run(""));
        // A new prompt starts afresh.
        assert!(!asks_to_run("```bash\ntouch x\n```\n\n#### next  \n"));
        assert!(asks_to_run(
            "#### go  \n\n```sh\nls\n```\n> Tokens: 1 sent  \n"
        ));
        assert!(asks_to_run("#### go  \n\n```shell\nls\n```\n"));
        assert!(!asks_to_run("#### go  \n\n```python\nprint()\n```\n"));
    }

    #[test]
    fn history_lines_settle_the_turn() {
        let s = |l: &str| settle(l.as_bytes());
        assert_eq!(s("#### run the tool  "), Some(Turn::Started));
        assert_eq!(s("####"), Some(Turn::Started));
        // Commands: only those that send the model a message.
        assert_eq!(s("#### /ask what is this?  "), Some(Turn::Started));
        assert_eq!(s("#### /code fix it  "), Some(Turn::Started));
        assert_eq!(s("#### /ok  "), Some(Turn::Started));
        for none in [
            "#### /exit  ",
            "#### /add a.py  ",
            "#### /ask  ",
            "#### /run ls  ",
            "#### !ls  ",
            "#### /a what  ",
            "#### <blank>  ",
        ] {
            assert_eq!(s(none), None, "{none:?}");
        }
        assert_eq!(
            s("> Run shell command? (Y)es/(N)o/(D)on't ask again [Yes]: y  "),
            Some(Turn::Ended)
        );
        assert_eq!(
            s("> Add command output to the chat? (Y)es/(N)o/(D)on't ask again [Yes]: n  "),
            Some(Turn::Ended)
        );
        assert_eq!(s("> ^C again to exit  "), Some(Turn::Ended));
        assert_eq!(s("> ^C KeyboardInterrupt  "), Some(Turn::Ended));
        for none in [
            "",
            ">  ",
            "> Tokens: 2.3k sent, 17 received.  ",
            "> touch hb-e2e-tool-ran  ",
            "> Running touch hb-e2e-tool-ran  ",
            "Run this:",
            "```bash",
            "##### not a prompt",
            "> Run shell command? (Y)es/(N)o [Yes]: ",
        ] {
            assert_eq!(s(none), None, "{none:?}");
        }
        assert_eq!(settle(b"#### \xff"), None);
        // Every line of a recorded session, in order.
        let got: Vec<Turn> = fixture("history-answered.md")
            .lines()
            .filter_map(|l| settle(l.as_bytes()))
            .collect();
        assert_eq!(
            got,
            // Run, answered; run, Ctrl-C at the question; `/exit` calls no
            // model.
            [Turn::Started, Turn::Ended, Turn::Started, Turn::Ended]
        );
    }

    #[test]
    fn only_aiders_record_starts_turns() {
        // Every other runtime has a hook at the prompt: its record's new
        // turn only cancels.
        for r in super::super::RUNTIMES {
            assert_eq!(r.starts, r.name == "aider", "{}", r.name);
        }
        // The prompt of the recorded session makes its ok beat busy; the
        // interrupt's line after it in the same read ends the turn.
        let turns = |text: &str| {
            text.lines()
                .filter_map(|l| settle(l.as_bytes()))
                .collect::<Vec<_>>()
        };
        let v = |text: &str| crate::turn::verdict(turns(text), RUNTIME.starts);
        assert_eq!(
            v("#### run the tool  
"),
            Some(Turn::Started)
        );
        assert_eq!(Turn::Started.over("ok"), Some("busy"));
        assert_eq!(
            v("#### run the tool  

Run this:
> ^C again to exit  
"),
            Some(Turn::Ended)
        );
        assert_eq!(
            v("#### /tokens  
"),
            None
        );
    }

    #[test]
    fn the_model_line_names_the_model() {
        assert_eq!(
            model_line("> Model: openai/aider-hb-mock with diff edit format  ").as_deref(),
            Some("openai/aider-hb-mock")
        );
        assert_eq!(model_line("> Model:  with x"), None);
        assert_eq!(model_line("Model: x with y"), None);
        let m = fixture("history-answered.md")
            .lines()
            .rev()
            .find_map(model_line);
        assert_eq!(m.as_deref(), Some("openai/aider-hb-mock"));
    }

    #[test]
    fn the_tail_starts_at_a_line() {
        let d = std::env::temp_dir().join(format!("hb-aider-tail-{}", std::process::id()));
        let long = format!("{}\n#### last  \n", "x".repeat(TAIL as usize));
        std::fs::write(&d, &long).unwrap();
        assert_eq!(tail(&d).as_deref(), Some("#### last  \n"));
        std::fs::write(&d, "#### a  \n").unwrap();
        assert_eq!(tail(&d).as_deref(), Some("#### a  \n"));
        std::fs::remove_file(&d).unwrap();
        assert_eq!(tail(&d), None);
    }
}
