//! Load: `stress threads N` creates N threads, 64 alive at a time, each
//! touching shared memory under a lock (silent); `stress recursion N`
//! recurses N annotated frames deep; `stress accesses N` makes N checked
//! accesses; `stress sparse N` touches N GiB of heap sparsely (a word
//! every 64 KiB). Prints peak RSS in MiB at the end.
use racecheck::race_check;
use std::sync::{Arc, Mutex};
use std::thread;

#[race_check]
fn deep(n: u64, p: *mut u64) -> u64 {
    if n == 0 {
        return unsafe { *p };
    }
    unsafe { *p += 1 };
    deep(n - 1, p) + 1
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
        _ => {
            eprintln!("usage: stress threads|recursion|accesses|sparse N");
            std::process::exit(2);
        }
    }
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let peak = status.lines().find(|l| l.starts_with("VmHWM")).unwrap_or("VmHWM: ?");
    println!("{what} {n}: {peak}");
}
