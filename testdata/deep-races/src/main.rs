//! Races that only the compiler's instrumentation sees (`racecheck run
//! --deep`): each happens inside library code the program calls on shared
//! data (`Vec::push`, `HashMap::insert`, `String::push_str`, slice methods,
//! `Option::take`, `Rc::clone`), or in a free, a reallocation or a
//! thread-local's destructor; and two with a word far into a loop's first
//! pass through a buffer, most of whose accesses the runtime's hooks store
//! without its slow path (`sweep_fresh`, `sweep_taken_over`, and
//! `sweep_two_runs`, two at once). No
//! `#[race_check]` anywhere.
//!
//! `deep-races racy [NAME]` runs each scenario (or one) so that two threads
//! touch the same memory unordered; `deep-races fixed [NAME]` runs the same
//! code correctly ordered, and must stay silent.
//!
//! In each racy scenario the second thread starts its access only after the
//! first has finished its own (a relaxed flag and a pause, which order
//! nothing), so every report names the same earlier access on every run.

use std::cell::UnsafeCell;
use std::collections::HashMap;
use std::hint::black_box;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering::*};
use std::sync::Mutex;
use std::thread;
use std::time::Duration;

/// Shared memory handed to threads as a raw pointer, as unsafe code does.
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

/// Run `first` then `second` on two threads. Racy: `second` waits for a
/// relaxed flag `first` sets when done, and a pause (no happens-before).
/// Fixed: `first`'s thread is joined before `second`'s starts.
fn in_turn(racy: bool, first: impl FnOnce() + Send, second: impl FnOnce() + Send) {
    let done = AtomicBool::new(false);
    thread::scope(|s| {
        let a = s.spawn(|| {
            first();
            done.store(true, Relaxed);
        });
        if !racy {
            a.join().unwrap();
        }
        s.spawn(|| {
            while !done.load(Relaxed) {
                std::hint::spin_loop();
            }
            thread::sleep(Duration::from_millis(30));
            second();
        });
    });
}

fn vec_push(racy: bool) {
    let mut v: Vec<u64> = Vec::with_capacity(16);
    let p = Ptr(&mut v);
    in_turn(racy, || unsafe { (*p.get()).push(1) }, || unsafe { (*p.get()).push(2) });
    assert_eq!(v.len(), 2);
}

fn hashmap_insert_get(racy: bool) {
    let mut m: HashMap<u64, u64> = HashMap::with_capacity(16);
    let p = Ptr(&mut m);
    in_turn(racy, || unsafe { (*p.get()).insert(7, 1); }, || unsafe { black_box((*p.get()).get(&7)); });
}

fn string_push_len(racy: bool) {
    let mut s = String::with_capacity(64);
    let p = Ptr(&mut s);
    in_turn(racy, || unsafe { (*p.get()).push_str("abc") }, || unsafe { black_box((&*p.get()).len()); });
}

fn slice_copy_sum(racy: bool) {
    let mut buf = vec![0u8; 64];
    let p = Ptr(buf.as_mut_ptr());
    let src = [5u8; 64];
    in_turn(
        racy,
        || unsafe { std::slice::from_raw_parts_mut(p.get(), 64).copy_from_slice(&src) },
        || unsafe { black_box(std::slice::from_raw_parts(p.get(), 64).iter().map(|&b| b as u32).sum::<u32>()); },
    );
}

fn slice_fill_read(racy: bool) {
    let mut buf = vec![1u64; 32];
    let p = Ptr(buf.as_mut_ptr());
    in_turn(racy, || unsafe { std::slice::from_raw_parts_mut(p.get(), 32).fill(0) }, || unsafe { black_box(*p.get().add(3)); });
}

fn sort_read(racy: bool) {
    let mut v: Vec<u32> = (0..64).rev().collect();
    let p = Ptr(v.as_mut_ptr());
    in_turn(racy, || unsafe { std::slice::from_raw_parts_mut(p.get(), 64).sort_unstable() }, || unsafe { black_box(*p.get().add(10)); });
}

fn option_take(racy: bool) {
    let mut slot: Option<Box<u64>> = Some(Box::new(5));
    let p = Ptr(&mut slot);
    in_turn(racy, || unsafe { black_box((*p.get()).take()); }, || unsafe { black_box((*p.get()).take()); });
}

/// Words in the buffers of the sweep scenarios: far more than the runtime
/// needs to see a dense run, several of its prefault windows.
const SWEEP_WORDS: usize = 1 << 16;

/// A loop's first pass through the sweep scenarios' buffer: one write of
/// each word, in order.
fn write_each(p: Ptr<u64>) {
    for i in 0..SWEEP_WORDS {
        unsafe { *p.get().add(i) = i as u64 };
    }
}

/// A read of a word in the middle of that buffer.
fn read_middle(p: Ptr<u64>) {
    unsafe { black_box(*p.get().add(SWEEP_WORDS / 2 + 3)) };
}

/// The first pass through a buffer no one has written (zeroed by the
/// allocator), against another thread's read.
fn sweep_fresh(racy: bool) {
    let mut buf = vec![0u64; SWEEP_WORDS];
    let p = Ptr(buf.as_mut_ptr());
    in_turn(racy, || write_each(p), || read_middle(p));
}

