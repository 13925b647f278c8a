//! (3) Two threads reading the same 16 MiB buffer after an initialisation
//! published by join.
use racecheck::race_check;
use racecheck_workloads::{scale, Ptr};
use std::thread;

#[race_check]
fn sum(p: Ptr<u64>, words: usize, passes: u64) -> u64 {
    let mut s = 0u64;
    for _ in 0..passes {
        for i in 0..words {
            s = s.wrapping_add(unsafe { *p.get().add(i) });
        }
    }
    s
}

#[race_check]
fn main() {
    let passes = scale(32);
    let words = (16 << 20) / 8;
    let p = Ptr(Box::into_raw(vec![0u64; words].into_boxed_slice()) as *mut u64);
    thread::spawn(move || {
        for i in 0..words {
            unsafe { *p.get().add(i) = i as u64 }
        }
    })
    .join()
    .unwrap();
    let hs: Vec<_> = (0..2).map(|_| thread::spawn(move || sum(p, words, passes))).collect();
    let total: u64 = hs.into_iter().map(|h| h.join().unwrap()).fold(0, u64::wrapping_add);
    println!("{total}");
}
