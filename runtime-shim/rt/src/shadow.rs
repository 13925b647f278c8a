//! Shadow memory: application address → its granule's cells.
//!
//! One reservation of 32 TiB of address space at a fixed address
//! ([`SHADOW_ADDR`]), `MAP_NORESERVE`, so only touched pages cost memory
//! (2 × 8 bytes of shadow per 8 bytes of application memory). A granule's
//! cells are found by arithmetic on its address ([`abi::shadow_of`]): no
//! lock, no hash, no table to load (a two-level table, until 2026-12, cost
//! a dependent load on every check, most of what deep mode's calls lost to
//! ThreadSanitizer's).
//!
//! Beside it, a reservation of 16 TiB holds one *spill cell* per granule
//! ([`SPILL_ADDR`]): where a write had to give its cell to another access,
//! it moves there (`racecheck_detector::shadow::check`), and the cell that
//! took its place flags it. Only flagged granules read their spill cell,
//! so its pages cost memory only where two readers followed a write.
//!
//! Page faults on fresh shadow cost more than the checks themselves when a
//! program sweeps through new memory: two faults per 4 KiB page (the fast
//! path's read maps the zero page, the first write copies it). So once a
//! thread is seen using a chunk (4 MiB of application memory) densely —
//! many first accesses in a row inside it — the shadow around each further
//! first access is faulted in 256 KiB at a time (`MADV_POPULATE_WRITE`, one
//! system call for 64 pages). Sparse use never trips it.
//! `shadow_huge_pages=1` advises such chunks to use transparent huge pages
//! instead: one fault per 2 MiB, but on a VM each one may wait for the
//! hypervisor to back 2 MiB afresh (0.01–0.4 s per 128 MiB of shadow in
//! back-to-back runs on the project's machine, against a steady 0.05 s
//! prefaulted). Otherwise the reservation is advised against huge pages,
//! so that sparse use never costs 2 MiB per touched granule.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::*};

use racecheck_detector::shadow::{Cell, CELLS, GRANULE};

use crate::abi::{self, granule_in_chunk, APP_BITS, CHUNKS, CHUNK_LOG, GRANULES_PER_CHUNK, SHADOW_LEN, SPILL_ADDR, SPILL_LEN};
pub use crate::abi::SHADOW_ADDR;

/// What [`clear`] shows of a granule: its cells (without their spill
/// flags), then its spill cell (empty unless a cell flagged it).
pub type Kept = [u64; CELLS + 1];

const _: () = assert!(CELLS == crate::abi::CELLS, "the inline check reads the detector's cells");
const CHUNK_BYTES: usize = GRANULES_PER_CHUNK * CELLS * 8;
/// Huge pages are 2 MiB; chunks are aligned to them.
const HUGE_PAGE: usize = 2 << 20;
const _: () = assert!(SHADOW_ADDR % CHUNK_BYTES == 0 && CHUNK_BYTES % HUGE_PAGE == 0);
/// First accesses to fresh granules of one chunk, in a row on one thread,
/// after which the chunk is taken to be in dense use: 512 granules are
/// 4 KiB of application memory, two pages of shadow.
const DENSE_AFTER: u32 = 512;

type Chunk = AtomicU64;

static RESERVED: AtomicBool = AtomicBool::new(false);

/// Reserve the shadow at [`SHADOW_ADDR`] (`huge_pages`: the option
/// `shadow_huge_pages`). Idempotent; false if the mapping failed (something
/// is mapped there already, or the address space is limited).
pub fn init(huge_pages: bool) -> bool {
    if RESERVED.load(Acquire) {
        return true;
    }
    if !reserve(SHADOW_ADDR, SHADOW_LEN, huge_pages) {
        return false;
    }
    // Spill cells are few and scattered: never huge pages.
    if !reserve(SPILL_ADDR, SPILL_LEN, false) {
        // SAFETY: the shadow's reservation, just made, unused yet.
        unsafe { libc::munmap(SHADOW_ADDR as *mut libc::c_void, SHADOW_LEN) };
        return false;
    }
    RESERVED.store(true, Release);
    true
}

