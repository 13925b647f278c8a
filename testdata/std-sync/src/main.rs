//! std's synchronisation guarding plain accesses in annotated code.
//! `std-sync correct [SCENARIO]` uses each primitive correctly and must stay
//! silent: every primitive creates the happens-before edge its documentation
//! promises. `std-sync racy [SCENARIO]` misuses each one (a missing join, an
//! access outside the lock, before `wait` returns, before the barrier,
//! Relaxed instead of Release/Acquire…) and each must be reported.
use racecheck::race_check;
use std::cell::UnsafeCell;
use std::sync::atomic::{fence, AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Barrier, Condvar, LazyLock, Mutex, Once, OnceLock, RwLock};
use std::thread;

/// Shared plain memory, deliberately unsynchronised by itself.
struct Shared(UnsafeCell<[u64; 4]>);
unsafe impl Sync for Shared {}
unsafe impl Send for Shared {}

#[race_check]
impl Shared {
    fn new() -> Shared {
        Shared(UnsafeCell::new([0; 4]))
    }
    fn bump(&self) {
        unsafe { (*self.0.get())[0] += 1 }
    }
    fn get(&self) -> u64 {
        unsafe { (*self.0.get())[0] }
    }
}

const THREADS: usize = 4;
const ROUNDS: usize = 200;

#[race_check]
mod scenarios {
    use super::*;

    pub fn spawn_join(racy: bool) {
        let s = Arc::new(Shared::new());
        s.bump();
        let handles: Vec<_> = (0..THREADS)
            .map(|_| {
                let s = Arc::clone(&s);
                thread::spawn(move || s.get())
            })
            .collect();
        if racy {
            s.bump(); // before joining the readers
        }
        for h in handles {
            h.join().unwrap();
        }
        s.bump();
    }

    pub fn scope(racy: bool) {
        let s = Shared::new();
        for _ in 0..ROUNDS / 10 {
            thread::scope(|sc| {
                sc.spawn(|| s.bump());
                if racy {
                    s.bump(); // inside the scope, beside the spawned thread
                }
            });
            s.bump();
        }
    }

