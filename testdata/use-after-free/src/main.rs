//! A free is a write to the whole block: it races with any access of the
//! block that is not ordered before it.
//!
//! `use-after-free racy`: a thread reads a boxed value and then sets a
//! Relaxed flag; the main thread sees the flag and frees the box (the
//! flag orders nothing); the same with a 64 KiB block read 40 KiB in. Then
//! a thread writes through a pointer to a `Vec`'s first element while the
//! main thread pushes until the vector grows: `realloc` frees the old
//! buffer under the writer. Three races.
//! `use-after-free fixed`: the flag is Release/Acquire, and the writer is
//! joined before the vector grows. Silent.
use racecheck::race_check;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

struct SendPtr(*mut u64);
unsafe impl Send for SendPtr {}

#[race_check]
mod scenarios {
    use super::*;

    pub fn free_after_flag(publish: Ordering, observe: Ordering) {
        let p = Box::into_raw(Box::new(7u64));
        let done = std::sync::Arc::new(AtomicBool::new(false));
        let (q, d) = (SendPtr(p), done.clone());
        let t = thread::spawn(move || {
            let q = q;
            let v = unsafe { *q.0 };
            d.store(true, publish);
            v
        });
        while !done.load(observe) {
            std::hint::spin_loop();
        }
        drop(unsafe { Box::from_raw(p) });
        assert_eq!(t.join().unwrap(), 7);
    }

    /// The same with a block of 64 KiB, read 40 KiB in: a large block's
    /// free is checked too, on the shadow pages that were touched.
    pub fn free_large_after_flag(publish: Ordering, observe: Ordering) {
        let p = Box::into_raw(vec![7u64; 8192].into_boxed_slice()) as *mut u64;
        let done = std::sync::Arc::new(AtomicBool::new(false));
        let (q, d) = (SendPtr(p), done.clone());
        let t = thread::spawn(move || {
            let q = q;
            let v = unsafe { *q.0.add(5000) };
            d.store(true, publish);
            v
        });
        while !done.load(observe) {
            std::hint::spin_loop();
        }
        drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(p, 8192)) });
        assert_eq!(t.join().unwrap(), 7);
    }

    pub fn vec_growth(join_first: bool) {
        let mut v: Vec<u64> = Vec::with_capacity(4);
        v.push(1);
        let first = SendPtr(v.as_mut_ptr());
        let t = thread::spawn(move || {
            let first = first;
            unsafe { *first.0 = 2 };
        });
        let mut t = Some(t);
        if join_first {
            t.take().into_iter().for_each(|t| t.join().unwrap());
        } else {
            // Only so the report reads the same every run.
            thread::sleep(Duration::from_millis(50));
        }
        for i in 0..64 {
            v.push(i);
        }
        t.into_iter().for_each(|t| t.join().unwrap());
    }
}

fn main() {
    match std::env::args().nth(1).as_deref() {
        Some("racy") => {
            scenarios::free_after_flag(Ordering::Relaxed, Ordering::Relaxed);
            scenarios::free_large_after_flag(Ordering::Relaxed, Ordering::Relaxed);
            scenarios::vec_growth(false);
        }
        Some("fixed") => {
            scenarios::free_after_flag(Ordering::Release, Ordering::Acquire);
            scenarios::free_large_after_flag(Ordering::Release, Ordering::Acquire);
            scenarios::vec_growth(true);
        }
        _ => eprintln!("usage: use-after-free racy|fixed"),
    }
}
