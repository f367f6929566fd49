//! The fleet kept up to date for the long-running readers (`--follow`,
//! `--watch`): what is known of each agent, and the changes to it (contract
//! v3), learnt from the kernel rather than by reading everything again.
//!
//! - inotify on the directory names the beats that were swapped in,
//!   created or removed; only those are read again. A beat is swapped in
//!   by `RENAME_EXCHANGE` (or renamed), which inotify reports as moves to
//!   and from its name; temporaries, locks and markers are not beats.
//! - A pidfd per local agent becomes readable when its process ends (a
//!   zombie has ended too), so a dead agent is seen with no file event and
//!   no `/proc` read every second. It is judged dead [`ENDING_GRACE`]
//!   later unless its beat changes first: an agent with a sidecar gets its
//!   `exited` beat within milliseconds of its end, and that, not a
//!   passing `dead`, is the change to report. Where no pidfd can be had (a
//!   kernel before 5.3, the open-file limit), that agent's pid is checked
//!   in `/proc` on every tick instead.
//! - A tick on each second of the clock judges every beat's age again
//!   (arithmetic only), which finds the beats gone stale.
//! - A directory that does not exist yet is waited for by watching its
//!   nearest existing ancestor; one that is removed, moved or replaced is
//!   waited for again. Where inotify cannot serve (its instance or watch
//!   limit), the directory is read every second, said once on stderr.
//!
//! The loops own the [`Poller`] and hand the fleet the tokens that are its
//! own ([`Fleet::owns`]).

use crate::change::{Change, State};
use crate::error::{Error, Result};
use crate::inotify::{self, Inotify};
use crate::listing::{self, Health, Listing, ReadBeat, Row, Src};
use crate::pidns::{self, Located};
use crate::poller::{self, Poller};
use crate::{proc, sys};
use std::ffi::OsStr;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The fleet's tokens in the poller: the inotify instance, and the pidfds
/// from [`FIRST_PIDFD`] up. The loops' own tokens are below 16.
const TOKEN_INOTIFY: u64 = 16;
const FIRST_PIDFD: u64 = 1 << 32;

/// What the directory itself is watched for.
const DIR_MASK: u32 = inotify::IN_CREATE
    | inotify::IN_DELETE
    | inotify::IN_MOVED_FROM
    | inotify::IN_MOVED_TO
    | inotify::IN_CLOSE_WRITE
    | inotify::IN_ATTRIB
    | inotify::IN_DELETE_SELF
    | inotify::IN_MOVE_SELF
    | inotify::IN_ONLYDIR
    | inotify::IN_EXCL_UNLINK;
/// What the nearest existing ancestor of a missing directory is watched
/// for: entries appearing in it, and its own end.
const ANCESTOR_MASK: u32 = inotify::IN_CREATE
    | inotify::IN_MOVED_TO
    | inotify::IN_DELETE_SELF
    | inotify::IN_MOVE_SELF
    | inotify::IN_ONLYDIR;
/// The directory's watch is gone with it.
const GONE_MASK: u32 =
    inotify::IN_DELETE_SELF | inotify::IN_MOVE_SELF | inotify::IN_IGNORED | inotify::IN_UNMOUNT;

/// How long an agent whose process ended still counts as alive, waiting
/// for its sidecar's `exited` beat.
pub const ENDING_GRACE: Duration = Duration::from_millis(500);

/// What to follow.
#[derive(Debug, Clone)]
pub struct Settings {
    pub dir: PathBuf,
    /// Empty: every `*.hb` in the directory.
    pub names: Vec<String>,
    pub interval: u32,
    pub stale_after: u32,
}

/// How an agent's process is followed.
enum Life {
    /// No valid beat, or one from another host: nothing to follow.
    Untracked,
    /// A pidfd in the poller; the process lives.
    Watched { token: u64, fd: OwnedFd },
    /// The process ended; it is judged dead at `until` (monotonic) unless
    /// the beat changes first.
    Ending { until: Duration },
    /// No pidfd for it: checked in `/proc` on every tick; it lives.
    Polled { pid: u32, pstart: Option<u64> },
    /// The process named by the beat has ended.
    Ended,
}

