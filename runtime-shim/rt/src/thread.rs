//! Threads: the registry of slots and threads, and the interposition of
//! `pthread_create` / `pthread_join` (linker `--wrap`, added by the CLI).
//!
//! A new thread starts with its creator's clock (creation is a release by
//! the creator, an acquire by the child). When its start routine returns it
//! publishes its final clock for joiners and frees its slot. A freed slot is
//! handed to a new thread only if the new thread's creator has seen the
//! slot's last event, so reuse never orders accesses that were not ordered.

use std::collections::BTreeMap;
use std::ffi::c_void;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::*};
use std::sync::Mutex;

use racecheck_detector::history::{Event, History};
use racecheck_detector::shadow::Cell;
use racecheck_detector::sync::{SyncClock, ThreadClocks};
use racecheck_detector::{Slot, VClock};

use super::{runtime, set_state, shadow, snapshot_release, sys, while_busy, with_state, ThreadState};
use super::frames::FrameStack;

/// What reports say about a thread. Leaked: lives for the whole process.
pub struct ThreadInfo {
    /// 0 is the main thread.
    pub id: u64,
    pub name: Mutex<Option<String>>,
    /// Return addresses at the creation point, innermost first.
    pub created_at: Vec<usize>,
    pub running: AtomicBool,
    /// The thread's final clock, for joiners.
    pub end: Mutex<Option<SyncClock>>,
    /// The thread that created this one.
    pub parent: Option<&'static ThreadInfo>,
    /// Races found during the test this thread runs, not yet failed it.
    pub pending_test_races: AtomicU64,
    /// Threads this one started, directly or not, that have not finished.
    pub live_descendants: AtomicU64,
    /// The thread's stack, `[lo, hi)`, once it runs (0, 0 before).
    pub stack: Mutex<(usize, usize)>,
    /// The thread's thread pointer once it runs (0 before): its
    /// thread-local block lies just below (see `symbolize::thread_local`).
    pub thread_pointer: std::sync::atomic::AtomicUsize,
}

struct SlotInfo {
    history: &'static History,
    /// `Some(last epoch)` while the slot is free.
    free_after: Option<u64>,
    /// Which thread held the slot from which epoch on.
    occupants: Vec<(u64, &'static ThreadInfo)>,
}

struct Registry {
    slots: Vec<SlotInfo>,
    next_id: u64,
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry { slots: Vec::new(), next_id: 1 });

fn registry() -> std::sync::MutexGuard<'static, Registry> {
    REGISTRY.lock().unwrap_or_else(|e| e.into_inner())
}

fn by_pthread() -> std::sync::MutexGuard<'static, BTreeMap<libc::pthread_t, &'static ThreadInfo>> {
    static MAP: Mutex<BTreeMap<libc::pthread_t, &'static ThreadInfo>> = Mutex::new(BTreeMap::new());
    MAP.lock().unwrap_or_else(|e| e.into_inner())
}

/// Hold this module's locks across `fork` (see `rt::fork`).
pub fn lock_all(held: &mut Vec<Box<dyn std::any::Any>>) {
    held.push(Box::new(registry()));
    held.push(Box::new(by_pthread()));
}

