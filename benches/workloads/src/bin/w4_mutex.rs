//! (4) Two threads updating a struct under a std Mutex 10^7 times.
use racecheck::race_check;
use racecheck_workloads::scale;
use std::sync::{Arc, Mutex};
use std::thread;

#[derive(Default)]
pub struct Stats {
    count: u64,
    sum: u64,
}

#[race_check]
fn work(m: Arc<Mutex<Stats>>, n: u64) {
    for i in 0..n {
        let mut g = m.lock().unwrap();
        let s: &mut Stats = &mut g;
        s.count += 1;
        s.sum = s.sum.wrapping_add(i);
    }
}

#[race_check]
fn main() {
    let n = scale(10_000_000 / 2);
    let m = Arc::new(Mutex::new(Stats::default()));
    let hs: Vec<_> = (0..2).map(|_| {
        let m = Arc::clone(&m);
        thread::spawn(move || work(m, n))
    }).collect();
    for h in hs {
        h.join().unwrap();
    }
    let g = m.lock().unwrap();
    println!("{} {}", g.count, g.sum);
}
