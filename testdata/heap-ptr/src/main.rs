//! Two threads write the same element of a heap buffer through a raw pointer,
//! with nothing ordering them.
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
    unsafe {
        *p.add(3) = value;
    }
}

/// Not annotated: a frame outside annotated code, which the report of the
/// access below it still shows (from the live stack).
fn fill_later(b: SendPtr) {
    // Only so the report reads the same on every run; sleeping orders nothing.
    thread::sleep(Duration::from_millis(100));
    fill(b.get(), 2)
}

#[race_check]
fn main() {
    let buf: Box<[u64]> = vec![0u64; 16].into_boxed_slice();
    let p = Box::into_raw(buf) as *mut u64;
    let (a, b) = (SendPtr(p), SendPtr(p));
    let t1 = thread::spawn(move || fill(a.get(), 1));
    let t2 = thread::spawn(move || fill_later(b));
    t1.join().unwrap();
    t2.join().unwrap();
    drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(p, 16)) });
}
