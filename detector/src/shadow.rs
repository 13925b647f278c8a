//! Shadow cells and the race rules.
//!
//! Application memory is split into 8-byte granules; each granule has
//! [`CELLS`] shadow cells, each remembering one earlier access as a packed
//! 64-bit [`Cell`] (in the style of ThreadSanitizer's `tsan_shadow.h`):
//!
//! ```text
//!  63                         24 23        10  9   8  7        0
//! +-----------------------------+------------+---+---+----------+
//! |        epoch (40 bits)      | slot (14)  | A | W | byte mask|
//! +-----------------------------+------------+---+---+----------+
//! ```
//!
//! A zero cell is empty; a real cell always has a non-empty byte mask.
//!
//! Race rules: two accesses race when their bytes overlap, at least one writes,
//! they are not both atomic of the same size, and the earlier one does not
//! happen before the current thread's clock.
//!
//! Deviations, knowingly: with a fixed number of cells per granule an access
//! may evict an older one, and an update may be lost when two threads store
//! a cell at once; both can only hide a race (a false negative), never invent
//! one.

use crate::clock::{Epoch, Slot};

/// Shadow cells kept per 8-byte granule.
pub const CELLS: usize = 2;
/// Bytes of application memory per granule.
pub const GRANULE: u64 = 8;

/// What an access did. `description()` is the verb used in reports.
#[derive(Copy, Clone, PartialEq, Eq, Debug, Hash)]
pub enum AccessKind {
    Read,
    Write,
    AtomicRead,
    AtomicWrite,
}

impl AccessKind {
    #[inline]
    pub fn new(is_write: bool, is_atomic: bool) -> AccessKind {
        match (is_write, is_atomic) {
            (false, false) => AccessKind::Read,
            (true, false) => AccessKind::Write,
            (false, true) => AccessKind::AtomicRead,
            (true, true) => AccessKind::AtomicWrite,
        }
    }

    #[inline]
    pub fn is_write(self) -> bool {
        matches!(self, AccessKind::Write | AccessKind::AtomicWrite)
    }

    #[inline]
    pub fn is_atomic(self) -> bool {
        matches!(self, AccessKind::AtomicRead | AccessKind::AtomicWrite)
    }

    /// Capitalised, as it opens a report section ("Write at …").
    pub fn description(self) -> &'static str {
        match self {
            AccessKind::Read => "Read",
            AccessKind::Write => "Write",
            AccessKind::AtomicRead => "Atomic read",
            AccessKind::AtomicWrite => "Atomic write",
        }
    }

    /// Lower case, after "Previous".
    pub fn description_lower(self) -> &'static str {
        match self {
            AccessKind::Read => "read",
            AccessKind::Write => "write",
            AccessKind::AtomicRead => "atomic read",
            AccessKind::AtomicWrite => "atomic write",
        }
    }
}

/// One remembered access. See the module docs for the layout.
#[derive(Copy, Clone, PartialEq, Eq, Hash)]
pub struct Cell(u64);

const _: () = assert!(std::mem::size_of::<Cell>() == 8);
const _: () = assert!(1 << Cell::SLOT_BITS == Slot::COUNT && Cell::SLOT_SHIFT + Cell::SLOT_BITS == Cell::EPOCH_SHIFT);

impl Cell {
    pub const EMPTY: Cell = Cell(0);

    const MASK_BITS: u32 = 8;
    const WRITE_SHIFT: u32 = 8;
    const ATOMIC_SHIFT: u32 = 9;
    const SLOT_SHIFT: u32 = 10;
    const SLOT_BITS: u32 = 14;
    const EPOCH_SHIFT: u32 = 24;
    /// Largest epoch a cell can hold (40 bits: 10^12 events of one slot).
    pub const MAX_EPOCH: Epoch = (1 << (64 - Cell::EPOCH_SHIFT)) - 1;

    /// A cell for an access of `size` bytes at `offset` within its granule.
    /// The access must not cross the granule (`offset + size <= 8`, `size >= 1`).
    #[inline]
    pub fn new(slot: Slot, epoch: Epoch, offset: u64, size: u64, kind: AccessKind) -> Cell {
        debug_assert!(size >= 1 && offset + size <= GRANULE, "offset {offset} size {size}");
        debug_assert!(epoch <= Cell::MAX_EPOCH && epoch > 0);
        Cell(
            Cell::byte_mask(offset, size) | (kind.is_write() as u64) << Cell::WRITE_SHIFT
                | (kind.is_atomic() as u64) << Cell::ATOMIC_SHIFT
                | (slot.index() as u64) << Cell::SLOT_SHIFT
                | epoch << Cell::EPOCH_SHIFT,
        )
    }

