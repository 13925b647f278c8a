//! Memory mappings the program removes itself (`munmap`, linker-wrapped):
//! their shadow is emptied, as a freed block's is, so a mapping placed at
//! the same address later starts clean. Without this, accesses to the new
//! mapping would be checked against the old one's, and two threads that
//! never shared memory could be reported as racing.
//!
//! The runtime's own mappings (shadow, tables) are unmapped while its
//! thread is busy, and pass straight through.

use std::ffi::{c_int, c_void};

use super::{forget_sync, shadow, while_busy};

extern "C" {
    fn __real_munmap(addr: *mut c_void, len: usize) -> c_int;
}

/// # Safety
/// Same contract as `munmap`.
#[no_mangle]
pub unsafe extern "C" fn __wrap_munmap(addr: *mut c_void, len: usize) -> c_int {
    // Before the range can be mapped again by anyone. (Should the call
    // fail, the range's earlier accesses are forgotten: misses only.)
    if super::ENABLED.load(std::sync::atomic::Ordering::Relaxed) {
        while_busy(|| {
            shadow::clear(addr as usize, len, |granule, a, b| {
                if shadow::any_atomic(a, b) {
                    forget_sync(granule);
                }
            })
        });
    }
    // SAFETY: forwarding the caller's arguments unchanged.
    unsafe { __real_munmap(addr, len) }
}
