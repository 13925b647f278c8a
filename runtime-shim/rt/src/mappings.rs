//! Memory mappings the program removes or moves itself (`munmap`, `mremap`,
//! linker-wrapped):
//! their shadow is emptied, as a freed block's is, so a mapping placed at
//! the same address later starts clean. Without this, accesses to the new
//! mapping would be checked against the old one's, and two threads that
//! never shared memory could be reported as racing.
//!
//! The runtime's own mappings (shadow, tables) are unmapped while its
//! thread is busy, and pass straight through.

use std::ffi::{c_int, c_void};

use super::alloc::clear_block;
use super::while_busy;

extern "C" {
    fn __real_munmap(addr: *mut c_void, len: usize) -> c_int;
}

/// # Safety
/// Same contract as `munmap`.
#[no_mangle]
pub unsafe extern "C" fn __wrap_munmap(addr: *mut c_void, len: usize) -> c_int {
    // Before the range can be mapped again by anyone. (Should the call
    // fail, the range's earlier accesses are forgotten: misses only.)
    forget_range(addr as usize, len);
    // SAFETY: forwarding the caller's arguments unchanged.
    unsafe { __real_munmap(addr, len) }
}

extern "C" {
    fn __real_mremap(addr: *mut c_void, old: usize, new: usize, flags: c_int, new_addr: *mut c_void) -> *mut c_void;
}

/// Empty the shadow of `[addr, addr + len)` (and forget the atomics'
/// synchronisation objects there), unless the runtime itself is unmapping.
fn forget_range(addr: usize, len: usize) {
    if super::ENABLED.load(std::sync::atomic::Ordering::Relaxed) {
        while_busy(|| {
            clear_block(addr, len)
        });
    }
}

/// `mremap` moves or resizes a mapping: what was at the old addresses is
/// gone from there (as after `munmap`), and the range it now occupies
/// starts clean (its contents are the old mapping's, but their accesses
/// were made at other addresses). The fifth argument is read by the kernel
/// only with `MREMAP_FIXED`; on x86-64 passing it always is harmless.
///
/// # Safety
/// Same contract as `mremap`.
#[no_mangle]
pub unsafe extern "C" fn __wrap_mremap(addr: *mut c_void, old: usize, new: usize, flags: c_int, new_addr: *mut c_void) -> *mut c_void {
    // SAFETY: forwarding the caller's arguments unchanged.
    let moved = unsafe { __real_mremap(addr, old, new, flags, new_addr) };
    if moved != libc::MAP_FAILED {
        forget_range(addr as usize, old);
        forget_range(moved as usize, new);
    }
    moved
}
