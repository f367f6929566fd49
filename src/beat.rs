//! The beat file format: validating NAMEs and values, encoding a beat in the
//! contract's exact key order, and parsing one by the reader rules, in order.
//!
//! Parsing works on bytes and checks UTF-8 itself, so no input can make it
//! panic; every rejection carries a one-line reason naming the line or key.

use std::fmt::Write as _;

/// Largest beat a reader accepts (reader rule 1).
pub const MAX_BEAT_BYTES: usize = 4096;
pub const MAX_NAME_BYTES: usize = 64;
pub const MAX_MODEL_BYTES: usize = 128;
pub const MAX_STATUS_BYTES: usize = 32;
pub const MAX_PID: u64 = (1 << 31) - 1;

/// One heartbeat, as written and as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Beat {
    pub ts: i64,
    pub pid: u32,
    pub status: String,
    pub model: Option<String>,
    pub host: Option<String>,
    pub pstart: Option<u64>,
    /// When `status` took its current value (v2); absent in legacy beats.
    pub since: Option<i64>,
    /// The inode of the pid namespace `pid` belongs to (v4); absent in
    /// older beats, which are read as naming a pid of the reader's own.
    pub pidns: Option<u64>,
}

/// NAME: 1 to 64 bytes of `[A-Za-z0-9_-]`, starting with a letter or digit.
pub fn check_name(name: &str) -> Result<(), String> {
    let b = name.as_bytes();
    if b.is_empty() {
        return Err("NAME is empty".into());
    }
    if b.len() > MAX_NAME_BYTES {
        return Err(format!(
            "NAME is {} bytes, at most {MAX_NAME_BYTES} allowed",
            b.len()
        ));
    }
    if !b[0].is_ascii_alphanumeric() {
        return Err("NAME must start with a letter or digit".into());
    }
    if let Some(&c) = b
        .iter()
        .find(|&&c| !(c.is_ascii_alphanumeric() || c == b'_' || c == b'-'))
    {
        return Err(format!(
            "NAME may hold only A-Z a-z 0-9 _ -, not {}",
            describe_byte(c)
        ));
    }
    Ok(())
}

/// Like [`check_name`], for a NAME that arrived as raw OS bytes.
pub fn check_name_os(name: &std::ffi::OsStr) -> Result<&str, String> {
    let s = name
        .to_str()
        .ok_or_else(|| "NAME is not valid UTF-8".to_string())?;
    check_name(s)?;
    Ok(s)
}

fn describe_byte(c: u8) -> String {
    if c.is_ascii_graphic() {
        format!("'{}'", c as char)
    } else {
        format!("byte 0x{c:02x}")
    }
}

