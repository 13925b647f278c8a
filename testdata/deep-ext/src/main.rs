//! Synchronisation from other crates, under `racecheck run --deep=all`:
//! rayon, crossbeam-epoch, crossbeam-channel, parking_lot and tokio are
//! instrumented as fully as this crate, so their own internals (work
//! stealing, epoch-based reclamation, task queues) must not produce a
//! single false report. `deep-ext correct` uses each correctly and must
//! stay silent; `deep-ext racy` has two real races hidden behind them.

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering::*};
use std::sync::{Arc, Barrier, LazyLock, Mutex, RwLock};
use std::thread;

use crossbeam_epoch::{self as epoch, Atomic, Owned};
use rayon::prelude::*;

struct Ptr<T>(*mut T);
unsafe impl<T> Send for Ptr<T> {}
unsafe impl<T> Sync for Ptr<T> {}
impl<T> Clone for Ptr<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Ptr<T> {}
impl<T> Ptr<T> {
    fn get(self) -> *mut T {
        self.0
    }
}

/// rayon: `join`, `par_iter` over disjoint chunks, `scope`; results
/// combined after the joins that order them.
fn rayon_correct() {
    let mut v: Vec<u64> = (0..100_000).collect();
    v.par_iter_mut().for_each(|x| *x *= 2);
    let total: u64 = v.par_iter().sum();
    assert_eq!(total, 2 * (0..100_000u64).sum::<u64>());
    let (a, b) = rayon::join(|| v[..50_000].iter().sum::<u64>(), || v[50_000..].iter().sum::<u64>());
    assert_eq!(a + b, total);
    let mut parts = vec![Vec::new(); 4];
    rayon::scope(|s| {
        for (i, part) in parts.iter_mut().enumerate() {
            s.spawn(move |_| part.extend((0..1000).map(|j| i * j)));
        }
    });
    assert_eq!(parts.iter().map(Vec::len).sum::<usize>(), 4000);
    let mut sorted: Vec<u32> = (0..50_000).rev().collect();
    sorted.par_sort_unstable();
    assert!(sorted.windows(2).all(|w| w[0] <= w[1]));
}