    /// The bits of the bytes `[offset, offset + size)` of a granule, as a
    /// cell's low byte holds them.
    #[inline(always)]
    fn byte_mask(offset: u64, size: u64) -> u64 {
        (((1u32 << size) - 1) << offset) as u64 & 0xff
    }

    /// The same access at another epoch.
    #[inline]
    pub fn at_epoch(self, epoch: Epoch) -> Cell {
        debug_assert!(epoch <= Cell::MAX_EPOCH && epoch > 0);
        Cell(self.0 & ((1 << Cell::EPOCH_SHIFT) - 1) | epoch << Cell::EPOCH_SHIFT)
    }

    #[inline]
    pub fn from_raw(raw: u64) -> Cell {
        Cell(raw)
    }

    #[inline]
    pub fn raw(self) -> u64 {
        self.0
    }

    #[inline]
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    #[inline]
    pub fn mask(self) -> u8 {
        (self.0 & ((1 << Cell::MASK_BITS) - 1)) as u8
    }

    pub fn is_write(self) -> bool {
        self.0 >> Cell::WRITE_SHIFT & 1 == 1
    }

    pub fn is_atomic(self) -> bool {
        self.0 >> Cell::ATOMIC_SHIFT & 1 == 1
    }

    pub fn kind(self) -> AccessKind {
        AccessKind::new(self.is_write(), self.is_atomic())
    }

    #[inline]
    pub fn slot(self) -> Slot {
        Slot::new((self.0 >> Cell::SLOT_SHIFT & ((1 << Cell::SLOT_BITS) - 1)) as usize)
    }

    #[inline]
    pub fn epoch(self) -> Epoch {
        self.0 >> Cell::EPOCH_SHIFT
    }

    /// First byte offset and size covered by the mask.
    pub fn offset_and_size(self) -> (u64, u64) {
        let m = self.mask();
        (m.trailing_zeros() as u64, m.count_ones() as u64)
    }

    /// Do the two accesses conflict if unordered? (Overlapping bytes, at least
    /// one write, and not two atomics of the very same bytes.)
    #[inline]
    pub fn conflicts_with(self, other: Cell) -> bool {
        let overlap = self.mask() & other.mask() != 0;
        let some_write = self.is_write() || other.is_write();
        let both_atomic_same = self.is_atomic() && other.is_atomic() && self.mask() == other.mask();
        let r = overlap && some_write && !both_atomic_same;
        debug_assert_eq!(r, Cell::conflicts_plain(self, other));
        r
    }

    fn conflicts_plain(a: Cell, b: Cell) -> bool {
        let a_bytes = (0..8).filter(|i| a.mask() >> i & 1 == 1);
        let overlap = a_bytes.into_iter().any(|i| b.mask() >> i & 1 == 1);
        let reads_only = !a.is_write() && !b.is_write();
        let same_atomic = a.is_atomic() && b.is_atomic() && a.offset_and_size() == b.offset_and_size();
        overlap && !reads_only && !same_atomic
    }
}

impl std::fmt::Debug for Cell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.is_empty() {
            return write!(f, "Cell(empty)");
        }
        write!(
            f,
            "Cell({:?} {}@{} mask={:08b})",
            self.kind(),
            self.epoch(),
            self.slot().index(),
            self.mask()
        )
    }
}

/// Is `old` an access by the current thread in its current synchronisation
/// epoch that already covers `cur`? Then `cur` can change nothing any other
/// thread will ever observe, and the hook may return at once.
#[inline(always)]
pub fn is_same_access(old: Cell, cur: Cell, epoch_start: Epoch) -> bool {
    // Same slot, same mask, same atomicity, and `old` at least as strong.
    const SLOT_ATOMIC_MASK: u64 = (((1 << Cell::SLOT_BITS) - 1) << Cell::SLOT_SHIFT)
        | (1 << Cell::ATOMIC_SHIFT)
        | 0xff;
    (old.0 ^ cur.0) & SLOT_ATOMIC_MASK == 0
        && (old.is_write() || !cur.is_write())
        && old.epoch() >= epoch_start
}

