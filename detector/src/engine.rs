//! A deterministic engine driven by explicit events.
//!
//! This is the detector in one piece: threads on slots, shadow cells in a map,
//! sync objects, histories. Tests feed it scripts of events and assert the
//! races it finds. The runtime (`racecheck::__rt`) runs the same rules
//! (`shadow::check`, `sync::ThreadClocks`, `history::History`) over real
//! memory, lock-free; this engine is their executable specification.

use std::collections::HashMap;

use crate::clock::{Epoch, Slot, VClock};
use crate::history::{Event, Frame, History, Lost, Restored};
use crate::shadow::{self, AccessKind, Cell, CELLS};
use crate::sync::{Effect, FenceOrd, LoadOrd, RmwOrd, StoreOrd, SyncClock, ThreadClocks};

/// A thread of the script. Thread 0 is the main thread.
#[derive(Copy, Clone, PartialEq, Eq, Debug, Hash)]
pub struct ThreadId(pub usize);

pub const MAIN: ThreadId = ThreadId(0);

/// A race found by the engine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Race {
    pub addr: u64,
    pub kind: AccessKind,
    pub thread: ThreadId,
    pub previous: Cell,
    pub previous_thread: Option<ThreadId>,
    /// The earlier access's event and stack, or `Lost`.
    pub previous_restored: Result<Restored, Lost>,
}

struct EngineThread {
    slot: Slot,
    clocks: ThreadClocks,
    epoch_start: Epoch,
    stack: Vec<Frame>,
    end: Option<SyncClock>,
}

struct SlotState {
    history: History,
    /// Set while no thread occupies the slot: the epoch it ended at.
    free_after: Option<Epoch>,
    /// Which thread held the slot from which epoch.
    occupants: Vec<(Epoch, ThreadId)>,
}

pub struct Engine {
    threads: Vec<EngineThread>,
    slots: Vec<SlotState>,
    /// Each granule's cells and its spill cell (`shadow::check`).
    shadow: HashMap<u64, ([Cell; CELLS], Cell)>,
    syncs: HashMap<u64, SyncClock>,
    history_log2: u32,
    pub races: Vec<Race>,
}

impl Engine {
    /// An engine whose slots keep `2^history_log2` events each.
    pub fn new(history_log2: u32) -> Engine {
        let mut e = Engine {
            threads: vec![],
            slots: vec![],
            shadow: HashMap::new(),
            syncs: HashMap::new(),
            history_log2,
            races: vec![],
        };
        let slot = e.take_slot(&VClock::new(), MAIN);
        e.threads.push(EngineThread {
            slot,
            clocks: ThreadClocks::new(slot),
            epoch_start: 0,
            stack: vec![],
            end: None,
        });
        e.refresh(MAIN);
        e
    }

    /// Pick a slot for a thread created by someone whose clock is `creator`.
    /// A free slot is reused only when the creator has seen its last event, so
    /// reuse can never hide a race.
    fn take_slot(&mut self, creator: &VClock, tid: ThreadId) -> Slot {
        let reusable = self.slots.iter().enumerate().find(|(i, s)| {
            s.free_after.is_some_and(|last| last <= creator.get(Slot::new(*i)))
        });
        let index = match reusable {
            Some((i, _)) => i,
            None => {
                self.slots.push(SlotState {
                    history: History::new(self.history_log2),
                    free_after: None,
                    occupants: vec![],
                });
                self.slots.len() - 1
            }
        };
        let s = &mut self.slots[index];
        s.free_after = None;
        let start = s.history.push(Event::ThreadStart(tid.0 as u64), &[]);
        s.occupants.push((start, tid));
        Slot::new(index)
    }

    fn history(&self, t: ThreadId) -> &History {
        &self.slots[self.threads[t.0].slot.index()].history
    }

    /// The epoch of `t`'s latest event.
    fn now(&self, t: ThreadId) -> Epoch {
        self.history(t).pos() - 1
    }

    fn refresh(&mut self, t: ThreadId) {
        let now = self.now(t);
        self.threads[t.0].clocks.set_now(now);
    }

    fn after(&mut self, t: ThreadId, effect: Effect) {
        if effect.released {
            let next = self.history(t).pos();
            self.threads[t.0].epoch_start = next;
        }
    }

