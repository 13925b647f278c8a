//! libc's locks, condition variables and semaphores called directly, as C
//! libraries and FFI code do: racecheck sees their happens-before as
//! ThreadSanitizer's interceptors do.
//!
//! `ffi-sync fixed`: a pthread mutex around a counter, a condition variable
//! handing over a value, an rwlock's writer and readers, a spinlock, a
//! semaphore posted after a write, and a page unmapped (or moved away by
//! `mremap`) by one thread and mapped again at the same address by
//! another. Silent.
//! `ffi-sync racy`: two threads each take a different mutex around the same
//! counter, and a semaphore posted before the write it should publish. Two
//! races.
use racecheck::race_check;
use std::cell::UnsafeCell;
use std::thread;
use std::time::Duration;

/// Shared state with libc synchronisation objects beside it.
struct Shared {
    mutex: [UnsafeCell<libc::pthread_mutex_t>; 2],
    cond: UnsafeCell<libc::pthread_cond_t>,
    rwlock: UnsafeCell<libc::pthread_rwlock_t>,
    spin: UnsafeCell<libc::pthread_spinlock_t>,
    sem: UnsafeCell<libc::sem_t>,
    value: UnsafeCell<u64>,
    /// Only under the spinlock.
    spun: UnsafeCell<u64>,
    ready: UnsafeCell<bool>,
}

unsafe impl Sync for Shared {}

impl Shared {
    fn new() -> Box<Shared> {
        let s = Box::new(Shared {
            mutex: [UnsafeCell::new(libc::PTHREAD_MUTEX_INITIALIZER), UnsafeCell::new(libc::PTHREAD_MUTEX_INITIALIZER)],
            cond: UnsafeCell::new(libc::PTHREAD_COND_INITIALIZER),
            rwlock: UnsafeCell::new(libc::PTHREAD_RWLOCK_INITIALIZER),
            spin: UnsafeCell::new(0),
            // SAFETY: sem_t is plain data; sem_init below sets it up.
            sem: UnsafeCell::new(unsafe { std::mem::zeroed() }),
            value: UnsafeCell::new(0),
            spun: UnsafeCell::new(0),
            ready: UnsafeCell::new(false),
        });
        // SAFETY: both objects live in the box, which outlives every use.
        unsafe {
            libc::pthread_spin_init(s.spin.get(), libc::PTHREAD_PROCESS_PRIVATE);
            libc::sem_init(s.sem.get(), 0, 0);
        }
        s
    }
}

#[race_check]
mod scenarios {
    use super::*;

    /// Each of two threads adds `rounds` times under mutex `pick(i)`. The second
    /// starts once the first is done (told by a Relaxed flag, which orders
    /// nothing, and a pause for it to exit), so a report reads the same
    /// every run.
    ///
    /// The handles are dropped only once both threads are started: a scoped
    /// thread that has ended before its handle is dropped is ordered before
    /// whatever the dropping thread does next (the handle's drop is the last
    /// of an `Arc` and ends with an acquire fence), so dropping the first
    /// handle at once, as this did, left no race to report in a run where
    /// the first thread ended before `spawn` returned (5 runs in 180 with
    /// three copies at once).
    pub fn mutex_counter(s: &Shared, pick: fn(usize) -> usize, rounds: u64) -> u64 {
        use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
        let first_done = AtomicBool::new(false);
        thread::scope(|sc| {
            let mut handles = Vec::new();
            for i in 0..2 {
                let first_done = &first_done;
                handles.push(sc.spawn(move || {
                    if i == 1 {
                        while !first_done.load(Relaxed) {
                            std::hint::spin_loop();
                        }
                        thread::sleep(Duration::from_millis(50));
                    }
                    for _ in 0..rounds {
                        let m = s.mutex[pick(i)].get();
                        unsafe {
                            libc::pthread_mutex_lock(m);
                            *s.value.get() += 1;
                            libc::pthread_mutex_unlock(m);
                        }
                    }
                    first_done.store(true, Relaxed);
                }));
            }
        });
        unsafe { *s.value.get() }
    }

    pub fn cond_hand_over(s: &Shared) {
        thread::scope(|sc| {
            sc.spawn(|| unsafe {
                let (m, c) = (s.mutex[0].get(), s.cond.get());
                libc::pthread_mutex_lock(m);
                while !*s.ready.get() {
                    libc::pthread_cond_wait(c, m);
                }
                libc::pthread_mutex_unlock(m);
                assert_eq!(*s.value.get(), 42);
            });
            thread::sleep(Duration::from_millis(20));
            let (m, c) = (s.mutex[0].get(), s.cond.get());
            unsafe {
                *s.value.get() = 42;
                libc::pthread_mutex_lock(m);
                *s.ready.get() = true;
                libc::pthread_cond_signal(c);
                libc::pthread_mutex_unlock(m);
            }
        });
    }

