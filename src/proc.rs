//! Process and host facts: liveness by `kill(pid, 0)`, a pid's start time
//! (`pstart`, field 22 of `/proc/PID/stat`) to detect pid reuse, the host's
//! nodename, and the clock.

use std::time::Duration;

/// Whole Unix seconds now; a clock before 1970 reads as 0.
pub fn now_secs() -> i64 {
    now_nanos().div_euclid(1_000_000_000) as i64
}

/// Unix time in nanoseconds, signed so that a clock before 1970 still orders.
pub fn now_nanos() -> i128 {
    let t = clock(libc::CLOCK_REALTIME);
    i128::from(t.tv_sec) * 1_000_000_000 + i128::from(t.tv_nsec)
}

/// Time since an arbitrary start that never goes back (CLOCK_MONOTONIC),
/// for deadlines.
pub fn monotonic() -> Duration {
    let t = clock(libc::CLOCK_MONOTONIC);
    Duration::new(
        t.tv_sec.max(0) as u64,
        t.tv_nsec.clamp(0, 999_999_999) as u32,
    )
}

/// `clock_gettime(2)` itself: std's `SystemTime` and `Instant` unwrap its
/// result, which links io::Error's `Debug` and more, about 7 KB per
/// binary. It cannot fail for these clocks; if it did, the time is 0.
fn clock(id: libc::clockid_t) -> libc::timespec {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: t is a valid timespec to fill.
    unsafe { libc::clock_gettime(id, &mut t) };
    t
}

/// A wall-clock time broken down in the local time zone (`TZ`, else
/// `/etc/localtime`, else UTC), with its offset from UTC in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalTime {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    pub offset: i64,
}

/// `localtime_r(3)` of Unix seconds; UTC where it fails (a time out of
/// the C library's range).
pub fn local_time(secs: i64) -> LocalTime {
    // SAFETY: tm is plain data that localtime_r fills or leaves alone.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // The type is the C library's time_t, left to inference: musl's
    // alias is marked deprecated in the libc crate.
    let t = secs as _;
    if unsafe { libc::localtime_r(&t, &mut tm) }.is_null() {
        return utc_time(secs);
    }
    LocalTime {
        year: i64::from(tm.tm_year) + 1900,
        month: (tm.tm_mon + 1) as u32,
        day: tm.tm_mday as u32,
        hour: tm.tm_hour as u32,
        minute: tm.tm_min as u32,
        second: tm.tm_sec as u32,
        offset: tm.tm_gmtoff as i64,
    }
}

/// UTC by the civil calendar (Howard Hinnant's days-to-date), for the
/// fallback, the hook log and the tests.
pub fn utc_time(secs: i64) -> LocalTime {
    let days = secs.div_euclid(86400);
    let rem = secs.rem_euclid(86400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    LocalTime {
        year: yoe + era * 400 + i64::from(month <= 2),
        month,
        day,
        hour: (rem / 3600) as u32,
        minute: (rem / 60 % 60) as u32,
        second: (rem % 60) as u32,
        offset: 0,
    }
}

/// The nodename from `uname(2)`, or None if it is empty or not UTF-8.
pub fn hostname() -> Option<String> {
    // SAFETY: utsname is plain bytes; uname fills it or fails.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    if unsafe { libc::uname(&mut u) } != 0 {
        return None;
    }
    let bytes: Vec<u8> = u
        .nodename
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| c as u8)
        .collect();
    String::from_utf8(bytes)
        .ok()
        .filter(|h| !h.is_empty() && !h.chars().any(|c| c.is_control() || c.is_whitespace()))
}

/// Can a beat's pid be checked here? Not when the beat names another host,
/// nor when it names one and ours is unknown.
pub fn is_local(beat_host: Option<&str>, local: Option<&str>) -> bool {
    match (beat_host, local) {
        (Some(h), Some(l)) => h == l,
        (Some(_), None) => false,
        (None, _) => true,
    }
}

