//! A race whose earlier access is far back in its thread's history: thread A
//! writes, then makes many calls, each writing a word of its own buffer not
//! written before (a call that records nothing leaves no history); only
//! then does thread B write. With a small `history_size` A's part of the
//! history is overwritten, and the race must still be reported, with
//! `[failed to restore the stack]`.
//! `lost-history N joined` is the fixed twin: A is joined before B starts.
//! `lost-history N sweep`: A's N writes are one loop in one frame instead
//! of N calls, each to a word not written before. The loop's accesses are
//! one event of history, repeated, so A's first write stays restorable
//! even with the smallest history. `lost-history N sweep joined` is its
//! fixed twin.
use racecheck::race_check;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::thread;

static mut SLOT: u64 = 0;
static WRITTEN: AtomicBool = AtomicBool::new(false);

#[race_check]
fn busy(buf: &mut [u64], i: u64) -> u64 {
    let n = buf.len();
    buf[i as usize % n] = i.wrapping_mul(31);
    buf[i as usize % n]
}

#[race_check]
fn main() {
    let calls: u64 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let flag = |name: &str| std::env::args().skip(2).any(|a| a == name);
    let sweep = flag("sweep");
    let a = thread::spawn(move || {
        unsafe { SLOT = 1 };
        let mut x = 0;
        let mut buf = vec![0u64; calls as usize];
        if sweep {
            let p = buf.as_mut_ptr();
            for i in 0..calls as usize {
                unsafe { *p.add(i) = i as u64 };
            }
            x = buf[calls as usize / 2];
        } else {
            for i in 0..calls {
                x ^= busy(&mut buf, i);
            }
        }
        // Relaxed: decides the order, orders no memory.
        WRITTEN.store(true, Relaxed);
        x
    });
    let joined = flag("joined");
    let a = if joined {
        a.join().unwrap();
        None
    } else {
        Some(a)
    };
    while !WRITTEN.load(Relaxed) {
        std::hint::spin_loop();
    }
    let b = thread::spawn(|| unsafe { SLOT = 2 });
    b.join().unwrap();
    if let Some(a) = a {
        a.join().unwrap();
    }
}
