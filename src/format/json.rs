//! `hb-read --json`: the listing as one JSON object in the contract's
//! shape. nanoserde escapes its strings (`"`, `\`, the ASCII control
//! characters and DEL; the rest verbatim UTF-8).

use crate::listing::{Listing, Row};
use nanoserde::SerJson;

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
pub struct JsonRow {
    pub name: String,
    pub health: String,
    pub native: bool,
    pub src: String,
    pub error: Option<String>,
    pub heartbeat: Option<JsonBeat>,
}

#[derive(SerJson)]
#[nserde(serialize_none_as_null)]
pub struct JsonBeat {
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

pub(super) fn json_row(r: &Row) -> JsonRow {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::fixtures::{fleet, row};
    use crate::listing::Health;

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
}
