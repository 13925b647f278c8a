//! The interface between code expanded by `#[race_check]` and the runtime.
//! Hidden and unstable: only the macro calls it.
//!
//! Without `--cfg racecheck` every hook is an empty inline function, so code
//! expanded by mistake outside the CLI still compiles and costs nothing.
//! Under the CLI, each hook runs an inline check and, when that cannot
//! decide, calls the runtime (crate `racecheck-rt`, which the CLI builds once
//! per toolchain and links into the program) through the `extern` symbols
//! declared here and defined there, both checked against `crate::abi`.

pub use crate::abi::{FnInfo, Site};

#[cfg(racecheck)]
mod runtime {
    use crate::abi::{self, FnInfo, KeySlot, Site, Span};

    extern "Rust" {
        pub fn __racecheck_enter(f: &'static FnInfo, caller_pc: usize, key: KeySlot) -> bool;
        pub fn __racecheck_exit(test_fn: bool) -> bool;
        pub fn __racecheck_access(addr: usize, size: usize, write: bool, site: &'static Site, key: KeySlot);
        pub fn __racecheck_test_end() -> bool;
    }

    extern "C" {
        /// The program's read-only span, published by the runtime at start-up.
        pub static __racecheck_ro_span: Span;
    }

    // The declarations agree with the signatures the runtime is checked
    // against.
    const _: abi::EnterFn = |f, pc, key| unsafe { __racecheck_enter(f, pc, key) };
    const _: abi::ExitFn = |t| unsafe { __racecheck_exit(t) };
    const _: abi::AccessFn = |a, s, w, site, key| unsafe { __racecheck_access(a, s, w, site, key) };
    const _: abi::TestEndFn = || unsafe { __racecheck_test_end() };

    // This thread's key for the inline check (`abi::KeySlot`): the runtime
    // learns its address from the calls below and keeps it current; until
    // then it is `abi::NO_KEY`, which nothing matches.
    //
    // In an optimised build, a `thread_local!`: LLVM knows it from the
    // memory the program writes and keeps it in a register through a loop.
    // Unoptimised (a debug build, how tests are built; the CLI then passes
    // `--cfg racecheck_unoptimized`) that access is several calls
    // on every checked access; there it is a thread-local of our own in
    // assembly instead, weak, so that two versions of this crate in one
    // program share it as they share the runtime.
    #[cfg(not(racecheck_unoptimized))]
    std::thread_local! {
        static KEY: std::cell::Cell<u64> = const { std::cell::Cell::new(abi::NO_KEY) };
    }

    #[cfg(not(racecheck_unoptimized))]
    #[inline(always)]
    pub fn key() -> u64 {
        KEY.with(|k| k.get())
    }

    #[cfg(not(racecheck_unoptimized))]
    #[inline(always)]
    pub fn key_slot() -> KeySlot {
        KEY.with(|k| k as KeySlot)
    }

    #[cfg(racecheck_unoptimized)]
    std::arch::global_asm!(
        ".pushsection .tdata.__racecheck_key,\"awT\",@progbits",
        ".p2align 3",
        ".weak __racecheck_key",
        ".hidden __racecheck_key",
        ".type __racecheck_key,@object",
        ".size __racecheck_key,8",
        "__racecheck_key:",
        ".quad -1",
        ".popsection",
    );

    /// The calling thread's key. The initial-exec model: the linker turns
    /// the GOT load into a constant in an executable, and a shared library
    /// built from checked code still links.
    #[cfg(racecheck_unoptimized)]
    #[inline(always)]
    pub fn key() -> u64 {
        let k: u64;
        // SAFETY: reads the calling thread's own initialised u64.
        unsafe {
            std::arch::asm!("mov {k}, qword ptr [rip + __racecheck_key@GOTTPOFF]", "mov {k}, qword ptr fs:[{k}]",
                k = out(reg) k, options(nostack, pure, readonly, preserves_flags))
        };
        k
    }

    #[cfg(racecheck_unoptimized)]
    #[inline(always)]
    pub fn key_slot() -> KeySlot {
        let s: usize;
        // SAFETY: computes the address of the calling thread's key.
        unsafe {
            std::arch::asm!("mov {s}, qword ptr [rip + __racecheck_key@GOTTPOFF]", "add {s}, qword ptr fs:0",
                s = out(reg) s, options(nostack, pure, readonly))
        };
        s as KeySlot
    }
}

/// Keeps a frame on the thread's shadow stack; pops it when dropped, also
/// during unwinding.
pub struct FrameGuard(#[allow(dead_code)] FrameKind);

/// What a [`FrameGuard`] holds.
#[derive(Copy, Clone, PartialEq, Eq)]
#[allow(dead_code)]
enum FrameKind {
    /// Nothing was pushed (no runtime, or re-entered from it).
    NotPushed,
    Plain,
    /// A `#[test]` function's own frame.
    Test,
}

/// Enter an annotated function. Must be called directly from that function
/// (the runtime reads the function's return address through frame pointers).
#[cfg_attr(racecheck, inline(never))]
#[cfg_attr(not(racecheck), inline(always))]
pub fn enter(f: &'static FnInfo) -> FrameGuard {
    #[cfg(racecheck)]
    return push_frame(f, FrameKind::Plain);
    #[cfg(not(racecheck))]
    {
        #[cfg(feature = "__record")]
        record::push(record::Event::Enter(f.name));
        let _ = f;
        FrameGuard(FrameKind::NotPushed)
    }
}

/// Enter an annotated `#[test]` function: as [`enter`], and when the test
/// returns, a race found during it fails it.
#[cfg_attr(racecheck, inline(never))]
#[cfg_attr(not(racecheck), inline(always))]
pub fn enter_test(f: &'static FnInfo) -> FrameGuard {
    #[cfg(racecheck)]
    return push_frame(f, FrameKind::Test);
    #[cfg(not(racecheck))]
    enter(f)
}

/// The body of [`enter`] and [`enter_test`], inlined into each: the return
/// address it reads through rbp is that of the function that called them.
#[cfg(racecheck)]
#[inline(always)]
fn push_frame(f: &'static FnInfo, kind: FrameKind) -> FrameGuard {
    // SAFETY: a call into the runtime with its declared signature.
    let pushed = unsafe { runtime::__racecheck_enter(f, crate::abi::grandcaller_pc(), runtime::key_slot()) };
    FrameGuard(if pushed { kind } else { FrameKind::NotPushed })
}

/// Fails the running test, when dropped at the end of an `async` test's
/// body, if a race was found during it (an async body has no frame).
pub struct TestEnd(());

/// The guard an annotated `#[tokio::test] async fn` (or any async test)
/// holds for its whole body.
#[inline(always)]
pub fn test_end() -> TestEnd {
    TestEnd(())
}

impl Drop for TestEnd {
    #[inline(always)]
    fn drop(&mut self) {
        // SAFETY: a call into the runtime with its declared signature.
        #[cfg(racecheck)]
        if unsafe { runtime::__racecheck_test_end() } && !std::thread::panicking() {
            fail_test();
        }
    }
}

impl Drop for FrameGuard {
    #[inline(always)]
    fn drop(&mut self) {
        #[cfg(all(feature = "__record", not(racecheck)))]
        record::push(record::Event::Exit);
        #[cfg(racecheck)]
        // SAFETY: a call into the runtime with its declared signature.
        if self.0 != FrameKind::NotPushed
            && unsafe { runtime::__racecheck_exit(self.0 == FrameKind::Test) }
            && !std::thread::panicking()
        {
            fail_test();
        }
    }
}

/// Fail the running test as `go test -race` does: the message goes to the
/// test's own (captured) output, then the test thread unwinds. No panic hook
/// runs, so no misleading location is printed.
#[cfg(racecheck)]
#[cold]
#[inline(never)]
fn fail_test() {
    eprintln!("race detected during execution of test");
    std::panic::resume_unwind(Box::new("race detected during execution of test"));
}

/// The hot path, inlined into annotated code: has this thread already made
/// this very access (same bytes, at least as strong) since its last release?
/// Then nothing can change and no other thread can learn anything new from
/// it (TSan's `ContainsSameAccess`). One TLS read, one table lookup, two
/// loads, and no atomic instruction: the TSan pass would instrument it.
#[cfg(racecheck)]
#[inline(always)]
fn seen_in_this_epoch(addr: usize, size: usize, write: bool) -> bool {
    use racecheck_detector::shadow as rules;
    if (addr & 7) + size > 8 || size == 0 {
        return false;
    }
    // One load from the thread's TLS block, independent of the shadow's.
    let key = runtime::key();
    if key == crate::abi::NO_KEY {
        // No live state known to the runtime, maybe no shadow table at all.
        return false;
    }
    let Some((a, b)) = crate::abi::peek(addr) else { return false };
    let (offset, size) = ((addr & 7) as u64, size as u64);
    rules::seen_in_epoch(a, key, offset, size, write) || rules::seen_in_epoch(b, key, offset, size, write)
}

#[inline(always)]
fn access(addr: usize, size: usize, write: bool, site: &'static Site) {
    #[cfg(racecheck)]
    if !seen_in_this_epoch(addr, size, write) {
        // SAFETY: a call into the runtime with its declared signature.
        unsafe { runtime::__racecheck_access(addr, size, write, site, runtime::key_slot()) };
    }
    #[cfg(all(feature = "__record", not(racecheck)))]
    record::push(record::Event::Access { addr, size, write, site });
    let _ = (addr, size, write, site);
}

/// A read of the place at `p`, which the caller then reads itself.
#[inline(always)]
pub fn read<T>(p: *const T, site: &'static Site) {
    access(p as usize, core::mem::size_of::<T>(), false, site);
}

/// A read of a static or const; `r` points at it.
#[inline(always)]
pub fn read_val<T: ?Sized>(r: &T, site: &'static Site) {
    let (addr, size) = (r as *const T as *const u8 as usize, core::mem::size_of_val(r));
    // A constant lives in the program's read-only data and can never race:
    // skipped before the shadow is looked at (a `static` with interior
    // mutability or a `static mut` lives in writable data and is checked).
    #[cfg(racecheck)]
    // SAFETY: a static of the runtime, never moved, written only through
    // its atomics.
    if unsafe { runtime::__racecheck_ro_span.holds(addr, size) } {
        return;
    }
    access(addr, size, false, site);
}

/// A read of the place at `p`, returned as a reference to read through.
#[inline(always)]
#[allow(clippy::mut_from_ref)]
pub fn read_place<'a, T: ?Sized>(p: *const T, site: &'static Site) -> &'a T {
    // SAFETY: the macro passes `&raw const P` for a place expression `P` that
    // the user's code reads right away, in the same expression; the place is
    // live and readable for that long (the user's own read requires it).
    let r = unsafe { &*p };
    access(p as *const u8 as usize, core::mem::size_of_val(r), false, site);
    r
}

/// A write of the place at `p`, returned as a reference to assign through.
#[inline(always)]
#[allow(clippy::mut_from_ref)]
pub fn write_place<'a, T>(p: *mut T, site: &'static Site) -> &'a mut T {
    access(p as usize, core::mem::size_of::<T>(), true, site);
    // SAFETY: the macro passes `&raw mut P` for the assignee `P` of an
    // assignment, which then assigns through the reference at once; the
    // user's assignment requires `P` to be a live, mutable place.
    unsafe { &mut *p }
}

