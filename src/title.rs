//! `hb-write --titles RUNTIME --pid P NAME`: a runtime's terminal read as
//! its hooks are. Some runtimes say their state only on their terminal
//! (Mistral Vibe: OSC 7501 `state=working|blocked|idle`, its title `>>
//! Vibe`, `? Vibe`, `Vibe`; no hook marks a prompt, a dialog or an
//! interrupt). The launcher pipes the pane's raw output here (tmux
//! `pipe-pane -O`, scripts/start-agent-session.sh); the OSC strings are
//! picked out of the byte stream ([`Scanner`]), the runtime's table
//! ([`crate::hooks::Runtime::title`]) says what each means, and each
//! change of that meaning is written as a hook's event is: a native beat
//! (busy, waiting, ok) for the pane's pid, the model kept, the marker
//! touched. A title is the runtime's own statement, like a hook's, so the
//! listing shows it as `native`.
//!
//! Cost: one blocking read at a time, so nothing while the pane is quiet;
//! while it prints, one scan for ESC per read, and a write only when the
//! meaning changes (a spinner redrawing the same state writes nothing).
//! It ends when the pane's process does (its pidfd, polled with the
//! input; a check every few seconds on a kernel without pidfds), or at the
//! end of its input: tmux closes the pipe when the pane goes, or when
//! another `pipe-pane` takes the pane (tmux keeps one pipe a pane); the
//! latter, while the agent lives, is said in one line.
//!
//! Hostile input costs nothing: an OSC's text is kept up to [`MAX_TEXT`]
//! bytes (a longer one is skipped whole), control characters in it are
//! dropped, invalid UTF-8 becomes U+FFFD, and only the table reads it.

use crate::error::{Error, Result};
use crate::hooks::{Ask, Runtime};
use crate::proc;
use crate::tick::{self, Decided, Then};
use std::fs::File;
use std::io::Read;
use std::os::fd::AsRawFd;
use std::path::Path;

/// The longest OSC text kept; a longer one is skipped until its end.
pub const MAX_TEXT: usize = 4096;

/// OSC numbers past this are no OSC anyone sends: skipped.
const MAX_OSC: u32 = 65535;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Plain output: only ESC matters.
    Ground,
    /// After ESC.
    Esc,
    /// `ESC ]` and digits.
    Num,
    /// After `;`: the text, up to BEL or ST (`ESC \`).
    Text,
    /// ESC inside an OSC: `\` ends it (ST), anything else aborts it.
    TextEsc,
    /// An OSC we do not keep (too long, malformed): up to its end.
    Skip,
    SkipEsc,
}

/// Picks OSC strings (`ESC ] N ; TEXT BEL` or `... ESC \`) out of a byte
/// stream fed in pieces of any size, as a terminal would: CAN and SUB
/// cancel one, an ESC that does not start ST aborts it and starts the next
/// escape. C1 controls (0x9d, 0x9c) are not read: in UTF-8 they are bytes
/// of characters.
#[derive(Debug)]
pub struct Scanner {
    state: State,
    num: u32,
    text: Vec<u8>,
}

impl Default for Scanner {
    fn default() -> Self {
        Scanner {
            state: State::Ground,
            num: 0,
            text: Vec::new(),
        }
    }
}

impl Scanner {
    /// Feeds the next bytes; `emit(N, TEXT)` for each OSC completed in them.
    pub fn feed(&mut self, bytes: &[u8], mut emit: impl FnMut(u32, &[u8])) {
        let mut rest = bytes;
        while let Some((&b, tail)) = rest.split_first() {
            if self.state == State::Ground {
                // Plain output, the bulk of it: one scan for the next ESC.
                match rest.iter().position(|&c| c == 0x1b) {
                    Some(at) => {
                        rest = &rest[at + 1..];
                        self.state = State::Esc;
                        continue;
                    }
                    None => return,
                }
            }
            rest = tail;
            self.state = match (self.state, b) {
                (State::Ground, _) => State::Ground,
                (State::Esc | State::TextEsc | State::SkipEsc, b'\\') => {
                    if self.state == State::TextEsc {
                        emit(self.num, &self.text);
                    }
                    State::Ground
                }
                (State::Esc | State::TextEsc | State::SkipEsc, b']') => {
                    self.num = 0;
                    self.text.clear();
                    State::Num
                }
                (State::Esc | State::TextEsc | State::SkipEsc, 0x1b) => State::Esc,
                (State::Esc | State::TextEsc | State::SkipEsc, _) => State::Ground,
                (State::Num, b'0'..=b'9') => {
                    self.num = self.num * 10 + u32::from(b - b'0');
                    if self.num > MAX_OSC {
                        State::Skip
                    } else {
                        State::Num
                    }
                }
                (State::Num, b';') => State::Text,
                (State::Num | State::Text, 0x07) => {
                    emit(self.num, &self.text);
                    State::Ground
                }
                (State::Num | State::Text, 0x1b) => State::TextEsc,
                (State::Num, _) => State::Skip,
                (State::Text | State::Skip, 0x18 | 0x1a) => State::Ground,
                (State::Text, c) if c < 0x20 || c == 0x7f => State::Text,
                (State::Text, c) if self.text.len() < MAX_TEXT => {
                    self.text.push(c);
                    State::Text
                }
                (State::Text, _) => {
                    self.text.clear();
                    State::Skip
                }
                (State::Skip, 0x07) => State::Ground,
                (State::Skip, 0x1b) => State::SkipEsc,
                (State::Skip, _) => State::Skip,
            };
        }
    }
}

