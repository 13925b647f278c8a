//! Synchronisation from crates compiled from source: parking_lot,
//! crossbeam-channel, crossbeam-utils scoped threads and a tokio
//! multi-thread runtime. `ext-sync correct` uses each correctly around plain
//! accesses in annotated code (silent); `ext-sync racy` drops the
//! synchronisation in each (one race per scenario).
use racecheck::race_check;
use std::cell::UnsafeCell;
use std::sync::Arc;

pub struct Shared(UnsafeCell<u64>);
unsafe impl Sync for Shared {}
unsafe impl Send for Shared {}

#[race_check]
impl Shared {
    pub fn new() -> Shared {
        Shared(UnsafeCell::new(0))
    }
    pub fn bump(&self) {
        unsafe { *self.0.get() += 1 }
    }
    pub fn get(&self) -> u64 {
        unsafe { *self.0.get() }
    }
}

const N: usize = 200;

#[race_check]
mod scenarios {
    use super::*;

    pub fn parking_lot_mutex(racy: bool) {
        let s = Arc::new((parking_lot::Mutex::new(()), Shared::new()));
        let hs: Vec<_> = (0..2)
            .map(|i| {
                let s = Arc::clone(&s);
                std::thread::spawn(move || {
                    for _ in 0..N {
                        if racy && i == 1 {
                            s.1.bump();
                        } else {
                            let _g = s.0.lock();
                            s.1.bump();
                        }
                    }
                })
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
    }

    pub fn parking_lot_rwlock_condvar(racy: bool) {
        let s = Arc::new((parking_lot::Mutex::new(false), parking_lot::Condvar::new(), Shared::new()));
        let s2 = Arc::clone(&s);
        let t = std::thread::spawn(move || {
            s2.2.bump();
            *s2.0.lock() = true;
            s2.1.notify_one();
        });
        if !racy {
            let mut ready = s.0.lock();
            while !*ready {
                s.1.wait(&mut ready);
            }
        }
        s.2.bump();
        t.join().unwrap();
        let rw = Arc::new((parking_lot::RwLock::new(()), Shared::new()));
        let rw2 = Arc::clone(&rw);
        let t = std::thread::spawn(move || {
            for _ in 0..N {
                let _g = rw2.0.write();
                rw2.1.bump();
            }
        });
        for _ in 0..N {
            let _g = rw.0.read();
            let _ = rw.1.get();
        }
        t.join().unwrap();
    }

    pub fn crossbeam_channel(racy: bool) {
        let (tx, rx) = crossbeam_channel::bounded::<usize>(4);
        let s = Arc::new(Shared::new());
        let s2 = Arc::clone(&s);
        let t = std::thread::spawn(move || {
            for i in 0..N {
                s2.bump();
                tx.send(i).unwrap();
            }
        });
        if racy {
            s.bump();
        }
        for _ in rx.iter() {}
        t.join().unwrap();
        s.bump();
    }

    pub fn crossbeam_scope(racy: bool) {
        let s = Shared::new();
        crossbeam_utils::thread::scope(|sc| {
            // Kept past the racy access: dropped at once by a thread that
            // ended already, it would be the last reference to the result
            // and order that thread before the access (an acquire fence).
            let _h = sc.spawn(|_| s.bump());
            if racy {
                s.bump();
            }
        })
        .unwrap();
        s.bump();
    }

    pub fn tokio_runtime(racy: bool) {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        rt.block_on(async move {
            // `s` is guarded by a tokio Mutex, `t` by a std Mutex held inside tasks.
            let (s, t) = (Arc::new(Shared::new()), Arc::new(Shared::new()));
            let m = Arc::new(tokio::sync::Mutex::new(()));
            let std_m = Arc::new(std::sync::Mutex::new(()));
            let mut tasks = vec![];
            for i in 0..4 {
                let (s, t, m, std_m) = (Arc::clone(&s), Arc::clone(&t), Arc::clone(&m), Arc::clone(&std_m));
                tasks.push(tokio::spawn(async move {
                    for _ in 0..N / 4 {
                        if i % 2 == 0 {
                            let _g = m.lock().await;
                            s.bump();
                        } else {
                            let _g = std_m.lock().unwrap();
                            t.bump();
                        }
                        tokio::task::yield_now().await;
                    }
                }));
            }
            for t in tasks {
                t.await.unwrap();
            }
            let s2 = Arc::clone(&s);
            tokio::task::spawn_blocking(move || s2.bump()).await.unwrap();
            s.bump();
        });
        if racy {
            // A task's access, then one by the spawner before joining it. The
            // Relaxed flag only makes the task go first (orders no memory):
            // otherwise an idle worker may pick the task up only after the
            // spawner released scheduler locks, which orders the two.
            let s = Arc::new(Shared::new());
            let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
            let (s2, done2) = (Arc::clone(&s), Arc::clone(&done));
            let task = rt.spawn(async move {
                s2.bump();
                done2.store(true, std::sync::atomic::Ordering::Relaxed);
            });
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                std::hint::spin_loop();
            }
            s.bump();
            rt.block_on(task).unwrap();
        }
    }
}

fn main() {
    let racy = match std::env::args().nth(1).as_deref() {
        Some("racy") => true,
        Some("correct") => false,
        _ => {
            eprintln!("usage: ext-sync correct|racy");
            std::process::exit(2);
        }
    };
    scenarios::parking_lot_mutex(racy);
    scenarios::parking_lot_rwlock_condvar(racy);
    scenarios::crossbeam_channel(racy);
    scenarios::crossbeam_scope(racy);
    scenarios::tokio_runtime(racy);
    println!("done");
}
