//! A seeded randomized test of the beat format: 100,000 beats, each a
//! random valid beat then mutated the ways files get damaged or forged
//! (bytes flipped, inserted, cut; lines duplicated, dropped, reordered;
//! CRLF; keys re-cased; invalid UTF-8; sizes around the 4096-byte cap).
//!
//! For each one: the parser does not panic; it agrees with a reference
//! reading of the contract's reader rules written here independently; a
//! rejection is a one-line reason; an accepted beat re-encodes and parses
//! back to itself. Valid beats round-trip through the real binaries
//! (`hb-write` then the file and `hb-read`), and a sample of the mutated
//! files is listed by `hb-read`, which must agree row by row.
//!
//! The seed is printed; `HB_FUZZ_SEED=N` replays a run, `HB_FUZZ_BEATS=N`
//! changes the count.

mod common;

use common::*;
use hb::beat::Beat;
use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};

const BEATS: usize = 100_000;

/// The contract's reader rules 1 to 5, written from the text of the
/// contract, as the oracle.
fn reference(bytes: &[u8]) -> Option<Beat> {
    if bytes.len() > 4096 {
        return None;
    }
    let text = std::str::from_utf8(bytes).ok()?;
    let mut last: HashMap<&str, &str> = HashMap::new();
    for line in text.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() {
            continue;
        }
        let (key, value) = line.split_once('=')?;
        if [
            "ts", "pid", "status", "model", "host", "pstart", "since", "pidns",
        ]
        .contains(&key)
        {
            last.insert(key, value);
        }
    }
    let digits = |s: &str, max: usize| {
        !s.is_empty() && s.len() <= max && s.bytes().all(|c| c.is_ascii_digit())
    };
    let ts = last
        .get("ts")
        .filter(|v| digits(v, 19))?
        .parse::<i64>()
        .ok()?;
    let pid = last
        .get("pid")
        .filter(|v| digits(v, 10))?
        .parse::<u64>()
        .ok()?;
    if !(1..=(1 << 31) - 1).contains(&pid) {
        return None;
    }
    let status = *last.get("status")?;
    let sb = status.as_bytes();
    let status_ok = (1..=32).contains(&sb.len())
        && sb[0].is_ascii_lowercase()
        && sb
            .iter()
            .all(|&c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-' || c == b'_');
    if !status_ok {
        return None;
    }
    let text_of = |k: &str| last.get(k).filter(|v| !v.is_empty()).map(|v| v.to_string());
    Some(Beat {
        ts,
        pid: pid as u32,
        status: status.to_string(),
        model: text_of("model"),
        host: text_of("host"),
        pstart: last
            .get("pstart")
            .filter(|v| digits(v, 20))
            .and_then(|v| v.parse().ok()),
        since: last
            .get("since")
            .filter(|v| digits(v, 19))
            .and_then(|v| v.parse().ok()),
        pidns: last
            .get("pidns")
            .filter(|v| digits(v, 20))
            .and_then(|v| v.parse().ok())
            .filter(|&n: &u64| n > 0),
    })
}

const MODEL_CHARS: &[&str] = &[
    "a", "Z", "0", "-", ".", "/", ":", " ", "=", "\"", "\\", "é", "模", "型", "🦀", "\u{a0}x",
];

fn random_valid(rng: &mut fastrand::Rng) -> Beat {
    let ts = match rng.u8(..10) {
        0 => 0,
        1 => i64::MAX,
        2 => rng.i64(0..),
        _ => 1_750_000_000 + rng.i64(-100_000..100_000),
    };
    let pid = match rng.u8(..4) {
        0 => 1,
        1 => (1 << 31) - 1,
        _ => rng.u32(1..(1 << 31)),
    };
    let status = {
        let len = rng.usize(1..=32);
        let mut s = String::from(rng.char('a'..='z'));
        for _ in 1..len {
            s.push(match rng.u8(..4) {
                0 => rng.char('0'..='9'),
                1 => ['-', '_'][rng.usize(..2)],
                _ => rng.char('a'..='z'),
            });
        }
        s
    };
    let model = rng.bool().then(|| {
        let mut m = String::new();
        while m.len() < rng.usize(1..=128) {
            let c = MODEL_CHARS[rng.usize(..MODEL_CHARS.len())];
            if m.len() + c.len() > 128 {
                break;
            }
            m.push_str(c);
        }
        let m = m.trim().to_string();
        if m.is_empty() {
            "m".to_string()
        } else {
            m
        }
    });
    let host = rng.bool().then(|| {
        (0..rng.usize(1..20))
            .map(|_| ['a', 'b', '7', '-', '.'][rng.usize(..5)])
            .collect()
    });
    let pstart = rng.bool().then(|| rng.u64(..));
    let since = rng
        .bool()
        .then(|| ts.saturating_sub(rng.i64(0..100_000)).max(0));
    let pidns = rng.bool().then(|| rng.u64(1..));
    Beat {
        ts,
        pid,
        status,
        model,
        host,
        pstart,
        since,
        pidns,
    }
}

