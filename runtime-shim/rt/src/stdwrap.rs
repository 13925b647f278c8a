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

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering::Relaxed};

use super::{acquire, alloc, release, with_state};

/// Whether each wrapper has run (for the start-up self-test), by kind.
/// Written once and then only read: a counter here was one cache line that
/// every allocation and free on every thread wrote, and moving it between
/// the cores doubled the cost of allocating on two threads.
pub static RAN: [AtomicBool; KINDS.len()] = [const { AtomicBool::new(false) }; KINDS.len()];

/// Every kind of wrapper the CLI may install, and what it covers.
pub const KINDS: &[(&str, &str)] = &[
    ("mutex_lock_contended", "contended Mutex::lock"),
    ("rwlock_read_contended", "contended RwLock::read"),
    ("rwlock_write_contended", "contended RwLock::write"),
    ("condvar_wait", "Condvar::wait"),
    ("condvar_wait_timeout", "Condvar::wait_timeout"),
    ("once_call", "Once/OnceLock/LazyLock initialisation"),
    ("barrier_wait", "Barrier::wait"),
    ("scope_decrement", "the end of thread::scope"),
    ("park", "thread::park"),
    ("park_timeout", "thread::park_timeout"),
    ("stdout_lock", "io::stdout().lock()"),
    ("stderr_lock", "io::stderr().lock()"),
    ("alloc", "heap allocation"),
    ("dealloc", "heap deallocation"),
    ("realloc", "heap reallocation"),
    ("alloc_zeroed", "zeroed heap allocation"),
];

fn called(kind: &str) {
    if let Some(i) = KINDS.iter().position(|(k, _)| *k == kind) {
        if !RAN[i].load(Relaxed) {
            RAN[i].store(true, Relaxed);
        }
    }
}

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
                super::called(stringify!($module));
                // SAFETY: forwarding std's own call unchanged.
                unsafe { real(m) };
                super::acquired(m as *const _ as usize);
            }
        }
    };
}

