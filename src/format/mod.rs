//! Rendering a listing, one output a file: the aligned table for people
//! (also fitted to a terminal's width, for `--watch`), JSON for programs
//! (the contract's normative shape), the Prometheus text format for
//! node_exporter's textfile collector, tmux's status line, and the lines
//! of the `--follow` stream (text and JSON). What they share, the escaping
//! of a beat's text for each place it is shown and the way an age reads,
//! is in [`escape`] and here.

mod escape;
mod follow;
mod json;
mod prometheus;
mod table;
mod tmux;

pub use escape::{escape_field, prom_label};
pub use follow::{change_json, change_line, iso_time};
pub use json::json;
pub use prometheus::prometheus;
pub use table::{cut_visible, table, table_fitted, visible_width, Fit};
pub use tmux::tmux;

/// The PID cell: the pid checked here, marked `*` when it was mapped from
/// the beat's pid namespace (a sandbox's or container's; contract v4).
fn shown_pid(j: &crate::listing::Judged) -> String {
    match j.ns_pid {
        Some(_) => format!("{}*", j.beat.pid),
        None => j.beat.pid.to_string(),
    }
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
}

/// Rows and listings for the outputs' tests.
#[cfg(test)]
pub(crate) mod fixtures {
    use crate::change::{Change, Event, State};
    use crate::listing::{Health, Listing, Row};

    pub fn row(name: &str, health: Health, beat: Option<(&str, Option<&str>)>) -> Row {
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

    pub fn fleet(rows: Vec<Row>) -> Listing {
        Listing {
            dir: "/d".into(),
            now: 1750556600,
            interval: 10,
            stale_after: 30,
            rows,
        }
    }

    pub fn change(event: Event, r: Row, was: Option<State>) -> Change {
        Change {
            event,
            time: 1750556600,
            row: r,
            was,
        }
    }
}
