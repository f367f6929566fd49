//! The Pi extension (`integrations/pi/`): type-checked with tsc against the
//! real `@earendil-works/pi-coding-agent` (0.79.9 and 1.6.0) from the npm registry, and its
//! handlers driven in a node test that checks the beats the real hb-write
//! leaves. Skips with a note where node, npm or the registry is missing
//! (`tests/common/npm.rs`).

mod common;

#[test]
fn the_pi_extension_type_checks_and_beats() {
    let Some(pi) = common::npm::prepare("pi") else {
        return;
    };
    // The extension against the real ExtensionAPI, against the latest Pi
    // (whose types declare more events), and a handler that misreads it.
    pi.assert_compiles("tsconfig.json");
    pi.assert_compiles("tsconfig.latest.json");
    pi.assert_negative_fails();
    pi.assert_node_tests(&[], 6);
}