/// Reserve `len` bytes of address space at `at`, `MAP_NORESERVE`.
fn reserve(at: usize, len: usize, huge_pages: bool) -> bool {
    // SAFETY: a fresh private anonymous mapping at a fixed address that must
    // be free (MAP_FIXED_NOREPLACE fails rather than replace anything).
    let map = unsafe {
        libc::mmap(
            at as *mut libc::c_void,
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE | libc::MAP_FIXED_NOREPLACE,
            -1,
            0,
        )
    };
    if map == libc::MAP_FAILED {
        return false;
    }
    if map as usize != at {
        // A kernel older than 4.17 took the address as a hint only.
        // SAFETY: the mapping we just made, of that length.
        unsafe { libc::munmap(map, len) };
        return false;
    }
    if !huge_pages {
        // SAFETY: advice on our own fresh mapping; contents unchanged.
        unsafe { libc::madvise(map, len, libc::MADV_NOHUGEPAGE) };
    }
    true
}

/// The cells of the granule holding `addr`, or `None` for addresses outside
/// the user address space.
#[inline(always)]
pub fn cells(addr: usize) -> Option<&'static [AtomicU64; CELLS]> {
    if addr >> CHUNK_LOG >= CHUNKS {
        return None;
    }
    // SAFETY: `init` ran before any hook is enabled, so the shadow is
    // reserved, never unmapped, and covers every folded address; cells are
    // only accessed atomically.
    Some(unsafe { &*(abi::shadow_of(addr) as *const [AtomicU64; CELLS]) })
}

/// The spill cell of the granule holding `addr` (see
/// `racecheck_detector::shadow::check`), for an address [`cells`] answered.
#[inline(always)]
pub fn spill(addr: usize) -> &'static AtomicU64 {
    // SAFETY: as for `cells`: reserved with the shadow, never unmapped,
    // accessed atomically only.
    unsafe { &*(abi::spill_of(addr) as *const AtomicU64) }
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
const WINDOW_LOG: u32 = APP_WINDOW_LOG + CELLS.ilog2();
/// The application memory whose shadow is one prefault window, as a power
/// of two: a thread's first access to each of these in a dense run must
/// reach [`note_fresh`] (deep mode's sweep shortcut leaves its granules to
/// the slow path).
pub const APP_WINDOW_LOG: u32 = 17;
const _: () = assert!(CHUNK_BYTES >> WINDOW_LOG <= 32, "one bit per window in a u32");

/// Note a first access to a granule whose cells were all empty. Once the
/// thread has made `DENSE_AFTER` of them in a row inside one chunk, the
/// chunk is in dense use: the shadow window around each further first
/// access is faulted in whole, the first time (or, with huge pages, the
/// chunk is advised once).
#[inline(always)]
pub fn note_fresh(d: &mut Density, addr: usize) {
    if let Some((chunk, window, first)) = note_run(d, addr) {
        make_dense(chunk, addr, window, first);
    }
}

/// Note a write moved to `addr`'s spill cell: as [`note_fresh`], for the
/// spill cells (`d`: the thread's run of spills). Two threads reading
/// what a third wrote spill a write per granule on their first pass, and
/// a page fault per 512 of them cost more than the rest of the pass.
#[inline(always)]
pub fn note_spill(d: &mut Density, addr: usize) {
    if let Some((chunk, window, _)) = note_run(d, addr) {
        if super::runtime().options.shadow_prefault {
            let at = abi::spill_of(chunk << CHUNK_LOG) + (window << SPILL_WINDOW_LOG);
            // SAFETY: a window inside the spill cells' reservation (a chunk's
            // spill cells are a whole number of windows); populating faults
            // pages in and never changes what they hold.
            unsafe { libc::madvise(at as *mut libc::c_void, 1 << SPILL_WINDOW_LOG, MADV_POPULATE_WRITE) };
        }
    }
}

