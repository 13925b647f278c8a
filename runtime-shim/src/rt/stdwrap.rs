//! Wrappers for std's precompiled slow paths and for the global allocator,
//! installed with the linker's `--wrap=SYMBOL` by the CLI.
//!
//! std is not instrumented: its contended lock paths, Condvar's internal
//! unlock and relock, the `Once` slow path, `Barrier` and the end of a
//! `thread::scope` synchronise invisibly. The CLI finds those functions in
//! the active toolchain's libstd (names embed std's hash) and generates one
//! `wrap!(kind, "symbol")` per function found; each wrapper calls the real
//! function and reports the edge. The signatures re-declared here are std's
//! private ones as of the tested toolchains (see the README's list); the CLI
//! only wraps symbols on a toolchain it knows.

// The list of wraps may be empty (an ordinary build, an unknown toolchain).
#![allow(dead_code, improper_ctypes, unused_imports, unused_macros)]

use std::sync::atomic::AtomicU32;

use super::{acquire, alloc, release, with_state};

fn acquired(addr: usize) {
    with_state(|st| acquire(st, addr));
}

fn released(addr: usize) {
    with_state(|st| release(st, addr));
}

/// A contended lock path: when it returns, the lock at `&self` is held.
macro_rules! acquired_on_return {
    ($module:ident, $sym:literal) => {
        mod $module {
            extern "Rust" {
                #[link_name = concat!("__real_", $sym)]
                fn real(m: &super::AtomicU32);
            }
            #[export_name = concat!("__wrap_", $sym)]
            fn wrapper(m: &super::AtomicU32) {
                // SAFETY: forwarding std's own call unchanged.
                unsafe { real(m) };
                super::acquired(m as *const _ as usize);
            }
        }
    };
}

/// An allocator entry point returning fresh memory (`alloc`, `alloc_zeroed`).
macro_rules! fresh_memory_on_return {
    ($module:ident, $sym:literal) => {
        mod $module {
            extern "Rust" {
                #[link_name = concat!("__real_", $sym)]
                fn real(size: usize, align: usize) -> *mut u8;
            }
            #[export_name = concat!("__wrap_", $sym)]
            fn wrapper(size: usize, align: usize) -> *mut u8 {
                // SAFETY: forwarding the allocator call unchanged.
                let p = unsafe { real(size, align) };
                super::alloc::on_alloc(p, size);
                p
            }
        }
    };
}

