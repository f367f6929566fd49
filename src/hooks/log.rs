//! The hook log: where a silent runtime's hook reports a problem. Gemini
//! CLI shows a hook's stderr to its user, Qwen Code feeds a hook's stdout
//! to the model and Copilot CLI denies a tool on output it does not
//! expect, so for them the one line that would go to stderr is appended to
//! `DIR/NAME.hook.log` instead (`DIR/hook.log` when the call names no
//! usable NAME), beside the launcher's `NAME.sidecar.log`. Each line is
//! `TIME RUNTIME: WHAT`, TIME in UTC (`2026-12-02T04:28:35Z`).
//!
//! Best effort and bounded: a log past [`MAX_LOG`] starts over, nothing
//! is created when the directory is missing, a symlink or anything but a
//! regular file there is never written through, and a failure to log is
//! silent (there is nowhere left to say it).

use std::io::Write;
use std::path::{Path, PathBuf};

/// A log this large is truncated before the next line.
pub const MAX_LOG: u64 = 64 << 10;

/// The log a call reports to.
pub fn path(dir: &Path, name: Option<&str>) -> PathBuf {
    crate::files::hook_log(dir, name)
}

/// Appends one line; never fails, never blocks.
pub fn append(dir: &Path, name: Option<&str>, runtime: &str, line: &str) {
    let path = path(dir, name);
    // O_NONBLOCK: a FIFO planted there fails the open or returns at once.
    let flags =
        libc::O_WRONLY | libc::O_CREAT | libc::O_APPEND | libc::O_NOFOLLOW | libc::O_NONBLOCK;
    let Ok(mut f) = crate::sys::open(&path, flags, 0o644) else {
        return;
    };
    let Ok(meta) = f.metadata() else { return };
    if !meta.file_type().is_file() {
        return;
    }
    if meta.len() >= MAX_LOG {
        let _ = f.set_len(0);
    }
    let runtime = if runtime.is_empty() { "hook" } else { runtime };
    let text = format!("{} {runtime}: {line}\n", utc(crate::proc::now_secs()));
    let _ = f.write_all(text.as_bytes());
}

/// Unix seconds as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn utc(secs: i64) -> String {
    let t = crate::proc::utc_time(secs);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year, t.month, t.day, t.hour, t.minute, t.second
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_dates_are_civil() {
        assert_eq!(utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(utc(1_796_185_715), "2026-12-02T04:28:35Z");
        assert_eq!(utc(-1), "1969-12-31T23:59:59Z");
        assert_eq!(utc(4_107_542_399), "2100-02-28T23:59:59Z");
    }

    #[test]
    fn lines_are_appended_and_the_log_is_bounded() {
        let dir = std::env::temp_dir().join(format!("hb-hook-log-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        append(&dir, Some("a"), "gemini", "one");
        append(&dir, Some("a"), "gemini", "two");
        let text = std::fs::read_to_string(dir.join("a.hook.log")).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[1].ends_with("Z gemini: two"), "{text}");
        std::fs::write(dir.join("a.hook.log"), vec![b'x'; MAX_LOG as usize]).unwrap();
        append(&dir, Some("a"), "gemini", "three");
        let text = std::fs::read_to_string(dir.join("a.hook.log")).unwrap();
        assert!(
            text.len() < 100 && text.ends_with("gemini: three\n"),
            "{text}"
        );
        append(&dir, None, "", "no name");
        assert!(std::fs::read_to_string(dir.join("hook.log"))
            .unwrap()
            .ends_with(" hook: no name\n"));
        // A missing directory is not made.
        append(&dir.join("nope"), Some("a"), "gemini", "x");
        assert!(!dir.join("nope").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
