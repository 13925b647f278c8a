//! Shadow memory: application address → its granule's cells.
//!
//! A two-level direct table over the 47-bit user address space: the first
//! level has one pointer per 4 MiB of application memory; each second-level
//! chunk holds the cells of those 4 MiB and is mapped on first touch with
//! `MAP_NORESERVE`, so only touched pages cost memory (2 × 8 bytes of shadow
//! per 8 bytes of application memory). Lookups take no lock and hash nothing;
//! a missing chunk is installed with one compare-exchange.

use std::ptr::null_mut;
use std::sync::atomic::{AtomicPtr, AtomicU64, Ordering::*};

use racecheck_detector::shadow::{Cell, CELLS, GRANULE};

use super::sys::map_noreserve;

const ADDRESS_BITS: u32 = 47;
const CHUNK_LOG: u32 = 22;
const L1_LEN: usize = 1 << (ADDRESS_BITS - CHUNK_LOG);
const GRANULES_PER_CHUNK: usize = 1 << (CHUNK_LOG - 3);
const CHUNK_BYTES: usize = GRANULES_PER_CHUNK * CELLS * 8;

type Chunk = AtomicU64;

static L1: AtomicPtr<AtomicPtr<Chunk>> = AtomicPtr::new(null_mut());

/// Map the first level. Idempotent; false if the mapping failed.
pub fn init() -> bool {
    if !L1.load(Acquire).is_null() {
        return true;
    }
    let table = map_noreserve(L1_LEN * 8) as *mut AtomicPtr<Chunk>;
    if table.is_null() {
        return false;
    }
    if L1.compare_exchange(null_mut(), table, AcqRel, Acquire).is_err() {
        // SAFETY: `table` is our own unpublished mapping of that length.
        unsafe { libc::munmap(table.cast(), L1_LEN * 8) };
    }
    true
}

/// Inline-safe lookup for the fast path that runs inside instrumented code:
/// only plain (volatile) loads, which LLVM's TSan pass leaves alone on
/// stable Rust. Returns the two raw cells, or `None` if the chunk is absent.
///
/// The cells are written with relaxed atomic stores by other threads; an
/// aligned 8-byte volatile load on x86_64 is the same `mov` a relaxed atomic
/// load compiles to, and a stale value only sends the caller down the slow
/// path (which re-reads atomically).
#[inline(always)]
pub fn peek(addr: usize) -> Option<(u64, u64)> {
    let index = addr >> CHUNK_LOG;
    if index >= L1_LEN {
        return None;
    }
    // SAFETY: `L1` is a valid static; reading it volatile reads its pointer
    // value (AtomicPtr has the same layout as a pointer).
    let l1 = unsafe { std::ptr::read_volatile(&L1 as *const AtomicPtr<AtomicPtr<Chunk>> as *const *const *const u64) };
    if l1.is_null() {
        return None;
    }
    // SAFETY: a published table has L1_LEN entries and is never unmapped.
    let chunk = unsafe { std::ptr::read_volatile(l1.add(index)) };
    if chunk.is_null() {
        return None;
    }
    let g = (addr >> 3) & (GRANULES_PER_CHUNK - 1);
    // SAFETY: a published chunk holds GRANULES_PER_CHUNK × CELLS cells and is
    // never unmapped; see the function docs for the concurrent writes.
    unsafe {
        let cell = chunk.add(g * CELLS);
        Some((std::ptr::read_volatile(cell), std::ptr::read_volatile(cell.add(1))))
    }
}

const _: () = assert!(CELLS == 2, "peek reads exactly two cells");