fn new_info(id: Option<u64>, created_at: Vec<usize>, parent: Option<&'static ThreadInfo>) -> &'static ThreadInfo {
    let id = id.unwrap_or_else(|| {
        let mut r = registry();
        r.next_id += 1;
        r.next_id - 1
    });
    Box::leak(Box::new(ThreadInfo {
        id,
        name: Mutex::new(None),
        created_at,
        running: AtomicBool::new(true),
        end: Mutex::new(None),
        parent,
        pending_test_races: AtomicU64::new(0),
        live_descendants: AtomicU64::new(0),
        stack: Mutex::new((0, 0)),
        thread_pointer: std::sync::atomic::AtomicUsize::new(0),
    }))
}

/// Give the calling thread a slot and a state whose clock starts at `start`.
fn start_thread(start: &VClock, info: &'static ThreadInfo) -> *mut ThreadState {
    let mut r = registry();
    // A slot whose epochs are used up is retired (see `out_of_epochs`).
    let reusable = (0..r.slots.len()).find(|&i| {
        !used_up(r.slots[i].history) && r.slots[i].free_after.is_some_and(|last| last <= start.get(Slot::new(i)))
    });
    let index = match reusable {
        Some(i) => i,
        None if r.slots.len() < Slot::COUNT => {
            let log2 = runtime().options.history_log2();
            let history = History::starting_at(log2, runtime().epoch_base);
            r.slots.push(SlotInfo { history: Box::leak(Box::new(history)), free_after: None, occupants: vec![] });
            r.slots.len() - 1
        }
        // Out of slots: take any free one. This may order accesses that were
        // not ordered (a missed race), never the reverse.
        None => match r.slots.iter().position(|s| s.free_after.is_some() && !used_up(s.history)) {
            Some(i) => i,
            None => {
                drop(r);
                return unchecked_thread(info);
            }
        },
    };
    let slot = Slot::new(index);
    let s = &mut r.slots[index];
    s.free_after = None;
    let epoch = s.history.push(Event::ThreadStart(info.id), &[]);
    s.occupants.push((epoch, info));
    let history = s.history;
    drop(r);
    let mut clocks = ThreadClocks::new(slot);
    clocks.clock.join(start);
    let st = new_state(slot, history, clocks, info, false);
    *info.stack.lock().unwrap_or_else(|e| e.into_inner()) = (st.stack_lo, st.stack_hi);
    info.thread_pointer.store(sys::thread_pointer(), Release);
    Box::into_raw(st)
}

/// The calling thread's state, on its own stack; `dead`: from the start.
fn new_state(
    slot: Slot,
    history: &'static History,
    clocks: ThreadClocks,
    info: &'static ThreadInfo,
    dead: bool,
) -> Box<ThreadState> {
    let (stack_lo, stack_hi) = sys::stack_bounds();
    Box::new(ThreadState {
        slot,
        epoch_floor: racecheck_detector::shadow::epoch_floor(history.pos()),
        history,
        dead,
        // A dead state never records a frame.
        stack: if dead { FrameStack::new() } else { FrameStack::with_capacity(256) },
        logged: 0,
        clocks,
        info,
        name_captured: false,
        stack_lo,
        stack_hi,
        density: Default::default(),
        spills: Default::default(),
        syncs: Default::default(),
        scratch: Default::default(),
        stacks: Default::default(),
        key_slot: std::ptr::null(),
    })
}

/// Has the slot of `history` recorded more events than its accesses'
/// epochs may reach ([`Cell::EPOCH_LIMIT`])?
#[inline(always)]
pub fn used_up(history: &History) -> bool {
    history.pos() > Cell::EPOCH_LIMIT
}

/// The calling thread's slot has recorded [`Cell::EPOCH_LIMIT`] events: the
/// most its shadow cells can tell apart. Its accesses from now on are not
/// checked or recorded (so races with them can be missed; none is reported
/// falsely, as its synchronisation still counts), and no later thread is
/// given the slot. Said once on stderr.
#[cold]
#[inline(never)]
pub fn out_of_epochs(st: &ThreadState) {
    static WARNED: AtomicBool = AtomicBool::new(false);
    if !WARNED.swap(true, Relaxed) {
        let msg = format!(
            "racecheck: warning: thread {} has recorded {} events in its slot, as many as shadow cells can tell \
             apart; its later accesses are not checked (races with them can be missed, none is reported falsely)\n",
            st.info.id,
            Cell::EPOCH_LIMIT
        );
        sys::write_fd(2, msg.as_bytes());
    }
}

/// State for a thread started while all [`Slot::COUNT`] slots belong to
/// live threads: dead from the start, so nothing it does is checked or
/// recorded (it never takes a slot later with a clock that forgot its
/// creator). Said once on stderr.
#[cold]
fn unchecked_thread(info: &'static ThreadInfo) -> *mut ThreadState {
    static WARNED: AtomicBool = AtomicBool::new(false);
    static HISTORY: std::sync::OnceLock<&'static History> = std::sync::OnceLock::new();
    if !WARNED.swap(true, Relaxed) {
        let msg = format!(
            "racecheck: warning: more than {} threads alive at once; thread {} and any other started while \
             all are alive run unchecked (their accesses and synchronisation are not seen)\n",
            Slot::COUNT,
            info.id
        );
        sys::write_fd(2, msg.as_bytes());
    }
    let history = *HISTORY.get_or_init(|| Box::leak(Box::new(History::new(0))));
    Box::into_raw(new_state(Slot::FIRST, history, ThreadClocks::new(Slot::FIRST), info, true))
}

/// State for a thread we did not see being created: the main thread, or a
/// thread started by foreign code. Called with the thread marked busy.
pub fn register_unknown_thread() -> *mut ThreadState {
    // SAFETY: plain syscalls without arguments.
    let is_main = unsafe { libc::getpid() == libc::gettid() };
    let info = if is_main { new_info(Some(0), vec![], None) } else { new_info(None, vec![], None) };
    if is_main {
        *info.name.lock().unwrap_or_else(|e| e.into_inner()) = Some("main".into());
    }
    start_thread(&VClock::new(), info)
}

/// The threads that started `info`, nearest first.
fn ancestors(info: &'static ThreadInfo) -> impl Iterator<Item = &'static ThreadInfo> {
    std::iter::successors(info.parent, |t| t.parent)
}

/// The calling thread's start routine returned: publish its end.
fn finish_thread(st: &mut ThreadState) {
    let end = snapshot_release(st);
    *st.info.end.lock().unwrap_or_else(|e| e.into_inner()) = Some(end);
    st.info.running.store(false, Release);
    for ancestor in ancestors(st.info) {
        ancestor.live_descendants.fetch_sub(1, AcqRel);
    }
    let last = st.history.pos() - 1;
    registry().slots[st.slot.index()].free_after = Some(last);
    st.dead = true;
    st.publish_fast();
    // The state stays (the thread may still run code until it is gone, and
    // its thread-local slot points here), but what it holds goes: a program
    // that starts threads by the ten thousand keeps only this husk of each.
    st.clocks = ThreadClocks::new(st.slot);
    st.stack = FrameStack::new();
    st.logged = 0;
    st.scratch = SyncClock::default();
    st.stacks = Default::default();
}

/// Remember, once, the name std gave the calling thread (full length,
/// unlike the 15 bytes the kernel keeps). Never inside a signal handler:
/// std's handle for the thread may not exist yet (see `signal`).
pub fn capture_name_once(st: &mut ThreadState) {
    if st.name_captured || super::signal::in_handler() {
        return;
    }
    st.name_captured = true;
    if st.info.id == 0 {
        return;
    }
    let name = std::panic::catch_unwind(|| std::thread::current().name().map(str::to_owned)).ok().flatten();
    if let Some(n) = name {
        *st.info.name.lock().unwrap_or_else(|e| e.into_inner()) = Some(n);
    }
}

/// Which thread made the event `epoch` of `slot`.
pub fn occupant(slot: Slot, epoch: u64) -> Option<&'static ThreadInfo> {
    let r = registry();
    let s = r.slots.get(slot.index())?;
    s.occupants.iter().rev().find(|(start, _)| *start <= epoch).map(|(_, t)| *t)
}

/// The running thread whose stack holds `addr`.
pub fn stack_owner(addr: usize) -> Option<&'static ThreadInfo> {
    find_running(|t| {
        let (lo, hi) = *t.stack.lock().unwrap_or_else(|e| e.into_inner());
        (lo <= addr && addr < hi).then_some(t)
    })
}

