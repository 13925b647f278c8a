//! Data published through a flag stored and loaded with Release and loaded with Acquire: the flag
//! orders the write before the read. Silent.
use racecheck::race_check;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;

static mut DATA: u64 = 0;
static READY: AtomicBool = AtomicBool::new(false);

#[race_check]
fn main() {
    let producer = thread::spawn(|| {
        unsafe { DATA = 42 };
        READY.store(true, Ordering::Release);
    });
    let consumer = thread::spawn(|| {
        while !READY.load(Ordering::Acquire) {
            std::hint::spin_loop();
        }
        let v = unsafe { DATA };
        println!("read {v}");
    });
    producer.join().unwrap();
    consumer.join().unwrap();
}
