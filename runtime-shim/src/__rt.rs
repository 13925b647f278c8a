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
/// it (TSan's `ContainsSameAccess`). One TLS read, the cells' address by
/// arithmetic, two loads, and no atomic instruction: the TSan pass would instrument it.
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
        // No live state known to the runtime, maybe no shadow at all.
        return false;
    }
    let (offset, size) = ((addr & 7) as u64, size as u64);
    // A plain loop: in an unoptimised build, iterators and closures are
    // calls each.
    let mut i = 0;
    while i < crate::abi::CELLS {
        if rules::seen_in_epoch(crate::abi::peek_cell(addr, i), key, offset, size, write) {
            return true;
        }
        i += 1;
    }
    false
}

#[inline(always)]
fn access(addr: usize, size: usize, write: bool, site: &'static Site) {
    if size == 0 {
        // A zero-sized value (or an empty slice) occupies no memory.
        return;
    }
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
// `racecheck::__rt::Probe(&x).note_write(SITE)` before the call. Method
// lookup picks an inherent method of `Probe<X>` when `X` is a raw pointer,
// `NonNull`, `Cell` (also behind `&`, `Arc`, `Rc` or `Box`) or
// `MaybeUninit`, and otherwise derefs to [`ProbeOther`], whose methods do
// nothing (`RwLock::write`, `io::Write::write`, a slice's `get`). Inherent
// methods need no trait in scope, so the expansion imports nothing: a
// `use` path would resolve from the crate root in edition 2015.

/// A borrowed receiver whose type decides what a method call accesses.
pub struct Probe<'a, T: ?Sized>(pub &'a T);

/// Any other receiver: the method is not a memory access we check.
pub struct ProbeOther;