impl Life {
    fn alive(&self) -> Option<bool> {
        match self {
            Life::Untracked => None,
            Life::Watched { .. } | Life::Ending { .. } | Life::Polled { .. } => Some(true),
            Life::Ended => Some(false),
        }
    }
}

struct Agent {
    /// The beat file's stem, as bytes.
    stem: Vec<u8>,
    seen: ReadBeat,
    life: Life,
    /// What the life was judged from: the beat's pid, pid namespace,
    /// start time and host; the same again is not mapped again.
    key: Option<Key>,
    /// The beat's pid was mapped from its namespace (v4): (pid here, pid
    /// in the beat).
    mapped: Option<(u32, u32)>,
    /// The state last reported; None until the first report.
    reported: Option<State>,
}

enum DirWatch {
    /// The directory itself, and its device and inode, to notice a
    /// directory replaced under the same path.
    Dir { wd: i32, id: Option<(u64, u64)> },
    /// It does not exist (yet): the nearest ancestor that does.
    Waiting { wd: Option<i32> },
    /// No inotify: the directory is read every second.
    Polling,
}

/// What a life is judged from (see [`Agent::key`]).
type Key = (u32, Option<u64>, Option<u64>, Option<String>);

/// The agents, sorted by stem (the listing's order), found by binary
/// search: a plain vector, where a map would cost the binary its code.
struct Agents(Vec<Agent>);

impl Agents {
    fn get(&self, stem: &[u8]) -> Option<&Agent> {
        self.find(stem).ok().map(|i| &self.0[i])
    }

    fn get_mut(&mut self, stem: &[u8]) -> Option<&mut Agent> {
        self.find(stem).ok().map(|i| &mut self.0[i])
    }

    fn find(&self, stem: &[u8]) -> std::result::Result<usize, usize> {
        self.0.binary_search_by(|a| a.stem.as_slice().cmp(stem))
    }

    /// The agent of `stem`, a new one (missing, untracked) if there is none.
    fn entry(&mut self, stem: &[u8]) -> &mut Agent {
        let i = match self.find(stem) {
            Ok(i) => i,
            Err(i) => {
                let a = Agent {
                    stem: stem.to_vec(),
                    seen: ReadBeat::Missing,
                    life: Life::Untracked,
                    key: None,
                    mapped: None,
                    reported: None,
                };
                self.0.insert(i, a);
                i
            }
        };
        &mut self.0[i]
    }

    fn stems(&self) -> impl Iterator<Item = Vec<u8>> + '_ {
        self.0.iter().map(|a| a.stem.clone())
    }
}

/// Stems to visit: pushed in any order, taken sorted and once each.
#[derive(Default)]
struct Stems(Vec<Vec<u8>>);

impl Stems {
    fn insert(&mut self, stem: Vec<u8>) {
        self.0.push(stem);
    }

    fn take(&mut self) -> Vec<Vec<u8>> {
        let mut v = std::mem::take(&mut self.0);
        v.sort_unstable();
        v.dedup();
        v
    }
}

pub struct Fleet {
    s: Settings,
    agents: Agents,
    next_token: u64,
    /// Agents in [`Life::Ending`], with when their grace ends.
    ending: Vec<(Duration, Vec<u8>)>,
    inotify: Option<Inotify>,
    watch: DirWatch,
    local: Option<String>,
    /// To read again, then to judge again, at the next [`Fleet::changes`].
    dirty: Stems,
    rejudge: Stems,
    rescan: bool,
    rejudge_all: bool,
    /// An agent was found missing: forget those gone at the end of the look.
    some_gone: bool,
}