/// The smallest raw cell whose epoch is `epoch_start` or later: the epoch
/// sits in the top bits, so one comparison of raw cells orders epochs.
#[inline(always)]
pub fn epoch_floor(epoch_start: Epoch) -> u64 {
    epoch_start << Cell::EPOCH_SHIFT
}

/// [`is_same_access`] on a raw cell, as the runtime's hot paths run it:
/// `cur`'s epoch bits are ignored and `floor` is [`epoch_floor`] of the
/// epoch start. An exclusive-or, a test and a comparison per cell.
#[inline(always)]
pub fn is_same_access_raw(old: u64, cur: Cell, floor: u64) -> bool {
    // Slot, atomicity and mask equal; the write bit too when `cur` writes
    // (a read is covered by an earlier write or read).
    const LOW: u64 = (1 << Cell::EPOCH_SHIFT) - 1;
    let compare = if cur.is_write() { LOW } else { LOW & !(1 << Cell::WRITE_SHIFT) };
    (old ^ cur.0) & compare == 0 && old >= floor
}

/// A thread's key for [`seen_in_epoch`]: [`epoch_floor`] of its epoch start
/// with its slot in the (otherwise empty) low bits, one word to keep at hand.
#[inline(always)]
pub fn epoch_key(floor: u64, slot: Slot) -> u64 {
    floor | (slot.index() as u64) << Cell::SLOT_SHIFT
}

/// The bits [`seen_in_epoch`] adds to a key for an access of `size` bytes
/// at offset 0 of its granule (shift the low byte left by the offset for
/// another): for code that spells the inline check out by hand.
pub const fn probe_bits(size: u64, write: bool) -> u64 {
    (((1u32 << size) - 1) as u64 & 0xff) | (write as u64) << Cell::WRITE_SHIFT
}

/// The bits of a cell [`seen_in_epoch`] compares with the probe's: all
/// below the epoch, the write bit too when the access writes.
pub const fn probe_compare(write: bool) -> u64 {
    const LOW: u64 = (1 << Cell::EPOCH_SHIFT) - 1;
    if write { LOW } else { LOW & !(1 << Cell::WRITE_SHIFT) }
}

/// [`is_same_access_raw`] for a plain access of `size` bytes at `offset`,
/// by the thread whose [`epoch_key`] is `key`: the inline check's form.
///
/// The probe is the key with the access's bits added. Where the low bits
/// agree (the write bit aside, for a read), comparing the whole words
/// compares the epochs: a cell at or after the floor is at or above the
/// probe, one before it is below.
#[inline(always)]
pub fn seen_in_epoch(old: u64, key: u64, offset: u64, size: u64, write: bool) -> bool {
    const LOW: u64 = (1 << Cell::EPOCH_SHIFT) - 1;
    let probe = key | Cell::byte_mask(offset, size) | (write as u64) << Cell::WRITE_SHIFT;
    let compare = if write { LOW } else { LOW & !(1 << Cell::WRITE_SHIFT) };
    (old ^ probe) & compare == 0 && old >= probe
}

/// The outcome of checking one access against a granule's cells.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub struct Verdict {
    /// Where to store the current access.
    pub store_at: usize,
    /// Other cells the current access makes redundant (bit i = cell i): they
    /// happen before it, and anything racing with them races with it too.
    pub clear: u8,
    /// An earlier conflicting access that does not happen before this one.
    pub race: Option<Cell>,
}