/// What a stream of output says last, by the runtime's table: every OSC
/// in `bytes` is read, and the last that means something wins.
pub fn last_said(
    scanner: &mut Scanner,
    table: fn(u32, &str) -> Option<Ask>,
    bytes: &[u8],
) -> Option<Ask> {
    let mut said = None;
    scanner.feed(bytes, |osc, text| {
        if let Some(ask) = table(osc, &String::from_utf8_lossy(text)) {
            said = Some(ask);
        }
    });
    said
}

/// Without a pidfd, how often the watcher looks whether `pid` lives.
const CHECK_MS: i32 = 5000;

/// The watcher: reads `input` to its end or to the end of `pid`, and
/// writes each change of what the runtime's terminal says as a native
/// beat for `pid`.
pub fn run(
    rt: &Runtime,
    dir: &Path,
    name: &str,
    pid: u32,
    mut input: &File,
    warn: &mut dyn FnMut(String),
) -> Result<()> {
    let Some(table) = rt.title else {
        return Err(Error::usage(format!(
            "--titles {}: its terminal says nothing hb reads",
            rt.name
        )));
    };
    let mut scanner = Scanner::default();
    let mut buf = vec![0; 64 << 10];
    let mut written = None;
    let pidfd = crate::poller::pidfd_open(pid).ok();
    loop {
        let mut fds = [
            libc::pollfd {
                fd: input.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: pidfd.as_ref().map_or(-1, |f| f.as_raw_fd()),
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        let timeout = if pidfd.is_some() { -1 } else { CHECK_MS };
        // SAFETY: two initialized pollfds; a negative fd is ignored.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), 2, timeout) };
        if fds[1].revents != 0 || (n == 0 && !proc::alive(pid, None)) {
            // The agent ended: the sidecar writes its last beat.
            return Ok(());
        }
        if n <= 0 {
            continue;
        }
        let n = match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return Err(Error::System(format!(
                    "unable to read the pane's output: {}",
                    crate::error::os_message(&e)
                )))
            }
        };
        // Within one read, only what it says last is true now.
        let Some(ask) = last_said(&mut scanner, table, &buf[..n]) else {
            continue;
        };
        if written == Some(ask) {
            continue;
        }
        match write(dir, name, pid, ask, warn) {
            Ok(()) => written = Some(ask),
            Err(e) => warn(e.to_string()),
        }
    }
    if proc::alive(pid, None) {
        warn(format!(
            "the pane's output stopped coming while the agent runs (another \
             tmux pipe-pane took the pane?): {name}'s terminal is no longer read"
        ));
    }
    Ok(())
}

