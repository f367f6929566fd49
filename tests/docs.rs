//! The docs against the real programs: every flag in a program's `--help`
//! is in its man page (doc/*.1) and its completion, and the other way
//! round; the pages render with no warning; the completion offers the
//! agents of the directory the binaries would use. The Markdown docs (the
//! README and the guide, doc/*.md, and every integration's README): every
//! command of ours they show names only flags (and runtimes) the program
//! has, every shell block parses, and every relative link leads to a file,
//! and to a heading for a `#anchor`, that exists.

mod common;

use common::*;
use std::collections::BTreeSet;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

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
        .filter(|p| p.extension().is_some_and(|x| x == "1" || x == "7"))
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

/// The runtimes `hb-write --hook` knows, sorted, as hb-write itself lists
/// them when it is given one it does not know: the completions must offer
/// exactly these.
fn hook_runtimes() -> Vec<String> {
    let out = Command::new(WRITE)
        .args(["--hook", "no-such-runtime"])
        .env("MOSAIC_AGENT_NAME", "w-docs")
        .output()
        .unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    let list = err
        .trim_end()
        .rsplit_once("': ")
        .map(|(_, l)| l)
        .unwrap_or_else(|| panic!("no runtime list in {err:?}"));
    let mut v: Vec<String> = list.split(", ").map(String::from).collect();
    v.sort();
    assert!(v.len() >= 5, "{err:?}");
    v
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
    assert_eq!(complete(&["hb-write", "--hook", ""], none), hook_runtimes());
    assert_eq!(
        complete(&["start-agent-session.sh", "--titles", ""], none),
        strings(&["vibe"])
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

// ---------------------------------------------------------------------
// The Markdown docs.

/// Every Markdown file of the repository (not build output, not
/// node_modules), relative to the root, sorted.
fn markdown_files() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            let name = e.file_name();
            let name = name.to_string_lossy();
            let path = e.path();
            if e.file_type().unwrap().is_dir() {
                let skip = name.starts_with('.')
                    || ["target", "dist", "node_modules", "corpus", "artifacts"]
                        .contains(&name.as_ref());
                if !skip {
                    walk(&path, out);
                }
            } else if name.ends_with(".md") {
                out.push(path.strip_prefix(ROOT).unwrap().to_path_buf());
            }
        }
    }
    let mut out = Vec::new();
    walk(Path::new(ROOT), &mut out);
    out.sort();
    out
}

/// The README and the guide: the docs a user reads.
fn guide_files() -> Vec<PathBuf> {
    markdown_files()
        .into_iter()
        .filter(|p| {
            p == Path::new("README.md")
                || p.starts_with("doc")
                || (p.starts_with("integrations") && p.ends_with("README.md"))
        })
        .collect()
}

/// A Markdown file cut into its parts: the fenced code blocks (with their
/// info string) and the prose between them (with inline code left in).
enum Part {
    Prose(String),
    Code { lang: String, text: String },
}

fn parts(md: &str) -> Vec<Part> {
    let mut out = Vec::new();
    let mut prose = String::new();
    let mut code: Option<(String, String, String)> = None; // fence, lang, text
    for line in md.lines() {
        let t = line.trim_start();
        match &mut code {
            Some((fence, _, text)) => {
                if t.starts_with(fence.as_str()) && t.trim_end() == fence.as_str() {
                    let (_, lang, text) = code.take().unwrap();
                    out.push(Part::Code { lang, text });
                } else {
                    text.push_str(line);
                    text.push('\n');
                }
            }
            None if t.starts_with("```") || t.starts_with("~~~") => {
                let fence: String = t
                    .chars()
                    .take_while(|&c| c == t.as_bytes()[0] as char)
                    .collect();
                let lang = t[fence.len()..].trim().to_string();
                out.push(Part::Prose(std::mem::take(&mut prose)));
                code = Some((fence, lang, String::new()));
            }
            None => {
                prose.push_str(line);
                prose.push('\n');
            }
        }
    }
    assert!(code.is_none(), "a code block is never closed");
    out.push(Part::Prose(prose));
    out
}

