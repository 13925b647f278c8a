//! Per-slot event history, replayed to restore the stack of an earlier access.
//!
//! Each slot appends compact 64-bit events (frame enter/exit, access sites,
//! allocations) to a bounded ring. The position of an event *is* the slot's
//! epoch at that event (see `clock`), so a shadow cell `epoch@slot` points at
//! the exact event. The ring is cut into parts of [`PART`] events; at the start
//! of each part the owner stores a snapshot of its frame stack, so a replay
//! starts at the part holding the target and applies enters and exits up to
//! it, as ThreadSanitizer v3's `RestoreStack` does with its trace parts.
//!
//! When the part has been overwritten, replay says so ([`Lost`]); the caller
//! still reports the race, with `[failed to restore the stack]`. (TSan v3
//! drops such races silently; we do not.)
//!
//! Concurrency: only the owning thread pushes; any thread may replay. All
//! words are relaxed atomics and a replay re-checks the position afterwards,
//! so a concurrent overwrite turns into `Lost`, never into a wrong stack.

use std::sync::atomic::{AtomicU64, Ordering::*};

use crate::clock::Epoch;

/// Events per part (log2).
const PART_LOG: u32 = 10;
/// Events per part.
pub const PART: u64 = 1 << PART_LOG;
/// Innermost frames kept in a part's snapshot.
pub const SNAPSHOT_FRAMES: usize = 31;
const SNAPSHOT_WORDS: usize = 1 + 2 * SNAPSHOT_FRAMES;

/// One frame of a shadow stack: an opaque id of the function entered (the
/// runtime uses the address of its static function descriptor) and the return
/// address into its caller (0 when unknown).
#[derive(Copy, Clone, PartialEq, Eq, Debug, Hash)]
pub struct Frame {
    pub func: u64,
    pub caller_pc: u64,
}

impl Frame {
    /// The `func` of a frame known only by its return address: a function
    /// instrumented by the compiler (deep mode), entered with one
    /// [`Event::Call`].
    pub const CALL: u64 = 0;

    pub fn call(caller_pc: u64) -> Frame {
        Frame { func: Frame::CALL, caller_pc }
    }
}

/// A decoded history event. Payloads are at most 60 bits.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum Event {
    Pad,
    /// A checked access in annotated code; the payload names its site.
    Read(u64),
    Write(u64),
    /// Entering a frame (followed by `EnterPc`).
    Enter(u64),
    EnterPc(u64),
    Exit,
    /// Accesses known by program counter only (atomics from the LLVM pass).
    AtomicRead(u64),
    AtomicWrite(u64),
    /// An allocation, by the program counter that requested it.
    Alloc(u64),
    /// A new thread starts in this slot (payload: its thread id). Clears the stack.
    ThreadStart(u64),
    /// A block freed, by the program counter that freed it.
    Free(u64),
    /// Plain accesses known by program counter only (deep mode: the
    /// compiler's instrumentation of every load and store).
    PcRead(u64),
    PcWrite(u64),
    /// Entering a compiled-in frame (deep mode), by the return address
    /// into its caller: one event, for a frame whose `func` is [`Frame::CALL`].
    Call(u64),
}

impl Event {
    const TAG_BITS: u32 = 4;

    pub fn encode(self) -> u64 {
        let (tag, payload) = match self {
            Event::Pad => (0, 0),
            Event::Read(s) => (1, s),
            Event::Write(s) => (2, s),
            Event::Enter(f) => (3, f),
            Event::EnterPc(pc) => (4, pc),
            Event::Exit => (5, 0),
            Event::AtomicRead(pc) => (6, pc),
            Event::AtomicWrite(pc) => (7, pc),
            Event::Alloc(pc) => (8, pc),
            Event::ThreadStart(t) => (9, t),
            Event::Free(pc) => (10, pc),
            Event::PcRead(pc) => (11, pc),
            Event::PcWrite(pc) => (12, pc),
            Event::Call(pc) => (13, pc),
        };
        debug_assert!(payload >> (64 - Event::TAG_BITS) == 0, "payload too wide");
        payload << Event::TAG_BITS | tag
    }

