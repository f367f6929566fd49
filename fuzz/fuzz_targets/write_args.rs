//! `hb-write`'s argument parsing and validation (no file is touched: only
//! `parse_args` and `validate` run): never a panic, errors are one line.
#![no_main]

#[path = "args.rs"]
mod args;

use hb::cli::Parsed;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match hb::write::parse_args(args::argv(data)) {
        Ok(Parsed::Run(a)) => {
            if let Err(e) = hb::write::validate(a, &args::no_env) {
                args::one_line(&e);
                assert!(matches!(e.exit_code(), 2 | 3));
            }
        }
        Ok(_) => {}
        Err(e) => {
            args::one_line(&e);
            assert_eq!(e.exit_code(), 2);
        }
    }
});