impl Fleet {
    /// Starts following: inotify (or polling, said once on stderr), the
    /// directory or its ancestor watched. The first [`Fleet::changes`]
    /// reports every listed agent as `appeared`.
    pub fn open(s: Settings, poller: &Poller) -> Result<Fleet> {
        poller::raise_fd_limit();
        let inotify = match Inotify::new() {
            Ok(i) => match poller.add(i.raw_fd(), TOKEN_INOTIFY, libc::EPOLLIN as u32) {
                Ok(()) => Some(i),
                Err(e) => {
                    polling_notice(&s.dir, &e);
                    None
                }
            },
            Err(e) => {
                polling_notice(&s.dir, &e);
                None
            }
        };
        let mut f = Fleet {
            s,
            agents: Agents(Vec::new()),
            next_token: FIRST_PIDFD,
            ending: Vec::new(),
            inotify,
            watch: DirWatch::Waiting { wd: None },
            local: proc::hostname(),
            dirty: Stems::default(),
            rejudge: Stems::default(),
            rescan: true,
            rejudge_all: true,
            some_gone: false,
        };
        f.arm();
        Ok(f)
    }

    /// Is the directory watched (or read every second), rather than waited
    /// for?
    pub fn dir_present(&self) -> bool {
        match self.watch {
            DirWatch::Dir { .. } => true,
            DirWatch::Waiting { .. } => false,
            DirWatch::Polling => self.s.dir.is_dir(),
        }
    }

    /// Is `token` one of the fleet's?
    pub fn owns(&self, token: u64) -> bool {
        token == TOKEN_INOTIFY || token >= FIRST_PIDFD
    }

    /// One of the fleet's tokens is ready.
    pub fn ready(&mut self, token: u64, poller: &Poller) -> Result<()> {
        if token == TOKEN_INOTIFY {
            return self.read_events();
        }
        // Found by its token: a pidfd wakes the fleet once in an agent's life.
        let Some(a) = self
            .agents
            .0
            .iter_mut()
            .find(|a| matches!(a.life, Life::Watched { token: t, .. } if t == token))
        else {
            return Ok(());
        };
        if let Life::Watched { fd, .. } = &a.life {
            poller.remove(fd.as_raw_fd());
            let until = proc::monotonic() + ENDING_GRACE;
            a.life = Life::Ending { until };
            self.ending.push((until, a.stem.clone()));
        }
        Ok(())
    }

    /// When the fleet next needs a look that no event will ask for: the
    /// end of an ending agent's grace (monotonic).
    pub fn next_deadline(&self) -> Option<Duration> {
        self.ending.iter().map(|(t, _)| *t).min()
    }

    /// A second of the clock has passed: every age is judged again, pids
    /// without a pidfd are checked, a replaced or vanished directory is
    /// noticed, a missing one looked for, and without inotify every beat
    /// is read again.
    pub fn tick(&mut self) {
        match self.watch {
            DirWatch::Polling => self.rescan = true,
            DirWatch::Waiting { .. } => self.arm(),
            DirWatch::Dir { id, .. } => {
                if dir_id(&self.s.dir) != id {
                    self.arm();
                }
            }
        }
        for a in self.agents.0.iter_mut() {
            if let Life::Polled { pid, pstart } = a.life {
                if !proc::alive(pid, pstart) {
                    a.life = Life::Ended;
                }
            }
        }
        self.rejudge_all = true;
    }

    /// Reads what changed since the last call and returns the changes, in
    /// the listing's order.
    pub fn changes(&mut self, poller: &Poller, now: i64) -> Result<Vec<Change>> {
        if self.rescan {
            self.scan()?;
        }
        let mono = proc::monotonic();
        let (due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut self.ending)
            .into_iter()
            .partition(|(t, _)| *t <= mono);
        self.ending = later;
        for (_, stem) in due {
            if let Some(a) = self.agents.get_mut(&stem) {
                // Only the grace this entry was made for (the agent may
                // have ended, come back under a new pid and ended again).
                match a.life {
                    Life::Ending { until, .. } if until <= mono => {
                        a.life = Life::Ended;
                        self.rejudge.insert(stem);
                    }
                    _ => {}
                }
            }
        }
        for stem in self.dirty.take() {
            self.reread(&stem, poller);
            self.rejudge.insert(stem);
        }
        let mut out: Vec<Change> = Vec::new();
        let stems = self.rejudge.take();
        if std::mem::take(&mut self.rejudge_all) {
            for i in 0..self.agents.0.len() {
                out.extend(self.evaluate(i, now));
            }
        } else {
            for stem in stems {
                if let Ok(i) = self.agents.find(&stem) {
                    out.extend(self.evaluate(i, now));
                }
            }
        }
        // Gone and reported gone (or never reported): forgotten. Only
        // after a look that found one gone: this visits every agent.
        let gone = |a: &Agent| !a.reported.as_ref().is_some_and(State::present);
        if self.s.names.is_empty() && std::mem::take(&mut self.some_gone) {
            self.agents.0.retain(|a| !gone(a));
        }
        Ok(out)
    }

