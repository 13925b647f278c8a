//! Every access form `#[race_check]` checks, in one annotated module
//! (`access`). `src/main.rs` races each form between two threads; the
//! `record` crate runs each form alone against a recording hook and checks
//! the exact events.
use racecheck::race_check;
use std::cell::{Cell, UnsafeCell};
use std::mem::MaybeUninit;

/// A raw pointer threads may share (the test decides the ordering).
pub struct P<T>(pub *mut T);
unsafe impl<T> Send for P<T> {}
impl<T> Clone for P<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for P<T> {}
impl<T> P<T> {
    pub fn new(v: T) -> P<T> {
        P(Box::into_raw(Box::new(v)))
    }
    pub fn ptr(self) -> *mut T {
        self.0
    }
}

#[derive(Default)]
pub struct Item {
    pub c: u32,
    pub d: u32,
}

#[derive(Default)]
pub struct Inner {
    pub items: [Item; 3],
}

#[derive(Default)]
pub struct Outer {
    pub a: u64,
    pub b: u64,
    pub inner: Inner,
}

/// A cell type that wrongly claims to be shareable.
pub struct Shared<T>(pub T);
unsafe impl<T> Sync for Shared<T> {}
unsafe impl<T> Send for Shared<T> {}

pub static mut GLOBAL: u64 = 0;

thread_local! {
    /// Each thread's own; main hands a pointer to its copy to other threads.
    pub static PER_THREAD: Cell<u64> = const { Cell::new(0) };
}

pub trait Bump {
    fn slot(&self) -> *mut u64;
    /// A default method: instrumented where the trait is annotated.
    fn bump(&self) {
        unsafe { *self.slot() += 1 }
    }
}

#[race_check]
pub trait BumpTwice: Bump {
    fn bump_twice(&self) {
        unsafe { *self.slot() += 2 }
    }
}

pub struct Slot(pub P<u64>);
impl Bump for Slot {
    fn slot(&self) -> *mut u64 {
        self.0.ptr()
    }
}
impl BumpTwice for Slot {}

/// Run a future that never waits to completion.
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

#[race_check]
pub mod access {
    use super::*;

