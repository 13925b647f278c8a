//! Correct use of std's synchronisation, each guarding plain accesses in
//! annotated code. Must stay silent: every primitive creates the
//! happens-before edge its documentation promises. Run one scenario by name,
//! or all of them.
use racecheck::race_check;
use std::cell::UnsafeCell;
use std::sync::atomic::{fence, AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Barrier, Condvar, Mutex, Once, OnceLock, RwLock};
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

    pub fn spawn_join() {
        let s = Arc::new(Shared::new());
        s.bump();
        let handles: Vec<_> = (0..THREADS)
            .map(|_| {
                let s = Arc::clone(&s);
                thread::spawn(move || s.get())
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        s.bump();
    }

    pub fn scope() {
        let s = Shared::new();
        for _ in 0..ROUNDS / 10 {
            thread::scope(|sc| {
                sc.spawn(|| s.bump());
            });
            s.bump();
        }
    }

    pub fn mutex_contended() {
        let s = Arc::new((Mutex::new(()), Shared::new()));
        let hs: Vec<_> = (0..THREADS)
            .map(|_| {
                let s = Arc::clone(&s);
                thread::spawn(move || {
                    for _ in 0..ROUNDS {
                        let _g = s.0.lock().unwrap();
                        s.1.bump();
                    }
                })
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
        assert_eq!(s.1.get(), (THREADS * ROUNDS) as u64);
    }

    pub fn rwlock() {
        let s = Arc::new((RwLock::new(()), Shared::new()));
        let hs: Vec<_> = (0..THREADS)
            .map(|i| {
                let s = Arc::clone(&s);
                thread::spawn(move || {
                    for _ in 0..ROUNDS {
                        if i % 2 == 0 {
                            let _g = s.0.write().unwrap();
                            s.1.bump();
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

    pub fn condvar() {
        let s = Arc::new((Mutex::new(false), Condvar::new(), Shared::new()));
        let s2 = Arc::clone(&s);
        let t = thread::spawn(move || {
            s2.2.bump();
            *s2.0.lock().unwrap() = true;
            s2.1.notify_one();
        });
        let mut ready = s.0.lock().unwrap();
        while !*ready {
            ready = s.1.wait(ready).unwrap();
        }
        drop(ready);
        s.2.bump();
        t.join().unwrap();
    }

    pub fn barrier() {
        let s = Arc::new((Barrier::new(2), Shared::new()));
        let s2 = Arc::clone(&s);
        let t = thread::spawn(move || {
            s2.1.bump();
            s2.0.wait();
        });
        s.0.wait();
        s.1.bump();
        t.join().unwrap();
    }

    pub fn once() {
        static ONCE: Once = Once::new();
        static CELL: OnceLock<Shared> = OnceLock::new();
        static mut INIT: u64 = 0;
        let hs: Vec<_> = (0..THREADS)
            .map(|_| {
                thread::spawn(|| {
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

    pub fn channel() {
        let (tx, rx) = mpsc::channel::<Box<Shared>>();
        let t = thread::spawn(move || {
            for _ in 0..ROUNDS {
                let s = Box::new(Shared::new());
                s.bump();
                tx.send(s).unwrap();
            }
        });
        for s in rx {
            s.bump();
        }
        t.join().unwrap();
        let (tx, rx) = mpsc::sync_channel::<Box<Shared>>(0);
        let t = thread::spawn(move || {
            let s = Box::new(Shared::new());
            s.bump();
            tx.send(s).unwrap();
        });
        rx.recv().unwrap().bump();
        t.join().unwrap();
    }

    pub fn atomics_and_fences() {
        static DATA: Shared = Shared(UnsafeCell::new([0; 4]));
        static FLAG: AtomicBool = AtomicBool::new(false);
        static SEQ: AtomicUsize = AtomicUsize::new(0);
        let t = thread::spawn(|| {
            DATA.bump();
            fence(Ordering::Release);
            FLAG.store(true, Ordering::Relaxed);
        });
        while !FLAG.load(Ordering::Relaxed) {
            std::hint::spin_loop();
        }
        fence(Ordering::Acquire);
        DATA.bump();
        t.join().unwrap();
        let t = thread::spawn(|| {
            DATA.bump();
            SEQ.store(1, Ordering::SeqCst);
        });
        while SEQ.load(Ordering::SeqCst) != 1 {
            std::hint::spin_loop();
        }
        DATA.bump();
        t.join().unwrap();
    }

    pub fn arc_drop_elsewhere() {
        for _ in 0..ROUNDS / 10 {
            let s = Arc::new(Shared::new());
            s.bump();
            let s2 = Arc::clone(&s);
            let t = thread::spawn(move || {
                s2.bump();
                drop(s2);
            });
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
    let all: &[(&str, fn())] = &[
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
    ];
    let pick = std::env::args().nth(1);
    for (name, f) in all {
        if pick.as_deref().is_none_or(|p| p == *name) {
            f();
        }
    }
    println!("ok");
}