/// The cells of the granule holding `addr`, or `None` for addresses outside
/// the user address space.
#[inline(always)]
pub fn cells(addr: usize) -> Option<&'static [AtomicU64; CELLS]> {
    let index = addr >> CHUNK_LOG;
    if index >= L1_LEN {
        return None;
    }
    let l1 = L1.load(Relaxed);
    // SAFETY: `init` ran before any hook is enabled, so `l1` is a live table
    // of L1_LEN entries, never unmapped; `index` is in range.
    let slot = unsafe { &*l1.add(index) };
    let mut chunk = slot.load(Acquire);
    if chunk.is_null() {
        chunk = install_chunk(slot)?;
    }
    let g = (addr >> 3) & (GRANULES_PER_CHUNK - 1);
    // SAFETY: a chunk holds GRANULES_PER_CHUNK × CELLS cells and is never
    // unmapped; cells are only accessed atomically.
    Some(unsafe { &*(chunk.add(g * CELLS) as *const [AtomicU64; CELLS]) })
}

#[cold]
#[inline(never)]
fn install_chunk(slot: &AtomicPtr<Chunk>) -> Option<*mut Chunk> {
    let fresh = map_noreserve(CHUNK_BYTES) as *mut Chunk;
    if fresh.is_null() {
        return None;
    }
    match slot.compare_exchange(null_mut(), fresh, AcqRel, Acquire) {
        Ok(_) => Some(fresh),
        Err(winner) => {
            // SAFETY: `fresh` is our own unpublished mapping of that size.
            unsafe { libc::munmap(fresh.cast(), CHUNK_BYTES) };
            Some(winner)
        }
    }
}

/// Forget every access to `[addr, addr + size)`. Calls `on_atomic` with the
/// granule address of cells that held atomic accesses (their sync objects
/// die with the memory). Large ranges drop whole shadow pages.
pub fn clear(addr: usize, size: usize, mut on_atomic: impl FnMut(usize)) {
    let end = addr.saturating_add(size);
    let mut at = addr & !(GRANULE as usize - 1);
    while at < end {
        let index = at >> CHUNK_LOG;
        let chunk_end = ((index + 1) << CHUNK_LOG).min(end);
        if index >= L1_LEN {
            return;
        }
        let l1 = L1.load(Relaxed);
        if l1.is_null() {
            return;
        }
        // SAFETY: as in `cells`.
        let chunk = unsafe { (*l1.add(index)).load(Acquire) };
        if !chunk.is_null() {
            let first = (at >> 3) & (GRANULES_PER_CHUNK - 1);
            let last = ((chunk_end - 1) >> 3) & (GRANULES_PER_CHUNK - 1);
            let count = last - first + 1;
            if count * CELLS * 8 >= 1 << 16 {
                clear_pages(chunk, first, count);
            } else {
                for g in first..=last {
                    for c in 0..CELLS {
                        // SAFETY: g < GRANULES_PER_CHUNK, within the chunk.
                        let cell = unsafe { &*chunk.add(g * CELLS + c) };
                        let raw = cell.load(Relaxed);
                        if raw != 0 {
                            if Cell::from_raw(raw).is_atomic() {
                                on_atomic((index << CHUNK_LOG) | (g << 3));
                            }
                            cell.store(0, Relaxed);
                        }
                    }
                }
            }
        }
        at = chunk_end;
    }
}

/// Zero the cells of `count` granules from `first`, dropping whole pages.
fn clear_pages(chunk: *mut Chunk, first: usize, count: usize) {
    const PAGE: usize = 4096;
    let start = chunk as usize + first * CELLS * 8;
    let end = start + count * CELLS * 8;
    let page_lo = (start + PAGE - 1) & !(PAGE - 1);
    let page_hi = end & !(PAGE - 1);
    let zero = |from: usize, to: usize| {
        let mut p = from;
        while p < to {
            // SAFETY: [from, to) lies inside the chunk's mapping.
            unsafe { (*(p as *const AtomicU64)).store(0, Relaxed) };
            p += 8;
        }
    };
    if page_lo < page_hi {
        zero(start, page_lo);
        // SAFETY: whole pages inside the chunk's private anonymous mapping;
        // MADV_DONTNEED makes them read back as zero.
        unsafe { libc::madvise(page_lo as *mut libc::c_void, page_hi - page_lo, libc::MADV_DONTNEED) };
        zero(page_hi, end);
    } else {
        zero(start, end);
    }
}
