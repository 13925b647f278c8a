//! Entry points for code expanded by `#[race_check]`: the hooks in the
//! `racecheck` crate's `__rt` call these when their inline checks cannot
//! decide. Signatures are checked against `abi`, which both crates compile.
//!
//! They run here, in the runtime, which is built without the TSan pass: in
//! instrumented code their own atomics would call back into the runtime.

use crate::abi::{self, FnInfo, KeySlot, Site};

/// An annotated frame is entered.
#[no_mangle]
pub fn __racecheck_enter(f: &'static FnInfo, caller_pc: usize, key: KeySlot) -> bool {
    super::enter(f, caller_pc, key)
}
const _: abi::EnterFn = __racecheck_enter;

/// The innermost annotated frame is left.
#[no_mangle]
pub fn __racecheck_exit(test_fn: bool) -> bool {
    super::exit(test_fn)
}
const _: abi::ExitFn = __racecheck_exit;

/// A plain access the inline check could not rule out.
#[no_mangle]
pub fn __racecheck_access(addr: usize, size: usize, write: bool, site: &'static Site, key: KeySlot) {
    super::access(addr, size, write, site, key)
}
const _: abi::AccessFn = __racecheck_access;

/// An async test's body completed.
#[no_mangle]
pub fn __racecheck_test_end() -> bool {
    super::test_end()
}
const _: abi::TestEndFn = __racecheck_test_end;
