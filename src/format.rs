//! Rendering a listing: the aligned table for people (also fitted to a
//! terminal's width, for `--watch`), JSON for programs (the contract's
//! normative shape), the Prometheus text format for node_exporter's
//! textfile collector, tmux's status line, and the lines of the
//! `--follow` stream (text and JSON).

use crate::change::{Change, State};
use crate::error::is_hidden;
use crate::listing::{Health, Listing, Row};
use crate::proc::LocalTime;
use nanoserde::SerJson;
use std::fmt::Write as _;

/// Makes a field safe to print on a terminal: control characters and the
/// invisible characters that reorder or hide text are shown escaped, so a
/// beat cannot drive the terminal or disguise itself.
pub fn escape_field(s: &str) -> String {
    if !s.chars().any(|c| is_hidden(c) || c == '\\') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x100 && (c.is_control()) => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if is_hidden(c) => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// `4s`, `3m12s`, `2h5m`, `6d3h`; zero trailing units are left out
/// (`3m`, `2h`, `6d`); a beat from the future reads `-4s`.
pub fn human_age(age: i64) -> String {
    let sign = if age < 0 { "-" } else { "" };
    let a = age.unsigned_abs();
    let (d, h, m, s) = (a / 86400, a / 3600 % 24, a / 60 % 60, a % 60);
    let pair = |big: u64, bu: &str, small: u64, su: &str| {
        if small == 0 {
            format!("{sign}{big}{bu}")
        } else {
            format!("{sign}{big}{bu}{small}{su}")
        }
    };
    if a < 60 {
        format!("{sign}{a}s")
    } else if a < 3600 {
        pair(a / 60, "m", s, "s")
    } else if a < 86400 {
        pair(a / 3600, "h", m, "m")
    } else {
        pair(d, "d", h, "h")
    }
}

/// The SGR colour of a table cell, by its column's header: the HEALTH cell
/// by its word, the STATUS cell when it is `waiting` (blocked on the
/// operator). Keyed by header, not position, so columns can move.
fn cell_color(header: &str, cell: &str) -> Option<&'static str> {
    match (header, cell) {
        ("HEALTH", "healthy") => Some("32"),
        ("HEALTH", "stale") | ("STATUS", "waiting") => Some("33"),
        ("HEALTH", "dead" | "invalid" | "missing") => Some("31"),
        ("HEALTH", "exited") => Some("2"),
        _ => None,
    }
}

/// `NAME PID STATUS FOR MODEL AGE HEALTH SRC`, aligned: FOR is how long
/// the status has held. An invalid row carries its reason after the last
/// column. With `color`, some cells are wrapped in SGR codes
/// ([`cell_color`]); widths count only the visible text.
pub fn table(l: &Listing, color: bool) -> String {
    table_fitted(l, color, None)
}

/// How a table fits a terminal: its width in columns, and the character
/// that ends a cut model (`…` where the terminal speaks UTF-8).
#[derive(Debug, Clone, Copy)]
pub struct Fit {
    pub width: usize,
    pub ellipsis: char,
}

/// [`table`], fitted to `fit` when given: a MODEL column that would make a
/// row too wide is narrowed (to 8 columns at least) and its long models
/// cut, then every line is cut at the width, so nothing wraps.
pub fn table_fitted(l: &Listing, color: bool, fit: Option<Fit>) -> String {
    const HEADER: [&str; 8] = [
        "NAME", "PID", "STATUS", "FOR", "MODEL", "AGE", "HEALTH", "SRC",
    ];
    const MODEL: usize = 4;
    let mut cells: Vec<[String; 8]> = vec![HEADER.map(String::from)];
    let mut notes: Vec<Option<String>> = vec![None];
    for r in &l.rows {
        let dash = || "-".to_string();
        let src = match r.heartbeat {
            Some(_) => r.src.word().to_string(),
            None => dash(),
        };
        let (pid, status, since, model, age) = match &r.heartbeat {
            Some(j) => (
                shown_pid(j),
                escape_field(&j.beat.status),
                j.status_age.map_or_else(dash, human_age),
                j.beat.model.as_deref().map_or_else(dash, escape_field),
                human_age(j.age),
            ),
            None => (dash(), dash(), dash(), dash(), dash()),
        };
        cells.push([
            escape_field(&r.name),
            pid,
            status,
            since,
            model,
            age,
            r.health.word().to_string(),
            src,
        ]);
        notes.push(r.error.as_deref().map(escape_field));
    }
    let mut widths = [0usize; 8];
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    if let Some(fit) = fit {
        let total: usize = widths.iter().map(|w| w + 2).sum::<usize>() - 2;
        if total > fit.width {
            let model = widths[MODEL]
                .saturating_sub(total - fit.width)
                .max(8)
                .min(widths[MODEL]);
            widths[MODEL] = model;
            for row in cells.iter_mut() {
                if row[MODEL].chars().count() > model {
                    let cut: String = row[MODEL].chars().take(model - 1).collect();
                    row[MODEL] = format!("{cut}{}", fit.ellipsis);
                }
            }
        }
    }
    let last = HEADER.len() - 1;
    let mut out = String::new();
    for (row, note) in cells.iter().zip(&notes) {
        let mut line = String::new();
        for (i, (c, w)) in row.iter().zip(widths).enumerate() {
            // The header row's own words never match a colour.
            match cell_color(&cells[0][i], c) {
                Some(sgr) if color => _ = write!(line, "\x1b[{sgr}m{c}\x1b[0m"),
                _ => line.push_str(c),
            }
            if i < last {
                line.extend(std::iter::repeat(' ').take(w - c.chars().count() + 2));
            }
        }
        if let Some(n) = note {
            let pad = widths[last] - row[last].chars().count() + 2;
            line.extend(std::iter::repeat(' ').take(pad));
            line.push_str(n);
        }
        match fit {
            Some(f) => out.push_str(&cut_visible(line.trim_end(), f.width)),
            None => out.push_str(line.trim_end()),
        }
        out.push('\n');
    }
    out
}