    pub fn deref_write(p: P<u64>) {
        unsafe { *p.ptr() = 1 }
    }
    pub fn deref_read(p: P<u64>) -> u64 {
        unsafe { *p.ptr() }
    }
    pub fn reference_write(p: P<u64>) {
        let r: &mut u64 = unsafe { &mut *p.ptr() };
        *r = 2;
    }
    pub fn boxed_write(p: P<Box<u64>>) {
        let b: &mut Box<u64> = unsafe { &mut *p.ptr() };
        **b = 3;
    }
    pub fn boxed_read(p: P<Box<u64>>) -> u64 {
        let b: &Box<u64> = unsafe { &*p.ptr() };
        **b
    }
    pub fn field_write(p: P<Outer>) {
        unsafe { (*p.ptr()).a = 4 }
    }
    pub fn field_read(p: P<Outer>) -> u64 {
        unsafe { (*p.ptr()).a }
    }
    pub fn tuple_write(p: P<(u8, u64)>) {
        unsafe { (*p.ptr()).1 = 5 }
    }
    pub fn index_write(p: P<[u64; 4]>) {
        unsafe { (*p.ptr())[2] = 6 }
    }
    pub fn slice_read(p: P<[u64; 4]>) -> u64 {
        let s = unsafe { std::slice::from_raw_parts(p.ptr() as *const u64, 4) };
        s[2]
    }
    pub fn nested_write(p: P<Outer>, i: usize) {
        unsafe { (*p.ptr()).inner.items[i].c = 7 }
    }
    pub fn nested_read(p: P<Outer>, i: usize) -> u32 {
        unsafe { (*p.ptr()).inner.items[i].c }
    }
    pub fn compound(p: P<u64>) {
        unsafe { *p.ptr() += 8 }
    }
    pub fn static_write() {
        unsafe { GLOBAL = 9 }
    }
    pub fn static_read_via_raw() -> u64 {
        let p = &raw const GLOBAL;
        unsafe { *p }
    }
    pub fn ptr_write(p: P<u64>) {
        unsafe { std::ptr::write(p.ptr(), 10) }
    }
    pub fn ptr_read(p: P<u64>) -> u64 {
        unsafe { std::ptr::read(p.ptr()) }
    }
    pub fn method_write(p: P<[u64; 4]>, i: usize) {
        let base = p.ptr() as *mut u64;
        unsafe { base.add(i).write(11) }
    }
    pub fn method_read(p: P<[u64; 4]>, i: usize) -> u64 {
        let base = p.ptr() as *mut u64;
        unsafe { base.add(i).read() }
    }
    pub fn volatile_write(p: P<u64>) {
        let q = p.ptr();
        unsafe { q.write_volatile(12) }
    }
    pub fn volatile_read(p: P<u64>) -> u64 {
        unsafe { std::ptr::read_volatile(p.ptr()) }
    }
    pub fn unaligned_write(p: P<[u8; 16]>) {
        let q = unsafe { (p.ptr() as *mut u8).add(3) } as *mut u32;
        unsafe { q.write_unaligned(13) }
    }
    pub fn unaligned_read(p: P<[u8; 16]>) -> u32 {
        let q = unsafe { (p.ptr() as *const u8).add(5) } as *const u32;
        unsafe { std::ptr::read_unaligned(q) }
    }
    pub fn copy_into(p: P<[u64; 4]>) {
        let src = [1u64, 2, 3, 4];
        unsafe { std::ptr::copy_nonoverlapping(src.as_ptr(), p.ptr() as *mut u64, 4) }
    }
    pub fn copy_out(p: P<[u64; 4]>) -> u64 {
        let mut dst = [0u64; 4];
        unsafe { std::ptr::copy(p.ptr() as *const u64, dst.as_mut_ptr(), 4) };
        dst[0]
    }
    pub fn swap_with(p: P<u64>) {
        let mut other = 14u64;
        unsafe { std::ptr::swap(p.ptr(), &mut other) }
    }
    pub fn replace_in(p: P<u64>) -> u64 {
        unsafe { std::ptr::replace(p.ptr(), 15) }
    }
    pub fn zero(p: P<[u64; 4]>) {
        unsafe { std::ptr::write_bytes(p.ptr() as *mut u64, 0, 4) }
    }
    pub fn cell_set(c: &Shared<Cell<u64>>) {
        c.0.set(16);
    }
    pub fn cell_get(c: &Shared<Cell<u64>>) -> u64 {
        c.0.get()
    }
    pub fn cell_replace(c: &Shared<Cell<u64>>) -> u64 {
        c.0.replace(17)
    }
    pub fn cell_take(c: &Shared<Cell<u64>>) -> u64 {
        c.0.take()
    }
    pub fn unsafe_cell_write(c: &Shared<UnsafeCell<u64>>) {
        unsafe { *c.0.get() = 18 }
    }
    pub fn unsafe_cell_read(c: &Shared<UnsafeCell<u64>>) -> u64 {
        unsafe { *c.0.get() }
    }
    pub fn uninit_write(p: P<MaybeUninit<u64>>) {
        let m: &mut MaybeUninit<u64> = unsafe { &mut *p.ptr() };
        m.write(19);
    }
    pub fn uninit_read(p: P<MaybeUninit<u64>>) -> u64 {
        let m: &MaybeUninit<u64> = unsafe { &*p.ptr() };
        unsafe { m.assume_init_read() }
    }
    pub fn in_macro(p: P<u64>) -> String {
        unsafe { format!("{}", *p.ptr()) }
    }
    pub fn in_assert(p: P<u64>) {
        unsafe { assert_eq!(*p.ptr(), *p.ptr()) }
    }
    pub fn in_match(p: P<u64>) -> bool {
        match unsafe { *p.ptr() } {
            0 => false,
            _ => true,
        }
    }
    pub fn scrutinee(p: P<Outer>) -> bool {
        let o: &Outer = unsafe { &*p.ptr() };
        match o.b {
            0 => false,
            _ => true,
        }
    }
    pub fn field_b_write(p: P<Outer>) {
        unsafe { (*p.ptr()).b = 20 }
    }
    pub fn in_closure(p: P<u64>) {
        let write = |v: u64| {
            let inner = move || unsafe { *p.ptr() = v };
            inner()
        };
        write(21);
    }
    pub fn generic_write<T: Copy>(p: P<T>, v: T) {
        unsafe { *p.ptr() = v }
    }

