// Scrutinees bound by reference must stay places.
impl S {
    fn name_len(&self) -> usize {
        match self.name {
            Some(ref s) => s.len(),
            None => 0,
        }
    }
    fn bump(p: *mut (u64, u64)) {
        unsafe {
            let (ref mut first, _) = *p;
            *first += 1;
        }
        if let Some(ref mut n) = unsafe { (*p).1.checked_add(0) } {
            *n += 1;
        }
    }
}
