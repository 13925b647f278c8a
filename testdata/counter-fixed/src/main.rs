//! The counter of `counter`, fixed: a Mutex orders the two increments.
use racecheck::race_check;
use std::sync::Mutex;
use std::thread;

static mut COUNTER: u64 = 0;
static LOCK: Mutex<()> = Mutex::new(());

#[race_check]
fn main() {
    let a = thread::spawn(|| {
        let _g = LOCK.lock().unwrap();
        unsafe {
            let v = COUNTER;
            COUNTER = v + 1;
        }
    });
    let b = thread::spawn(|| {
        let _g = LOCK.lock().unwrap();
        unsafe {
            let v = COUNTER;
            COUNTER = v + 1;
        }
    });
    a.join().unwrap();
    b.join().unwrap();
    println!("counter = {}", unsafe { COUNTER });
}
