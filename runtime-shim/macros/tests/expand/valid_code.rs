impl Slots {
    const EMPTY: Slot = Slot(UnsafeCell::new(None));
    pub fn new() -> Slots {
        Slots { slots: [Self::EMPTY; 4] }
    }
}
pub fn header_len(h: *const Header) -> u32 {
    unsafe { (*h).len }
}