    pub fn spawn(&mut self, parent: ThreadId) -> ThreadId {
        self.refresh(parent);
        let child = ThreadId(self.threads.len());
        let start = self.threads[parent.0].clocks.clock.clone();
        let slot = self.take_slot(&start, child);
        let mut clocks = ThreadClocks::new(slot);
        clocks.clock.join(&start);
        // Cells left by the slot's earlier occupants are not this thread's own.
        let epoch_start = self.slots[slot.index()].history.pos();
        self.threads.push(EngineThread { slot, clocks, epoch_start, stack: vec![], end: None });
        self.refresh(child);
        self.after(parent, Effect { released: true });
        child
    }

    /// `t` finishes; its end is published for joiners.
    pub fn finish(&mut self, t: ThreadId) {
        self.refresh(t);
        let mut end = SyncClock::default();
        self.threads[t.0].clocks.release(&mut end);
        self.threads[t.0].end = Some(end);
    }

    pub fn join(&mut self, joiner: ThreadId, child: ThreadId) {
        if self.threads[child.0].end.is_none() {
            self.finish(child);
        }
        let end = self.threads[child.0].end.clone().expect("finished");
        self.threads[joiner.0].clocks.acquire(&end);
        let last = self.now(child);
        self.slots[self.threads[child.0].slot.index()].free_after = Some(last);
    }

    pub fn enter(&mut self, t: ThreadId, func: u64) {
        let frame = Frame { func, caller_pc: 0 };
        let th = &self.threads[t.0];
        self.slots[th.slot.index()].history.push_enter(frame, &th.stack);
        self.threads[t.0].stack.push(frame);
    }

    pub fn exit(&mut self, t: ThreadId) {
        let th = &self.threads[t.0];
        self.slots[th.slot.index()].history.push(Event::Exit, &th.stack);
        self.threads[t.0].stack.pop();
    }

    pub fn read(&mut self, t: ThreadId, addr: u64, size: u64, site: u64) {
        self.access(t, addr, size, AccessKind::Read, site);
    }

    pub fn write(&mut self, t: ThreadId, addr: u64, size: u64, site: u64) {
        self.access(t, addr, size, AccessKind::Write, site);
    }

    /// Check and record an access; races found are appended to `races`.
    pub fn access(&mut self, t: ThreadId, addr: u64, size: u64, kind: AccessKind, site: u64) {
        let slot = self.threads[t.0].slot;
        let mut epoch = None;
        for (granule, offset, len) in shadow::split(addr, size) {
            let (cells, spill) = self.shadow.get(&granule).copied().unwrap_or(([Cell::EMPTY; CELLS], Cell::EMPTY));
            // The spill cell is read only when a cell says so, as in the runtime.
            let spill = if cells.iter().any(|c| c.flags_spill()) { spill } else { Cell::EMPTY };
            let probe = Cell::new(slot, self.history(t).pos(), offset, len, kind);
            let epoch_start = self.threads[t.0].epoch_start;
            if cells.iter().any(|&c| shadow::is_same_access(c, probe, epoch_start)) {
                continue;
            }
            let e = *epoch.get_or_insert_with(|| {
                let event = match kind {
                    AccessKind::Read => Event::Read(site),
                    AccessKind::Write => Event::Write(site),
                    AccessKind::AtomicRead => Event::AtomicRead(site),
                    AccessKind::AtomicWrite => Event::AtomicWrite(site),
                };
                let th = &self.threads[t.0];
                self.slots[slot.index()].history.push(event, &th.stack)
            });
            self.refresh(t);
            let cur = Cell::new(slot, e, offset, len, kind);
            let clocks = &self.threads[t.0].clocks;
            let v = shadow::check(&cells, spill, cur, |c| clocks.happens_before(c.slot(), c.epoch()), e as usize);
            if let Some(prev) = v.race {
                let race = self.describe(t, granule + offset, kind, prev);
                self.races.push(race);
            }
            let entry = self.shadow.entry(granule).or_insert(([Cell::EMPTY; CELLS], Cell::EMPTY));
            match v.spill {
                shadow::Spill::Keep => {}
                shadow::Spill::Clear => entry.1 = Cell::EMPTY,
                shadow::Spill::Put(evicted) => entry.1 = evicted,
            }
            if let Some(at) = v.store_at {
                entry.0[at] = Cell::from_raw(v.stored(cur, spill));
            }
            for i in 0..CELLS {
                if v.clear >> i & 1 == 1 {
                    entry.0[i] = Cell::EMPTY;
                }
            }
        }
    }