const INTERESTING: &[u8] = b"\n\r=\0 -+0123456789aZ\x7f\xff\xc3\xa9\xed\xa0\x80";
const KEYS: &[&str] = &[
    "ts", "pid", "status", "model", "host", "pstart", "since", "pidns", "TS", "Pid", "x", "",
];
const VALUES: &[&str] = &[
    "",
    "0",
    "1",
    "-1",
    "+1",
    " 1",
    "1 ",
    "ok",
    "OK",
    "busy",
    "2147483647",
    "2147483648",
    "9223372036854775807",
    "9223372036854775808",
    "00000000000000000001",
    "x=y",
    "\u{1b}[2J",
];

fn mutate(rng: &mut fastrand::Rng, bytes: &mut Vec<u8>) {
    for _ in 0..rng.usize(1..=4) {
        let n = bytes.len();
        match rng.u8(..13) {
            0 if n > 0 => bytes[rng.usize(..n)] = rng.u8(..),
            1 => bytes.insert(rng.usize(..=n), INTERESTING[rng.usize(..INTERESTING.len())]),
            2 if n > 0 => {
                let at = rng.usize(..n);
                let len = rng.usize(1..=(n - at).min(8));
                bytes.drain(at..at + len);
            }
            3 => bytes.truncate(rng.usize(..=n)),
            4..=7 => {
                let mut lines: Vec<Vec<u8>> =
                    bytes.split(|&c| c == b'\n').map(<[u8]>::to_vec).collect();
                let l = lines.len();
                match rng.u8(..5) {
                    0 => {
                        let dup = lines[rng.usize(..l)].clone();
                        lines.insert(rng.usize(..=l), dup);
                    }
                    1 if l > 1 => {
                        lines.remove(rng.usize(..l));
                    }
                    2 => {
                        let (a, b) = (rng.usize(..l), rng.usize(..l));
                        lines.swap(a, b);
                    }
                    3 => {
                        let k = KEYS[rng.usize(..KEYS.len())];
                        let v = VALUES[rng.usize(..VALUES.len())];
                        lines.insert(rng.usize(..=l), format!("{k}={v}").into_bytes());
                    }
                    _ => {
                        let i = rng.usize(..l);
                        lines[i].make_ascii_uppercase();
                    }
                }
                *bytes = lines.join(&b'\n');
            }
            8 => {
                let crlf: Vec<u8> = bytes
                    .iter()
                    .flat_map(|&c| {
                        if c == b'\n' {
                            vec![b'\r', b'\n']
                        } else {
                            vec![c]
                        }
                    })
                    .collect();
                *bytes = crlf;
            }
            9 => {
                // Around the size cap.
                let target = 4096 + rng.usize(..3) - 1;
                if bytes.len() < target {
                    let pad = [b'\n', b'\r'][rng.usize(..2)];
                    let extra = target - bytes.len();
                    let at = if rng.bool() { bytes.len() } else { 0 };
                    bytes.splice(at..at, std::iter::repeat(pad).take(extra));
                    if pad == b'\r' {
                        bytes.truncate(target);
                    }
                }
            }
            10 if n > 0 => {
                // A stray '=' removed or a line without one.
                if let Some(i) = bytes.iter().position(|&c| c == b'=') {
                    bytes.remove(i);
                }
            }
            11 => {
                let seq: &[u8] =
                    [&b"\xc3"[..], b"\xed\xa0\x80", b"\xf0\x9f", b"\x80"][rng.usize(..4)];
                let at = rng.usize(..=n);
                bytes.splice(at..at, seq.iter().copied());
            }
            _ => {
                let at = rng.usize(..=n);
                bytes.splice(at..at, b"\n".iter().copied());
            }
        }
    }
}

/// Can a writer emit this beat (so that encode then parse is the identity)?
fn writable(b: &Beat) -> bool {
    let clean = |s: &Option<String>| {
        s.as_deref()
            .map_or(true, |v| !v.chars().any(char::is_control))
    };
    clean(&b.model) && clean(&b.host)
}

