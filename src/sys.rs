//! The few system calls made by hand rather than through std, because std
//! adds calls (or panics) that a binary run every few seconds for every
//! agent should not pay for: opening a file, reading a small one, and
//! listing a directory.

use std::ffi::{CString, OsStr, OsString};
use std::fs::File;
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::io::FromRawFd;
use std::path::Path;

fn c_path(path: &Path) -> io::Result<CString> {
    CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))
}

/// `open(2)` with `O_CLOEXEC` added. Straight to the kernel: musl's
/// wrapper follows every `O_CLOEXEC` open with a redundant `fcntl`.
pub fn open(path: &Path, flags: libc::c_int, mode: libc::mode_t) -> io::Result<File> {
    let path = c_path(path)?;
    loop {
        // SAFETY: a valid C string; the kernel returns a new fd or -errno.
        let fd = unsafe {
            libc::syscall(
                libc::SYS_openat,
                libc::AT_FDCWD,
                path.as_ptr(),
                flags | libc::O_CLOEXEC,
                mode,
            )
        };
        if fd >= 0 {
            // SAFETY: the fd is new and owned by nobody else.
            return Ok(unsafe { File::from_raw_fd(fd as libc::c_int) });
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// `renameat2(RENAME_EXCHANGE)`: swaps two names atomically. Through the
/// system call itself: not every libc wraps it.
pub fn exchange(a: &Path, b: &Path) -> io::Result<()> {
    let (a, b) = (c_path(a)?, c_path(b)?);
    // SAFETY: valid C strings; the kernel returns 0 or -errno.
    let r = unsafe {
        libc::syscall(
            libc::SYS_renameat2,
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Reads into `buf` until it is full, the file ends, or `expected` bytes
/// have come (the size `fstat` gave: no read is spent learning that a
/// small file has ended). Returns how many bytes were read.
pub fn read_into(file: &mut File, buf: &mut [u8], expected: usize) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
        if n >= expected {
            break;
        }
    }
    Ok(n)
}

/// A directory entry: its name and `d_type` (`DT_UNKNOWN` where the
/// filesystem does not say, so the caller must look).
pub struct Entry {
    pub name: OsString,
    pub kind: u8,
}

/// The entries of `dir`, without `.` and `..`. Not `fs::read_dir`: its
/// drop panics when `closedir` fails (EIO from a network or FUSE
/// filesystem), and no panic may reach the user; a failed close of a
/// directory that was only read loses nothing.
pub fn dir_entries(dir: &Path) -> io::Result<Vec<Entry>> {
    let path = c_path(dir)?;
    // SAFETY: a valid C string; the stream is closed below on every path.
    let stream = unsafe { libc::opendir(path.as_ptr()) };
    if stream.is_null() {
        return Err(io::Error::last_os_error());
    }
    let mut entries = Vec::new();
    let result = loop {
        // readdir reports an error only through errno.
        // SAFETY: errno is thread-local; the stream is open.
        unsafe { *libc::__errno_location() = 0 };
        let entry = unsafe { libc::readdir(stream) };
        if entry.is_null() {
            let e = io::Error::last_os_error();
            break if e.raw_os_error() == Some(0) {
                Ok(entries)
            } else {
                Err(e)
            };
        }
        // SAFETY: readdir returned a valid entry with a NUL-terminated name.
        let (name, kind) = unsafe {
            (
                std::ffi::CStr::from_ptr((*entry).d_name.as_ptr()).to_bytes(),
                (*entry).d_type,
            )
        };
        if name != b"." && name != b".." {
            entries.push(Entry {
                name: OsStr::from_bytes(name).to_os_string(),
                kind,
            });
        }
    };
    // SAFETY: the stream is open and not used again.
    unsafe { libc::closedir(stream) };
    result
}
