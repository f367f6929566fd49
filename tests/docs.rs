//! The man pages (doc/) and the bash completion (complete/hb.bash) against
//! the real programs: every flag in a program's `--help` is in its man page
//! and its completion, and the other way round; the pages render with no
//! warning; the completion offers the agents of the directory the binaries
//! would use.

mod common;

use common::*;
use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Each program, how to run it, and its man page.
fn programs() -> Vec<(&'static str, Vec<String>, PathBuf)> {
    let script = |s: &str| vec!["bash".to_string(), format!("{ROOT}/scripts/{s}")];
    [
        ("hb-write", vec![WRITE.to_string()]),
        ("hb-defer-check", vec![DEFER.to_string()]),
        ("hb-read", vec![READ.to_string()]),
        ("start-agent-session.sh", script("start-agent-session.sh")),
        ("stop-agent-session.sh", script("stop-agent-session.sh")),
    ]
    .into_iter()
    .map(|(name, argv)| (name, argv, Path::new(ROOT).join(format!("doc/{name}.1"))))
    .collect()
}

/// The flags (`-x`, `--long-name`) in a piece of text: a dash that starts a
/// word (after a space, `[`, `|`, `(` or `,`) followed by a letter.
fn flags_in(text: &str, out: &mut BTreeSet<String>) {
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let starts = b[i] == b'-' && (i == 0 || b" [|(,\"".contains(&b[i - 1]));
        if starts {
            let mut j = i;
            while j < b.len() && b[j] == b'-' && j - i < 2 {
                j += 1;
            }
            if j < b.len() && b[j].is_ascii_alphabetic() {
                let mut k = j;
                while k < b.len() && (b[k].is_ascii_alphanumeric() || b[k] == b'-') {
                    k += 1;
                }
                out.insert(text[i..k].to_string());
                i = k;
                continue;
            }
        }
        i += 1;
    }
}

/// The flags of a `--help` text: all of its Usage block, and the tag (the
/// text before two spaces) of each entry of its Options block. Prose and
/// examples may name other programs' flags, so they are left out.
fn help_flags(help: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut section = "";
    for line in help.lines() {
        if !line.starts_with(' ') {
            section = if line.starts_with("Usage:") {
                "usage"
            } else if line.starts_with("Options:") {
                "options"
            } else {
                ""
            };
            continue;
        }
        let t = line.trim_start();
        match section {
            "usage" => flags_in(t, &mut out),
            "options" if t.starts_with('-') => flags_in(t.split("  ").next().unwrap(), &mut out),
            _ => {}
        }
    }
    out
}

/// The flags of a man page: its SYNOPSIS, and the tag line of each `.TP`
/// entry in its OPTIONS.
fn man_flags(roff: &str) -> BTreeSet<String> {
    let text = roff
        .replace("\\-", "-")
        .replace("\\fB", "")
        .replace("\\fI", "")
        .replace("\\fR", "")
        .replace("\\fP", "");
    let mut out = BTreeSet::new();
    let mut section = String::new();
    let mut tag_next = false;
    for line in text.lines() {
        if let Some(s) = line.strip_prefix(".SH ") {
            section = s.trim_matches('"').to_string();
            continue;
        }
        let body = match line.split_once(' ') {
            Some((m, rest)) if m.starts_with('.') => rest,
            _ if line.starts_with('.') => "",
            _ => line,
        };
        match section.as_str() {
            "SYNOPSIS" => flags_in(body, &mut out),
            "OPTIONS" if tag_next => flags_in(body, &mut out),
            _ => {}
        }
        tag_next = line == ".TP";
    }
    out
}

