//! `hb-read`'s argument parsing: never a panic, errors are one line.
#![no_main]

#[path = "args.rs"]
mod args;

use hb::cli::Parsed;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match hb::read::parse_args(args::argv(data)) {
        Ok(Parsed::Run(a)) => {
            for n in &a.names {
                assert!(hb::beat::check_name(n).is_ok(), "{n:?}");
            }
        }
        Ok(_) => {}
        Err(e) => {
            args::one_line(&e);
            assert_eq!(e.exit_code(), 2);
        }
    }
});