/// The parent's pid: the default agent pid of a one-shot write.
pub fn parent_pid() -> u32 {
    // SAFETY: getppid cannot fail.
    unsafe { libc::getppid() as u32 }
}

/// This process's pid, asked of the kernel once (musl does not cache it,
/// and every temporary's name carries it).
pub fn own_pid() -> u32 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static PID: AtomicU32 = AtomicU32::new(0);
    match PID.load(Ordering::Relaxed) {
        0 => {
            let pid = std::process::id();
            PID.store(pid, Ordering::Relaxed);
            pid
        }
        pid => pid,
    }
}

/// Does a process with this pid exist? `EPERM` means it does, under
/// another user.
pub fn pid_exists(pid: u32) -> bool {
    let Ok(p) = libc::pid_t::try_from(pid) else {
        return false;
    };
    if p <= 0 {
        return false;
    }
    // SAFETY: signal 0 only checks for existence and permission.
    if unsafe { libc::kill(p, 0) } == 0 {
        return true;
    }
    std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// What `/proc/PID/stat` says of a process: its name (field 2), state
/// letter (3), parent (4) and start time in clock ticks since boot (22).
#[derive(Debug, PartialEq, Eq)]
pub struct Stat<'a> {
    pub comm: &'a [u8],
    pub state: u8,
    pub ppid: u32,
    pub start: Option<u64>,
}

/// `f` of the process's [`Stat`]; `None` when it is gone. One open and
/// one read: the line is generated whole on the first read, and field 22
/// comes well within the first 512 bytes (a command name is at most 64
/// bytes, the fields before 22 are numbers).
pub fn with_stat<T>(pid: u32, f: impl FnOnce(Stat) -> T) -> Option<T> {
    let path = format!("/proc/{pid}/stat");
    let mut file = crate::sys::open(path.as_ref(), libc::O_RDONLY, 0).ok()?;
    let mut buf = [0u8; 1024];
    let n = std::io::Read::read(&mut file, &mut buf).ok()?;
    parse_stat(&buf[..n]).map(f)
}

/// The command name (field 2) may hold spaces and parentheses, so the
/// other fields are counted after the last `)`.
pub fn parse_stat(stat: &[u8]) -> Option<Stat<'_>> {
    let open = stat.iter().position(|&c| c == b'(')?;
    let close = stat.iter().rposition(|&c| c == b')')?;
    let rest = std::str::from_utf8(stat.get(close + 1..)?).ok()?;
    let mut fields = rest.split_ascii_whitespace();
    let state = *fields.next()?.as_bytes().first()?;
    let ppid = fields.next()?.parse().ok()?;
    Some(Stat {
        comm: stat.get(open + 1..close)?,
        state,
        ppid,
        start: fields.nth(17).and_then(|f| f.parse().ok()),
    })
}

/// Start time of `pid` in clock ticks since boot, when `/proc` has it.
pub fn pstart(pid: u32) -> Option<u64> {
    with_stat(pid, |s| s.start)?
}

/// Liveness as the reader judges it: false when the pid is gone, is a
/// zombie (ended, not yet reaped: `kill(pid, 0)` still succeeds on it), or
/// was reused (its start time differs from the beat's `pstart`). A pid
/// `/proc` shows exists, so `kill(pid, 0)` is asked only when `/proc`
/// cannot tell (not mounted, or hiding other users' processes).
pub fn alive(pid: u32, pstart_in_beat: Option<u64>) -> bool {
    probe(pid, pstart_in_beat).0
}

/// [`alive`], and the pid's start time now, from one read of `/proc`.
pub fn probe(pid: u32, pstart_in_beat: Option<u64>) -> (bool, Option<u64>) {
    let judged = with_stat(pid, |s| {
        let ended = matches!(s.state, b'Z' | b'X');
        let reused = matches!((pstart_in_beat, s.start), (Some(want), Some(have)) if want != have);
        (!ended && !reused, s.start)
    });
    judged.unwrap_or_else(|| (pid_exists(pid), None))
}

