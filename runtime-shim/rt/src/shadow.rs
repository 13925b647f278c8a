//! Shadow memory: application address → its granule's cells.
//!
//! A two-level direct table over the 47-bit user address space: the first
//! level has one pointer per 4 MiB of application memory; each second-level
//! chunk holds the cells of those 4 MiB and is mapped on first touch with
//! `MAP_NORESERVE`, so only touched pages cost memory (2 × 8 bytes of shadow
//! per 8 bytes of application memory). Lookups take no lock and hash nothing;
//! a missing chunk is installed with one compare-exchange.
//!
//! Page faults on fresh shadow cost more than the checks themselves when a
//! program sweeps through new memory: two faults per 4 KiB page (the fast
//! path's read maps the zero page, the first write copies it). So once a
//! thread is seen using a chunk densely — many first accesses in a row
//! inside it — the shadow around each further first access is faulted in
//! 256 KiB at a time (`MADV_POPULATE_WRITE`, one system call for 64 pages).
//! Sparse use never trips it. `shadow_huge_pages=1` advises such chunks to
//! use transparent huge pages instead: one fault per 2 MiB, but on a VM
//! each one may wait for the hypervisor to back 2 MiB afresh (0.01–0.4 s
//! per 128 MiB of shadow in back-to-back runs on the project's machine,
//! against a steady 0.05 s prefaulted).

use std::ptr::null_mut;
use std::sync::atomic::{AtomicPtr, AtomicU64, Ordering::*};

use racecheck_detector::shadow::{Cell, CELLS, GRANULE};

use super::sys::map_noreserve;

pub use crate::abi::L1_ADDR;
use crate::abi::{granule_in_chunk, CHUNK_LOG, GRANULES_PER_CHUNK, L1_LEN};

const _: () = assert!(CELLS == crate::abi::CELLS, "the inline check reads the detector's cells");
const CHUNK_BYTES: usize = GRANULES_PER_CHUNK * CELLS * 8;
/// Chunks are aligned to this, so huge pages can back them.
const HUGE_PAGE: usize = 2 << 20;
/// First accesses to fresh granules of one chunk, in a row on one thread,
/// after which the chunk is taken to be in dense use: 512 granules are
/// 4 KiB of application memory, two pages of shadow.
const DENSE_AFTER: u32 = 512;

type Chunk = AtomicU64;

static L1: AtomicPtr<AtomicPtr<Chunk>> = AtomicPtr::new(null_mut());

/// Map the first level at [`L1_ADDR`]. Idempotent; false if the mapping
/// failed (something is mapped there already).
pub fn init() -> bool {
    if !L1.load(Acquire).is_null() {
        return true;
    }
    // SAFETY: a fresh private anonymous mapping at a fixed address that must
    // be free (MAP_FIXED_NOREPLACE fails rather than replace anything).
    let table = unsafe {
        libc::mmap(
            L1_ADDR as *mut libc::c_void,
            L1_LEN * 8,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE | libc::MAP_FIXED_NOREPLACE,
            -1,
            0,
        )
    };
    if table == libc::MAP_FAILED {
        return false;
    }
    if table as usize != L1_ADDR {
        // A kernel older than 4.17 took the address as a hint only.
        // SAFETY: the mapping we just made, of that length.
        unsafe { libc::munmap(table, L1_LEN * 8) };
        return false;
    }
    let table = table as *mut AtomicPtr<Chunk>;
    if L1.compare_exchange(null_mut(), table, AcqRel, Acquire).is_err() {
        // SAFETY: `table` is our own unpublished mapping of that length.
        unsafe { libc::munmap(table.cast(), L1_LEN * 8) };
    }
    true
}

// The first level's fixed address and the inline check's lookup (`peek`)
// live in `abi`, shared with the hooks' crate.

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
    let g = granule_in_chunk(addr);
    // SAFETY: a chunk holds GRANULES_PER_CHUNK × CELLS cells and is never
    // unmapped; cells are only accessed atomically.
    Some(unsafe { &*(chunk.add(g * CELLS) as *const [AtomicU64; CELLS]) })
}

#[cold]
#[inline(never)]
fn install_chunk(slot: &AtomicPtr<Chunk>) -> Option<*mut Chunk> {
    let fresh = map_aligned_chunk()?;
    match slot.compare_exchange(null_mut(), fresh, AcqRel, Acquire) {
        Ok(_) => Some(fresh),
        Err(winner) => {
            // SAFETY: `fresh` is our own unpublished mapping of that size.
            unsafe { libc::munmap(fresh.cast(), CHUNK_BYTES) };
            Some(winner)
        }
    }
}