    pub fn mutex_contended(racy: bool) {
        let s = Arc::new((Mutex::new(()), Shared::new()));
        let hs: Vec<_> = (0..THREADS)
            .map(|_| {
                let s = Arc::clone(&s);
                thread::spawn(move || {
                    for _ in 0..ROUNDS {
                        let _g = s.0.lock().unwrap();
                        s.1.bump();
                        drop(_g);
                        if racy {
                            s.1.bump(); // after unlocking
                        }
                    }
                })
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
        if !racy {
            assert_eq!(s.1.get(), (THREADS * ROUNDS) as u64);
        }
    }

    pub fn rwlock(racy: bool) {
        let s = Arc::new((RwLock::new(()), Shared::new()));
        let hs: Vec<_> = (0..THREADS)
            .map(|i| {
                let s = Arc::clone(&s);
                thread::spawn(move || {
                    for _ in 0..ROUNDS {
                        if i % 2 == 0 {
                            let _g = s.0.write().unwrap();
                            s.1.bump();
                        } else if racy {
                            let _ = s.1.get(); // without the read lock
                        } else {
                            let _g = s.0.read().unwrap();
                            let _ = s.1.get();
                        }
                    }
                })
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
    }

    pub fn condvar(racy: bool) {
        let s = Arc::new((Mutex::new(false), Condvar::new(), Shared::new()));
        let s2 = Arc::clone(&s);
        let t = thread::spawn(move || {
            s2.2.bump();
            *s2.0.lock().unwrap() = true;
            s2.1.notify_one();
        });
        if !racy {
            let mut ready = s.0.lock().unwrap();
            while !*ready {
                ready = s.1.wait(ready).unwrap();
            }
        }
        s.2.bump(); // racy: before wait returns
        drop(s.0.lock().unwrap());
        t.join().unwrap();
    }

    pub fn barrier(racy: bool) {
        let s = Arc::new((Barrier::new(2), Shared::new()));
        let s2 = Arc::clone(&s);
        let t = thread::spawn(move || {
            s2.1.bump();
            s2.0.wait();
        });
        if racy {
            s.1.bump(); // before the barrier
        }
        s.0.wait();
        s.1.bump();
        t.join().unwrap();
    }

    pub fn once(racy: bool) {
        static ONCE: Once = Once::new();
        static CELL: OnceLock<Shared> = OnceLock::new();
        static mut INIT: u64 = 0;
        let hs: Vec<_> = (0..THREADS)
            .map(|_| {
                thread::spawn(move || {
                    if racy {
                        let v = unsafe { INIT }; // before call_once
                        std::hint::black_box(v);
                    }
                    ONCE.call_once(|| unsafe { INIT = 7 });
                    let v = unsafe { INIT };
                    assert_eq!(v, 7);
                    let c = CELL.get_or_init(|| {
                        let s = Shared::new();
                        s.bump();
                        s
                    });
                    c.get()
                })
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
    }

    pub fn channel(racy: bool) {
        let (tx, rx) = mpsc::channel::<Box<Shared>>();
        let t = thread::spawn(move || {
            for i in 0..ROUNDS {
                let s = Box::new(Shared::new());
                s.bump();
                let raw: *const Shared = &*s;
                tx.send(s).unwrap();
                if racy && i < 5 {
                    // After sending it away. The pause keeps this sender from
                    // running far ahead: the receiver's later loads of the
                    // channel's tail would then (really) order this write
                    // before its own, and no execution-based detector could
                    // see the race.
                    thread::sleep(std::time::Duration::from_millis(1));
                    unsafe { (*raw).bump() };
                }
            }
        });
        let mut kept = vec![];
        for s in rx {
            s.bump();
            kept.push(s); // keep the blocks alive while the sender may still touch them
        }
        t.join().unwrap();
        drop(kept);
        let (tx, rx) = mpsc::sync_channel::<Box<Shared>>(0);
        let t = thread::spawn(move || {
            let s = Box::new(Shared::new());
            s.bump();
            tx.send(s).unwrap();
        });
        rx.recv().unwrap().bump();
        t.join().unwrap();
    }

    pub fn atomics_and_fences(racy: bool) {
        static DATA: Shared = Shared(UnsafeCell::new([0; 4]));
        static FLAG: AtomicBool = AtomicBool::new(false);
        static SEQ: AtomicUsize = AtomicUsize::new(0);
        let t = thread::spawn(move || {
            DATA.bump();
            if !racy {
                fence(Ordering::Release);
            }
            FLAG.store(true, Ordering::Relaxed);
        });
        while !FLAG.load(Ordering::Relaxed) {
            std::hint::spin_loop();
        }
        fence(Ordering::Acquire);
        DATA.bump(); // racy: the release fence is missing
        t.join().unwrap();
        let t = thread::spawn(move || {
            DATA.bump();
            SEQ.store(1, if racy { Ordering::Relaxed } else { Ordering::SeqCst });
        });
        while SEQ.load(if racy { Ordering::Relaxed } else { Ordering::SeqCst }) != 1 {
            std::hint::spin_loop();
        }
        DATA.bump();
        t.join().unwrap();
        // Relaxed loads of the stored value (the first may find the sync
        // object, the second reads it through the thread's cache), then one
        // Acquire load of it: that load must take in the stored clock,
        // though the atomic has not changed since the Relaxed loads.
        static READY: AtomicUsize = AtomicUsize::new(0);
        let t = thread::spawn(move || {
            DATA.bump();
            READY.store(1, Ordering::Release);
        });
        while READY.load(Ordering::Relaxed) != 1 {
            std::hint::spin_loop();
        }
        let _ = READY.load(Ordering::Relaxed);
        let _ = READY.load(if racy { Ordering::Relaxed } else { Ordering::Acquire });
        DATA.bump();
        t.join().unwrap();
    }

    /// `io::stdout().lock()` and `io::stderr().lock()` held around an
    /// update, as programs that print a consistent line do (racy: one
    /// thread updates without the lock).
    pub fn stdio_lock(racy: bool) {
        use std::io::Write;
        let s = Arc::new(Shared::new());
        let hs: Vec<_> = (0..THREADS)
            .map(|i| {
                let s = Arc::clone(&s);
                thread::spawn(move || {
                    for _ in 0..ROUNDS / 10 {
                        if racy && i == 1 {
                            s.bump();
                            continue;
                        }
                        if i % 2 == 0 {
                            let mut out = std::io::stdout().lock();
                            s.bump();
                            let _ = out.flush();
                        } else {
                            let _err = std::io::stderr().lock();
                            let _out = std::io::stdout().lock();
                            s.bump();
                        }
                    }
                })
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
    }

    /// park/unpark with a flag, LazyLock, sync_channel(n), Builder::spawn,
    /// wait_while, wait_timeout, Arc::try_unwrap, compiler_fence.
    pub fn extras(racy: bool) {
        // park/unpark: the documented pattern, a flag checked around park().
        let s = Arc::new(Shared::new());
        let flag = Arc::new(AtomicBool::new(false));
        let (s2, flag2) = (Arc::clone(&s), Arc::clone(&flag));
        let t = thread::Builder::new()
            .name("parker".into())
            .spawn(move || {
                while !flag2.load(Ordering::Acquire) {
                    thread::park();
                }
                s2.bump();
            })
            .unwrap();
        s.bump();
        flag.store(true, if racy { Ordering::Relaxed } else { Ordering::Release });
        t.thread().unpark();
        t.join().unwrap();

        static LAZY: LazyLock<Shared> = LazyLock::new(|| {
            let s = Shared::new();
            s.bump();
            s
        });
        let hs: Vec<_> = (0..THREADS).map(|_| thread::spawn(|| LAZY.get())).collect();
        for h in hs {
            h.join().unwrap();
        }

        let (tx, rx) = mpsc::sync_channel::<Box<Shared>>(2);
        let t = thread::spawn(move || {
            for _ in 0..ROUNDS / 10 {
                let s = Box::new(Shared::new());
                s.bump();
                tx.send(s).unwrap();
            }
        });
        for s in rx {
            s.bump();
        }
        t.join().unwrap();

        let pair = Arc::new((Mutex::new(0u32), Condvar::new(), Shared::new()));
        let p2 = Arc::clone(&pair);
        let t = thread::spawn(move || {
            p2.2.bump();
            *p2.0.lock().unwrap() = 2;
            p2.1.notify_all();
        });
        let g = pair.1.wait_while(pair.0.lock().unwrap(), |v| *v != 2).unwrap();
        drop(g);
        pair.2.bump();
        t.join().unwrap();
        let (g, _) = pair.1.wait_timeout(pair.0.lock().unwrap(), std::time::Duration::from_millis(1)).unwrap();
        drop(g);

        let s = Arc::new(Shared::new());
        let s2 = Arc::clone(&s);
        thread::spawn(move || s2.bump()).join().unwrap();
        let owned = Arc::try_unwrap(s).ok().expect("sole owner");
        owned.bump();

        std::sync::atomic::compiler_fence(Ordering::SeqCst);
    }

    /// park/unpark alone, without a flag: `unpark` happens before the
    /// `park` it wakes returns. (A spurious wake-up would make this a real
    /// race; std's futex parker has none in practice.) Racy: the data is
    /// written after `unpark`.
    pub fn park_unpark(racy: bool) {
        // A token left by earlier scenarios (std's channels unpark their
        // receivers) would let the first park return at once.
        thread::park_timeout(std::time::Duration::ZERO);
        for _ in 0..ROUNDS / 20 {
            let s = Arc::new(Shared::new());
            let s2 = Arc::clone(&s);
            let parker = thread::current();
            let t = thread::spawn(move || {
                if !racy {
                    s2.bump();
                }
                parker.unpark();
                if racy {
                    s2.bump();
                }
            });
            thread::park();
            if racy {
                thread::sleep(std::time::Duration::from_millis(1));
            }
            s.bump();
            t.join().unwrap();
        }
        // park_timeout with a token already there returns at once.
        thread::park_timeout(std::time::Duration::ZERO);
        let s = Arc::new(Shared::new());
        let s2 = Arc::clone(&s);
        let parker = thread::current();
        let t = thread::spawn(move || {
            s2.bump();
            parker.unpark();
        });
        thread::park_timeout(std::time::Duration::from_secs(60));
        s.bump();
        t.join().unwrap();
    }

    pub fn arc_drop_elsewhere(racy: bool) {
        for _ in 0..ROUNDS / 10 {
            let s = Arc::new(Shared::new());
            s.bump();
            let s2 = Arc::clone(&s);
            let t = thread::spawn(move || {
                s2.bump();
                drop(s2);
            });
            if racy {
                s.bump(); // while the other thread may still use it
            }
            // Whoever drops last frees the block; the other's accesses must
            // be ordered before the free by Arc's release/acquire.
            t.join().unwrap();
            drop(s);
        }
        let mut s = Arc::new(Shared::new());
        let s2 = Arc::clone(&s);
        thread::spawn(move || s2.bump()).join().unwrap();
        Arc::get_mut(&mut s).unwrap().bump();
    }
}

fn main() {
    let all: &[(&str, fn(bool))] = &[
        ("spawn_join", scenarios::spawn_join),
        ("scope", scenarios::scope),
        ("mutex_contended", scenarios::mutex_contended),
        ("rwlock", scenarios::rwlock),
        ("condvar", scenarios::condvar),
        ("barrier", scenarios::barrier),
        ("once", scenarios::once),
        ("channel", scenarios::channel),
        ("atomics_and_fences", scenarios::atomics_and_fences),
        ("arc_drop_elsewhere", scenarios::arc_drop_elsewhere),
        ("extras", scenarios::extras),
        ("park_unpark", scenarios::park_unpark),
        ("stdio_lock", scenarios::stdio_lock),
    ];
    let racy = match std::env::args().nth(1).as_deref() {
        Some("racy") => true,
        Some("correct") => false,
        _ => {
            eprintln!("usage: std-sync correct|racy [SCENARIO]");
            std::process::exit(2);
        }
    };
    let pick = std::env::args().nth(2);
    for (name, f) in all {
        if pick.as_deref().is_none_or(|p| p == *name) {
            f(racy);
        }
    }
    println!("ok");
}

/// Every scenario used correctly, as tests inside libtest's harness (run in
/// parallel, on the harness's threads): `racecheck test -p std-sync`.
#[cfg(test)]
mod harness {
    macro_rules! silent {
        ($($name:ident),* $(,)?) => {$(
            #[test]
            fn $name() {
                super::scenarios::$name(false);
            }
        )*};
    }
    silent!(
        spawn_join, scope, mutex_contended, rwlock, condvar, barrier, once, channel, atomics_and_fences,
        arc_drop_elsewhere, extras, park_unpark, stdio_lock,
    );
}
