//! `hb-read`'s coloured table: which cells get which colour, that the
//! columns still align once the codes are stripped, and that `--color auto`
//! colours only a real terminal (a pty from `script`), never a pipe, and
//! honours `NO_COLOR` and `TERM=dumb`.

mod common;

use common::*;
use std::process::Command;

const GREEN: &str = "\x1b[32m";
const YELLOW: &str = "\x1b[33m";
const RED: &str = "\x1b[31m";
const DIM: &str = "\x1b[2m";
const RESET: &str = "\x1b[0m";

/// A fleet with one agent of each health, and one waiting for the operator.
fn fleet(sb: &Sandbox) -> Vec<&'static str> {
    let me = std::process::id();
    let t = now();
    sb.put(
        "w-ok.hb",
        format!("ts={t}\npid={me}\nstatus=ok\n").as_bytes(),
    );
    sb.put(
        "w-wait.hb",
        format!("ts={t}\npid={me}\nstatus=waiting\nmodel=glm-5.2\n").as_bytes(),
    );
    sb.put(
        "w-stale.hb",
        format!("ts={}\npid={me}\nstatus=busy\n", t - 3600).as_bytes(),
    );
    // The largest pid there can be: no such process.
    sb.put(
        "w-dead.hb",
        format!("ts={t}\npid=2147483647\nstatus=ok\n").as_bytes(),
    );
    sb.put(
        "w-gone.hb",
        format!("ts={t}\npid={me}\nstatus=exited\n").as_bytes(),
    );
    sb.put("w-bad.hb", b"ts=1\npid=x\nstatus=ok\n");
    vec![
        "w-bad", "w-dead", "w-gone", "w-ok", "w-stale", "w-wait", "w-none",
    ]
}

fn strip(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find('\x1b') {
        out.push_str(&rest[..i]);
        let end = rest[i..].find('m').expect("an SGR sequence ends in m");
        rest = &rest[i + end + 1..];
    }
    out + rest
}

/// The line of agent `name` in a table.
fn line<'a>(table: &'a str, name: &str) -> &'a str {
    table
        .lines()
        .find(|l| strip(l).split_whitespace().next() == Some(name))
        .unwrap_or_else(|| panic!("no row {name} in\n{table}"))
}

#[test]
fn always_colours_health_and_waiting_and_keeps_the_columns() {
    let sb = Sandbox::new("color-always");
    let names = fleet(&sb);
    let colored = sb
        .run(READ, &[&["--color", "always"][..], &names].concat())
        .expect(0)
        .stdout();
    let plain = sb
        .run(READ, &[&["--color", "never"][..], &names].concat())
        .expect(0)
        .stdout();
    // Stripped of its codes, the coloured table is the plain one.
    assert_eq!(timeless(&strip(&colored)), timeless(&plain), "{colored:?}");
    assert!(!plain.contains('\x1b'), "{plain:?}");
    for (name, cell) in [
        ("w-ok", format!("{GREEN}healthy{RESET}")),
        ("w-wait", format!("{YELLOW}waiting{RESET}")),
        ("w-wait", format!("{GREEN}healthy{RESET}")),
        ("w-stale", format!("{YELLOW}stale{RESET}")),
        ("w-dead", format!("{RED}dead{RESET}")),
        ("w-bad", format!("{RED}invalid{RESET}")),
        ("w-none", format!("{RED}missing{RESET}")),
        ("w-gone", format!("{DIM}exited{RESET}")),
    ] {
        let l = line(&colored, name);
        assert!(l.contains(&cell), "{name}: no {cell:?} in {l:?}");
    }
    // Only the STATUS cell `waiting` and the HEALTH cells are coloured: the
    // header, names, pids, models and an `exited` STATUS cell are not.
    let header = colored.lines().next().unwrap();
    assert!(!header.contains('\x1b'), "{header:?}");
    assert_eq!(colored.matches('\x1b').count(), 2 * (names.len() + 1));
    // Every column starts at the same place in every row.
    let header = plain.lines().next().unwrap();
    let health_at = header.find("HEALTH").unwrap();
    for l in plain.lines().skip(1) {
        let word = &l[health_at..];
        assert!(
            ["healthy", "stale", "dead", "exited", "invalid", "missing"]
                .iter()
                .any(|w| word.starts_with(w)),
            "misaligned: {l:?}\n{plain}"
        );
    }
}