/// A fresh chunk mapping, aligned to `HUGE_PAGE` so that it can later be
/// backed by huge pages: map more than needed and trim both ends.
fn map_aligned_chunk() -> Option<*mut Chunk> {
    let raw = map_noreserve(CHUNK_BYTES + HUGE_PAGE) as usize;
    if raw == 0 {
        return None;
    }
    let start = (raw + HUGE_PAGE - 1) & !(HUGE_PAGE - 1);
    let end = start + CHUNK_BYTES;
    // SAFETY: both trimmed ranges lie inside our own fresh mapping, outside
    // the part kept.
    unsafe {
        if start > raw {
            libc::munmap(raw as *mut libc::c_void, start - raw);
        }
        if raw + CHUNK_BYTES + HUGE_PAGE > end {
            libc::munmap(end as *mut libc::c_void, raw + CHUNK_BYTES + HUGE_PAGE - end);
        }
    }
    Some(start as *mut Chunk)
}

/// One thread's run of first accesses to fresh granules (see module docs).
#[derive(Default)]
pub struct Density {
    chunk: usize,
    fresh: u32,
    /// The chunk's prefault windows this thread has faulted in (bit i:
    /// window i), since the run began.
    faulted: u32,
}

/// Shadow faulted in at a time in dense use: the shadow of 128 KiB of
/// application memory (with four cells a granule, 512 KiB, 128 pages).
const WINDOW_LOG: u32 = 17 + CELLS.ilog2();
const _: () = assert!(CHUNK_BYTES >> WINDOW_LOG <= 32, "one bit per window in a u32");

/// Note a first access to a granule whose cells were all empty. Once the
/// thread has made `DENSE_AFTER` of them in a row inside one chunk, the
/// chunk is in dense use: the shadow window around each further first
/// access is faulted in whole, the first time (or, with huge pages, the
/// chunk is advised once).
#[inline(always)]
pub fn note_fresh(d: &mut Density, addr: usize) {
    let chunk = addr >> CHUNK_LOG;
    if d.chunk != chunk {
        d.chunk = chunk;
        d.fresh = 0;
        d.faulted = 0;
    }
    d.fresh = d.fresh.saturating_add(1);
    if d.fresh >= DENSE_AFTER {
        let window = (granule_in_chunk(addr) * CELLS * 8) >> WINDOW_LOG;
        if d.faulted >> window & 1 == 0 {
            let first = d.faulted == 0;
            d.faulted |= 1 << window;
            make_dense(chunk, addr, window, first);
        }
    }
}

/// `MADV_POPULATE_WRITE` (Linux 5.14); older kernels answer `EINVAL`, and
/// the pages fault in one by one as before.
const MADV_POPULATE_WRITE: libc::c_int = 23;
/// `MADV_COLLAPSE` (Linux 6.1); older kernels answer `EINVAL`, which is fine.
const MADV_COLLAPSE: libc::c_int = 25;

/// Chunk `index` is in dense use, and the first access to its prefault
/// `window` was just made (at `addr`); `first`: the first such window.
#[cold]
#[inline(never)]
fn make_dense(index: usize, addr: usize, window: usize, first: bool) {
    let options = &super::runtime().options;
    let Some(chunk) = chunk_at(index) else { return };
    if options.shadow_huge_pages {
        if first {
            advise_huge(chunk, addr);
        }
    } else if options.shadow_prefault {
        let at = chunk as usize + (window << WINDOW_LOG);
        // SAFETY: a window inside the chunk's own mapping (the chunk's size
        // is a multiple of the window's); populating faults pages in and
        // never changes what they hold, concurrent accesses included.
        unsafe { libc::madvise(at as *mut libc::c_void, 1 << WINDOW_LOG, MADV_POPULATE_WRITE) };
    }
}

/// Advise a chunk in dense use to use huge pages (`shadow_huge_pages=1`).
fn advise_huge(chunk: *mut Chunk, addr: usize) {
    // SAFETY: the chunk's own mapping; advice does not change contents.
    unsafe { libc::madvise(chunk.cast(), CHUNK_BYTES, libc::MADV_HUGEPAGE) };
    // The huge page under the run that tripped this already has small
    // pages (two faults each: the zero page, then the copy), and a region
    // with small pages in it never faults in a huge one: the rest of it
    // would take ~1,000 more faults. Collapse it now, once, to one huge
    // page (the kernel copies what is there).
    let at = (chunk as usize + granule_in_chunk(addr) * CELLS * 8) & !(HUGE_PAGE - 1);
    // SAFETY: a huge-page-aligned range inside the chunk's own mapping;
    // collapsing keeps the contents, concurrent accesses included.
    unsafe { libc::madvise(at as *mut libc::c_void, HUGE_PAGE, MADV_COLLAPSE) };
}