    pub fn decode(raw: u64) -> Event {
        let p = raw >> Event::TAG_BITS;
        match raw & ((1 << Event::TAG_BITS) - 1) {
            1 => Event::Read(p),
            2 => Event::Write(p),
            3 => Event::Enter(p),
            4 => Event::EnterPc(p),
            5 => Event::Exit,
            6 => Event::AtomicRead(p),
            7 => Event::AtomicWrite(p),
            8 => Event::Alloc(p),
            9 => Event::ThreadStart(p),
            10 => Event::Free(p),
            11 => Event::PcRead(p),
            12 => Event::PcWrite(p),
            13 => Event::Call(p),
            _ => Event::Pad,
        }
    }
}

/// The earlier event could not be restored: its part was overwritten.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub struct Lost;

/// A restored event and the frame stack around it (outermost first).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Restored {
    pub event: Event,
    pub stack: Vec<Frame>,
}

/// One slot's bounded history.
pub struct History {
    events: Box<[AtomicU64]>,
    snapshots: Box<[AtomicU64]>,
    pos: AtomicU64,
}

impl History {
    /// A history of `2^log2_events` events (at least two parts).
    pub fn new(log2_events: u32) -> History {
        History::starting_at(log2_events, 1)
    }

    /// A history whose first event gets epoch `first` (at least 1), as if
    /// that many had been recorded: for testing what happens as a slot's
    /// epochs run out.
    pub fn starting_at(log2_events: u32, first: Epoch) -> History {
        let cap = 1usize << log2_events.max(PART_LOG + 1);
        let parts = cap >> PART_LOG;
        // Optimised, these collects become zeroed allocations (`calloc`):
        // fresh pages the kernel maps only when first written, so a slot's
        // history costs memory as its thread records, not its capacity up
        // front (ten thousand threads that record little stay small).
        let h = History {
            events: (0..cap).map(|_| AtomicU64::new(0)).collect(),
            snapshots: (0..parts * SNAPSHOT_WORDS).map(|_| AtomicU64::new(0)).collect(),
            // Epoch 0 means "before everything"; no event gets it.
            pos: AtomicU64::new(first.max(1)),
        };
        h
    }

    pub fn capacity(&self) -> u64 {
        self.events.len() as u64
    }

    /// The epoch the next event will get.
    #[inline]
    pub fn pos(&self) -> Epoch {
        self.pos.load(Relaxed)
    }

    /// Append an event. `stack` is the owner's frame stack *before* the event
    /// takes effect. Owner thread only. Returns the event's epoch.
    #[inline]
    pub fn push(&self, event: Event, stack: &[Frame]) -> Epoch {
        let p = self.pos.load(Relaxed);
        if p & (PART - 1) == 0 {
            self.snapshot(p, stack);
        }
        self.events[(p & (self.capacity() - 1)) as usize].store(event.encode(), Relaxed);
        self.pos.store(p + 1, Release);
        p
    }

    /// The epoch of the last event if it is `event` and no earlier than
    /// `since`: the owner may then give that epoch to `event` again instead
    /// of appending it. Nothing was appended after it, so no frame was
    /// recorded as entered or left since; the stack around it is the stack
    /// now whenever the owner's frames are all recorded. Owner thread only.
    #[inline]
    pub fn last_if(&self, event: Event, since: Epoch) -> Option<Epoch> {
        let last = self.pos.load(Relaxed) - 1;
        let raw = self.events[(last & (self.capacity() - 1)) as usize].load(Relaxed);
        (last >= since.max(1) && raw == event.encode()).then_some(last)
    }

    /// Append a frame entry; `stack` is the stack before the new frame.
    #[inline]
    pub fn push_enter(&self, frame: Frame, stack: &[Frame]) {
        let mut p = self.pos.load(Relaxed);
        if p & (PART - 1) == PART - 1 {
            // Keep both words in one part so a replay never starts between them.
            p = self.push(Event::Pad, stack) + 1;
        }
        if p & (PART - 1) == 0 {
            self.snapshot(p, stack);
        }
        // Both words, then one publication of the new position.
        let mask = self.capacity() - 1;
        self.events[(p & mask) as usize].store(Event::Enter(frame.func).encode(), Relaxed);
        self.events[((p + 1) & mask) as usize].store(Event::EnterPc(frame.caller_pc).encode(), Relaxed);
        self.pos.store(p + 2, Release);
    }

    /// Append the entry of a compiled-in frame ([`Frame::call`]): one event.
    #[inline]
    pub fn push_call(&self, caller_pc: u64, stack: &[Frame]) {
        self.push(Event::Call(caller_pc), stack);
    }