/// Check `cur` against the granule's `cells`. `happens_before(cell)` answers
/// whether the cell's access happens before the current thread's present.
/// When every cell is busy, an access that happens before the current one
/// is evicted first: anything ordered after the current access is ordered
/// after it too, so only an unordered later read of a write is lost, where
/// evicting a concurrent access would lose races with later writes. It also
/// keeps cells stable when several threads read what one thread wrote (each
/// reader's own access stays, and its next read takes the fast path).
/// `victim` picks among concurrent cells otherwise. Measured against the
/// alternatives (`benches/`, see the README's Limits): keeping a write
/// ahead of ordered reads made two threads reading shared data evict each
/// other's cell on every access (workload 3 3.7× slower), and four cells
/// per granule cost 1.2–1.5× the time of workloads 1–4 and 1.3–1.65× the
/// memory.
#[inline(always)]
pub fn check(
    cells: &[Cell; CELLS],
    cur: Cell,
    mut happens_before: impl FnMut(Cell) -> bool,
    victim: usize,
) -> Verdict {
    let mut race = None;
    let mut store_at = None;
    let mut empty = None;
    let mut clear = 0u8;
    let mut ordered = None;
    for (i, &old) in cells.iter().enumerate() {
        if old.is_empty() {
            empty.get_or_insert(i);
            continue;
        }
        if old.slot() == cur.slot() {
            // Our own earlier access: never a race. Replace it when the new
            // one says at least as much (same bytes, at least as strong).
            if store_at.is_none()
                && old.mask() == cur.mask()
                && old.is_atomic() == cur.is_atomic()
                && (cur.is_write() || !old.is_write())
            {
                store_at = Some(i);
            }
            continue;
        }
        let hb = happens_before(old);
        if hb {
            ordered.get_or_insert(i);
        }
        if !hb && race.is_none() && old.conflicts_with(cur) {
            race = Some(old);
        }
        // A write that follows `old` subsumes it: a later access racing with
        // `old` must race with this write too. So does a read following a read.
        if hb && old.mask() & !cur.mask() == 0 && (cur.is_write() || !old.is_write()) && !cur.is_atomic() {
            clear |= 1 << i;
        }
    }
    // A subsumed cell before an empty one: then it need not be cleared,
    // and a thread that takes over another's memory keeps its cell first,
    // where the inline check looks first.
    let store_at = store_at
        .or_else(|| (0..CELLS).find(|i| clear >> i & 1 == 1))
        .or(empty)
        .or(ordered)
        .unwrap_or(victim % CELLS);
    clear &= !(1 << store_at);
    Verdict { store_at, clear, race }
}

/// The common case of [`check`] without its machinery: when no cell can
/// race with `cur` and none needs clearing, the cell `check` would store
/// `cur` in. That holds when every busy cell is the current thread's own
/// access, or, for an atomic `cur`, an atomic access of the same bytes
/// (atomics never race with each other); `cur` then goes where `check`
/// puts it: its own matching cell, else an empty one. `None`: run `check`.
#[inline(always)]
pub fn quick_store(cells: &[Cell; CELLS], cur: Cell) -> Option<usize> {
    // On raw cells: `diff` has a bit set where the two accesses differ.
    const SLOT: u64 = ((1 << Cell::SLOT_BITS) - 1) << Cell::SLOT_SHIFT;
    const ATOMIC_AND_MASK: u64 = (1 << Cell::ATOMIC_SHIFT) | ((1 << Cell::MASK_BITS) - 1);
    const WRITE: u64 = 1 << Cell::WRITE_SHIFT;
    let mut own = None;
    let mut empty = None;
    for (i, &old) in cells.iter().enumerate() {
        let diff = old.0 ^ cur.0;
        if old.is_empty() {
            empty.get_or_insert(i);
        } else if diff & SLOT == 0 {
            // Its own access, replaced when `cur` covers the same bytes,
            // with the same atomicity, at least as strongly.
            if own.is_none() && diff & ATOMIC_AND_MASK == 0 && (cur.0 & WRITE != 0 || old.0 & WRITE == 0) {
                own = Some(i);
            }
        } else if !(cur.is_atomic() && diff & ATOMIC_AND_MASK == 0) {
            // Another thread's access that is not an atomic of the same bytes
            // as an atomic `cur`.
            return None;
        }
    }
    own.or(empty)
}

