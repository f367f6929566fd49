//! `hb-read --format tmux`: one short line for tmux's status bar.

use super::escape::tmux_text;
use super::human_age;
use crate::listing::{Health, Listing, Row};

/// `hb-read --format tmux`: one short line for tmux's `status-right`, in
/// tmux's own styles: the number of agents waiting for the operator with
/// the longest-waiting one and its FOR, then the other counts that are not
/// zero (dead, stale, invalid, missing, busy, the other statuses of
/// healthy agents by word, exited). Nothing at all for an empty listing,
/// so the status line shows nothing where there is no fleet.
///
/// What needs the operator is a badge, its own background with its text
/// (waiting black on yellow, dead white on red, ...), so it shows on any
/// status bar, tmux's default green one included; the calm counts are
/// plain text in the bar's own colours (busy bold, exited dim).
pub fn tmux(l: &Listing) -> String {
    if l.rows.is_empty() {
        return String::new();
    }
    let mut waiting: Vec<&Row> = Vec::new();
    let mut by_status: Vec<(&str, usize)> = Vec::new();
    for r in &l.rows {
        match (&r.heartbeat, r.health) {
            (Some(j), Health::Healthy) if j.beat.status == "waiting" => waiting.push(r),
            (Some(j), Health::Healthy) => {
                match by_status.iter_mut().find(|(s, _)| *s == j.beat.status) {
                    Some((_, n)) => *n += 1,
                    None => by_status.push((&j.beat.status, 1)),
                }
            }
            _ => {}
        }
    }
    // busy first, then the others by word.
    by_status.sort_by_key(|&(s, _)| (s != "busy", s));
    let count = |h: Health| l.rows.iter().filter(|r| r.health == h).count();
    let mut parts: Vec<String> = Vec::new();
    // The longest wait: the largest FOR, the first by name among equals.
    let status_age = |r: &Row| r.heartbeat.as_ref().and_then(|j| j.status_age);
    if let Some(first) =
        waiting
            .iter()
            .copied()
            .reduce(|a, b| if status_age(b) > status_age(a) { b } else { a })
    {
        let since = status_age(first).map(|a| format!(" {}", human_age(a)));
        parts.push(format!(
            "#[fg=black,bg=yellow,bold] {} waiting {}{} #[default]",
            waiting.len(),
            tmux_text(&first.name),
            since.unwrap_or_default()
        ));
    }
    for (h, style) in [
        (Health::Dead, "fg=white,bg=red,bold"),
        (Health::Stale, "fg=black,bg=yellow"),
        (Health::Invalid, "fg=white,bg=red"),
        (Health::Missing, "fg=white,bg=red"),
    ] {
        match count(h) {
            0 => {}
            n => parts.push(format!("#[{style}] {n} {} #[default]", h.word())),
        }
    }
    for (status, n) in by_status {
        let s = tmux_text(status);
        parts.push(match status {
            "busy" => format!("#[bold]{n} {s}#[default]"),
            _ => format!("{n} {s}"),
        });
    }
    match count(Health::Exited) {
        0 => {}
        n => parts.push(format!("#[dim]{n} exited#[default]")),
    }
    let mut out = parts.join(" ");
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::fixtures::{fleet, row};
    use crate::listing::Health;

    #[test]
    fn the_tmux_line_counts_what_matters_and_no_value_is_a_format() {
        assert_eq!(tmux(&fleet(vec![])), "");
        let mut long = row("w-long", Health::Healthy, Some(("waiting", None)));
        long.heartbeat.as_mut().unwrap().status_age = Some(700);
        let mut odd = row("w#(touch x)", Health::Healthy, Some(("waiting", None)));
        odd.heartbeat.as_mut().unwrap().status_age = Some(800);
        let l = fleet(vec![
            row("w-a", Health::Healthy, Some(("busy", None))),
            row("w-b", Health::Healthy, Some(("waiting", None))),
            long,
            row("w-c", Health::Healthy, Some(("ok", None))),
            row("w-d", Health::Healthy, Some(("starting", None))),
            row("w-e", Health::Dead, Some(("busy", None))),
            row("w-f", Health::Stale, Some(("ok", None))),
            row("w-g", Health::Exited, Some(("exited", None))),
            row("w-h", Health::Invalid, None),
        ]);
        assert_eq!(
            tmux(&l),
            "#[fg=black,bg=yellow,bold] 2 waiting w-long 11m40s #[default] \
             #[fg=white,bg=red,bold] 1 dead #[default] \
             #[fg=black,bg=yellow] 1 stale #[default] \
             #[fg=white,bg=red] 1 invalid #[default] \
             #[bold]1 busy#[default] 1 ok 1 starting #[dim]1 exited#[default]\n"
        );
        // A `#` anywhere is doubled: tmux shows it, never runs it.
        let mut l = fleet(vec![odd]);
        l.rows[0].name = "w#(touch x)\n".into();
        assert_eq!(
            tmux(&l),
            "#[fg=black,bg=yellow,bold] 1 waiting w##(touch x)\\n 13m20s #[default]\n"
        );
    }
}
