//! (6) Two threads allocating, writing and freeing 10^6 boxes each.
use racecheck::race_check;
use racecheck_workloads::scale;
use std::thread;

#[race_check]
fn churn(n: u64) -> u64 {
    let mut s = 0u64;
    for i in 0..n {
        // black_box: keep the allocation real (LLVM may otherwise elide it).
        let mut b = std::hint::black_box(Box::new([0u64; 4]));
        b[(i % 4) as usize] = i;
        s = s.wrapping_add(b[(i % 4) as usize]);
        drop(std::hint::black_box(b));
    }
    s
}

#[race_check]
fn main() {
    let n = scale(1_000_000);
    let hs: Vec<_> = (0..2).map(|_| thread::spawn(move || churn(n))).collect();
    let s: u64 = hs.into_iter().map(|h| h.join().unwrap()).fold(0, u64::wrapping_add);
    println!("{s}");
}
