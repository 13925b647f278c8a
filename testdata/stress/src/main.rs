//! Load: `stress threads N` creates N threads, 64 alive at a time, each
//! touching shared memory under a lock (silent); `stress recursion N`
//! recurses N annotated frames deep; `stress accesses N` makes N checked
//! accesses; `stress dense N` writes N MiB word by word and prints how much
//! of the process is on transparent huge pages; `stress sparse N` touches N GiB of heap sparsely (a word
//! every 64 KiB); `stress ring N` passes N heap messages through a
//! lock-free ring (Release/Acquire, silent), each published again by its
//! own flag and freed by the receiver, so synchronisation objects are
//! reused at recycled addresses while both threads hammer them;
//! `stress ring-relaxed N` publishes with Relaxed stores (a race);
//! `stress live N` keeps N threads alive at once, each writing its own
//! word of a shared buffer, all waiting on one barrier before they end,
//! then joined (silent); `stress live-race N` does the same, and the first
//! and the last thread also write one word before the barrier (one race).
//! Prints peak RSS in MiB at the end.
use racecheck::race_check;
use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

struct Msg {
    ready: AtomicBool,
    payload: UnsafeCell<[u64; 4]>,
}

const RING: usize = 64;

struct Ring {
    slots: [AtomicPtr<Msg>; RING],
    head: AtomicUsize,
    tail: AtomicUsize,
}

#[race_check]
fn produce(r: &Ring, n: u64, publish: Ordering) {
    for i in 0..n {
        let m = Box::into_raw(Box::new(Msg { ready: AtomicBool::new(false), payload: UnsafeCell::new([0; 4]) }));
        unsafe {
            let p = (*m).payload.get();
            (*p)[0] = i;
            (*p)[3] = i * 3;
            (*m).ready.store(true, publish);
        }
        let t = r.tail.load(Ordering::Relaxed);
        while t - r.head.load(Ordering::Acquire) == RING {
            std::hint::spin_loop();
        }
        r.slots[t % RING].store(m, Ordering::Relaxed);
        r.tail.store(t + 1, publish);
    }
}

#[race_check]
fn consume(r: &Ring, n: u64) -> u64 {
    let mut sum = 0u64;
    for _ in 0..n {
        let h = r.head.load(Ordering::Relaxed);
        while r.tail.load(Ordering::Acquire) == h {
            std::hint::spin_loop();
        }
        let m = r.slots[h % RING].load(Ordering::Relaxed);
        r.head.store(h + 1, Ordering::Release);
        unsafe {
            assert!((*m).ready.load(Ordering::Acquire));
            let p = (*m).payload.get();
            sum = sum.wrapping_add((*p)[0] + (*p)[3]);
            drop(Box::from_raw(m));
        }
    }
    sum
}

#[race_check]
fn deep(n: u64, p: *mut u64) -> u64 {
    if n == 0 {
        return unsafe { *p };
    }
    unsafe { *p += 1 };
    deep(n - 1, p) + 1
}

/// `n` threads alive at once (see the module docs).
#[race_check]
fn live(n: usize, race: bool) {
    struct Shared(*mut u64);
    // SAFETY: each thread writes its own word (the racy run aside).
    unsafe impl Sync for Shared {}
    let words = Box::into_raw(vec![0u64; n + 1].into_boxed_slice()) as *mut u64;
    let shared = Shared(words);
    let all_alive = std::sync::Barrier::new(n);
    thread::scope(|s| {
        for i in 0..n {
            let (shared, all_alive) = (&shared, &all_alive);
            thread::Builder::new()
                .stack_size(64 << 10)
                .spawn_scoped(s, move || {
                    let p = shared.0;
                    unsafe { *p.add(i) = i as u64 + 1 };
                    if race && (i == 0 || i == n - 1) {
                        // Both before the barrier: unordered.
                        unsafe { *p.add(n) = i as u64 };
                    }
                    all_alive.wait();
                })
                .expect("spawn");
        }
    });
    let sum: u64 = (0..n).map(|i| unsafe { *words.add(i) }).sum();
    assert_eq!(sum, (n as u64) * (n as u64 + 1) / 2);
    drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(words, n + 1)) });
}