/// The inline code spans of some prose (`` `x` ``; a span may not cross
/// a blank line).
fn code_spans(prose: &str) -> Vec<String> {
    let mut out = Vec::new();
    let b = prose.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'`' {
            i += 1;
            continue;
        }
        let ticks = b[i..].iter().take_while(|&&c| c == b'`').count();
        let fence = &prose[i..i + ticks];
        let start = i + ticks;
        match prose[start..].find(fence) {
            Some(len) if !prose[start..start + len].contains("\n\n") => {
                out.push(prose[start..start + len].replace('\n', " "));
                i = start + len + ticks;
            }
            _ => i = start,
        }
    }
    out
}

/// Prose with its inline code spans blanked out (a link inside code is no
/// link).
fn without_code(prose: &str) -> String {
    let mut s = prose.to_string();
    for span in code_spans(prose) {
        s = s.replacen(&format!("`{span}`"), "", 1);
    }
    s
}

/// Our programs, and the flags and runtimes each takes.
struct Programs {
    flags: Vec<(String, BTreeSet<String>)>,
    runtimes: BTreeSet<String>,
}

fn our_programs() -> Programs {
    let mut flags: Vec<(String, BTreeSet<String>)> = programs()
        .into_iter()
        .map(|(name, argv, _)| (name.to_string(), help_flags(&help_of(&argv))))
        .collect();
    // hb-install-hooks (node) says its usage in one line.
    let hooks = format!("{ROOT}/scripts/hb-install-hooks");
    let mut runtimes = BTreeSet::new();
    if let Ok(out) = bare("node").arg(&hooks).arg("--help").output() {
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        let mut f = BTreeSet::new();
        flags_in(&text.replace("usage:", " "), &mut f);
        f.insert("--help".into());
        let list = text.split_whitespace().last().unwrap_or("");
        runtimes = list.split('|').map(String::from).collect();
        assert!(
            runtimes.contains("claude"),
            "hb-install-hooks --help: {text}"
        );
        flags.push(("hb-install-hooks".into(), f));
    } else {
        eprintln!("SKIP: no node: hb-install-hooks' commands are not checked");
    }
    Programs { flags, runtimes }
}

/// The commands of ours in a piece of shell text (a code block, or an
/// inline span): each one's program and its words up to the end of the
/// command (`|`, `;`, `&`, `)`, a comment, the end of a line that does not
/// end in `\`).
fn commands_in(text: &str, progs: &Programs) -> Vec<(String, Vec<String>)> {
    let joined = text.replace("\\\n", " ");
    let mut out = Vec::new();
    for line in joined.lines() {
        // Words, split on white space and the shell's command separators;
        // quotes are dropped (the docs quote only values).
        let mut words: Vec<String> = Vec::new();
        let mut w = String::new();
        let flush = |w: &mut String, words: &mut Vec<String>| {
            if !w.is_empty() {
                words.push(std::mem::take(w));
            }
        };
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                ' ' | '\t' => flush(&mut w, &mut words),
                '|' | ';' | '&' | '(' | ')' | '`' | '{' | '}' => {
                    flush(&mut w, &mut words);
                    words.push(c.to_string());
                }
                '#' if w.is_empty() && chars.peek() != Some(&'(') => break,
                '#' if w.is_empty() => {}
                '"' | '\'' => {}
                _ => w.push(c),
            }
        }
        flush(&mut w, &mut words);
        let mut i = 0;
        while i < words.len() {
            let word = words[i].rsplit('/').next().unwrap();
            let at_start = i == 0
                || [
                    "|", ";", "&", "(", ")", "`", "{", "}", "!", "then", "do", "else", "until",
                    "while", "if", "exec", "sudo", "timeout",
                ]
                .contains(&words[i - 1].as_str())
                || words[i - 1].contains('=');
            let known = progs.flags.iter().any(|(n, _)| n == word);
            if !(known && at_start) {
                i += 1;
                continue;
            }
            // Its words; a `$(...)` among them is a word of its own (the
            // command inside is found on the next turns of the loop).
            let mut args = Vec::new();
            let mut j = i + 1;
            let mut depth = 0;
            while j < words.len() {
                let wj = words[j].as_str();
                match wj {
                    "(" => depth += 1,
                    ")" if depth > 0 => depth -= 1,
                    "|" | ";" | "&" | ")" | "`" | "}" if depth == 0 => break,
                    _ if depth == 0 => args.push(words[j].clone()),
                    _ => {}
                }
                j += 1;
            }
            out.push((word.to_string(), args));
            i += 1;
        }
    }
    out
}