fn help_of(argv: &[String]) -> String {
    let out = bare(&argv[0])
        .args(&argv[1..])
        .arg("--help")
        .output()
        .unwrap();
    assert!(out.status.success(), "{argv:?} --help: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn every_flag_in_help_is_in_the_man_page_and_the_other_way_round() {
    for (name, argv, page) in programs() {
        let help = help_flags(&help_of(&argv));
        assert!(
            help.contains("--help") && help.len() > 3,
            "{name}: {help:?}"
        );
        let roff = fs::read_to_string(&page).unwrap_or_else(|e| panic!("{page:?}: {e}"));
        let man = man_flags(&roff);
        assert_eq!(
            help,
            man,
            "{name}: --help (left) and {} (right) differ: only in --help {:?}, only in the page {:?}",
            page.display(),
            help.difference(&man).collect::<Vec<_>>(),
            man.difference(&help).collect::<Vec<_>>()
        );
    }
}

#[test]
fn the_parsers_see_what_they_should() {
    let mut f = BTreeSet::new();
    flags_in(
        "[-v] [--dir DIR] a-b x --while-pid P -- NAME, -h, --help |--json",
        &mut f,
    );
    let want = ["-v", "--dir", "--while-pid", "-h", "--help", "--json"];
    assert_eq!(f, want.iter().map(|s| s.to_string()).collect());
    let help =
        "x: y\n\nUsage:\n  x [--a A]\n\nOptions:\n  --b B   also --c\n  -d, --e  f\n\n  --g\n";
    assert_eq!(
        help_flags(help),
        ["--a", "--b", "-d", "--e"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    );
    let roff = ".SH SYNOPSIS\n.RB [ \\-\\-a ]\n.SH OPTIONS\n.TP\n.BR \\-b \", \" \\-\\-c\nsee \\-\\-d\n.SH NOTES\n.TP\n\\-\\-e\n";
    assert_eq!(
        man_flags(roff),
        ["--a", "-b", "--c"].iter().map(|s| s.to_string()).collect()
    );
}

#[test]
fn man_pages_render_without_a_warning() {
    if Command::new("man").arg("--version").output().is_err() {
        eprintln!("SKIP: man is not installed (Debian: man-db groff-base)");
        return;
    }
    let mut pages: Vec<PathBuf> = fs::read_dir(Path::new(ROOT).join("doc"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    pages.sort();
    assert_eq!(pages.len(), 6, "{pages:?}");
    for page in pages {
        let out = Command::new("man")
            .args(["--warnings", "-l"])
            .arg(&page)
            .env("MANWIDTH", "80")
            .env("MAN_KEEP_FORMATTING", "")
            .env("LC_ALL", "C.UTF-8")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && err.is_empty() && out.stdout.len() > 500,
            "{}: {:?}\n{err}",
            page.display(),
            out.status
        );
        // The page says the version it documents.
        let roff = fs::read_to_string(&page).unwrap();
        let th = roff.lines().find(|l| l.starts_with(".TH ")).unwrap();
        let version = concat!("\"hb ", env!("CARGO_PKG_VERSION"), "\"");
        assert!(th.contains(version), "{}: {th}", page.display());
    }
}

/// What the bash completion offers for the words of a command line (the
/// last one is the word being completed), in a bash with nothing else
/// loaded and with `vars` as its environment.
fn complete(words: &[&str], vars: &[(&str, &Path)]) -> Vec<String> {
    let mut c = bare("bash");
    c.args(["--norc", "--noprofile", "-c"])
        .arg(concat!(
            "source \"$0\" && COMP_WORDS=(\"$@\") && COMP_CWORD=$(($# - 1)) && ",
            "_hb_complete \"$1\" \"${COMP_WORDS[COMP_CWORD]}\" && ",
            "printf '%s\\n' \"${COMPREPLY[@]}\""
        ))
        .arg(format!("{ROOT}/complete/hb.bash"))
        .args(words)
        .env_remove("HOME");
    for (k, v) in vars {
        c.env(k, v);
    }
    let out = c.output().unwrap();
    assert!(out.status.success(), "{words:?}: {out:?}");
    let mut got: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect();
    got.sort();
    got
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn completion_offers_every_flag_of_help_and_no_other() {
    for (name, argv, _) in programs() {
        let help: Vec<String> = help_flags(&help_of(&argv)).into_iter().collect();
        let mut got = complete(&[name, "-"], &[]);
        got.dedup();
        assert_eq!(got, help, "{name}");
    }
    assert_eq!(complete(&["hb-read", "--co"], &[]), strings(&["--color"]));
}

#[test]
fn completion_offers_the_agents_of_the_directory_the_binaries_use() {
    let sb = Sandbox::new("complete");
    for f in [
        "w-a.hb",
        "w-b.hb",
        "x-1.hb",
        "w-a.hb.native",
        ".w-a.lock",
        "bad.name.hb",
    ] {
        sb.put(f, b"");
    }
    fs::create_dir(sb.path("w-dir.hb")).unwrap();
    let dir = sb.dir.to_str().unwrap();
    let agents = strings(&["w-a", "w-b", "w-dir", "x-1"]);
    let none: &[(&str, &Path)] = &[];
    // --dir on the line, in both spellings, for every command that takes NAMEs.
    for cmd in [
        "hb-write",
        "hb-defer-check",
        "hb-read",
        "stop-agent-session.sh",
    ] {
        assert_eq!(complete(&[cmd, "--dir", dir, ""], none), agents, "{cmd}");
        assert_eq!(
            complete(&[cmd, "--dir", "=", dir, "w-"], none),
            agents[..3],
            "{cmd}"
        );
    }
    assert_eq!(
        complete(&["hb-read", "--dir", dir, "w-a", "w-b", "x"], none),
        strings(&["x-1"])
    );
    // Then the environment, in the binaries' order.
    let state = sb.root.join("state");
    fs::create_dir_all(state.join("mosaic/fleet")).unwrap();
    std::os::unix::fs::symlink(&sb.dir, state.join("mosaic/fleet/hb")).unwrap();
    let home = sb.root.join("home");
    fs::create_dir_all(home.join(".local/state/mosaic/fleet")).unwrap();
    fs::create_dir(home.join(".local/state/mosaic/fleet/hb")).unwrap();
    fs::write(home.join(".local/state/mosaic/fleet/hb/h-1.hb"), "").unwrap();
    let words = ["hb-read", ""];
    assert_eq!(
        complete(&words, &[("MOSAIC_HEARTBEAT_DIR", &sb.dir)]),
        agents
    );
    assert_eq!(
        complete(&words, &[("XDG_STATE_HOME", &state), ("HOME", &home)]),
        agents
    );
    assert_eq!(complete(&words, &[("HOME", &home)]), strings(&["h-1"]));
    // A relative XDG_STATE_HOME is ignored, as the binaries ignore it.
    let rel = Path::new("state");
    assert_eq!(
        complete(&words, &[("XDG_STATE_HOME", rel), ("HOME", &home)]),
        strings(&["h-1"])
    );
    // --dir beats the environment; ~/ on the line is the home directory.
    assert_eq!(
        complete(&["hb-read", "--dir", dir, ""], &[("HOME", &home)]),
        agents
    );
    assert_eq!(
        complete(
            &["hb-read", "--dir", "~/.local/state/mosaic/fleet/hb", ""],
            &[("HOME", &home)]
        ),
        strings(&["h-1"])
    );
    // No directory at all: nothing, and no error.
    assert_eq!(complete(&words, none), Vec::<String>::new());
}

#[test]
fn completion_knows_the_values_flags_take() {
    let none: &[(&str, &Path)] = &[];
    assert_eq!(
        complete(&["hb-read", "--color", ""], none),
        strings(&["always", "auto", "never"])
    );
    assert_eq!(
        complete(&["hb-read", "--format", "p"], none),
        strings(&["prometheus"])
    );
    assert_eq!(
        complete(&["hb-write", "--hook", ""], none),
        strings(&["claude", "cline", "codex", "copilot", "gemini", "qwen"])
    );
    assert_eq!(
        complete(&["hb-write", "--status", "w"], none),
        strings(&["waiting"])
    );
    // Hook mode takes a payload, not a NAME; a new agent's NAME is free.
    let sb = Sandbox::new("complete-values");
    sb.put("w-a.hb", b"");
    let dir = sb.dir.to_str().unwrap();
    assert!(complete(&["hb-write", "--dir", dir, "--hook", "claude", ""], none).is_empty());
    assert!(complete(&["start-agent-session.sh", "--dir", dir, ""], none).is_empty());
    assert!(complete(&["hb-write", "--dir", dir, "--pid", ""], none).is_empty());
    // The agent's command after `--` is a command.
    let got = complete(&["start-agent-session.sh", "w-new", "--", "bas"], none);
    assert!(got.iter().any(|c| c == "bash"), "{got:?}");
    // So is the notifier after `hb-read --exec`, and what follows it is
    // the notifier's: no flag of hb-read's is offered there.
    assert_eq!(
        complete(&["hb-read", "--format", "t"], none),
        strings(&["table", "tmux"])
    );
    let got = complete(&["hb-read", "--follow", "--exec", "bas"], none);
    assert!(got.iter().any(|c| c == "bash"), "{got:?}");
    assert!(complete(&["hb-read", "--follow", "--exec", "curl", "--"], none).is_empty());
    // Directories for --dir.
    let got = complete(
        &["hb-read", "--dir", &format!("{}/", sb.root.display())],
        none,
    );
    assert_eq!(got, vec![format!("{}/hb", sb.root.display())]);
}

#[test]
fn the_completion_registers_all_five_commands() {
    let out = bare("bash")
        .args([
            "--norc",
            "--noprofile",
            "-c",
            "source \"$0\" && complete -p",
        ])
        .arg(format!("{ROOT}/complete/hb.bash"))
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    for (name, _, _) in programs() {
        assert!(
            text.lines()
                .any(|l| l == format!("complete -F _hb_complete {name}")),
            "{name} not registered:\n{text}"
        );
    }
}