    pub mod nested {
        use super::*;
        pub fn write(p: P<u64>) {
            unsafe { *p.ptr() = 22 }
        }
    }

    pub struct Counter(pub P<u64>);
    impl Counter {
        pub fn bump(&self) {
            unsafe { *self.0.ptr() += 1 }
        }
    }
    impl Bump for Counter {
        fn slot(&self) -> *mut u64 {
            self.0.ptr()
        }
        fn bump(&self) {
            unsafe { *self.slot() += 3 }
        }
    }

    pub fn while_let_read(p: P<Option<u64>>) -> u64 {
        let o: &Option<u64> = unsafe { &*p.ptr() };
        let mut n = 0;
        'scan: while let Some(v) = *o {
            n += v;
            if n > 0 {
                break 'scan;
            }
        }
        n
    }
    pub fn option_write(p: P<Option<u64>>) {
        unsafe { *p.ptr() = Some(24) }
    }

    pub fn thread_local_write(p: P<u64>) {
        unsafe { *p.ptr() = 28 }
    }

    pub fn stack_write(p: P<u64>, v: u64) {
        unsafe { *p.ptr() = v }
    }

    pub fn static_write_via_addr_of() {
        let p = std::ptr::addr_of_mut!(GLOBAL);
        unsafe { *p = 25 }
    }
    pub fn slice_write(p: P<[u64; 4]>, i: usize) {
        let s = unsafe { std::slice::from_raw_parts_mut(p.ptr() as *mut u64, 4) };
        s[i] = 26;
    }
    pub async fn async_write(p: P<u64>) {
        unsafe { *p.ptr() = 27 }
    }
    /// Same method names as pointer methods, on types that are not pointers:
    /// nothing is accessed through them (dispatch is by type, not by name).
    pub fn not_pointers(lock: &std::sync::RwLock<u64>, out: &mut Vec<u8>, s: &[u64]) -> u64 {
        use std::io::Write;
        *lock.write().unwrap() += 1;
        let _ = out.write(b"x");
        s.get(1).copied().unwrap_or(0)
    }

    /// Distinct bytes never race: each thread owns one field.
    pub fn own_field_a(p: P<Outer>) {
        unsafe { (*p.ptr()).inner.items[0].c = 1 }
    }
    pub fn own_field_b(p: P<Outer>) {
        unsafe { (*p.ptr()).inner.items[0].d = 2 }
    }

    // ---- Method receivers, `&mut` borrows, fields of calls' results ----

    pub fn option_take(p: P<Option<Box<u64>>>) -> Option<Box<u64>> {
        unsafe { (*p.ptr()).take() }
    }
    pub fn vec_push(p: P<Vec<u64>>) {
        unsafe { (*p.ptr()).push(1) }
    }
    pub fn map_insert(p: P<std::collections::HashMap<u64, u64>>) {
        unsafe { (*p.ptr()).insert(1, 2) };
    }
    pub fn map_get(p: P<std::collections::HashMap<u64, u64>>) -> Option<u64> {
        unsafe { (*p.ptr()).get(&1).copied() }
    }
    pub fn string_push(p: P<String>) {
        unsafe { (*p.ptr()).push_str("ab") }
    }
    pub fn string_len(p: P<String>) -> usize {
        unsafe { (&(*p.ptr())).len() }
    }
    pub fn slice_copy(p: P<[u64; 4]>) {
        unsafe { (&mut (&mut *p.ptr())[..]).copy_from_slice(&[1, 2, 3, 4]) }
    }
    pub fn slice_fill(p: P<[u64; 4]>) {
        unsafe { (&mut *p.ptr())[..].fill(0) }
    }
    pub fn vec_sort(p: P<Vec<u64>>) {
        unsafe { (*p.ptr()).sort_unstable() }
    }
    pub fn vec_elem_read(p: P<Vec<u64>>) -> u64 {
        unsafe { (&(*p.ptr()))[0] }
    }
    pub fn mem_take(p: P<Vec<u64>>) -> Vec<u64> {
        unsafe { std::mem::take(&mut *p.ptr()) }
    }
    pub fn mut_arg(p: P<[u64; 4]>) {
        unsafe { zero_all(&mut (&mut *p.ptr())[1..]) }
    }
    pub fn accessor_write(s: &Stats) {
        s.inner().hits += 1;
    }
    pub fn accessor_read(s: &Stats) -> u64 {
        s.inner().hits
    }
    pub fn accessor_push(s: &Stats) {
        s.inner().log.push(7);
    }
    pub fn accessor_len(s: &Stats) -> usize {
        s.inner().log.len()
    }
    pub fn arc_cell_set(c: &SyncArc) {
        let a: &std::sync::Arc<Cell<u64>> = &c.0;
        a.set(3);
    }
    pub fn arc_cell_get(c: &SyncArc) -> u64 {
        c.0.get()
    }
    pub fn cell_update(c: &Shared<Cell<u64>>) {
        c.0.update(|x| x + 1);
    }
    pub fn chain_write(c: &Shared<UnsafeCell<MaybeUninit<u64>>>) {
        unsafe { (*c.0.get()).as_mut_ptr().write(9) }
    }
    pub fn chain_read(c: &Shared<UnsafeCell<MaybeUninit<u64>>>) -> u64 {
        unsafe { (*c.0.get()).as_ptr().read() }
    }
    /// A user's own `push(&self)` through a raw pointer: not a `Vec`, so not
    /// a write of the queue (its own atomics are what it touches).
    pub fn user_push(q: P<CountingQueue>) {
        unsafe { (*q.ptr()).push(1) }
    }

    // ---- Checks another check covers (straight-line code) ----

    /// Read then write of one place: the write's check covers the read.
    pub fn rmw_covered(p: P<u64>, r: u64) {
        let q = p.ptr();
        unsafe {
            let v = *q;
            *q = v.wrapping_add(r);
        }
    }
    /// The same with a call between: both are checked.
    pub fn rmw_with_call(p: P<u64>, r: u64) {
        let q = p.ptr();
        unsafe {
            let v = *q;
            std::hint::black_box(());
            *q = v.wrapping_add(r);
        }
    }
    /// A second read of a place: the first check covers it.
    pub fn read_twice(p: P<Outer>) -> u64 {
        let q = p.ptr();
        unsafe {
            let a = (*q).a;
            let b = (*q).a;
            a + b
        }
    }
    /// A read after a write of the place: the write covers it.
    pub fn read_after_write(p: P<u64>) -> u64 {
        let q = p.ptr();
        unsafe {
            *q = 40;
            *q + 2
        }
    }
}

/// `inner()` hands out `&mut` from `&self`: the usual `UnsafeCell` accessor.
#[derive(Default)]
pub struct Stats(UnsafeCell<StatsInner>);
unsafe impl Sync for Stats {}

#[derive(Default)]
pub struct StatsInner {
    pub hits: u64,
    pub log: Vec<u64>,
}

impl Stats {
    #[allow(clippy::mut_from_ref)]
    pub fn inner(&self) -> &mut StatsInner {
        unsafe { &mut *self.0.get() }
    }
}

/// An `Arc<Cell<_>>` shared between threads, wrongly.
pub struct SyncArc(pub std::sync::Arc<Cell<u64>>);
unsafe impl Sync for SyncArc {}
unsafe impl Send for SyncArc {}

/// A lock-free counter with a method named like `Vec::push`.
#[derive(Default)]
pub struct CountingQueue {
    n: std::sync::atomic::AtomicU64,
}

impl CountingQueue {
    pub fn push(&self, v: u64) {
        self.n.fetch_add(v, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Unannotated: what `&mut` it is given is written by the caller's borrow.
pub fn zero_all(s: &mut [u64]) {
    for x in s {
        *x = 0;
    }
}
