//! Following a runtime's record as `tail -F` does: from its end when first
//! pointed at (what was written before is history), then only the
//! complete lines appended since, each handed over once and whole. A
//! record that is truncated is read again from its start, one that is
//! replaced (renamed over, deleted and made anew) is read to its end and
//! then the new file from its start; one that does not exist yet is read
//! from its start once it appears. A line past [`MAX_LINE`] is skipped
//! whole, never buffered past that. The record is opened without
//! following a symlink at its name and without waiting on a FIFO; anything
//! but a regular file is not followed.

use std::fs::File;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};

/// A line longer than this is skipped: the entries that end a turn are
/// short, and a transcript line holding a whole tool result can be
/// megabytes.
pub const MAX_LINE: usize = 1 << 20;

/// Bytes read at once.
const CHUNK: usize = 64 << 10;

/// The identity of a file: device and inode.
pub type Id = (u64, u64);

pub struct Follower {
    path: PathBuf,
    file: Option<(File, Id)>,
    /// Bytes of the open file consumed (handed over, held in `partial`, or
    /// skipped).
    offset: u64,
    /// The start of a line whose newline has not come yet.
    partial: Vec<u8>,
    /// Within a line past [`MAX_LINE`]: dropped up to its newline.
    skipping: bool,
    /// The last bytes before `offset`, as read: when the file no longer
    /// has them there, it was truncated and written again past `offset`
    /// between two reads (which its size alone cannot tell).
    seen: Vec<u8>,
}

/// How many of the last bytes read are kept to tell a rewritten file.
const SEEN: usize = 64;

/// Opens `path` as a record may be opened: no symlink, no FIFO, regular.
fn open(path: &Path) -> Option<(File, Id, u64)> {
    let flags = libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY;
    let file = crate::sys::open(path, flags, 0).ok()?;
    let m = file.metadata().ok()?;
    m.file_type()
        .is_file()
        .then(|| (file, (m.dev(), m.ino()), m.len()))
}

/// The up to [`SEEN`] bytes of `file` before `offset` (none when they
/// cannot be read).
fn before(file: &File, offset: u64) -> Vec<u8> {
    let n = offset.min(SEEN as u64) as usize;
    let mut buf = vec![0; n];
    match file.read_exact_at(&mut buf, offset - n as u64) {
        Ok(()) => buf,
        Err(_) => Vec::new(),
    }
}

impl Follower {
    /// Follows `path` from its end as it is now (from its start, should it
    /// not exist yet).
    pub fn new(path: PathBuf) -> Follower {
        let mut f = Follower {
            path,
            file: None,
            offset: 0,
            partial: Vec::new(),
            skipping: false,
            seen: Vec::new(),
        };
        if let Some((file, id, len)) = open(&f.path) {
            f.seen = before(&file, len);
            // Mid-line at the end: that line's rest is history too.
            f.skipping = f.seen.last().is_some_and(|&c| c != b'\n');
            f.file = Some((file, id));
            f.offset = len;
        }
        f
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file followed now, if one is open.
    pub fn id(&self) -> Option<Id> {
        self.file.as_ref().map(|(_, id)| *id)
    }

    /// Reads what was appended since the last read, up to the size the file
    /// has now, and hands each complete line (without its newline) to
    /// `line`. Gives the record's mtime as of this read (nanoseconds since
    /// the epoch; the newest of both files when it was replaced) when any
    /// line was handed over: every line handed over was written by then.
    pub fn read(&mut self, line: &mut dyn FnMut(&[u8])) -> Option<i128> {
        let mut newest: Option<i128> = None;
        // The open file to its end first: what was appended before it was
        // replaced is part of the story.
        if let Some(t) = self.drain(line) {
            newest = Some(t);
        }
        let now = std::fs::symlink_metadata(&self.path)
            .ok()
            .map(|m| (m.dev(), m.ino()));
        if now != self.id() {
            self.reset();
            if now.is_some() {
                // A new file at the name (or a first one): from its start.
                if let Some((file, id, _)) = open(&self.path) {
                    self.file = Some((file, id));
                    if let Some(t) = self.drain(line) {
                        newest = Some(newest.map_or(t, |n| n.max(t)));
                    }
                }
            }
        }
        newest
    }

    fn reset(&mut self) {
        self.file = None;
        self.rewind();
    }

    fn rewind(&mut self) {
        self.offset = 0;
        self.partial.clear();
        self.skipping = false;
        self.seen.clear();
    }

    /// Reads the open file from `offset` to its size at the start of the
    /// read; its mtime then, when a line was handed over.
    fn drain(&mut self, line: &mut dyn FnMut(&[u8])) -> Option<i128> {
        let m = self.file.as_ref()?.0.metadata().ok()?;
        let size = m.len();
        let file = &self.file.as_ref()?.0;
        if size < self.offset || before(file, self.offset) != self.seen {
            // Truncated (and maybe written again): read again from the
            // start, as tail does.
            self.rewind();
        }
        let mut any = false;
        let mut buf = vec![0; CHUNK.min((size - self.offset) as usize)];
        while self.offset < size && !buf.is_empty() {
            let want = buf.len().min((size - self.offset) as usize);
            let n = match self.file.as_ref()?.0.read_at(&mut buf[..want], self.offset) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            };
            self.offset += n as u64;
            let keep = self.seen.len().saturating_add(n).saturating_sub(SEEN);
            self.seen.drain(..keep.min(self.seen.len()));
            self.seen.extend_from_slice(&buf[n.saturating_sub(SEEN)..n]);
            any |= self.feed(&buf[..n], line);
        }
        any.then(|| crate::turn::mtime_ns(&m))
    }