    fn describe(&self, t: ThreadId, addr: u64, kind: AccessKind, prev: Cell) -> Race {
        let slot = &self.slots[prev.slot().index()];
        let previous_thread =
            slot.occupants.iter().rev().find(|(start, _)| *start <= prev.epoch()).map(|(_, tid)| *tid);
        Race {
            addr,
            kind,
            thread: t,
            previous: prev,
            previous_thread,
            previous_restored: slot.history.replay(prev.epoch()),
        }
    }

    /// Lock acquisition (or any full acquire) on the object at `addr`.
    pub fn acquire(&mut self, t: ThreadId, addr: u64) {
        let s = self.syncs.entry(addr).or_default();
        self.threads[t.0].clocks.acquire(s);
    }

    /// Unlock (or any full release) on the object at `addr`.
    pub fn release(&mut self, t: ThreadId, addr: u64) {
        self.refresh(t);
        let s = self.syncs.entry(addr).or_default();
        let eff = self.threads[t.0].clocks.release(s);
        self.after(t, eff);
    }

    pub fn atomic_load(&mut self, t: ThreadId, addr: u64, size: u64, ord: LoadOrd) {
        self.access(t, addr, size, AccessKind::AtomicRead, 0);
        let s = self.syncs.entry(addr).or_default();
        self.threads[t.0].clocks.atomic_load(s, ord);
    }

    pub fn atomic_store(&mut self, t: ThreadId, addr: u64, size: u64, ord: StoreOrd) {
        self.access(t, addr, size, AccessKind::AtomicWrite, 0);
        self.refresh(t);
        let s = self.syncs.entry(addr).or_default();
        let eff = self.threads[t.0].clocks.atomic_store(s, ord);
        self.after(t, eff);
    }

    pub fn atomic_rmw(&mut self, t: ThreadId, addr: u64, size: u64, ord: RmwOrd) {
        self.access(t, addr, size, AccessKind::AtomicWrite, 0);
        self.refresh(t);
        let s = self.syncs.entry(addr).or_default();
        let eff = self.threads[t.0].clocks.atomic_rmw(s, ord);
        self.after(t, eff);
    }

    /// A compare-exchange that failed: a load with the failure ordering.
    pub fn atomic_cas_failed(&mut self, t: ThreadId, addr: u64, size: u64, fail: LoadOrd) {
        self.atomic_load(t, addr, size, fail);
    }

    pub fn fence(&mut self, t: ThreadId, ord: FenceOrd) {
        self.refresh(t);
        let eff = self.threads[t.0].clocks.fence(ord);
        self.after(t, eff);
    }

    /// Memory returned to the allocator by `t` (at `site`): a write to all
    /// of it, checked against every earlier access; then its shadow starts
    /// clean again.
    pub fn free(&mut self, t: ThreadId, addr: u64, size: u64, site: u64) {
        self.access(t, addr, size, AccessKind::Write, site);
        for (granule, _, _) in shadow::split(addr, size) {
            self.shadow.remove(&granule);
        }
    }