fn seed() -> u64 {
    let seed = std::env::var("HB_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..));
    eprintln!("fuzz_beats: seed {seed} (replay with HB_FUZZ_SEED={seed})");
    seed
}

fn count() -> usize {
    std::env::var("HB_FUZZ_BEATS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(BEATS)
}

fn parse_no_panic(bytes: &[u8]) -> Result<Beat, String> {
    catch_unwind(AssertUnwindSafe(|| Beat::parse(bytes)))
        .unwrap_or_else(|_| panic!("Beat::parse panicked on {bytes:?}"))
}

#[test]
fn mutated_beats_never_panic_and_agree_with_the_reader_rules() {
    let seed = seed();
    let mut rng = fastrand::Rng::with_seed(seed);
    let n = count();
    let (mut valid, mut round_trips) = (0, 0);
    let sb = Sandbox::new("fuzz-list");
    sb.mkdir();
    let mut listed = Vec::new();
    for i in 0..n {
        let original = random_valid(&mut rng);
        let encoded = original.encode();
        assert_eq!(
            parse_no_panic(encoded.as_bytes()),
            Ok(original.clone()),
            "{encoded:?}"
        );
        let mut bytes = encoded.into_bytes();
        mutate(&mut rng, &mut bytes);
        let got = parse_no_panic(&bytes);
        let want = reference(&bytes);
        let ctx = || {
            format!(
                "seed {seed}, beat {i}: {:?}",
                String::from_utf8_lossy(&bytes)
            )
        };
        match (&got, &want) {
            (Ok(g), Some(w)) => assert_eq!(g, w, "{}", ctx()),
            (Err(why), None) => assert!(
                !why.is_empty() && !why.contains('\n') && why.len() < 200,
                "a reason must be one short line: {why:?}: {}",
                ctx()
            ),
            _ => panic!("parser {got:?} but the rules say {want:?}: {}", ctx()),
        }
        if let Ok(b) = &got {
            valid += 1;
            if writable(b) {
                assert_eq!(
                    parse_no_panic(b.encode().as_bytes()).as_ref(),
                    Ok(b),
                    "{}",
                    ctx()
                );
                round_trips += 1;
            }
        }
        // Every 200th mutated beat goes to the real reader below.
        if i % 200 == 0 {
            let name = format!("b{i:06}");
            sb.put(&format!("{name}.hb"), &bytes);
            listed.push((name, want.is_some()));
        }
    }
    let invalid = n - valid;
    eprintln!(
        "fuzz_beats: {n} mutated beats parsed without a panic and as the rules say \
         ({valid} valid, {invalid} invalid, {round_trips} re-encoded round trips)"
    );
    assert!(
        valid > n / 10 && invalid > n / 10,
        "a poor mix: {valid} valid of {n}"
    );

    // The real reader agrees, row by row, in every format.
    let r = sb.run(READ, &["--json"]);
    r.expect(0);
    let json = r.stdout();
    for (name, ok) in &listed {
        let start = json.find(&format!("{{\"name\":\"{name}\"")).expect(name);
        let row = &json[start..];
        let is_invalid = row[..row[1..].find("{\"name\"").unwrap_or(row.len() - 1)]
            .contains("\"health\":\"invalid\"");
        assert_eq!(
            !is_invalid,
            *ok,
            "hb-read disagrees on {name}: {}",
            &row[..row.len().min(300)]
        );
    }
    for f in ["table", "prometheus"] {
        let r = sb.run(READ, &["--format", f]);
        r.expect(0);
        assert!(!r.stderr().contains("panicked"));
    }
    eprintln!(
        "fuzz_beats: {} mutated files listed by hb-read, all agreeing",
        listed.len()
    );
}

#[test]
fn random_valid_beats_round_trip_through_the_binaries() {
    let seed = seed();
    let mut rng = fastrand::Rng::with_seed(seed.wrapping_add(1));
    let sb = Sandbox::new("fuzz-bins");
    let n = 200;
    for i in 0..n {
        let b = random_valid(&mut rng);
        let name = format!("w{i}");
        let pid = b.pid.to_string();
        let mut args = vec!["--status", &b.status, "--pid", &pid];
        if let Some(m) = &b.model {
            args.extend(["--model", m]);
        }
        args.push(&name);
        let r = sb.run(WRITE, &args);
        r.expect(0);
        let text = sb.read(&format!("{name}.hb"));
        let back = Beat::parse(text.as_bytes()).unwrap();
        assert_eq!(
            (&back.status, back.pid, &back.model),
            (&b.status, b.pid, &b.model),
            "seed {seed}: {args:?}\n{text}"
        );
        let r = sb.run(READ, &["--json", &name]);
        r.expect(0);
        let out = r.stdout();
        assert!(
            out.contains(&format!("\"status\":\"{}\"", b.status))
                && out.contains(&format!("\"pid\":{}", b.pid)),
            "seed {seed}: {out}"
        );
    }
    eprintln!("fuzz_beats: {n} random beats written by hb-write and read back by hb-read");
}
