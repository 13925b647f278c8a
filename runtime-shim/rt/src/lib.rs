//! racecheck's runtime: connects a running program to the detector's rules.
//!
//! Built once per toolchain by the racecheck CLI (with `--cfg racecheck`,
//! optimised, never instrumented) and linked into every program it builds;
//! the crate users depend on (`racecheck`) stays small. Events arrive from
//! three sources, each in its own module:
//!
//! * [`hooks`]: the calls that code expanded by `#[race_check]` makes
//!   (frames and plain accesses), through the `extern` interface in `abi`;
//! * [`atomics`]: the `__tsan_atomic*` ABI that LLVM's ThreadSanitizer pass
//!   emits in every instrumented crate;
//! * [`memory`]: the rest of the `__tsan_*` ABI, which rustc's ThreadSanitizer
//!   instrumentation emits in deep mode: every load and store, the memory
//!   intrinsics, and function entry and exit;
//! * linker wraps (`--wrap`, added by the CLI): pthread creation and join
//!   ([`thread`]), the global allocator ([`alloc`]), std's precompiled slow
//!   paths ([`stdwrap`]), and libc's locks, condition variables and
//!   semaphores called directly ([`pthread_sync`]), file descriptors as
//!   synchronisation ([`fd_sync`]), `munmap` ([`mappings`]).
//!
//! Hot state lives in a per-thread [`ThreadState`] reached through one
//! const-initialised thread-local. Every hook first checks the thread's
//! `busy` flag: the runtime's own allocations, locks and std calls re-enter
//! the hooks, and must pass straight through (compare TSan's
//! `ScopedIgnoreInterceptors`).
#![cfg(racecheck)]

#[path = "../../src/abi.rs"]
pub mod abi;
pub mod hooks;

use std::cell::Cell as StdCell;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering::*};
use std::sync::OnceLock;

use racecheck_detector::history::{Event, Frame, History};
use racecheck_detector::options::{Options, Suppressions};
use racecheck_detector::shadow::{self as rules, AccessKind, Cell, Spill, CELLS};
use racecheck_detector::sync::{Effect, LoadOrd, RmwOrd, StoreOrd, SyncClock, ThreadClocks};
use racecheck_detector::{Epoch, Slot};

use crate::abi::{FnInfo, KeySlot, Site, NO_KEY};

pub mod alloc;
pub mod atomics;
pub mod fd_sync;
pub mod frames;
pub mod mappings;
pub mod memory;
pub mod pthread_sync;
mod report;
pub mod shadow;
pub mod signal;
mod stdwrap;
pub mod symbolize;
mod syncs;
pub mod sys;
pub mod thread;

use thread::ThreadInfo;

/// Settings fixed at start-up.
pub struct Runtime {
    pub options: Options,
    /// Where reports go.
    pub out_fd: i32,
    /// Where to leave the race count for the CLI (`__RACECHECK_REPORT_DIR`).
    pub report_dir: Option<String>,
    /// Races not to report (`suppressions=`).
    pub suppressions: Suppressions,
    /// A file that gets each race as a line of JSON (`__RACECHECK_JSON`),
    /// for the CLI's `--format`.
    pub json_fd: Option<i32>,
    /// Running a libtest harness under `racecheck test` (`__RACECHECK_TEST`):
    /// a race fails the test during which it was found.
    pub test_harness: bool,
    /// The epoch of each slot's first event (`__RACECHECK_EPOCH_BASE`, else
    /// 1): set high only by the tests of what happens as epochs run out.
    pub epoch_base: Epoch,
}

static RUNTIME: OnceLock<Runtime> = OnceLock::new();
/// Hooks do real work only once this is set.
static ENABLED: AtomicBool = AtomicBool::new(false);
/// 0: not started, 1: starting, 2: running, 3: failed.
static INIT: AtomicU8 = AtomicU8::new(0);

pub fn runtime() -> &'static Runtime {
    RUNTIME.get().expect("racecheck runtime used before init")
}

/// One thread's detector state. Hot fields first: the frame stack, which
/// deep mode's hand-written hooks use on every call, on the first line.
#[repr(C)]
pub struct ThreadState {
    pub stack: frames::FrameStack,
    /// How many frames of `stack`, from the outermost, have their entry in
    /// the history. Annotated frames are recorded when entered; deep mode's
    /// are recorded only once something is recorded inside them (see
    /// [`ThreadState::log`]), so a call that records nothing costs a push
    /// and a pop and leaves no trace.
    pub logged: usize,
    pub slot: Slot,
    /// Where the current sync epoch starts, as the smallest raw shadow cell
    /// in it (`shadow::epoch_floor` of the first epoch in it).
    pub epoch_floor: u64,
    pub history: &'static History,
    pub dead: bool,
    pub clocks: ThreadClocks,
    pub info: &'static ThreadInfo,
    pub name_captured: bool,
    pub stack_lo: usize,
    pub stack_hi: usize,
    /// Runs of first accesses, for prefaulted shadow (`shadow::note_fresh`).
    pub density: shadow::Density,
    /// Runs of writes moved to spill cells, likewise (`shadow::note_spill`).
    pub spills: shadow::Density,
    /// Synchronisation objects this thread used last.
    pub syncs: syncs::Cache,
    /// Room for a clock read without a lock (`syncs::read`).
    pub scratch: SyncClock,
    /// Allocation stacks this thread interned last.
    pub stacks: alloc::RecentStacks,
    /// The inline check's key in the hooks' crate, once a hook told us
    /// where it is (null before).
    pub key_slot: KeySlot,
}

