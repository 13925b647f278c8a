// Pointer functions and methods: dispatched on the receiver's type.
fn pointer_calls(p: *mut u64, c: &Cell<u64>, lock: &RwLock<u64>) -> u64 {
    unsafe {
        std::ptr::write(p, 1);
        p.add(2).write(3);
        std::ptr::copy_nonoverlapping(p, p.add(4), 2);
        c.set(c.get() + 1);
        *lock.write().unwrap() += 1;
        std::ptr::read_volatile(p)
    }
}