    /// Splits bytes into lines, keeping a line's start until its newline
    /// comes; true when a line was handed over.
    fn feed(&mut self, mut bytes: &[u8], line: &mut dyn FnMut(&[u8])) -> bool {
        let mut any = false;
        while let Some(nl) = bytes.iter().position(|&c| c == b'\n') {
            let head = &bytes[..nl];
            if self.skipping {
                self.skipping = false;
            } else if self.partial.is_empty() {
                if head.len() <= MAX_LINE {
                    line(head);
                    any = true;
                }
            } else {
                self.partial.extend_from_slice(head);
                if self.partial.len() <= MAX_LINE {
                    line(&self.partial);
                    any = true;
                }
                self.partial.clear();
            }
            bytes = &bytes[nl + 1..];
        }
        if !self.skipping && !bytes.is_empty() {
            if self.partial.len() + bytes.len() > MAX_LINE {
                self.partial = Vec::new();
                self.skipping = true;
            } else {
                self.partial.extend_from_slice(bytes);
            }
        }
        any
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    struct Dir(PathBuf);
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
    fn scratch() -> Dir {
        let d = std::env::temp_dir().join(format!(
            "hb-turn-tail-{}-{}",
            std::process::id(),
            fastrand::u64(..)
        ));
        std::fs::create_dir_all(&d).unwrap();
        Dir(d)
    }
    fn append(p: &Path, bytes: &[u8]) {
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(p)
            .unwrap();
        f.write_all(bytes).unwrap();
    }
    fn lines(f: &mut Follower) -> Vec<String> {
        let mut v = Vec::new();
        f.read(&mut |l| v.push(String::from_utf8_lossy(l).into_owned()));
        v
    }

    #[test]
    fn only_complete_lines_appended_since_the_start_are_read_once() {
        let d = scratch();
        let p = d.0.join("r.jsonl");
        append(&p, b"old\nhalf");
        let mut f = Follower::new(p.clone());
        assert!(lines(&mut f).is_empty());
        append(&p, b" done\nnew\npart");
        // The half line written before the start belongs to history.
        assert_eq!(lines(&mut f), ["new"]);
        assert!(lines(&mut f).is_empty());
        append(&p, b"ial\n");
        assert_eq!(lines(&mut f), ["partial"]);
        append(&p, b"\n");
        assert_eq!(lines(&mut f), [""]);
    }

    #[test]
    fn a_read_gives_the_records_mtime_only_when_a_line_came() {
        let d = scratch();
        let p = d.0.join("r.jsonl");
        append(&p, b"");
        let mut f = Follower::new(p.clone());
        assert_eq!(f.read(&mut |_| {}), None);
        append(&p, b"x");
        assert_eq!(f.read(&mut |_| {}), None);
        append(&p, b"\n");
        let m = crate::turn::mtime_ns(&std::fs::metadata(&p).unwrap());
        assert_eq!(f.read(&mut |_| {}), Some(m));
    }

    #[test]
    fn truncation_and_replacement_are_read_from_the_start() {
        let d = scratch();
        let p = d.0.join("r.jsonl");
        append(&p, b"a\nb\n");
        let mut f = Follower::new(p.clone());
        std::fs::write(&p, b"c\n").unwrap(); // truncated in place
        assert_eq!(lines(&mut f), ["c"]);
        // Truncated and written again past where the last read ended.
        std::fs::write(&p, b"a longer line\n").unwrap();
        assert_eq!(lines(&mut f), ["a longer line"]);
        // Replaced: the rest of the old file, then the new one.
        append(&p, b"d\n");
        let tmp = d.0.join("t");
        std::fs::write(&tmp, b"e\nf\n").unwrap();
        std::fs::rename(&tmp, &p).unwrap();
        assert_eq!(lines(&mut f), ["d", "e", "f"]);
        // Deleted, then made anew.
        std::fs::remove_file(&p).unwrap();
        assert!(lines(&mut f).is_empty());
        assert_eq!(f.id(), None);
        append(&p, b"g\n");
        assert_eq!(lines(&mut f), ["g"]);
    }

    #[test]
    fn a_record_that_appears_later_is_read_from_its_start() {
        let d = scratch();
        let p = d.0.join("r.jsonl");
        let mut f = Follower::new(p.clone());
        assert!(lines(&mut f).is_empty());
        append(&p, b"first\n");
        assert_eq!(lines(&mut f), ["first"]);
    }

    #[test]
    fn a_huge_line_is_skipped_whole_and_the_next_one_read() {
        let d = scratch();
        let p = d.0.join("r.jsonl");
        append(&p, b"");
        let mut f = Follower::new(p.clone());
        let huge = vec![b'x'; MAX_LINE + 10];
        append(&p, &huge[..MAX_LINE / 2]);
        assert!(lines(&mut f).is_empty());
        append(&p, &huge[MAX_LINE / 2..]);
        assert!(lines(&mut f).is_empty());
        assert!(f.partial.capacity() <= MAX_LINE + CHUNK);
        append(&p, b"tail of the huge one\nnext\n");
        assert_eq!(lines(&mut f), ["next"]);
        // One at the limit is read.
        let mut max = vec![b'y'; MAX_LINE];
        max.push(b'\n');
        append(&p, &max);
        assert_eq!(lines(&mut f).len(), 1);
    }

    #[test]
    fn a_symlink_or_a_fifo_is_not_followed_and_never_blocks() {
        let d = scratch();
        let real = d.0.join("real");
        append(&real, b"");
        let link = d.0.join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let mut f = Follower::new(link);
        append(&real, b"x\n");
        assert!(lines(&mut f).is_empty());
        assert_eq!(f.id(), None);
        let fifo = d.0.join("fifo");
        let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
        let mut f = Follower::new(fifo);
        assert!(lines(&mut f).is_empty());
        assert_eq!(f.id(), None);
    }
}