impl ThreadState {
    /// Publish the thread's present in its own clock component.
    fn refresh(&mut self) {
        self.clocks.set_now(self.history.pos() - 1);
    }

    fn after(&mut self, e: Effect) {
        if e.released {
            self.epoch_floor = rules::epoch_floor(self.history.pos());
            self.publish_fast();
        }
    }

    /// Copy what the inline fast path needs into the thread's TLS block,
    /// as one word (it then reads no memory through the state pointer); a
    /// finished thread publishes a key nothing matches.
    pub fn publish_fast(&self) {
        let key = if self.dead { NO_KEY } else { rules::epoch_key(self.epoch_floor, self.slot) };
        // SAFETY: `key_slot` is null or the address of a thread-local of
        // this very thread (given by a hook it called), live as long as
        // the thread; only this thread reads or writes it.
        if let Some(slot) = unsafe { self.key_slot.as_ref() } {
            slot.set(key);
        }
    }

    /// Record `event`, after the entries of the frames it happens in that
    /// are not recorded yet. Returns its epoch.
    ///
    /// The same event again, with nothing recorded between (no frame
    /// entered or left, so the same stack) and no release since (so the
    /// same sync epoch), gets the epoch it had: a loop sweeping through
    /// memory records one event, not one per granule, and leaves the
    /// history's older events (other stacks a report may need) in place.
    /// The two accesses are indistinguishable to every other thread's
    /// clock, and a report restores the same stack for either.
    #[inline(always)]
    pub fn log(&mut self, event: Event) -> Epoch {
        self.log_frames();
        if let Some(e) = self.history.last_if(event, Cell::from_raw(self.epoch_floor).epoch()) {
            return e;
        }
        let e = self.history.push(event, &self.stack);
        memory::sweep::pushed(e);
        e
    }

    /// Record the entries of the frames not recorded yet.
    #[inline(always)]
    fn log_frames(&mut self) {
        if self.logged < self.stack.len() {
            self.log_frames_slow();
        }
    }

    #[inline(never)]
    fn log_frames_slow(&mut self) {
        // The frames deep mode's sweeps were made in are no longer the
        // stack's top (see `memory::sweep`).
        memory::sweep::cancel();
        for i in self.logged..self.stack.len() {
            self.history.push_call(self.stack[i].caller_pc, &self.stack[..i]);
        }
        self.logged = self.stack.len();
    }

    /// Learn where the hooks' crate keeps this thread's inline key.
    #[inline(always)]
    pub fn note_key_slot(&mut self, slot: KeySlot) {
        if self.key_slot.is_null() && !slot.is_null() {
            self.key_slot = slot;
            self.publish_fast();
        }
    }
}

/// The thread's runtime slot: its state, and whether the runtime is
/// running on it (hooks re-entered meanwhile do nothing).
#[repr(C)]
struct Tls {
    state: StdCell<*mut ThreadState>,
    busy: StdCell<bool>,
}

// The runtime's thread-locals, in the executable's static TLS block (the
// runtime is only ever linked into executables), read at a link-time
// offset from the thread pointer (the local-exec model): one instruction,
// where a `thread_local!` in an rlib costs a call or, found through an
// offset variable, a load and a test. `__racecheck_tls` is a [`Tls`],
// zeroed; `__racecheck_deep_key` is deep mode's copy of the thread's inline
// key (see `abi::KeySlot`; the compiler's hooks land in this crate, which
// keeps it itself), [`NO_KEY`] until the thread's first slow path.
std::arch::global_asm!(
    ".pushsection .tbss.__racecheck_tls,\"awT\",@nobits",
    ".p2align 4",
    ".globl __racecheck_tls",
    ".hidden __racecheck_tls",
    ".type __racecheck_tls,@object",
    ".size __racecheck_tls,16",
    "__racecheck_tls:",
    ".zero 16",
    ".popsection",
    ".pushsection .tdata.__racecheck_deep_key,\"awT\",@progbits",
    ".p2align 3",
    ".globl __racecheck_deep_key",
    ".hidden __racecheck_deep_key",
    ".type __racecheck_deep_key,@object",
    ".size __racecheck_deep_key,8",
    "__racecheck_deep_key:",
    ".quad -1",
    ".popsection",
    ".pushsection .tbss.__racecheck_sweep,\"awT\",@nobits",
    ".p2align 6",
    ".globl __racecheck_sweep",
    ".hidden __racecheck_sweep",
    ".type __racecheck_sweep,@object",
    ".size __racecheck_sweep,128",
    "__racecheck_sweep:",
    ".zero 128",
    ".popsection",
);
const _: () = assert!(std::mem::size_of::<Tls>() <= 16 && std::mem::align_of::<Tls>() <= 16);

