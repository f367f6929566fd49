//! `hb-read --format prometheus`: the fleet in the Prometheus text format,
//! for node_exporter's textfile collector.

use super::escape::prom_label;
use crate::listing::{Health, Listing, Row};
use std::fmt::Write as _;

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
    use crate::format::fixtures::{fleet, row};
    use crate::listing::Health;

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
    fn an_empty_fleet_still_reports_its_totals() {
        let text = prometheus(&fleet(vec![]));
        assert_eq!(check_exposition(&text).len(), 12);
        assert!(text.contains("mosaic_agent_fleet_agents{health=\"healthy\"} 0\n"));
    }
}