#[race_check]
fn main() {
    let what = std::env::args().nth(1).unwrap_or_default();
    let n: u64 = std::env::args().nth(2).and_then(|a| a.parse().ok()).unwrap_or(1000);
    match what.as_str() {
        "threads" => {
            let shared = Arc::new(Mutex::new(vec![0u64; 64]));
            let mut done = 0;
            while done < n {
                let batch = (n - done).min(64);
                let hs: Vec<_> = (0..batch)
                    .map(|i| {
                        let s = Arc::clone(&shared);
                        thread::spawn(move || {
                            let mut g = s.lock().unwrap();
                            g[i as usize] += 1;
                        })
                    })
                    .collect();
                for h in hs {
                    h.join().unwrap();
                }
                done += batch;
            }
            let total: u64 = shared.lock().unwrap().iter().sum();
            assert_eq!(total, n);
        }
        "recursion" => {
            let big = thread::Builder::new().stack_size(1 << 30);
            let r = big
                .spawn(move || {
                    let mut x = 0u64;
                    deep(n, &mut x)
                })
                .unwrap()
                .join()
                .unwrap();
            assert_eq!(r, 2 * n, "n increments, then one per level");
        }
        "accesses" => {
            let buf = vec![0u64; 1 << 16].into_boxed_slice();
            let p = Box::into_raw(buf) as *mut u64;
            for i in 0..n as usize {
                unsafe { *p.add(i & 0xffff) += 1 };
            }
        }
        "dense" => {
            // N MiB written word by word, then the huge pages backing the
            // process (the shadow's, under racecheck) and the page faults
            // it took are printed.
            let words = (n as usize) << 17;
            let p = Box::into_raw(vec![0u64; words].into_boxed_slice()) as *mut u64;
            for i in 0..words {
                unsafe { *p.add(i) = i as u64 };
            }
            let smaps = std::fs::read_to_string("/proc/self/smaps_rollup").unwrap_or_default();
            let huge = smaps.lines().find(|l| l.starts_with("AnonHugePages")).unwrap_or("AnonHugePages: ?");
            println!("dense {n}: {huge}");
            // Field 10 of /proc/self/stat, the 8th after the parenthesised name.
            let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
            let minflt = stat.rsplit(')').next().and_then(|f| f.split_whitespace().nth(7)).unwrap_or("?");
            println!("dense {n}: minor faults {minflt}");
            drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(p, words)) });
        }
        "sparse" => {
            // N GiB, zeroed lazily by the kernel; one u64 written every
            // 64 KiB by main, then read by a thread it spawns (ordered).
            let bytes = (n as usize) << 30;
            let layout = std::alloc::Layout::from_size_align(bytes, 8).unwrap();
            let base = unsafe { std::alloc::alloc_zeroed(layout) } as *mut u64;
            assert!(!base.is_null(), "failed to reserve {n} GiB");
            let stride = (64 << 10) / 8;
            let words = bytes / 8;
            let mut i = 0;
            while i < words {
                unsafe { *base.add(i) = i as u64 };
                i += stride;
            }
            let p = base as usize;
            let sum = thread::spawn(move || {
                let base = p as *const u64;
                let (mut s, mut i) = (0u64, 0);
                while i < words {
                    s = s.wrapping_add(unsafe { *base.add(i) });
                    i += stride;
                }
                s
            })
            .join()
            .unwrap();
            let expect = (0..words).step_by(stride).map(|i| i as u64).fold(0u64, u64::wrapping_add);
            assert_eq!(sum, expect);
            unsafe { std::alloc::dealloc(base as *mut u8, layout) };
        }
        "ring" | "ring-relaxed" => {
            let publish = if what == "ring" { Ordering::Release } else { Ordering::Relaxed };
            let r = Arc::new(Ring {
                slots: [const { AtomicPtr::new(std::ptr::null_mut()) }; RING],
                head: AtomicUsize::new(0),
                tail: AtomicUsize::new(0),
            });
            let r2 = Arc::clone(&r);
            let producer = thread::spawn(move || produce(&r2, n, publish));
            let sum = consume(&r, n);
            producer.join().unwrap();
            assert_eq!(sum, (0..n).map(|i| i * 4).fold(0u64, u64::wrapping_add));
        }
        "live" | "live-race" => live(n as usize, what == "live-race"),
        _ => {
            eprintln!("usage: stress threads|recursion|accesses|dense|sparse|ring|ring-relaxed|live|live-race N");
            std::process::exit(2);
        }
    }
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let peak = status.lines().find(|l| l.starts_with("VmHWM")).unwrap_or("VmHWM: ?");
    println!("{what} {n}: {peak}");
}
