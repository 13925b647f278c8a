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
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/fail/*.rs");
    t.pass("tests/ui/pass/*.rs");
}
