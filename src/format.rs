//! Rendering a listing: the aligned table for people, JSON for programs
//! (the contract's normative shape), and the Prometheus text format for
//! node_exporter's textfile collector.

use crate::listing::{Health, Listing, Row};
use nanoserde::SerJson;
use std::fmt::Write as _;

/// Makes a field safe to print on a terminal: control characters and the
/// invisible characters that reorder or hide text are shown escaped, so a
/// beat cannot drive the terminal or disguise itself.
pub fn escape_field(s: &str) -> String {
    let hidden = |c: char| matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}');
    if !s.chars().any(|c| c.is_control() || hidden(c) || c == '\\') {
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
            c if c.is_control() || hidden(c) => {
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

/// `NAME PID STATUS MODEL AGE HEALTH SRC`, aligned. An invalid row carries
/// its reason after the last column.
pub fn table(l: &Listing) -> String {
    let mut cells: Vec<[String; 7]> =
        vec![["NAME", "PID", "STATUS", "MODEL", "AGE", "HEALTH", "SRC"].map(String::from)];
    let mut notes: Vec<Option<String>> = vec![None];
    for r in &l.rows {
        let dash = || "-".to_string();
        let src = match (r.native, r.heartbeat.is_some()) {
            (true, _) => "native".to_string(),
            (false, true) => "sidecar".to_string(),
            (false, false) => dash(),
        };
        let (pid, status, model, age) = match &r.heartbeat {
            Some(j) => (
                j.beat.pid.to_string(),
                escape_field(&j.beat.status),
                j.beat.model.as_deref().map_or_else(dash, escape_field),
                human_age(j.age),
            ),
            None => (dash(), dash(), dash(), dash()),
        };
        cells.push([
            escape_field(&r.name),
            pid,
            status,
            model,
            age,
            r.health.word().to_string(),
            src,
        ]);
        notes.push(r.error.as_deref().map(escape_field));
    }
    let mut widths = [0usize; 7];
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    for (row, note) in cells.iter().zip(&notes) {
        let mut line = String::new();
        for (i, (c, w)) in row.iter().zip(widths).enumerate() {
            line.push_str(c);
            if i + 1 < row.len() {
                line.extend(std::iter::repeat(' ').take(w - c.chars().count() + 2));
            }
        }
        if let Some(n) = note {
            let pad = widths[6] - row[6].chars().count() + 2;
            line.extend(std::iter::repeat(' ').take(pad));
            line.push_str(n);
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

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
    age: i64,
    alive: Option<bool>,
    healthy: bool,
}

/// One JSON object in the contract's shape, on one line.
pub fn json(l: &Listing) -> String {
    let doc = JsonListing {
        dir: l.dir.to_string_lossy().into_owned(),
        now: l.now,
        interval: l.interval,
        stale_after: l.stale_after,
        rows: l
            .rows
            .iter()
            .map(|r| JsonRow {
                name: r.name.clone(),
                health: r.health.word().to_string(),
                native: r.native,
                error: r.error.clone(),
                heartbeat: r.heartbeat.as_ref().map(|j| JsonBeat {
                    ts: j.beat.ts,
                    pid: j.beat.pid,
                    status: j.beat.status.clone(),
                    model: j.beat.model.clone(),
                    host: j.beat.host.clone(),
                    pstart: j.beat.pstart,
                    age: j.age,
                    alive: j.alive,
                    healthy: j.healthy,
                }),
            })
            .collect(),
    };
    let mut s = doc.serialize_json();
    s.push('\n');
    s
}

/// A label value escaped as the exposition format says: backslash, double
/// quote and line feed.
pub fn prom_label(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
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
    let mut seen = std::collections::HashSet::new();
    let rows: Vec<&Row> = l
        .rows
        .iter()
        .filter(|r| seen.insert(r.name.as_str()))
        .collect();
    let mut out = String::new();
    let mut family =
        |name: &str, help: &str, samples: &mut dyn Iterator<Item = (String, String)>| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
            for (labels, value) in samples {
                if labels.is_empty() {
                    let _ = writeln!(out, "{name} {value}");
                } else {
                    let _ = writeln!(out, "{name}{{{labels}}} {value}");
                }
            }
        };
    let agent = |r: &Row| format!("agent=\"{}\"", prom_label(&r.name));
    let valid = || {
        rows.iter()
            .filter_map(|r| r.heartbeat.as_ref().map(|j| (*r, j)))
    };
    let flag = |b: bool| if b { "1" } else { "0" }.to_string();

    family(
        "mosaic_agent_heartbeat_timestamp_seconds",
        "Unix time of the agent's last heartbeat (ts in the beat).",
        &mut valid().map(|(r, j)| (agent(r), j.beat.ts.to_string())),
    );
    family(
        "mosaic_agent_heartbeat_age_seconds",
        "Seconds since the agent's last heartbeat when this file was written.",
        &mut valid().map(|(r, j)| (agent(r), j.age.to_string())),
    );
    family(
        "mosaic_agent_healthy",
        "1 when the agent is healthy: valid beat, not exited, fresh, pid alive.",
        &mut rows
            .iter()
            .map(|r| (agent(r), flag(r.health == Health::Healthy))),
    );
    family(
        "mosaic_agent_health",
        "The agent's health as a state set: 1 for its current health, else 0.",
        &mut rows.iter().flat_map(|r| {
            Health::ALL.iter().map(move |h| {
                (
                    format!("{},health=\"{}\"", agent(r), h.word()),
                    flag(r.health == *h),
                )
            })
        }),
    );
    family(
        "mosaic_agent_busy",
        "1 while the agent is in a turn (status busy).",
        &mut valid().map(|(r, j)| (agent(r), flag(j.beat.status == "busy"))),
    );
    family(
        "mosaic_agent_native",
        "1 while the agent's native writer is active (fresh marker).",
        &mut rows.iter().map(|r| (agent(r), flag(r.native))),
    );
    family(
        "mosaic_agent_alive",
        "1 when the agent's pid is alive; absent when it is on another host.",
        &mut valid().filter_map(|(r, j)| j.alive.map(|a| (agent(r), flag(a)))),
    );
    family(
        "mosaic_agent_info",
        "Constant 1, labelled with the agent's status, model and host (empty when unknown).",
        &mut valid().map(|(r, j)| {
            (
                format!(
                    "{},status=\"{}\",model=\"{}\",host=\"{}\"",
                    agent(r),
                    prom_label(&j.beat.status),
                    prom_label(j.beat.model.as_deref().unwrap_or("")),
                    prom_label(j.beat.host.as_deref().unwrap_or("")),
                ),
                "1".to_string(),
            )
        }),
    );
    // Not `_count` or `_total`: promtool reserves those suffixes for
    // histograms, summaries and counters.
    family(
        "mosaic_agent_fleet_agents",
        "Number of agents listed, by health.",
        &mut Health::ALL.iter().map(|h| {
            let n = l.rows.iter().filter(|r| r.health == *h).count();
            (format!("health=\"{}\"", h.word()), n.to_string())
        }),
    );
    family(
        "mosaic_agent_stale_after_seconds",
        "Age in seconds past which a beat counts as stale.",
        &mut std::iter::once((String::new(), l.stale_after.to_string())),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

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
            error: beat.is_none().then(|| "line 1: no '=' in line".into()),
            heartbeat: beat.map(|(status, model)| crate::listing::Judged {
                beat: crate::beat::Beat {
                    ts: 1750556599,
                    pid: 4242,
                    status: status.into(),
                    model: model.map(Into::into),
                    host: Some("build-07".into()),
                    pstart: None,
                },
                age: 1,
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
    fn an_empty_fleet_still_reports_its_totals() {
        let text = prometheus(&fleet(vec![]));
        assert_eq!(check_exposition(&text).len(), 10);
        assert!(text.contains("mosaic_agent_fleet_agents{health=\"healthy\"} 0\n"));
    }
}
