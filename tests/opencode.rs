//! The OpenCode plugin (`integrations/opencode/`): type-checked with tsc
//! against the real `@opencode-ai/plugin` 1.18.33 from the npm registry,
//! and driven in a node test by the hook calls and events real OpenCode
//! runs handed their plugins (`tests/fixtures/hooks/opencode/`), checking
//! the hb-write calls it makes, in order and one at a time, and the beats
//! the real hb-write leaves. Skips with a note where node, npm or the
//! registry is missing (`tests/common/npm.rs`).

mod common;

use common::npm::{prepare, run, text};
use common::*;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

#[test]
fn the_opencode_plugin_type_checks_and_beats() {
    let Some(oc) = prepare("opencode") else {
        return;
    };
    // The plugin against the real Hooks; its output is what the node test
    // loads.
    let o = oc.tsc(&["-p", "tsconfig.json"]);
    assert!(
        o.status.success(),
        "tsc on mosaic-heartbeat.ts:\n{}",
        text(&o)
    );

    // And the check has teeth: a hook that misreads the API fails it.
    let o = oc.tsc(&[
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

    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hooks/opencode");
    let o = run(
        Command::new("node")
            .args(["--test", "test/"])
            .env("HB_WRITE", WRITE)
            .env("HB_FIXTURES", &fixtures)
            .env_remove("MOSAIC_AGENT_NAME")
            .env_remove("MOSAIC_HB_WRITE")
            .env_remove("MOSAIC_HEARTBEAT_DIR")
            .env_remove("MOSAIC_HEARTBEAT_INTERVAL")
            .current_dir(&oc.work),
        Duration::from_secs(120),
    );
    assert!(o.status.success(), "node --test:\n{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("# pass 10") && out.contains("# fail 0"),
        "{out}"
    );
}