/// status: `[a-z][a-z0-9_-]{0,31}`.
pub fn check_status(s: &str) -> Result<(), String> {
    let b = s.as_bytes();
    let ok = !b.is_empty()
        && b.len() <= MAX_STATUS_BYTES
        && b[0].is_ascii_lowercase()
        && b[1..]
            .iter()
            .all(|&c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_' || c == b'-');
    if ok {
        Ok(())
    } else {
        Err("must match [a-z][a-z0-9_-]{0,31}".into())
    }
}

/// model, as a writer must emit it: 1 to 128 bytes of UTF-8, no control
/// characters, no leading or trailing white space.
pub fn check_model(m: &str) -> Result<(), String> {
    if m.is_empty() {
        return Err("is empty".into());
    }
    if m.len() > MAX_MODEL_BYTES {
        return Err(format!(
            "is {} bytes, at most {MAX_MODEL_BYTES} allowed",
            m.len()
        ));
    }
    if m.chars().any(char::is_control) {
        return Err("holds a control character".into());
    }
    if m.starts_with(char::is_whitespace) || m.ends_with(char::is_whitespace) {
        return Err("has leading or trailing white space".into());
    }
    Ok(())
}

/// pid: 1 to 10 ASCII digits, 1 to 2^31-1.
pub fn parse_pid(s: &str) -> Result<u32, String> {
    let n = parse_digits(s, 10).ok_or_else(|| "not a number".to_string())?;
    if n == 0 || n > MAX_PID {
        return Err(format!("{n} is out of range 1 to {MAX_PID}"));
    }
    Ok(n as u32)
}

/// ts: 1 to 19 ASCII digits within i64.
pub fn parse_ts(s: &str) -> Result<i64, String> {
    let n = parse_digits(s, 19).ok_or_else(|| "not a number".to_string())?;
    i64::try_from(n).map_err(|_| "out of range".to_string())
}

/// Plain ASCII digits only: no sign, no space, no `+`, at most `max` of them.
pub fn parse_digits(s: &str, max: usize) -> Option<u64> {
    let b = s.as_bytes();
    if b.is_empty() || b.len() > max || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    b.iter().try_fold(0u64, |n, &d| {
        n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    })
}

impl Beat {
    /// The file's bytes: exactly the contract's keys, in its order.
    pub fn encode(&self) -> String {
        let mut out = String::with_capacity(128);
        // Writing into a String cannot fail.
        let _ = write!(
            out,
            "ts={}\npid={}\nstatus={}\n",
            self.ts, self.pid, self.status
        );
        if let Some(m) = &self.model {
            let _ = writeln!(out, "model={m}");
        }
        if let Some(h) = &self.host {
            let _ = writeln!(out, "host={h}");
        }
        if let Some(p) = self.pstart {
            let _ = writeln!(out, "pstart={p}");
        }
        if let Some(s) = self.since {
            let _ = writeln!(out, "since={s}");
        }
        if let Some(n) = self.pidns {
            let _ = writeln!(out, "pidns={n}");
        }
        out
    }

    /// Parses a beat by the reader rules 1 to 5. The `Err` is the one-line
    /// reason an invalid row shows.
    pub fn parse(bytes: &[u8]) -> Result<Beat, String> {
        // Rule 1: size and encoding.
        if bytes.len() > MAX_BEAT_BYTES {
            return Err(format!("larger than {MAX_BEAT_BYTES} bytes"));
        }
        let text = std::str::from_utf8(bytes)
            .map_err(|e| format!("not valid UTF-8 at byte {}", e.valid_up_to()))?;
        // What a power cut can leave of a beat, since writers do not fsync.
        if text.bytes().all(|c| c == b'\n' || c == b'\r') {
            return Err("empty".into());
        }

        // Rules 2 to 4: the last occurrence of each known key wins; each
        // value remembers its line so a reason can name it.
        let mut fields: [Option<(usize, &str)>; 8] = [None; 8];
        const KEYS: [&str; 8] = [
            "ts", "pid", "status", "model", "host", "pstart", "since", "pidns",
        ];
        for (i, line) in text.split('\n').enumerate() {
            let line = line.strip_suffix('\r').unwrap_or(line);
            if line.is_empty() {
                continue;
            }
            let Some((key, value)) = line.split_once('=') else {
                return Err(format!("line {}: no '=' in line", i + 1));
            };
            if let Some(k) = KEYS.iter().position(|&known| known == key) {
                fields[k] = Some((i + 1, value));
            }
        }

        // Rule 5: required keys and their patterns.
        let [ts, pid, status, model, host, pstart, since, pidns] = fields;
        fn required<'a>(
            field: Option<(usize, &'a str)>,
            key: &str,
        ) -> Result<(usize, &'a str), String> {
            field.ok_or_else(|| format!("{key}: missing"))
        }
        let located = |line: usize, key: &str, why: String| format!("line {line}: {key}: {why}");

        let (line, v) = required(ts, "ts")?;
        let ts = parse_ts(v).map_err(|why| located(line, "ts", why))?;
        let (line, v) = required(pid, "pid")?;
        let pid = parse_pid(v).map_err(|why| located(line, "pid", why))?;
        let (line, v) = required(status, "status")?;
        check_status(v).map_err(|why| located(line, "status", why))?;

        let non_empty = |f: Option<(usize, &str)>| {
            f.map(|(_, v)| v)
                .filter(|v| !v.is_empty())
                .map(str::to_string)
        };
        Ok(Beat {
            ts,
            pid,
            status: v.to_string(),
            model: non_empty(model),
            host: non_empty(host),
            pstart: pstart.and_then(|(_, v)| parse_digits(v, 20)),
            since: since.and_then(|(_, v)| parse_ts(v).ok()),
            pidns: pidns
                .and_then(|(_, v)| parse_digits(v, 20))
                .filter(|&n| n > 0),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn beat(model: Option<&str>) -> Beat {
        Beat {
            ts: 1750556599,
            pid: 4242,
            status: "busy".into(),
            model: model.map(Into::into),
            host: Some("build-07".into()),
            pstart: Some(81734452),
            since: Some(1750556012),
            pidns: Some(4026531836),
        }
    }

    #[test]
    fn encodes_exactly_the_contract_keys_in_order() {
        assert_eq!(
            beat(Some("glm-5.2")).encode(),
            "ts=1750556599\npid=4242\nstatus=busy\nmodel=glm-5.2\nhost=build-07\npstart=81734452\nsince=1750556012\npidns=4026531836\n"
        );
        let mut legacy = beat(None);
        legacy.host = None;
        legacy.pstart = None;
        legacy.since = None;
        legacy.pidns = None;
        assert_eq!(legacy.encode(), "ts=1750556599\npid=4242\nstatus=busy\n");
    }

    #[test]
    fn round_trips() {
        for m in [
            None,
            Some("glm-5.2"),
            Some("claude opus = 4"),
            Some("ü模型"),
        ] {
            let b = beat(m);
            assert_eq!(Beat::parse(b.encode().as_bytes()), Ok(b));
        }
    }

    #[test]
    fn names_at_and_past_their_limits() {
        assert!(check_name("a").is_ok());
        assert!(check_name("0-agent_X").is_ok());
        assert!(check_name(&"a".repeat(64)).is_ok());
        assert!(check_name(&"a".repeat(65)).is_err());
        for bad in [
            "", "-a", "_a", ".x", "../x", "a/b", "a b", "a.b", "a:b", "a\nb", "$(x)", "é",
        ] {
            assert!(check_name(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn status_at_and_past_its_limits() {
        assert!(check_status("ok").is_ok());
        assert!(check_status("a").is_ok());
        assert!(check_status(&format!("a{}", "b".repeat(31))).is_ok());
        assert!(check_status(&format!("a{}", "b".repeat(32))).is_err());
        for bad in ["", "Ok", "1ok", "-ok", "o k", "ok\n", "busy!"] {
            assert!(check_status(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn model_at_and_past_its_limits() {
        assert!(check_model("m").is_ok());
        assert!(check_model(&"m".repeat(128)).is_ok());
        assert!(check_model(&"m".repeat(129)).is_err());
        // 64 two-byte characters: 128 bytes, at the limit.
        assert!(check_model(&"é".repeat(64)).is_ok());
        assert!(check_model(&"é".repeat(65)).is_err());
        for bad in ["", " m", "m ", "a\tb", "a\nb", "a\x7fb", "a\u{85}b"] {
            assert!(check_model(bad).is_err(), "{bad:?} accepted");
        }
        assert!(check_model("gpt 5 \"x\" \\ y").is_ok());
    }

    #[test]
    fn pid_and_ts_limits() {
        assert_eq!(parse_pid("1"), Ok(1));
        assert_eq!(parse_pid("2147483647"), Ok(2147483647));
        assert!(parse_pid("2147483648").is_err());
        assert!(parse_pid("0").is_err());
        assert!(parse_pid("00000000001").is_err()); // 11 digits
        assert!(parse_pid("0000000001").is_ok());
        for bad in ["", "-1", "+1", " 1", "1 ", "1e3", "0x10"] {
            assert!(parse_pid(bad).is_err(), "{bad:?} accepted");
        }
        assert_eq!(parse_ts("9223372036854775807"), Ok(i64::MAX));
        assert!(parse_ts("9223372036854775808").is_err());
        assert!(parse_ts("10000000000000000000").is_err()); // 20 digits
        assert_eq!(parse_ts("0"), Ok(0));
        assert!(parse_ts("-5").is_err());
    }

    fn reason(text: &[u8]) -> String {
        Beat::parse(text).unwrap_err()
    }

    #[test]
    fn rule_1_size_and_utf8() {
        let mut big = b"ts=1\npid=1\nstatus=ok\n".to_vec();
        big.resize(4096, b'\n');
        assert!(Beat::parse(&big).is_ok());
        big.push(b'\n');
        assert!(reason(&big).contains("larger than 4096"));
        assert!(reason(b"ts=1\npid=1\nstatus=ok\nmodel=\xff\n").contains("UTF-8"));
    }

    #[test]
    fn rule_2_crlf_no_final_lf_and_empty_lines() {
        let b = Beat::parse(b"\r\n\nts=5\r\n\r\npid=7\r\nstatus=ok\r\nmodel=m\r").unwrap();
        assert_eq!((b.ts, b.pid, b.status.as_str()), (5, 7, "ok"));
        assert_eq!(b.model.as_deref(), Some("m"));
        // Only one CR is stripped.
        assert!(reason(b"ts=5\npid=7\r\r\nstatus=ok\n").starts_with("line 2: pid"));
    }

    #[test]
    fn rule_3_line_without_equals_and_verbatim_values() {
        assert_eq!(
            reason(b"ts=1\npid=1\nstatus=ok\ngarbage\n"),
            "line 4: no '=' in line"
        );
        let b = Beat::parse(b"ts=1\npid=1\nstatus=ok\nmodel= a=b \n").unwrap();
        assert_eq!(b.model.as_deref(), Some(" a=b "));
    }

    #[test]
    fn rule_4_last_wins_case_sensitive_unknown_ignored() {
        let b = Beat::parse(b"ts=1\nts=2\npid=1\nstatus=busy\nstatus=ok\nTS=x\nfoo=bar\n").unwrap();
        assert_eq!((b.ts, b.status.as_str()), (2, "ok"));
        // The last one wins even when it is the bad one.
        assert_eq!(
            reason(b"ts=1\npid=1\npid=x\nstatus=ok\n"),
            "line 3: pid: not a number"
        );
    }

    #[test]
    fn rule_5_required_keys_patterns_and_nulls() {
        assert_eq!(reason(b"pid=1\nstatus=ok\n"), "ts: missing");
        assert_eq!(reason(b"ts=1\nstatus=ok\n"), "pid: missing");
        assert_eq!(reason(b"ts=1\npid=1\n"), "status: missing");
        assert!(reason(b"ts=\npid=1\nstatus=ok\n").starts_with("line 1: ts"));
        assert!(reason(b"ts=1\npid=0\nstatus=ok\n").starts_with("line 2: pid"));
        assert!(reason(b"ts=1\npid=1\nstatus=OK\n").starts_with("line 3: status"));
        let b =
            Beat::parse(b"ts=1\npid=1\nstatus=ok\nmodel=\nhost=\npstart=x\nsince=-3\npidns=-1\n")
                .unwrap();
        assert_eq!(
            (b.model, b.host, b.pstart, b.since, b.pidns),
            (None, None, None, None, None)
        );
        let b = Beat::parse(b"ts=1\npid=1\nstatus=ok\npidns=4026532201\npidns=0\n").unwrap();
        assert_eq!(
            b.pidns, None,
            "the last pidns wins, and 0 names no namespace"
        );
        let b = Beat::parse(b"ts=1\npid=1\nstatus=ok\nsince=7\nsince=\n").unwrap();
        assert_eq!(
            b.since, None,
            "the last since wins, and an empty one is absent"
        );
        let b = Beat::parse(b"ts=1\npid=1\nstatus=ok\nmodel=a\x1b[2Jb\n").unwrap();
        assert_eq!(b.model.as_deref(), Some("a\x1b[2Jb"));
    }

    #[test]
    fn empty_file_is_invalid() {
        assert_eq!(reason(b""), "empty");
        assert_eq!(reason(b"\n\r\n"), "empty");
        assert_eq!(reason(b"x=1\n"), "ts: missing");
    }
}