/// How many characters `s` shows: SGR codes are not counted.
pub fn visible_width(s: &str) -> usize {
    let mut in_sgr = false;
    s.chars()
        .filter(|&c| {
            let shown = !in_sgr && c != '\x1b';
            in_sgr = match c {
                '\x1b' => true,
                'm' => false,
                _ => in_sgr,
            };
            shown
        })
        .count()
}

/// The start of `line` that shows at most `width` characters, SGR codes
/// not counted; a cut inside a coloured cell still resets the colour.
pub fn cut_visible(line: &str, width: usize) -> String {
    let (mut shown, mut in_sgr, mut coloured) = (0, false, false);
    for (i, c) in line.char_indices() {
        if in_sgr {
            in_sgr = c != 'm';
        } else if c == '\x1b' {
            in_sgr = true;
            coloured = !line[i..].starts_with("\x1b[0m");
        } else if shown == width {
            let reset = if coloured { "\x1b[0m" } else { "" };
            return format!("{}{reset}", &line[..i]);
        } else {
            shown += 1;
        }
    }
    line.to_string()
}

/// The contract's JSON shape, one struct per level: nanoserde writes the
/// members in this order, `null` for an absent one, and escapes strings
/// (`"`, `\`, the ASCII control characters and DEL; the rest verbatim
/// UTF-8). A new member is one line here and one in [`json`].
#[derive(SerJson)]
#[nserde(serialize_none_as_null)]
struct JsonListing {
    dir: String,
    now: i64,
    interval: u32,
    stale_after: u32,
    rows: Vec<JsonRow>,
}

#[derive(SerJson)]
#[nserde(serialize_none_as_null)]
struct JsonRow {
    name: String,
    health: String,
    native: bool,
    src: String,
    error: Option<String>,
    heartbeat: Option<JsonBeat>,
}

#[derive(SerJson)]
#[nserde(serialize_none_as_null)]
struct JsonBeat {
    ts: i64,
    pid: u32,
    status: String,
    model: Option<String>,
    host: Option<String>,
    pstart: Option<u64>,
    since: Option<i64>,
    status_age: Option<i64>,
    age: i64,
    alive: Option<bool>,
    healthy: bool,
    /// The beat's pid namespace (v4), as written.
    pidns: Option<u64>,
    /// The beat's own pid when `pid` was mapped from its namespace.
    ns_pid: Option<u32>,
}

fn json_row(r: &Row) -> JsonRow {
    JsonRow {
        name: r.name.clone(),
        health: r.health.word().to_string(),
        native: r.native,
        src: r.src.word().to_string(),
        error: r.error.clone(),
        heartbeat: r.heartbeat.as_ref().map(|j| JsonBeat {
            ts: j.beat.ts,
            pid: j.beat.pid,
            status: j.beat.status.clone(),
            model: j.beat.model.clone(),
            host: j.beat.host.clone(),
            pstart: j.beat.pstart,
            since: j.beat.since,
            status_age: j.status_age,
            age: j.age,
            alive: j.alive,
            healthy: j.healthy,
            pidns: j.beat.pidns,
            ns_pid: j.ns_pid,
        }),
    }
}

/// One JSON object in the contract's shape, on one line.
pub fn json(l: &Listing) -> String {
    let doc = JsonListing {
        dir: l.dir.to_string_lossy().into_owned(),
        now: l.now,
        interval: l.interval,
        stale_after: l.stale_after,
        rows: l.rows.iter().map(json_row).collect(),
    };
    let mut out = doc.serialize_json();
    out.push('\n');
    out
}

