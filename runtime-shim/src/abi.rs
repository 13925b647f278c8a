//! The interface between code expanded by `#[race_check]` (crate
//! `racecheck`, compiled in the user's build) and the runtime (crate
//! `racecheck-rt`, built once per toolchain by the CLI and linked into the
//! program). This one source file is compiled into both crates, so both
//! agree on every layout and signature; the runtime's definitions and the
//! hooks' declarations are each checked against the signatures here.
//!
//! Both sides are built by the same compiler (the runtime is cached per
//! toolchain), so the Rust ABI is stable between them.

#![allow(dead_code)]

use std::cell::Cell as StdCell;

/// Where an access happened: emitted by the macro as a `static` per site.
#[repr(C)]
pub struct Site {
    pub func: &'static str,
    pub file: &'static str,
    pub line: u32,
    pub col: u32,
}

/// An annotated function or closure: emitted as a `static` per body.
#[repr(C)]
pub struct FnInfo {
    pub name: &'static str,
}

/// The inline check's per-thread key (see `racecheck_detector::shadow::epoch_key`),
/// a thread-local of the hooks' crate. The runtime learns its address from
/// the slow-path calls and keeps it current.
pub type KeySlot = *const StdCell<u64>;

/// The key of a thread without (live) state: its fast path never matches,
/// and the slow path decides.
pub const NO_KEY: u64 = u64::MAX;

