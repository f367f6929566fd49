//! What a follower reports (contract v3, `hb-read --follow`): an agent
//! appeared, changed or was removed, with its row as `hb-read --json`
//! lists it and what it was before. Only the status, health, model and
//! pid count: a beat rewritten with a new `ts` alone is no change, nor is
//! `src` moving between native and carried.

use crate::listing::{Health, Row};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    Appeared,
    Changed,
    Removed,
}

impl Event {
    pub fn word(self) -> &'static str {
        match self {
            Event::Appeared => "appeared",
            Event::Changed => "changed",
            Event::Removed => "removed",
        }
    }
}

/// The part of a row that a change is made of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State {
    pub status: Option<String>,
    pub health: Health,
    pub model: Option<String>,
    pub pid: Option<u32>,
}

impl State {
    pub fn of(row: &Row) -> State {
        let beat = row.heartbeat.as_ref().map(|j| &j.beat);
        State {
            status: beat.map(|b| b.status.clone()),
            health: row.health,
            model: beat.and_then(|b| b.model.clone()),
            pid: beat.map(|b| b.pid),
        }
    }

    /// Is there a beat file at all? A NAME asked for that has none is
    /// listed as missing; so is an agent once removed.
    pub fn present(&self) -> bool {
        self.health != Health::Missing
    }

    /// The event that takes an agent from `was` (None: not reported yet)
    /// to `self`, if any: reported for the first time, or present again, is
    /// `appeared`; gone is `removed`; present with another state is
    /// `changed`.
    pub fn event_from(&self, was: Option<&State>) -> Option<Event> {
        match was {
            None => Some(Event::Appeared),
            Some(w) if !w.present() && self.present() => Some(Event::Appeared),
            Some(w) if w.present() && !self.present() => Some(Event::Removed),
            Some(w) if w.present() && w != self => Some(Event::Changed),
            Some(_) => None,
        }
    }
}

/// One line of the stream.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub event: Event,
    /// Unix seconds when the follower saw it.
    pub time: i64,
    /// The agent now, as `hb-read --json NAME` lists it (health `missing`
    /// once removed).
    pub row: Row,
    /// Before the change; None for `appeared`.
    pub was: Option<State>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn st(status: Option<&str>, health: Health) -> State {
        State {
            status: status.map(Into::into),
            health,
            model: None,
            pid: status.map(|_| 1),
        }
    }

    #[test]
    fn events_follow_presence_and_state() {
        let busy = st(Some("busy"), Health::Healthy);
        let wait = st(Some("waiting"), Health::Healthy);
        let gone = st(None, Health::Missing);
        let bad = st(None, Health::Invalid);
        assert_eq!(busy.event_from(None), Some(Event::Appeared));
        assert_eq!(gone.event_from(None), Some(Event::Appeared));
        assert_eq!(busy.event_from(Some(&busy)), None);
        assert_eq!(wait.event_from(Some(&busy)), Some(Event::Changed));
        assert_eq!(bad.event_from(Some(&busy)), Some(Event::Changed));
        assert_eq!(gone.event_from(Some(&busy)), Some(Event::Removed));
        assert_eq!(busy.event_from(Some(&gone)), Some(Event::Appeared));
        assert_eq!(gone.event_from(Some(&gone)), None);
        let mut other_model = busy.clone();
        other_model.model = Some("m".into());
        assert_eq!(other_model.event_from(Some(&busy)), Some(Event::Changed));
    }
}
