//! Criterion micro-benchmark of the access hook (issue 6). Build and run it
//! under racecheck; built plainly, the hooks are no-ops, which gives the
//! baseline:
//!
//!     racecheck test --release --manifest-path benches/workloads/Cargo.toml --bench hook -- --bench
//!     cargo bench --manifest-path benches/workloads/Cargo.toml --bench hook
//!
//! Each case loops inside one annotated function, so the time per element
//! is one checked access, without the cost of entering a frame:
//! - `same_epoch`: the same 8 bytes read again, nothing released in between
//!   (the inlined fast path);
//! - `first_access`: granules this thread has not touched (each iteration
//!   writes a fresh 512 KiB buffer);
//! - `after_release`: a Release store, then the access (a new epoch each
//!   time); `release_store_alone` is the store by itself, to subtract.
//!
//! `annotated_call`: one call of an empty annotated function (its frame
//! entered and left).
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use racecheck::race_check;
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

static FLAG: AtomicU64 = AtomicU64::new(0);

#[race_check]
mod annotated {
    use super::*;

    pub fn same(p: *const u64, n: u64) -> u64 {
        let mut s = 0u64;
        for _ in 0..n {
            s = s.wrapping_add(unsafe { *black_box(p) });
        }
        s
    }

    pub fn fill(q: *mut u64, n: usize) {
        for i in 0..n {
            unsafe { *q.add(i) = i as u64 };
        }
    }

    pub fn after_release(p: *mut u64, n: u64) {
        for i in 0..n {
            black_box(&FLAG).store(i, Ordering::Release);
            unsafe { *black_box(p) = i };
        }
    }

    pub fn empty() {}
}

fn timed(iters: u64, f: impl FnOnce()) -> Duration {
    let _ = iters;
    let t = Instant::now();
    f();
    t.elapsed()
}

fn hook(c: &mut Criterion) {
    let mut g = c.benchmark_group("hook");
    g.throughput(Throughput::Elements(1));
    let mut x = 0u64;
    let p: *mut u64 = &mut x;
    g.bench_function("same_epoch", |b| b.iter_custom(|n| timed(n, || drop(black_box(annotated::same(p, n))))));
    g.bench_function("after_release", |b| b.iter_custom(|n| timed(n, || annotated::after_release(p, n))));
    g.bench_function("release_store_alone", |b| {
        b.iter_custom(|n| {
            timed(n, || {
                for i in 0..n {
                    black_box(&FLAG).store(i, Ordering::Release);
                }
            })
        })
    });
    g.bench_function("annotated_call", |b| b.iter(annotated::empty));

    const WORDS: usize = 1 << 16;
    g.throughput(Throughput::Elements(WORDS as u64));
    g.bench_function("first_access", |b| {
        b.iter_batched(
            || vec![0u64; WORDS].into_boxed_slice(),
            |mut buf| {
                annotated::fill(buf.as_mut_ptr(), WORDS);
                buf
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

criterion_group!(benches, hook);
criterion_main!(benches);