    /// Take back the entry of annotated `frame` if it was the last thing
    /// pushed, so
    /// that a frame left without doing anything leaves no trace: a thread
    /// spinning on an annotated `try_pop` would otherwise fill its history
    /// with empty frames and overwrite the access a report needs. Owner
    /// only. The caller must know that the positions given back were never
    /// published (no clock holds them), since later events reuse them; no
    /// shadow cell holds them either, as they are not accesses.
    #[inline]
    pub fn retract_enter(&self, frame: Frame) -> bool {
        let p = self.pos.load(Relaxed);
        let mask = self.capacity() - 1;
        let at = |p: Epoch| Event::decode(self.events[(p & mask) as usize].load(Relaxed));
        if p < 3 || at(p - 2) != Event::Enter(frame.func) || at(p - 1) != Event::EnterPc(frame.caller_pc) {
            return false;
        }
        self.pos.store(p - 2, Release);
        true
    }

    #[cold]
    fn snapshot(&self, p: Epoch, stack: &[Frame]) {
        let base = self.part_index(p) * SNAPSHOT_WORDS;
        let keep = &stack[stack.len().saturating_sub(SNAPSHOT_FRAMES)..];
        self.snapshots[base].store(keep.len() as u64, Relaxed);
        for (i, f) in keep.iter().enumerate() {
            self.snapshots[base + 1 + 2 * i].store(f.func, Relaxed);
            self.snapshots[base + 2 + 2 * i].store(f.caller_pc, Relaxed);
        }
    }

    fn part_index(&self, p: Epoch) -> usize {
        ((p >> PART_LOG) as usize) & ((self.capacity() >> PART_LOG) as usize - 1)
    }