/// The calling thread's copy of the thread-local `$sym` declared above:
/// its address, the thread pointer plus the symbol's link-time offset.
macro_rules! tls_address {
    ($sym:literal) => {{
        let a: usize;
        // SAFETY: computes an address only.
        unsafe {
            std::arch::asm!("mov {a}, qword ptr fs:0", concat!("lea {a}, [{a} + ", $sym, "@tpoff]"), a = out(reg) a,
                options(nostack, pure, readonly, preserves_flags))
        };
        a
    }};
}

/// The calling thread's `__racecheck_sweep`: deep mode's sweep shortcut.
#[inline(always)]
pub(crate) fn sweep_tls() -> &'static memory::sweep::Table {
    let t = tls_address!("__racecheck_sweep") as *const memory::sweep::Table;
    // SAFETY: this thread's zero-initialised `__racecheck_sweep`, a valid
    // `Table` (all zeros: no runs) for the thread's whole life; not `Sync`.
    unsafe { &*t }
}

/// The calling thread's [`Tls`].
#[inline(always)]
fn tls() -> &'static Tls {
    let t = tls_address!("__racecheck_tls") as *const Tls;
    // SAFETY: this thread's zero-initialised `__racecheck_tls`, a valid `Tls`
    // (null state, not busy) for the thread's whole life. The reference
    // cannot leave the thread: `Tls` is not `Sync`.
    unsafe { &*t }
}

/// Offset of the busy flag in [`Tls`], for deep mode's hand-written frame
/// hooks (`memory`), which read the state pointer at offset 0.
pub(crate) const TLS_BUSY: usize = std::mem::offset_of!(Tls, busy);
const _: () = assert!(std::mem::offset_of!(Tls, state) == 0 && std::mem::size_of::<StdCell<bool>>() == 1);

/// Is the calling thread inside the runtime already?
#[inline(always)]
pub fn busy() -> bool {
    tls().busy.get()
}

/// Run `f` with the calling thread's state, marked busy so that whatever `f`
/// triggers (allocation, locks) passes through the hooks. `None` when the
/// runtime is off, the thread is busy already, or the thread has finished.
#[inline(always)]
pub fn with_state<R>(f: impl FnOnce(&mut ThreadState) -> R) -> Option<R> {
    memory::sweep::cancel();
    with_state_keeping_sweeps(f)
}

/// [`with_state`] for an access's slow path, which leaves deep mode's
/// sweeps in place: what it records cancels them where it must
/// ([`ThreadState::log`]).
#[inline(always)]
fn with_state_keeping_sweeps<R>(f: impl FnOnce(&mut ThreadState) -> R) -> Option<R> {
    let t = tls();
    if t.busy.get() {
        return None;
    }
    let mut st = t.state.get();
    // A thread has state only once the runtime is running: test for
    // that only before its first event.
    if st.is_null() && !ENABLED.load(Relaxed) && !init() {
        return None;
    }
    t.busy.set(true);
    if st.is_null() {
        // Read again now that the thread is busy: a signal handler that ran
        // on this thread since the first read (inside `init`, or just after)
        // may have registered it, and a second registration would give the
        // thread a second slot whose accesses race with the first's.
        st = t.state.get();
    }
    if st.is_null() {
        st = thread::register_unknown_thread();
        set_state(st);
    }
    // SAFETY: `st` was leaked for this thread and is only used by it; the
    // busy flag keeps this the only live reference.
    let r = unsafe { st.as_mut() }.filter(|s| !s.dead).map(f);
    t.busy.set(false);
    r
}

/// Run `f` marked busy, without needing thread state.
pub fn while_busy<R>(f: impl FnOnce() -> R) -> Option<R> {
    memory::sweep::cancel();
    let t = tls();
    if t.busy.get() {
        return None;
    }
    t.busy.set(true);
    let r = f();
    t.busy.set(false);
    Some(r)
}

/// Install `st` as the calling thread's state.
pub fn set_state(st: *mut ThreadState) {
    memory::sweep::cancel();
    tls().state.set(st);
    // SAFETY: null or the calling thread's own state, just made.
    if let Some(s) = unsafe { st.as_ref() } {
        s.publish_fast();
    }
}

#[cold]
#[inline(never)]
fn init() -> bool {
    loop {
        match INIT.compare_exchange(0, 1, AcqRel, Acquire) {
            Ok(_) => break,
            Err(2) => return true,
            Err(3) => return false,
            Err(_) => {
                if busy() {
                    return false; // the initialising thread itself, re-entered
                }
                std::hint::spin_loop();
            }
        }
    }
    let ok = while_busy(init_inner).unwrap_or(false);
    INIT.store(if ok { 2 } else { 3 }, Release);
    ENABLED.store(ok, Release);
    ok
}

