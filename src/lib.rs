//! hb: trustworthy heartbeats for fleets of AI coding agents.
//!
//! The library holds all logic; the binaries in `src/bin/` only parse their
//! arguments through the command modules and turn the answer into an exit
//! status. One module per concern; the contract lives in `../shared/CONTRACT.md`.

pub mod atomic;
pub mod beat;
pub mod change;
pub mod cli;
pub mod config;
pub mod defer_check;
pub mod error;
pub mod fleet;
pub mod follow;
pub mod format;
pub mod hooks;
pub mod inotify;
pub mod listing;
pub mod lock;
pub mod marker;
pub mod notify;
pub mod poller;
pub mod proc;
pub mod read;
pub mod sidecar;
pub mod sys;
pub mod tick;
pub mod turn;
pub mod watch;
pub mod write;
