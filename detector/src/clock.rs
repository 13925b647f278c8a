//! Vector clocks over compact thread slots.
//!
//! Every live thread owns a [`Slot`]. A slot's component of a clock counts the
//! events of the threads that occupied it; it only ever grows, including across
//! reuse of the slot by a later thread, so an epoch `c@s` (FastTrack, Flanagan &
//! Freund, PLDI 2009) names one point of one thread's history forever.
//!
//! Epochs here are positions in the slot's event history (see `history`), not
//! counts of synchronisation operations: every recorded event advances the
//! slot's component by one. That makes the epoch stored in a shadow cell the
//! exact history position of the access, so the earlier stack of a race is a
//! direct lookup instead of a search.

use std::fmt;

/// A compact thread slot: the index of a thread's component in vector clocks.
#[derive(Copy, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Slot(u16);

impl Slot {
    /// Number of slots that can exist at once (14 bits in a shadow cell):
    /// as many threads can be alive at once.
    pub const COUNT: usize = 16384;

    /// The first slot (a constant initial value where one is needed).
    pub const FIRST: Slot = Slot(0);

    #[inline]
    pub fn new(index: usize) -> Slot {
        assert!(index < Slot::COUNT, "slot {index} out of range");
        Slot(index as u16)
    }

    #[inline]
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// A point in one slot's history. Epoch 0 is "before anything": it happens
/// before every thread, so no real event is ever given it.
pub type Epoch = u64;

/// A vector clock. Invariant: never ends in a zero component, so equal clocks
/// have equal representations and `is_empty` is a length check.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct VClock(Vec<Epoch>);

impl VClock {
    pub const fn new() -> VClock {
        VClock(Vec::new())
    }

    pub fn get(&self, slot: Slot) -> Epoch {
        self.0.get(slot.index()).copied().unwrap_or(0)
    }

    pub fn set(&mut self, slot: Slot, value: Epoch) {
        let i = slot.index();
        if i >= self.0.len() {
            if value == 0 {
                return;
            }
            self.0.resize(i + 1, 0);
        }
        self.0[i] = value;
        self.normalize();
    }

    /// Pointwise maximum: after `a.join(b)`, everything `b` has seen, `a` has seen.
    pub fn join(&mut self, other: &VClock) {
        if other.0.len() > self.0.len() {
            self.0.resize(other.0.len(), 0);
        }
        for (mine, theirs) in self.0.iter_mut().zip(other.0.iter()) {
            if *theirs > *mine {
                *mine = *theirs;
            }
        }
        self.debug_check();
    }

    /// Replace this clock by `other`, reusing the allocation.
    pub fn assign(&mut self, other: &VClock) {
        self.copy_from(&other.0);
    }

    /// Clear, then append `slice`: element by element when short, which
    /// beats a call to `memcpy` for the few components of a typical clock.
    #[inline]
    fn copy_from(&mut self, slice: &[Epoch]) {
        self.0.clear();
        if slice.len() <= 8 {
            self.0.reserve(slice.len());
            for &x in slice {
                self.0.push(x);
            }
        } else {
            self.0.extend_from_slice(slice);
        }
    }

    /// Replace this clock by the components in `slice` (index = slot),
    /// reusing the allocation.
    pub fn assign_slice(&mut self, slice: &[Epoch]) {
        self.copy_from(slice);
        self.normalize();
    }

    pub fn clear(&mut self) {
        self.0.clear();
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `self ⊑ other`: every component of `self` is at most `other`'s.
    pub fn le(&self, other: &VClock) -> bool {
        self.0
            .iter()
            .enumerate()
            .all(|(i, &v)| v <= other.0.get(i).copied().unwrap_or(0))
    }

    /// Components as a slice (index = slot). Never ends in zero.
    pub fn as_slice(&self) -> &[Epoch] {
        self.debug_check();
        &self.0
    }

    fn normalize(&mut self) {
        while self.0.last() == Some(&0) {
            self.0.pop();
        }
    }

    fn debug_check(&self) {
        debug_assert!(self.0.last() != Some(&0), "VClock ends in zero: {:?}", self.0);
    }
}

impl fmt::Debug for VClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vc(v: &[u64]) -> VClock {
        let mut c = VClock::new();
        for (i, &x) in v.iter().enumerate() {
            c.set(Slot::new(i), x);
        }
        c
    }

    /// Check `le` in both directions, as miri's `assert_order` does.
    fn assert_order(a: &[u64], b: &[u64], a_le_b: bool, b_le_a: bool) {
        let (a, b) = (vc(a), vc(b));
        assert_eq!(a.le(&b), a_le_b, "{a:?} <= {b:?}");
        assert_eq!(b.le(&a), b_le_a, "{b:?} <= {a:?}");
        assert_eq!(a == b, a_le_b && b_le_a);
    }

    #[test]
    fn order() {
        assert_order(&[], &[], true, true);
        assert_order(&[1], &[], false, true);
        assert_order(&[1], &[1], true, true);
        assert_order(&[1, 2], &[2, 1], false, false);
        assert_order(&[1, 0, 0], &[1], true, true);
        assert_order(&[0, 0, 3], &[1, 1, 3], true, false);
        assert_order(&[4, 0, 3], &[1, 1, 3], false, false);
    }

    #[test]
    fn join_and_trailing_zeroes() {
        let mut a = vc(&[1, 5]);
        a.join(&vc(&[3, 0, 7]));
        assert_eq!(a.as_slice(), &[3, 5, 7]);
        a.set(Slot::new(2), 0);
        assert_eq!(a.as_slice(), &[3, 5]);
        a.set(Slot::new(9), 0);
        assert_eq!(a.as_slice(), &[3, 5]);
        let mut b = VClock::new();
        b.assign(&a);
        assert_eq!(a, b);
        b.clear();
        assert!(b.is_empty());
        b.assign_slice(&[2, 0, 4, 0, 0]);
        assert_eq!(b, vc(&[2, 0, 4]), "trailing zeroes dropped");
        b.assign_slice(&[0, 0]);
        assert!(b.is_empty());
    }
}
