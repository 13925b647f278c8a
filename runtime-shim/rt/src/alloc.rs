//! Heap blocks: freed and reallocated memory starts with clean shadow, and
//! reports can say which block an address is in and who allocated it.
//!
//! Every allocation and free passes through here, so the bookkeeping is kept
//! small: a block is a 32-byte slot in a fixed open-addressed table keyed by
//! its start, claimed with one compare-exchange and freed with one store (no
//! lock); a block whose few slots are all taken goes to a locked hash map
//! instead. Its allocation stack is interned once in a stack depot (a thread
//! remembers the stacks it interned last, so an allocation site in a loop
//! takes no lock for its stack). Finding the block that holds an address is
//! only needed for a report, and searches.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::ptr::null_mut;
use std::sync::atomic::{AtomicPtr, AtomicU32, AtomicUsize, Ordering::*};
use std::sync::{Mutex, MutexGuard};

use super::syncs::{self, AddrHasher};
use super::thread::ThreadInfo;
use super::{forget_sync, shadow, sys, while_busy, with_state, ENABLED};
use racecheck_detector::history::Event;
use racecheck_detector::shadow::{AccessKind, Cell};

/// A live heap block.
#[derive(Clone)]
pub struct Block {
    pub size: usize,
    pub thread: &'static ThreadInfo,
    /// The allocation stack in the depot (see [`stack`]).
    pub stack: u32,
}

impl Block {
    /// Does this block, starting at `start`, hold `addr`? (A block of size
    /// 0 still holds its start.)
    fn holds(&self, start: usize, addr: usize) -> bool {
        start <= addr && addr < start + self.size.max(1)
    }
}

/// The blocks the table has no room for.
type Blocks = HashMap<usize, Block, BuildHasherDefault<AddrHasher>>;
const SHARDS: usize = 64;
static BLOCKS: [Mutex<Blocks>; SHARDS] = [const { Mutex::new(HashMap::with_hasher(BuildHasherDefault::new())) }; SHARDS];

/// A block start, hashed: its top bits pick a shard or a table slot.
/// (Starts are 16-byte aligned; the low bits carry nothing.)
fn start_hash(start: usize) -> usize {
    (start >> 4).wrapping_mul(0x9E3779B97F4A7C15)
}

fn shard(addr: usize) -> MutexGuard<'static, Blocks> {
    let i = (start_hash(addr) >> 58) % SHARDS;
    BLOCKS[i].lock().unwrap_or_else(|e| e.into_inner())
}

/// Live blocks by start address, without locks: a fixed open-addressed
/// table, each start confined to a window of slots from its hash on.
mod table {
    use super::*;

    /// Slots (2 MiB of zero pages, touched only where blocks hash).
    const LOG: u32 = 16;
    const MASK: usize = (1 << LOG) - 1;
    /// Slots a start may use, from its hash on: 256 bytes.
    const WINDOW: usize = 8;

    /// `key` states besides a block's start (always at least 4096).
    const EMPTY: usize = 0;
    /// Claimed; the block's fields are being written.
    const BUSY: usize = 1;
    /// Freed. Never empty again, so a start is always found before the
    /// first `EMPTY` slot of its window: lookups stop there.
    const TOMB: usize = 2;

    #[repr(C, align(32))]
    struct Slot {
        key: AtomicUsize,
        size: AtomicUsize,
        thread: AtomicPtr<ThreadInfo>,
        stack: AtomicU32,
    }

    static TABLE: [Slot; 1 << LOG] = [const {
        Slot { key: AtomicUsize::new(EMPTY), size: AtomicUsize::new(0), thread: AtomicPtr::new(null_mut()), stack: AtomicU32::new(0) }
    }; 1 << LOG];