    pub fn slot_of(&self, t: ThreadId) -> Slot {
        self.threads[t.0].slot
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::Event;

    const X: u64 = 0x1000;
    const FLAG: u64 = 0x2000;

    fn engine() -> Engine {
        Engine::new(15)
    }

    #[test]
    fn write_write_race_is_reported_with_both_sides() {
        let mut e = engine();
        let a = e.spawn(MAIN);
        let b = e.spawn(MAIN);
        e.enter(a, 11);
        e.write(a, X, 4, 100);
        e.enter(b, 22);
        e.write(b, X, 4, 200);
        assert_eq!(e.races.len(), 1);
        let r = &e.races[0];
        assert_eq!((r.thread, r.kind, r.previous_thread), (b, AccessKind::Write, Some(a)));
        let restored = r.previous_restored.as_ref().unwrap();
        assert_eq!(restored.event, Event::Write(100));
        assert_eq!(restored.stack.iter().map(|f| f.func).collect::<Vec<_>>(), vec![11]);
    }

    #[test]
    fn read_write_race_either_order() {
        let mut e = engine();
        let a = e.spawn(MAIN);
        let b = e.spawn(MAIN);
        e.read(a, X, 8, 1);
        e.write(b, X + 4, 4, 2);
        assert_eq!(e.races.len(), 1);
        assert_eq!(e.races[0].previous.kind(), AccessKind::Read);
        let mut e = engine();
        let a = e.spawn(MAIN);
        let b = e.spawn(MAIN);
        e.write(a, X, 8, 1);
        e.read(b, X, 1, 2);
        assert_eq!(e.races.len(), 1);
        assert_eq!(e.races[0].kind, AccessKind::Read);
    }

    #[test]
    fn read_read_and_distinct_bytes_are_silent() {
        let mut e = engine();
        let a = e.spawn(MAIN);
        let b = e.spawn(MAIN);
        e.read(a, X, 8, 1);
        e.read(b, X, 8, 2);
        e.write(a, X + 8, 4, 3);
        e.write(b, X + 12, 4, 4);
        assert!(e.races.is_empty(), "{:?}", e.races);
    }

    #[test]
    fn release_acquire_publication_is_silent() {
        let mut e = engine();
        let a = e.spawn(MAIN);
        let b = e.spawn(MAIN);
        e.write(a, X, 8, 1);
        e.atomic_store(a, FLAG, 1, StoreOrd::Release);
        e.atomic_load(b, FLAG, 1, LoadOrd::Acquire);
        e.read(b, X, 8, 2);
        e.write(b, X, 8, 3);
        assert!(e.races.is_empty(), "{:?}", e.races);
    }

    #[test]
    fn relaxed_publication_is_reported() {
        let mut e = engine();
        let a = e.spawn(MAIN);
        let b = e.spawn(MAIN);
        e.write(a, X, 8, 1);
        e.atomic_store(a, FLAG, 1, StoreOrd::Relaxed);
        e.atomic_load(b, FLAG, 1, LoadOrd::Acquire);
        e.read(b, X, 8, 2);
        assert_eq!(e.races.len(), 1);
        assert!(e.races.iter().all(|r| r.addr == X), "the flag itself never races");
    }

    #[test]
    fn join_and_spawn_order_accesses() {
        let mut e = engine();
        e.write(MAIN, X, 8, 1);
        let a = e.spawn(MAIN);
        e.write(a, X, 8, 2);
        e.join(MAIN, a);
        e.write(MAIN, X, 8, 3);
        assert!(e.races.is_empty(), "{:?}", e.races);
    }

    #[test]
    fn missing_join_is_a_race() {
        let mut e = engine();
        let a = e.spawn(MAIN);
        e.write(a, X, 8, 2);
        e.write(MAIN, X, 8, 3);
        assert_eq!(e.races.len(), 1);
    }

    #[test]
    fn locks_order_critical_sections() {
        const M: u64 = 0x3000;
        let mut e = engine();
        let a = e.spawn(MAIN);
        let b = e.spawn(MAIN);
        e.acquire(a, M);
        e.write(a, X, 8, 1);
        e.release(a, M);
        e.acquire(b, M);
        e.write(b, X, 8, 2);
        e.release(b, M);
        assert!(e.races.is_empty());
        e.write(a, X, 8, 3); // outside the lock
        assert_eq!(e.races.len(), 1);
    }

    #[test]
    fn slots_are_reused_after_join_without_hiding_races() {
        let mut e = engine();
        let a = e.spawn(MAIN);
        let slot_a = e.slot_of(a);
        e.write(a, X, 8, 1);
        e.join(MAIN, a);
        let b = e.spawn(MAIN);
        assert_eq!(e.slot_of(b), slot_a, "joined slot is reused");
        e.write(b, X, 8, 2);
        assert!(e.races.is_empty());
        // A thread that has not seen b's end may not reuse b's slot.
        let c = e.spawn(MAIN);
        e.write(c, X, 8, 3);
        assert_eq!(e.races.len(), 1);
        assert_eq!(e.races[0].previous_thread, Some(b));
        e.join(c, b);
        let d = e.spawn(MAIN);
        assert_ne!(e.slot_of(d), slot_a, "main has not seen b finish");
    }

    #[test]
    fn freed_memory_starts_clean() {
        let mut e = engine();
        let a = e.spawn(MAIN);
        let b = e.spawn(MAIN);
        e.write(a, X, 64, 1);
        e.free(a, X, 64, 3);
        e.write(b, X, 8, 2);
        assert!(e.races.is_empty());
    }

    #[test]
    fn a_free_is_a_write_to_the_whole_block() {
        let mut e = engine();
        let a = e.spawn(MAIN);
        let b = e.spawn(MAIN);
        // b reads one word in the middle; a frees the block unordered.
        e.read(b, X + 24, 8, 1);
        e.free(a, X, 64, 2);
        assert_eq!(e.races.len(), 1);
        assert_eq!(e.races[0].previous_thread, Some(b));
        // Ordered by a join, the same free is no race.
        let mut e = engine();
        let a = e.spawn(MAIN);
        let b = e.spawn(MAIN);
        e.read(b, X + 24, 8, 1);
        e.join(a, b);
        e.free(a, X, 64, 2);
        assert!(e.races.is_empty());
    }

    #[test]
    fn overflowed_history_still_reports_the_race() {
        let mut e = Engine::new(11);
        let a = e.spawn(MAIN);
        let b = e.spawn(MAIN);
        e.enter(a, 1);
        e.write(a, X, 8, 1);
        for i in 0..5000u64 {
            e.write(a, 0x10_0000 + 8 * i, 8, 9);
        }
        e.write(b, X, 8, 2);
        assert_eq!(e.races.len(), 1);
        assert_eq!(e.races[0].previous_restored, Err(Lost));
    }

    #[test]
    fn fences_and_release_sequences() {
        let mut e = engine();
        let a = e.spawn(MAIN);
        let b = e.spawn(MAIN);
        let c = e.spawn(MAIN);
        e.write(a, X, 8, 1);
        e.fence(a, FenceOrd::Release);
        e.atomic_store(a, FLAG, 8, StoreOrd::Relaxed);
        e.atomic_rmw(c, FLAG, 8, RmwOrd::Relaxed);
        e.atomic_load(b, FLAG, 8, LoadOrd::Relaxed);
        e.fence(b, FenceOrd::Acquire);
        e.read(b, X, 8, 2);
        assert!(e.races.is_empty(), "{:?}", e.races);
        e.write(c, X, 8, 3);
        assert_eq!(e.races.len(), 1, "c acquired nothing");
    }

    #[test]
    fn mixed_size_atomics_race_same_size_do_not() {
        let mut e = engine();
        let a = e.spawn(MAIN);
        let b = e.spawn(MAIN);
        e.atomic_rmw(a, FLAG, 4, RmwOrd::Relaxed);
        e.atomic_rmw(b, FLAG, 4, RmwOrd::Relaxed);
        assert!(e.races.is_empty());
        e.atomic_store(b, FLAG, 2, StoreOrd::Relaxed);
        assert_eq!(e.races.len(), 1);
        e.write(a, FLAG + 4, 4, 7);
        e.write(b, FLAG, 1, 8);
        assert_eq!(e.races.len(), 2, "atomic vs plain write");
    }

    /// Two readers ordered after a write take both cells; the write moves
    /// to the spill cell, and a third reader not ordered after it races
    /// with it (issue 19: it used to be evicted, and this race missed).
    #[test]
    fn a_write_outlives_two_ordered_readers() {
        let mut e = engine();
        let late = e.spawn(MAIN);
        let w = e.spawn(MAIN);
        e.write(w, X, 8, 1);
        e.join(MAIN, w);
        let r2 = e.spawn(MAIN);
        let r3 = e.spawn(MAIN);
        e.read(r2, X, 8, 2);
        e.read(r3, X, 8, 3);
        // Both readers read again: no report, and no cell lost.
        e.read(r2, X, 8, 2);
        e.read(r3, X, 8, 3);
        assert!(e.races.is_empty(), "{:?}", e.races);
        e.read(late, X, 8, 4);
        assert_eq!(e.races.len(), 1, "{:?}", e.races);
        assert_eq!(e.races[0].previous_thread, Some(w));
        assert_eq!(e.races[0].previous.kind(), AccessKind::Write);
    }
}