/// A compound assignment (`P += v`): read and write of the place at `p`.
#[inline(always)]
pub fn update_place<'a, T>(p: *mut T, site: &'static Site) -> &'a mut T {
    write_place(p, site)
}

// ---- Pointer functions and methods, dispatched on the receiver's type ----
//
// `#[race_check]` cannot see types, so for a method call whose name a raw
// pointer or a `Cell` also has (`x.write(v)`, `c.get()`), it emits
// `(&Probe(&x)).note_write(SITE)` before the call. Autoref specialisation
// picks `PtrProbe` when `x` is a raw pointer, `NonNull`, `Cell` or
// `MaybeUninit`, and the do-nothing `ProbeFallback` for anything else
// (`RwLock::write`, `io::Write::write`, a slice's `get`).

/// A borrowed receiver whose type decides what a method call accesses.
pub struct Probe<'a, T: ?Sized>(pub &'a T);

/// Accesses made by pointer-like receivers.
pub trait PtrProbe {
    /// The method reads `count` elements at the receiver.
    fn note_read(&self, count: usize, site: &'static Site);
    /// The method writes `count` elements at the receiver.
    fn note_write(&self, count: usize, site: &'static Site);
}

/// Any other receiver: the method is not a memory access we check.
pub trait ProbeFallback {
    #[inline(always)]
    fn note_read(&self, _count: usize, _site: &'static Site) {}
    #[inline(always)]
    fn note_write(&self, _count: usize, _site: &'static Site) {}
}

impl<T: ?Sized> ProbeFallback for &Probe<'_, T> {}

macro_rules! ptr_probe {
    ($([$($g:tt)*] $ty:ty => |$p:ident| $addr:expr;)*) => {$(
        impl<$($g)*> PtrProbe for Probe<'_, $ty> {
            #[inline(always)]
            fn note_read(&self, count: usize, site: &'static Site) {
                let $p = self.0;
                access($addr as usize, core::mem::size_of::<T>().saturating_mul(count), false, site);
            }
            #[inline(always)]
            fn note_write(&self, count: usize, site: &'static Site) {
                let $p = self.0;
                access($addr as usize, core::mem::size_of::<T>().saturating_mul(count), true, site);
            }
        }
    )*};
}

ptr_probe! {
    [T] *const T => |p| *p;
    [T] *mut T => |p| *p;
    [T] core::ptr::NonNull<T> => |p| p.as_ptr();
    [T] core::cell::Cell<T> => |p| p.as_ptr();
    [T] core::mem::MaybeUninit<T> => |p| p.as_ptr();
    // Receivers that are references to those (`c: &Cell<T>`, `m: &mut MaybeUninit<T>`).
    ['b, T] &'b core::cell::Cell<T> => |p| p.as_ptr();
    ['b, T] &'b core::mem::MaybeUninit<T> => |p| p.as_ptr();
    ['b, T] &'b mut core::mem::MaybeUninit<T> => |p| p.as_ptr();
}

/// `ptr::read(p)` and friends: note a read of one `T` at `p`, return `p`.
#[inline(always)]
pub fn note_read<T>(p: *const T, site: &'static Site) -> *const T {
    access(p as usize, core::mem::size_of::<T>(), false, site);
    p
}

/// `ptr::write(p, v)` and friends: note a write of one `T` at `p`, return `p`.
#[inline(always)]
pub fn note_write<T>(p: *mut T, site: &'static Site) -> *mut T {
    access(p as usize, core::mem::size_of::<T>(), true, site);
    p
}

/// `ptr::copy(src, dst, n)`-like: a read of `n` elements and a write of `n`.
#[inline(always)]
pub fn note_copy<T>(src: *const T, dst: *mut T, n: usize, site: &'static Site) {
    let bytes = core::mem::size_of::<T>().saturating_mul(n);
    access(src as usize, bytes, false, site);
    access(dst as usize, bytes, true, site);
}

/// `ptr::write_bytes(dst, v, n)`, `ptr::swap_nonoverlapping(a, b, n)`: `n` elements written at `p`.
#[inline(always)]
pub fn note_write_n<T>(p: *const T, n: usize, site: &'static Site) {
    access(p as usize, core::mem::size_of::<T>().saturating_mul(n), true, site);
}

/// `mem::replace(r, v)`, `mem::take(r)`, `mem::swap(a, b)`: a write through `r`.
#[inline(always)]
pub fn note_write_ref<'a, T>(r: &'a mut T, site: &'static Site) -> &'a mut T {
    access(r as *mut T as usize, core::mem::size_of::<T>(), true, site);
    r
}

/// A recording hook for testing the macro (feature `__record`, ordinary
/// builds only): instead of checking, the hooks log every event of the
/// calling thread, so a test can assert exactly what an expansion does.
#[cfg(all(feature = "__record", not(racecheck)))]
pub mod record {
    use super::Site;
    use std::cell::RefCell;

    /// One hook call.
    #[derive(Clone, Copy)]
    pub enum Event {
        /// An annotated fn or closure was entered (its frame name).
        Enter(&'static str),
        /// The innermost frame was left.
        Exit,
        /// A checked access of `size` bytes at `addr`.
        Access { addr: usize, size: usize, write: bool, site: &'static Site },
    }

    thread_local! {
        static LOG: RefCell<Option<Vec<Event>>> = const { RefCell::new(None) };
    }

    pub(super) fn push(e: Event) {
        LOG.with(|l| {
            if let Some(v) = l.borrow_mut().as_mut() {
                v.push(e);
            }
        });
    }

    /// Run `f`, returning its result and the events of this thread during it.
    pub fn recording<R>(f: impl FnOnce() -> R) -> (R, Vec<Event>) {
        let outer = LOG.with(|l| l.borrow_mut().replace(Vec::new()));
        let r = f();
        let events = LOG.with(|l| std::mem::replace(&mut *l.borrow_mut(), outer)).unwrap_or_default();
        (r, events)
    }
}