fn init_inner() -> bool {
    let text = std::env::var("RACECHECK_OPTIONS").unwrap_or_default();
    let fail = |message: String| -> ! {
        sys::write_fd(2, format!("racecheck: {message}\n").as_bytes());
        // SAFETY: terminating the process is always sound.
        unsafe { libc::_exit(2) }
    };
    let mut options = match Options::parse(&text) {
        Ok(o) => o,
        Err(e) => fail(e.to_string()),
    };
    // Under the CLI, paths are relative to the workspace root by default.
    if options.strip_path_prefix.is_none() {
        options.strip_path_prefix = std::env::var("__RACECHECK_STRIP_DEFAULT").ok();
    }
    let suppressions = match &options.suppressions {
        None => Suppressions::default(),
        Some(path) => match std::fs::read_to_string(path) {
            Err(e) => fail(format!("failed to read suppressions file {path}: {e}")),
            Ok(text) => Suppressions::parse(&text)
                .unwrap_or_else(|e| fail(format!("invalid suppressions file {path}: {e}"))),
        },
    };
    if !shadow::init(options.shadow_huge_pages) {
        let mut stack = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        // SAFETY: reads a limit into a valid `rlimit`.
        let unlimited = unsafe { libc::getrlimit(libc::RLIMIT_STACK, &mut stack) } == 0 && stack.rlim_cur == libc::RLIM_INFINITY;
        let strict = std::fs::read_to_string("/proc/sys/vm/overcommit_memory").is_ok_and(|m| m.trim() == "2");
        let why = if unlimited {
            "the stack size is unlimited, so Linux maps libraries there (`ulimit -s 8192`, or run it through \
             the racecheck CLI, which sets a finite limit)"
        } else if strict {
            "the kernel accounts every mapping (vm.overcommit_memory is 2; the shadow needs 0 or 1, as \
             ThreadSanitizer's does)"
        } else {
            "the range is in use or the kernel refused (`ulimit -v` must be unlimited)"
        };
        let msg = format!(
            "racecheck: cannot reserve the shadow memory at {:#x} (48 TiB of address space with the \
             spill cells, reserved only): {why}; race detection is off\n",
            shadow::SHADOW_ADDR
        );
        sys::write_fd(2, msg.as_bytes());
        return false;
    }
    let out_fd = match options.log_path.as_deref() {
        None | Some("stderr") => 2,
        Some("stdout") => 1,
        Some(prefix) => {
            let path = format!("{prefix}.{}\0", std::process::id());
            // SAFETY: `path` is NUL-terminated.
            let fd = unsafe {
                libc::open(path.as_ptr().cast(), libc::O_WRONLY | libc::O_CREAT | libc::O_APPEND | libc::O_CLOEXEC, 0o644)
            };
            if fd < 0 {
                sys::write_fd(2, format!("racecheck: failed to open log_path file {}\n", path.trim_end_matches('\0')).as_bytes());
                // SAFETY: terminating the process is always sound.
                unsafe { libc::_exit(2) };
            }
            fd
        }
    };
    let report_dir = std::env::var("__RACECHECK_REPORT_DIR").ok();
    let test_harness = std::env::var_os("__RACECHECK_TEST").is_some();
    let json_fd = std::env::var("__RACECHECK_JSON").ok().and_then(|p| {
        let path = format!("{p}\0");
        // SAFETY: `path` is NUL-terminated.
        let fd = unsafe {
            libc::open(path.as_ptr().cast(), libc::O_WRONLY | libc::O_CREAT | libc::O_APPEND | libc::O_CLOEXEC, 0o644)
        };
        (fd >= 0).then_some(fd)
    });
    let epoch_base = std::env::var("__RACECHECK_EPOCH_BASE").ok().and_then(|v| v.parse().ok()).unwrap_or(1);
    let _ = RUNTIME.set(Runtime { options, out_fd, report_dir, suppressions, json_fd, test_harness, epoch_base });
    for warning in stdwrap::self_test() {
        sys::write_fd(2, format!("racecheck: warning: {warning}\n").as_bytes());
    }
    // SAFETY: registering a plain extern "C" fn with atexit.
    unsafe { libc::atexit(report::at_exit) };
    symbolize::init_main_program();
    fork::install();
    true
}

// The entry points called from instrumented code are never inlined there:
// inlined, their own atomics would be instrumented by the TSan pass and call
// back into the runtime. They run in this crate, which is built without it.

