//! `hb-read --follow`: the listing as a stream (contract v3). One line per
//! listed agent for the state at start (`appeared`), then one line per
//! change as the [`Fleet`] sees it, each written whole and at once (so a
//! pipe's reader has it as it happens), until SIGTERM, SIGINT or the
//! reader going away, all of which are exit 0. With `--exec`, each change
//! also goes to the [`Notifier`].
//!
//! One thread sleeping in one `epoll_wait`: on the signalfd, stdout (whose
//! error or hang-up says the reader left), the fleet's inotify and pidfds,
//! and a timeout to the next second of the clock (ages), to an ended
//! agent's grace running out, or to a notifier overdue, whichever is
//! sooner.

use crate::error::Result;
use crate::fleet::{Fleet, Settings};
use crate::notify::Notifier;
use crate::poller::{self, Poller, Ready};
use crate::{cli, format, proc};

/// The loop's tokens (the fleet's own are above).
const TOKEN_SIGNALS: u64 = 0;
const TOKEN_STDOUT: u64 = 1;

/// How long to sleep: to just past the next second of the wall clock, when
/// ages change, or to `cap` when that is sooner.
pub fn timeout_ms(cap: Option<std::time::Duration>) -> i32 {
    let into = proc::now_nanos().rem_euclid(1_000_000_000) as i64;
    let ms = (1_000_000_000 - into) / 1_000_000 + 2;
    let cap = cap.map_or(i64::MAX, |d| d.as_millis().min(i64::MAX as u128) as i64 + 1);
    ms.min(cap).clamp(1, 1002) as i32
}

pub fn run(s: Settings, json: bool, mut notifier: Option<Notifier>) -> Result<u8> {
    let mut signals = vec![libc::SIGTERM, libc::SIGINT];
    if notifier.is_some() {
        signals.push(libc::SIGCHLD);
    }
    let sig = poller::signal_fd(&signals)?;
    let poller = Poller::new()?;
    poller
        .add(
            std::os::fd::AsRawFd::as_raw_fd(&sig),
            TOKEN_SIGNALS,
            libc::EPOLLIN as u32,
        )
        .map_err(|e| crate::error::Error::System(format!("unable to wait for signals: {e}")))?;
    // Only its errors and hang-ups; a file or /dev/null cannot be
    // watched, and need not be.
    let _ = poller.add(1, TOKEN_STDOUT, 0);
    let mut fleet = Fleet::open(s, &poller)?;
    let mut ready: Vec<Ready> = Vec::new();
    let mut second = proc::now_secs();
    loop {
        for c in fleet.changes(&poller, proc::now_secs())? {
            let line = if json {
                format::change_json(&c)
            } else {
                format::change_line(&c, &format::iso_time(&proc::local_time(c.time)))
            };
            if !cli::print_open(line.as_bytes())? {
                return Ok(stop(&mut notifier));
            }
            if let Some(n) = notifier.as_mut() {
                n.push(&c, &line);
            }
        }
        let mono = proc::monotonic();
        if let Some(n) = notifier.as_mut() {
            n.pump(mono);
        }
        let fleet_due = fleet.next_deadline().map(|t| t.saturating_sub(mono));
        let cap = match (
            notifier.as_ref().and_then(|n| n.next_deadline(mono)),
            fleet_due,
        ) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        poller.wait(&mut ready, timeout_ms(cap))?;
        for r in &ready {
            match r.token {
                TOKEN_SIGNALS => {
                    for s in poller::read_signals(&sig) {
                        match (s, notifier.as_mut()) {
                            (libc::SIGCHLD, Some(n)) => n.reap(),
                            _ => return Ok(stop(&mut notifier)),
                        }
                    }
                }
                TOKEN_STDOUT => return Ok(stop(&mut notifier)),
                t if fleet.owns(t) => fleet.ready(t, &poller)?,
                _ => {}
            }
        }
        let now = proc::now_secs();
        if now != second {
            second = now;
            fleet.tick();
        }
    }
}

/// Ends the follower: 0, notifiers stopped.
fn stop(notifier: &mut Option<Notifier>) -> u8 {
    if let Some(n) = notifier.as_mut() {
        n.stop();
    }
    0
}
