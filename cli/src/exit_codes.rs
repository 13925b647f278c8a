//! Exit statuses of `racecheck`, in one place (also listed in the README).

/// Everything built and ran, no race, no failure.
pub const OK: i32 = 0;
/// Tests failed, without races. (`racecheck run` passes the program's own
/// non-zero status through instead.)
pub const TESTS_FAILED: i32 = 1;
/// The command line or `RACECHECK_OPTIONS` is wrong.
pub const USAGE: i32 = 2;
/// cargo failed to build the crate (its errors are shown above).
pub const BUILD_FAILED: i32 = 3;
/// A test binary or the program was killed by a signal.
pub const CRASHED: i32 = 4;
/// racecheck could not set itself up (no cargo or rustc, unreadable sysroot).
pub const SETUP_FAILED: i32 = 5;
/// Data races were found (as Go's race detector; `exitcode=` changes it).
pub const RACES_FOUND: i32 = 66;