/// The spill cells of one prefault window (one cell per granule).
const SPILL_WINDOW_LOG: u32 = WINDOW_LOG - CELLS.ilog2();

/// Count one more event of a run in `addr`'s chunk. Once the run is
/// dense, the chunk, the window `addr` is in and whether it is the run's
/// first, the first time the window is reached.
#[inline(always)]
fn note_run(d: &mut Density, addr: usize) -> Option<(usize, usize, bool)> {
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
            return Some((chunk, window, first));
        }
    }
    None
}

/// Is the thread in a dense run of first accesses inside `addr`'s chunk?
#[inline(always)]
pub fn in_dense_run(d: &Density, addr: usize) -> bool {
    d.fresh >= DENSE_AFTER && d.chunk == addr >> CHUNK_LOG
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

/// The shadow of chunk `index`, if it is in the user address space.
fn chunk_at(index: usize) -> Option<*mut Chunk> {
    (index < CHUNKS).then(|| abi::shadow_of(index << CHUNK_LOG) as *mut Chunk)
}

/// Forget every access to `[addr, addr + size)`.
///
/// `visit(granule, cells)` sees each granule that was not empty, before it
/// is emptied; ranges beyond 1 GiB have their shadow dropped unread
/// instead, and then `clear` returns true: the caller finds the range's
/// synchronisation objects another way (`syncs::remove_range`).
#[inline(always)]
pub fn clear(addr: usize, size: usize, mut visit: impl FnMut(usize, Kept)) -> bool {
    // The common case, every allocation and free of a small block: a few
    // granules, usually all empty on allocation. One pass, inline.
    if size != 0 && size <= SMALL {
        clear_granules(addr, addr.saturating_add(size), &mut visit);
        return false;
    }
    clear_range(addr, size, visit)
}

/// Empty the granules of `[addr, end)` one by one.
#[inline(always)]
fn clear_granules(addr: usize, end: usize, visit: &mut impl FnMut(usize, Kept)) {
    let mut at = addr & !(GRANULE as usize - 1);
    while at < end {
        if let Some(cells) = cells(at) {
            clear_granule(cells, at, visit);
        }
        at += GRANULE as usize;
    }
}

/// Empty one granule's cells (and its spill cell, if they flag it), if
/// they are not empty already.
#[inline(always)]
fn clear_granule(cells: &[AtomicU64; CELLS], granule: usize, visit: &mut impl FnMut(usize, Kept)) {
    let raw: [u64; CELLS] = std::array::from_fn(|i| cells[i].load(Relaxed));
    // Freshly allocated memory has empty cells: a load per cell.
    let any = raw.iter().fold(0, |acc, c| acc | c);
    if any == 0 {
        return;
    }
    let mut kept = [0; CELLS + 1];
    for (k, c) in kept.iter_mut().zip(raw) {
        *k = Cell::from_raw(c).plain().raw();
    }
    if Cell::from_raw(any).flags_spill() {
        kept[CELLS] = spill(granule).swap(0, Relaxed);
    }
    visit(granule, kept);
    for c in cells {
        c.store(0, Relaxed);
    }
}

/// Does any raw cell hold an atomic access (so a sync object may live at
/// its granule)?
#[inline(always)]
pub fn any_atomic(cells: Kept) -> bool {
    Cell::from_raw(cells.iter().fold(0, |acc, c| acc | c)).is_atomic()
}

/// Blocks up to this size take [`clear`]'s short path.
const SMALL: usize = 256;

/// Ranges of application memory larger than this have their shadow
/// dropped unread (a `munmap` of a reservation of terabytes, say): finding
/// the resident pages would cost a system call per 16 MiB of shadow.
const VISIT_LIMIT: usize = 1 << 30;

/// [`clear`] for any range: granule by granule; from 32 KiB of application
/// memory, the granules on resident shadow pages only (a page never
/// touched holds nothing), then whole pages dropped; beyond
/// [`VISIT_LIMIT`], pages dropped unread (then true).
#[inline(never)]
fn clear_range(addr: usize, size: usize, mut visit: impl FnMut(usize, Kept)) -> bool {
    let end = addr.saturating_add(size).min(CHUNKS << CHUNK_LOG);
    let mut at = addr & !(GRANULE as usize - 1);
    if (end.saturating_sub(at) / GRANULE as usize) * CELLS * 8 >= 1 << 16 {
        let unread = end - at > VISIT_LIMIT;
        while at < end {
            // The shadow is contiguous up to the next multiple of 2^APP_BITS.
            let piece_end = (((at >> APP_BITS) + 1) << APP_BITS).min(end);
            let count = (piece_end - at).div_ceil(GRANULE as usize);
            if !unread {
                visit_resident(at, count, &mut visit);
            }
            clear_pages(abi::shadow_of(at), count * CELLS * 8);
            clear_pages(abi::spill_of(at), count * 8);
            at = piece_end;
        }
        return unread;
    }
    clear_granules(at, end, &mut visit);
    false
}

/// Visit (and empty) the granules of `count` from `at` whose shadow page is
/// resident, as `mincore` tells, 16 MiB of shadow per call. Should it fail,
/// every page is visited.
fn visit_resident(at: usize, count: usize, visit: &mut impl FnMut(usize, Kept)) {
    const PAGE: usize = 4096;
    const BATCH: usize = 4096;
    const CELL_BYTES: usize = CELLS * 8;
    let start = abi::shadow_of(at);
    let end = start + count * CELL_BYTES;
    let mut page = start & !(PAGE - 1);
    let mut resident = [0u8; BATCH];
    while page < end {
        let pages = (end - page).div_ceil(PAGE).min(BATCH);
        // SAFETY: a page-aligned range inside the shadow's reservation, and
        // room for one byte per page.
        let known = unsafe { libc::mincore(page as *mut libc::c_void, pages * PAGE, resident.as_mut_ptr()) } == 0;
        for (i, &r) in resident[..pages].iter().enumerate() {
            if known && r & 1 == 0 {
                continue;
            }
            let mut cell = (page + i * PAGE).max(start);
            let hi = (page + (i + 1) * PAGE).min(end);
            while cell < hi {
                // SAFETY: the cells of one granule of the range, in the
                // reservation; cells are only accessed atomically.
                let cells = unsafe { &*(cell as *const [AtomicU64; CELLS]) };
                clear_granule(cells, at + (cell - start) / CELL_BYTES * GRANULE as usize, visit);
                cell += CELL_BYTES;
            }
        }
        page += pages * PAGE;
    }
}

/// Zero `len` bytes of cells from the shadow (or spill) address `start`,
/// dropping whole pages.
fn clear_pages(start: usize, len: usize) {
    const PAGE: usize = 4096;
    let end = start + len;
    let page_lo = (start + PAGE - 1) & !(PAGE - 1);
    let page_hi = end & !(PAGE - 1);
    let zero = |from: usize, to: usize| {
        let mut p = from;
        while p < to {
            // SAFETY: [from, to) lies inside the shadow's or the spill
            // cells' reservation.
            unsafe { (*(p as *const AtomicU64)).store(0, Relaxed) };
            p += 8;
        }
    };
    if page_lo < page_hi {
        zero(start, page_lo);
        // SAFETY: whole pages inside a private anonymous reservation of ours;
        // MADV_DONTNEED makes them read back as zero.
        unsafe { libc::madvise(page_lo as *mut libc::c_void, page_hi - page_lo, libc::MADV_DONTNEED) };
        zero(page_hi, end);
    } else {
        zero(start, end);
    }
}
