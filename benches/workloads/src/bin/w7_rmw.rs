//! (7) Read-modify-write through raw pointers: each element of a 1 MiB
//! buffer read, then written back changed (`let v = *p.add(i); *p.add(i) =
//! v.wrapping_add(r)`), 2×10^8 accesses, by one thread or (second argument
//! 2) by two threads on disjoint halves. The shape of issue 21: the TSan
//! pass checks only the write of each pair, and so does `#[race_check]`.
use racecheck::race_check;
use racecheck_workloads::{on_own_parts, scale, threads, Ptr};

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
    let threads = threads(1);
    let words = (1 << 20) / 8;
    let passes = scale(100_000_000 / words as u64);
    let p = Ptr(Box::into_raw(vec![1u64; words].into_boxed_slice()) as *mut u64);
    on_own_parts(threads, words, move |from, to| update(p, from, to, passes));
    println!("{}", unsafe { *p.get().add(words / 2) });
}
