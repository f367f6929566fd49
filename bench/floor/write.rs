//! The write floor: only the system calls an atomic beat needs (create a
//! temporary exclusively, write, fsync, rename), with nothing parsed,
//! checked or formatted. Usage: floor-write DIR (writes DIR/floor.hb).
use std::io::Write;

fn main() {
    let Some(dir) = std::env::args_os().nth(1) else {
        return;
    };
    let dir = std::path::Path::new(&dir);
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