    /// The listing as `hb-read` would print it now, from what is known.
    pub fn listing(&self, now: i64) -> Listing {
        let now_ns = proc::now_nanos();
        let row = |stem: &[u8], a: &Agent| make_row(&self.s, stem, a, a.life.alive(), now, now_ns);
        let rows = if self.s.names.is_empty() {
            self.agents
                .0
                .iter()
                .filter(|a| !matches!(a.seen, ReadBeat::Missing))
                .map(|a| row(&a.stem, a))
                .collect()
        } else {
            let mut rows: Vec<Row> = Vec::new();
            for name in &self.s.names {
                if let Some(a) = self.agents.get(name.as_bytes()) {
                    if !rows.iter().any(|r| &r.name == name) {
                        rows.push(row(name.as_bytes(), a));
                    }
                }
            }
            rows
        };
        Listing {
            dir: self.s.dir.clone(),
            now,
            interval: self.s.interval,
            stale_after: self.s.stale_after,
            rows,
        }
    }

    /// The state of the agent at `i` now; a change from what was reported.
    fn evaluate(&mut self, i: usize, now: i64) -> Option<Change> {
        let a = self.agents.0.get_mut(i)?;
        let alive = a.life.alive();
        let health = match &a.seen {
            ReadBeat::Missing => Health::Missing,
            ReadBeat::Invalid(_) | ReadBeat::Unreadable(..) => Health::Invalid,
            ReadBeat::Valid(b) => {
                listing::health_of(b, now, self.s.interval, self.s.stale_after, alive)
            }
        };
        // The common case, a beat rewritten with a new ts, costs no row.
        if a.reported
            .as_ref()
            .is_some_and(|r| same(r, &a.seen, health, a.mapped))
        {
            return None;
        }
        let named = !self.s.names.is_empty();
        self.some_gone |= health == Health::Missing;
        if a.reported.is_none() && health == Health::Missing && !named {
            return None; // came and went between two looks
        }
        let row = make_row(&self.s, &a.stem, a, alive, now, proc::now_nanos());
        let state = State::of(&row);
        let was = a.reported.replace(state.clone());
        let event = state.event_from(was.as_ref())?;
        Some(Change {
            event,
            time: now,
            row,
            was: was.filter(|_| event != crate::change::Event::Appeared),
        })
    }

    /// Reads one beat again, and follows its process if that changed.
    fn reread(&mut self, stem: &[u8], poller: &Poller) {
        let seen = read_stem(&self.s.dir, stem);
        let local = self.local.as_deref();
        let key = match &seen {
            ReadBeat::Valid(b) => Some((b.pid, b.pidns, b.pstart, b.host.clone())),
            _ => None,
        };
        let a = self.agents.entry(stem);
        if a.key.is_some() && a.key == key {
            a.seen = seen;
            return;
        }
        // Where the pid can be checked (mapped from its pid namespace when
        // that is not ours): once per new pid, not on every beat.
        let (want, mapped) = match &seen {
            ReadBeat::Valid(b) => match listing::locate(b, local, &mut pidns::View::new()) {
                Located::Unknown => (None, None),
                Located::Gone => (Some((b.pid, b.pstart, false)), None),
                at @ Located::Check { strict: true, .. } if at.alive(b.pstart) != Some(true) => {
                    (None, None)
                }
                Located::Check { pid, from, .. } => {
                    (Some((pid, b.pstart, true)), from.map(|f| (pid, f)))
                }
            },
            _ => (None, None),
        };
        a.seen = seen;
        a.key = key;
        a.mapped = mapped;
        if let Life::Watched { fd, .. } = &a.life {
            poller.remove(fd.as_raw_fd());
        }
        a.life = match want {
            None => Life::Untracked,
            Some((_, _, false)) => Life::Ended,
            Some((pid, pstart, true)) => {
                let fd = poller::pidfd_open(pid);
                // Once the pidfd is open, it names the beat's process when
                // /proc still shows that pid alive with the beat's start.
                match (proc::alive(pid, pstart), fd) {
                    (false, _) => Life::Ended,
                    (true, Ok(fd)) => {
                        let token = self.next_token;
                        self.next_token += 1;
                        match poller.add(fd.as_raw_fd(), token, libc::EPOLLIN as u32) {
                            Ok(()) => Life::Watched { token, fd },
                            Err(_) => Life::Polled { pid, pstart },
                        }
                    }
                    (true, Err(_)) => Life::Polled { pid, pstart },
                }
            }
        };
    }

