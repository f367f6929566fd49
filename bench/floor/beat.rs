//! The one thing the write floors do: an atomic beat in DIR, with only the
//! system calls that takes (create a temporary exclusively, write, fsync,
//! rename) and nothing parsed, checked or formatted.
use std::io::Write;
use std::path::Path;

pub fn write(dir: &Path) {
    let tmp = dir.join(".floor.hb.tmp");
    let mut f = std::fs::File::options()
        .write(true)
        .create_new(true)
        .open(&tmp)
        .expect("create");
    f.write_all(b"ts=1750556599\npid=4242\nstatus=ok\n")
        .expect("write");
    f.sync_all().expect("fsync");
    std::fs::rename(&tmp, dir.join("floor.hb")).expect("rename");
}
