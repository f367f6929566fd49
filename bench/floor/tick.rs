//! The sidecar floor: a loop that does only what a fallback tick must (wait
//! for the next whole second, look at the marker, write an atomic beat under
//! the writer lock) and
//! parses, checks and formats nothing. Usage: floor-tick DIR TICKS
mod beat;

use std::time::{Duration, Instant};

fn main() {
    let mut args = std::env::args_os().skip(1);
    let (Some(dir), Some(ticks)) = (args.next(), args.next()) else {
        return;
    };
    let ticks: u32 = ticks.to_str().and_then(|t| t.parse().ok()).unwrap_or(0);
    let dir = std::path::Path::new(&dir);
    let marker = dir.join("floor.hb.native");
    let start = Instant::now();
    for tick in 0..ticks {
        if let Some(wait) =
            (start + Duration::from_secs(tick.into())).checked_duration_since(Instant::now())
        {
            std::thread::sleep(wait);
        }
        let _lock = beat::lock(dir);
        if std::fs::symlink_metadata(&marker).is_err() {
            let _ = std::fs::read(dir.join("floor.hb"));
            beat::write(dir);
        }
    }
}
