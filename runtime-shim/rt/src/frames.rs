//! A thread's stack of frames: a `Vec<Frame>` with a layout of our own
//! (`#[repr(C)]`: pointer, length, capacity), so that deep mode's frame
//! hooks, written by hand (`memory`), can push and pop without a call.

use std::mem::ManuallyDrop;
use std::ops::Deref;

use racecheck_detector::history::Frame;

#[repr(C)]
pub struct FrameStack {
    ptr: *mut Frame,
    len: usize,
    cap: usize,
}

/// Field offsets, for the hand-written hooks.
pub const PTR: usize = std::mem::offset_of!(FrameStack, ptr);
pub const LEN: usize = std::mem::offset_of!(FrameStack, len);
pub const CAP: usize = std::mem::offset_of!(FrameStack, cap);
const _: () = assert!(std::mem::size_of::<Frame>() == 16, "the hooks scale by 16");

impl FrameStack {
    /// No frames and no room: pushing allocates.
    pub fn new() -> FrameStack {
        FrameStack::from_vec(Vec::new())
    }

    pub fn with_capacity(n: usize) -> FrameStack {
        FrameStack::from_vec(Vec::with_capacity(n))
    }

    fn from_vec(v: Vec<Frame>) -> FrameStack {
        let mut v = ManuallyDrop::new(v);
        FrameStack { ptr: v.as_mut_ptr(), len: v.len(), cap: v.capacity() }
    }

    /// Take the frames back as the `Vec` they were, leaving none.
    fn take_vec(&mut self) -> Vec<Frame> {
        let empty = FrameStack { ptr: std::ptr::NonNull::dangling().as_ptr(), len: 0, cap: 0 };
        // Not dropped: its parts become the `Vec`.
        let old = ManuallyDrop::new(std::mem::replace(self, empty));
        // SAFETY: the parts of a `Vec` made by `from_vec`, owned by `old`
        // alone, which is never used again.
        unsafe { Vec::from_raw_parts(old.ptr, old.len, old.cap) }
    }

    pub fn capacity(&self) -> usize {
        self.cap
    }

    pub fn push(&mut self, frame: Frame) {
        if self.len == self.cap {
            let mut v = self.take_vec();
            v.push(frame);
            *self = FrameStack::from_vec(v);
            return;
        }
        // SAFETY: `len < cap`: a slot of the allocation, not initialised.
        unsafe { self.ptr.add(self.len).write(frame) };
        self.len += 1;
    }

    pub fn pop(&mut self) -> Option<Frame> {
        if self.len == 0 {
            return None;
        }
        self.len -= 1;
        // SAFETY: the frame at the old top, initialised; `Frame` is `Copy`.
        Some(unsafe { self.ptr.add(self.len).read() })
    }
}

impl Default for FrameStack {
    fn default() -> FrameStack {
        FrameStack::new()
    }
}

impl Deref for FrameStack {
    type Target = [Frame];

    fn deref(&self) -> &[Frame] {
        // SAFETY: `len` initialised frames at `ptr` (dangling and aligned
        // when there are none).
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }
}

impl Drop for FrameStack {
    fn drop(&mut self) {
        drop(self.take_vec());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pushes_pops_and_grows_like_a_vec() {
        let mut s = FrameStack::new();
        assert_eq!((s.len(), s.capacity()), (0, 0));
        for i in 0..300 {
            s.push(Frame::call(i));
        }
        assert_eq!(s.len(), 300);
        assert!(s.capacity() >= 300);
        assert_eq!(s[7], Frame::call(7));
        assert_eq!(s.last(), Some(&Frame::call(299)));
        assert_eq!(s.pop(), Some(Frame::call(299)));
        assert_eq!(&s[..2], &[Frame::call(0), Frame::call(1)]);
        while s.pop().is_some() {}
        assert!(s.is_empty());
        assert_eq!(s.pop(), None);
        let mut t = FrameStack::with_capacity(256);
        assert_eq!(t.capacity(), 256);
        t.push(Frame::call(1));
        assert_eq!(&*t, &[Frame::call(1)]);
    }
}