    fn window(start: usize) -> impl Iterator<Item = &'static Slot> {
        let h = start_hash(start) >> (64 - LOG);
        (0..WINDOW).map(move |i| &TABLE[(h + i) & MASK])
    }

    /// Record a block starting at `start`; false if its window is full.
    #[inline]
    pub fn insert(start: usize, b: &Block) -> bool {
        for slot in window(start) {
            let k = slot.key.load(Relaxed);
            if (k == EMPTY || k == TOMB) && slot.key.compare_exchange(k, BUSY, Acquire, Relaxed).is_ok() {
                slot.size.store(b.size, Relaxed);
                slot.thread.store(b.thread as *const ThreadInfo as *mut ThreadInfo, Relaxed);
                slot.stack.store(b.stack, Relaxed);
                // Publishes the fields to a report reading them (`get`).
                slot.key.store(start, Release);
                return true;
            }
        }
        false
    }

    /// Forget the block starting at `start`; false if it is not here.
    #[inline]
    pub fn remove(start: usize) -> bool {
        for slot in window(start) {
            match slot.key.load(Relaxed) {
                k if k == start => {
                    slot.key.store(TOMB, Relaxed);
                    return true;
                }
                EMPTY => return false,
                _ => {}
            }
        }
        false
    }

    /// The block starting at `start`, if the table holds it.
    pub fn get(start: usize) -> Option<Block> {
        for slot in window(start) {
            match slot.key.load(Acquire) {
                k if k == start => {
                    let size = slot.size.load(Relaxed);
                    let thread = slot.thread.load(Relaxed);
                    let stack = slot.stack.load(Relaxed);
                    // Still the same block after reading it (a free and a new
                    // block may have taken the slot meanwhile).
                    if slot.key.load(Acquire) != start {
                        return None;
                    }
                    // SAFETY: `insert` stored a `&'static ThreadInfo` there
                    // before publishing `start`.
                    let thread = unsafe { thread.as_ref() }?;
                    return Some(Block { size, thread, stack });
                }
                EMPTY => return None,
                _ => {}
            }
        }
        None
    }

    /// Every block in the table, with its start (for a report, after the
    /// near search failed).
    pub fn for_each(mut f: impl FnMut(usize, Block)) {
        for slot in TABLE.iter() {
            let start = slot.key.load(Relaxed);
            if start > TOMB {
                if let Some(b) = get(start) {
                    f(start, b);
                }
            }
        }
    }
}

/// Record a live block.
fn insert(start: usize, b: Block) {
    if !table::insert(start, &b) {
        shard(start).insert(start, b);
    }
}

/// Forget a freed block.
fn remove(start: usize) {
    if !table::remove(start) {
        shard(start).remove(&start);
    }
}

/// The live block starting at `start`.
fn get(start: usize) -> Option<Block> {
    table::get(start).or_else(|| shard(start).get(&start).cloned())
}

/// Hold this module's locks across `fork` (see `rt::fork`).
pub fn lock_all(held: &mut Vec<Box<dyn std::any::Any>>) {
    for s in &BLOCKS {
        held.push(Box::new(s.lock().unwrap_or_else(|e| e.into_inner())));
    }
    depot::lock_all(held);
}

/// Return addresses kept per allocation, innermost first.
const DEPTH: usize = 12;

#[inline(always)]
pub fn on_alloc(p: *mut u8, size: usize) {
    if p.is_null() || !ENABLED.load(std::sync::atomic::Ordering::Relaxed) {
        return;
    }
    with_state(|st| {
        let mut pcs = [0usize; DEPTH];
        let depth = sys::walk_frames(&mut pcs, st.stack_lo, st.stack_hi);
        let stack = depot::intern(&mut st.stacks, &pcs[..depth]);
        clear_block(p as usize, size);
        insert(p as usize, Block { size, thread: st.info, stack });
    });
}

/// Empty the shadow of `[addr, addr + size)`, and forget the
/// synchronisation objects of the atomics there: they die with the memory.
pub(crate) fn clear_block(addr: usize, size: usize) {
    clear_block_visiting(addr, size, forget_atomics);
}

/// [`clear_block`] with `visit` seeing each granule that was not empty
/// (`shadow::clear`); it must forget the granule's atomics itself.
fn clear_block_visiting(addr: usize, size: usize, visit: impl FnMut(usize, shadow::Kept)) {
    if shadow::clear(addr, size, visit) {
        syncs::remove_range(addr, size);
    }
}

/// A cleared granule's sync object goes with it.
#[inline(always)]
pub(crate) fn forget_atomics(granule: usize, cells: shadow::Kept) {
    if shadow::any_atomic(cells) {
        forget_sync(granule);
    }
}

/// A block is freed at `pc`: the free is a write to all of it, checked
/// against every earlier plain access before its shadow is emptied (a free
/// that races with a read or write of the block is reported, as TSan and
/// Miri do); then it is forgotten.
#[inline(always)]
pub fn on_free(p: *mut u8, size: usize, pc: usize) {
    if p.is_null() || !ENABLED.load(std::sync::atomic::Ordering::Relaxed) {
        return;
    }
    let checked = with_state(|st| {
        let mut racing: Option<(usize, Cell)> = None;
        clear_block_visiting(p as usize, size, |granule, cells| {
            forget_atomics(granule, cells);
            if racing.is_none() {
                // Atomic cells are left out: std's precompiled code frees
                // its own objects (a channel's waker context, say) after
                // synchronising through reference counts the TSan pass
                // never sees, so their atomics would look unordered.
                racing = cells
                    .into_iter()
                    .map(Cell::from_raw)
                    .find(|&c| {
                        !c.is_empty()
                            && !c.is_atomic()
                            && c.slot() != st.slot
                            && !st.clocks.happens_before(c.slot(), c.epoch())
                    })
                    .map(|c| (granule, c));
            }
        });
        if let Some((granule, prev)) = racing {
            let (off, len) = prev.offset_and_size();
            super::report::race(st, granule + off as usize, len as usize, AccessKind::Write, Event::Free(pc as u64), prev);
        }
        remove(p as usize);
    });
    if checked.is_none() {
        while_busy(|| {
            clear_block(p as usize, size);
            remove(p as usize);
        });
    }
}