/// Enter an annotated frame. Returns whether a frame was pushed.
#[inline(always)]
pub fn enter(f: &'static FnInfo, caller_pc: usize, key: KeySlot) -> bool {
    if !report::RAN_ANNOTATED.load(Relaxed) {
        report::RAN_ANNOTATED.store(true, Relaxed);
    }
    with_state(|st| {
        st.note_key_slot(key);
        let frame = Frame { func: f as *const FnInfo as u64, caller_pc: caller_pc as u64 };
        st.log_frames();
        st.history.push_enter(frame, &st.stack);
        st.stack.push(frame);
        st.logged = st.stack.len();
    })
    .is_some()
}

/// Leave an annotated frame. Returns true when the caller should fail the
/// running test by unwinding: a race found during it has not yet failed it
/// (only a test's own thread ever has such races pending), and either
/// `test_fn` (the frame is the `#[test]` function's own, so the test is
/// over), or the thread left its outermost annotated frame while no thread
/// it started still runs: such a thread may depend on this one (a consumer
/// unwound in the middle of a queue leaves its producer spinning forever).
#[inline(never)]
pub fn exit(test_fn: bool) -> bool {
    with_state(|st| {
        let top = st.stack.pop();
        // An empty frame (nothing recorded since its entry, nothing
        // published: the thread's clock does not reach the entry) is taken
        // back instead of recorded as left: spin loops keep no history.
        let published = st.clocks.clock.get(st.slot);
        let retracted = top.is_some_and(|f| published + 2 < st.history.pos() && st.history.retract_enter(f));
        if !retracted {
            if let Some(f) = top {
                st.stack.push(f);
            }
            st.history.push(Event::Exit, &st.stack);
            st.stack.pop();
        }
        st.logged = st.logged.min(st.stack.len());
        // Plain loads first: the swap is a locked instruction, and leaving
        // the outermost frame is common (every call from unannotated code).
        (test_fn || st.stack.is_empty())
            && st.info.pending_test_races.load(Relaxed) > 0
            && (test_fn || st.info.live_descendants.load(Acquire) == 0)
            && take_pending_races(st)
    })
    .unwrap_or(false)
}

/// Whether races found during this thread's test have not failed it yet;
/// they count as failed from now on.
fn take_pending_races(st: &ThreadState) -> bool {
    st.info.pending_test_races.swap(0, Relaxed) > 0
}

/// An async test's body completed (it has no frame): whether to fail the
/// test now, as a `#[test]` frame does when left. Its thread runs the test
/// (`block_on` polls the test's future on it).
pub fn test_end() -> bool {
    // A plain load first, as in `exit`: the swap is a locked instruction.
    with_state(|st| st.info.pending_test_races.load(Relaxed) > 0 && take_pending_races(st)).unwrap_or(false)
}

/// A plain access from annotated code, after the inline fast path
/// (`__rt::seen_in_this_epoch` in the hooks' crate) said it may be new.
#[inline(never)]
pub fn access(addr: usize, size: usize, write: bool, site: &'static Site, key: KeySlot) {
    if !report::RAN_ANNOTATED.load(Relaxed) {
        report::RAN_ANNOTATED.store(true, Relaxed);
    }
    if size == 0 {
        return;
    }
    if !write && symbolize::is_read_only(addr, size) {
        read_only_touch(addr, size);
        return;
    }
    let kind = if write { AccessKind::Write } else { AccessKind::Read };
    let site = site as *const Site as u64;
    let event = if write { Event::Write(site) } else { Event::Read(site) };
    with_state(|st| {
        st.note_key_slot(key);
        check_access(st, addr, size, kind, event)
    });
}

/// A plain access found by the compiler's instrumentation (deep mode), by
/// the instruction before `pc`.
#[inline(always)]
pub(crate) fn deep_access(addr: usize, size: usize, write: bool, pc: usize) {
    if size == 0 || seen_in_this_epoch(addr, size, write) {
        return;
    }
    deep_access_slow(addr, size, write, pc);
}

#[inline(always)]
fn deep_key() -> u64 {
    let key: u64;
    // SAFETY: the calling thread's own initialised thread-local, a u64.
    unsafe {
        std::arch::asm!("mov {key}, qword ptr fs:[__racecheck_deep_key@tpoff]", key = out(reg) key,
            options(nostack, readonly, preserves_flags))
    };
    key
}

/// The calling thread's `__racecheck_deep_key`, as the key slot the
/// runtime updates when the thread's epoch floor moves.
fn deep_key_slot() -> KeySlot {
    tls_address!("__racecheck_deep_key") as KeySlot
}

/// The same test as the inline check of `#[race_check]` code: has this
/// thread made this very access (or a wider one) since it last released?
/// One load for the key, two for the cells; no lock, no state.
#[inline(always)]
pub(crate) fn seen_in_this_epoch(addr: usize, size: usize, write: bool) -> bool {
    if (addr & 7) + size > 8 {
        return false;
    }
    let key = deep_key();
    if key == NO_KEY {
        return false;
    }
    let cells = abi::peek(addr);
    let (offset, size) = ((addr & 7) as u64, size as u64);
    cells.iter().any(|&c| rules::seen_in_epoch(c, key, offset, size, write))
}

