//! Data published through a flag stored and loaded with Relaxed: the flag
//! orders nothing, so reading the data races with writing it.
use racecheck::race_check;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;

static mut DATA: u64 = 0;
static READY: AtomicBool = AtomicBool::new(false);

#[race_check]
fn main() {
    let producer = thread::spawn(|| {
        unsafe { DATA = 42 };
        READY.store(true, Ordering::Relaxed);
    });
    let consumer = thread::spawn(|| {
        while !READY.load(Ordering::Relaxed) {
            std::hint::spin_loop();
        }
        let v = unsafe { DATA };
        println!("read {v}");
    });
    producer.join().unwrap();
    consumer.join().unwrap();
}
