//! `hb-read --watch`: the table, live in the terminal, the way `watch` and
//! `top` show theirs, with no framework: the alternate screen, a frame
//! redrawn in one write when a beat changes and on each second of the
//! clock (ages move), fitted to the terminal's width and height (long
//! models are cut, lines never wrap), with a header of the counts per
//! health and the time. `q` or Ctrl-C leaves, as do SIGTERM and SIGINT,
//! and every way out gives the terminal back as it was ([`Screen`]'s
//! drop); Ctrl-Z suspends with the terminal given back; a resize redraws.
//! The fleet is the same [`Fleet`] `--follow` keeps.

use crate::error::{Error, Result};
use crate::fleet::{Fleet, Settings};
use crate::format::{self, Fit};
use crate::listing::{Health, Listing};
use crate::poller::{self, Poller, Ready};
use crate::{cli, proc};

const TOKEN_STDIN: u64 = 2;

/// Enter the alternate screen, hide the cursor, stop wrapping at the right
/// margin (a character wider than we counted is clipped, never wrapped).
const ENTER: &str = "\x1b[?1049h\x1b[?25l\x1b[?7l";
/// Back: wrapping, the cursor, the main screen as it was.
const LEAVE: &str = "\x1b[?7h\x1b[?25h\x1b[?1049l";

/// The terminal while the view is on it; dropping it gives it back.
struct Screen {
    /// The keyboard's settings before, when stdin is a terminal.
    saved: Option<libc::termios>,
}

impl Screen {
    fn enter(keys: bool) -> Result<Screen> {
        let mut s = Screen { saved: None };
        s.take(keys)?;
        Ok(s)
    }

    /// Takes the terminal: the keyboard raw (when `keys`), the alternate
    /// screen.
    fn take(&mut self, keys: bool) -> Result<()> {
        if keys {
            // SAFETY: termios is plain data that tcgetattr fills.
            let mut t: libc::termios = unsafe { std::mem::zeroed() };
            if unsafe { libc::tcgetattr(0, &mut t) } == 0 {
                self.saved = Some(t);
                // Keys one at a time, unechoed; Ctrl-C and Ctrl-Z arrive
                // as keys, so leaving always goes through here.
                t.c_lflag &= !(libc::ICANON | libc::ECHO | libc::ISIG | libc::IEXTEN);
                t.c_iflag &= !(libc::IXON | libc::ICRNL);
                t.c_cc[libc::VMIN] = 0;
                t.c_cc[libc::VTIME] = 0;
                // SAFETY: a valid termios for fd 0.
                unsafe { libc::tcsetattr(0, libc::TCSANOW, &t) };
            }
        }
        cli::print(ENTER.as_bytes())
    }

    fn leave(&mut self) {
        let _ = cli::print(LEAVE.as_bytes());
        if let Some(t) = self.saved.take() {
            // SAFETY: the settings tcgetattr gave, back to fd 0.
            unsafe { libc::tcsetattr(0, libc::TCSANOW, &t) };
        }
    }

    /// Ctrl-Z: the terminal back to the shell, stop, and on `fg` take it
    /// again.
    fn suspend(&mut self) -> Result<()> {
        let keys = self.saved.is_some();
        self.leave();
        // SAFETY: SIGTSTP to our own process group, as the terminal would.
        unsafe { libc::kill(0, libc::SIGTSTP) };
        self.take(keys)
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        self.leave();
    }
}

/// The terminal's size (rows, columns); 24 x 80 where it does not say.
fn size() -> (usize, usize) {
    // SAFETY: winsize is plain data that the ioctl fills.
    let mut w: libc::winsize = unsafe { std::mem::zeroed() };
    let ok = unsafe { libc::ioctl(1, libc::TIOCGWINSZ, &mut w) } == 0;
    match (ok, w.ws_row, w.ws_col) {
        (true, r, c) if r > 0 && c > 0 => (usize::from(r), usize::from(c)),
        _ => (24, 80),
    }
}

/// Does the terminal speak UTF-8, for the `…` that ends a cut model?
fn utf8_locale(env: crate::config::Env) -> bool {
    let v = ["LC_ALL", "LC_CTYPE", "LANG"]
        .iter()
        .find_map(|k| env(k))
        .unwrap_or_default()
        .to_string_lossy()
        .to_ascii_lowercase();
    v.contains("utf-8") || v.contains("utf8")
}