#[inline(never)]
pub(crate) fn deep_access_slow(addr: usize, size: usize, write: bool, pc: usize) {
    if !write && symbolize::is_read_only(addr, size) {
        return;
    }
    let (kind, event) =
        if write { (AccessKind::Write, Event::PcWrite(pc as u64)) } else { (AccessKind::Read, Event::PcRead(pc as u64)) };
    with_state_keeping_sweeps(|st| {
        st.note_key_slot(deep_key_slot());
        check_access(st, addr, size, kind, event)
    });
}

/// A read of memory no one can write (a constant the macro could not tell
/// from a `static mut`, a string literal): it can never race, so nothing is
/// checked or recorded for the report. The thread still leaves a cell, its
/// own (two threads do not evict each other), in its current epoch, so the
/// inline fast path skips its next reads there until it synchronises.
#[inline(always)]
fn read_only_touch(addr: usize, size: usize) {
    if (addr & 7) + size > 8 {
        return;
    }
    let t = tls();
    let st = t.state.get();
    if st.is_null() || t.busy.get() {
        return;
    }
    // SAFETY: the calling thread's own state; plain reads of fields only
    // this thread writes.
    let (slot, pos) = unsafe { ((*st).slot, (*st).history.pos()) };
    if pos > Cell::EPOCH_LIMIT {
        return; // `thread::used_up`, on the position read already
    }
    if let Some(cells) = shadow::cells(addr) {
        let cell = Cell::new(slot, pos.max(1), (addr & 7) as u64, size as u64, AccessKind::Read);
        cells[slot.index() % CELLS].store(cell.raw(), Relaxed);
    }
}

/// Give `cur` the first cell of a granule seen empty, if it still is.
/// Threads often touch fresh memory at the same moment (a shared static on
/// first use): a compare-exchange makes the loser check against the winner
/// instead of overwriting it. False if the cell was taken meanwhile.
///
/// Except in a dense run (the thread sweeping through fresh memory: a
/// fill, a copy, a first pass), where the locked instruction was a quarter
/// of the slow path's time: there a plain store. Two threads would have to
/// reach one granule within the same few nanoseconds, both as part of
/// sweeps, for one of their cells to be lost.
///
/// `None` if the cell was taken meanwhile, else whether the run is dense.
#[inline(always)]
fn take_fresh(st: &mut ThreadState, cells: &[std::sync::atomic::AtomicU64; CELLS], addr: usize, cur: Cell) -> Option<bool> {
    let dense = shadow::in_dense_run(&st.density, addr);
    if dense {
        cells[0].store(cur.raw(), Relaxed);
    } else if cells[0].compare_exchange(0, cur.raw(), Relaxed, Relaxed).is_err() {
        return None;
    }
    shadow::note_fresh(&mut st.density, addr);
    Some(dense)
}

/// Check one access against shadow memory and record it.
#[inline(always)]
pub fn check_access(st: &mut ThreadState, addr: usize, size: usize, kind: AccessKind, event: Event) {
    if thread::used_up(st.history) {
        return thread::out_of_epochs(st);
    }
    let mut epoch = None;
    if (addr & 7) + size <= 8 {
        // The common case (every atomic, every aligned scalar): one granule.
        check_granule(st, addr & !7, (addr & 7) as u64, size as u64, kind, event, &mut epoch);
    } else {
        for (granule, offset, len) in rules::split(addr as u64, size as u64) {
            check_granule(st, granule as usize, offset, len, kind, event, &mut epoch);
        }
    }
    if epoch.is_some() && !st.name_captured {
        thread::capture_name_once(st);
    }
}

/// [`check_access`] for the part `[offset, offset + len)` of one granule.
/// `epoch`: the access's event, pushed to the history by the first part
/// that needs it.
#[inline(always)]
fn check_granule(
    st: &mut ThreadState,
    granule: usize,
    offset: u64,
    len: u64,
    kind: AccessKind,
    event: Event,
    epoch: &mut Option<u64>,
) {
    let Some(cells) = shadow::cells(granule) else { return };
    let load = || -> [Cell; CELLS] { std::array::from_fn(|i| Cell::from_raw(cells[i].load(Relaxed))) };
    let mut snapshot = load();
    // The access with a placeholder epoch; the raw same-access test ignores it.
    let probe = Cell::new(st.slot, 1, offset, len, kind);
    // Memory no one has touched (since it was allocated): nothing to check.
    let fresh = snapshot.iter().all(|c| c.is_empty());
    if !fresh && snapshot.iter().any(|&c| rules::is_same_access_raw(c.raw(), probe, st.epoch_floor)) {
        return;
    }
    // One call site for `log`, written out: it is inlined only once so.
    let e = match *epoch {
        Some(e) => e,
        None => {
            let e = st.log(event);
            *epoch = Some(e);
            e
        }
    };
    let cur = probe.at_epoch(e);
    if fresh {
        // The access takes the first cell if it is still empty; else it is
        // checked against what came in (another thread's access).
        match take_fresh(st, cells, granule, cur) {
            Some(true) => return memory::sweep::offer(st, event, granule, cur, Cell::EMPTY, 0),
            Some(false) => return,
            None => snapshot = load(),
        }
    }
    let clocks = &st.clocks;
    if let Some((at, clear)) = rules::quick_store(&snapshot, cur, |c| clocks.happens_before(c.slot(), c.epoch())) {
        cells[at].store(cur.raw(), Relaxed);
        if clear != 0 {
            for (i, cell) in cells.iter().enumerate() {
                if clear >> i & 1 == 1 {
                    cell.store(0, Relaxed);
                }
            }
        } else if snapshot[1].is_empty() {
            memory::sweep::offer(st, event, granule, cur, snapshot[0], at);
        }
        return;
    }
    check_granule_fully(st, cells, granule, snapshot, cur, event);
}