/// The live block holding `addr`, with its start. Tries each start from
/// `addr` down for a few KiB (most blocks are small), then looks at every
/// block.
pub fn find(addr: usize) -> Option<(usize, Block)> {
    const NEAR: usize = 4096;
    for start in (addr.saturating_sub(NEAR)..=addr).rev() {
        if let Some(b) = get(start) {
            // The nearest start below `addr` is the only block that can
            // hold it (blocks do not overlap).
            return b.holds(start, addr).then_some((start, b));
        }
    }
    let mut best: Option<(usize, Block)> = None;
    let mut consider = |start: usize, b: &Block| {
        if b.holds(start, addr) && best.as_ref().is_none_or(|(s0, _)| start > *s0) {
            best = Some((start, b.clone()));
        }
    };
    table::for_each(|start, b| consider(start, &b));
    for s in &BLOCKS {
        let map = s.lock().unwrap_or_else(|e| e.into_inner());
        for (&start, b) in map.iter() {
            consider(start, b);
        }
    }
    best
}

/// The return addresses of a block's allocation stack.
pub fn stack(b: &Block) -> Vec<usize> {
    depot::get(b.stack)
}

pub use depot::Recent as RecentStacks;

/// Allocation stacks, stored once each and named by a `u32`.
mod depot {
    use std::collections::HashMap;
    use std::sync::Mutex;

    const SHARDS: usize = 16;
    const SHARD_BITS: u32 = 4;

    #[derive(Default)]
    struct Shard {
        ids: HashMap<Box<[usize]>, u32>,
        stacks: Vec<Box<[usize]>>,
    }

    static DEPOT: [Mutex<Option<Shard>>; SHARDS] = [const { Mutex::new(None) }; SHARDS];

    /// A thread's cache: stack hash → id, direct-mapped.
    pub struct Recent(Box<[(u64, u32); 64]>);

    impl Default for Recent {
        fn default() -> Recent {
            Recent(Box::new([(0, 0); 64]))
        }
    }

    fn hash(pcs: &[usize]) -> u64 {
        let mut h = pcs.len() as u64;
        for &pc in pcs {
            h = (h.rotate_left(5) ^ pc as u64).wrapping_mul(0x9E3779B97F4A7C15);
        }
        h | 1 // never 0, the empty cache entry
    }

    #[inline]
    pub fn intern(recent: &mut Recent, pcs: &[usize]) -> u32 {
        let h = hash(pcs);
        let entry = &mut recent.0[(h >> 58) as usize];
        if entry.0 == h {
            return entry.1;
        }
        let id = intern_slow(h, pcs);
        *entry = (h, id);
        id
    }

    #[cold]
    fn intern_slow(h: u64, pcs: &[usize]) -> u32 {
        let s = (h as usize >> 1) % SHARDS;
        let mut guard = DEPOT[s].lock().unwrap_or_else(|e| e.into_inner());
        let shard = guard.get_or_insert_with(Shard::default);
        if let Some(&id) = shard.ids.get(pcs) {
            return id;
        }
        let id = ((shard.stacks.len() as u32) << SHARD_BITS) | s as u32;
        shard.stacks.push(pcs.into());
        shard.ids.insert(pcs.into(), id);
        id
    }

    pub fn get(id: u32) -> Vec<usize> {
        let s = (id as usize) % SHARDS;
        let guard = DEPOT[s].lock().unwrap_or_else(|e| e.into_inner());
        guard
            .as_ref()
            .and_then(|shard| shard.stacks.get((id >> SHARD_BITS) as usize))
            .map(|st| st.to_vec())
            .unwrap_or_default()
    }

    pub fn lock_all(held: &mut Vec<Box<dyn std::any::Any>>) {
        for s in &DEPOT {
            held.push(Box::new(s.lock().unwrap_or_else(|e| e.into_inner())));
        }
    }
}
