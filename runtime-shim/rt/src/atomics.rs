//! The `__tsan_atomic*` ABI that LLVM's ThreadSanitizer pass calls from every
//! crate the CLI builds with `-C passes=tsan` (all crates but this runtime).
//!
//! Each function performs the real operation with the requested ordering and
//! feeds the engine: the access itself (atomic accesses race with plain ones
//! and with atomics of another size) and its synchronisation. A failing
//! compare-exchange is a load with the failure ordering. `mo` values: 0
//! relaxed, 1 consume, 2 acquire, 3 release, 4 acq_rel, 5 seq_cst.
//!
//! Not here, because rustc never asks for them: 128-bit atomics,
//! `fetch_min`/`fetch_max` (LLVM leaves them uninstrumented). The plain
//! accesses, memory intrinsics and frames of deep mode are in
//! [`super::memory`].

use std::sync::atomic::{self, Ordering};

use racecheck_detector::sync::{FenceOrd, LoadOrd, RmwOrd, StoreOrd};

use super::{atomic, sys, AtomicOp};

#[inline(always)]
fn load_ord(ord: LoadOrd) -> Ordering {
    match ord {
        LoadOrd::Relaxed => Ordering::Relaxed,
        LoadOrd::Acquire => Ordering::Acquire,
        LoadOrd::SeqCst => Ordering::SeqCst,
    }
}

#[inline(always)]
fn store_ord(ord: StoreOrd) -> Ordering {
    match ord {
        StoreOrd::Relaxed => Ordering::Relaxed,
        StoreOrd::Release => Ordering::Release,
        StoreOrd::SeqCst => Ordering::SeqCst,
    }
}

#[inline(always)]
fn rmw_ord(ord: RmwOrd) -> Ordering {
    match ord {
        RmwOrd::Relaxed => Ordering::Relaxed,
        RmwOrd::Acquire => Ordering::Acquire,
        RmwOrd::Release => Ordering::Release,
        RmwOrd::AcqRel => Ordering::AcqRel,
        RmwOrd::SeqCst => Ordering::SeqCst,
    }
}

/// Run `$body` with `$ord` bound to the ordering `$e` evaluates to, one arm
/// per ordering, each with it as a constant: the conversions to std
/// orderings and the ordering tests in `rt::atomic` then fold away, and
/// each ordering gets its own straight-line copy.
macro_rules! by_ord {
    ($ty:ident, $e:expr, [$($v:ident),*], |$ord:ident| $body:expr) => {
        match $e {
            $($ty::$v => {
                let $ord = $ty::$v;
                $body
            })*
        }
    };
}

macro_rules! rmw {
    ($name:ident, $t:ty, $at:ty, $method:ident) => {
        /// # Safety
        /// `a` must point to a live, aligned atomic of this size.
        #[no_mangle]
        pub unsafe extern "C" fn $name(a: *mut $t, v: $t, mo: i32) -> $t {
            let pc = sys::caller_pc();
            // SAFETY: the caller (LLVM-instrumented code) passes the address of
            // an atomic object of this size.
            let at = unsafe { &*(a as *const $at) };
            by_ord!(RmwOrd, RmwOrd::from_tsan(mo), [Relaxed, Acquire, Release, AcqRel, SeqCst], |ord| {
                atomic(a as usize, size_of::<$t>(), AtomicOp::Rmw(ord), pc, || (at.$method(v, rmw_ord(ord)), true))
            })
        }
    };
}