/// `__racecheck_enter(f, caller_pc, key)`: an annotated frame is entered;
/// `caller_pc` is the frame's return address. Whether a frame was pushed.
pub type EnterFn = fn(&'static FnInfo, usize, KeySlot) -> bool;
/// `__racecheck_exit(test_fn)`: the innermost frame is left. Whether the
/// caller should fail the running test now (see the runtime's `exit`).
pub type ExitFn = fn(bool) -> bool;
/// `__racecheck_access(addr, size, write, site, key)`: a plain access that
/// the inline check did not rule out.
pub type AccessFn = fn(usize, usize, bool, &'static Site, KeySlot);
/// `__racecheck_test_end()`: an async test's body completed. Whether the
/// caller should fail the test now (a race was found during it).
pub type TestEndFn = fn() -> bool;

/// The return address of the function that called the current function's
/// caller. Must be inlined into a function compiled with frame pointers
/// whose prologue comes first (the CLI builds the hooks' crate without
/// shrink-wrapping, which could sink the prologue below this read).
#[cfg(racecheck)]
#[inline(always)]
pub fn grandcaller_pc() -> usize {
    let rbp: usize;
    // SAFETY: reading rbp has no side effects.
    unsafe { std::arch::asm!("mov {}, rbp", out(reg) rbp, options(nomem, nostack, preserves_flags)) };
    // SAFETY: with frame pointers, [rbp] holds the caller's saved rbp, and the
    // caller (annotated code, also built with frame pointers) keeps its return
    // address at [its rbp + 8]. Both are live stack slots of this thread.
    unsafe {
        let caller_rbp = *(rbp as *const usize);
        if caller_rbp == 0 || caller_rbp % 8 != 0 {
            return 0;
        }
        *((caller_rbp + 8) as *const usize)
    }
}

// ---- The shadow layout the inline check reads -------------------------------

/// Bits of user-space addresses.
pub const ADDRESS_BITS: u32 = 47;
/// The shadow maps an application address by its low `APP_BITS` bits
/// (16 TiB): see [`shadow_of`].
pub const APP_BITS: u32 = 44;
/// The shadow is handled in chunks of 4 MiB of application memory (8 MiB
/// of shadow): the unit of dense-use detection and prefaulting.
pub const CHUNK_LOG: u32 = 22;
/// Chunks in the user address space.
pub const CHUNKS: usize = 1 << (ADDRESS_BITS - CHUNK_LOG);
/// Granules (8 bytes) per chunk.
pub const GRANULES_PER_CHUNK: usize = 1 << (CHUNK_LOG - 3);
/// Shadow cells per granule.
pub const CELLS: usize = 2;
/// The shadow: one reservation of `SHADOW_LEN` bytes at this fixed
/// address, made by the runtime at start-up (`MAP_NORESERVE`: address space
/// only; the kernel backs a page when it is first touched), so the check
/// reaches a granule's cells by arithmetic alone, with no table to load.
pub const SHADOW_ADDR: usize = 0x1000_0000_0000;
/// 32 TiB: two 8-byte cells per 8-byte granule of `2^APP_BITS` bytes.
pub const SHADOW_LEN: usize = (1 << APP_BITS) / 8 * CELLS * 8;

/// The spill cells: one 8-byte cell per 8-byte granule, for a write
/// evicted from the granule's cells (`racecheck_detector::shadow::check`),
/// read only when a cell flags it, so its pages are touched only where
/// writes were spilled. A second reservation, right after the shadow.
pub const SPILL_ADDR: usize = SHADOW_ADDR + SHADOW_LEN;
/// 16 TiB: one cell per granule of `2^APP_BITS` bytes.
pub const SPILL_LEN: usize = (1 << APP_BITS) / 8 * 8;

/// The spill cell of `addr`'s granule (see [`shadow_of`]).
#[inline(always)]
pub const fn spill_of(addr: usize) -> usize {
    SPILL_ADDR.wrapping_add(addr & ((1 << APP_BITS) - 1) & !7)
}

/// The first cell of `addr`'s granule. Linux puts a program's memory in
/// two places, its image and heap (`0x55…`/`0x56…` for a PIE, near 0 for
/// a fixed-address executable) and its mappings and stacks (below
/// `0x7fff…`), which keep distinct low 44 bits unless one grows past
/// 16 TiB; the shadow itself lies at `0x1000…`–`0x3000…` and the spill
/// cells at `0x3000…`–`0x4000…`, where the kernel places nothing unasked.
/// Two addresses that share their low 44 bits would share cells (ThreadSanitizer's mapping makes the same bet).
#[inline(always)]
pub const fn shadow_of(addr: usize) -> usize {
    // The granule's byte offset times CELLS cells of 8 bytes per 8 bytes;
    // wrapping, so that an unoptimised build has no overflow checks here.
    SHADOW_ADDR.wrapping_add((addr & ((1 << APP_BITS) - 1) & !7).wrapping_mul(CELLS))
}

/// Index of `addr`'s granule within its chunk.
#[inline(always)]
pub const fn granule_in_chunk(addr: usize) -> usize {
    (addr >> 3) & (GRANULES_PER_CHUNK - 1)
}

/// The raw cells of the granule holding `addr`: plain (volatile) loads,
/// never atomic instructions, since this is inlined into instrumented code
/// where the TSan pass would turn an atomic load into a runtime call. A
/// racing write is seen whole or not at all (aligned words on x86-64); the
/// caller only ever skips an access on a match.
///
/// Only call this for a thread whose key is not [`NO_KEY`]: the shadow is
/// reserved once any thread has state.
#[inline(always)]
pub fn peek(addr: usize) -> [u64; CELLS] {
    std::array::from_fn(|i| peek_cell(addr, i))
}

/// Raw cell `i` (below [`CELLS`]) of the granule holding `addr`: one
/// plain load ([`peek`] reads them all), for the hooks' inline check, which
/// in an unoptimised build must not go through `array::from_fn` and its
/// closures (they made the check three times slower there).
///
/// Only call this for a thread whose key is not [`NO_KEY`].
#[inline(always)]
pub fn peek_cell(addr: usize, i: usize) -> u64 {
    // SAFETY: the reserved shadow covers every folded address and is never
    // unmapped; see `peek` for the concurrent writes.
    unsafe { load(shadow_of(addr).wrapping_add(8 * i)) }
}

/// One plain 8-byte load at `addr`. A `read_volatile`, except in the hooks
/// of an unoptimised build (how tests are built; the CLI then passes
/// `--cfg racecheck_unoptimized`), where it, `add` and `is_null` are calls
/// with alignment and overflow checks, which made them most of an annotated
/// access's cost; there it is an `asm!` block, inline at every optimisation
/// level (optimised, the volatile load schedules better).
///
/// # Safety
/// `addr` is an aligned, readable `u64`.
#[inline(always)]
unsafe fn load(addr: usize) -> u64 {
    #[cfg(not(racecheck_unoptimized))]
    // SAFETY: as the caller promised.
    return unsafe { std::ptr::read_volatile(addr as *const u64) };
    #[cfg(racecheck_unoptimized)]
    {
        let v: u64;
        // SAFETY: as the caller promised.
        unsafe {
            std::arch::asm!("mov {v}, qword ptr [{a}]", a = in(reg) addr, v = out(reg) v,
                options(nostack, readonly, preserves_flags))
        };
        v
    }
}


/// An address range published once, at start-up, and tested without a lock
/// (the program's read-only span, exported by the runtime as
/// `__racecheck_ro_span`).
#[repr(C)]
pub struct Span {
    pub start: std::sync::atomic::AtomicUsize,
    pub len: std::sync::atomic::AtomicUsize,
}

impl Span {
    pub const EMPTY: Span =
        Span { start: std::sync::atomic::AtomicUsize::new(0), len: std::sync::atomic::AtomicUsize::new(0) };

    pub fn set(&self, start: usize, end: usize) {
        self.start.store(start, std::sync::atomic::Ordering::Relaxed);
        self.len.store(end - start, std::sync::atomic::Ordering::Release);
    }

    /// Does `[addr, addr+size)` lie inside? Two loads and a comparison.
    #[inline(always)]
    pub fn holds(&self, addr: usize, size: usize) -> bool {
        // Volatile, not atomic, loads: this is inlined into instrumented
        // code, where the TSan pass would turn an atomic load into a runtime
        // call. SAFETY: both are written once, at start-up, the start first;
        // a word-sized aligned read racing with a write sees the old or the
        // new value, and on x86-64 (stores and loads each in order, volatile
        // loads kept in order by the compiler) a new length comes with the
        // new start. A length of 0 holds nothing.
        let (start, len) = unsafe { (self.start.as_ptr().read_volatile(), self.len.as_ptr().read_volatile()) };
        let off = addr.wrapping_sub(start);
        off < len && len - off >= size
    }
}
