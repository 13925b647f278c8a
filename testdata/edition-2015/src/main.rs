//! An edition-2015 crate annotated as a user would, without
//! `extern crate racecheck;`: `#[racecheck::race_check]` on a module whose
//! code pushes to a shared `Vec` through a raw pointer, takes an `Option`
//! and bumps a counter.
//!
//! `edition-2015 racy`: two threads do it with nothing ordering them (a
//! Relaxed flag only decides who goes first): three races.
//! `edition-2015 fixed`: the first thread is joined before the second
//! starts: silent.
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;

#[racecheck::race_check]
mod shared {
    pub struct State {
        pub log: Vec<u64>,
        pub slot: Option<Box<u64>>,
        pub count: u64,
    }

    pub struct Ptr(pub *mut State);
    unsafe impl Send for Ptr {}

    pub fn work(p: &Ptr, v: u64) {
        unsafe {
            (*p.0).log.push(v);
            let _ = (*p.0).slot.take();
            (*p.0).count += 1;
        }
    }
}

fn main() {
    let fixed = match std::env::args().nth(1).as_ref().map(|s| s.as_str()) {
        Some("racy") => false,
        Some("fixed") => true,
        _ => {
            eprintln!("usage: edition-2015 racy|fixed");
            std::process::exit(2);
        }
    };
    let state = Box::into_raw(Box::new(shared::State { log: Vec::with_capacity(4), slot: Some(Box::new(1)), count: 0 }));
    let first_done = Arc::new(AtomicBool::new(false));
    let release = Arc::new(AtomicBool::new(fixed));
    let (p1, p2) = (shared::Ptr(state), shared::Ptr(state));
    let (flag, hold) = (first_done.clone(), release.clone());
    let a = thread::spawn(move || {
        shared::work(&p1, 1);
        flag.store(true, Ordering::Relaxed);
        // Still running when the reports are printed, in every run.
        while !hold.load(Ordering::Relaxed) {
            thread::yield_now();
        }
    });
    let a = if fixed {
        a.join().unwrap();
        None
    } else {
        while !first_done.load(Ordering::Relaxed) {
            thread::yield_now();
        }
        Some(a)
    };
    let b = thread::spawn(move || shared::work(&p2, 2));
    b.join().unwrap();
    release.store(true, Ordering::Relaxed);
    if let Some(a) = a {
        a.join().unwrap();
    }
    println!("count = {}", unsafe { (*state).count });
}
