// Frames: an inline module with an impl, a trait impl, a closure, a skipped fn
// and an async fn.
mod counter {
    pub struct Counter(pub *mut u64);
    impl Counter {
        pub fn bump(&self) {
            let add = |n: u64| unsafe { *self.0 += n };
            add(1);
        }
    }
    impl Drop for Counter {
        fn drop(&mut self) {
            unsafe { *self.0 = 0 }
        }
    }
    #[race_check(skip)]
    pub fn unchecked(p: *mut u64) {
        unsafe { *p = 1 }
    }
    pub async fn later(p: *mut u64) {
        unsafe { *p = 2 }
    }
}
