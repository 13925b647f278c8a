//! Which heap block a race is in, wherever the runtime keeps the block:
//! `heap-blocks far racy` races 512 KiB into a 1 MiB block (beyond the
//! report's near search of block starts); `heap-blocks crowded racy` races
//! on a small block allocated after 200,000 others still live (more than
//! the runtime's lock-free block table holds). `fixed` instead of `racy`
//! joins the first writer before the second writes.
use racecheck::race_check;
use std::thread;
use std::time::Duration;

struct SendPtr(*mut u64);
unsafe impl Send for SendPtr {}
impl SendPtr {
    fn get(&self) -> *mut u64 {
        self.0
    }
}

#[race_check]
fn fill(p: *mut u64, value: u64) {
    unsafe { *p = value }
}

#[race_check]
fn main() {
    let mut args = std::env::args().skip(1);
    let (mode, racy) = (args.next().unwrap_or_default(), args.next().as_deref() == Some("racy"));
    let (words, at, others) = match mode.as_str() {
        "far" => (1 << 17, 1 << 16, 0),
        "crowded" => (16, 3, 200_000),
        _ => panic!("usage: heap-blocks far|crowded racy|fixed"),
    };
    let live: Vec<Box<[u64; 4]>> = (0..others).map(|i| Box::new([i as u64; 4])).collect();
    let buf = Box::into_raw(vec![0u64; words].into_boxed_slice()) as *mut u64;
    let target = unsafe { buf.add(at) };
    let (a, b) = (SendPtr(target), SendPtr(target));
    let mut t1 = Some(thread::spawn(move || fill(a.get(), 1)));
    if !racy {
        t1.take().unwrap().join().unwrap();
    }
    let t2 = thread::spawn(move || {
        // Only so the report reads the same on every run; sleeping orders nothing.
        thread::sleep(Duration::from_millis(50));
        fill(b.get(), 2)
    });
    t2.join().unwrap();
    if let Some(t1) = t1 {
        t1.join().unwrap();
    }
    println!("{} blocks kept, {}", live.len(), unsafe { *target });
    drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(buf, words)) });
}
