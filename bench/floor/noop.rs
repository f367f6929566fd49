//! The exec floor: a static Rust program that does nothing, built with the
//! release profile the binaries ship with.
fn main() {}
