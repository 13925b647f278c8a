//! The access hook itself, timed in-process: nanoseconds per access for a
//! first access (fresh granules), a repeated access in the same epoch, and
//! an access right after a release (a new epoch each time). Prints
//! `first_ns same_epoch_ns after_sync_ns` on one line.
use racecheck::race_check;
use racecheck_workloads::scale;
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

static FLAG: AtomicU64 = AtomicU64::new(0);

#[race_check]
fn first(p: *mut u64, n: usize) {
    for i in 0..n {
        unsafe { *p.add(i) = i as u64 };
    }
}

#[race_check]
fn same(p: *mut u64, n: usize) -> u64 {
    let mut s = 0;
    for _ in 0..n {
        s += unsafe { *black_box(p) };
    }
    s
}

#[race_check]
fn after_sync(p: *mut u64, n: usize) {
    for i in 0..n {
        black_box(&FLAG).store(i as u64, Ordering::Release);
        unsafe { *p = i as u64 };
    }
}

fn per_op(n: usize, f: impl FnOnce()) -> f64 {
    let t = Instant::now();
    f();
    t.elapsed().as_nanos() as f64 / n as f64
}

fn main() {
    let n = scale(10_000_000) as usize;
    let buf = vec![0u64; n].into_boxed_slice();
    let p = Box::into_raw(buf) as *mut u64;
    let a = per_op(n, || first(p, n));
    let b = per_op(n, || {
        black_box(same(p, n));
    });
    let sync_n = n / 10;
    let c = per_op(sync_n, || after_sync(p, sync_n));
    // Subtract the release store itself, measured on its own.
    let store = per_op(sync_n, || {
        for i in 0..sync_n {
            black_box(&FLAG).store(i as u64, Ordering::Release);
        }
    });
    eprintln!("raw: store+access {c:.2} ns, store alone {store:.2} ns");
    println!("{a:.2} {b:.2} {:.2}", (c - store).max(0.0));
}
