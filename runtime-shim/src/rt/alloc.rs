//! Heap blocks: freed and reallocated memory starts with clean shadow, and
//! reports can say which block an address is in and who allocated it.
//!
//! Every allocation and free passes through here, so the bookkeeping is kept
//! small: a block is 24 bytes in a hash map keyed by its start, and its
//! allocation stack is interned once in a stack depot (a thread remembers
//! the stacks it interned last, so an allocation site in a loop takes no
//! lock for its stack). Finding the block that holds an address is only
//! needed for a report, and searches.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::sync::{Mutex, MutexGuard};

use super::syncs::AddrHasher;
use super::thread::ThreadInfo;
use super::{forget_sync, shadow, sys, while_busy, with_state, ENABLED};

/// A live heap block.
#[derive(Clone)]
pub struct Block {
    pub size: usize,
    pub thread: &'static ThreadInfo,
    /// The allocation stack in the depot (see [`stack`]).
    pub stack: u32,
}

type Blocks = HashMap<usize, Block, BuildHasherDefault<AddrHasher>>;
const SHARDS: usize = 64;
static BLOCKS: [Mutex<Blocks>; SHARDS] = [const { Mutex::new(HashMap::with_hasher(BuildHasherDefault::new())) }; SHARDS];

fn shard(addr: usize) -> MutexGuard<'static, Blocks> {
    let i = ((addr >> 4).wrapping_mul(0x9E3779B97F4A7C15) >> 58) % SHARDS;
    BLOCKS[i].lock().unwrap_or_else(|e| e.into_inner())
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
        shadow::clear(p as usize, size, forget_sync);
        shard(p as usize).insert(p as usize, Block { size, thread: st.info, stack });
    });
}

#[inline(always)]
pub fn on_free(p: *mut u8, size: usize) {
    if p.is_null() || !ENABLED.load(std::sync::atomic::Ordering::Relaxed) {
        return;
    }
    while_busy(|| {
        shadow::clear(p as usize, size, forget_sync);
        shard(p as usize).remove(&(p as usize));
    });
}

/// The live block holding `addr`, with its start. Tries each start from
/// `addr` down for a few KiB (most blocks are small), then looks at every
/// block.
pub fn find(addr: usize) -> Option<(usize, Block)> {
    const NEAR: usize = 4096;
    for start in (addr.saturating_sub(NEAR)..=addr).rev() {
        if let Some(b) = shard(start).get(&start) {
            // The nearest start below `addr` is the only block that can
            // hold it (blocks do not overlap).
            return (addr < start + b.size.max(1)).then(|| (start, b.clone()));
        }
    }
    let mut best: Option<(usize, Block)> = None;
    for s in &BLOCKS {
        let map = s.lock().unwrap_or_else(|e| e.into_inner());
        for (&start, b) in map.iter() {
            if start <= addr && addr < start + b.size.max(1) && best.as_ref().is_none_or(|(s0, _)| start > *s0) {
                best = Some((start, b.clone()));
            }
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
