//! (2) Two threads each updating their own half of a 64 MiB buffer
//! (`threads` as the second argument, default 2: run with 1 to compare).
//!
//! The buffer is filled (by std, unannotated) before the threads start, so
//! the threads update memory that is already there: with a zeroed buffer,
//! the kernel's first-write faults were most of the plain program's time,
//! and with two threads each of them also had to flush the other core's
//! TLB, which made the plain program slower on two threads than on one.
use racecheck::race_check;
use racecheck_workloads::{on_own_parts, scale, threads, Ptr};

#[race_check]
fn update(p: Ptr<u64>, from: usize, to: usize, passes: u64) {
    for pass in 0..passes {
        for i in from..to {
            unsafe { *p.get().add(i) += pass }
        }
    }
}

#[race_check]
fn main() {
    let threads = threads(2);
    let passes = scale(16);
    let words = (64 << 20) / 8;
    let p = Ptr(Box::into_raw(vec![1u64; words].into_boxed_slice()) as *mut u64);
    on_own_parts(threads, words, move |from, to| update(p, from, to, passes));
    println!("{}", unsafe { *p.get().add(words / 2) });
}