impl ProbeOther {
    #[inline(always)]
    pub fn note_read(&self, _count: usize, _site: &'static Site) {}
    #[inline(always)]
    pub fn note_write(&self, _count: usize, _site: &'static Site) {}
}

impl<T: ?Sized> core::ops::Deref for Probe<'_, T> {
    type Target = ProbeOther;
    #[inline(always)]
    fn deref(&self) -> &ProbeOther {
        &ProbeOther
    }
}

macro_rules! ptr_probe {
    ($([$($g:tt)*] $ty:ty => |$p:ident| $addr:expr;)*) => {$(
        impl<$($g)*> Probe<'_, $ty> {
            /// The method reads `count` elements at the receiver.
            #[inline(always)]
            pub fn note_read(&self, count: usize, site: &'static Site) {
                let $p = self.0;
                access($addr as usize, core::mem::size_of::<T>().saturating_mul(count), false, site);
            }
            /// The method writes `count` elements at the receiver.
            #[inline(always)]
            pub fn note_write(&self, count: usize, site: &'static Site) {
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
    ['b, T] &'b mut core::cell::Cell<T> => |p| p.as_ptr();
    ['b, 'c, T] &'b &'c core::cell::Cell<T> => |p| p.as_ptr();
    ['b, T] &'b core::mem::MaybeUninit<T> => |p| p.as_ptr();
    ['b, T] &'b mut core::mem::MaybeUninit<T> => |p| p.as_ptr();
    // A `Cell` shared through a smart pointer (`counter.set(..)` on an `Arc<Cell<_>>`).
    [T] std::sync::Arc<core::cell::Cell<T>> => |p| p.as_ptr();
    [T] std::rc::Rc<core::cell::Cell<T>> => |p| p.as_ptr();
    [T] Box<core::cell::Cell<T>> => |p| p.as_ptr();
    ['b, T] &'b std::sync::Arc<core::cell::Cell<T>> => |p| p.as_ptr();
    ['b, T] &'b std::rc::Rc<core::cell::Cell<T>> => |p| p.as_ptr();
}

// ---- Method receivers of std's collections and `Option` ----
//
// For `P.m(args)` where `P` is a checked place and `m` is a method name in
// the table below, the expansion emits
// `racecheck::__rt::Recv(&raw const P).m(SITE)` before the call. `Recv<X>`
// has the inherent method `m` when `X` is one of std's types with that
// method, noting what the method does to `P`; for any other type (a user's
// own `push(&self)` on a lock-free queue, say) method lookup derefs to
// [`RecvOther`], where every name of the table does nothing.
//
// What each method is checked as:
//
// * `&mut self` methods of the type itself (`Vec::push`, `Option::take`,
//   `HashMap::insert`): a write of the receiver. Creating the `&mut`
//   asserts exclusive access, so this never reports correct code.
// * `&self` methods (`len`, `get`, `contains_key`, `iter`) and the
//   methods that hand out references into the elements (`get_mut`,
//   `iter_mut`, `as_mut_ptr`): a read of the receiver. Threads commonly
//   write disjoint elements through such references; each of those writes
//   is checked where it happens, when it is a checked place.
// * Slice methods that rewrite the whole slice (`sort*`, `fill`,
//   `copy_from_slice`, `reverse`, `rotate_*`), on a slice, an array or a
//   `Vec`: a write of every element (and a read of the `Vec`).
//
// A collection is checked as its first word, never its whole header: its
// fields are private, so every checked access to it covers that word, and
// an 8-byte access stays on the inline check's fast path. An `Option` is
// checked whole (its payload is the user's). `Option`'s `&self` methods are
// not checked: the payload may hold a lock or an atomic (`Option<Mutex<T>>`),
// which other threads may write while this one reads.

/// A method call's receiver place, by address.
pub struct Recv<T: ?Sized>(pub *const T);

/// Any other receiver: the call is not checked as an access of it.
pub struct RecvOther;

impl<T: ?Sized> core::ops::Deref for Recv<T> {
    type Target = RecvOther;
    #[inline(always)]
    fn deref(&self) -> &RecvOther {
        &RecvOther
    }
}

/// The first word of a collection at `p` (all of it, if smaller).
#[inline(always)]
fn header<T>(p: *const T, write: bool, site: &'static Site) {
    access(p as usize, core::mem::size_of::<T>().min(8), write, site);
}

macro_rules! receivers {
    (
        all: [$($all:ident)*];
        $([$($g:tt)*] $ty:ty {
            write: [$($w:ident)*],
            read: [$($r:ident)*],
            whole: [$($o:ident)*],
            elements: [$($e:ident)*] => |$p:ident, $s:ident| $elems:expr,
        })*
    ) => {
        /// Every method name the expansion may call on a [`Recv`].
        pub const RECEIVER_METHODS: &[&str] = &[$(stringify!($all)),*];

        impl RecvOther {
            $(
                #[inline(always)]
                pub fn $all(&self, _site: &'static Site) {}
            )*
        }

        $(
            impl<$($g)*> Recv<$ty> {
                $(
                    #[inline(always)]
                    pub fn $w(&self, site: &'static Site) {
                        header(self.0, true, site);
                    }
                )*
                $(
                    #[inline(always)]
                    pub fn $r(&self, site: &'static Site) {
                        header(self.0, false, site);
                    }
                )*
                $(
                    #[inline(always)]
                    pub fn $o(&self, site: &'static Site) {
                        access(self.0 as usize, core::mem::size_of::<$ty>(), true, site);
                    }
                )*
                $(
                    #[inline(always)]
                    pub fn $e(&self, site: &'static Site) {
                        let ($p, $s) = (self.0, site);
                        let (start, bytes) = $elems;
                        access(start as usize, bytes, true, site);
                    }
                )*
            }
        )*
    };
}

/// Bytes of a slice or an array at `p`.
#[inline(always)]
fn slice_bytes<S: ?Sized + SliceLike>(p: *const S) -> usize {
    S::bytes(p)
}

/// Slices and arrays, sized by their pointer's metadata.
trait SliceLike {
    fn bytes(p: *const Self) -> usize;
}

impl<T> SliceLike for [T] {
    #[inline(always)]
    fn bytes(p: *const Self) -> usize {
        p.len().saturating_mul(core::mem::size_of::<T>())
    }
}

impl<T, const N: usize> SliceLike for [T; N] {
    #[inline(always)]
    fn bytes(_: *const Self) -> usize {
        core::mem::size_of::<[T; N]>()
    }
}

/// The elements of the `Vec` at `p`, read through it first (the `Vec` is
/// live: the user's call is about to use it).
#[inline(always)]
fn vec_elements<T>(p: *const Vec<T>, site: &'static Site) -> (*const T, usize) {
    header(p, false, site);
    // SAFETY: `p` is the address of the user's receiver place, which the
    // call right after this reads as a `Vec`.
    let v = unsafe { &*p };
    (v.as_ptr(), v.len().saturating_mul(core::mem::size_of::<T>()))
}

receivers! {
    all: [
        push pop insert remove swap_remove clear truncate resize resize_with reserve reserve_exact
        shrink_to_fit shrink_to append extend extend_from_slice extend_from_within drain retain
        retain_mut dedup dedup_by dedup_by_key split_off set_len splice
        len is_empty capacity as_slice as_ptr get first last iter contains to_vec starts_with ends_with
        binary_search get_mut iter_mut first_mut last_mut as_mut_ptr as_mut_slice split_at_mut
        chunks_mut windows chunks split_first split_last clone
        sort sort_unstable sort_by sort_by_key sort_unstable_by sort_unstable_by_key sort_by_cached_key
        fill fill_with copy_from_slice clone_from_slice reverse rotate_left rotate_right
        push_str insert_str as_str as_bytes chars bytes char_indices find lines trim
        push_back push_front pop_back pop_front make_contiguous swap_remove_back swap_remove_front
        front back as_slices front_mut back_mut range range_mut
        remove_entry entry get_key_value contains_key keys values values_mut
        take replace pop_first pop_last first_entry last_entry first_key_value last_key_value
        peek peek_mut get_or_insert get_or_insert_with take_if
    ];
    [T] Vec<T> {
        write: [push pop insert remove swap_remove clear truncate resize resize_with reserve reserve_exact
            shrink_to_fit shrink_to append extend extend_from_slice extend_from_within drain retain
            retain_mut dedup dedup_by dedup_by_key split_off set_len splice],
        read: [len is_empty capacity as_slice as_ptr get first last iter contains to_vec starts_with
            ends_with binary_search get_mut iter_mut first_mut last_mut as_mut_ptr as_mut_slice
            split_at_mut chunks_mut windows chunks split_first split_last clone],
        whole: [],
        elements: [sort sort_unstable sort_by sort_by_key sort_unstable_by sort_unstable_by_key
            sort_by_cached_key fill fill_with copy_from_slice clone_from_slice reverse rotate_left
            rotate_right] => |p, site| vec_elements(p, site),
    }
    [T] [T] {
        write: [], read: [], whole: [],
        elements: [sort sort_unstable sort_by sort_by_key sort_unstable_by sort_unstable_by_key
            sort_by_cached_key fill fill_with copy_from_slice clone_from_slice reverse rotate_left
            rotate_right] => |p, _site| (p as *const u8, slice_bytes(p)),
    }
    [T, const N: usize] [T; N] {
        write: [], read: [], whole: [],
        elements: [sort sort_unstable sort_by sort_by_key sort_unstable_by sort_unstable_by_key
            sort_by_cached_key fill fill_with copy_from_slice clone_from_slice reverse rotate_left
            rotate_right] => |p, _site| (p as *const u8, slice_bytes(p)),
    }
    [] String {
        write: [push push_str pop insert insert_str remove clear truncate reserve reserve_exact
            shrink_to_fit shrink_to extend drain retain split_off],
        read: [len is_empty capacity as_str as_bytes as_ptr chars bytes char_indices contains
            starts_with ends_with find lines trim get clone],
        whole: [], elements: [] => |p, _site| (p, 0),
    }
    [T] std::collections::VecDeque<T> {
        write: [push_back push_front pop_back pop_front insert remove clear truncate resize resize_with
            reserve reserve_exact shrink_to_fit shrink_to append extend drain retain retain_mut
            make_contiguous rotate_left rotate_right swap_remove_back swap_remove_front split_off],
        read: [len is_empty capacity front back get iter contains as_slices get_mut iter_mut front_mut
            back_mut range range_mut binary_search clone],
        whole: [], elements: [] => |p, _site| (p, 0),
    }
    [K, V, S] std::collections::HashMap<K, V, S> {
        write: [insert remove remove_entry entry clear retain drain extend reserve shrink_to_fit shrink_to],
        read: [len is_empty capacity get get_key_value contains_key iter keys values get_mut iter_mut
            values_mut clone],
        whole: [], elements: [] => |p, _site| (p, 0),
    }
    [T, S] std::collections::HashSet<T, S> {
        write: [insert remove take replace clear retain drain extend reserve shrink_to_fit shrink_to],
        read: [len is_empty capacity get contains iter clone],
        whole: [], elements: [] => |p, _site| (p, 0),
    }
    [K, V] std::collections::BTreeMap<K, V> {
        write: [insert remove remove_entry entry clear retain append split_off extend pop_first pop_last
            first_entry last_entry],
        read: [len is_empty get get_key_value contains_key iter keys values get_mut iter_mut values_mut
            range range_mut first_key_value last_key_value clone],
        whole: [], elements: [] => |p, _site| (p, 0),
    }
    [T] std::collections::BTreeSet<T> {
        write: [insert remove take replace clear retain append split_off extend pop_first pop_last],
        read: [len is_empty get contains iter range first last clone],
        whole: [], elements: [] => |p, _site| (p, 0),
    }
    [T] std::collections::BinaryHeap<T> {
        write: [push pop clear drain append extend retain reserve shrink_to_fit],
        read: [len is_empty capacity peek peek_mut iter as_slice clone],
        whole: [], elements: [] => |p, _site| (p, 0),
    }
    [T] std::collections::LinkedList<T> {
        write: [push_back push_front pop_back pop_front clear append split_off extend],
        read: [len is_empty front back iter contains front_mut back_mut iter_mut clone],
        whole: [], elements: [] => |p, _site| (p, 0),
    }
    [T] Option<T> {
        write: [], read: [],
        whole: [take replace insert get_or_insert get_or_insert_with take_if],
        elements: [] => |p, _site| (p, 0),
    }
}

/// `R.f…` where `R` is a call's result (`self.inner().hits`): `note` checks
/// the place through a shared reference to the result, which is then
/// passed on as it was (see the macro's `call_field`).
#[inline(always)]
pub fn then_ref<T>(v: T, note: impl FnOnce(&T)) -> T {
    note(&v);
    v
}

/// [`then_ref`] for a place the caller writes (`self.inner().hits += 1`).
#[inline(always)]
pub fn then_mut<T>(mut v: T, note: impl FnOnce(&mut T)) -> T {
    note(&mut v);
    v
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
pub fn note_write_ref<'a, T: ?Sized>(r: &'a mut T, site: &'static Site) -> &'a mut T {
    access(r as *mut T as *mut u8 as usize, core::mem::size_of_val(r), true, site);
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

#[cfg(test)]
mod tests {
    /// The macro emits `Recv(..).m(SITE)` for each name of its list; a name
    /// missing here would fail to compile in the user's crate.
    #[test]
    fn the_macro_and_the_receivers_know_the_same_methods() {
        let src = include_str!("../macros/src/expand.rs");
        let start = src.find("pub const RECEIVER_METHODS: &[&str] = &[").expect("the macro's list");
        let list = &src[start..];
        let list = &list[list.find("= &[").unwrap() + 4..list.find("];").unwrap()];
        let mut macro_names: Vec<&str> = list.split(',').map(|n| n.trim().trim_matches('"')).filter(|n| !n.is_empty()).collect();
        let mut ours = super::RECEIVER_METHODS.to_vec();
        macro_names.sort_unstable();
        ours.sort_unstable();
        assert_eq!(macro_names, ours);
    }
}