/// One frame: the header (counts per health, waiting agents, the
/// directory when it fits, the time at the right), a blank line, then the
/// table fitted to `rows` x `cols`. Lines end in "erase to the end of the
/// line" and the frame in "erase below", so a frame replaces the last
/// without clearing the screen first (no flash).
pub fn frame(
    l: &Listing,
    dir_present: bool,
    color: bool,
    ellipsis: char,
    (rows, cols): (usize, usize),
) -> String {
    let paint = |sgr: &str, text: String| match color {
        true => format!("\x1b[{sgr}m{text}\x1b[0m"),
        false => text,
    };
    let n = l.rows.len();
    let mut counts = vec![format!("{n} agent{}", if n == 1 { "" } else { "s" })];
    for (h, sgr) in [
        (Health::Healthy, "32"),
        (Health::Stale, "33"),
        (Health::Dead, "31"),
        (Health::Exited, "2"),
        (Health::Invalid, "31"),
        (Health::Missing, "31"),
    ] {
        let n = l.rows.iter().filter(|r| r.health == h).count();
        if n > 0 {
            counts.push(paint(sgr, format!("{n} {}", h.word())));
        }
    }
    let waiting = l
        .rows
        .iter()
        .filter(|r| {
            r.heartbeat
                .as_ref()
                .is_some_and(|j| j.beat.status == "waiting")
        })
        .count();
    if waiting > 0 {
        counts.push(paint("33", format!("{waiting} waiting")));
    }
    let left = counts.join("  ");
    let t = proc::local_time(l.now);
    let time = format!("{:02}:{:02}:{:02}", t.hour, t.minute, t.second);
    let dir = format::escape_field(&l.dir.to_string_lossy());
    let left_w = format::visible_width(&left);
    let dir_w = dir.chars().count();
    let mut header = left;
    let room = cols.saturating_sub(left_w + time.len());
    if room >= dir_w + 4 {
        let pad = room - dir_w - 2;
        header.push_str(&" ".repeat(2));
        header.push_str(&dir);
        header.push_str(&" ".repeat(pad));
    } else if room >= 2 {
        header.push_str(&" ".repeat(room));
    } else {
        header.push_str("  ");
    }
    header.push_str(&time);

    let mut lines = vec![format::cut_visible(&header, cols), String::new()];
    if l.rows.is_empty() {
        let what = match dir_present {
            true => format!("no agents in {dir}"),
            false => format!("{dir} does not exist yet: waiting for it"),
        };
        lines.push(format::cut_visible(&what, cols));
    } else {
        let fit = Fit {
            width: cols,
            ellipsis,
        };
        let table = format::table_fitted(l, color, Some(fit));
        let mut body: Vec<&str> = table.lines().collect();
        let room = rows.saturating_sub(lines.len()).max(2);
        if body.len() > room {
            let more = body.len() - (room - 1);
            body.truncate(room - 1);
            lines.extend(body.iter().map(|s| s.to_string()));
            lines.push(format::cut_visible(
                &format!("... and {more} more (a taller terminal shows them)"),
                cols,
            ));
        } else {
            lines.extend(body.iter().map(|s| s.to_string()));
        }
    }
    lines.truncate(rows.max(1));
    let mut out = String::from("\x1b[H");
    let last = lines.len() - 1;
    for (i, line) in lines.iter().enumerate() {
        out.push_str(line);
        // Not after a full line: the cursor stays on its last column, and
        // erasing from there would take that character.
        if format::visible_width(line) < cols {
            out.push_str("\x1b[K");
        }
        if i < last {
            out.push_str("\r\n");
        }
    }
    // Erase below, from the next row: from the cursor it would take the
    // last character of a full last line. A frame as tall as the screen
    // has nothing below it (and a line feed there would scroll).
    if lines.len() < rows {
        out.push_str("\r\n\x1b[J");
    }
    out
}