/// The running thread whose thread-local storage holds `addr`, with the
/// variable there when the symbol table names it: `(thread, name, start, size)`.
pub fn tls_owner(addr: usize) -> Option<(&'static ThreadInfo, Option<String>, usize, usize)> {
    find_running(|t| {
        let tp = t.thread_pointer.load(Acquire);
        if tp == 0 {
            return None;
        }
        super::symbolize::thread_local(addr, tp).map(|(name, start, size)| (t, name, start, size))
    })
}

/// The first answer `f` gives for a thread that is running now.
fn find_running<R>(mut f: impl FnMut(&'static ThreadInfo) -> Option<R>) -> Option<R> {
    let r = registry();
    r.slots
        .iter()
        .filter_map(|s| s.occupants.last().map(|(_, t)| *t))
        .filter(|t| t.running.load(Acquire))
        .find_map(&mut f)
}

pub fn history(slot: Slot) -> Option<&'static History> {
    registry().slots.get(slot.index()).map(|s| s.history)
}

type StartRoutine = extern "C" fn(*mut c_void) -> *mut c_void;

struct Spawn {
    start: StartRoutine,
    arg: *mut c_void,
    clock: SyncClock,
    info: &'static ThreadInfo,
}

extern "C" {
    fn __real_pthread_create(
        thread: *mut libc::pthread_t,
        attr: *const libc::pthread_attr_t,
        start: StartRoutine,
        arg: *mut c_void,
    ) -> libc::c_int;
    fn __real_pthread_join(thread: libc::pthread_t, retval: *mut *mut c_void) -> libc::c_int;
}

