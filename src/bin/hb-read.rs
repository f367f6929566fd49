//! `hb-read`: see [`hb::read`]; this file only hands over the arguments and
//! the environment and turns the outcome into an exit status.

use std::process::ExitCode;

fn main() -> ExitCode {
    hb::cli::exit(
        "hb-read",
        hb::read::main(std::env::args_os().skip(1), &hb::config::process_env),
    )
}
