//! Happens-before through synchronisation objects, atomics and fences.
//!
//! Model: C++20 / Rust atomics, as in Lidbury & Donaldson, "Dynamic Race
//! Detection for C++11" (POPL 2017) and miri's `data_race.rs`:
//!
//! * A [`SyncClock`] hangs off every address used for synchronisation. It holds
//!   the clock an acquirer of the value currently stored there obtains.
//! * A release store *replaces* that clock (it heads a new release sequence);
//!   a release read-modify-write *joins* into it; a relaxed RMW leaves it in
//!   place, so release sequences continue through chains of RMWs; a relaxed
//!   store ends the sequence (C++20) and leaves only what an earlier release
//!   fence of the storing thread published.
//! * Fences use per-thread fence clocks: a release fence snapshots the thread's
//!   clock for its later relaxed stores; relaxed loads collect what they could
//!   acquire, and an acquire fence makes it the thread's own.
//! * SeqCst orders which value each SeqCst load may read (a total order of
//!   all SeqCst operations), but creates happens-before only the way any
//!   acquire or release does: through reads-from. A SeqCst load acquires,
//!   a SeqCst store releases, a SeqCst RMW does both, a SeqCst fence is an
//!   acquire and a release fence. There is no global SeqCst clock: joining
//!   every SeqCst operation into one would order accesses the model leaves
//!   unordered (std's channels run SeqCst operations, and a write after
//!   `send` would look ordered with a write before `try_recv`), hiding races.
//!
//! Locks, thread start and join use the same objects: unlock is a release
//! (join), lock an acquire.
//!
//! Not modelled: weak-memory behaviours (a load here always reads the latest
//! store in modification order, as the real operation on x86 does).

use crate::clock::{Epoch, Slot, VClock};

/// The clock published at one address.
#[derive(Clone, Default, Debug, PartialEq, Eq)]
pub struct SyncClock {
    pub clock: VClock,
}

#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum LoadOrd {
    Relaxed,
    Acquire,
    SeqCst,
}

#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum StoreOrd {
    Relaxed,
    Release,
    SeqCst,
}

#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum RmwOrd {
    Relaxed,
    Acquire,
    Release,
    AcqRel,
    SeqCst,
}

#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum FenceOrd {
    Acquire,
    Release,
    AcqRel,
    SeqCst,
}

impl LoadOrd {
    /// From the `mo` argument of the `__tsan_atomic*` ABI (0 relaxed,
    /// 1 consume, 2 acquire, 3 release, 4 acq_rel, 5 seq_cst).
    pub fn from_tsan(mo: i32) -> LoadOrd {
        match mo {
            0 | 3 => LoadOrd::Relaxed,
            5 => LoadOrd::SeqCst,
            _ => LoadOrd::Acquire,
        }
    }
}

impl StoreOrd {
    pub fn from_tsan(mo: i32) -> StoreOrd {
        match mo {
            0..=2 => StoreOrd::Relaxed,
            5 => StoreOrd::SeqCst,
            _ => StoreOrd::Release,
        }
    }
}

impl RmwOrd {
    pub fn from_tsan(mo: i32) -> RmwOrd {
        match mo {
            0 => RmwOrd::Relaxed,
            1 | 2 => RmwOrd::Acquire,
            3 => RmwOrd::Release,
            4 => RmwOrd::AcqRel,
            _ => RmwOrd::SeqCst,
        }
    }

    pub fn acquires(self) -> bool {
        matches!(self, RmwOrd::Acquire | RmwOrd::AcqRel | RmwOrd::SeqCst)
    }

    pub fn releases(self) -> bool {
        matches!(self, RmwOrd::Release | RmwOrd::AcqRel | RmwOrd::SeqCst)
    }
}

impl FenceOrd {
    /// `None` for a relaxed "fence", which does nothing.
    pub fn from_tsan(mo: i32) -> Option<FenceOrd> {
        match mo {
            0 => None,
            1 | 2 => Some(FenceOrd::Acquire),
            3 => Some(FenceOrd::Release),
            4 => Some(FenceOrd::AcqRel),
            _ => Some(FenceOrd::SeqCst),
        }
    }
}

