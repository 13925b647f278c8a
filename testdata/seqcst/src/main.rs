//! SeqCst creates happens-before only through reads-from, as acquire and
//! release do (C++20, Rust): a SeqCst operation on one address orders
//! nothing with a SeqCst operation on another, and a compare-exchange that
//! fails only reads.
//!
//! `seqcst racy` has three races a global SeqCst clock would hide or
//! invent nothing about: a write after `tx.send` against a write before
//! `try_recv` (std's channel runs SeqCst operations in both), writes around
//! SeqCst read-modify-writes of two different atomics, and a successful
//! compare-exchange against a plain read of its word.
//! `seqcst fixed` is correct code that must stay silent: the channel used
//! to hand over, Peterson's lock with SeqCst, message passing through SeqCst
//! fences around relaxed accesses, and a plain read of a word a failing
//! compare-exchange only read.
use racecheck::race_check;
use std::sync::atomic::{fence, AtomicBool, AtomicU64, AtomicUsize, Ordering::*};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

static mut CHANNEL_DATA: u64 = 0;
static mut RMW_DATA: u64 = 0;
static CAS_WORD: AtomicU64 = AtomicU64::new(0);
static A: AtomicU64 = AtomicU64::new(0);
static B: AtomicU64 = AtomicU64::new(0);

/// Only so each report reads the same on every run: sleeping orders nothing.
fn later() {
    thread::sleep(Duration::from_millis(50));
}

#[race_check]
mod scenarios {
    use super::*;

    pub fn channel_write_after_send() {
        let (tx, rx) = mpsc::channel();
        let t = thread::spawn(move || {
            later();
            tx.send(0u8).unwrap();
            unsafe { CHANNEL_DATA = 1 };
        });
        unsafe { CHANNEL_DATA = 2 };
        // Polled, not spun on, so the main thread's history still holds
        // its write when the race is found (sleeping orders nothing).
        while rx.try_recv().is_err() {
            thread::sleep(Duration::from_millis(1));
        }
        t.join().unwrap();
    }

    pub fn rmw_on_other_atomics() {
        let t = thread::spawn(|| {
            unsafe { RMW_DATA = 1 };
            A.fetch_add(1, SeqCst);
        });
        later();
        B.fetch_add(1, SeqCst);
        unsafe { RMW_DATA = 2 };
        t.join().unwrap();
    }

    /// `expected`: what the compare-exchange expects (0 succeeds).
    pub fn cas_then_plain_read(expected: u64) {
        CAS_WORD.store(0, Relaxed);
        let t = thread::spawn(move || {
            let _ = CAS_WORD.compare_exchange(expected, 1, SeqCst, SeqCst);
        });
        later();
        let p = CAS_WORD.as_ptr();
        let v = unsafe { *p };
        t.join().unwrap();
        let _ = v;
    }

    pub fn channel_hand_over() {
        let mut data = Box::new(0u64);
        let p = SendPtr(&mut *data);
        let (tx, rx) = mpsc::channel::<()>();
        let t = thread::spawn(move || {
            let p = p;
            rx.recv().unwrap();
            unsafe { *p.0 += 1 };
        });
        *data = 2;
        tx.send(()).unwrap();
        t.join().unwrap();
        assert_eq!(*data, 3);
    }

    /// Peterson's lock, every operation SeqCst: the critical sections are
    /// ordered by what each thread reads of the other's flag and the turn.
    pub fn peterson(rounds: u64) -> u64 {
        static FLAGS: [AtomicBool; 2] = [AtomicBool::new(false), AtomicBool::new(false)];
        static TURN: AtomicUsize = AtomicUsize::new(0);
        static mut COUNT: u64 = 0;
        let worker = |me: usize| {
            let other = 1 - me;
            for _ in 0..rounds {
                FLAGS[me].store(true, SeqCst);
                TURN.store(other, SeqCst);
                while FLAGS[other].load(SeqCst) && TURN.load(SeqCst) == other {
                    std::hint::spin_loop();
                }
                unsafe { COUNT += 1 };
                FLAGS[me].store(false, SeqCst);
            }
        };
        thread::scope(|s| {
            s.spawn(|| worker(0));
            s.spawn(|| worker(1));
        });
        unsafe { COUNT }
    }

    /// Data, a SeqCst fence, a relaxed flag; the reader's relaxed load, a
    /// SeqCst fence, the data.
    pub fn fence_message_passing() {
        static READY: AtomicBool = AtomicBool::new(false);
        static mut MESSAGE: u64 = 0;
        let t = thread::spawn(|| {
            unsafe { MESSAGE = 42 };
            fence(SeqCst);
            READY.store(true, Relaxed);
        });
        while !READY.load(Relaxed) {
            std::hint::spin_loop();
        }
        fence(SeqCst);
        assert_eq!(unsafe { MESSAGE }, 42);
        t.join().unwrap();
    }
}

struct SendPtr(*mut u64);
unsafe impl Send for SendPtr {}

fn main() {
    match std::env::args().nth(1).as_deref() {
        Some("racy") => {
            scenarios::channel_write_after_send();
            scenarios::rmw_on_other_atomics();
            scenarios::cas_then_plain_read(0);
        }
        Some("fixed") => {
            scenarios::channel_hand_over();
            assert_eq!(scenarios::peterson(2000), 4000);
            scenarios::fence_message_passing();
            scenarios::cas_then_plain_read(5);
        }
        _ => eprintln!("usage: seqcst racy|fixed"),
    }
}
