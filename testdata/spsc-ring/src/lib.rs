//! A hand-written single-producer single-consumer ring, the flagship case:
//! the producer writes a slot, then publishes it by storing `tail`. With a
//! `Release` store (`Ring::new(.., Ordering::Release)`) the consumer's
//! `Acquire` load of `tail` orders the slot's write before its read; with
//! `Relaxed` (the bug) nothing does, and every read races with its write.
//!
//! The `racy_*` tests use the buggy ring and must each fail with a report
//! that restores the producer's stack, however long the producer ran since
//! (10,000 and 1,000,000 items through 64 slots, both threads spinning on a
//! full or empty ring). `racy_consumer_in_worker` finds its race in a
//! thread the test depends on: that thread must keep running (unwound, it
//! would leave the producer spinning forever), and the test, annotated,
//! still fails when it returns.
//! The `fixed_*` tests are their twins with the `Release` store: silent.
use racecheck::race_check;
use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicUsize, Ordering};

pub struct Ring {
    slots: Box<[UnsafeCell<u64>]>,
    head: AtomicUsize,
    tail: AtomicUsize,
    publish: Ordering,
}

// Sound only when `publish` is `Release` and there is one producer and one
// consumer.
unsafe impl Sync for Ring {}

#[race_check]
impl Ring {
    pub fn new(capacity: usize, publish: Ordering) -> Ring {
        Ring {
            slots: (0..capacity).map(|_| UnsafeCell::new(0)).collect(),
            head: AtomicUsize::new(0),
            tail: AtomicUsize::new(0),
            publish,
        }
    }

    /// Producer side: false when the ring is full.
    pub fn try_push(&self, v: u64) -> bool {
        let tail = self.tail.load(Ordering::Relaxed);
        if tail - self.head.load(Ordering::Acquire) == self.slots.len() {
            return false;
        }
        unsafe { *self.slots[tail % self.slots.len()].get() = v };
        self.tail.store(tail + 1, self.publish);
        true
    }

    /// Consumer side: `None` when the ring is empty.
    pub fn try_pop(&self) -> Option<u64> {
        let head = self.head.load(Ordering::Relaxed);
        if head == self.tail.load(Ordering::Acquire) {
            return None;
        }
        let v = unsafe { *self.slots[head % self.slots.len()].get() };
        self.head.store(head + 1, Ordering::Release);
        Some(v)
    }
}

/// Send `0..n` from a producer thread to the test's thread.
pub fn transfer(n: u64, publish: Ordering) {
    let ring = Ring::new(64, publish);
    std::thread::scope(|s| {
        s.spawn(|| {
            for i in 0..n {
                while !ring.try_push(i) {
                    std::hint::spin_loop();
                }
            }
        });
        let mut next = 0;
        while next < n {
            if let Some(v) = ring.try_pop() {
                assert_eq!(v, next);
                next += 1;
            }
        }
    });
}

/// Send `0..n` from the test's thread to a consumer thread.
pub fn transfer_to_worker(n: u64, publish: Ordering) {
    let ring = Ring::new(64, publish);
    std::thread::scope(|s| {
        let consumer = s.spawn(|| {
            let mut next = 0;
            while next < n {
                if let Some(v) = ring.try_pop() {
                    assert_eq!(v, next);
                    next += 1;
                }
            }
            next
        });
        for i in 0..n {
            while !ring.try_push(i) {
                std::hint::spin_loop();
            }
        }
        assert_eq!(consumer.join().unwrap(), n);
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn racy_10k() {
        transfer(10_000, Ordering::Relaxed);
    }

    #[test]
    fn racy_1m() {
        transfer(1_000_000, Ordering::Relaxed);
    }

    // Annotated, so the test fails when it returns although its own thread
    // found no race (an unannotated one is named in racecheck's summary and
    // the run exits 66, but libtest would print `ok`).
    #[race_check]
    #[test]
    fn racy_consumer_in_worker() {
        transfer_to_worker(10_000, Ordering::Relaxed);
    }

    #[test]
    fn fixed_10k() {
        transfer(10_000, Ordering::Release);
    }

    #[test]
    fn fixed_1m() {
        transfer(1_000_000, Ordering::Release);
    }

    #[race_check]
    #[test]
    fn fixed_consumer_in_worker() {
        transfer_to_worker(10_000, Ordering::Release);
    }
}
