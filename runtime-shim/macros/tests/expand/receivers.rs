// Method receivers, `&mut` arguments and fields of call results.
fn receivers(p: *mut Option<Box<u64>>, v: *mut Vec<u64>, m: *mut HashMap<u64, u64>, a: *mut [u64; 8]) {
    unsafe {
        let _ = (*p).take();
        (*v).push(1);
        let _ = (*m).get(&1);
        (*v).sort_unstable();
        (&mut (*a)[..4]).copy_from_slice(&[0; 4]);
        (*a)[2..].fill(0);
        let _ = mem::take(&mut *p);
        reset(&mut (*v)[1..]);
    }
}
fn call_fields(s: &S) -> u64 {
    s.inner().hits += 1;
    s.inner().total = 2;
    s.inner().log.push(3);
    s.inner().hits + s.other().hits
}
fn chains(s: &S) {
    unsafe { (*s.data.get()).as_mut_ptr().write(5) }
    s.counter.update(|x| x + 1);
}
fn impure_roots(p: P<Option<u64>>, m: &Mutex<Vec<u64>>) -> usize {
    unsafe { (*p.ptr()).take() };
    m.lock().unwrap().push(1);
    (*m.lock().unwrap()).len()
}
