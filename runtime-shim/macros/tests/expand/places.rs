// Reads, writes and compound assignment of places reached through memory.
fn places(p: *mut Outer, s: &mut [u64], i: usize) -> u64 {
    unsafe {
        (*p).a = 1;
        (*p).inner.items[i].c += 2;
        let v = (*p).b;
        s[i] = v;
        COUNTER = COUNTER + 1;
        *p.add(1) = Outer::default();
        v + s[0]
    }
}