/// Split an access `[addr, addr+size)` into per-granule pieces
/// `(granule_addr, offset, len)`.
pub fn split(addr: u64, size: u64) -> impl Iterator<Item = (u64, u64, u64)> {
    let end = addr.saturating_add(size);
    let mut at = addr;
    std::iter::from_fn(move || {
        if at >= end {
            return None;
        }
        let granule = at & !(GRANULE - 1);
        let offset = at - granule;
        let len = (GRANULE - offset).min(end - at);
        at += len;
        Some((granule, offset, len))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(slot: usize, epoch: u64, off: u64, size: u64, kind: AccessKind) -> Cell {
        Cell::new(Slot::new(slot), epoch, off, size, kind)
    }

    #[test]
    fn packing_round_trips() {
        let x = c(16383, Cell::MAX_EPOCH, 3, 4, AccessKind::AtomicWrite);
        assert_eq!(x.slot().index(), 16383);
        assert_eq!(x.epoch(), Cell::MAX_EPOCH);
        assert_eq!(x.offset_and_size(), (3, 4));
        assert_eq!(x.kind(), AccessKind::AtomicWrite);
        assert_eq!(x.mask(), 0b0111_1000);
        let y = c(0, 1, 0, 8, AccessKind::Read);
        assert_eq!(y.mask(), 0xff);
        assert!(!y.is_write() && !y.is_atomic());
    }

    #[test]
    fn conflicts() {
        use AccessKind::*;
        let w = |o, s| c(1, 5, o, s, Write);
        let r = |o, s| c(2, 5, o, s, Read);
        let aw = |o, s| c(2, 5, o, s, AtomicWrite);
        let ar = |o, s| c(2, 5, o, s, AtomicRead);
        assert!(w(0, 4).conflicts_with(r(2, 2)));
        assert!(!w(0, 4).conflicts_with(r(4, 4)), "distinct bytes");
        assert!(!r(0, 8).conflicts_with(c(1, 1, 0, 8, Read)), "read/read");
        assert!(w(0, 8).conflicts_with(ar(0, 8)), "atomic vs plain");
        assert!(!aw(0, 4).conflicts_with(c(1, 1, 0, 4, AtomicWrite)), "same-size atomics");
        assert!(aw(0, 4).conflicts_with(c(1, 1, 0, 2, AtomicWrite)), "mixed-size atomics");
        assert!(!ar(0, 4).conflicts_with(c(1, 1, 0, 2, AtomicRead)), "atomic reads");
    }

    #[test]
    fn same_access_fast_path() {
        use AccessKind::*;
        let old = c(3, 10, 0, 8, Write);
        assert!(is_same_access(old, c(3, 12, 0, 8, Read), 10));
        assert!(is_same_access(old, c(3, 12, 0, 8, Write), 10));
        assert!(!is_same_access(old, c(3, 12, 0, 8, Write), 11), "released since");
        assert!(!is_same_access(old, c(4, 12, 0, 8, Write), 10), "other thread");
        assert!(!is_same_access(old, c(3, 12, 0, 4, Write), 10), "other bytes");
        assert!(!is_same_access(c(3, 10, 0, 8, Read), c(3, 12, 0, 8, Write), 10), "stronger");
        assert!(!is_same_access(old, c(3, 12, 0, 8, AtomicWrite), 10));
    }

    #[test]
    fn check_finds_race_and_picks_cells() {
        use AccessKind::*;
        let other_write = c(1, 7, 0, 8, Write);
        let cells = pad(&[other_write]);
        let v = check(&cells, c(2, 3, 0, 8, Read), |_| false, 0);
        assert_eq!(v.race, Some(other_write));
        assert_eq!(v.store_at, 1);
        let v = check(&cells, c(2, 3, 0, 8, Read), |_| true, 0);
        assert_eq!(v.race, None);
        let v = check(&cells, c(2, 3, 0, 8, Write), |_| true, 0);
        assert_eq!((v.race, v.store_at, v.clear), (None, 0, 0), "ordered write makes it redundant: replaced in place");
        let cells = pad(&[c(2, 1, 0, 8, Read), c(1, 1, 0, 8, Read)]);
        let v = check(&cells, c(2, 3, 0, 8, Write), |_| false, 1);
        assert_eq!(v.race, Some(cells[1]));
        assert_eq!(v.store_at, 0, "own cell reused");
    }

    /// `cells`, then empty cells.
    fn pad(cells: &[Cell]) -> [Cell; CELLS] {
        std::array::from_fn(|i| cells.get(i).copied().unwrap_or(Cell::EMPTY))
    }

    /// `cells` filled up with reads by threads 10, 11, … that nothing
    /// orders: whatever the cell count, the granule is full.
    fn full(cells: &[Cell]) -> [Cell; CELLS] {
        std::array::from_fn(|i| cells.get(i).copied().unwrap_or_else(|| c(10 + i, 2, 0, 8, AccessKind::Read)))
    }

    #[test]
    fn full_cells_evict_an_ordered_access_first() {
        use AccessKind::*;
        // Thread 1 wrote, then threads 2 and 3 read it after a join: the
        // write is ordered before both reads, the reads are concurrent.
        let init = c(1, 4, 0, 8, Write);
        let reader2 = c(2, 9, 0, 8, Read);
        let hb = |x: Cell| x == init;
        for victim in 0..8 {
            let v = check(&full(&[init, reader2]), c(3, 5, 0, 8, Read), hb, victim);
            assert_eq!((v.race, v.store_at, v.clear), (None, 0, 0), "victim {victim}: the write goes, reader 2 stays");
            let v = check(&full(&[reader2, init]), c(3, 5, 0, 8, Read), hb, victim);
            assert_eq!(v.store_at, 1, "victim {victim}");
        }
        // With nothing ordered, `victim` decides.
        let reads = full(&[]);
        assert_eq!(check(&reads, c(3, 5, 0, 8, Read), |_| false, 1).store_at, 1);
        assert_eq!(check(&reads, c(3, 5, 0, 8, Read), |_| false, CELLS).store_at, 0);
    }

    #[test]
    fn quick_store_agrees_with_check() {
        // Every pair of cells from a small alphabet of accesses (two threads
        // and a third, all kinds, two byte ranges), against every current
        // access of thread 2: where `quick_store` answers, `check` must find
        // no race, clear nothing, and store in the same cell, whatever the
        // clocks say.
        let kinds = [AccessKind::Read, AccessKind::Write, AccessKind::AtomicRead, AccessKind::AtomicWrite];
        let mut alphabet = vec![Cell::EMPTY];
        for slot in 1..=3 {
            for kind in kinds {
                for (off, size) in [(0, 8), (0, 4)] {
                    alphabet.push(c(slot, 3, off, size, kind));
                }
            }
        }
        let mut answered = 0;
        for &a in &alphabet {
            for &b in &alphabet {
                for kind in kinds {
                    for (off, size) in [(0, 8), (0, 4)] {
                        let cur = c(2, 5, off, size, kind);
                        let Some(at) = quick_store(&pad(&[a, b]), cur) else { continue };
                        answered += 1;
                        for hb in [false, true] {
                            for victim in 0..2 {
                                let v = check(&pad(&[a, b]), cur, |_| hb, victim);
                                assert_eq!((v.race, v.clear, v.store_at), (None, 0, at), "{a:?} {b:?} {cur:?} hb {hb}");
                            }
                        }
                    }
                }
            }
        }
        assert!(answered > 100, "{answered}");
    }

    #[test]
    fn raw_same_access_test_agrees() {
        let kinds = [AccessKind::Read, AccessKind::Write, AccessKind::AtomicRead, AccessKind::AtomicWrite];
        let mut olds = vec![Cell::EMPTY];
        for slot in [1, 2] {
            for kind in kinds {
                for epoch in [1, 4, 5, 6, Cell::MAX_EPOCH] {
                    for (off, size) in [(0, 8), (0, 4), (4, 4)] {
                        olds.push(c(slot, epoch, off, size, kind));
                    }
                }
            }
        }
        let mut same = 0;
        for &old in &olds {
            for kind in kinds {
                for (off, size) in [(0, 8), (0, 4), (4, 4)] {
                    for start in [0, 1, 5, 6, Cell::MAX_EPOCH] {
                        let cur = c(2, start.max(1), off, size, kind);
                        let want = is_same_access(old, cur, start);
                        same += want as usize;
                        assert_eq!(is_same_access_raw(old.raw(), cur, epoch_floor(start)), want, "{old:?} {cur:?} from {start}");
                        if !kind.is_atomic() {
                            let key = epoch_key(epoch_floor(start), Slot::new(2));
                            let seen = seen_in_epoch(old.raw(), key, off, size, kind.is_write());
                            assert_eq!(seen, want, "key: {old:?} {cur:?} from {start}");
                        }
                    }
                }
            }
        }
        assert!(same > 10, "{same}");
    }

    #[test]
    fn split_granules() {
        let v: Vec<_> = split(6, 4).collect();
        assert_eq!(v, vec![(0, 6, 2), (8, 0, 2)]);
        let v: Vec<_> = split(16, 17).collect();
        assert_eq!(v, vec![(16, 0, 8), (24, 0, 8), (32, 0, 1)]);
        assert_eq!(split(5, 0).count(), 0);
    }
}