    /// Restore the event at `target` and the stack it happened in.
    pub fn replay(&self, target: Epoch) -> Result<Restored, Lost> {
        let part_start = target & !(PART - 1);
        let fits = |now: Epoch| target < now && now + 1 < part_start + self.capacity();
        if !fits(self.pos.load(Acquire)) {
            return Err(Lost);
        }
        let base = self.part_index(target) * SNAPSHOT_WORDS;
        let depth = (self.snapshots[base].load(Relaxed) as usize).min(SNAPSHOT_FRAMES);
        let mut stack: Vec<Frame> = (0..depth)
            .map(|i| Frame {
                func: self.snapshots[base + 1 + 2 * i].load(Relaxed),
                caller_pc: self.snapshots[base + 2 + 2 * i].load(Relaxed),
            })
            .collect();
        let mask = self.capacity() - 1;
        let at = |p: Epoch| Event::decode(self.events[(p & mask) as usize].load(Relaxed));
        let mut p = part_start;
        while p < target {
            match at(p) {
                Event::Enter(func) => {
                    let caller_pc = match at(p + 1) {
                        Event::EnterPc(pc) => pc,
                        _ => 0,
                    };
                    stack.push(Frame { func, caller_pc });
                    p += 1;
                }
                Event::Call(pc) => stack.push(Frame::call(pc)),
                Event::Exit => {
                    stack.pop();
                }
                Event::ThreadStart(_) => stack.clear(),
                _ => {}
            }
            p += 1;
        }
        let event = at(target);
        if !fits(self.pos.load(Acquire)) {
            return Err(Lost);
        }
        Ok(Restored { event, stack })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Owner {
        h: History,
        stack: Vec<Frame>,
    }

    impl Owner {
        fn new(log2: u32) -> Owner {
            Owner { h: History::new(log2), stack: vec![] }
        }
        fn enter(&mut self, func: u64) {
            let f = Frame { func, caller_pc: func * 10 };
            self.h.push_enter(f, &self.stack);
            self.stack.push(f);
        }
        fn exit(&mut self) {
            self.h.push(Event::Exit, &self.stack);
            self.stack.pop();
        }
        fn access(&mut self, site: u64) -> Epoch {
            self.h.push(Event::Write(site), &self.stack)
        }
    }

    #[test]
    fn events_round_trip() {
        for e in [
            Event::Pad,
            Event::Read(0x7fff_1234_5678),
            Event::Write(8),
            Event::Enter(1 << 47),
            Event::EnterPc(3),
            Event::Exit,
            Event::AtomicRead(5),
            Event::AtomicWrite(6),
            Event::Alloc(7),
            Event::ThreadStart(42),
            Event::Free(0x5555_1234),
            Event::PcRead(0x5555_0001),
            Event::PcWrite(0x5555_0002),
            Event::Call(0x5555_0003),
        ] {
            assert_eq!(Event::decode(e.encode()), e);
        }
    }

    #[test]
    fn replays_stack_across_parts() {
        let mut o = Owner::new(14);
        o.enter(1);
        o.enter(2);
        let e = o.access(77);
        o.exit();
        // Push past several part boundaries with a deep stack in between.
        for i in 0..3000 {
            o.enter(100 + i % 5);
            o.exit();
        }
        o.enter(3);
        let e2 = o.access(88);
        let r = o.h.replay(e).expect("recent enough");
        assert_eq!(r.event, Event::Write(77));
        assert_eq!(r.stack.iter().map(|f| f.func).collect::<Vec<_>>(), vec![1, 2]);
        assert_eq!(r.stack[1].caller_pc, 20);
        let r2 = o.h.replay(e2).unwrap();
        assert_eq!(r2.stack.iter().map(|f| f.func).collect::<Vec<_>>(), vec![1, 3]);
    }

    #[test]
    fn overwritten_history_is_lost_not_wrong() {
        let mut o = Owner::new(11); // 2048 events
        o.enter(1);
        let e = o.access(5);
        for _ in 0..2100 {
            o.access(6);
        }
        assert_eq!(o.h.replay(e), Err(Lost));
        assert!(o.h.replay(o.h.pos()).is_err(), "future events are not restorable");
    }

    #[test]
    fn an_empty_frame_leaves_no_trace() {
        let mut o = Owner::new(11);
        o.enter(1);
        let e = o.access(5);
        // A spin: enter and leave an empty frame many times the capacity.
        for _ in 0..10_000 {
            o.enter(2);
            let top = *o.stack.last().unwrap();
            assert!(o.h.retract_enter(top));
            o.stack.pop();
        }
        let r = o.h.replay(e).expect("the spin overwrote nothing");
        assert_eq!((r.event, r.stack.len()), (Event::Write(5), 1));
        // A frame with an event in it stays.
        o.enter(3);
        o.access(6);
        assert!(!o.h.retract_enter(*o.stack.last().unwrap()));
    }

    #[test]
    fn compiled_in_frames_replay() {
        let mut o = Owner::new(11);
        o.enter(1);
        o.h.push_call(0x100, &o.stack);
        o.stack.push(Frame::call(0x100));
        let e = o.h.push(Event::PcWrite(0x105), &o.stack);
        let r = o.h.replay(e).expect("restorable");
        assert_eq!(r.event, Event::PcWrite(0x105));
        assert_eq!(r.stack, vec![Frame { func: 1, caller_pc: 10 }, Frame::call(0x100)]);
    }

    #[test]
    fn a_repeated_event_reuses_its_epoch_only_with_nothing_between() {
        let mut o = Owner::new(11);
        assert_eq!(o.h.last_if(Event::Pad, 0), None, "nothing recorded yet");
        o.enter(1);
        let e = o.access(5);
        assert_eq!(o.h.last_if(Event::Write(5), 1), Some(e));
        assert_eq!(o.h.last_if(Event::Write(6), 1), None, "another site");
        assert_eq!(o.h.last_if(Event::Read(5), 1), None, "another kind");
        assert_eq!(o.h.last_if(Event::Write(5), e + 1), None, "an epoch began after it");
        // A sweep reusing the epoch leaves the history where it was, and the
        // epoch still restores the same stack.
        for _ in 0..10_000 {
            assert_eq!(o.h.last_if(Event::Write(5), 1), Some(e));
        }
        assert_eq!(o.h.replay(e).unwrap().stack, vec![Frame { func: 1, caller_pc: 10 }]);
        o.enter(2);
        assert_eq!(o.h.last_if(Event::Write(5), 1), None, "a frame entered since");
        o.exit();
        assert_eq!(o.h.last_if(Event::Write(5), 1), None, "a frame left since");
    }

    #[test]
    fn thread_start_resets_the_stack() {
        let mut o = Owner::new(11);
        o.enter(1);
        o.h.push(Event::ThreadStart(9), &o.stack);
        o.stack.clear();
        let e = o.access(4);
        assert_eq!(o.h.replay(e).unwrap().stack, vec![]);
    }
}
