//! Every file hb keeps for an agent NAME in its heartbeat directory DIR,
//! named in one place: the writers, the readers and `--remove` take the
//! names from here, so the set is visible at a glance and `--remove`
//! cannot miss one.
//!
//! | file | who writes it | `hb-write --remove` |
//! | --- | --- | --- |
//! | `NAME.hb` | every writer: the beat | yes |
//! | `NAME.hb.native` | a native writer: the marker | yes |
//! | `.NAME.hb.PID.RAND` | a writer, for an instant: the beat's temporary | yes (swept) |
//! | `.NAME.lock` | every writer: the writer lock | yes |
//! | `.NAME.KIND` | a runtime's hook: a record of its own ([`RECORDS`]) | yes |
//! | `.NAME.record` | a hook: where the runtime's session record is ([`POINTER`]) | yes |
//! | `.NAME.settled` | the sidecar: a state settled from that record ([`SETTLED`]) | yes |
//! | `NAME.hook.log` | a silent runtime's hook: its problems | no: `stop-agent-session.sh --remove` |
//! | `NAME.sidecar.log` | the launcher: its sidecar's warnings | no: `stop-agent-session.sh --remove` |
//!
//! A file of DIR that no agent owns: `hook.log`, for a hook call that
//! names no usable NAME. Readers list only `*.hb` that is not a dot-file.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

/// What ends a beat's file name: `NAME.hb`.
pub const BEAT_SUFFIX: &str = ".hb";
/// What ends a marker's file name: `NAME.hb.native`.
pub const MARKER_SUFFIX: &str = ".hb.native";

/// Codex's main thread: the session its SessionStart hook recorded, so a
/// `notify` about another thread changes nothing (`src/hooks/codex.rs`).
pub const CODEX_SESSION: &str = "codex-session";

/// The end of a turn without a hook (contract v4, `src/turn.rs`): the
/// pointer a hook leaves to the runtime's session record, `.NAME.record`
/// (`RUNTIME` and `PATH`, a line each).
pub const POINTER: &str = "record";

/// The mark of a state the sidecar settled from that record,
/// `.NAME.settled`: readers say `settled` while it is newer than the marker.
pub const SETTLED: &str = "settled";

/// Every record kept beside the beat, `.NAME.KIND`: each runtime's table
/// names the ones its quirks write (`Runtime::records`, a test holds the
/// two in step), and the turn mechanism keeps two for every runtime.
pub const RECORDS: &[&str] = &[CODEX_SESSION, POINTER, SETTLED];

/// `NAME.hb`, the beat's file name (the atomic writer takes a name in DIR).
pub fn beat_file(name: &str) -> String {
    format!("{name}{BEAT_SUFFIX}")
}

/// `DIR/NAME.hb`: the beat.
pub fn beat(dir: &Path, name: &str) -> PathBuf {
    dir.join(beat_file(name))
}

/// `DIR/STEM.hb` for a stem that may not be UTF-8 (a reader's listing).
pub fn beat_of_stem(dir: &Path, stem: &[u8]) -> PathBuf {
    use std::os::unix::ffi::OsStrExt;
    let mut file = stem.to_vec();
    file.extend_from_slice(BEAT_SUFFIX.as_bytes());
    dir.join(OsStr::from_bytes(&file))
}

/// The stem of a directory entry that is listed as a beat: `STEM.hb`, not
/// a dot-file (temporaries, locks, records); None for anything else.
pub fn beat_stem(file: &[u8]) -> Option<&[u8]> {
    file.strip_suffix(BEAT_SUFFIX.as_bytes())
        .filter(|_| !file.starts_with(b"."))
}

/// `DIR/NAME.hb.native`: the marker, touched by every native write.
pub fn marker(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}{MARKER_SUFFIX}"))
}

/// The stem of a directory entry that is a marker: `STEM.hb.native`.
pub fn marker_stem(file: &[u8]) -> Option<&[u8]> {
    file.strip_suffix(MARKER_SUFFIX.as_bytes())
}

/// `DIR/.NAME.lock`: the writer lock (`src/lock.rs`).
pub fn lock(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!(".{name}.lock"))
}

/// The start of every temporary of FILE: `.FILE.`, then the writer's pid,
/// `.` and random letters (`src/atomic.rs`).
pub fn temp_prefix(file: &OsStr) -> std::ffi::OsString {
    let mut p = std::ffi::OsString::from(".");
    p.push(file);
    p.push(".");
    p
}

/// `DIR/.NAME.KIND`: a runtime's record (one of [`RECORDS`]).
pub fn record(dir: &Path, name: &str, kind: &str) -> PathBuf {
    dir.join(format!(".{name}.{kind}"))
}

/// Every runtime record NAME may have, for `--remove`.
pub fn records(dir: &Path, name: &str) -> Vec<PathBuf> {
    RECORDS.iter().map(|kind| record(dir, name, kind)).collect()
}

/// `DIR/NAME.hook.log`, or `DIR/hook.log` for a call that names no NAME.
pub fn hook_log(dir: &Path, name: Option<&str>) -> PathBuf {
    match name {
        Some(n) => dir.join(format!("{n}.hook.log")),
        None => dir.join("hook.log"),
    }
}

/// `DIR/NAME.sidecar.log`: where the launcher sends its sidecar's
/// warnings unless `--log` says otherwise (`scripts/start-agent-session.sh`
/// spells it in bash; `tests/launcher.rs` checks the whole set).
pub fn sidecar_log(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.sidecar.log"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_names_of_an_agents_files() {
        let d = Path::new("/d");
        assert_eq!(beat(d, "w-a"), Path::new("/d/w-a.hb"));
        assert_eq!(beat_of_stem(d, b"w-a"), Path::new("/d/w-a.hb"));
        assert_eq!(marker(d, "w-a"), Path::new("/d/w-a.hb.native"));
        assert_eq!(lock(d, "w-a"), Path::new("/d/.w-a.lock"));
        assert_eq!(temp_prefix(OsStr::new("w-a.hb")), ".w-a.hb.");
        assert_eq!(
            records(d, "w-a"),
            [
                Path::new("/d/.w-a.codex-session"),
                Path::new("/d/.w-a.record"),
                Path::new("/d/.w-a.settled")
            ]
        );
        assert_eq!(hook_log(d, Some("w-a")), Path::new("/d/w-a.hook.log"));
        assert_eq!(hook_log(d, None), Path::new("/d/hook.log"));
        assert_eq!(sidecar_log(d, "w-a"), Path::new("/d/w-a.sidecar.log"));
        assert_eq!(beat_stem(b"w-a.hb"), Some(&b"w-a"[..]));
        assert_eq!(beat_stem(b".w-a.hb"), None);
        assert_eq!(beat_stem(b"w-a.hb.native"), None);
        assert_eq!(marker_stem(b"w-a.hb.native"), Some(&b"w-a"[..]));
    }

    #[test]
    fn every_record_a_runtime_keeps_is_named_here() {
        for r in crate::hooks::RUNTIMES {
            for kind in r.records {
                assert!(RECORDS.contains(kind), "{}: .NAME.{kind}", r.name);
            }
        }
    }
}