/// crossbeam-epoch: a lock-free stack whose nodes are freed through
/// deferred destruction while other threads may still read them.
fn epoch_correct() {
    struct Node {
        value: u64,
        next: Atomic<Node>,
    }
    let head: Arc<Atomic<Node>> = Arc::new(Atomic::null());
    let popped = Arc::new(AtomicUsize::new(0));
    let hs: Vec<_> = (0..4u64)
        .map(|t| {
            let (head, popped) = (head.clone(), popped.clone());
            thread::spawn(move || {
                for i in 0..2000 {
                    let guard = &epoch::pin();
                    let mut node = Owned::new(Node { value: t * 10_000 + i, next: Atomic::null() });
                    loop {
                        let h = head.load(Acquire, guard);
                        node.next.store(h, Relaxed);
                        match head.compare_exchange(h, node, Release, Relaxed, guard) {
                            Ok(_) => break,
                            Err(e) => node = e.new,
                        }
                    }
                    if i % 2 == 0 {
                        loop {
                            let h = head.load(Acquire, guard);
                            let Some(n) = (unsafe { h.as_ref() }) else { break };
                            let next = n.next.load(Acquire, guard);
                            if head.compare_exchange(h, next, AcqRel, Acquire, guard).is_ok() {
                                black_box(n.value);
                                unsafe { guard.defer_destroy(h) };
                                popped.fetch_add(1, Relaxed);
                                break;
                            }
                        }
                    }
                }
            })
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
    assert_eq!(popped.load(Relaxed), 4000);
    let guard = &epoch::pin();
    let mut n = 0;
    let mut cur = head.load(Acquire, guard);
    while let Some(node) = unsafe { cur.as_ref() } {
        n += 1;
        cur = node.next.load(Acquire, guard);
    }
    assert_eq!(n, 4000);
}

/// tokio's own primitives: mpsc, oneshot, Mutex, RwLock, Semaphore, Notify,
/// with data handed over through each.
fn tokio_correct() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<u64>>(4);
        let producer = tokio::spawn(async move {
            for i in 0..200 {
                tx.send(vec![i; 16]).await.unwrap();
            }
        });
        let mut sum = 0;
        while let Some(v) = rx.recv().await {
            sum += v.iter().sum::<u64>();
        }
        producer.await.unwrap();
        assert_eq!(sum, 16 * (0..200u64).sum::<u64>());

        let (otx, orx) = tokio::sync::oneshot::channel::<HashMap<u32, String>>();
        tokio::spawn(async move {
            let mut m = HashMap::new();
            m.insert(1, "one".to_string());
            otx.send(m).unwrap();
        });
        assert_eq!(orx.await.unwrap()[&1], "one");

        let m = Arc::new(tokio::sync::Mutex::new(Vec::new()));
        let rw = Arc::new(tokio::sync::RwLock::new(0u64));
        let sem = Arc::new(tokio::sync::Semaphore::new(2));
        let tasks: Vec<_> = (0..8)
            .map(|i| {
                let (m, rw, sem) = (m.clone(), rw.clone(), sem.clone());
                tokio::spawn(async move {
                    let _permit = sem.acquire().await.unwrap();
                    m.lock().await.push(i);
                    *rw.write().await += 1;
                    black_box(*rw.read().await);
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!((m.lock().await.len(), *rw.read().await), (8, 8));

        let notify = Arc::new(tokio::sync::Notify::new());
        let data = Arc::new(std::sync::Mutex::new(0));
        let waiter = {
            let (notify, data) = (notify.clone(), data.clone());
            tokio::spawn(async move {
                notify.notified().await;
                *data.lock().unwrap()
            })
        };
        *data.lock().unwrap() = 5;
        notify.notify_one();
        assert_eq!(waiter.await.unwrap(), 5);
    });
}

/// std: a LazyLock initialised by whichever of many threads comes first,
/// a Barrier reused for several rounds with data written between them,
/// parking_lot and crossbeam-channel handing data over.
fn std_and_others_correct() {
    static TABLE: LazyLock<HashMap<u32, String>> = LazyLock::new(|| (0..100).map(|i| (i, i.to_string())).collect());
    let hs: Vec<_> = (0..8).map(|i| thread::spawn(move || TABLE[&(i * 10)].len())).collect();
    for h in hs {
        h.join().unwrap();
    }

    let rounds = 5;
    let barrier = Arc::new(Barrier::new(3));
    let mut cells = vec![0u64; 3];
    let cells_p = Ptr(cells.as_mut_ptr());
    let hs: Vec<_> = (0..3)
        .map(|t| {
            let barrier = barrier.clone();
            thread::spawn(move || {
                for r in 0..rounds {
                    // Each round: write our own cell, wait, read the others.
                    unsafe { *cells_p.get().add(t) = r * 10 + t as u64 };
                    barrier.wait();
                    for o in 0..3 {
                        black_box(unsafe { *cells_p.get().add(o) });
                    }
                    barrier.wait();
                }
            })
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
    drop(cells);

    let shared = Arc::new(parking_lot::Mutex::new(Vec::new()));
    let rwl = Arc::new(RwLock::new(String::new()));
    let (tx, rx) = crossbeam_channel::bounded::<Box<[u64; 8]>>(2);
    let hs: Vec<_> = (0..2)
        .map(|i| {
            let (shared, rwl, tx) = (shared.clone(), rwl.clone(), tx.clone());
            thread::spawn(move || {
                for j in 0..100u64 {
                    shared.lock().push(j);
                    rwl.write().unwrap().push('x');
                    tx.send(Box::new([i * 1000 + j; 8])).unwrap();
                }
            })
        })
        .collect();
    drop(tx);
    let mut got = 0;
    for b in rx {
        got += b.iter().sum::<u64>();
    }
    for h in hs {
        h.join().unwrap();
    }
    assert!(got > 0);
    assert_eq!(shared.lock().len(), 200);
    assert_eq!(rwl.read().unwrap().len(), 200);
    let m = Mutex::new(0);
    thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| *m.lock().unwrap() += 1);
        }
    });
    assert_eq!(*m.lock().unwrap(), 4);
}

/// Two rayon tasks writing one counter through a raw pointer: the second
/// half of the `join` is stolen by another worker (the first waits until it
/// is), writes, and tells the first with a relaxed flag, which orders
/// nothing; then the first writes.
fn rayon_racy() {
    let mut counter = 0u64;
    let p = Ptr(&mut counter);
    let stolen_wrote = std::sync::atomic::AtomicBool::new(false);
    rayon::join(
        || {
            while !stolen_wrote.load(Relaxed) {
                std::hint::spin_loop();
            }
            thread::sleep(std::time::Duration::from_millis(30));
            unsafe { *p.get() += 1 }
        },
        || {
            unsafe { *p.get() += 1 };
            stolen_wrote.store(true, Relaxed);
        },
    );
    black_box(counter);
}

/// Two tokio tasks on the two workers pushing to one Vec through a raw
/// pointer: the second pushes and tells the first with a relaxed flag,
/// which orders nothing; the first, spinning on its worker meanwhile (so
/// the second runs on the other), then pushes too.
fn tokio_racy() {
    use std::sync::atomic::AtomicBool;
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let mut v: Vec<u64> = Vec::with_capacity(8);
    let p = Ptr(&mut v);
    static PUSHED: AtomicBool = AtomicBool::new(false);
    rt.block_on(async move {
        let a = tokio::spawn(async move {
            while !PUSHED.load(Relaxed) {
                std::hint::spin_loop();
            }
            thread::sleep(std::time::Duration::from_millis(30));
            unsafe { (*p.get()).push(1) }
        });
        let b = tokio::spawn(async move {
            unsafe { (*p.get()).push(2) };
            PUSHED.store(true, Relaxed);
        });
        a.await.unwrap();
        b.await.unwrap();
    });
    black_box(v);
}

fn main() {
    match std::env::args().nth(1).as_deref() {
        Some("correct") => {
            rayon_correct();
            epoch_correct();
            tokio_correct();
            std_and_others_correct();
        }
        Some("racy") => {
            rayon_racy();
            tokio_racy();
        }
        _ => {
            eprintln!("usage: deep-ext correct|racy");
            std::process::exit(2);
        }
    }
}