/// A thread's clocks. `clock[slot]` is refreshed from the thread's current
/// epoch by [`ThreadClocks::set_now`] before any operation that publishes it.
#[derive(Clone, Debug)]
pub struct ThreadClocks {
    pub slot: Slot,
    pub clock: VClock,
    /// What an acquire fence would acquire: clocks seen by relaxed loads.
    fence_acquire: VClock,
    /// What relaxed stores publish: the clock at the last release fence.
    fence_release: VClock,
}

/// What an operation did to the thread, so the caller can maintain its
/// fast-path state: after a release, later accesses are in a new epoch.
#[derive(Copy, Clone, PartialEq, Eq, Debug, Default)]
pub struct Effect {
    pub released: bool,
}

impl ThreadClocks {
    pub fn new(slot: Slot) -> ThreadClocks {
        ThreadClocks { slot, clock: VClock::new(), fence_acquire: VClock::new(), fence_release: VClock::new() }
    }

    /// Record the thread's present position in its own component.
    #[inline]
    pub fn set_now(&mut self, now: Epoch) {
        self.clock.set(self.slot, now);
    }

    /// Does the access `epoch@slot` happen before this thread's present?
    #[inline]
    pub fn happens_before(&self, slot: Slot, epoch: Epoch) -> bool {
        epoch <= self.clock.get(slot)
    }

    /// Lock acquisition, thread start, join: take everything published.
    pub fn acquire(&mut self, s: &SyncClock) {
        self.clock.join(&s.clock);
    }

    /// Unlock, thread exit: publish, keeping what others published too.
    pub fn release(&mut self, s: &mut SyncClock) -> Effect {
        s.clock.join(&self.clock);
        Effect { released: true }
    }

    pub fn atomic_load(&mut self, s: &SyncClock, ord: LoadOrd) {
        match ord {
            LoadOrd::Relaxed => self.fence_acquire.join(&s.clock),
            LoadOrd::Acquire | LoadOrd::SeqCst => self.clock.join(&s.clock),
        }
    }

    pub fn atomic_store(&mut self, s: &mut SyncClock, ord: StoreOrd) -> Effect {
        let (clock, effect) = self.stored_clock(ord);
        s.clock.assign(clock);
        effect
    }

    /// What a store with ordering `ord` leaves at its address: the clock
    /// that replaces the address's clock (a store heads a new release
    /// sequence, so the old one is not read), and the store's effect.
    pub fn stored_clock(&self, ord: StoreOrd) -> (&VClock, Effect) {
        match ord {
            StoreOrd::Relaxed => (&self.fence_release, Effect::default()),
            StoreOrd::Release | StoreOrd::SeqCst => (&self.clock, Effect { released: true }),
        }
    }

    pub fn atomic_rmw(&mut self, s: &mut SyncClock, ord: RmwOrd) -> Effect {
        if ord.acquires() {
            self.clock.join(&s.clock);
        } else {
            self.fence_acquire.join(&s.clock);
        }
        if ord.releases() {
            s.clock.join(&self.clock);
            Effect { released: true }
        } else {
            s.clock.join(&self.fence_release);
            Effect::default()
        }
    }

