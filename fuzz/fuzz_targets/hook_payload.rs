//! Hook payload decoding on arbitrary bytes: never a panic or a hang, a
//! refusal is one line as the hook prints it (the reason may quote a
//! payload's text; the error's Display escapes it), and a payload the
//! checker refuses is refused by every runtime's decoding too (they read
//! it the same way).
#![no_main]

use hb::error::Error;
use hb::hooks::payload::check_json;
use hb::hooks::{interpret, RUNTIMES};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let checked = check_json(data);
    if let Err(why) = &checked {
        assert!(!why.is_empty() && !why.contains('\n'));
    }
    let Ok(json) = std::str::from_utf8(data) else {
        return;
    };
    for rt in RUNTIMES {
        match interpret(rt, json) {
            Ok(e) => assert!(checked.is_ok(), "{json:?} decoded to {e:?}"),
            Err(why) => {
                let line = Error::Usage(why).to_string();
                assert!(!line.is_empty() && !line.contains('\n'), "{line:?}");
            }
        }
    }
});
