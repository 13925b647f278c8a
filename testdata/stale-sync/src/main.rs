//! An atomic in a freed block of 32 KiB or more leaves no clock behind
//! (issue 19; `huge`: one of over 1 GiB). Thread 1 writes `Z`, then releases through an atomic in a
//! 64 KiB block; main joins it and frees the block; a new block of the same
//! size lands at the same address, and main stores to the atomic there
//! `Relaxed` (`racy`) or `Release` (`fixed`). Thread 3, started before all
//! of this and synchronised with nothing since, acquires that new atomic
//! and reads `Z`. In `racy` its read races with thread 1's write: nothing
//! orders them but the clock the old atomic published, which died with
//! its block. In `fixed` main's release carries thread 1's write (main
//! joined it) to thread 3.
use racecheck::race_check;
use std::alloc::{alloc_zeroed, dealloc, Layout};
use std::sync::atomic::{AtomicPtr, AtomicU64, Ordering::*};
use std::thread;

static mut Z: u64 = 0;
static NEW_FLAG: AtomicPtr<AtomicU64> = AtomicPtr::new(std::ptr::null_mut());

/// A 64 KiB block: the allocator hands the freed block out again for the
/// next request of its size. With `huge`, 1 GiB and a page (mapped on its
/// own, unmapped, mapped again at the same address; only the flag's page
/// is ever touched).
const WORDS: usize = 1 << 13;
const HUGE_WORDS: usize = (1 << 27) + 512;

#[race_check]
fn write_z() {
    unsafe { Z = 1 }
}

#[race_check]
fn read_z() -> u64 {
    unsafe { Z }
}

#[race_check]
fn main() {
    let racy = match std::env::args().nth(1).as_deref() {
        Some("racy") => true,
        Some("fixed") => false,
        _ => panic!("usage: stale-sync racy|fixed [huge]"),
    };
    let words = if std::env::args().nth(2).as_deref() == Some("huge") { HUGE_WORDS } else { WORDS };
    let t3 = thread::spawn(|| {
        let flag = loop {
            let p = NEW_FLAG.load(Relaxed);
            if !p.is_null() {
                break unsafe { &*p };
            }
            std::hint::spin_loop();
        };
        while flag.load(Acquire) == 0 {
            std::hint::spin_loop();
        }
        read_z()
    });
    // Zeroed by the allocator, so that no plain write of the program's
    // initialises the atomics (thread 3 reads the new one unordered).
    let layout = Layout::array::<AtomicU64>(words).unwrap();
    let old = unsafe { alloc_zeroed(layout) } as *const AtomicU64;
    let old_flag = old as usize;
    let t1 = thread::spawn(move || {
        write_z();
        unsafe { &*(old_flag as *const AtomicU64) }.store(1, Release);
    });
    t1.join().unwrap();
    unsafe { dealloc(old as *mut u8, layout) };
    let new = unsafe { &*(alloc_zeroed(layout) as *const AtomicU64) };
    assert_eq!(new as *const AtomicU64 as usize, old_flag, "the new block is not where the old one was");
    NEW_FLAG.store(new as *const AtomicU64 as *mut AtomicU64, Relaxed);
    new.store(1, if racy { Relaxed } else { Release });
    println!("z = {}", t3.join().unwrap());
}
