//! (5) A lock-free single-producer single-consumer ring buffer moving 10^7
//! messages with Acquire/Release atomics.
use racecheck::race_check;
use racecheck_workloads::scale;
use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicUsize, Ordering::*};
use std::sync::Arc;
use std::thread;

const CAP: usize = 1024;

pub struct Ring {
    slots: UnsafeCell<[u64; CAP]>,
    head: AtomicUsize,
    tail: AtomicUsize,
}
unsafe impl Sync for Ring {}

#[race_check]
impl Ring {
    fn push(&self, v: u64) -> bool {
        let t = self.tail.load(Relaxed);
        if t - self.head.load(Acquire) == CAP {
            return false;
        }
        unsafe { (*self.slots.get())[t % CAP] = v };
        self.tail.store(t + 1, Release);
        true
    }

    fn pop(&self) -> Option<u64> {
        let h = self.head.load(Relaxed);
        if h == self.tail.load(Acquire) {
            return None;
        }
        let v = unsafe { (*self.slots.get())[h % CAP] };
        self.head.store(h + 1, Release);
        Some(v)
    }
}

#[race_check]
fn main() {
    let n = scale(10_000_000);
    let r = Arc::new(Ring { slots: UnsafeCell::new([0; CAP]), head: AtomicUsize::new(0), tail: AtomicUsize::new(0) });
    // `w5_spsc_ring SCALE 1`: one thread pushes and pops in turn, the same
    // operations with no cache line moving between cores (for context).
    if std::env::args().nth(2).as_deref() == Some("1") {
        let mut sum = 0u64;
        for i in 0..n {
            r.push(i);
            sum = sum.wrapping_add(r.pop().unwrap());
        }
        println!("{sum}");
        return;
    }
    let r2 = Arc::clone(&r);
    let producer = thread::spawn(move || {
        for i in 0..n {
            while !r2.push(i) {
                std::hint::spin_loop();
            }
        }
    });
    let mut sum = 0u64;
    let mut got = 0;
    while got < n {
        if let Some(v) = r.pop() {
            sum = sum.wrapping_add(v);
            got += 1;
        } else {
            std::hint::spin_loop();
        }
    }
    producer.join().unwrap();
    println!("{sum}");
}
