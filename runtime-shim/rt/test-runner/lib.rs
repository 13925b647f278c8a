//! Deep mode's test runner: libtest's own, with each test wrapped so that a
//! race found during it fails it.
//!
//! In annotated mode the `#[test]` function's own frame fails the test when
//! it is left (`#[race_check]` put code there). In deep mode nothing is
//! added to the user's source, and the compiler's hooks cannot unwind (LLVM
//! declares them `nounwind`), so the test crate is compiled with this crate
//! as its test runner (`-Zcrate-attr=test_runner(racecheck_test_runner::run)`,
//! under the bootstrap switch deep mode already uses): each test becomes a
//! closure that runs it, then asks the runtime whether a race was found
//! during it, and returns an error if so, which libtest reports as the
//! test's failure.
//!
//! The CLI compiles this one file with the toolchain's rustc, once per
//! toolchain, beside the runtime. The runtime is linked into every program
//! racecheck builds; this crate only names its entry point.
#![feature(test)]

extern crate test;

use test::{TestDescAndFn, TestFn};

extern "Rust" {
    /// In the runtime (`racecheck-rt`): whether a race was found during the
    /// test this thread runs and has not failed it yet.
    fn __racecheck_test_end() -> bool;
}

/// What a racy test's failure says (its reports are above, on stderr).
const FAILURE: &str = "racecheck: a data race was found during this test (the report is above)";

/// The test runner: as `test::test_main_static`, with each test wrapped.
pub fn run(tests: &[&TestDescAndFn]) {
    let args: Vec<String> = std::env::args().collect();
    let owned = tests
        .iter()
        .map(|t| TestDescAndFn {
            desc: t.desc.clone(),
            testfn: match t.testfn {
                TestFn::StaticTestFn(f) => TestFn::DynTestFn(Box::new(move || {
                    let result = f();
                    // SAFETY: a plain function of the runtime linked into
                    // every program racecheck builds, with this signature
                    // (`abi::TestEndFn`).
                    if unsafe { __racecheck_test_end() } {
                        return Err(FAILURE.to_string());
                    }
                    result
                })),
                TestFn::StaticBenchFn(f) => TestFn::StaticBenchFn(f),
                _ => panic!("racecheck's test runner was given a test that is not static"),
            },
        })
        .collect();
    test::test_main(&args, owned, None);
}