/// What is wrong with one command of ours, if anything.
fn check_command(prog: &str, args: &[String], progs: &Programs) -> Option<String> {
    let flags = &progs.flags.iter().find(|(n, _)| n == prog).unwrap().1;
    let mut positional = Vec::new();
    for a in args {
        if a == "--" || a == "--exec" {
            break; // the agent's command, the notifier's arguments
        }
        if a.starts_with('-') && a.len() > 1 && a.as_bytes()[1] != b'.' {
            let flag = a.split('=').next().unwrap();
            if !flags.contains(flag) {
                return Some(format!("{prog} has no flag {flag}"));
            }
        } else {
            positional.push(a.as_str());
        }
    }
    if prog == "hb-install-hooks" {
        if let Some(rt) = positional.last() {
            let placeholder = rt.chars().all(|c| c.is_ascii_uppercase()) || rt.contains('|');
            if !placeholder && !progs.runtimes.contains(*rt) {
                return Some(format!("hb-install-hooks knows no runtime {rt}"));
            }
        }
    }
    None
}

#[test]
fn every_command_in_the_docs_names_only_what_its_program_has() {
    let progs = our_programs();
    let mut bad = Vec::new();
    let mut seen = 0;
    for file in guide_files() {
        let md = fs::read_to_string(Path::new(ROOT).join(&file)).unwrap();
        for part in parts(&md) {
            let texts = match part {
                Part::Code { lang, text } => match lang.as_str() {
                    "" | "sh" | "bash" | "shell" | "console" | "tmux" | "crontab" | "ini"
                    | "dockerfile" | "yaml" => vec![text],
                    _ => continue,
                },
                Part::Prose(p) => code_spans(&p),
            };
            for text in texts {
                for (prog, args) in commands_in(&text, &progs) {
                    seen += 1;
                    if let Some(why) = check_command(&prog, &args, &progs) {
                        bad.push(format!(
                            "{}: {prog} {}: {why}",
                            file.display(),
                            args.join(" ")
                        ));
                    }
                }
            }
        }
    }
    eprintln!("{seen} commands of ours in the docs");
    assert!(
        seen > 100,
        "only {seen} commands found: is the parser broken?"
    );
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn every_shell_block_in_the_docs_parses() {
    for file in guide_files() {
        let md = fs::read_to_string(Path::new(ROOT).join(&file)).unwrap();
        for part in parts(&md) {
            let Part::Code { lang, text } = part else {
                continue;
            };
            if !["sh", "bash", "shell"].contains(&lang.as_str()) {
                continue;
            }
            let out = bare("bash")
                .args(["--norc", "--noprofile", "-n", "-c", &text])
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}: a block that bash cannot parse:\n{text}\n{}",
                file.display(),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

#[test]
fn the_command_parser_sees_what_it_should() {
    let progs = Programs {
        flags: vec![
            (
                "hb-read".into(),
                ["--follow", "--exec", "--dir"]
                    .iter()
                    .map(|s| s.to_string())
                    .collect(),
            ),
            (
                "hb-install-hooks".into(),
                ["--uninstall"].iter().map(|s| s.to_string()).collect(),
            ),
        ],
        runtimes: ["claude".to_string()].into(),
    };
    let got = commands_in(
        "x=$(hb-read --dir \"$d\" | jq .) # hb-read --nope\nset -g status-right '#(hb-read --dir D) %H'\n  /usr/bin/hb-read --follow \\\n  --exec notify-send --urgency=x\nnot hb-read --a",
        &progs,
    );
    let words = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        got,
        vec![
            ("hb-read".to_string(), words(&["--dir", "$d"])),
            ("hb-read".to_string(), words(&["--dir", "D"])),
            (
                "hb-read".to_string(),
                words(&["--follow", "--exec", "notify-send", "--urgency=x"])
            ),
        ]
    );
    assert_eq!(
        check_command(
            "hb-read",
            &words(&["--follow", "--exec", "x", "--y"]),
            &progs
        ),
        None
    );
    assert!(check_command("hb-read", &words(&["--nope"]), &progs).is_some());
    assert!(check_command("hb-install-hooks", &words(&["hermes"]), &progs).is_some());
    assert_eq!(
        check_command(
            "hb-install-hooks",
            &words(&["--uninstall", "claude"]),
            &progs
        ),
        None
    );
    assert_eq!(
        check_command("hb-install-hooks", &words(&["RUNTIME"]), &progs),
        None
    );
}

/// GitHub's anchor for a heading: lower case, only letters, digits, `-`
/// and `_` kept, each space a `-`.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// The anchors of a Markdown file's headings (a repeated one gets `-1`,
/// `-2`, ... as on GitHub).
fn anchors(md: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for part in parts(md) {
        let Part::Prose(p) = part else { continue };
        for line in p.lines() {
            let hashes = line.chars().take_while(|&c| c == '#').count();
            if (1..=6).contains(&hashes) && line[hashes..].starts_with(' ') {
                // The text as shown: link targets dropped, code kept.
                let mut text = line[hashes..].trim().to_string();
                while let (Some(a), Some(b)) = (text.find("]("), text.find(')')) {
                    if b < a {
                        break;
                    }
                    text.replace_range(a + 1..=b, "");
                }
                let base = slug(&text);
                let mut s = base.clone();
                let mut n = 0;
                while out.contains(&s) {
                    n += 1;
                    s = format!("{base}-{n}");
                }
                out.insert(s);
            }
        }
    }
    out
}

/// The targets of the links in some prose: `[text](target)` and
/// `[label]: target`, without a title.
fn link_targets(prose: &str) -> Vec<String> {
    let text = without_code(prose);
    let mut out = Vec::new();
    let mut rest = text.as_str();
    while let Some(at) = rest.find("](") {
        let after = &rest[at + 2..];
        let end = after.find(')').unwrap_or(after.len());
        out.push(
            after[..end]
                .split_whitespace()
                .next()
                .unwrap_or("")
                .to_string(),
        );
        rest = &after[end..];
    }
    for line in text.lines() {
        let t = line.trim_start();
        if let Some(close) = t.strip_prefix('[').and_then(|r| r.find("]: ")) {
            out.push(
                t[close + 4..]
                    .split_whitespace()
                    .next()
                    .unwrap_or("")
                    .to_string(),
            );
        }
    }
    out
}

/// Link targets other helpers are writing at this moment on their own
/// branches (issue 25's brief): accepted while missing. Whoever merges
/// them empties this list (the next test says so once they exist).
const PENDING: &[&str] = &[];

#[test]
fn every_relative_link_in_the_markdown_leads_somewhere() {
    let root = Path::new(ROOT);
    let mut bad = Vec::new();
    let mut seen = 0;
    for file in markdown_files() {
        let md = fs::read_to_string(root.join(&file)).unwrap();
        let here = file.parent().unwrap();
        for part in parts(&md) {
            let Part::Prose(p) = part else { continue };
            for target in link_targets(&p) {
                if target.is_empty() || target.contains("://") || target.starts_with("mailto:") {
                    continue;
                }
                seen += 1;
                let (path, anchor) = match target.split_once('#') {
                    Some((p, a)) => (p, Some(a)),
                    None => (target.as_str(), None),
                };
                let to = if path.is_empty() {
                    file.clone()
                } else {
                    normalize(&here.join(path))
                };
                if !root.join(&to).exists() {
                    if !PENDING.iter().any(|p| Path::new(p) == to) {
                        bad.push(format!(
                            "{}: {target}: no file {}",
                            file.display(),
                            to.display()
                        ));
                    }
                    continue;
                }
                if let Some(a) = anchor {
                    let text = fs::read_to_string(root.join(&to)).unwrap_or_default();
                    if !anchors(&text).contains(a) {
                        bad.push(format!(
                            "{}: {target}: no heading #{a} in {}",
                            file.display(),
                            to.display()
                        ));
                    }
                }
            }
        }
    }
    eprintln!("{seen} relative links in the Markdown");
    assert!(seen > 50, "only {seen} links found: is the parser broken?");
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn a_pending_link_target_leaves_the_list_once_it_exists() {
    for p in PENDING {
        assert!(
            !Path::new(ROOT).join(p).exists(),
            "{p} exists now: take it out of PENDING in tests/docs.rs"
        );
    }
}

/// `a/./b/../c` as `a/c`, without touching the file system.
fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            c => out.push(c),
        }
    }
    out
}

