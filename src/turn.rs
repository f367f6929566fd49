//! What a line of a runtime's session record says about its turn: the
//! interface the lead fixed for issue 22 (a stand-in until branch `turn`'s
//! mechanism, which owns this file, is merged).

/// What one record line says about the turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Turn {
    /// The turn or dialog ended with no hook: `busy`/`waiting` -> `ok`.
    Ended,
    /// A dialog was answered and the model goes on: `waiting` -> `busy`.
    Resumed,
    /// A new turn or prompt began: cancels an earlier `Ended`/`Resumed`.
    Started,
    /// A dialog opened that no hook announced (titles only).
    Waiting,
}