#[test]
fn auto_never_colours_a_pipe() {
    let sb = Sandbox::new("color-pipe");
    let names = fleet(&sb);
    for args in [&[][..], &["--color", "auto"]] {
        let out = sb.run(READ, &[args, &names].concat()).expect(0).stdout();
        assert!(out.contains("healthy") && !out.contains('\x1b'), "{out:?}");
    }
}

#[test]
fn bad_color_values_are_usage_errors() {
    let sb = Sandbox::new("color-bad");
    for v in ["yes", "", "ALWAYS"] {
        sb.run(READ, &["--color", v])
            .expect(2)
            .one_error_line("hb-read: error: --color:");
    }
    sb.run(READ, &["--color"])
        .expect(2)
        .one_error_line("hb-read: error: --color: missing value");
}

/// Runs `hb-read ARGS` on a pseudo-terminal (util-linux `script`), with
/// `vars` set; returns what the terminal showed.
fn on_a_terminal(sb: &Sandbox, args: &str, vars: &[(&str, &str)]) -> Option<String> {
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("SKIP: util-linux script is not installed");
        return None;
    }
    let mut c = bare("script");
    c.args([
        "-qec",
        &format!("\"$HB_READ\" --dir \"$HB_DIR\" {args}"),
        "/dev/null",
    ])
    .env("HB_READ", READ)
    .env("HB_DIR", &sb.dir)
    .env("TERM", "xterm")
    .env_remove("NO_COLOR");
    for (k, v) in vars {
        c.env(k, v);
    }
    let r = Run::of(&mut c, sb);
    r.expect(0);
    Some(r.stdout().replace("\r\n", "\n"))
}

/// A table with every digit made 0: two reads a second boundary apart show
/// other ages (`0s`, `1s`) and are still the same table.
fn timeless(table: &str) -> String {
    table
        .chars()
        .map(|c| if c.is_ascii_digit() { '0' } else { c })
        .collect()
}

#[test]
fn auto_colours_a_terminal_unless_no_color_or_a_dumb_terminal() {
    let sb = Sandbox::new("color-tty");
    fleet(&sb);
    let Some(tty) = on_a_terminal(&sb, "", &[]) else {
        return;
    };
    assert!(tty.contains(&format!("{GREEN}healthy{RESET}")), "{tty:?}");
    let plain = timeless(&sb.run(READ, &[]).expect(0).stdout());
    assert_eq!(timeless(&strip(&tty)), plain);
    // An empty NO_COLOR counts as unset (no-color.org).
    let tty = on_a_terminal(&sb, "", &[("NO_COLOR", "")]).unwrap();
    assert!(tty.contains(GREEN), "{tty:?}");
    for vars in [[("NO_COLOR", "1")], [("TERM", "dumb")]] {
        let tty = on_a_terminal(&sb, "", &vars).unwrap();
        assert_eq!(timeless(&tty), plain, "{vars:?}");
    }
    // never wins on a terminal; always wins over NO_COLOR.
    let tty = on_a_terminal(&sb, "--color never", &[]).unwrap();
    assert_eq!(timeless(&tty), plain);
    let tty = on_a_terminal(&sb, "--color always", &[("NO_COLOR", "1")]).unwrap();
    assert!(tty.contains(GREEN), "{tty:?}");
    // JSON is never coloured.
    let tty = on_a_terminal(&sb, "--json --color always", &[]).unwrap();
    assert!(!tty.contains('\x1b'), "{tty:?}");
}