#[test]
fn the_link_parsers_see_what_they_should() {
    let md = "# Hb: the *guide*\n\n## `--follow --exec PROG [ARG...]`\n\n## Notifications: `--exec`\n\n## A b\n\n## A b\n\n```\n# not a heading\n```\n";
    let a = anchors(md);
    let want = [
        "hb-the-guide",
        "--follow---exec-prog-arg",
        "notifications---exec",
        "a-b",
        "a-b-1",
    ];
    assert_eq!(a, want.iter().map(|s| s.to_string()).collect());
    let links = link_targets("see [x](a.md#b) and [y](../c \"t\") `[no](z.md)`\n[r]: d.md\n");
    assert_eq!(links, ["a.md#b", "../c", "d.md"]);
    assert_eq!(
        normalize(Path::new("doc/../integrations/./x")),
        Path::new("integrations/x")
    );
}

// ---------------------------------------------------------------------
// zsh and fish completion (complete/_hb, complete/hb.fish), in the real
// shells, against the same `--help` flag lists as bash's.

/// Is `shell` installed? Says SKIP when not (scripts/setup.sh installs
/// it for `make test`).
fn have(shell: &str) -> bool {
    let ok = Command::new(shell)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("SKIP: {shell} is not installed (Debian: {shell})");
    }
    ok
}

