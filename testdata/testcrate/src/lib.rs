//! A counter that claims to be `Sync` but is not: `bump` is a plain
//! read-modify-write of an `UnsafeCell`. One test uses it from two threads at
//! once (a race); the other orders the threads with `join` (clean).
use racecheck::race_check;
use std::cell::UnsafeCell;

pub struct Counter {
    value: UnsafeCell<u64>,
}

// Wrong on purpose: nothing synchronises `bump`.
unsafe impl Sync for Counter {}

impl Default for Counter {
    fn default() -> Self {
        Counter { value: UnsafeCell::new(0) }
    }
}

#[race_check]
impl Counter {
    pub fn bump(&self) {
        unsafe { *self.value.get() += 1 }
    }

    pub fn get(&self) -> u64 {
        unsafe { *self.value.get() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use std::thread;

    #[test]
    fn racy_bumps() {
        let c = Arc::new(Counter::default());
        let c2 = Arc::clone(&c);
        // A Relaxed flag only fixes the order the bumps run in (so the report
        // reads the same every run); it orders no memory, so they still race.
        let done = Arc::new(AtomicBool::new(false));
        let done2 = Arc::clone(&done);
        let t = thread::spawn(move || {
            c2.bump();
            done2.store(true, Ordering::Relaxed);
        });
        while !done.load(Ordering::Relaxed) {
            std::hint::spin_loop();
        }
        c.bump();
        t.join().unwrap();
        assert_eq!(c.get(), 2);
    }

    #[test]
    fn joined_bumps() {
        let c = Arc::new(Counter::default());
        let c2 = Arc::clone(&c);
        thread::spawn(move || c2.bump()).join().unwrap();
        c.bump();
        assert_eq!(c.get(), 2);
    }
}
