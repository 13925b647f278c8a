//! The counter race from Go's race detector article: two threads each read a
//! shared counter and write it back incremented, with nothing ordering them.
use racecheck::race_check;
use std::thread;
use std::time::Duration;

static mut COUNTER: u64 = 0;

#[race_check]
fn main() {
    let a = thread::spawn(|| unsafe {
        let v = COUNTER;
        COUNTER = v + 1;
    });
    let b = thread::spawn(|| unsafe {
        // Only so the report reads the same on every run; sleeping orders nothing.
        thread::sleep(Duration::from_millis(100));
        let v = COUNTER;
        COUNTER = v + 1;
    });
    a.join().unwrap();
    b.join().unwrap();
    println!("counter = {}", unsafe { COUNTER });
}