/// # Safety
/// Same contract as `pthread_create`.
#[no_mangle]
pub unsafe extern "C" fn __wrap_pthread_create(
    thread: *mut libc::pthread_t,
    attr: *const libc::pthread_attr_t,
    start: StartRoutine,
    arg: *mut c_void,
) -> libc::c_int {
    let spawn = with_state(|st| {
        // A test thread that only calls annotated code through the threads
        // it spawns is named here, for the report of the test.
        capture_name_once(st);
        let mut pcs = [0usize; 24];
        let n = sys::walk_frames(&mut pcs, st.stack_lo, st.stack_hi);
        let info = new_info(None, pcs[..n].to_vec(), Some(st.info));
        let clock = snapshot_release(st);
        Box::into_raw(Box::new(Spawn { start, arg, clock, info }))
    });
    let Some(spawn) = spawn else {
        // SAFETY: forwarding the caller's arguments unchanged.
        return unsafe { __real_pthread_create(thread, attr, start, arg) };
    };
    // Read before the thread exists: once it runs, it owns and frees `spawn`.
    // SAFETY: `spawn` is ours until `__real_pthread_create` succeeds.
    let info = unsafe { (*spawn).info };
    // Counted before the thread exists, so its end can never come first.
    for ancestor in ancestors(info) {
        ancestor.live_descendants.fetch_add(1, AcqRel);
    }
    // SAFETY: forwarding the caller's arguments; `trampoline` takes ownership
    // of `spawn` in the new thread.
    let rc = unsafe { __real_pthread_create(thread, attr, trampoline, spawn.cast()) };
    while_busy(|| {
        if rc != 0 {
            for ancestor in ancestors(info) {
                ancestor.live_descendants.fetch_sub(1, AcqRel);
            }
            // SAFETY: the thread was not created, so `spawn` is still ours.
            drop(unsafe { Box::from_raw(spawn) });
        } else {
            // SAFETY: on success pthread_create wrote the new id to `thread`.
            let id = unsafe { *thread };
            by_pthread().insert(id, info);
        }
    });
    rc
}

extern "C" fn trampoline(p: *mut c_void) -> *mut c_void {
    // SAFETY: `p` is the `Box<Spawn>` leaked by `__wrap_pthread_create` for
    // this thread alone.
    let spawn: Box<Spawn> = unsafe { Box::from_raw(p.cast()) };
    let (start, arg) = (spawn.start, spawn.arg);
    while_busy(|| {
        // A stack handed down from an exited thread starts clean.
        let (lo, hi) = sys::stack_bounds();
        if hi > lo {
            shadow::clear(lo, hi - lo, |_, _| {});
        }
        set_state(start_thread(&spawn.clock.clock, spawn.info));
        drop(spawn);
    });
    // The thread's end is published by a thread-local destructor registered
    // now, before the start routine registers any: destructors run last
    // registered first, so this one runs after all the others. Until then
    // the thread is alive to the runtime, and what its other thread-local
    // destructors do is checked and synchronises (an `Arc` dropped there
    // releases to whoever frees it last).
    let at_exit = FINISH.try_with(|f| f.armed.set(true)).is_ok();
    let ret = start(arg);
    if !at_exit {
        with_state(finish_thread);
    }
    ret
}

/// Publishes the end of a thread the trampoline started, as its last
/// thread-local destructor.
struct Finish {
    armed: std::cell::Cell<bool>,
}

impl Drop for Finish {
    fn drop(&mut self) {
        if self.armed.get() {
            with_state(finish_thread);
        }
    }
}

thread_local! {
    static FINISH: Finish = const { Finish { armed: std::cell::Cell::new(false) } };
}

/// # Safety
/// Same contract as `pthread_join`.
#[no_mangle]
pub unsafe extern "C" fn __wrap_pthread_join(thread: libc::pthread_t, retval: *mut *mut c_void) -> libc::c_int {
    // SAFETY: forwarding the caller's arguments unchanged.
    let rc = unsafe { __real_pthread_join(thread, retval) };
    if rc == 0 {
        with_state(|st| {
            if let Some(info) = by_pthread().remove(&thread) {
                // A thread is joined once: its end clock is not needed again.
                if let Some(end) = info.end.lock().unwrap_or_else(|e| e.into_inner()).take() {
                    st.clocks.acquire(&end);
                }
            }
        });
    }
    rc
}