/// One native beat for what the terminal said: the pid given, the model
/// the beat had for it. Nothing once the agent is gone (the sidecar's
/// `exited` stands).
fn write(dir: &Path, name: &str, pid: u32, ask: Ask, warn: &mut dyn FnMut(String)) -> Result<()> {
    let status = match ask {
        Ask::Busy => "busy",
        Ask::Waiting => "waiting",
        Ask::Idle => "ok",
        Ask::End | Ask::ByType | Ask::Nothing => return Ok(()),
    };
    tick::write_given(dir, name, Then::Touch, warn, |old| {
        if !proc::alive(pid, None) {
            return Ok(None);
        }
        let model = old.filter(|b| b.pid == pid).and_then(|b| b.model.clone());
        Ok(Some(Decided {
            pid,
            status: status.into(),
            model,
            pstart: None,
            // The pane's pid, in the launcher's (this writer's) namespace.
            pidns: None,
        }))
    })
    .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every OSC in `pieces`, fed one piece at a time.
    fn oscs(pieces: &[&[u8]]) -> Vec<(u32, Vec<u8>)> {
        let mut s = Scanner::default();
        let mut out = Vec::new();
        for p in pieces {
            s.feed(p, |n, t| out.push((n, t.to_vec())));
        }
        out
    }

    fn one(bytes: &[u8]) -> Vec<(u32, Vec<u8>)> {
        oscs(&[bytes])
    }

    #[test]
    fn titles_end_with_bel_or_st() {
        assert_eq!(one(b"x\x1b]0;Vibe\x07y"), [(0, b"Vibe".to_vec())]);
        assert_eq!(
            one(b"\x1b]7501;state=idle:app=vibe\x1b\\"),
            [(7501, b"state=idle:app=vibe".to_vec())]
        );
        assert_eq!(one(b"\x1b]2;\x07"), [(2, vec![])]);
        assert_eq!(one(b"\x1b]0\x07"), [(0, vec![])]);
        // What Vibe 3.0.3 printed around one prompt (tests/fixtures).
        let vibe = b"\x1b[?25l\x1b]0;>> Vibe\x07\x1b]7501;state=working:app=vibe:msg=VmliZQ==\x1b\\\x1b[2J";
        assert_eq!(
            one(vibe),
            [
                (0, b">> Vibe".to_vec()),
                (7501, b"state=working:app=vibe:msg=VmliZQ==".to_vec())
            ]
        );
    }

    #[test]
    fn a_title_split_anywhere_is_read_whole() {
        let whole: &[u8] = b"ab\x1b]0;>> Vibe\x07cd\x1b]7501;state=idle\x1b\\";
        for cut in 0..whole.len() {
            for cut2 in cut..whole.len() {
                let got = oscs(&[&whole[..cut], &whole[cut..cut2], &whole[cut2..]]);
                assert_eq!(got, one(whole), "cut at {cut}, {cut2}");
            }
        }
    }

    #[test]
    fn hostile_titles_cost_nothing() {
        // Too long: skipped whole, and the next one is read.
        let mut long = b"\x1b]0;".to_vec();
        long.extend(std::iter::repeat(b'x').take(MAX_TEXT + 1));
        long.extend(b"\x07\x1b]0;next\x07");
        assert_eq!(one(&long), [(0, b"next".to_vec())]);
        let mut fits = b"\x1b]0;".to_vec();
        fits.extend(std::iter::repeat(b'y').take(MAX_TEXT));
        fits.push(0x07);
        assert_eq!(one(&fits)[0].1.len(), MAX_TEXT);
        // Never ended: nothing, however much follows.
        let mut open = b"\x1b]0;".to_vec();
        open.extend(std::iter::repeat(b'z').take(1 << 20));
        assert!(one(&open).is_empty());
        // Control characters are dropped; invalid UTF-8 is kept as bytes.
        assert_eq!(
            one(b"\x1b]0;a\x01\x0ab\x7f\xff\x07"),
            [(0, b"ab\xff".to_vec())]
        );
        // CAN and SUB cancel; an ESC that is no ST aborts and starts anew.
        assert!(one(b"\x1b]0;a\x18\x07").is_empty());
        assert!(one(b"\x1b]0;a\x1a\x07").is_empty());
        assert_eq!(one(b"\x1b]0;a\x1b]2;b\x07"), [(2, b"b".to_vec())]);
        assert!(one(b"\x1b]0;a\x1b[31m\x07").is_empty());
        // Numbers: too large, or not a number.
        assert!(one(b"\x1b]99999999999999999999;x\x07").is_empty());
        assert!(one(b"\x1b]0a;x\x07\x1b]-1;x\x07").is_empty());
        assert_eq!(one(b"\x1b]65535;x\x07"), [(65535, b"x".to_vec())]);
        // C1 OSC and ST are bytes of UTF-8 characters here.
        assert!(one(b"\x9d0;x\x9c").is_empty());
        assert_eq!(
            one("\x1b]0;✜ ok\x07".as_bytes()),
            [(0, "✜ ok".as_bytes().to_vec())]
        );
    }

    #[test]
    fn what_vibe_said_in_a_whole_session_is_read_in_order() {
        // Mistral Vibe 3.0.3's TUI, its raw output as tmux pipe-pane gave
        // it (tests/fixtures/hooks/README.md): start, a prompt, the
        // dialog, approved, the answer interrupted with Esc, a second
        // prompt to its end, Ctrl+C twice.
        let raw = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/titles/vibe-3.0.3-tui.raw"
        ))
        .unwrap();
        let table = crate::hooks::runtime("vibe").unwrap().title.unwrap();
        use Ask::*;
        let want = [Idle, Busy, Waiting, Busy, Idle, Busy, Waiting, Busy, Idle];
        // Whole, and in pieces of every size up to 64 bytes.
        for piece in [raw.len(), 1, 2, 3, 7, 64] {
            let mut s = Scanner::default();
            let mut said: Vec<Ask> = Vec::new();
            for chunk in raw.chunks(piece) {
                s.feed(chunk, |osc, text| {
                    if let Some(a) = table(osc, &String::from_utf8_lossy(text)) {
                        if said.last() != Some(&a) {
                            said.push(a);
                        }
                    }
                });
            }
            assert_eq!(said, want, "pieces of {piece}");
        }
    }

    #[test]
    fn the_last_state_said_in_a_read_wins() {
        let rt = crate::hooks::runtime("vibe").unwrap();
        let table = rt.title.unwrap();
        let mut s = Scanner::default();
        let said = |s: &mut Scanner, b: &[u8]| last_said(s, table, b);
        assert_eq!(
            said(
                &mut s,
                b"\x1b]7501;state=working\x1b\\..\x1b]7501;state=blocked:kind=permission\x1b\\"
            ),
            Some(Ask::Waiting)
        );
        assert_eq!(said(&mut s, b"spinner \x1b]0;>> Vibe\x07"), None);
        assert_eq!(said(&mut s, b"\x1b]7501;state=done"), None);
        assert_eq!(said(&mut s, b"\x1b\\"), Some(Ask::Idle));
        assert_eq!(said(&mut s, b"\x1b]7501;state=\xff\x07"), None);
    }
}
