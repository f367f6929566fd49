//! What a runtime's own record says about its turn (contract v4, "The end
//! of a turn"): the verdicts a runtime's `settle` gives. The mechanism
//! that acts on them comes with helper turn's branch; until then only the
//! type lives here.

/// What one line of a runtime's record says about the turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Turn {
    /// The turn or the dialog ended with no hook: `busy` or `waiting`
    /// becomes `ok`.
    Ended,
    /// A dialog was answered and the model goes on: `waiting` becomes
    /// `busy`.
    Resumed,
    /// A new turn or prompt began: cancels an earlier verdict of the same
    /// batch.
    Started,
    /// A dialog opened that no hook announced (terminal titles).
    Waiting,
}
