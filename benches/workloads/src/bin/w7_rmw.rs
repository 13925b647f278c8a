//! (7) Read-modify-write through raw pointers: each element of a 1 MiB
//! buffer read, then written back changed (`let v = *p.add(i); *p.add(i) =
//! v.wrapping_add(r)`), 2×10^8 accesses, by one thread or (second argument
//! 2) by two threads on disjoint halves. The shape of issue 21: the TSan
//! pass checks only the write of each pair, and so does `#[race_check]`.
use racecheck::race_check;
use racecheck_workloads::{scale, Ptr};
use std::thread;

#[race_check]
fn update(p: Ptr<u64>, from: usize, to: usize, passes: u64) {
    let p = p.get();
    for r in 0..passes {
        for i in from..to {
            unsafe {
                let v = *p.add(i);
                *p.add(i) = v.wrapping_add(r);
            }
        }
    }
}

#[race_check]
fn main() {
    let threads: usize = std::env::args().nth(2).and_then(|a| a.parse().ok()).unwrap_or(1);
    let words = (1 << 20) / 8;
    let passes = scale(100_000_000 / words as u64);
    let p = Ptr(Box::into_raw(vec![1u64; words].into_boxed_slice()) as *mut u64);
    let per = words / threads;
    let hs: Vec<_> = (0..threads).map(|t| thread::spawn(move || update(p, t * per, (t + 1) * per, passes))).collect();
    for h in hs {
        h.join().unwrap();
    }
    println!("{}", unsafe { *p.get().add(words / 2) });
}
