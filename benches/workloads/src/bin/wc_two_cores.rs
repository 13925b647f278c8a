//! Calibration, not a workload: how much faster this machine runs the same
//! register-only work on two threads than on one. No memory is touched, so
//! nothing a race detector adds is in it; it is the ceiling any tool's
//! two-thread speedup on workload 2 can reach here (a host that shares the
//! two virtual CPUs' cores with other work keeps it well below 2).
//! Prints the median speedup of `reps` alternating runs (default 5).
use std::time::Instant;

fn spin(n: u64) -> u64 {
    // A dependent multiply-add chain: all in registers, one core's worth.
    let mut x = 1u64;
    for i in 0..n {
        x = x.wrapping_mul(6364136223846793005).wrapping_add(i);
    }
    x
}

fn run(threads: u64, total: u64) -> f64 {
    let start = Instant::now();
    let hs: Vec<_> =
        (0..threads).map(|_| std::thread::spawn(move || spin(std::hint::black_box(total / threads)))).collect();
    let x = hs.into_iter().map(|h| h.join().unwrap()).fold(0, u64::wrapping_add);
    std::hint::black_box(x);
    start.elapsed().as_secs_f64()
}

fn main() {
    let reps: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(5);
    let total = 600_000_000;
    let mut speedups: Vec<f64> = (0..reps).map(|_| run(1, total) / run(2, total)).collect();
    speedups.sort_by(f64::total_cmp);
    println!("{:.2}", speedups[reps / 2]);
}
