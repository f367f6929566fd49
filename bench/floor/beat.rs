//! What the write floors do: an atomic beat in DIR, with only the system
//! calls contract v2 takes (the writer lock, an exclusive temporary, a
//! write, a rename; no fsync) and nothing parsed, checked or formatted.
use std::io::Write;
use std::os::fd::AsRawFd;
use std::path::Path;

/// Opens and takes the writer lock; released when the file is dropped.
pub fn lock(dir: &Path) -> std::fs::File {
    let f = std::fs::File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(dir.join(".floor.lock"))
        .expect("lock");
    // SAFETY: a valid fd.
    assert_eq!(unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) }, 0);
    f
}

pub fn write(dir: &Path) {
    let tmp = dir.join(".floor.hb.tmp");
    let mut f = std::fs::File::options()
        .write(true)
        .create_new(true)
        .open(&tmp)
        .expect("create");
    f.write_all(b"ts=1750556599\npid=4242\nstatus=ok\n")
        .expect("write");
    std::fs::rename(&tmp, dir.join("floor.hb")).expect("rename");
}
