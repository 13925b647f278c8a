//! Valid code keeps building when annotated (issue 20): a non-`Copy`
//! constant as an array repeat operand (`[Self::EMPTY; N]`, allowed because
//! it is a constant), and a field of a `#[repr(packed)]` struct read by
//! value (a reference to it would be E0793).
use racecheck::race_check;
use std::cell::UnsafeCell;

pub struct Slot(UnsafeCell<Option<Box<u64>>>);

pub struct Slots {
    slots: [Slot; 4],
}

#[race_check]
impl Slots {
    const EMPTY: Slot = Slot(UnsafeCell::new(None));

    pub fn new() -> Slots {
        Slots { slots: [Self::EMPTY; 4] }
    }

    pub fn first(&self) -> Option<u64> {
        unsafe { (*self.slots[0].0.get()).as_deref().copied() }
    }
}

#[repr(C, packed)]
pub struct Header {
    tag: u8,
    len: u32,
}

#[race_check]
pub fn header_len(h: *const Header) -> u32 {
    unsafe { (*h).len }
}

#[race_check]
pub fn set_len(h: *mut Header, len: u32) {
    unsafe { (*h).len = len }
}

fn main() {
    let s = Slots::new();
    assert_eq!(s.first(), None);
    let mut h = Header { tag: 1, len: 2 };
    set_len(&mut h, 3);
    assert_eq!(header_len(&h), 3);
    let _ = h.tag;
}