/// A line of `--follow --json` (contract v3): a `rows[]` object of
/// [`json`], then `event`, `time` and `was`. nanoserde has no flattening,
/// so the row's members are repeated here, in the same order.
#[derive(SerJson)]
#[nserde(serialize_none_as_null)]
struct JsonChange {
    name: String,
    health: String,
    native: bool,
    src: String,
    error: Option<String>,
    heartbeat: Option<JsonBeat>,
    event: String,
    time: i64,
    was: Option<JsonWas>,
}

#[derive(SerJson)]
#[nserde(serialize_none_as_null)]
struct JsonWas {
    status: Option<String>,
    health: String,
    model: Option<String>,
    pid: Option<u32>,
}

/// One change as one line of JSON.
pub fn change_json(c: &Change) -> String {
    let JsonRow {
        name,
        health,
        native,
        src,
        error,
        heartbeat,
    } = json_row(&c.row);
    let doc = JsonChange {
        name,
        health,
        native,
        src,
        error,
        heartbeat,
        event: c.event.word().to_string(),
        time: c.time,
        was: c.was.as_ref().map(|w| JsonWas {
            status: w.status.clone(),
            health: w.health.word().to_string(),
            model: w.model.clone(),
            pid: w.pid,
        }),
    };
    let mut out = doc.serialize_json();
    out.push('\n');
    out
}

/// `2026-12-02T06:50:15+01:00`: ISO 8601 local time with its offset, one
/// word, sortable within one offset.
pub fn iso_time(t: &LocalTime) -> String {
    let off = t.offset.unsigned_abs();
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{}{:02}:{:02}",
        t.year,
        t.month,
        t.day,
        t.hour,
        t.minute,
        t.second,
        if t.offset < 0 { '-' } else { '+' },
        off / 3600,
        off / 60 % 60
    )
}

/// A line of `--follow`, for people and for `while read -r`: the fields
/// `TIME NAME EVENT STATUS HEALTH WAS FOR PID MODEL`, one word each but
/// the model, which comes last because it may hold spaces. WAS is
/// `STATUS/HEALTH` before the change; a dash stands for what is unknown
/// (no beat, no `since`, `appeared`). Nothing can break the line: fields
/// are escaped as the table escapes them, and a space in a NAME that is
/// not one (an odd file name) as `\x20`.
pub fn change_line(c: &Change, time: &str) -> String {
    let dash = || "-".to_string();
    let beat = c.row.heartbeat.as_ref();
    let word = |s: Option<&str>| s.map_or_else(dash, escape_field);
    let was = match &c.was {
        Some(State { status, health, .. }) => {
            format!("{}/{}", word(status.as_deref()), health.word())
        }
        None => dash(),
    };
    format!(
        "{time} {} {} {} {} {was} {} {} {}\n",
        escape_field(&c.row.name).replace(' ', "\\x20"),
        c.event.word(),
        word(beat.map(|j| j.beat.status.as_str())),
        c.row.health.word(),
        beat.and_then(|j| j.status_age).map_or_else(dash, human_age),
        beat.map_or_else(dash, shown_pid),
        word(beat.and_then(|j| j.beat.model.as_deref())),
    )
}

/// The PID cell: the pid checked here, marked `*` when it was mapped from
/// the beat's pid namespace (a sandbox's or container's; contract v4).
fn shown_pid(j: &crate::listing::Judged) -> String {
    match j.ns_pid {
        Some(_) => format!("{}*", j.beat.pid),
        None => j.beat.pid.to_string(),
    }
}

/// Text for tmux's status line: shown as is, but `#` starts a tmux format
/// (`#(...)` would run a command), so it is doubled; control characters
/// are escaped as in the table.
fn tmux_text(s: &str) -> String {
    escape_field(s).replace('#', "##")
}