    /// Every beat is to be read again: those in the directory and those
    /// known (a known one that is gone reads as missing).
    fn scan(&mut self) -> Result<()> {
        self.rescan = false;
        if !self.s.names.is_empty() {
            for n in &self.s.names {
                self.dirty.insert(n.as_bytes().to_vec());
            }
            return Ok(());
        }
        match sys::dir_entries(&self.s.dir) {
            Ok(entries) => {
                for e in &entries {
                    if let Some(stem) = listing::beat_stem(e.name.as_bytes()) {
                        self.dirty.insert(stem.to_vec());
                    }
                }
            }
            Err(e) if is_missing(&e) => {}
            Err(e) => return Err(Error::io("read directory", &self.s.dir, &e)),
        }
        self.dirty.0.extend(self.agents.stems());
        Ok(())
    }

    /// Watches the directory, or, while it does not exist, its nearest
    /// existing ancestor; then everything is read again.
    fn arm(&mut self) {
        self.rescan = true;
        let Some(ino) = &self.inotify else {
            self.watch = DirWatch::Polling;
            return;
        };
        let old = match self.watch {
            DirWatch::Dir { wd, .. } | DirWatch::Waiting { wd: Some(wd) } => Some(wd),
            _ => None,
        };
        let dir = &self.s.dir;
        let watched = match ino.add_watch(dir, DIR_MASK) {
            Ok(wd) => Ok(DirWatch::Dir {
                wd,
                id: dir_id(dir),
            }),
            Err(e) if is_missing(&e) => {
                let mut w = Ok(DirWatch::Waiting { wd: None });
                for a in dir.ancestors().skip(1) {
                    let a = if a.as_os_str().is_empty() {
                        Path::new(".")
                    } else {
                        a
                    };
                    match ino.add_watch(a, ANCESTOR_MASK) {
                        Ok(wd) => {
                            w = Ok(DirWatch::Waiting { wd: Some(wd) });
                            break;
                        }
                        Err(e) if is_missing(&e) => continue,
                        Err(e) => {
                            w = Err(e);
                            break;
                        }
                    }
                }
                // It may have been made between the two looks.
                match (w, ino.add_watch(dir, DIR_MASK)) {
                    (Ok(DirWatch::Waiting { wd: Some(a) }), Ok(wd)) => {
                        ino.rm_watch(a);
                        Ok(DirWatch::Dir {
                            wd,
                            id: dir_id(dir),
                        })
                    }
                    (w, _) => w,
                }
            }
            Err(e) => Err(e),
        };
        // A watch of the same inode comes back with the same descriptor:
        // the old one is only removed when it is another.
        let new = match &watched {
            Ok(DirWatch::Dir { wd, .. }) | Ok(DirWatch::Waiting { wd: Some(wd) }) => Some(*wd),
            _ => None,
        };
        if let Some(old) = old.filter(|&o| Some(o) != new) {
            ino.rm_watch(old);
        }
        self.watch = match watched {
            Ok(w) => w,
            // Not allowed to read it: reading it says so, as an error.
            Err(e) if matches!(e.raw_os_error(), Some(libc::EACCES | libc::EPERM)) => {
                DirWatch::Polling
            }
            Err(e) => {
                polling_notice(dir, &e);
                self.inotify = None;
                DirWatch::Polling
            }
        };
    }