/// An allocator entry point returning fresh memory (`alloc`, `alloc_zeroed`).
macro_rules! fresh_memory_on_return {
    ($module:ident, $kind:literal, $sym:literal) => {
        mod $module {
            extern "Rust" {
                #[link_name = concat!("__real_", $sym)]
                fn real(size: usize, align: usize) -> *mut u8;
            }
            #[export_name = concat!("__wrap_", $sym)]
            fn wrapper(size: usize, align: usize) -> *mut u8 {
                super::called($kind);
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
                super::called("condvar_wait");
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
                super::called("condvar_wait_timeout");
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
                super::called("once_call");
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
    (stdout_lock, $sym:literal) => {
        stdio_lock!(stdout_lock, $sym);
    };
    (stderr_lock, $sym:literal) => {
        stdio_lock!(stderr_lock, $sym);
    };
    (barrier_wait, $sym:literal) => {
        mod barrier_wait {
            extern "Rust" {
                #[link_name = concat!("__real_", $sym)]
                fn real(b: *const u8) -> std::sync::BarrierWaitResult;
            }
            #[export_name = concat!("__wrap_", $sym)]
            fn wrapper(b: *const u8) -> std::sync::BarrierWaitResult {
                super::called("barrier_wait");
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
                super::called("scope_decrement");
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
    (park, $sym:literal) => {
        mod park {
            extern "Rust" {
                #[link_name = concat!("__real_", $sym)]
                fn real();
            }
            #[export_name = concat!("__wrap_", $sym)]
            fn wrapper() {
                super::called("park");
                // SAFETY: forwarding std's own call unchanged.
                unsafe { real() };
                super::after_park();
            }
        }
    };
    (park_timeout, $sym:literal) => {
        mod park_timeout {
            extern "Rust" {
                #[link_name = concat!("__real_", $sym)]
                fn real(d: std::time::Duration);
            }
            #[export_name = concat!("__wrap_", $sym)]
            fn wrapper(d: std::time::Duration) {
                super::called("park_timeout");
                // SAFETY: forwarding std's own call unchanged.
                unsafe { real(d) };
                super::after_park();
            }
        }
    };
    (alloc, $sym:literal) => {
        fresh_memory_on_return!(alloc_, "alloc", $sym);
    };
    (alloc_zeroed, $sym:literal) => {
        fresh_memory_on_return!(alloc_zeroed, "alloc_zeroed", $sym);
    };
    (dealloc, $sym:literal) => {
        mod dealloc {
            extern "Rust" {
                #[link_name = concat!("__real_", $sym)]
                fn real(p: *mut u8, size: usize, align: usize);
            }
            #[export_name = concat!("__wrap_", $sym)]
            fn wrapper(p: *mut u8, size: usize, align: usize) {
                super::called("dealloc");
                super::alloc::on_free(p, size, crate::sys::caller_pc());
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
                super::called("realloc");
                // The old block is freed (a write to all of it, checked
                // before anyone can get its memory back), the new one
                // allocated, even when it stays in place.
                super::alloc::on_free(p, old, crate::sys::caller_pc());
                // SAFETY: forwarding the allocator call unchanged.
                let q = unsafe { real(p, old, align, new) };
                // A failed realloc leaves the old block live.
                super::alloc::on_alloc(if q.is_null() { p } else { q }, if q.is_null() { old } else { new });
                q
            }
        }
    };
}

/// Where a thread's parker state lies in the memory a `Thread` handle points
/// to, measured once: `unpark` on the handle of a thread that has finished
/// turns exactly one `u32` of it from EMPTY (0) to NOTIFIED (1). `None` when
/// the handle is not one pointer or the change is not unique.
fn parker_offset() -> Option<usize> {
    static OFFSET: std::sync::OnceLock<Option<usize>> = std::sync::OnceLock::new();
    *OFFSET.get_or_init(|| {
        if std::mem::size_of::<std::thread::Thread>() != std::mem::size_of::<usize>() {
            return None;
        }
        super::while_busy(|| {
            let h = std::thread::Builder::new().spawn(|| {}).ok()?;
            let t = h.thread().clone();
            h.join().ok()?;
            // SAFETY: `Thread` is one pointer (checked above), to the shared
            // thread data, which `t` keeps alive.
            let base: usize = unsafe { std::mem::transmute_copy(&t) };
            const WORDS: usize = 12; // the 48 bytes std 1.95's data takes
            // SAFETY: reads within the thread data `t` keeps alive.
            let read = || -> [u32; WORDS] { std::array::from_fn(|i| unsafe { std::ptr::read_volatile((base as *const u32).add(i)) }) };
            let before = read();
            t.unpark();
            let after = read();
            let mut changed = (0..WORDS).filter(|&i| before[i] == 0 && after[i] == 1);
            match (changed.next(), changed.next()) {
                (Some(i), None) => Some(i * 4),
                _ => None,
            }
        })
        .flatten()
    })
}

/// `thread::park` returned: acquire whatever the `unpark` calls on this
/// thread released. `Thread::unpark` is inlined into the caller's crate, so
/// its Release swap on the parker state reaches the runtime as an atomic
/// from instrumented code; std's own Acquire in `park` is not seen.
fn after_park() {
    if super::signal::in_handler() {
        return;
    }
    // Measured at the first park, never at start-up: it spawns a thread.
    let Some(offset) = parker_offset() else {
        static WARNED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
        if !WARNED.swap(true, Relaxed) {
            super::sys::write_fd(
                2,
                b"racecheck: warning: std's parker could not be located: park/unpark without another synchronisation is not covered\n",
            );
        }
        return;
    };
    let t = std::thread::current();
    // SAFETY: `Thread` is one pointer (checked by `parker_offset`).
    let base: usize = unsafe { std::mem::transmute_copy(&t) };
    acquired(base + offset);
}

/// `Stdout::lock`/`Stderr::lock`: std's reentrant lock is taken inside
/// std, out of sight, while the guard's unlock is inlined into the caller's
/// crate and seen (a Release on the lock's futex word). The lock returns
/// the guard, one pointer to the `ReentrantLock`; where in it the futex
/// word lies is std's private layout, so every synchronisation object in
/// its first 128 bytes is acquired (more than needed can only hide a race).
macro_rules! stdio_lock {
    ($kind:ident, $sym:literal) => {
        mod $kind {
            extern "Rust" {
                #[link_name = concat!("__real_", $sym)]
                fn real(stdio: *const u8) -> *const u8;
            }
            #[export_name = concat!("__wrap_", $sym)]
            fn wrapper(stdio: *const u8) -> *const u8 {
                super::called(stringify!($kind));
                // SAFETY: forwarding std's own call unchanged.
                let lock = unsafe { real(stdio) };
                super::acquired_within(lock as usize, 128);
                lock
            }
        }
    };
}

/// Acquire every synchronisation object whose (4-byte aligned) address lies
/// in `[addr, addr + len)`.
fn acquired_within(addr: usize, len: usize) {
    with_state(|st| {
        for a in (addr & !3..addr + len).step_by(4) {
            acquire(st, a);
        }
    });
}

/// `installed!(kind, …)`, last in the generated list: the kinds wrapped.
macro_rules! installed {
    ($($kind:ident),* $(,)?) => {
        /// Kinds of wrapper installed in this build.
        pub const INSTALLED: &[&str] = &[$(stringify!($kind)),*];
    };
}

include!(concat!(env!("OUT_DIR"), "/wraps.rs"));

/// Start-up self-test: exercise the std paths that can be reached without
/// other threads, and warn about every installed wrapper that did not fire
/// (a linker that does not apply `--wrap` inside std, a changed std). The
/// contended-lock, scope and park wrappers need other threads; the test
/// suite's std-sync scenarios prove those.
pub fn self_test() -> Vec<String> {
    let probed = ["condvar_wait_timeout", "once_call", "barrier_wait", "stderr_lock", "alloc", "dealloc", "realloc"];
    // Another thread setting a flag meanwhile only means its wrapper ran.
    for (i, _) in KINDS.iter().enumerate().filter(|(_, (kind, _))| probed.contains(kind)) {
        RAN[i].store(false, Relaxed);
    }
    let once = std::sync::Once::new();
    once.call_once(|| {});
    let m = std::sync::Mutex::new(());
    let cv = std::sync::Condvar::new();
    let g = m.lock().unwrap_or_else(|e| e.into_inner());
    drop(cv.wait_timeout(g, std::time::Duration::ZERO));
    std::sync::Barrier::new(1).wait();
    drop(std::io::stderr().lock());
    let b = std::hint::black_box(Box::new([0u8; 64]));
    drop(b);
    let mut v: Vec<u8> = Vec::with_capacity(8);
    v.extend_from_slice(&[1; 64]);
    drop(std::hint::black_box(v));
    KINDS
        .iter()
        .enumerate()
        .filter(|(i, (kind, _))| {
            probed.contains(kind) && installed(kind) && !RAN[*i].load(Relaxed)
        })
        .map(|(_, (kind, covers))| format!("the wrapper of std's {kind} did not run: {covers} is not covered"))
        .collect()
}

fn installed(kind: &str) -> bool {
    INSTALLED.contains(&kind)
}