/// `hb-read --format tmux`: one short line for tmux's `status-right`, in
/// tmux's own styles: the number of agents waiting for the operator with
/// the longest-waiting one and its FOR, then the other counts that are not
/// zero (dead, stale, invalid, missing, busy, the other statuses of
/// healthy agents by word, exited). Nothing at all for an empty listing,
/// so the status line shows nothing where there is no fleet.
///
/// What needs the operator is a badge, its own background with its text
/// (waiting black on yellow, dead white on red, ...), so it shows on any
/// status bar, tmux's default green one included; the calm counts are
/// plain text in the bar's own colours (busy bold, exited dim).
pub fn tmux(l: &Listing) -> String {
    if l.rows.is_empty() {
        return String::new();
    }
    let mut waiting: Vec<&Row> = Vec::new();
    let mut by_status: Vec<(&str, usize)> = Vec::new();
    for r in &l.rows {
        match (&r.heartbeat, r.health) {
            (Some(j), Health::Healthy) if j.beat.status == "waiting" => waiting.push(r),
            (Some(j), Health::Healthy) => {
                match by_status.iter_mut().find(|(s, _)| *s == j.beat.status) {
                    Some((_, n)) => *n += 1,
                    None => by_status.push((&j.beat.status, 1)),
                }
            }
            _ => {}
        }
    }
    // busy first, then the others by word.
    by_status.sort_by_key(|&(s, _)| (s != "busy", s));
    let count = |h: Health| l.rows.iter().filter(|r| r.health == h).count();
    let mut parts: Vec<String> = Vec::new();
    // The longest wait: the largest FOR, the first by name among equals.
    let status_age = |r: &Row| r.heartbeat.as_ref().and_then(|j| j.status_age);
    if let Some(first) =
        waiting
            .iter()
            .copied()
            .reduce(|a, b| if status_age(b) > status_age(a) { b } else { a })
    {
        let since = status_age(first).map(|a| format!(" {}", human_age(a)));
        parts.push(format!(
            "#[fg=black,bg=yellow,bold] {} waiting {}{} #[default]",
            waiting.len(),
            tmux_text(&first.name),
            since.unwrap_or_default()
        ));
    }
    for (h, style) in [
        (Health::Dead, "fg=white,bg=red,bold"),
        (Health::Stale, "fg=black,bg=yellow"),
        (Health::Invalid, "fg=white,bg=red"),
        (Health::Missing, "fg=white,bg=red"),
    ] {
        match count(h) {
            0 => {}
            n => parts.push(format!("#[{style}] {n} {} #[default]", h.word())),
        }
    }
    for (status, n) in by_status {
        let s = tmux_text(status);
        parts.push(match status {
            "busy" => format!("#[bold]{n} {s}#[default]"),
            _ => format!("{n} {s}"),
        });
    }
    match count(Health::Exited) {
        0 => {}
        n => parts.push(format!("#[dim]{n} exited#[default]")),
    }
    let mut out = parts.join(" ");
    out.push('\n');
    out
}

/// A label value escaped as the exposition format says: backslash, double
/// quote and line feed.
pub fn prom_label(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    let mut start = 0;
    for (i, b) in v.bytes().enumerate() {
        let esc = match b {
            b'\\' => "\\\\",
            b'"' => "\\\"",
            b'\n' => "\\n",
            _ => continue,
        };
        // ASCII, so `i` is a character boundary.
        out.push_str(&v[start..i]);
        out.push_str(esc);
        start = i + 1;
    }
    out.push_str(&v[start..]);
    out
}

