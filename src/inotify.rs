//! inotify through libc: an instance, its watches, and the events read
//! from it, parsed from the kernel's byte layout without any cast, so no
//! event can make the reader misbehave. The follower uses it to learn
//! which beats changed instead of reading the directory again.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

pub use libc::{
    IN_ATTRIB, IN_CLOSE_WRITE, IN_CREATE, IN_DELETE, IN_DELETE_SELF, IN_EXCL_UNLINK, IN_IGNORED,
    IN_MOVED_FROM, IN_MOVED_TO, IN_MOVE_SELF, IN_ONLYDIR, IN_Q_OVERFLOW, IN_UNMOUNT,
};

/// One event: the watch it came from, its mask, and the name of the entry
/// it is about within a watched directory (empty for the directory itself).
#[derive(Debug, PartialEq, Eq)]
pub struct Event<'a> {
    pub wd: i32,
    pub mask: u32,
    pub name: &'a [u8],
}

pub struct Inotify {
    fd: OwnedFd,
}

impl Inotify {
    /// A non-blocking instance. EMFILE: the user's instance limit
    /// (`fs.inotify.max_user_instances`).
    pub fn new() -> io::Result<Inotify> {
        // SAFETY: inotify_init1 returns a new fd or -1.
        let fd = unsafe { libc::inotify_init1(libc::IN_NONBLOCK | libc::IN_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: the fd is new and ours.
        Ok(Inotify {
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
        })
    }

    pub fn raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// Watches `path` for `mask`; the watch descriptor. ENOSPC: the user's
    /// watch limit (`fs.inotify.max_user_watches`).
    pub fn add_watch(&self, path: &Path, mask: u32) -> io::Result<i32> {
        let c = CString::new(path.as_os_str().as_bytes())
            .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        // SAFETY: a valid fd and C string.
        let wd = unsafe { libc::inotify_add_watch(self.fd.as_raw_fd(), c.as_ptr(), mask) };
        if wd < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(wd)
        }
    }

    /// Stops a watch; the kernel then sends IN_IGNORED for it. A watch
    /// that is already gone is no error.
    pub fn rm_watch(&self, wd: i32) {
        // SAFETY: a valid fd; the result does not matter.
        unsafe { libc::inotify_rm_watch(self.fd.as_raw_fd(), wd) };
    }

    /// Reads every event queued now and hands each to `f`.
    pub fn drain(&self, mut f: impl FnMut(Event)) -> io::Result<()> {
        // Room for many events (one is 16 bytes and its name), left
        // uninitialised: zeroing it would cost more than a small read.
        const LEN: usize = 16 * 1024;
        let mut buf = std::mem::MaybeUninit::<[u8; LEN]>::uninit();
        loop {
            // SAFETY: a buffer of LEN bytes for the kernel to write into.
            let n = unsafe { libc::read(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), LEN) };
            if n < 0 {
                let e = io::Error::last_os_error();
                match e.kind() {
                    io::ErrorKind::WouldBlock => return Ok(()),
                    io::ErrorKind::Interrupted => continue,
                    _ => return Err(e),
                }
            }
            if n == 0 {
                return Ok(());
            }
            // SAFETY: the kernel wrote the first n bytes (n <= LEN).
            let got = unsafe { std::slice::from_raw_parts(buf.as_ptr().cast::<u8>(), n as usize) };
            parse(got, &mut f);
        }
    }
}

/// The events in one read: each a 16-byte header (wd, mask, cookie, len)
/// and `len` bytes of name padded with NULs. A short tail is ignored (the
/// kernel never splits an event across reads).
pub fn parse(mut buf: &[u8], f: &mut impl FnMut(Event)) {
    let word = |b: &[u8], i: usize| -> Option<[u8; 4]> { b.get(i..i + 4)?.try_into().ok() };
    while let (Some(wd), Some(mask), Some(len)) = (word(buf, 0), word(buf, 4), word(buf, 12)) {
        let len = u32::from_ne_bytes(len) as usize;
        let Some(name) = buf.get(16..16 + len) else {
            return;
        };
        let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
        f(Event {
            wd: i32::from_ne_bytes(wd),
            mask: u32::from_ne_bytes(mask),
            name: &name[..end],
        });
        buf = &buf[16 + len..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(wd: i32, mask: u32, name: &[u8], pad: usize) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&wd.to_ne_bytes());
        v.extend_from_slice(&mask.to_ne_bytes());
        v.extend_from_slice(&0u32.to_ne_bytes());
        v.extend_from_slice(&((name.len() + pad) as u32).to_ne_bytes());
        v.extend_from_slice(name);
        v.extend(std::iter::repeat(0).take(pad));
        v
    }

    #[test]
    fn events_parse_and_a_short_tail_is_ignored() {
        let mut buf = raw(1, IN_MOVED_TO, b"w-1.hb", 2);
        buf.extend(raw(1, IN_DELETE_SELF, b"", 0));
        buf.extend(raw(2, IN_CREATE, b"x", 100)[..30].iter());
        let mut got = Vec::new();
        parse(&buf, &mut |e: Event| {
            got.push((e.wd, e.mask, e.name.to_vec()))
        });
        assert_eq!(
            got,
            [
                (1, IN_MOVED_TO, b"w-1.hb".to_vec()),
                (1, IN_DELETE_SELF, vec![])
            ]
        );
    }

    #[test]
    fn a_rename_into_a_watched_directory_is_seen() {
        let dir = std::env::temp_dir().join(format!("hb-inotify-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let ino = Inotify::new().unwrap();
        let wd = ino.add_watch(&dir, IN_MOVED_TO | IN_ONLYDIR).unwrap();
        std::fs::write(dir.join(".t"), b"x").unwrap();
        std::fs::rename(dir.join(".t"), dir.join("a.hb")).unwrap();
        let mut got = Vec::new();
        ino.drain(|e| got.push((e.wd, e.mask, e.name.to_vec())))
            .unwrap();
        assert_eq!(got, [(wd, IN_MOVED_TO, b"a.hb".to_vec())]);
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(
            ino.add_watch(&dir, IN_ONLYDIR).unwrap_err().raw_os_error(),
            Some(libc::ENOENT)
        );
    }
}