    /// Takes in the queued inotify events: the beats they name are read
    /// again; a lost directory or an overflowed queue means reading it all.
    fn read_events(&mut self) -> Result<()> {
        let Some(ino) = &self.inotify else {
            return Ok(());
        };
        let (dir_wd, ancestor_wd) = match self.watch {
            DirWatch::Dir { wd, .. } => (Some(wd), None),
            DirWatch::Waiting { wd } => (None, wd),
            DirWatch::Polling => (None, None),
        };
        let (mut rearm, mut overflow) = (false, false);
        let names = &self.s.names;
        let dir = &self.s.dir;
        let dirty = &mut self.dirty;
        ino.drain(|e| {
            if e.mask & inotify::IN_Q_OVERFLOW != 0 {
                overflow = true;
            } else if Some(e.wd) == dir_wd {
                if e.mask & GONE_MASK != 0 {
                    rearm = true;
                } else if let Some(stem) = listing::beat_stem(e.name) {
                    let wanted = names.is_empty() || names.iter().any(|n| n.as_bytes() == stem);
                    if wanted && !(e.mask == inotify::IN_CREATE && created_empty(dir, e.name)) {
                        dirty.insert(stem.to_vec());
                    }
                }
            } else if Some(e.wd) == ancestor_wd {
                rearm = true;
            }
        })
        .map_err(|e| Error::io("read the inotify events of", dir, &e))?;
        if rearm {
            self.arm();
        }
        if overflow {
            self.rescan = true;
        }
        Ok(())
    }
}

/// Has the state anything new? Compared in place: no row is built.
fn same(r: &State, seen: &ReadBeat, health: Health, mapped: Option<(u32, u32)>) -> bool {
    r.health == health
        && match seen {
            ReadBeat::Valid(b) => {
                r.status.as_deref() == Some(b.status.as_str())
                    && r.model == b.model
                    && r.pid == Some(mapped.map_or(b.pid, |(pid, _)| pid))
            }
            _ => r.status.is_none() && r.model.is_none() && r.pid.is_none(),
        }
}

fn make_row(
    s: &Settings,
    stem: &[u8],
    a: &Agent,
    alive: Option<bool>,
    now: i64,
    now_ns: i128,
) -> Row {
    let name = String::from_utf8_lossy(stem).into_owned();
    let src = match listing::is_name(stem) {
        true => listing::src_of(&s.dir, &name, s.interval, now_ns),
        false => Src::Sidecar,
    };
    listing::row_of(name, src, a.seen.clone(), |mut b| {
        let ns_pid = a.mapped.map(|(pid, from)| {
            b.pid = pid;
            from
        });
        listing::assess(b, now, s.interval, s.stale_after, alive, ns_pid)
    })
}

/// Reads a beat by its stem; one whose stem is not a NAME is invalid
/// whatever it holds, and is only looked for.
fn read_stem(dir: &Path, stem: &[u8]) -> ReadBeat {
    let path = crate::files::beat_of_stem(dir, stem);
    if listing::is_name(stem) {
        return listing::read_beat(&path);
    }
    match std::fs::symlink_metadata(&path) {
        Err(e) if is_missing(&e) => ReadBeat::Missing,
        _ => ReadBeat::Invalid(listing::BAD_NAME.into()),
    }
}

/// A regular file created empty is being written in place (a shell's
/// `>`): it is read when closed (IN_CLOSE_WRITE), not while still empty.
fn created_empty(dir: &Path, file: &[u8]) -> bool {
    std::fs::symlink_metadata(dir.join(OsStr::from_bytes(file)))
        .is_ok_and(|m| m.file_type().is_file() && m.len() == 0)
}

fn dir_id(dir: &Path) -> Option<(u64, u64)> {
    std::fs::metadata(dir).ok().map(|m| (m.dev(), m.ino()))
}

fn is_missing(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::ENOENT | libc::ENOTDIR))
}

/// The one line said when inotify cannot serve.
fn polling_notice(dir: &Path, e: &io::Error) {
    crate::cli::eprint_line(&format!(
        "hb-read: warning: unable to watch {} with inotify: {}: reading it every second instead",
        dir.display(),
        crate::error::os_message(e)
    ));
}
