//! The write floor: one atomic beat under the writer lock and nothing else.
//! Usage: floor-write DIR [nolock] (writes DIR/floor.hb; `nolock` leaves
//! the lock out, so that the benchmark can tell what the lock costs).
mod beat;

fn main() {
    let mut args = std::env::args_os().skip(1);
    if let Some(dir) = args.next() {
        let dir = std::path::Path::new(&dir);
        let _lock = args.next().is_none().then(|| beat::lock(dir));
        beat::write(dir);
    }
}