/// The rest of [`check_granule`], out of line: the inline part keeps to
/// what most first accesses need (a fresh granule, or one that holds only
/// the thread's own or ordered accesses), with fewer registers to save.
#[inline(never)]
fn check_granule_fully(
    st: &mut ThreadState,
    cells: &[std::sync::atomic::AtomicU64; CELLS],
    granule: usize,
    snapshot: [Cell; CELLS],
    cur: Cell,
    event: Event,
) {
    let e = cur.epoch();
    let clocks = &st.clocks;
    // A write evicted to the spill cell, read if a cell says so.
    let spill = shadow::spill(granule);
    let flagged = snapshot.iter().any(|c| c.flags_spill());
    let spilled = if flagged { Cell::from_raw(spill.load(Relaxed)) } else { Cell::EMPTY };
    let v = rules::check(&snapshot, spilled, cur, |c| clocks.happens_before(c.slot(), c.epoch()), e as usize);
    match v.spill {
        Spill::Keep => {}
        Spill::Clear => spill.store(0, Relaxed),
        // Before the cell that flags it (a reader who sees the flag and
        // misses the write only misses a race).
        Spill::Put(evicted) => {
            shadow::note_spill(&mut st.spills, granule);
            spill.store(evicted.raw(), Relaxed)
        }
    }
    if let Some(at) = v.store_at {
        cells[at].store(v.stored(cur, spilled), Release);
    }
    for (i, cell) in cells.iter().enumerate() {
        if v.clear >> i & 1 == 1 {
            cell.store(0, Relaxed);
        }
    }
    if let Some(prev) = v.race {
        let (offset, len) = cur.offset_and_size();
        report::race(st, granule + offset as usize, len as usize, cur.kind(), event, prev);
    }
}

pub use syncs::remove as forget_sync;


/// `fork` copies only the calling thread: a runtime lock another thread
/// held at that moment would stay locked in the child forever. So the
/// forking thread takes every runtime lock before `fork` (in the order the
/// runtime nests them) and releases them after it, in parent and child
/// alike, as ThreadSanitizer's fork interceptor does. It is marked busy
/// meanwhile, so its own allocations pass through the hooks.
mod fork {
    use std::any::Any;
    use std::cell::RefCell;

    thread_local! {
        static HELD: RefCell<Option<Vec<Box<dyn Any>>>> = const { RefCell::new(None) };
    }

    extern "C" fn prepare() {
        let t = super::tls();
        if t.busy.get() {
            return;
        }
        t.busy.set(true);
        let mut held: Vec<Box<dyn Any>> = Vec::with_capacity(256);
        super::report::lock_all(&mut held);
        super::symbolize::lock_all(&mut held);
        super::thread::lock_all(&mut held);
        super::alloc::lock_all(&mut held);
        super::syncs::lock_all(&mut held);
        HELD.with(|h| *h.borrow_mut() = Some(held));
    }

    extern "C" fn after() {
        if let Some(held) = HELD.with(|h| h.borrow_mut().take()) {
            drop(held);
            super::tls().busy.set(false);
        }
    }

    pub fn install() {
        // SAFETY: registering plain extern "C" fns, which only touch this
        // thread's TLS and the runtime's own locks.
        unsafe { libc::pthread_atfork(Some(prepare), Some(after), Some(after)) };
    }
}

/// A full acquire of the object at `addr` (lock acquired, thread joined).
pub fn acquire(st: &mut ThreadState, addr: usize) {
    if let Some(s) = syncs::find(&mut st.syncs, addr, false).var() {
        s.with_clock(&mut st.scratch, |c| st.clocks.acquire(c));
    }
}

/// A full release into the object at `addr` (unlock).
pub fn release(st: &mut ThreadState, addr: usize) {
    st.refresh();
    let mut found = syncs::find(&mut st.syncs, addr, true);
    let s = found.var().expect("created");
    let e = s.with_clock(&mut st.scratch, |c| st.clocks.release(c));
    st.after(e);
}

