//! The lines of `hb-read --follow`: one line of text (for people and for
//! `while read -r`) or of JSON (a row of `--json` with the change) per change.

use super::escape::escape_field;
use super::human_age;
use super::json::{json_row, JsonBeat, JsonRow};
use crate::change::{Change, State};
use crate::proc::LocalTime;
use nanoserde::SerJson;

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
        beat.map_or_else(dash, super::shown_pid),
        word(beat.and_then(|j| j.beat.model.as_deref())),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::change::Event;
    use crate::format::fixtures::{change, row};
    use crate::listing::Health;

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
}
