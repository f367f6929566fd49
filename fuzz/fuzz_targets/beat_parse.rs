//! The beat parser on arbitrary bytes: never a panic, a rejection is one
//! line, and an accepted beat a writer could emit re-encodes to itself.
#![no_main]

use hb::beat::Beat;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match Beat::parse(data) {
        Ok(b) => {
            let clean = |s: &Option<String>| {
                s.as_deref()
                    .map_or(true, |v| !v.chars().any(char::is_control))
            };
            if clean(&b.model) && clean(&b.host) {
                assert_eq!(Beat::parse(b.encode().as_bytes()), Ok(b));
            }
        }
        Err(why) => assert!(!why.is_empty() && !why.contains('\n')),
    }
});
