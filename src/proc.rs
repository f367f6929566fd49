//! Process and host facts: liveness by `kill(pid, 0)`, a pid's start time
//! (`pstart`, field 22 of `/proc/PID/stat`) to detect pid reuse, the host's
//! nodename, and the clock.

use std::time::{SystemTime, UNIX_EPOCH};

/// Whole Unix seconds now; a clock before 1970 reads as 0.
pub fn now_secs() -> i64 {
    now_nanos().div_euclid(1_000_000_000) as i64
}

/// Unix time in nanoseconds, signed so that a clock before 1970 still orders.
pub fn now_nanos() -> i128 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_nanos() as i128,
        Err(e) => -(e.duration().as_nanos() as i128),
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

/// The parent's pid: the default agent pid of a one-shot write.
pub fn parent_pid() -> u32 {
    // SAFETY: getppid cannot fail.
    unsafe { libc::getppid() as u32 }
}

pub fn own_pid() -> u32 {
    std::process::id()
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

/// Start time of `pid` in clock ticks since boot, when `/proc` has it.
pub fn pstart(pid: u32) -> Option<u64> {
    let stat = std::fs::read(format!("/proc/{pid}/stat")).ok()?;
    parse_stat_starttime(&stat)
}

/// Field 22 of `/proc/PID/stat`. The command name (field 2) may hold spaces
/// and parentheses, so count fields after the last `)`.
fn parse_stat_starttime(stat: &[u8]) -> Option<u64> {
    let close = stat.iter().rposition(|&c| c == b')')?;
    let rest = std::str::from_utf8(&stat[close + 1..]).ok()?;
    // After ")" come fields 3, 4, ...; field 22 is the 20th of them.
    rest.split_ascii_whitespace().nth(19)?.parse().ok()
}

/// Liveness as the reader judges it: `Some(false)` when the pid is gone or
/// was reused (its start time differs from the beat's `pstart`).
pub fn alive(pid: u32, pstart_in_beat: Option<u64>) -> bool {
    if !pid_exists(pid) {
        return false;
    }
    match (pstart_in_beat, pstart(pid)) {
        (Some(want), Some(have)) => want == have,
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starttime_survives_hostile_command_names() {
        let stat =
            b"42 (a) b) (c) S 1 42 42 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 98765 1000 200";
        assert_eq!(parse_stat_starttime(stat), Some(98765));
        assert_eq!(parse_stat_starttime(b"42 (x"), None);
        assert_eq!(parse_stat_starttime(b""), None);
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
    fn init_exists_even_if_not_ours_and_huge_pids_do_not() {
        assert!(pid_exists(1));
        assert!(!pid_exists(0));
        assert!(!pid_exists(u32::MAX));
    }
}
