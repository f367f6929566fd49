//! The write floor: one atomic beat and nothing else.
//! Usage: floor-write DIR (writes DIR/floor.hb).
mod beat;

fn main() {
    if let Some(dir) = std::env::args_os().nth(1) {
        beat::write(dir.as_ref());
    }
}
