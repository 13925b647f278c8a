//! Shadow cells and the race rules.
//!
//! Application memory is split into 8-byte granules; each granule has
//! [`CELLS`] shadow cells, each remembering one earlier access as a packed
//! 64-bit [`Cell`] (in the style of ThreadSanitizer's `tsan_shadow.h`):
//!
//! ```text
//!  63                      25  24  23        10  9   8  7        0
//! +--------------------------+---+------------+---+---+----------+
//! |      epoch (39 bits)     | S | slot (14)  | A | W | byte mask|
//! +--------------------------+---+------------+---+---+----------+
//! ```
//!
//! A zero cell is empty; a real cell always has a non-empty byte mask.
//! `S` is not part of the access: set on a stored cell, it says that the
//! granule's *spill cell* may hold a write evicted from its cells (see
//! [`check`]); the runtime keeps spill cells apart, read only when a cell
//! says so, and the same-access tests ignore the bit.
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
const _: () = assert!(1 << Cell::SLOT_BITS == Slot::COUNT && Cell::SLOT_SHIFT + Cell::SLOT_BITS == Cell::SPILL_SHIFT && Cell::SPILL_SHIFT + 1 == Cell::EPOCH_SHIFT);

impl Cell {
    pub const EMPTY: Cell = Cell(0);

    const MASK_BITS: u32 = 8;
    const WRITE_SHIFT: u32 = 8;
    const ATOMIC_SHIFT: u32 = 9;
    const SLOT_SHIFT: u32 = 10;
    const SLOT_BITS: u32 = 14;
    const SPILL_SHIFT: u32 = 24;
    const EPOCH_SHIFT: u32 = 25;
    /// The bits that describe the access, below the spill flag and the epoch.
    const LOW: u64 = (1 << Cell::SPILL_SHIFT) - 1;
    /// The spill flag: the granule's spill cell may hold a write.
    pub const SPILL: u64 = 1 << Cell::SPILL_SHIFT;
    /// Largest epoch a cell can hold (39 bits: 5·10^11 events of one slot).
    pub const MAX_EPOCH: Epoch = (1 << (64 - Cell::EPOCH_SHIFT)) - 1;
    /// The last epoch at which a thread's accesses are checked: room is left
    /// below [`Cell::MAX_EPOCH`] for the events recorded without a check
    /// (the frames an access is recorded in, a thread's end). A slot past
    /// it is used up: its thread's later accesses are not checked, rather
    /// than stored with an epoch that no longer fits, and no later thread
    /// is given the slot.
    pub const EPOCH_LIMIT: Epoch = Cell::MAX_EPOCH - (1 << 20);

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
        Cell(self.0 & Cell::LOW | epoch << Cell::EPOCH_SHIFT)
    }

    /// The access alone, without the spill flag a stored cell may carry.
    #[inline(always)]
    pub fn plain(self) -> Cell {
        Cell(self.0 & !Cell::SPILL)
    }

    /// Does this stored cell say its granule's spill cell may hold a write?
    #[inline(always)]
    pub fn flags_spill(self) -> bool {
        self.0 & Cell::SPILL != 0
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
    const LOW: u64 = Cell::LOW;
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
    const LOW: u64 = Cell::LOW;
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
    const LOW: u64 = Cell::LOW;
    let probe = key | Cell::byte_mask(offset, size) | (write as u64) << Cell::WRITE_SHIFT;
    let compare = if write { LOW } else { LOW & !(1 << Cell::WRITE_SHIFT) };
    (old ^ probe) & compare == 0 && old >= probe
}

/// The outcome of checking one access against a granule's cells.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub struct Verdict {
    /// Where to store the current access. `None`: nowhere, the access being
    /// a read, every cell a write and the spill cell taken; a read is what
    /// may be dropped (see [`check`]).
    pub store_at: Option<usize>,
    /// Other cells the current access makes redundant (bit i = cell i): they
    /// happen before it, and anything racing with them races with it too.
    pub clear: u8,
    /// An earlier conflicting access that does not happen before this one.
    pub race: Option<Cell>,
    /// What becomes of the granule's spill cell.
    pub spill: Spill,
}