/// What an atomic operation does to synchronisation.
#[derive(Copy, Clone, Debug)]
pub enum AtomicOp {
    Load(LoadOrd),
    Store(StoreOrd),
    Rmw(RmwOrd),
    /// A compare-exchange: `(success, failure)` orderings.
    Cas(RmwOrd, LoadOrd),
}

/// Perform an atomic operation with its happens-before effects. `real` does
/// the operation and says, for a CAS, whether it succeeded; it runs under the
/// object's lock so the value read and the clock acquired belong together.
///
/// `real` runs exactly once, except for a load, which may repeat it (see
/// `syncs::read`).
#[inline(always)]
pub fn atomic<T>(addr: usize, size: usize, op: AtomicOp, pc: usize, mut real: impl FnMut() -> (T, bool)) -> T {
    let out = with_state(|st| {
        let check = |st: &mut ThreadState, writes: bool| {
            let kind = if writes { AccessKind::AtomicWrite } else { AccessKind::AtomicRead };
            let event = if writes { Event::AtomicWrite(pc as u64) } else { Event::AtomicRead(pc as u64) };
            check_access(st, addr, size, kind, event);
        };
        // A compare-exchange is checked once its outcome is known (below):
        // one that fails only reads (Miri's `failing_rmw_is_read`).
        if !matches!(op, AtomicOp::Cas(..)) {
            check(st, !matches!(op, AtomicOp::Load(_)));
        }
        if let AtomicOp::Load(ord @ (LoadOrd::Relaxed | LoadOrd::Acquire)) = op {
            match syncs::read(&st.syncs, addr, &mut st.scratch, &mut real) {
                // The thread's clock covers the object's: a load, of either
                // ordering, adds nothing (common on a thread's own counter,
                // and on a spin over a value that has not changed).
                Some(syncs::Read::Covered((value, _))) => return value,
                Some(syncs::Read::Clock((value, _), seq)) => {
                    st.clocks.atomic_load(&st.scratch, ord);
                    if ord == LoadOrd::Acquire {
                        st.syncs.covered(addr, seq);
                    }
                    return value;
                }
                None => {}
            }
        }
        // A load needs an object only if one exists (holding `Absent`, none
        // can appear before the load is done); everything else creates it.
        let create = !matches!(op, AtomicOp::Load(_));
        let mut found = syncs::find(&mut st.syncs, addr, create);
        let (value, ok) = real();
        match (op, found.var()) {
            (AtomicOp::Load(ord), Some(s)) => {
                s.with_clock(&mut st.scratch, |c| st.clocks.atomic_load(c, ord));
                if ord != LoadOrd::Relaxed {
                    st.syncs.covered(addr, s.state_after());
                }
            }
            (AtomicOp::Store(ord @ (StoreOrd::Relaxed | StoreOrd::Release)), Some(s)) => {
                // The common store: write the new clock straight in. It is
                // part of the thread's own clock, so covered by it. Only a
                // release publishes the present: a relaxed store publishes
                // the clock of the last release fence, so it leaves the
                // thread's epoch as it is (and an annotated frame around
                // it can still be taken back, see `exit`).
                if ord == StoreOrd::Release {
                    st.refresh();
                }
                let (clock, e) = st.clocks.stored_clock(ord);
                s.assign(clock);
                st.syncs.covered(addr, s.state_after());
                st.after(e);
            }
            (AtomicOp::Store(ord), Some(s)) => {
                st.refresh();
                let e = s.with_clock(&mut st.scratch, |c| st.clocks.atomic_store(c, ord));
                st.after(e);
            }
            (AtomicOp::Rmw(ord), Some(s)) | (AtomicOp::Cas(ord, _), Some(s)) if ok => {
                if matches!(op, AtomicOp::Cas(..)) {
                    // Before the release below: what it publishes must
                    // include this write.
                    check(st, true);
                }
                if ord.releases() {
                    st.refresh();
                }
                let e = s.with_clock(&mut st.scratch, |c| st.clocks.atomic_rmw(c, ord));
                st.after(e);
            }
            (AtomicOp::Cas(_, failure), Some(s)) => {
                check(st, false);
                s.with_clock(&mut st.scratch, |c| st.clocks.atomic_load(c, failure));
            }
            (AtomicOp::Cas(..), None) => check(st, ok),
            _ => {}
        }
        value
    });
    match out {
        Some(v) => v,
        None => real().0,
    }
}

pub fn fence(ord: racecheck_detector::sync::FenceOrd) {
    with_state(|st| {
        st.refresh();
        let e = st.clocks.fence(ord);
        st.after(e);
    });
}

/// The thread's clock released into a fresh object (thread start, join).
pub fn snapshot_release(st: &mut ThreadState) -> SyncClock {
    st.refresh();
    let mut s = SyncClock::default();
    let e = st.clocks.release(&mut s);
    st.after(e);
    s
}
