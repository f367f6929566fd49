//! The aligned table for people (`hb-read`), in colour on a terminal, and
//! fitted to a terminal's width for `--watch`.

use super::escape::escape_field;
use super::human_age;
use crate::listing::Listing;
use std::fmt::Write as _;

/// The SGR colour of a table cell, by its column's header: the HEALTH cell
/// by its word, the STATUS cell when it is `waiting` (blocked on the
/// operator). Keyed by header, not position, so columns can move.
fn cell_color(header: &str, cell: &str) -> Option<&'static str> {
    match (header, cell) {
        ("HEALTH", "healthy") => Some("32"),
        ("HEALTH", "stale") | ("STATUS", "waiting") => Some("33"),
        ("HEALTH", "dead" | "invalid" | "missing") => Some("31"),
        ("HEALTH", "exited") => Some("2"),
        _ => None,
    }
}

/// `NAME PID STATUS FOR MODEL AGE HEALTH SRC`, aligned: FOR is how long
/// the status has held. An invalid row carries its reason after the last
/// column. With `color`, some cells are wrapped in SGR codes
/// ([`cell_color`]); widths count only the visible text.
pub fn table(l: &Listing, color: bool) -> String {
    table_fitted(l, color, None)
}

/// How a table fits a terminal: its width in columns, and the character
/// that ends a cut model (`…` where the terminal speaks UTF-8).
#[derive(Debug, Clone, Copy)]
pub struct Fit {
    pub width: usize,
    pub ellipsis: char,
}

/// [`table`], fitted to `fit` when given: a MODEL column that would make a
/// row too wide is narrowed (to 8 columns at least) and its long models
/// cut, then every line is cut at the width, so nothing wraps.
pub fn table_fitted(l: &Listing, color: bool, fit: Option<Fit>) -> String {
    const HEADER: [&str; 8] = [
        "NAME", "PID", "STATUS", "FOR", "MODEL", "AGE", "HEALTH", "SRC",
    ];
    const MODEL: usize = 4;
    let mut cells: Vec<[String; 8]> = vec![HEADER.map(String::from)];
    let mut notes: Vec<Option<String>> = vec![None];
    for r in &l.rows {
        let dash = || "-".to_string();
        let src = match r.heartbeat {
            Some(_) => r.src.word().to_string(),
            None => dash(),
        };
        let (pid, status, since, model, age) = match &r.heartbeat {
            Some(j) => (
                super::shown_pid(j),
                escape_field(&j.beat.status),
                j.status_age.map_or_else(dash, human_age),
                j.beat.model.as_deref().map_or_else(dash, escape_field),
                human_age(j.age),
            ),
            None => (dash(), dash(), dash(), dash(), dash()),
        };
        cells.push([
            escape_field(&r.name),
            pid,
            status,
            since,
            model,
            age,
            r.health.word().to_string(),
            src,
        ]);
        notes.push(r.error.as_deref().map(escape_field));
    }
    let mut widths = [0usize; 8];
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    if let Some(fit) = fit {
        let total: usize = widths.iter().map(|w| w + 2).sum::<usize>() - 2;
        if total > fit.width {
            let model = widths[MODEL]
                .saturating_sub(total - fit.width)
                .max(8)
                .min(widths[MODEL]);
            widths[MODEL] = model;
            for row in cells.iter_mut() {
                if row[MODEL].chars().count() > model {
                    let cut: String = row[MODEL].chars().take(model - 1).collect();
                    row[MODEL] = format!("{cut}{}", fit.ellipsis);
                }
            }
        }
    }
    let last = HEADER.len() - 1;
    let mut out = String::new();
    for (row, note) in cells.iter().zip(&notes) {
        let mut line = String::new();
        for (i, (c, w)) in row.iter().zip(widths).enumerate() {
            // The header row's own words never match a colour.
            match cell_color(&cells[0][i], c) {
                Some(sgr) if color => _ = write!(line, "\x1b[{sgr}m{c}\x1b[0m"),
                _ => line.push_str(c),
            }
            if i < last {
                line.extend(std::iter::repeat(' ').take(w - c.chars().count() + 2));
            }
        }
        if let Some(n) = note {
            let pad = widths[last] - row[last].chars().count() + 2;
            line.extend(std::iter::repeat(' ').take(pad));
            line.push_str(n);
        }
        match fit {
            Some(f) => out.push_str(&cut_visible(line.trim_end(), f.width)),
            None => out.push_str(line.trim_end()),
        }
        out.push('\n');
    }
    out
}

/// How many characters `s` shows: SGR codes are not counted.
pub fn visible_width(s: &str) -> usize {
    let mut in_sgr = false;
    s.chars()
        .filter(|&c| {
            let shown = !in_sgr && c != '\x1b';
            in_sgr = match c {
                '\x1b' => true,
                'm' => false,
                _ => in_sgr,
            };
            shown
        })
        .count()
}

/// The start of `line` that shows at most `width` characters, SGR codes
/// not counted; a cut inside a coloured cell still resets the colour.
pub fn cut_visible(line: &str, width: usize) -> String {
    let (mut shown, mut in_sgr, mut coloured) = (0, false, false);
    for (i, c) in line.char_indices() {
        if in_sgr {
            in_sgr = c != 'm';
        } else if c == '\x1b' {
            in_sgr = true;
            coloured = !line[i..].starts_with("\x1b[0m");
        } else if shown == width {
            let reset = if coloured { "\x1b[0m" } else { "" };
            return format!("{}{reset}", &line[..i]);
        } else {
            shown += 1;
        }
    }
    line.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::fixtures::{fleet, row};
    use crate::listing::Health;

    #[test]
    fn a_fitted_table_cuts_the_model_then_the_line() {
        let long = "m".repeat(60);
        let l = fleet(vec![row(
            "w-1",
            Health::Healthy,
            Some(("busy", Some(long.as_str()))),
        )]);
        let fit = |width| Fit {
            width,
            ellipsis: '…',
        };
        let plain = table(&l, false);
        assert_eq!(table_fitted(&l, false, Some(fit(200))), plain);
        let t = table_fitted(&l, true, Some(fit(60)));
        for line in t.lines() {
            assert!(visible_width(line) <= 60, "{line:?}");
        }
        let row = t.lines().nth(1).unwrap();
        // The model gave up just enough: every other column is whole.
        assert!(row.contains(&format!(" {}… ", "m".repeat(9))), "{row:?}");
        assert!(
            row.ends_with(" sidecar") && visible_width(row) == 60,
            "{row:?}"
        );
        // Narrower than the model can give: 8 columns, then the line is cut.
        let t = table_fitted(&l, false, Some(fit(40)));
        let row = t.lines().nth(1).unwrap();
        assert!(
            row.contains(" mmmmmmm… ") && row.chars().count() == 40,
            "{row:?}"
        );
        // Cut inside a coloured cell: the colour still ends.
        assert_eq!(
            cut_visible("ab\x1b[32mcdef\x1b[0mg", 4),
            "ab\x1b[32mcd\x1b[0m"
        );
        assert_eq!(
            cut_visible("ab\x1b[32mcd\x1b[0mg", 4),
            "ab\x1b[32mcd\x1b[0m"
        );
        assert_eq!(cut_visible("abc", 3), "abc");
        assert_eq!(visible_width("a\x1b[31mbé\x1b[0m"), 3);
    }
}
