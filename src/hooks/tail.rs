//! The end of a file a runtime appends to for the whole session (Claude
//! Code's transcript, Copilot CLI's events file): megabytes once every
//! tool result is in it, and a hook runs inside the agent's tool calls, so
//! only the last bytes are read, whole lines of them, searched from the
//! end.

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

/// The first of the last `max` bytes' lines, counted from the end, for
/// which `find` gives something. A tail that starts mid-line loses that
/// partial line; a file that cannot be read, or is not a regular file,
/// gives nothing.
pub fn find_last<T>(path: &Path, max: u64, find: impl FnMut(&[u8]) -> Option<T>) -> Option<T> {
    let mut f = std::fs::File::open(path).ok()?;
    if !f.metadata().ok()?.is_file() {
        return None;
    }
    let len = f.seek(SeekFrom::End(0)).ok()?;
    let start = len.saturating_sub(max);
    f.seek(SeekFrom::Start(start)).ok()?;
    let mut buf = Vec::with_capacity((len - start) as usize);
    f.take(max).read_to_end(&mut buf).ok()?;
    let body = if start > 0 {
        let nl = buf.iter().position(|&c| c == b'\n')?;
        &buf[nl + 1..]
    } else {
        &buf[..]
    };
    body.split(|&c| c == b'\n').rev().find_map(find)
}

/// For tests: a file holding `text`, removed when the guard drops.
#[cfg(test)]
pub fn scratch(text: &str) -> (std::path::PathBuf, impl Drop) {
    struct Rm(std::path::PathBuf);
    impl Drop for Rm {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
    let p = std::env::temp_dir().join(format!(
        "hb-tail-{}-{}.jsonl",
        std::process::id(),
        fastrand::u64(..)
    ));
    std::fs::write(&p, text).unwrap();
    (p.clone(), Rm(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn last(text: &str, max: u64) -> Option<String> {
        let (p, _rm) = scratch(text);
        find_last(&p, max, |l| {
            (l.first() == Some(&b'+')).then(|| String::from_utf8_lossy(l).into_owned())
        })
    }

    #[test]
    fn the_last_matching_line_of_the_tail_is_found() {
        assert_eq!(last("+a\n-b\n+c\n-d\n", 100).as_deref(), Some("+c"));
        assert_eq!(last("+a\n-b", 100).as_deref(), Some("+a"));
        assert_eq!(last("-a\n", 100), None);
        // "+a\n-b\n+c" is 8 bytes: a tail of 5 starts in "-b" and drops it.
        assert_eq!(last("+a\n-b\n+c", 5).as_deref(), Some("+c"));
        assert_eq!(last("+abc\n-d", 5), None);
        assert_eq!(find_last(Path::new("/nonexistent"), 9, |_| Some(())), None);
        assert_eq!(find_last(Path::new("/"), 9, |_| Some(())), None);
    }
}
