// Checks another check in the same straight-line code covers (issue 21).
fn rmw(p: *mut u64, n: usize, r: u64) {
    for i in 0..n {
        unsafe {
            let v = *p.add(i);
            *p.add(i) = v.wrapping_add(r);
        }
    }
}
fn read_twice(s: &S) -> u64 {
    let a = s.len;
    let b = s.len;
    a + b
}
fn read_after_write(p: *mut u64) -> u64 {
    unsafe {
        *p = 1;
        *p + 1
    }
}
fn expression_rmw(p: *mut u64) {
    unsafe { *p = *p * 2 + 1 }
}
fn call_between(p: *mut u64) {
    unsafe {
        let v = *p;
        sync();
        *p = v + 1;
    }
}
fn name_changed(p: *mut u64, mut i: usize) {
    unsafe {
        let v = *p.add(i);
        i += 1;
        *p.add(i) = v;
    }
}
fn shadowed(p: *mut u64, i: usize) {
    unsafe {
        let v = *p.add(i);
        let i = i + 1;
        *p.add(i) = v;
    }
}
fn other_place(p: *mut u64, q: *mut u64) {
    unsafe {
        let v = *p;
        *q = v;
    }
}
