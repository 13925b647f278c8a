//! A bench target with its own `main` (`harness = false`), as criterion
//! benches are: cargo passes rustc no `--crate-type` for it. Under
//! `racecheck test --bench handmade` it must be linked like any binary
//! (the runtime's start-up self-test would warn otherwise), and stay
//! silent: its threads share the counter under a lock.
use std::sync::{Arc, Mutex};
use std::thread;

fn main() {
    let c = Arc::new(Mutex::new(testcrate::Counter::default()));
    let hs: Vec<_> = (0..4)
        .map(|_| {
            let c = Arc::clone(&c);
            thread::spawn(move || {
                for _ in 0..1000 {
                    c.lock().unwrap().bump();
                }
            })
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
    println!("handmade bench: {}", c.lock().unwrap().get());
}