    pub fn fence(&mut self, ord: FenceOrd) -> Effect {
        let acquire = matches!(ord, FenceOrd::Acquire | FenceOrd::AcqRel | FenceOrd::SeqCst);
        let release = matches!(ord, FenceOrd::Release | FenceOrd::AcqRel | FenceOrd::SeqCst);
        if acquire {
            self.clock.join(&self.fence_acquire.clone());
        }
        if release {
            self.fence_release.assign(&self.clock);
        }
        Effect { released: release }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn thread(slot: usize, now: u64) -> ThreadClocks {
        let mut t = ThreadClocks::new(Slot::new(slot));
        t.set_now(now);
        t
    }

    #[test]
    fn release_store_acquire_load_synchronises() {
        let (mut a, mut b) = (thread(0, 5), thread(1, 1));
        let mut s = SyncClock::default();
        a.atomic_store(&mut s, StoreOrd::Release);
        b.atomic_load(&s, LoadOrd::Acquire);
        assert!(b.happens_before(Slot::new(0), 5));
    }

    #[test]
    fn relaxed_does_not_synchronise() {
        let (mut a, mut b) = (thread(0, 5), thread(1, 1));
        let mut s = SyncClock::default();
        a.atomic_store(&mut s, StoreOrd::Relaxed);
        b.atomic_load(&s, LoadOrd::Acquire);
        assert!(!b.happens_before(Slot::new(0), 5));
        let mut s = SyncClock::default();
        a.atomic_store(&mut s, StoreOrd::Release);
        b.atomic_load(&s, LoadOrd::Relaxed);
        assert!(!b.happens_before(Slot::new(0), 5));
    }

    #[test]
    fn fences_pair_with_relaxed_accesses() {
        let (mut a, mut b) = (thread(0, 5), thread(1, 1));
        let mut s = SyncClock::default();
        a.fence(FenceOrd::Release);
        a.set_now(6);
        a.atomic_store(&mut s, StoreOrd::Relaxed);
        b.atomic_load(&s, LoadOrd::Relaxed);
        assert!(!b.happens_before(Slot::new(0), 5), "no acquire fence yet");
        b.fence(FenceOrd::Acquire);
        assert!(b.happens_before(Slot::new(0), 5));
        assert!(!b.happens_before(Slot::new(0), 6), "after the release fence");
    }

    #[test]
    fn release_sequence_through_relaxed_rmw() {
        let (mut a, mut b, mut c) = (thread(0, 5), thread(1, 1), thread(2, 1));
        let mut s = SyncClock::default();
        a.atomic_store(&mut s, StoreOrd::Release);
        b.atomic_rmw(&mut s, RmwOrd::Relaxed);
        c.atomic_load(&s, LoadOrd::Acquire);
        assert!(c.happens_before(Slot::new(0), 5), "RMW continues A's release sequence");
        assert!(!c.happens_before(Slot::new(1), 1), "B released nothing");
        // A relaxed plain store by another thread ends the sequence.
        b.atomic_store(&mut s, StoreOrd::Relaxed);
        let mut d = thread(3, 1);
        d.atomic_load(&s, LoadOrd::Acquire);
        assert!(!d.happens_before(Slot::new(0), 5));
    }

    #[test]
    fn locks_and_orders_from_tsan() {
        let (mut a, mut b) = (thread(0, 9), thread(1, 1));
        let mut m = SyncClock::default();
        assert!(a.release(&mut m).released);
        b.acquire(&m);
        assert!(b.happens_before(Slot::new(0), 9));
        assert_eq!(LoadOrd::from_tsan(2), LoadOrd::Acquire);
        assert_eq!(StoreOrd::from_tsan(3), StoreOrd::Release);
        assert_eq!(RmwOrd::from_tsan(4), RmwOrd::AcqRel);
        assert_eq!(FenceOrd::from_tsan(0), None);
        assert_eq!(FenceOrd::from_tsan(5), Some(FenceOrd::SeqCst));
    }

    #[test]
    fn seq_cst_orders_only_through_reads_from() {
        // a: SeqCst RMW on x, then writes; b: earlier SeqCst RMW on y. No
        // reads-from between them: b learns nothing of a.
        let (mut a, mut b) = (thread(0, 5), thread(1, 7));
        let (mut x, mut y) = (SyncClock::default(), SyncClock::default());
        b.atomic_rmw(&mut y, RmwOrd::SeqCst);
        a.atomic_rmw(&mut x, RmwOrd::SeqCst);
        a.fence(FenceOrd::SeqCst);
        b.fence(FenceOrd::SeqCst);
        assert!(!b.happens_before(Slot::new(0), 5), "SeqCst operations on other addresses order nothing");
        assert!(!a.happens_before(Slot::new(1), 7));
        // Reading what a SeqCst store wrote acquires it.
        a.atomic_store(&mut y, StoreOrd::SeqCst);
        b.atomic_load(&y, LoadOrd::SeqCst);
        assert!(b.happens_before(Slot::new(0), 5));
    }
}