    pub fn rwlock_and_spinlock(s: &Shared) {
        thread::scope(|sc| {
            sc.spawn(|| unsafe {
                let rw = s.rwlock.get();
                libc::pthread_rwlock_wrlock(rw);
                *s.value.get() += 1;
                libc::pthread_rwlock_unlock(rw);
            });
            sc.spawn(|| unsafe {
                thread::sleep(Duration::from_millis(20));
                let rw = s.rwlock.get();
                libc::pthread_rwlock_rdlock(rw);
                let _v = *s.value.get();
                libc::pthread_rwlock_unlock(rw);
            });
            for _ in 0..2 {
                sc.spawn(|| unsafe {
                    let spin = s.spin.get();
                    for _ in 0..100 {
                        libc::pthread_spin_lock(spin);
                        *s.spun.get() += 1;
                        libc::pthread_spin_unlock(spin);
                    }
                });
            }
        });
    }

    /// A thread writes a word of a fresh mapping and unmaps it; later, with
    /// nothing ordering the two, the main thread maps a new page at the
    /// same address and writes there: different memory, no race (the
    /// unmapped range's shadow is emptied with it).
    pub fn mapping_reused() {
        use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
        static ADDR: AtomicUsize = AtomicUsize::new(0);
        const LEN: usize = 4096;
        let map = |hint: usize, flags: i32| unsafe {
            libc::mmap(hint as *mut libc::c_void, LEN, libc::PROT_READ | libc::PROT_WRITE, libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | flags, -1, 0)
        };
        let t = thread::spawn(move || {
            let p = map(0, 0) as *mut u64;
            unsafe {
                *p = 1;
                libc::munmap(p.cast(), LEN);
            }
            // Relaxed: tells where, orders nothing.
            ADDR.store(p as usize, Relaxed);
        });
        let mut at = 0;
        while at == 0 {
            at = ADDR.load(Relaxed);
        }
        let q = map(at, libc::MAP_FIXED_NOREPLACE) as *mut u64;
        assert_eq!(q as usize, at, "the address was taken again");
        unsafe {
            *q = 2;
            libc::munmap(q.cast(), LEN);
        }
        t.join().unwrap();
    }

    /// As `mapping_reused`, with the page moved away by `mremap` instead of
    /// unmapped: its old address is free, and the main thread maps a new
    /// page there. Different memory, no race.
    pub fn mapping_moved() {
        use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
        static ADDR: AtomicUsize = AtomicUsize::new(0);
        const LEN: usize = 4096;
        let map = |hint: usize, prot: i32, flags: i32| unsafe {
            libc::mmap(hint as *mut libc::c_void, LEN, prot, libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | flags, -1, 0)
        };
        let rw = libc::PROT_READ | libc::PROT_WRITE;
        let t = thread::spawn(move || {
            let p = map(0, rw, 0) as *mut u64;
            // Somewhere to move it to.
            let to = map(0, libc::PROT_NONE, 0);
            unsafe {
                *p = 1;
                let moved = libc::mremap(p.cast(), LEN, LEN, libc::MREMAP_MAYMOVE | libc::MREMAP_FIXED, to);
                assert_eq!(moved, to, "mremap moved the page");
                libc::munmap(moved, LEN);
            }
            ADDR.store(p as usize, Relaxed);
        });
        let mut at = 0;
        while at == 0 {
            at = ADDR.load(Relaxed);
        }
        let q = map(at, rw, libc::MAP_FIXED_NOREPLACE) as *mut u64;
        assert_eq!(q as usize, at, "the address was taken again");
        unsafe {
            *q = 2;
            libc::munmap(q.cast(), LEN);
        }
        t.join().unwrap();
    }

    /// A writer posts the semaphore after (or, `post_first`, before) its
    /// write; the reader waits, then reads. The writer's handle is kept
    /// until then, as in `mutex_counter`.
    pub fn semaphore(s: &Shared, post_first: bool) {
        thread::scope(|sc| {
            let _writer = sc.spawn(move || unsafe {
                let sem = s.sem.get();
                if post_first {
                    libc::sem_post(sem);
                }
                *s.value.get() = 7;
                if !post_first {
                    libc::sem_post(sem);
                }
            });
            unsafe {
                libc::sem_wait(s.sem.get());
                if post_first {
                    // Only so the report reads the same every run.
                    thread::sleep(Duration::from_millis(50));
                }
                let _v = *s.value.get();
            }
        });
    }
}

fn main() {
    let s = Shared::new();
    match std::env::args().nth(1).as_deref() {
        Some("fixed") => {
            assert_eq!(scenarios::mutex_counter(&s, |_| 0, 1000), 2000);
            scenarios::cond_hand_over(&s);
            scenarios::rwlock_and_spinlock(&s);
            scenarios::semaphore(&s, false);
            scenarios::mapping_reused();
            scenarios::mapping_moved();
        }
        Some("racy") => {
            scenarios::mutex_counter(&s, |i| i, 1);
            scenarios::semaphore(&s, true);
        }
        _ => eprintln!("usage: ffi-sync racy|fixed"),
    }
}