macro_rules! wrap {
    (mutex_lock_contended, $sym:literal) => {
        acquired_on_return!(mutex_lock_contended, $sym);
    };
    (rwlock_read_contended, $sym:literal) => {
        acquired_on_return!(rwlock_read_contended, $sym);
    };
    (rwlock_write_contended, $sym:literal) => {
        acquired_on_return!(rwlock_write_contended, $sym);
    };
    (condvar_wait, $sym:literal) => {
        mod condvar_wait {
            extern "Rust" {
                #[link_name = concat!("__real_", $sym)]
                fn real(cv: *const u8, m: *const super::AtomicU32);
            }
            #[export_name = concat!("__wrap_", $sym)]
            fn wrapper(cv: *const u8, m: *const super::AtomicU32) {
                // Inside, std unlocks `m` and later locks it again.
                super::released(m as usize);
                // SAFETY: forwarding std's own call unchanged.
                unsafe { real(cv, m) };
                super::acquired(m as usize);
            }
        }
    };
    (condvar_wait_timeout, $sym:literal) => {
        mod condvar_wait_timeout {
            extern "Rust" {
                #[link_name = concat!("__real_", $sym)]
                fn real(cv: *const u8, m: *const super::AtomicU32, d: std::time::Duration) -> bool;
            }
            #[export_name = concat!("__wrap_", $sym)]
            fn wrapper(cv: *const u8, m: *const super::AtomicU32, d: std::time::Duration) -> bool {
                super::released(m as usize);
                // SAFETY: forwarding std's own call unchanged.
                let r = unsafe { real(cv, m, d) };
                super::acquired(m as usize);
                r
            }
        }
    };
    (once_call, $sym:literal) => {
        mod once_call {
            extern "Rust" {
                #[link_name = concat!("__real_", $sym)]
                fn real(state: &super::AtomicU32, ignore_poison: bool, f: &mut dyn FnMut(&std::sync::OnceState));
            }
            #[export_name = concat!("__wrap_", $sym)]
            fn wrapper(state: &super::AtomicU32, ignore_poison: bool, f: &mut dyn FnMut(&std::sync::OnceState)) {
                let addr = state as *const _ as usize;
                // Publish the initialiser's writes as soon as it returns:
                // std marks the Once complete right after, and a thread on
                // the fast path may acquire that (`is_completed`) at once.
                let mut init = |s: &std::sync::OnceState| {
                    f(s);
                    super::released(addr);
                };
                // SAFETY: std's own call, with an initialiser that calls the
                // original one.
                unsafe { real(state, ignore_poison, &mut init) };
                // Waiters that slept through the initialisation.
                super::acquired(addr);
            }
        }
    };
    (barrier_wait, $sym:literal) => {
        mod barrier_wait {
            extern "Rust" {
                #[link_name = concat!("__real_", $sym)]
                fn real(b: *const u8) -> std::sync::BarrierWaitResult;
            }
            #[export_name = concat!("__wrap_", $sym)]
            fn wrapper(b: *const u8) -> std::sync::BarrierWaitResult {
                super::released(b as usize);
                // SAFETY: forwarding std's own call unchanged.
                let r = unsafe { real(b) };
                super::acquired(b as usize);
                r
            }
        }
    };
    (scope_decrement, $sym:literal) => {
        mod scope_decrement {
            extern "Rust" {
                #[link_name = concat!("__real_", $sym)]
                fn real(scope: *const u8, panicked: bool);
            }
            #[export_name = concat!("__wrap_", $sym)]
            fn wrapper(scope: *const u8, panicked: bool) {
                // The scope owner polls `num_running_threads` with Acquire;
                // std 1.95 keeps it 8 bytes into ScopeData (checked by the
                // CLI's self-test), and the first word for safety.
                super::released(scope as usize + 8);
                super::released(scope as usize);
                // SAFETY: forwarding std's own call unchanged.
                unsafe { real(scope, panicked) };
            }
        }
    };
    (alloc, $sym:literal) => {
        fresh_memory_on_return!(alloc_, $sym);
    };
    (alloc_zeroed, $sym:literal) => {
        fresh_memory_on_return!(alloc_zeroed, $sym);
    };
    (dealloc, $sym:literal) => {
        mod dealloc {
            extern "Rust" {
                #[link_name = concat!("__real_", $sym)]
                fn real(p: *mut u8, size: usize, align: usize);
            }
            #[export_name = concat!("__wrap_", $sym)]
            fn wrapper(p: *mut u8, size: usize, align: usize) {
                super::alloc::on_free(p, size);
                // SAFETY: forwarding the allocator call unchanged.
                unsafe { real(p, size, align) };
            }
        }
    };
    (realloc, $sym:literal) => {
        mod realloc {
            extern "Rust" {
                #[link_name = concat!("__real_", $sym)]
                fn real(p: *mut u8, old: usize, align: usize, new: usize) -> *mut u8;
            }
            #[export_name = concat!("__wrap_", $sym)]
            fn wrapper(p: *mut u8, old: usize, align: usize, new: usize) -> *mut u8 {
                // SAFETY: forwarding the allocator call unchanged.
                let q = unsafe { real(p, old, align, new) };
                if !q.is_null() {
                    super::alloc::on_free(p, old);
                    super::alloc::on_alloc(q, new);
                }
                q
            }
        }
    };
}

include!(concat!(env!("OUT_DIR"), "/wraps.rs"));