pub fn run(s: Settings, color: Option<bool>, env: crate::config::Env) -> Result<u8> {
    // SAFETY: isatty only inspects the descriptor.
    if unsafe { libc::isatty(1) } != 1 {
        return Err(Error::usage(
            "--watch: stdout is not a terminal; for a stream of changes use --follow",
        ));
    }
    if env("TERM").is_some_and(|t| t == "dumb") {
        return Err(Error::usage(
            "--watch: TERM is dumb, a terminal that cannot show the view; use --follow",
        ));
    }
    let color = color.unwrap_or_else(|| env("NO_COLOR").is_none());
    let ellipsis = if utf8_locale(env) { '…' } else { '~' };
    let (poller, sig) = Poller::with_signals(&[libc::SIGTERM, libc::SIGINT, libc::SIGWINCH])?;
    // SAFETY: as above.
    let keys = unsafe { libc::isatty(0) } == 1;
    let mut fleet = Fleet::open(s, &poller)?;
    let mut screen = Screen::enter(keys)?;
    let mut keys = keys && poller.add(0, TOKEN_STDIN, libc::EPOLLIN as u32).is_ok();
    let mut ready: Vec<Ready> = Vec::new();
    let mut second = proc::now_secs();
    let mut redraw = true;
    loop {
        let now = proc::now_secs();
        if !fleet.changes(&poller, now)?.is_empty() || redraw {
            redraw = false;
            let f = frame(
                &fleet.listing(now),
                fleet.dir_present(),
                color,
                ellipsis,
                size(),
            );
            if !cli::print_open(f.as_bytes())? {
                return Ok(0);
            }
        }
        let due = fleet
            .next_deadline()
            .map(|t| t.saturating_sub(proc::monotonic()));
        poller.wait(&mut ready, poller::timeout_ms(due))?;
        for r in &ready {
            match r.token {
                poller::TOKEN_SIGNALS => {
                    for s in poller::read_signals(&sig) {
                        match s {
                            libc::SIGWINCH => redraw = true,
                            _ => return Ok(0),
                        }
                    }
                }
                TOKEN_STDIN => {
                    let mut buf = [0u8; 64];
                    // SAFETY: a buffer of that length.
                    let n = unsafe { libc::read(0, buf.as_mut_ptr().cast(), buf.len()) };
                    if n <= 0 {
                        // The terminal hung up or stdin ended: no more keys.
                        if keys {
                            poller.remove(0);
                            keys = false;
                        }
                        continue;
                    }
                    for &k in &buf[..n as usize] {
                        match k {
                            b'q' | b'Q' | 0x03 => return Ok(0),
                            0x1a => {
                                screen.suspend()?;
                                redraw = true;
                            }
                            b'\x0c' => redraw = true, // Ctrl-L
                            _ => {}
                        }
                    }
                }
                t if fleet.owns(t) => fleet.ready(t, &poller)?,
                _ => {}
            }
        }
        let now = proc::now_secs();
        if now != second {
            second = now;
            redraw = true;
            fleet.tick();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::beat::Beat;
    use crate::listing::{Judged, Row, Src};

    fn fleet(n: usize) -> Listing {
        let rows = (0..n)
            .map(|i| Row {
                name: format!("w-{i}"),
                health: if i == 0 {
                    Health::Dead
                } else {
                    Health::Healthy
                },
                native: false,
                src: Src::Sidecar,
                error: None,
                heartbeat: Some(Judged {
                    beat: Beat {
                        ts: 0,
                        pid: 1,
                        status: if i == 1 { "waiting" } else { "ok" }.into(),
                        model: None,
                        host: None,
                        pstart: None,
                        since: None,
                        pidns: None,
                    },
                    ns_pid: None,
                    age: 0,
                    status_age: None,
                    alive: Some(i != 0),
                    healthy: i != 0,
                }),
            })
            .collect();
        Listing {
            dir: "/d".into(),
            now: 0,
            interval: 10,
            stale_after: 30,
            rows,
        }
    }

    /// The frame's lines as they show, the escape codes taken out.
    fn shown(frame: &str) -> Vec<String> {
        let body = frame.strip_prefix("\x1b[H").unwrap();
        body.split("\r\n")
            .map(|l| l.replace("\x1b[K", "").replace("\x1b[J", ""))
            .collect()
    }

    #[test]
    fn a_frame_has_a_header_and_fits_the_terminal() {
        let f = frame(&fleet(3), true, false, '~', (24, 80));
        let lines = shown(&f);
        assert!(
            lines[0].starts_with("3 agents  2 healthy  1 dead  1 waiting  /d ")
                && lines[0].chars().count() == 80,
            "{lines:?}"
        );
        assert!(lines[0].ends_with(&format!(
            "{:02}:{:02}:00",
            proc::local_time(0).hour,
            proc::local_time(0).minute
        )));
        assert_eq!(lines[1], "");
        assert!(lines[2].starts_with("NAME "));
        assert_eq!(lines.len(), 3 + 3 + 1, "{lines:?}"); // and the erase below
                                                         // Too many rows for the terminal: 6 of 30 show, the last line says
                                                         // how many more there are.
        let lines = shown(&frame(&fleet(30), true, false, '~', (10, 80)));
        assert_eq!(lines.len(), 10, "{lines:?}");
        assert_eq!(lines[9], "... and 24 more (a taller terminal shows them)");
        // Nothing to show: says why.
        let l = fleet(0);
        assert_eq!(
            shown(&frame(&l, true, false, '~', (24, 80)))[2],
            "no agents in /d"
        );
        assert_eq!(
            shown(&frame(&l, false, false, '~', (24, 80)))[2],
            "/d does not exist yet: waiting for it"
        );
        // Colour only when asked.
        assert!(!frame(&fleet(3), true, false, '~', (24, 80)).contains("\x1b[3"));
        assert!(frame(&fleet(3), true, true, '~', (24, 80)).contains("\x1b[31m1 dead\x1b[0m"));
    }
}
