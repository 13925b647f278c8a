//! A write that two readers follow is still remembered for a third
//! (issue 19). Thread `late` starts first and waits for a flag. A writer
//! fills `TABLE`; main joins it and starts two readers, which read it
//! after the join, then joins them and raises the flag, `Relaxed`
//! (`racy`) or `Release` (`fixed`). `late` reads the table once it sees
//! the flag: in `racy` nothing orders its read after the writer's write;
//! in `fixed` main's release carries the writer's join to it.
//!
//! Each word's two shadow cells go to the two readers. The write used to
//! be evicted for the second reader, and the race was missed; now it moves
//! to the word's spill cell, and `late`'s read is checked against it.
use racecheck::race_check;
use std::sync::atomic::{AtomicBool, Ordering::*};
use std::thread;

static mut TABLE: [u64; 4] = [0; 4];
static READY: AtomicBool = AtomicBool::new(false);

#[race_check]
fn fill() {
    for i in 0..4 {
        unsafe { TABLE[i] = i as u64 + 1 }
    }
}

#[race_check]
fn sum() -> u64 {
    let mut s = 0;
    for i in 0..4 {
        s += unsafe { TABLE[i] };
    }
    s
}

#[race_check]
fn main() {
    let racy = match std::env::args().nth(1).as_deref() {
        Some("racy") => true,
        Some("fixed") => false,
        _ => panic!("usage: late-reader racy|fixed"),
    };
    let late = thread::spawn(move || {
        while !READY.load(if racy { Relaxed } else { Acquire }) {
            std::hint::spin_loop();
        }
        sum()
    });
    thread::spawn(fill).join().unwrap();
    let readers: Vec<_> = (0..2).map(|_| thread::spawn(sum)).collect();
    let total: u64 = readers.into_iter().map(|r| r.join().unwrap()).sum();
    READY.store(true, if racy { Relaxed } else { Release });
    println!("{total} {}", late.join().unwrap());
}
