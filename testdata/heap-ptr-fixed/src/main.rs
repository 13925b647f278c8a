//! `heap-ptr`, fixed: the first writer is joined before the second starts.
use racecheck::race_check;
use std::thread;

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

#[race_check]
fn main() {
    let buf: Box<[u64]> = vec![0u64; 16].into_boxed_slice();
    let p = Box::into_raw(buf) as *mut u64;
    let (a, b) = (SendPtr(p), SendPtr(p));
    let t1 = thread::spawn(move || fill(a.get(), 1));
    t1.join().unwrap();
    let t2 = thread::spawn(move || fill(b.get(), 2));
    t2.join().unwrap();
    let last = unsafe { *p.add(3) };
    println!("last = {last}");
    drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(p, 16)) });
}
