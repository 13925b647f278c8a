//! Async tests (`#[tokio::test]`) whose tasks race: the race is found in a
//! runtime worker thread, and the annotated async test fails when its body
//! completes (an async body has no frame, so it holds a guard instead).
//! `racy_tasks` bumps a counter in a task and in a thread, ordered only by
//! a Relaxed flag; `ordered_tasks` awaits the first task before spawning
//! the second, and passes.
use racecheck::race_check;
use std::cell::UnsafeCell;

#[derive(Default)]
pub struct Counter(UnsafeCell<u64>);

// Wrong on purpose: nothing synchronises `bump`.
unsafe impl Sync for Counter {}

#[race_check]
impl Counter {
    pub fn bump(&self) {
        unsafe { *self.0.get() += 1 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use racecheck::race_check;
    use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
    use std::sync::Arc;

    #[race_check]
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn racy_tasks() {
        let c = Arc::new(Counter::default());
        // A Relaxed flag only fixes the order the bumps run in; it orders
        // no memory, so the task's bump and the thread's still race.
        let first_done = Arc::new(AtomicBool::new(false));
        let (c2, f2) = (c.clone(), first_done.clone());
        let t = std::thread::spawn(move || {
            while !f2.load(Relaxed) {
                std::hint::spin_loop();
            }
            c2.bump();
        });
        let (c1, f1) = (c.clone(), first_done.clone());
        tokio::spawn(async move {
            c1.bump();
            f1.store(true, Relaxed);
        })
        .await
        .unwrap();
        t.join().unwrap();
    }

    #[race_check]
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn ordered_tasks() {
        let c = Arc::new(Counter::default());
        let c1 = c.clone();
        tokio::spawn(async move { c1.bump() }).await.unwrap();
        let c2 = c.clone();
        tokio::spawn(async move { c2.bump() }).await.unwrap();
    }
}