/// The same through a buffer the main thread filled before starting the
/// writer: the writer's accesses take the filler's place.
fn sweep_taken_over(racy: bool) {
    let mut buf = vec![1u64; SWEEP_WORDS];
    let p = Ptr(buf.as_mut_ptr());
    in_turn(racy, || write_each(p), || read_middle(p));
}

/// A loop whose body makes two such runs: `+=` on each word of a fresh
/// buffer, which in a debug build checks the read and then the write.
fn sweep_two_runs(racy: bool) {
    let mut buf = vec![0u64; SWEEP_WORDS];
    let p = Ptr(buf.as_mut_ptr());
    in_turn(
        racy,
        || {
            for i in 0..SWEEP_WORDS {
                unsafe { *p.get().add(i) += i as u64 };
            }
        },
        || read_middle(p),
    );
}

/// An `Rc` shared between threads behind a wrong `unsafe impl Sync`: its
/// counts are plain integers.
struct WrongSync(Rc<u64>);
unsafe impl Sync for WrongSync {}
unsafe impl Send for WrongSync {}

fn rc_clone(racy: bool) {
    let shared = WrongSync(Rc::new(1));
    let w = &shared;
    in_turn(racy, || drop(black_box(w.0.clone())), || drop(black_box(w.0.clone())));
}

/// A block freed by one thread after another read it. Racy: the reader
/// tells the freeing thread with a relaxed flag, which orders nothing.
fn free_after_read(racy: bool) {
    let b = Box::new(41u64);
    let p = Ptr(Box::into_raw(b));
    in_turn(racy, || unsafe { black_box(*p.get()); }, || unsafe { drop(Box::from_raw(p.get())) });
}

/// A write through a pointer to a `Vec`'s element, then the `Vec` grows
/// (its old block is reallocated, so freed) in another thread.
fn vec_growth(racy: bool) {
    let mut v: Vec<u64> = Vec::with_capacity(2);
    v.push(0);
    let elem = Ptr(v.as_mut_ptr());
    let vp = Ptr(&mut v);
    in_turn(racy, || unsafe { *elem.get() = 9 }, || unsafe { (*vp.get()).extend_from_slice(&[1; 64]) });
}

struct Buffer(UnsafeCell<[u64; 4]>);
unsafe impl Sync for Buffer {}
static BUFFER: Buffer = Buffer(UnsafeCell::new([0; 4]));

/// Set by the destructor after its write: relaxed, so it orders nothing.
static WROTE_ON_EXIT: AtomicBool = AtomicBool::new(false);

struct WritesOnExit;
impl Drop for WritesOnExit {
    fn drop(&mut self) {
        unsafe { (*BUFFER.0.get())[1] = 3 };
        WROTE_ON_EXIT.store(true, Relaxed);
    }
}
thread_local! {
    static ON_EXIT: WritesOnExit = const { WritesOnExit };
}

/// A thread-local's destructor writes shared memory as its thread exits;
/// another thread reads it. Racy: nothing orders the read after that exit.
/// Fixed: the thread is joined first (its destructors run before).
fn tls_destructor(racy: bool) {
    WROTE_ON_EXIT.store(false, Relaxed);
    thread::scope(|s| {
        let a = s.spawn(|| ON_EXIT.with(|_| {}));
        if !racy {
            a.join().unwrap();
        }
        s.spawn(|| {
            while !WROTE_ON_EXIT.load(Relaxed) {
                std::hint::spin_loop();
            }
            thread::sleep(Duration::from_millis(30));
            unsafe { black_box((*BUFFER.0.get())[1]) };
        });
    });
}

/// Correct sharing, same library calls: under a `Mutex`.
fn locked_collections() {
    let m = Mutex::new((Vec::new(), HashMap::new(), String::new()));
    thread::scope(|s| {
        for i in 0..4u64 {
            let m = &m;
            s.spawn(move || {
                for j in 0..100 {
                    let mut g = m.lock().unwrap();
                    g.0.push(i * j);
                    g.1.insert(i * 1000 + j, j);
                    g.2.push_str("x");
                }
            });
        }
    });
    let g = m.lock().unwrap();
    assert_eq!((g.0.len(), g.1.len(), g.2.len()), (400, 400, 400));
}

const SCENARIOS: &[(&str, fn(bool))] = &[
    ("vec_push", vec_push),
    ("hashmap_insert_get", hashmap_insert_get),
    ("string_push_len", string_push_len),
    ("slice_copy_sum", slice_copy_sum),
    ("slice_fill_read", slice_fill_read),
    ("sort_read", sort_read),
    ("option_take", option_take),
    ("rc_clone", rc_clone),
    ("free_after_read", free_after_read),
    ("vec_growth", vec_growth),
    ("tls_destructor", tls_destructor),
    ("sweep_fresh", sweep_fresh),
    ("sweep_taken_over", sweep_taken_over),
    ("sweep_two_runs", sweep_two_runs),
];

fn main() {
    let mode = std::env::args().nth(1);
    let racy = match mode.as_deref() {
        Some("racy") => true,
        Some("fixed") => false,
        _ => {
            eprintln!("usage: deep-races racy|fixed [NAME]");
            std::process::exit(2);
        }
    };
    let pick = std::env::args().nth(2);
    for (name, scenario) in SCENARIOS {
        if pick.as_deref().is_none_or(|p| p == *name) {
            scenario(racy);
        }
    }
    if !racy && pick.is_none() {
        locked_collections();
    }
}
