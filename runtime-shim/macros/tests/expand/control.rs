// Scrutinees, while let with a label, macro arguments, `?` and let-else.
fn control(p: *const Option<u64>, q: *mut u64) -> Option<u64> {
    let Some(first) = (unsafe { *p }) else { return None };
    'scan: while let Some(v) = unsafe { *p } {
        if v > first {
            break 'scan;
        }
        unsafe { *q += v };
        break;
    }
    match unsafe { *q } {
        0 => None,
        n => {
            assert_eq!(unsafe { *q }, n);
            println!("{}", unsafe { *q });
            Some(n)
        }
    }
}