/// A real interactive zsh in a pseudo-terminal (zsh/zpty), with nothing
/// loaded but `compinit` over complete/: types the line and a Tab, and
/// records every match a completion function adds (`compadd -O`), until
/// the completion system has finished.
const ZSH_CAPTURE: &str = r#"
root=$1 out=$2 line=$3
zmodload zsh/zpty || exit 3
zpty z zsh -f -i
zpty -w z "PS1=''; fpath=(${(q)root}/complete \$fpath); autoload -U compinit; compinit -u -D"
zpty -w z "compadd() { if [[ \${@[1,(i)(-|--)]} == *-(O|A|D)\\ * ]]; then builtin compadd \"\$@\"; return; fi; local -a h; builtin compadd -O h \"\$@\"; (( \$#h )) && print -rl -- \$h >> ${(q)out}; builtin compadd \"\$@\"; }"
zpty -w z "_hbt_done() { print -r -- '<done>' >> ${(q)out}; }; comppostfuncs=(_hbt_done)"
zpty -w z "print ready > ${(q)out}.ready"
for i in {1..500}; do [[ -e $out.ready ]] && break; sleep 0.02; done
zpty -w -n z "$line"$'\t'
for i in {1..500}; do grep -qx '<done>' $out 2>/dev/null && break; sleep 0.02; done
zpty -d z
grep -qx '<done>' $out
"#;

/// What zsh offers for a command line (completed at its end), sorted,
/// with `vars` as the environment.
fn complete_zsh(line: &str, vars: &[(&str, &Path)]) -> Vec<String> {
    let sb = Sandbox::new("zsh");
    let out = sb.root.join("matches");
    let mut c = bare("zsh");
    c.args(["-f", "-c", ZSH_CAPTURE, "zsh", ROOT])
        .arg(&out)
        .arg(line)
        .env_remove("HOME");
    for (k, v) in vars {
        c.env(k, v);
    }
    let o = c.output().unwrap();
    assert!(o.status.success(), "zsh on {line:?}: {o:?}");
    let mut got: Vec<String> = fs::read_to_string(&out)
        .unwrap()
        .lines()
        .filter(|l| *l != "<done>")
        .map(String::from)
        .collect();
    got.sort();
    got.dedup();
    got
}

/// What fish offers for a command line (`complete -C`), sorted.
fn complete_fish(line: &str, vars: &[(&str, &Path)]) -> Vec<String> {
    let mut c = bare("fish");
    c.args(["--no-config", "-c", "source $argv[1]; complete -C $argv[2]"])
        .arg(format!("{ROOT}/complete/hb.fish"))
        .arg(line)
        .env_remove("HOME");
    for (k, v) in vars {
        c.env(k, v);
    }
    let o = c.output().unwrap();
    assert!(o.status.success(), "fish on {line:?}: {o:?}");
    let mut got: Vec<String> = String::from_utf8(o.stdout)
        .unwrap()
        .lines()
        .map(|l| l.split('\t').next().unwrap().to_string())
        .collect();
    got.sort();
    got.dedup();
    got
}

type Completer = fn(&str, &[(&str, &Path)]) -> Vec<String>;

