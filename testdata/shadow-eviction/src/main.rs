//! Two shadow cells per word, and more threads touching it: which access
//! gives up its cell decides which races can still be found.
//!
//! Thread 1 writes a word and publishes it (Release); threads 2 and 3 read
//! it after acquiring that (ordered after the write, concurrent with each
//! other). Thread 4 then reads the word having learned of the write only
//! through a Relaxed flag: its read races with thread 1's write. When
//! thread 3's read came in, both cells were taken (the write and thread 2's
//! read): evicting the write, as the runtime once did because it was the
//! cell ordered before thread 3, hid thread 4's race; a read goes first now.
//!
//! `shadow-eviction racy`: one race (thread 4 against thread 1).
//! `shadow-eviction fixed`: thread 4 acquires the publication too. Silent.
use racecheck::race_check;
use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::*};
use std::thread;
use std::time::Duration;

struct Word(UnsafeCell<u64>);
unsafe impl Sync for Word {}
static WORD: Word = Word(UnsafeCell::new(0));
static PUBLISHED: AtomicBool = AtomicBool::new(false);
static READERS_DONE: AtomicUsize = AtomicUsize::new(0);

#[race_check]
fn write_and_publish() {
    unsafe { *WORD.0.get() = 42 };
    PUBLISHED.store(true, Release);
}

#[race_check]
fn ordered_reader() -> u64 {
    while !PUBLISHED.load(Acquire) {
        std::hint::spin_loop();
    }
    let v = unsafe { *WORD.0.get() };
    READERS_DONE.fetch_add(1, Relaxed);
    v
}

#[race_check]
fn late_reader(acquire: bool) -> u64 {
    // Relaxed: learns that both readers are done, orders nothing.
    while READERS_DONE.load(Relaxed) < 2 {
        std::hint::spin_loop();
    }
    if acquire {
        while !PUBLISHED.load(Acquire) {}
    }
    unsafe { *WORD.0.get() }
}

fn main() {
    let acquire = match std::env::args().nth(1).as_deref() {
        Some("racy") => false,
        Some("fixed") => true,
        _ => {
            eprintln!("usage: shadow-eviction racy|fixed");
            std::process::exit(2);
        }
    };
    thread::scope(|s| {
        s.spawn(write_and_publish);
        let r2 = s.spawn(ordered_reader);
        // Only so the readers come in the same order every run: sleeping
        // orders nothing.
        thread::sleep(Duration::from_millis(30));
        let r3 = s.spawn(ordered_reader);
        s.spawn(move || late_reader(acquire));
        let _ = (r2, r3);
    });
}