/// Prometheus text format for node_exporter's textfile collector: every
/// family once, with its HELP and TYPE, all gauges, and no client-side
/// timestamps (the collector rejects them). Passes `promtool check metrics`.
///
/// Per-agent series carry `agent="NAME"`. Two files whose names differ only
/// in bytes that are not UTF-8 read as the same lossy name; a repeated
/// series is an error to node_exporter (it logs one on every scrape and
/// drops the repeat), so only the first of them gets per-agent series (all
/// are still counted by health).
pub fn prometheus(l: &Listing) -> String {
    // Only a name made lossy can repeat: the listing asks for each NAME
    // once, and distinct UTF-8 file names stay distinct. A lossy name holds
    // U+FFFD, so it is not ASCII; such names are rare, and a look-back
    // among them alone is enough, with no hashing code in the binary.
    let mut lossy: Vec<&str> = Vec::new();
    let rows: Vec<&Row> = l
        .rows
        .iter()
        .filter(|r| {
            let name = r.name.as_str();
            if name.is_ascii() {
                return true;
            }
            let first = !lossy.contains(&name);
            if first {
                lossy.push(name);
            }
            first
        })
        .collect();
    // Each row's `agent="NAME"`, escaped once.
    let agents: Vec<(&Row, String)> = rows
        .iter()
        .map(|r| (*r, format!("agent=\"{}\"", prom_label(&r.name))))
        .collect();
    let valid = || {
        agents
            .iter()
            .filter_map(|(r, a)| r.heartbeat.as_ref().map(|j| (j, a)))
    };
    let mut out = String::new();
    let o = &mut out;

    let name = "mosaic_agent_heartbeat_timestamp_seconds";
    family(
        o,
        name,
        "Unix time of the agent's last heartbeat (ts in the beat).",
    );
    for (j, a) in valid() {
        sample(o, name, a, j.beat.ts);
    }
    let name = "mosaic_agent_heartbeat_age_seconds";
    family(
        o,
        name,
        "Seconds since the agent's last heartbeat when this file was written.",
    );
    for (j, a) in valid() {
        sample(o, name, a, j.age);
    }
    let name = "mosaic_agent_healthy";
    family(
        o,
        name,
        "1 when the agent is healthy: valid beat, not exited, fresh, pid alive.",
    );
    for (r, a) in &agents {
        sample(o, name, a, i64::from(r.health == Health::Healthy));
    }
    let name = "mosaic_agent_health";
    family(
        o,
        name,
        "The agent's health as a state set: 1 for its current health, else 0.",
    );
    for (r, a) in &agents {
        for h in Health::ALL {
            let labels = format!("{a},health=\"{}\"", h.word());
            sample(o, name, &labels, i64::from(r.health == h));
        }
    }
    let name = "mosaic_agent_busy";
    family(o, name, "1 while the agent is in a turn (status busy).");
    for (j, a) in valid() {
        sample(o, name, a, i64::from(j.beat.status == "busy"));
    }
    let name = "mosaic_agent_waiting";
    family(
        o,
        name,
        "1 while the agent waits for the operator (status waiting).",
    );
    for (j, a) in valid() {
        sample(o, name, a, i64::from(j.beat.status == "waiting"));
    }
    let name = "mosaic_agent_status_since_timestamp_seconds";
    family(
        o,
        name,
        "Unix time when the agent's status took its current value (since in the beat).",
    );
    for (j, a) in valid() {
        if let Some(since) = j.beat.since {
            sample(o, name, a, since);
        }
    }
    let name = "mosaic_agent_native";
    family(
        o,
        name,
        "1 while the agent's native writer is active (fresh marker).",
    );
    for (r, a) in &agents {
        sample(o, name, a, i64::from(r.native));
    }
    let name = "mosaic_agent_alive";
    family(
        o,
        name,
        "1 when the agent's pid is alive; absent when it is on another host.",
    );
    for (j, a) in valid() {
        if let Some(alive) = j.alive {
            sample(o, name, a, i64::from(alive));
        }
    }
    let name = "mosaic_agent_info";
    family(
        o,
        name,
        "Constant 1, labelled with the agent's status, model and host (empty when unknown).",
    );
    for (j, a) in valid() {
        let labels = format!(
            "{a},status=\"{}\",model=\"{}\",host=\"{}\"",
            prom_label(&j.beat.status),
            prom_label(j.beat.model.as_deref().unwrap_or("")),
            prom_label(j.beat.host.as_deref().unwrap_or("")),
        );
        sample(o, name, &labels, 1);
    }
    // Not `_count` or `_total`: promtool reserves those suffixes for
    // histograms, summaries and counters.
    let name = "mosaic_agent_fleet_agents";
    family(o, name, "Number of agents listed, by health.");
    for h in Health::ALL {
        let n = l.rows.iter().filter(|r| r.health == h).count();
        let labels = format!("health=\"{}\"", h.word());
        sample(o, name, &labels, n as i64);
    }
    let name = "mosaic_agent_stale_after_seconds";
    family(o, name, "Age in seconds past which a beat counts as stale.");
    sample(o, name, "", i64::from(l.stale_after));
    out
}

/// A family's HELP and TYPE lines; every family here is a gauge.
fn family(out: &mut String, name: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
}