/// What a [`Verdict`] does to the granule's spill cell.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum Spill {
    /// Left as it is.
    Keep,
    /// Emptied: the current access makes its write redundant.
    Clear,
    /// Given this write, evicted from the cell the current access takes.
    Put(Cell),
}

impl Verdict {
    /// The raw cell to store at `store_at`: `cur`, flagged when the spill
    /// cell holds a write once the verdict is applied (`spill`: the spill
    /// cell before it). The stored cell is the granule's newest, so the
    /// flag stays visible whatever the other cells become.
    #[inline(always)]
    pub fn stored(&self, cur: Cell, spill: Cell) -> u64 {
        let spilled = match self.spill {
            Spill::Keep => !spill.is_empty(),
            Spill::Clear => false,
            Spill::Put(_) => true,
        };
        cur.0 | if spilled { Cell::SPILL } else { 0 }
    }
}

/// Check `cur` against the granule's `cells` and its `spill` cell (empty
/// unless a cell [`flags_spill`](Cell::flags_spill)). `happens_before(cell)`
/// answers whether the cell's access happens before the current thread's
/// present; `victim` picks among equals.
///
/// Where `cur` goes: its own earlier cell of the same access, else a cell
/// `cur` makes redundant, else an empty one. When all cells are taken,
/// nothing is dropped that a later access could race with alone, as far
/// as the cells allow:
///
/// 1. A write gives its cell to `cur` and moves to the spill cell, if that
///    is free (an access ordered before `cur` first). Two threads reading
///    what a third wrote keep a cell each, and the write is kept: a fourth
///    thread reading without being ordered after the write is reported.
/// 2. Else a read gives up its cell (an ordered one first): losing a read
///    hides only a later write's race with it.
/// 3. Else every cell and the spill cell hold writes: a read `cur` is not
///    stored; a write takes an ordered write's cell, else `victim`'s.
///
/// Measured against the alternatives (`benches/`, see the README's
/// Limits): evicting the ordered access first, even a write, lost that
/// fourth reader; keeping the write in the two cells made two threads
/// reading shared data evict each other's cell on every access (workload 3
/// 3.7× slower); four cells per granule cost 1.2–1.5× the time of
/// workloads 1–4 and 1.3–1.65× the memory.
#[inline(always)]
pub fn check(
    cells: &[Cell; CELLS],
    spill: Cell,
    cur: Cell,
    mut happens_before: impl FnMut(Cell) -> bool,
    victim: usize,
) -> Verdict {
    let mut race = None;
    let mut store_at = None;
    let mut empty = None;
    let mut clear = 0u8;
    let mut ordered = 0u8;
    let mut writes = 0u8;
    for (i, &stored) in cells.iter().enumerate() {
        let old = stored.plain();
        if old.is_empty() {
            empty.get_or_insert(i);
            continue;
        }
        if old.is_write() {
            writes |= 1 << i;
        }
        if old.slot() == cur.slot() {
            // Our own earlier access: never a race. Replace it when the
            // new one says at least as much (same bytes, at least as strong).
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
            ordered |= 1 << i;
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
    let mut spill_verdict = Spill::Keep;
    if !spill.is_empty() {
        let hb = spill.slot() == cur.slot() || happens_before(spill);
        if !hb && race.is_none() && spill.conflicts_with(cur) {
            race = Some(spill);
        }
        // Subsumed as a cell is, or by an atomic write of its very bytes
        // (a later access racing with an atomic write races with a later
        // one of the same bytes too).
        let atomic_same = spill.is_atomic() && spill.mask() == cur.mask();
        if hb && spill.mask() & !cur.mask() == 0 && cur.is_write() && (!cur.is_atomic() || atomic_same) {
            spill_verdict = Spill::Clear;
        }
    }
    // A subsumed cell before an empty one: then it need not be cleared,
    // and a thread that takes over another's memory keeps its cell first,
    // where the inline check looks first.
    if let Some(at) = store_at.or_else(|| (0..CELLS).find(|i| clear >> i & 1 == 1)).or(empty) {
        clear &= !(1 << at);
        return Verdict { store_at: Some(at), clear, race, spill: spill_verdict };
    }
    // Every cell is taken and none is redundant. Of a set of cells, an
    // ordered one goes first (the lowest), else `victim` picks.
    let pick = |among: u8| -> usize {
        let first_ordered = among & ordered;
        if first_ordered != 0 {
            return first_ordered.trailing_zeros() as usize;
        }
        let mut set = among;
        for _ in 0..victim % among.count_ones() as usize {
            set &= set - 1;
        }
        set.trailing_zeros() as usize
    };
    let all = ((1u16 << CELLS) - 1) as u8;
    let spill_free = spill.is_empty() || spill_verdict == Spill::Clear;
    if writes != 0 && spill_free {
        let at = pick(writes);
        return Verdict { store_at: Some(at), clear: 0, race, spill: Spill::Put(cells[at].plain()) };
    }
    if all & !writes != 0 {
        return Verdict { store_at: Some(pick(all & !writes)), clear: 0, race, spill: spill_verdict };
    }
    let store_at = cur.is_write().then(|| pick(writes));
    Verdict { store_at, clear: 0, race, spill: spill_verdict }
}

/// The common cases of [`check`] without its machinery: when no cell can
/// race with `cur`, where `check` would store `cur` and which cells it
/// would clear (bit i: cell i). That holds when every busy cell is the
/// current thread's own access, or, for an atomic `cur`, an atomic access
/// of the same bytes (atomics never race with each other), or one other
/// thread's access that happens before `cur`. If `cur` subsumes that one
/// (a thread's first pass over memory another thread filled before
/// starting it), `cur` takes its cell, or its own matching cell and the
/// other is cleared (a debug build's `*p += 1`: the read, then the write);
/// if not (a read of what another thread wrote), `cur` goes to its own
/// matching cell, else an empty one, and the other stays. `None`: run
/// `check`, which also it must when a cell flags a spilled write.
/// `happens_before` as for `check`, asked about one cell at most.
#[inline(always)]
pub fn quick_store(cells: &[Cell; CELLS], cur: Cell, happens_before: impl FnOnce(Cell) -> bool) -> Option<(usize, u8)> {
    // On raw cells: `diff` has a bit set where the two accesses differ.
    const SLOT: u64 = ((1 << Cell::SLOT_BITS) - 1) << Cell::SLOT_SHIFT;
    const ATOMIC_AND_MASK: u64 = (1 << Cell::ATOMIC_SHIFT) | ((1 << Cell::MASK_BITS) - 1);
    const WRITE: u64 = 1 << Cell::WRITE_SHIFT;
    let mut own = None;
    let mut empty = None;
    let mut other = None;
    for (i, &old) in cells.iter().enumerate() {
        let diff = old.0 ^ cur.0;
        if old.flags_spill() {
            return None;
        }
        if old.is_empty() {
            empty.get_or_insert(i);
        } else if diff & SLOT == 0 {
            // Its own access, replaced when `cur` covers the same bytes,
            // with the same atomicity, at least as strongly.
            if own.is_none() && diff & ATOMIC_AND_MASK == 0 && (cur.0 & WRITE != 0 || old.0 & WRITE == 0) {
                own = Some(i);
            }
        } else if cur.is_atomic() && diff & ATOMIC_AND_MASK == 0 {
            // An atomic access of the same bytes as an atomic `cur`.
        } else if other.is_none() {
            other = Some((i, old));
        } else {
            return None;
        }
    }
    let Some((i, old)) = other else { return own.or(empty).map(|at| (at, 0)) };
    if !happens_before(old) {
        return None;
    }
    // Subsumed as `check` has it: cleared, unless `cur` takes its cell
    // for want of an own one.
    let subsumed = !cur.is_atomic() && old.mask() & !cur.mask() == 0 && (cur.is_write() || !old.is_write());
    match own {
        Some(at) if subsumed => Some((at, 1 << i)),
        None if subsumed => Some((i, 0)),
        _ => own.or(empty).map(|at| (at, 0)),
    }
}

/// Deep mode's sweep shortcut (the runtime's 8-byte access hooks): `cur`
/// was just stored in a granule whose first cell held `old` and whose
/// second was empty, in place of `old` or beside it, nothing cleared, as
/// [`quick_store`] has it: `old` empty, the thread's own (`own`), or another
/// thread's access that happens before `cur` (`clock`: the current thread's
/// clock entry for `old`'s slot). The same access at the next granule may
/// then be stored the same way without asking `quick_store`, if the second
/// cell is empty and the first fits the returned `(low, limit)`: its bits
/// below the epoch, spill flag included, equal `low`, and the raw cell is
/// below `limit` (for another thread's access, an epoch its clock entry
/// reaches). `quick_store` gives every such granule the answer it gave
/// `old`'s, with the same clocks.
pub fn sweep_pattern(old: Cell, own: bool, clock: Epoch) -> (u64, u64) {
    if old.is_empty() {
        return (0, 1);
    }
    let low = old.0 & SWEEP_LOW_BITS;
    if own {
        return (low, u64::MAX);
    }
    let limit = if clock >= Cell::MAX_EPOCH { u64::MAX } else { (clock + 1) << Cell::EPOCH_SHIFT };
    (low, limit)
}

/// The bits [`sweep_pattern`]'s `low` covers, for code that spells the
/// test out by hand.
pub const SWEEP_LOW_BITS: u64 = (1 << Cell::EPOCH_SHIFT) - 1;

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
        let none = Cell::EMPTY;
        let other_write = c(1, 7, 0, 8, Write);
        let cells = pad(&[other_write]);
        let v = check(&cells, none, c(2, 3, 0, 8, Read), |_| false, 0);
        assert_eq!(v.race, Some(other_write));
        assert_eq!(v.store_at, Some(1));
        let v = check(&cells, none, c(2, 3, 0, 8, Read), |_| true, 0);
        assert_eq!(v.race, None);
        let v = check(&cells, none, c(2, 3, 0, 8, Write), |_| true, 0);
        assert_eq!((v.race, v.store_at, v.clear), (None, Some(0), 0), "ordered write makes it redundant: replaced in place");
        let cells = pad(&[c(2, 1, 0, 8, Read), c(1, 1, 0, 8, Read)]);
        let v = check(&cells, none, c(2, 3, 0, 8, Write), |_| false, 1);
        assert_eq!(v.race, Some(cells[1]));
        assert_eq!(v.store_at, Some(0), "own cell reused");
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

    /// Thread 1 wrote, then threads 2 and 3 read it after a join: the write
    /// is ordered before both reads, the reads are concurrent. Reader 3
    /// takes the write's cell and the write moves to the spill cell, so a
    /// fourth reader not ordered after the write is still reported, and
    /// each reader keeps a cell (its next read takes the fast path).
    #[test]
    fn a_write_makes_room_for_a_reader_by_moving_to_the_spill_cell() {
        use AccessKind::*;
        let init = c(1, 4, 0, 8, Write);
        let reader2 = c(2, 9, 0, 8, Read);
        let hb = |x: Cell| x == init;
        for victim in 0..8 {
            for (cells, at) in [(full(&[init, reader2]), 0), (full(&[reader2, init]), 1)] {
                let cur = c(3, 5, 0, 8, Read);
                let v = check(&cells, Cell::EMPTY, cur, hb, victim);
                assert_eq!((v.race, v.store_at, v.clear, v.spill), (None, Some(at), 0, Spill::Put(init)), "victim {victim}");
                let stored = Cell::from_raw(v.stored(cur, Cell::EMPTY));
                assert!(stored.flags_spill() && stored.plain() == cur, "{stored:?}");
                // The granule after it: the fourth reader finds the write.
                let mut after = cells;
                after[at] = stored;
                let v = check(&after, init, c(4, 3, 0, 8, Read), |_| false, victim);
                assert_eq!(v.race, Some(init), "victim {victim}");
                // Ordered after it, it is silent, and the write stays.
                let v = check(&after, init, c(4, 3, 0, 8, Read), |x| x == init, victim);
                assert_eq!((v.race, v.spill), (None, Spill::Keep), "victim {victim}");
                assert!(!v.stored(cur, init) & Cell::SPILL == 0, "the new cell keeps the flag");
            }
        }
    }

    #[test]
    fn with_the_spill_cell_taken_a_read_goes_before_a_write() {
        use AccessKind::*;
        let (w1, r2, w3) = (c(1, 4, 0, 8, Write), c(2, 4, 0, 8, Read), c(3, 4, 0, 8, Write));
        let cur = c(4, 5, 0, 8, Read);
        for victim in 0..8 {
            for (cells, read_at) in [(pad(&[w1, r2]), 1), (pad(&[r2, w1]), 0)] {
                let v = check(&cells, w3, cur, |_| true, victim);
                assert_eq!((v.store_at, v.spill, v.race), (Some(read_at), Spill::Keep, None), "victim {victim}");
            }
            // Only writes: a read is not stored at all; a write replaces an
            // ordered write, else `victim`'s.
            let writes = pad(&[w1, c(2, 4, 0, 8, Write)]);
            let v = check(&writes, w3, cur, |_| true, victim);
            assert_eq!((v.store_at, v.spill, v.clear), (None, Spill::Keep, 0), "victim {victim}");
            let w = c(4, 5, 0, 4, Write);
            let v = check(&writes, w3, w, |x| x == writes[1], victim);
            assert_eq!(v.store_at, Some(1), "victim {victim}");
            let v = check(&writes, w3, w, |_| false, victim);
            assert_eq!(v.store_at, Some(victim % CELLS), "victim {victim}");
        }
    }

    #[test]
    fn the_spilled_write_is_checked_and_made_redundant_like_a_cell() {
        use AccessKind::*;
        let spilled = c(1, 4, 0, 8, Write);
        let cells = pad(&[Cell::from_raw(c(2, 6, 0, 8, Read).raw() | Cell::SPILL), c(3, 6, 0, 8, Read)]);
        let hb_reads = |x: Cell| x != spilled;
        // A write ordered after everything makes both cells and the spill
        // cell redundant: it takes the first cell, unflagged.
        let w = c(4, 9, 0, 8, Write);
        let v = check(&cells, spilled, w, |_| true, 0);
        assert_eq!((v.race, v.store_at, v.clear, v.spill), (None, Some(0), 0b10, Spill::Clear));
        assert_eq!(v.stored(w, spilled), w.raw());
        // Not ordered after the spilled write: a race with it.
        let v = check(&cells, spilled, w, hb_reads, 0);
        assert_eq!((v.race, v.spill), (Some(spilled), Spill::Keep));
        // A write of other bytes, or a read, leaves it.
        let v = check(&cells, spilled, c(4, 9, 0, 4, Write), |_| true, 0);
        assert_eq!((v.race, v.spill), (None, Spill::Keep));
        // Its own thread never races with it.
        let v = check(&cells, spilled, c(1, 9, 0, 8, Read), hb_reads, 0);
        assert_eq!(v.race, None);
        // An atomic spilled write is made redundant by a later atomic write of
        // the same bytes only.
        let aw = c(1, 4, 0, 8, AtomicWrite);
        let v = check(&cells, aw, c(4, 9, 0, 8, AtomicWrite), |_| true, 0);
        assert_eq!(v.spill, Spill::Clear);
        let v = check(&cells, aw, c(4, 9, 0, 4, AtomicWrite), |_| true, 0);
        assert_eq!(v.spill, Spill::Keep);
    }

    const KINDS: [AccessKind; 4] = [AccessKind::Read, AccessKind::Write, AccessKind::AtomicRead, AccessKind::AtomicWrite];

    /// The empty cell, then every kind of access of threads 1 to `threads`
    /// at epoch 3 to a whole granule and to its first half (each also
    /// flagging a spilled write, if `flagged`).
    fn alphabet(threads: usize, flagged: bool) -> Vec<Cell> {
        let mut cells = vec![Cell::EMPTY];
        for slot in 1..=threads {
            for kind in KINDS {
                for (off, size) in [(0, 8), (0, 4)] {
                    cells.push(c(slot, 3, off, size, kind));
                    if flagged {
                        cells.push(Cell::from_raw(c(slot, 3, off, size, kind).raw() | Cell::SPILL));
                    }
                }
            }
        }
        cells
    }

    /// Over every granule of a small alphabet (two cells and a spill cell
    /// of four threads' accesses) and every access of thread 2, with every
    /// happens-before answer: a write leaves the granule (neither kept nor
    /// made redundant by the current access) only when no read could have
    /// gone instead; a race is found exactly when some kept access is
    /// unordered and conflicting.
    #[test]
    fn no_write_is_dropped_while_a_read_could_be() {
        let kinds = KINDS;
        let alphabet = alphabet(4, false);
        let spills: Vec<Cell> = alphabet.iter().copied().filter(|x| x.is_empty() || x.is_write()).collect();
        let mut dropped_writes = 0;
        for &a in &alphabet {
            for &b in &alphabet {
                for &spill in &spills {
                    for kind in kinds {
                        for (off, size) in [(0, 8), (0, 4)] {
                            let cur = c(2, 5, off, size, kind);
                            for ordered in 0..8u32 {
                                let before = [a, b, spill];
                                let hb = |x: Cell| before.iter().position(|&y| y == x).is_some_and(|i| ordered >> i & 1 == 1);
                                let v = check(&pad(&[a, b]), spill, cur, hb, ordered as usize);
                                let race = before.iter().any(|&x| {
                                    !x.is_empty() && x.slot() != cur.slot() && !hb(x) && x.conflicts_with(cur)
                                });
                                assert_eq!(v.race.is_some(), race, "{a:?} {b:?} {spill:?} {cur:?} {ordered:b}");
                                let mut after = pad(&[a, b]);
                                let mut after_spill = spill;
                                match v.spill {
                                    Spill::Keep => {}
                                    Spill::Clear => after_spill = Cell::EMPTY,
                                    Spill::Put(x) => after_spill = x,
                                }
                                for i in 0..CELLS {
                                    if v.clear >> i & 1 == 1 {
                                        after[i] = Cell::EMPTY;
                                    }
                                }
                                if let Some(at) = v.store_at {
                                    after[at] = cur;
                                }
                                let kept = |x: Cell| after.contains(&x) || after_spill == x;
                                // Redundant: ordered before `cur`, which writes
                                // its bytes (or reads them, after a read).
                                let redundant = |x: Cell| {
                                    (x.slot() == cur.slot() || hb(x))
                                        && x.mask() & !cur.mask() == 0
                                        && (cur.is_write() || !x.is_write())
                                        && (!cur.is_atomic() || x.is_atomic() && x.mask() == cur.mask())
                                };
                                for &x in &before {
                                    if x.is_empty() || kept(x) || redundant(x) || !x.is_write() {
                                        continue;
                                    }
                                    dropped_writes += 1;
                                    let reads_left = after.iter().any(|y| !y.is_empty() && !y.is_write());
                                    assert!(!reads_left && cur.is_write() && v.store_at.is_some(),
                                        "{x:?} dropped: {a:?} {b:?} {spill:?} {cur:?} {ordered:b} -> {after:?} {after_spill:?}");
                                }
                                if v.store_at.is_none() {
                                    assert!(!cur.is_write() && after.iter().all(|y| y.is_write()) && after_spill.is_write());
                                }
                            }
                        }
                    }
                }
            }
        }
        assert!(dropped_writes > 0, "the all-writes case was reached");
    }

    #[test]
    fn quick_store_agrees_with_check() {
        // Every pair of cells from a small alphabet of accesses (two threads
        // and a third, all kinds, two byte ranges), against every current
        // access of thread 2: where `quick_store` answers, `check` must find
        // no race, clear nothing, and store in the same cell, with the clocks
        // saying the same to both.
        let kinds = KINDS;
        let alphabet = alphabet(3, true);
        let mut answered = 0;
        for &a in &alphabet {
            for &b in &alphabet {
                for kind in kinds {
                    for (off, size) in [(0, 8), (0, 4)] {
                        let cur = c(2, 5, off, size, kind);
                        for hb in [false, true] {
                            let Some((at, clear)) = quick_store(&pad(&[a, b]), cur, |_| hb) else { continue };
                            assert!(!a.flags_spill() && !b.flags_spill(), "a flagged spill goes to check");
                            answered += 1;
                            for victim in 0..2 {
                                let v = check(&pad(&[a, b]), Cell::EMPTY, cur, |_| hb, victim);
                                assert_eq!((v.race, v.clear, v.store_at), (None, clear, Some(at)), "{a:?} {b:?} {cur:?} hb {hb}");
                            }
                        }
                    }
                }
            }
        }
        assert!(answered > 100, "{answered}");
    }

    #[test]
    fn quick_store_takes_over_an_ordered_access_it_subsumes() {
        // A thread's first pass over memory another thread filled before
        // starting it: the filler's write goes, without the full check.
        let filled = c(1, 3, 0, 8, AccessKind::Write);
        let cur = c(2, 5, 0, 8, AccessKind::Write);
        assert_eq!(quick_store(&pad(&[filled]), cur, |_| true), Some((0, 0)));
        // Unordered, it is a race for the full check to report.
        assert_eq!(quick_store(&pad(&[filled]), cur, |_| false), None);
        // A read does not subsume a write, nor a narrower write a wider one:
        // both are kept, `cur` in the empty cell.
        assert_eq!(quick_store(&pad(&[filled]), c(2, 5, 0, 8, AccessKind::Read), |_| true), Some((1, 0)));
        assert_eq!(quick_store(&pad(&[filled]), c(2, 5, 0, 4, AccessKind::Write), |_| true), Some((1, 0)));
        // A debug build's `*p += 1` over it: the read went to the empty
        // cell; the write replaces it and clears the filler's.
        let read = c(2, 5, 0, 8, AccessKind::Read);
        assert_eq!(quick_store(&pad(&[filled, read]), cur, |_| true), Some((1, 1)));
        // Two other threads' accesses: the full check.
        let other = c(3, 4, 0, 8, AccessKind::Read);
        assert_eq!(quick_store(&pad(&[filled, other]), cur, |_| true), None);
    }

    #[test]
    fn a_sweep_pattern_admits_only_what_quick_store_takes_over() {
        // For each cell `cur` can replace in a granule's first cell (the
        // other empty), every cell of the alphabet, at epochs around the
        // clock, that fits the pattern must be one `quick_store` stores `cur`
        // over, in cell 0; and the cell the pattern was made from fits it.
        let mut cells = alphabet(3, true);
        let more: Vec<Cell> = cells.iter().filter(|x| !x.is_empty()).flat_map(|x| [2, 4, 9].map(|e| x.at_epoch(e))).collect();
        cells.extend(more);
        let mut admitted = 0;
        for kind in [AccessKind::Read, AccessKind::Write] {
            let cur = c(2, 5, 0, 8, kind);
            for clock in [0, 3, 4, Cell::MAX_EPOCH] {
                let hb = |x: Cell| x.epoch() <= clock;
                for &old in &cells {
                    // In place of `old`, or beside it.
                    let Some(answer @ (_, 0)) = quick_store(&pad(&[old]), cur, hb) else { continue };
                    let own = !old.is_empty() && old.slot() == cur.slot();
                    let (low, limit) = sweep_pattern(old, own, clock);
                    let fits = |x: Cell| x.0 & SWEEP_LOW_BITS == low && x.0 < limit;
                    assert!(fits(old), "{old:?} {cur:?} clock {clock}");
                    for &x in &cells {
                        if fits(x) {
                            admitted += 1;
                            assert_eq!(quick_store(&pad(&[x]), cur, hb), Some(answer), "{x:?} from {old:?}, {cur:?} clock {clock}");
                        }
                    }
                }
            }
        }
        assert!(admitted > 50, "{admitted}");
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
                        olds.push(Cell::from_raw(c(slot, epoch, off, size, kind).raw() | Cell::SPILL));
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
                        let want = is_same_access(old.plain(), cur, start);
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