/// A process's command line, its arguments as `/proc/PID/cmdline` holds
/// them (NUL-separated), at most 64 KiB; `None` when it is unreadable.
pub fn cmdline(pid: u32) -> Option<Vec<u8>> {
    use std::io::Read;
    let f = crate::sys::open(format!("/proc/{pid}/cmdline").as_ref(), libc::O_RDONLY, 0).ok()?;
    let mut buf = Vec::new();
    f.take(64 << 10).read_to_end(&mut buf).ok()?;
    Some(buf)
}

/// The value of `FLAG VALUE` or `FLAG=VALUE` in a process's command line
/// (the last one given wins, as argument parsers have it); `None` when
/// absent, not UTF-8, or the command line cannot be read.
pub fn cmdline_option(pid: u32, flag: &str) -> Option<String> {
    option_in(&cmdline(pid)?, flag)
}

/// [`cmdline_option`] on a NUL-separated argument list. Stops at `--`.
pub fn option_in(cmdline: &[u8], flag: &str) -> Option<String> {
    let mut args = cmdline.split(|&c| c == 0);
    let mut found = None;
    while let Some(a) = args.next() {
        if a == b"--" {
            break;
        }
        if a == flag.as_bytes() {
            found = args.next();
        } else if let Some(v) = a
            .strip_prefix(flag.as_bytes())
            .and_then(|v| v.strip_prefix(b"="))
        {
            found = Some(v);
        }
    }
    found.and_then(|v| std::str::from_utf8(v).ok().map(str::to_string))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_dates_are_civil_dates() {
        let t = utc_time(1_750_556_599);
        assert_eq!(
            (t.year, t.month, t.day, t.hour, t.minute, t.second),
            (2025, 6, 22, 1, 43, 19)
        );
        let t = utc_time(951_782_400); // 2000-02-29, a leap day
        assert_eq!((t.year, t.month, t.day), (2000, 2, 29));
        let t = utc_time(-1);
        assert_eq!((t.year, t.month, t.day, t.second), (1969, 12, 31, 59));
    }

    #[test]
    fn stat_survives_hostile_command_names() {
        let stat =
            b"42 (a) b) (c) Z 1 42 42 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 98765 1000 200";
        let s = parse_stat(stat).unwrap();
        assert_eq!(
            (s.comm, s.state, s.ppid, s.start),
            (&b"a) b) (c"[..], b'Z', 1, Some(98765))
        );
        assert!(parse_stat(b"42 (x").is_none());
        assert!(parse_stat(b"").is_none());
        assert!(parse_stat(b"42 (x) S").is_none(), "no parent");
        assert_eq!(parse_stat(b"42 (x) S 1").unwrap().start, None);
    }

    #[test]
    fn own_process_is_alive_and_has_a_start_time() {
        let me = own_pid();
        assert!(pid_exists(me));
        let start = pstart(me).expect("own /proc/self/stat");
        assert!(alive(me, Some(start)));
        assert!(!alive(me, Some(start + 1)));
        assert!(alive(me, None));
    }

    #[test]
    fn options_are_found_in_a_command_line() {
        let c = b"claude\0-p\0hi\0--model\0opus\0";
        assert_eq!(option_in(c, "--model").as_deref(), Some("opus"));
        assert_eq!(
            option_in(b"x\0--model=a\0--model\0b", "--model").as_deref(),
            Some("b")
        );
        assert_eq!(option_in(b"x\0--models\0a", "--model"), None);
        assert_eq!(option_in(b"x\0--\0--model\0a", "--model"), None);
        assert_eq!(option_in(b"x\0--model", "--model"), None);
        let me = cmdline(own_pid()).unwrap();
        assert!(!me.is_empty());
    }

    #[test]
    fn init_exists_even_if_not_ours_and_huge_pids_do_not() {
        assert!(pid_exists(1));
        assert!(!pid_exists(0));
        assert!(!pid_exists(u32::MAX));
    }
}
