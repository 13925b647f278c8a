//! (1) One thread, 10^8 reads and writes through raw pointers into a 1 MiB buffer.
use racecheck::race_check;
use racecheck_workloads::scale;

#[race_check]
fn main() {
    let n = scale(100_000_000 / 2);
    let words = (1 << 20) / 8;
    let buf = vec![0u64; words].into_boxed_slice();
    let p = Box::into_raw(buf) as *mut u64;
    let mut sum = 0u64;
    for i in 0..n as usize {
        unsafe {
            *p.add(i % words) = i as u64;
            sum = sum.wrapping_add(*p.add((i * 7) % words));
        }
    }
    println!("{sum}");
}
