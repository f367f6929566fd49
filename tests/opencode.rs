//! The OpenCode plugin (`integrations/opencode/`): type-checked with tsc
//! against the real `@opencode-ai/plugin` 1.18.33 from the npm registry,
//! and driven in a node test by the hook calls and events real OpenCode
//! runs handed their plugins (`tests/fixtures/hooks/opencode/`), checking
//! the hb-write calls it makes, in order and one at a time, and the beats
//! the real hb-write leaves. Skips with a note where node, npm or the
//! registry is missing (`tests/common/npm.rs`).

mod common;

use std::path::Path;

#[test]
fn the_opencode_plugin_type_checks_and_beats() {
    let Some(oc) = common::npm::prepare("opencode") else {
        return;
    };
    // The plugin against the real Hooks, and a hook that misreads them.
    oc.assert_compiles("tsconfig.json");
    oc.assert_negative_fails();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hooks/opencode");
    oc.assert_node_tests(&[("HB_FIXTURES", &fixtures)], 14);
}
