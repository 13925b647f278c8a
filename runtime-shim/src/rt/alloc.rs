//! Heap blocks: freed and reallocated memory starts with clean shadow, and
//! reports can say which block an address is in and who allocated it.

use std::collections::BTreeMap;
use std::sync::Mutex;

use super::thread::ThreadInfo;
use super::{forget_sync, shadow, sys, while_busy, with_state, ENABLED};

/// A live heap block.
#[derive(Clone)]
pub struct Block {
    pub size: usize,
    pub thread: &'static ThreadInfo,
    /// Return addresses at the allocation, innermost first.
    pub pcs: [usize; 12],
    pub depth: u8,
}

const SHARDS: usize = 64;
static BLOCKS: [Mutex<BTreeMap<usize, Block>>; SHARDS] = [const { Mutex::new(BTreeMap::new()) }; SHARDS];

fn shard(addr: usize) -> std::sync::MutexGuard<'static, BTreeMap<usize, Block>> {
    let i = ((addr >> 4).wrapping_mul(0x9E3779B97F4A7C15) >> 58) % SHARDS;
    BLOCKS[i].lock().unwrap_or_else(|e| e.into_inner())
}

/// Hold this module's locks across `fork` (see `rt::fork`).
pub fn lock_all(held: &mut Vec<Box<dyn std::any::Any>>) {
    for s in &BLOCKS {
        held.push(Box::new(s.lock().unwrap_or_else(|e| e.into_inner())));
    }
}

#[inline(always)]
pub fn on_alloc(p: *mut u8, size: usize) {
    if p.is_null() || !ENABLED.load(std::sync::atomic::Ordering::Relaxed) {
        return;
    }
    with_state(|st| {
        let mut pcs = [0usize; 12];
        let depth = sys::walk_frames(&mut pcs, st.stack_lo, st.stack_hi) as u8;
        shadow::clear(p as usize, size, forget_sync);
        shard(p as usize).insert(p as usize, Block { size, thread: st.info, pcs, depth });
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

/// The live block holding `addr`, with its start.
pub fn find(addr: usize) -> Option<(usize, Block)> {
    let mut best: Option<(usize, Block)> = None;
    for s in &BLOCKS {
        let map = s.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((&start, b)) = map.range(..=addr).next_back() {
            if addr < start + b.size.max(1) && best.as_ref().is_none_or(|(s0, _)| start > *s0) {
                best = Some((start, b.clone()));
            }
        }
    }
    best
}
