//! UI tests: errors of `#[race_check]` point at the user's code. Stable only
//! (compiler messages differ across channels).
//!
//! The same cases run twice, against the same expected output: as in an
//! ordinary build (the attribute is the identity), and instrumented as under
//! the racecheck CLI. So instrumentation changes no error a user sees (an
//! unsafe operation outside `unsafe` is reported at the user's code, with
//! the compiler's own message) and accepted items still compile.
#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/fail/*.rs");
    t.pass("tests/ui/pass/*.rs");
    drop(t);
    // SAFETY-free: this test binary runs one test; nothing else reads the env.
    unsafe { std::env::set_var("__RACECHECK_INSTRUMENT", "1") };
    // cargo does not know the proc macro reads that variable: without a
    // change it does see, it would reuse the first pass's builds, and the
    // instrumented pass would check nothing. trybuild ignores RUSTFLAGS and
    // passes its own flags as config, which this variable overrides: the
    // same flags, and one more.
    let flags = ["--cfg", "trybuild", "--verbose", "-A", "dead_code", "--cfg", "racecheck_ui_instrumented"];
    unsafe { std::env::set_var("CARGO_ENCODED_RUSTFLAGS", flags.join("\x1f")) };
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/fail/*.rs");
    t.pass("tests/ui/pass/*.rs");
}