macro_rules! width {
    ($t:ty, $at:ty, $load:ident, $store:ident, $xchg:ident, $add:ident, $sub:ident, $and:ident,
     $or:ident, $xor:ident, $nand:ident, $cas:ident) => {
        /// # Safety
        /// `a` must point to a live, aligned atomic of this size.
        #[no_mangle]
        pub unsafe extern "C" fn $load(a: *const $t, mo: i32) -> $t {
            let pc = sys::caller_pc();
            // SAFETY: see `rmw!`.
            let at = unsafe { &*(a as *const $at) };
            by_ord!(LoadOrd, LoadOrd::from_tsan(mo), [Relaxed, Acquire, SeqCst], |ord| {
                atomic(a as usize, size_of::<$t>(), AtomicOp::Load(ord), pc, || (at.load(load_ord(ord)), true))
            })
        }

        /// # Safety
        /// `a` must point to a live, aligned atomic of this size.
        #[no_mangle]
        pub unsafe extern "C" fn $store(a: *mut $t, v: $t, mo: i32) {
            let pc = sys::caller_pc();
            // SAFETY: see `rmw!`.
            let at = unsafe { &*(a as *const $at) };
            by_ord!(StoreOrd, StoreOrd::from_tsan(mo), [Relaxed, Release, SeqCst], |ord| {
                atomic(a as usize, size_of::<$t>(), AtomicOp::Store(ord), pc, || (at.store(v, store_ord(ord)), true))
            })
        }

        rmw!($xchg, $t, $at, swap);
        rmw!($add, $t, $at, fetch_add);
        rmw!($sub, $t, $at, fetch_sub);
        rmw!($and, $t, $at, fetch_and);
        rmw!($or, $t, $at, fetch_or);
        rmw!($xor, $t, $at, fetch_xor);
        rmw!($nand, $t, $at, fetch_nand);

        /// Returns the old value; the caller compares it with `c`.
        ///
        /// # Safety
        /// `a` must point to a live, aligned atomic of this size.
        #[no_mangle]
        pub unsafe extern "C" fn $cas(a: *mut $t, c: $t, v: $t, mo: i32, fail_mo: i32) -> $t {
            let pc = sys::caller_pc();
            // SAFETY: see `rmw!`.
            let at = unsafe { &*(a as *const $at) };
            let op = AtomicOp::Cas(RmwOrd::from_tsan(mo), LoadOrd::from_tsan(fail_mo));
            atomic(a as usize, size_of::<$t>(), op, pc, || {
                match at.compare_exchange(c, v, rmw_ord(RmwOrd::from_tsan(mo)), load_ord(LoadOrd::from_tsan(fail_mo))) {
                    Ok(old) => (old, true),
                    Err(old) => (old, false),
                }
            })
        }
    };
}

width!(u8, atomic::AtomicU8, __tsan_atomic8_load, __tsan_atomic8_store, __tsan_atomic8_exchange,
    __tsan_atomic8_fetch_add, __tsan_atomic8_fetch_sub, __tsan_atomic8_fetch_and, __tsan_atomic8_fetch_or,
    __tsan_atomic8_fetch_xor, __tsan_atomic8_fetch_nand, __tsan_atomic8_compare_exchange_val);
width!(u16, atomic::AtomicU16, __tsan_atomic16_load, __tsan_atomic16_store, __tsan_atomic16_exchange,
    __tsan_atomic16_fetch_add, __tsan_atomic16_fetch_sub, __tsan_atomic16_fetch_and, __tsan_atomic16_fetch_or,
    __tsan_atomic16_fetch_xor, __tsan_atomic16_fetch_nand, __tsan_atomic16_compare_exchange_val);
width!(u32, atomic::AtomicU32, __tsan_atomic32_load, __tsan_atomic32_store, __tsan_atomic32_exchange,
    __tsan_atomic32_fetch_add, __tsan_atomic32_fetch_sub, __tsan_atomic32_fetch_and, __tsan_atomic32_fetch_or,
    __tsan_atomic32_fetch_xor, __tsan_atomic32_fetch_nand, __tsan_atomic32_compare_exchange_val);
width!(u64, atomic::AtomicU64, __tsan_atomic64_load, __tsan_atomic64_store, __tsan_atomic64_exchange,
    __tsan_atomic64_fetch_add, __tsan_atomic64_fetch_sub, __tsan_atomic64_fetch_and, __tsan_atomic64_fetch_or,
    __tsan_atomic64_fetch_xor, __tsan_atomic64_fetch_nand, __tsan_atomic64_compare_exchange_val);

#[no_mangle]
pub extern "C" fn __tsan_atomic_thread_fence(mo: i32) {
    if let Some(ord) = FenceOrd::from_tsan(mo) {
        atomic::fence(rmw_ord(RmwOrd::from_tsan(mo)));
        super::fence(ord);
    }
}

/// A compiler fence orders nothing between threads.
#[no_mangle]
pub extern "C" fn __tsan_atomic_signal_fence(_mo: i32) {}
