//! Shared helpers for the workloads.

/// A raw pointer that may cross threads (each workload decides the ordering).
pub struct Ptr<T>(pub *mut T);
unsafe impl<T> Send for Ptr<T> {}
impl<T> Clone for Ptr<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Ptr<T> {}
impl<T> Ptr<T> {
    pub fn get(self) -> *mut T {
        self.0
    }
}

/// A scale factor from the first argument (default 1.0): `w1 0.1` runs a tenth.
pub fn scale(n: u64) -> u64 {
    let f: f64 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(1.0);
    ((n as f64) * f).max(1.0) as u64
}

/// The thread count from the second argument (`default` without one).
pub fn threads(default: usize) -> usize {
    std::env::args().nth(2).and_then(|a| a.parse().ok()).unwrap_or(default)
}

/// `work(from, to)` on `threads` threads, each over its own part of
/// `0..len`; returns when all are joined.
pub fn on_own_parts(threads: usize, len: usize, work: impl Fn(usize, usize) + Copy + Send + 'static) {
    let per = len / threads;
    let hs: Vec<_> = (0..threads).map(|t| std::thread::spawn(move || work(t * per, (t + 1) * per))).collect();
    for h in hs {
        h.join().unwrap();
    }
}
