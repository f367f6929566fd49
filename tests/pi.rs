//! The Pi extension (`integrations/pi/`): type-checked with tsc against the
//! real `@earendil-works/pi-coding-agent` (0.79.9 and 1.6.0) from the npm registry, and its
//! handlers driven in a node test that checks the beats the real hb-write
//! leaves. Skips with a note where node, npm or the registry is missing
//! (`tests/common/npm.rs`).

mod common;

use common::npm::{prepare, run, text};
use common::*;
use std::process::Command;
use std::time::Duration;

#[test]
fn the_pi_extension_type_checks_and_beats() {
    let Some(pi) = prepare("pi") else { return };

    // The extension against the real ExtensionAPI; its output is what the
    // node test loads.
    let o = pi.tsc(&["-p", "tsconfig.json"]);
    assert!(
        o.status.success(),
        "tsc on mosaic-heartbeat.ts:\n{}",
        text(&o)
    );

    // And against the latest Pi, whose types declare more events.
    let o = pi.tsc(&["-p", "tsconfig.latest.json"]);
    assert!(
        o.status.success(),
        "tsc on mosaic-heartbeat.ts against the latest Pi:\n{}",
        text(&o)
    );

    // And the check has teeth: a handler that misreads the API fails it.
    let o = pi.tsc(&[
        "--noEmit",
        "--strict",
        "--skipLibCheck",
        "--module",
        "NodeNext",
        "--moduleResolution",
        "NodeNext",
        "--types",
        "node",
        "test/negative.ts",
    ]);
    let said = text(&o);
    assert!(
        !o.status.success() && said.contains("TS2322"),
        "tsc accepted test/negative.ts: the API is not being checked\n{said}"
    );

    let o = run(
        Command::new("node")
            .args(["--test", "test/"])
            .env("HB_WRITE", WRITE)
            .env_remove("MOSAIC_AGENT_NAME")
            .env_remove("MOSAIC_HEARTBEAT_DIR")
            .env_remove("MOSAIC_HEARTBEAT_INTERVAL")
            .current_dir(&pi.work),
        Duration::from_secs(60),
    );
    assert!(o.status.success(), "node --test:\n{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("# pass 6") && out.contains("# fail 0"),
        "{out}"
    );
}