/// One sample, `name{labels} value`, or `name value` without labels.
fn sample(out: &mut String, name: &str, labels: &str, value: i64) {
    if labels.is_empty() {
        let _ = writeln!(out, "{name} {value}");
    } else {
        let _ = writeln!(out, "{name}{{{labels}}} {value}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::change::Event;

    #[test]
    fn ages_read_like_ps() {
        assert_eq!(human_age(0), "0s");
        assert_eq!(human_age(4), "4s");
        assert_eq!(human_age(59), "59s");
        assert_eq!(human_age(60), "1m");
        assert_eq!(human_age(192), "3m12s");
        assert_eq!(human_age(7500), "2h5m");
        assert_eq!(human_age(7200), "2h");
        assert_eq!(human_age(6 * 86400), "6d");
        assert_eq!(human_age(6 * 86400 + 3 * 3600 + 5), "6d3h");
        assert_eq!(human_age(-4), "-4s");
        assert!(human_age(i64::MIN).starts_with('-'));
    }

    #[test]
    fn escaping_defuses_terminal_control() {
        assert_eq!(escape_field("glm-5.2"), "glm-5.2");
        assert_eq!(escape_field("a\x1b[2Jb"), "a\\x1b[2Jb");
        assert_eq!(escape_field("a\nb\\"), "a\\nb\\\\");
        assert_eq!(escape_field("x\u{202E}y\u{9b}"), "x\\u{202e}y\\x9b");
        assert_eq!(prom_label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }

    fn row(name: &str, health: Health, beat: Option<(&str, Option<&str>)>) -> Row {
        Row {
            name: name.into(),
            health,
            native: false,
            src: crate::listing::Src::Sidecar,
            error: beat.is_none().then(|| "line 1: no '=' in line".into()),
            heartbeat: beat.map(|(status, model)| crate::listing::Judged {
                beat: crate::beat::Beat {
                    ts: 1750556599,
                    pid: 4242,
                    status: status.into(),
                    model: model.map(Into::into),
                    host: Some("build-07".into()),
                    pstart: None,
                    since: Some(1750556012),
                    pidns: None,
                },
                ns_pid: None,
                age: 1,
                status_age: Some(588),
                alive: Some(health != Health::Dead),
                healthy: health == Health::Healthy,
            }),
        }
    }

    fn fleet(rows: Vec<Row>) -> Listing {
        Listing {
            dir: "/d".into(),
            now: 1750556600,
            interval: 10,
            stale_after: 30,
            rows,
        }
    }

    /// The text format's shape: each family once, HELP then TYPE, then only
    /// its own samples, each `name{labels} value` with no timestamp.
    fn check_exposition(text: &str) -> Vec<String> {
        let mut families = Vec::new();
        let mut current = String::new();
        let mut lines = text.lines().peekable();
        while let Some(line) = lines.next() {
            if let Some(rest) = line.strip_prefix("# HELP ") {
                let name = rest.split(' ').next().unwrap().to_string();
                assert!(!families.contains(&name), "{name} twice");
                assert_eq!(lines.next(), Some(format!("# TYPE {name} gauge").as_str()));
                families.push(name.clone());
                current = name;
                continue;
            }
            let (series, value) = line.rsplit_once(' ').expect(line);
            assert!(value.parse::<f64>().is_ok(), "{line}");
            let metric = series.split('{').next().unwrap();
            assert_eq!(metric, current, "{line}");
            assert!(!series.ends_with("{}"), "{line}");
            // The value is the last field: no timestamp after it.
            assert!(!series.contains('}') || series.ends_with('}'), "{line}");
        }
        families
    }

    #[test]
    fn prometheus_families_are_whole_and_timestamp_free() {
        let text = prometheus(&fleet(vec![
            row("w-ok", Health::Healthy, Some(("busy", Some("glm-5.2")))),
            row("w-dead", Health::Dead, Some(("ok", None))),
            row("w-bad", Health::Invalid, None),
        ]));
        let families = check_exposition(&text);
        assert!(families.iter().all(|f| f.starts_with("mosaic_agent_")));
        for want in [
            "mosaic_agent_heartbeat_timestamp_seconds{agent=\"w-ok\"} 1750556599",
            "mosaic_agent_busy{agent=\"w-ok\"} 1",
            "mosaic_agent_busy{agent=\"w-dead\"} 0",
            "mosaic_agent_waiting{agent=\"w-ok\"} 0",
            "mosaic_agent_status_since_timestamp_seconds{agent=\"w-ok\"} 1750556012",
            "mosaic_agent_health{agent=\"w-dead\",health=\"dead\"} 1",
            "mosaic_agent_health{agent=\"w-bad\",health=\"invalid\"} 1",
            "mosaic_agent_healthy{agent=\"w-bad\"} 0",
            "mosaic_agent_info{agent=\"w-ok\",status=\"busy\",model=\"glm-5.2\",host=\"build-07\"} 1",
            "mosaic_agent_info{agent=\"w-dead\",status=\"ok\",model=\"\",host=\"build-07\"} 1",
            "mosaic_agent_fleet_agents{health=\"healthy\"} 1",
            "mosaic_agent_fleet_agents{health=\"invalid\"} 1",
            "mosaic_agent_fleet_agents{health=\"missing\"} 0",
            "mosaic_agent_stale_after_seconds 30",
        ] {
            assert!(text.lines().any(|l| l == want), "no {want:?} in\n{text}");
        }
        // An invalid beat has no time, no status, no model.
        assert!(!text.contains("timestamp_seconds{agent=\"w-bad\""));
        assert!(!text.contains("info{agent=\"w-bad\""));
    }

    #[test]
    fn prometheus_label_values_are_escaped() {
        let text = prometheus(&fleet(vec![row(
            "w\"q\\\nx",
            Health::Stale,
            Some(("ok", Some("m\"o\\d\nel"))),
        )]));
        check_exposition(&text);
        assert!(text.contains("model=\"m\\\"o\\\\d\\nel\""), "{text}");
        assert!(text.contains("{agent=\"w\\\"q\\\\\\nx\"}"), "{text}");
    }

    #[test]
    fn prometheus_never_repeats_a_series() {
        let lossy = "a\u{FFFD}";
        let text = prometheus(&fleet(vec![
            row(lossy, Health::Invalid, None),
            row(lossy, Health::Invalid, None),
        ]));
        check_exposition(&text);
        let mut series: Vec<&str> = text
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| l.rsplit_once(' ').unwrap().0)
            .collect();
        let n = series.len();
        series.sort();
        series.dedup();
        assert_eq!(series.len(), n, "{text}");
        assert!(text.contains("mosaic_agent_fleet_agents{health=\"invalid\"} 2"));
    }

    #[test]
    fn json_is_one_line_in_the_contracts_shape() {
        let mut ok = row("w-ok", Health::Healthy, Some(("busy", Some("glm-5.2"))));
        ok.native = true;
        ok.src = crate::listing::Src::Native;
        if let Some(j) = ok.heartbeat.as_mut() {
            j.beat.pstart = Some(81734452);
        }
        let mut away = row("w-away", Health::Stale, Some(("ok", None)));
        if let Some(j) = away.heartbeat.as_mut() {
            j.beat.host = None;
            j.age = -3;
            j.alive = None;
            j.beat.since = None;
            j.status_age = None;
        }
        let text = json(&fleet(vec![ok, away, row("w-bad", Health::Invalid, None)]));
        assert_eq!(
            text,
            concat!(
                r#"{"dir":"/d","now":1750556600,"interval":10,"stale_after":30,"rows":["#,
                r#"{"name":"w-ok","health":"healthy","native":true,"src":"native","error":null,"heartbeat":"#,
                r#"{"ts":1750556599,"pid":4242,"status":"busy","model":"glm-5.2","host":"build-07","#,
                r#""pstart":81734452,"since":1750556012,"status_age":588,"age":1,"alive":true,"healthy":true,"pidns":null,"ns_pid":null}},"#,
                r#"{"name":"w-away","health":"stale","native":false,"src":"sidecar","error":null,"heartbeat":"#,
                r#"{"ts":1750556599,"pid":4242,"status":"ok","model":null,"host":null,"#,
                r#""pstart":null,"since":null,"status_age":null,"age":-3,"alive":null,"healthy":false,"pidns":null,"ns_pid":null}},"#,
                r#"{"name":"w-bad","health":"invalid","native":false,"src":"sidecar","#,
                r#""error":"line 1: no '=' in line","heartbeat":null}]}"#,
                "\n"
            )
        );
        assert_eq!(
            json(&fleet(vec![])),
            r#"{"dir":"/d","now":1750556600,"interval":10,"stale_after":30,"rows":[]}"#.to_owned()
                + "\n"
        );
    }

    #[test]
    fn json_strings_are_escaped() {
        let mut r = row(
            "w",
            Health::Stale,
            Some((
                "ok",
                Some("m\"o\\d\n\r\t\u{8}\u{c}\u{1}\u{1f}\u{7f}\u{9b}é\u{202e}/"),
            )),
        );
        r.name = "w\u{0}\"".into();
        let text = json(&fleet(vec![r]));
        assert!(text.contains(r#""name":"w\u0000\"""#), "{text}");
        assert!(
            text.contains(
                "\"model\":\"m\\\"o\\\\d\\n\\r\\t\\b\\f\\u0001\\u001f\\u007f\u{9b}é\u{202e}/\""
            ),
            "{text}"
        );
    }

    #[test]
    fn the_tmux_line_counts_what_matters_and_no_value_is_a_format() {
        assert_eq!(tmux(&fleet(vec![])), "");
        let mut long = row("w-long", Health::Healthy, Some(("waiting", None)));
        long.heartbeat.as_mut().unwrap().status_age = Some(700);
        let mut odd = row("w#(touch x)", Health::Healthy, Some(("waiting", None)));
        odd.heartbeat.as_mut().unwrap().status_age = Some(800);
        let l = fleet(vec![
            row("w-a", Health::Healthy, Some(("busy", None))),
            row("w-b", Health::Healthy, Some(("waiting", None))),
            long,
            row("w-c", Health::Healthy, Some(("ok", None))),
            row("w-d", Health::Healthy, Some(("starting", None))),
            row("w-e", Health::Dead, Some(("busy", None))),
            row("w-f", Health::Stale, Some(("ok", None))),
            row("w-g", Health::Exited, Some(("exited", None))),
            row("w-h", Health::Invalid, None),
        ]);
        assert_eq!(
            tmux(&l),
            "#[fg=black,bg=yellow,bold] 2 waiting w-long 11m40s #[default] \
             #[fg=white,bg=red,bold] 1 dead #[default] \
             #[fg=black,bg=yellow] 1 stale #[default] \
             #[fg=white,bg=red] 1 invalid #[default] \
             #[bold]1 busy#[default] 1 ok 1 starting #[dim]1 exited#[default]\n"
        );
        // A `#` anywhere is doubled: tmux shows it, never runs it.
        let mut l = fleet(vec![odd]);
        l.rows[0].name = "w#(touch x)\n".into();
        assert_eq!(
            tmux(&l),
            "#[fg=black,bg=yellow,bold] 1 waiting w##(touch x)\\n 13m20s #[default]\n"
        );
    }

    fn change(event: Event, r: Row, was: Option<State>) -> Change {
        Change {
            event,
            time: 1750556600,
            row: r,
            was,
        }
    }

    #[test]
    fn a_change_is_one_line_of_text_or_json() {
        let mut busy = row(
            "w-ok",
            Health::Healthy,
            Some(("waiting", Some("glm 5\x1b[2J"))),
        );
        busy.heartbeat.as_mut().unwrap().beat.pid = 77;
        let was = State {
            status: Some("busy".into()),
            health: Health::Healthy,
            model: None,
            pid: Some(77),
        };
        let c = change(Event::Changed, busy, Some(was));
        assert_eq!(
            change_line(&c, "T"),
            "T w-ok changed waiting healthy busy/healthy 9m48s 77 glm 5\\x1b[2J\n"
        );
        let json = change_json(&c);
        assert!(json.starts_with(r#"{"name":"w-ok","health":"healthy","native":false,"src":"sidecar","error":null,"heartbeat":{"ts":"#));
        assert!(
            json.ends_with(concat!(
                r#""event":"changed","time":1750556600,"#,
                r#""was":{"status":"busy","health":"healthy","model":null,"pid":77}}"#,
                "\n"
            )),
            "{json}"
        );
        let gone = change(
            Event::Removed,
            row("a b", Health::Missing, None),
            Some(State {
                status: None,
                health: Health::Invalid,
                model: None,
                pid: None,
            }),
        );
        assert_eq!(
            change_line(&gone, "T"),
            "T a\\x20b removed - missing -/invalid - - -\n"
        );
        let new = change(Event::Appeared, row("w", Health::Invalid, None), None);
        assert!(change_json(&new).ends_with(
            r#""event":"appeared","time":1750556600,"was":null}
"#
        ));
        let t = crate::proc::utc_time(1750556599);
        assert_eq!(iso_time(&t), "2025-06-22T01:43:19+00:00");
        let t = LocalTime {
            offset: -(5 * 3600 + 30 * 60),
            ..t
        };
        assert_eq!(iso_time(&t), "2025-06-22T01:43:19-05:30");
    }

    #[test]
    fn a_fitted_table_cuts_the_model_then_the_line() {
        let long = "m".repeat(60);
        let l = fleet(vec![row(
            "w-1",
            Health::Healthy,
            Some(("busy", Some(long.as_str()))),
        )]);
        let fit = |width| Fit {
            width,
            ellipsis: '…',
        };
        let plain = table(&l, false);
        assert_eq!(table_fitted(&l, false, Some(fit(200))), plain);
        let t = table_fitted(&l, true, Some(fit(60)));
        for line in t.lines() {
            assert!(visible_width(line) <= 60, "{line:?}");
        }
        let row = t.lines().nth(1).unwrap();
        // The model gave up just enough: every other column is whole.
        assert!(row.contains(&format!(" {}… ", "m".repeat(9))), "{row:?}");
        assert!(
            row.ends_with(" sidecar") && visible_width(row) == 60,
            "{row:?}"
        );
        // Narrower than the model can give: 8 columns, then the line is cut.
        let t = table_fitted(&l, false, Some(fit(40)));
        let row = t.lines().nth(1).unwrap();
        assert!(
            row.contains(" mmmmmmm… ") && row.chars().count() == 40,
            "{row:?}"
        );
        // Cut inside a coloured cell: the colour still ends.
        assert_eq!(
            cut_visible("ab\x1b[32mcdef\x1b[0mg", 4),
            "ab\x1b[32mcd\x1b[0m"
        );
        assert_eq!(
            cut_visible("ab\x1b[32mcd\x1b[0mg", 4),
            "ab\x1b[32mcd\x1b[0m"
        );
        assert_eq!(cut_visible("abc", 3), "abc");
        assert_eq!(visible_width("a\x1b[31mbé\x1b[0m"), 3);
    }

    #[test]
    fn an_empty_fleet_still_reports_its_totals() {
        let text = prometheus(&fleet(vec![]));
        assert_eq!(check_exposition(&text).len(), 12);
        assert!(text.contains("mosaic_agent_fleet_agents{health=\"healthy\"} 0\n"));
    }
}