/// The installed shells' completers: zsh and fish.
fn completers() -> Vec<(&'static str, Completer)> {
    let mut out: Vec<(&'static str, Completer)> = Vec::new();
    if have("zsh") {
        out.push(("zsh", complete_zsh));
    }
    if have("fish") {
        out.push(("fish", complete_fish));
    }
    out
}

#[test]
fn zsh_and_fish_offer_every_flag_of_help_and_no_other() {
    let none: &[(&str, &Path)] = &[];
    for (shell, complete) in completers() {
        for (name, argv, _) in programs() {
            let help: Vec<String> = help_flags(&help_of(&argv)).into_iter().collect();
            assert_eq!(
                complete(&format!("{name} -"), none),
                help,
                "{shell}: {name}"
            );
        }
        assert_eq!(
            complete("hb-read --co", none),
            strings(&["--color"]),
            "{shell}"
        );
    }
}

#[test]
fn zsh_and_fish_offer_the_agents_of_the_directory_the_binaries_use() {
    let sb = Sandbox::new("complete-shells");
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
    let dir = sb.dir.to_str().unwrap();
    let agents = strings(&["w-a", "w-b", "x-1"]);
    let none: &[(&str, &Path)] = &[];
    let home = sb.root.join("home");
    fs::create_dir_all(home.join(".local/state/mosaic/fleet/hb")).unwrap();
    fs::write(home.join(".local/state/mosaic/fleet/hb/h-1.hb"), "").unwrap();
    for (shell, complete) in completers() {
        for cmd in [
            "hb-write",
            "hb-defer-check",
            "hb-read",
            "stop-agent-session.sh",
        ] {
            assert_eq!(
                complete(&format!("{cmd} --dir {dir} "), none),
                agents,
                "{shell}: {cmd}"
            );
        }
        assert_eq!(
            complete(&format!("hb-read --dir={dir} w-a w-"), none),
            strings(&["w-a", "w-b"]),
            "{shell}"
        );
        let env = [("MOSAIC_HEARTBEAT_DIR", sb.dir.as_path())];
        assert_eq!(complete("hb-read ", &env), agents, "{shell}");
        assert_eq!(
            complete("hb-read ", &[("HOME", &home)]),
            strings(&["h-1"]),
            "{shell}"
        );
        // Hook mode takes a payload, a new agent's NAME is free.
        assert!(
            complete(&format!("hb-write --dir {dir} --hook claude "), none).is_empty(),
            "{shell}"
        );
        assert!(
            complete(&format!("start-agent-session.sh --dir {dir} "), none).is_empty(),
            "{shell}"
        );
    }
}

#[test]
fn zsh_and_fish_know_the_values_flags_take_and_the_commands_after() {
    let none: &[(&str, &Path)] = &[];
    for (shell, complete) in completers() {
        assert_eq!(
            complete("hb-read --color ", none),
            strings(&["always", "auto", "never"]),
            "{shell}"
        );
        assert_eq!(
            complete("hb-read --format t", none),
            strings(&["table", "tmux"]),
            "{shell}"
        );
        assert_eq!(
            complete("hb-write --hook ", none),
            hook_runtimes(),
            "{shell}"
        );
        assert_eq!(
            complete("hb-write --status w", none),
            strings(&["waiting"]),
            "{shell}"
        );
        // The agent's command after `--`, the notifier after `--exec`; what
        // follows is theirs: none of hb-read's own flags.
        for line in [
            "start-agent-session.sh w-new -- bas",
            "hb-read --follow --exec bas",
        ] {
            let got = complete(line, none);
            assert!(got.iter().any(|c| c == "bash"), "{shell}: {line}: {got:?}");
        }
        let got = complete("hb-read --follow --exec curl --", none);
        assert!(
            !got.iter().any(|c| c == "--watch" || c == "--stale-after"),
            "{shell}: {got:?}"
        );
    }
}

#[test]
fn zsh_and_fish_register_all_five_commands() {
    if have("zsh") {
        let o = bare("zsh")
            .args([
                "-f",
                "-c",
                "fpath=($1/complete $fpath); autoload -U compinit; compinit -u -D; for c in ${@:2}; do print -r -- $c=$_comps[$c]; done",
                "zsh",
                ROOT,
            ])
            .args(programs().iter().map(|p| p.0))
            .output()
            .unwrap();
        let text = String::from_utf8(o.stdout).unwrap();
        for (name, _, _) in programs() {
            assert!(
                text.lines().any(|l| l == format!("{name}=_hb")),
                "zsh: {name}:\n{text}"
            );
        }
    }
    if have("fish") {
        for (name, _, _) in programs() {
            let o = bare("fish")
                .args(["--no-config", "-c", "source $argv[1]; complete -c $argv[2]"])
                .arg(format!("{ROOT}/complete/hb.fish"))
                .arg(name)
                .output()
                .unwrap();
            let text = String::from_utf8(o.stdout).unwrap();
            assert!(
                text.contains("--help") || text.contains("-l help"),
                "fish: {name}:\n{text}"
            );
        }
    }
}

// ---------------------------------------------------------------------
// The README's quick start, run as a newcomer runs it.

/// A stand-in for Claude Code (no model is reachable here): like the real
/// one it runs each hook that `~/.claude/settings.json` holds for an event
/// through `/bin/sh -c`, with Claude Code's payload on stdin: a session
/// starts, a prompt is sent, a permission dialog opens; then it waits.
const CLAUDE: &str = r#"#!/usr/bin/env bash
set -euo pipefail
hook() {
    jq -r --arg e "$1" '.hooks[$e][]?.hooks[]?.command' "$HOME/.claude/settings.json" |
        while IFS= read -r cmd; do /bin/sh -c "$cmd" <<<"$2"; done
}
hook SessionStart '{"hook_event_name":"SessionStart","session_id":"s-1","model":"claude-opus-4-8","source":"startup"}'
hook UserPromptSubmit '{"hook_event_name":"UserPromptSubmit","session_id":"s-1","prompt":"run the tests"}'
hook PermissionRequest '{"hook_event_name":"PermissionRequest","session_id":"s-1","tool_name":"Bash"}'
exec sleep 600
"#;

/// The sh blocks of a section of a Markdown file (from its heading to the
/// next heading of the same level).
fn section_blocks(md: &str, heading: &str) -> Vec<String> {
    section_blocks_of(md, heading, "sh")
}

/// The blocks in language `lang` of a section of a Markdown file.
fn section_blocks_of(md: &str, heading: &str, lang: &str) -> Vec<String> {
    let at = md.find(&format!("\n{heading}\n")).expect(heading) + 1;
    let level = heading.split(' ').next().unwrap();
    let rest = &md[at + heading.len()..];
    let end = rest.find(&format!("\n{level} ")).unwrap_or(rest.len());
    parts(&rest[..end])
        .into_iter()
        .filter_map(|p| match p {
            Part::Code { lang: l, text } if l == lang => Some(text),
            _ => None,
        })
        .collect()
}

/// A private tmux server (the default socket, in its own TMUX_TMPDIR) and
/// the agents' processes, gone when this is dropped.
struct QuickStart {
    sb: Sandbox,
}

impl Drop for QuickStart {
    fn drop(&mut self) {
        let _ = self.run("tmux kill-server");
        let needle = self.sb.root.as_os_str().as_bytes().to_vec();
        for e in fs::read_dir("/proc").unwrap().flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
                continue;
            };
            let hit = fs::read(e.path().join("cmdline"))
                .is_ok_and(|c| c.windows(needle.len()).any(|w| w == &needle[..]));
            if hit && pid as u32 != std::process::id() {
                // SAFETY: kill(2) on a process of this test.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        }
    }
}

impl QuickStart {
    /// One command line of the README, in bash, as the newcomer's shell.
    fn run(&self, line: &str) -> std::process::Output {
        let home = self.sb.root.join("home");
        let bin = Path::new(WRITE).parent().unwrap();
        let path = format!(
            "{}:{}:{}:{ROOT}/scripts:/usr/local/bin:/usr/bin:/bin",
            home.join(".local/bin").display(),
            self.sb.root.join("bin").display(),
            bin.display()
        );
        bare("bash")
            .args(["--norc", "--noprofile", "-c", line])
            .env("HOME", &home)
            .env("PATH", path)
            .env("TMUX_TMPDIR", self.sb.root.join("tmux"))
            .env_remove("TMUX")
            .current_dir(&home)
            .output()
            .unwrap()
    }
}

#[test]
fn the_readme_quick_start_runs_as_written() {
    if Command::new("node").arg("--version").output().is_err() {
        eprintln!("SKIP: no node for hb-install-hooks");
        return;
    }
    let readme = fs::read_to_string(format!("{ROOT}/README.md")).unwrap();
    let q = QuickStart {
        sb: Sandbox::new("quick-start"),
    };
    let root = &q.sb.root;
    for d in ["home/.local/bin", "bin", "tmux"] {
        fs::create_dir_all(root.join(d)).unwrap();
    }
    let exe = |p: PathBuf, text: &str| {
        fs::write(&p, text).unwrap();
        fs::set_permissions(&p, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    };
    exe(root.join("bin/claude"), CLAUDE);
    let sent = root.join("notify-send.args");
    exe(
        root.join("bin/notify-send"),
        &format!("#!/bin/sh\nprintf '%s\\n' \"$@\" >>'{}'\n", sent.display()),
    );
    let ok = |line: &str| {
        let o = q.run(line);
        assert!(o.status.success(), "{line}: {o:?}");
        String::from_utf8(o.stdout).unwrap()
    };

    // 1. The hooks.
    let steps = section_blocks(&readme, "### 1. Install the runtime's hooks, once");
    assert_eq!(steps.len(), 1);
    ok(&steps[0]);
    assert!(fs::read_to_string(root.join("home/.claude/settings.json"))
        .unwrap()
        .contains("hb-write --hook claude"));

    // 2. The agent, started with the launcher; attaching needs a terminal,
    // so the session is looked for instead.
    for line in section_blocks(&readme, "### 2. Start an agent with the launcher")[0].lines() {
        if line.starts_with("tmux attach") {
            ok("tmux has-session -t =w-claude");
        } else {
            ok(line);
        }
    }
    let beat = root.join("home/.local/state/mosaic/fleet/hb/w-claude.hb");
    poll(
        "w-claude waiting, from its hooks",
        Duration::from_secs(10),
        || {
            let b = fs::read_to_string(&beat).ok()?;
            (b.contains("status=waiting\n") && b.contains("model=claude-opus-4-8\n")).then_some(())
        },
    );

    // 3. Watching: the live view needs a terminal (tests/watch.rs), the
    // stream runs until stopped.
    let mut follow = None;
    for line in section_blocks(&readme, "### 3. Watch the fleet")[0].lines() {
        let cmd = line.split('#').next().unwrap().trim();
        if cmd.starts_with("hb-read --watch") {
            continue;
        }
        if cmd.starts_with("hb-read --follow") {
            follow = Some(q.run(&format!("timeout 2 {cmd}")));
            continue;
        }
        let out = ok(cmd);
        assert!(out.contains("w-claude"), "{cmd}: {out}");
    }
    // The status line, in the tmux server the agent runs in.
    let conf = section_blocks_of(&readme, "### 3. Watch the fleet", "tmux");
    assert_eq!(conf.len(), 1);
    fs::write(root.join("tmux.conf"), &conf[0]).unwrap();
    ok(&format!(
        "tmux source-file {}",
        root.join("tmux.conf").display()
    ));
    assert!(ok("tmux show -gv status-right").contains("#(hb-read --format tmux)"));
    let f = follow.expect("no hb-read --follow in step 3");
    assert_eq!(f.status.code(), Some(124), "{f:?}");
    assert!(
        String::from_utf8_lossy(&f.stdout).contains(" w-claude appeared waiting healthy "),
        "{f:?}"
    );

    // 4. The notifier, saved where the README says, then the stream.
    let blocks = section_blocks(&readme, "### 4. Get a notification");
    assert_eq!(blocks.len(), 2, "{blocks:?}");
    exe(root.join("home/.local/bin/hb-notify"), &blocks[0]);
    let o = q.run(&format!("timeout 2 {}", blocks[1].trim()));
    assert_eq!(o.status.code(), Some(124), "{o:?}");
    let got = poll(
        "hb-notify to call notify-send",
        Duration::from_secs(5),
        || fs::read_to_string(&sent).ok(),
    );
    assert!(got.contains("w-claude waits for you\n"), "{got}");
    assert!(got.contains("model claude-opus-4-8"), "{got}");

    // And it stops.
    ok("stop-agent-session.sh w-claude");
    assert!(fs::read_to_string(&beat)
        .unwrap()
        .contains("status=exited\n"));
}
