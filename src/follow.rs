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

/// The loop's token for stdout (the signals' is [`poller::TOKEN_SIGNALS`],
/// the fleet's own are above).
const TOKEN_STDOUT: u64 = 1;

pub fn run(s: Settings, json: bool, mut notifier: Option<Notifier>) -> Result<u8> {
    let mut signals = vec![libc::SIGTERM, libc::SIGINT];
    if notifier.is_some() {
        signals.push(libc::SIGCHLD);
    }
    let (poller, sig) = Poller::with_signals(&signals)?;
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
        poller.wait(&mut ready, poller::timeout_ms(cap))?;
        for r in &ready {
            match r.token {
                poller::TOKEN_SIGNALS => {
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