/// The installed chunk for first-level `index`, if any.
fn chunk_at(index: usize) -> Option<*mut Chunk> {
    if index >= L1_LEN {
        return None;
    }
    let l1 = L1.load(Relaxed);
    if l1.is_null() {
        return None;
    }
    // SAFETY: as in `cells`; `index` is in range.
    let chunk = unsafe { (*l1.add(index)).load(Acquire) };
    (!chunk.is_null()).then_some(chunk)
}

/// Forget every access to `[addr, addr + size)`. Calls `on_atomic` with the
/// granule address of cells that held atomic accesses (their sync objects
/// die with the memory). Large ranges drop whole shadow pages.
#[inline(always)]
///
/// `visit(granule, cells)` sees each granule that was not empty,
/// before it is emptied (blocks of 32 KiB or more have whole pages of
/// shadow dropped unread).
pub fn clear(addr: usize, size: usize, mut visit: impl FnMut(usize, [u64; CELLS])) {
    // The common case, every allocation and free of a small block: one
    // chunk, a few granules, usually all empty on allocation. One pass.
    let last = addr.wrapping_add(size).wrapping_sub(1);
    if size != 0 && size <= SMALL && addr >> CHUNK_LOG == last >> CHUNK_LOG {
        let Some(chunk) = chunk_at(addr >> CHUNK_LOG) else { return };
        let first = granule_in_chunk(addr);
        let count = granule_in_chunk(last) - first + 1;
        let mut granule = addr & !(GRANULE as usize - 1);
        for g in 0..count {
            // SAFETY: `count` granules from `first` lie inside the chunk
            // (the range does not leave it); cells are only accessed
            // atomically.
            let cells = unsafe { &*(chunk.add((first + g) * CELLS) as *const [AtomicU64; CELLS]) };
            clear_granule(cells, granule, &mut visit);
            granule += GRANULE as usize;
        }
        return;
    }
    clear_range(addr, size, visit);
}

/// Empty one granule's cells, if they are not empty already.
#[inline(always)]
fn clear_granule(cells: &[AtomicU64; CELLS], granule: usize, visit: &mut impl FnMut(usize, [u64; CELLS])) {
    let raw: [u64; CELLS] = std::array::from_fn(|i| cells[i].load(Relaxed));
    // Freshly allocated memory has empty cells: a load per cell.
    if raw.iter().fold(0, |acc, c| acc | c) == 0 {
        return;
    }
    visit(granule, raw);
    for c in cells {
        c.store(0, Relaxed);
    }
}

/// Does any raw cell hold an atomic access (so a sync object may live at
/// its granule)?
#[inline(always)]
pub fn any_atomic(cells: [u64; CELLS]) -> bool {
    Cell::from_raw(cells.iter().fold(0, |acc, c| acc | c)).is_atomic()
}

/// Blocks up to this size take [`clear`]'s short path.
const SMALL: usize = 256;

/// [`clear`] for any range: chunk by chunk, whole pages dropped.
#[inline(never)]
fn clear_range(addr: usize, size: usize, mut visit: impl FnMut(usize, [u64; CELLS])) {
    let end = addr.saturating_add(size);
    let mut at = addr & !(GRANULE as usize - 1);
    while at < end {
        let index = at >> CHUNK_LOG;
        let chunk_end = ((index + 1) << CHUNK_LOG).min(end);
        if index >= L1_LEN {
            return;
        }
        if let Some(chunk) = chunk_at(index) {
            let first = granule_in_chunk(at);
            let last = granule_in_chunk(chunk_end - 1);
            let count = last - first + 1;
            if count * CELLS * 8 >= 1 << 16 {
                clear_pages(chunk, first, count);
            } else {
                for g in first..last + 1 {
                    // SAFETY: g < GRANULES_PER_CHUNK, within the chunk.
                    let cells = unsafe { &*(chunk.add(g * CELLS) as *const [AtomicU64; CELLS]) };
                    clear_granule(cells, (index << CHUNK_LOG) | (g << 3), &mut visit);
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
