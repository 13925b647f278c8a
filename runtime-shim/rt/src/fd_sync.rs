//! File descriptors as synchronisation, as ThreadSanitizer's fd
//! interceptors model them: data written to a pipe, socket or eventfd by
//! one thread and read by another orders everything the writer did before
//! the write before everything the reader does after the read.
//!
//! Each open descriptor has a synchronisation object (a key outside user
//! memory, see [`key`]). A write (`write`, `writev`, `pwrite`, `send`,
//! `sendto`, `sendmsg`, `eventfd_write`) or a `close` releases into it; a
//! read that returns (`read`, `readv`, `pread`, `recv`, `recvfrom`,
//! `recvmsg`, `eventfd_read`) acquires it. Both ends of a pipe or a socket
//! pair share one object (`pipe`, `pipe2`, `socketpair`), and a duplicate
//! shares its original's (`dup`, `dup2`, `dup3`); a descriptor closed and
//! opened again starts with a new one. All are linker-wrapped, so std's own
//! calls (`File`, `UnixStream`, `io::pipe`, `ChildStdout`) are seen too.
//!
//! Releasing more than the program relies on can only hide a race, never
//! invent one (a write to stdout releases into an object nobody acquires).

use std::ffi::{c_int, c_void};
use std::sync::atomic::{AtomicU64, Ordering::*};

use super::{acquire, release, with_state, ENABLED};

/// Descriptors below this have their object's id in [`IDS`]; above, the
/// descriptor number itself names it (no pipe sharing).
const TABLE: usize = 1 << 16;
/// 0: no object yet.
static IDS: [AtomicU64; TABLE] = [const { AtomicU64::new(0) }; TABLE];
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// Synchronisation keys live above the 47-bit user address space, where
/// no memory (so no other synchronisation object) can be.
const KEY_BASE: usize = 1 << 60;

fn new_id() -> u64 {
    NEXT_ID.fetch_add(1, Relaxed)
}

/// The key of `fd`'s synchronisation object, made on first use.
fn key(fd: c_int) -> Option<usize> {
    let fd = usize::try_from(fd).ok()?;
    let Some(slot) = IDS.get(fd) else { return Some(KEY_BASE + (1 << 50) + fd * 8) };
    let mut id = slot.load(Acquire);
    if id == 0 {
        let fresh = new_id();
        id = match slot.compare_exchange(0, fresh, AcqRel, Acquire) {
            Ok(_) => fresh,
            Err(other) => other,
        };
    }
    Some(KEY_BASE + id as usize * 8)
}

fn set_id(fd: c_int, id: u64) {
    if let Some(slot) = usize::try_from(fd).ok().and_then(|fd| IDS.get(fd)) {
        slot.store(id, Release);
    }
}

fn on_release(fd: c_int) {
    if ENABLED.load(Relaxed) {
        if let Some(k) = key(fd) {
            with_state(|st| release(st, k));
        }
    }
}

fn on_acquire(fd: c_int) {
    if ENABLED.load(Relaxed) {
        if let Some(k) = key(fd) {
            with_state(|st| acquire(st, k));
        }
    }
}

/// Around a call on `fd` that publishes: release into its object first.
fn releasing<R>(fd: c_int, real: impl FnOnce() -> R) -> R {
    on_release(fd);
    real()
}

/// Around a call on `fd` that receives: acquire its object after a call
/// that did not fail (returned a non-negative value).
fn acquiring<R: PartialOrd + Default>(fd: c_int, real: impl FnOnce() -> R) -> R {
    let rc = real();
    if rc >= R::default() {
        on_acquire(fd);
    }
    rc
}

/// `__wrap_NAME(fd, …)` for each `NAME`, in a module of its own (each has
/// its own `__real_NAME`), calling it through `$around` (`releasing` or
/// `acquiring`).
macro_rules! wrap {
    ($around:ident: $($name:ident($($arg:ident: $ty:ty),*) -> $ret:ty;)*) => {$(
        pub mod $name {
            use super::*;
            extern "C" {
                #[link_name = concat!("__real_", stringify!($name))]
                fn real(fd: c_int, $($arg: $ty),*) -> $ret;
            }
            /// # Safety
            /// Same contract as the libc function.
            #[export_name = concat!("__wrap_", stringify!($name))]
            pub unsafe extern "C" fn $name(fd: c_int, $($arg: $ty),*) -> $ret {
                // SAFETY: forwarding the caller's arguments unchanged.
                $around(fd, || unsafe { real(fd, $($arg),*) })
            }
        }
    )*};
}

wrap! { releasing:
    write(buf: *const c_void, n: usize) -> isize;
    writev(iov: *const libc::iovec, n: c_int) -> isize;
    pwrite(buf: *const c_void, n: usize, off: libc::off_t) -> isize;
    pwrite64(buf: *const c_void, n: usize, off: libc::off64_t) -> isize;
    send(buf: *const c_void, n: usize, flags: c_int) -> isize;
    sendto(buf: *const c_void, n: usize, flags: c_int, to: *const libc::sockaddr, len: libc::socklen_t) -> isize;
    sendmsg(msg: *const libc::msghdr, flags: c_int) -> isize;
    eventfd_write(value: libc::eventfd_t) -> c_int;
}

wrap! { acquiring:
    read(buf: *mut c_void, n: usize) -> isize;
    readv(iov: *const libc::iovec, n: c_int) -> isize;
    pread(buf: *mut c_void, n: usize, off: libc::off_t) -> isize;
    pread64(buf: *mut c_void, n: usize, off: libc::off64_t) -> isize;
    recv(buf: *mut c_void, n: usize, flags: c_int) -> isize;
    recvfrom(buf: *mut c_void, n: usize, flags: c_int, from: *mut libc::sockaddr, len: *mut libc::socklen_t) -> isize;
    recvmsg(msg: *mut libc::msghdr, flags: c_int) -> isize;
    eventfd_read(value: *mut libc::eventfd_t) -> c_int;
}

extern "C" {
    fn __real_close(fd: c_int) -> c_int;
    fn __real_pipe(fds: *mut c_int) -> c_int;
    fn __real_pipe2(fds: *mut c_int, flags: c_int) -> c_int;
    fn __real_socketpair(domain: c_int, ty: c_int, proto: c_int, fds: *mut c_int) -> c_int;
    fn __real_dup(fd: c_int) -> c_int;
    fn __real_dup2(fd: c_int, to: c_int) -> c_int;
    fn __real_dup3(fd: c_int, to: c_int, flags: c_int) -> c_int;
}

/// A close releases (a reader then sees end-of-file after everything the
/// closer did); the number, when reused, names a new object.
///
/// # Safety
/// Same contract as `close`.
#[no_mangle]
pub unsafe extern "C" fn __wrap_close(fd: c_int) -> c_int {
    on_release(fd);
    set_id(fd, 0);
    // SAFETY: forwarding the caller's argument unchanged.
    unsafe { __real_close(fd) }
}

/// Both ends of a new pipe or socket pair share one new object.
fn pair(rc: c_int, fds: *mut c_int) -> c_int {
    if rc == 0 {
        let id = new_id();
        // SAFETY: on success the call wrote two descriptors there.
        let (a, b) = unsafe { (*fds, *fds.add(1)) };
        set_id(a, id);
        set_id(b, id);
    }
    rc
}

/// # Safety
/// Same contract as `pipe`.
#[no_mangle]
pub unsafe extern "C" fn __wrap_pipe(fds: *mut c_int) -> c_int {
    // SAFETY: forwarding the caller's argument unchanged.
    pair(unsafe { __real_pipe(fds) }, fds)
}

/// # Safety
/// Same contract as `pipe2`.
#[no_mangle]
pub unsafe extern "C" fn __wrap_pipe2(fds: *mut c_int, flags: c_int) -> c_int {
    // SAFETY: forwarding the caller's arguments unchanged.
    pair(unsafe { __real_pipe2(fds, flags) }, fds)
}

/// # Safety
/// Same contract as `socketpair`.
#[no_mangle]
pub unsafe extern "C" fn __wrap_socketpair(domain: c_int, ty: c_int, proto: c_int, fds: *mut c_int) -> c_int {
    // SAFETY: forwarding the caller's arguments unchanged.
    pair(unsafe { __real_socketpair(domain, ty, proto, fds) }, fds)
}

/// A duplicate shares its original's object.
fn duplicate(from: c_int, to: c_int) -> c_int {
    if to >= 0 {
        let id = usize::try_from(from).ok().and_then(|f| IDS.get(f)).map_or(0, |s| s.load(Acquire));
        set_id(to, id);
    }
    to
}

/// # Safety
/// Same contract as `dup`.
#[no_mangle]
pub unsafe extern "C" fn __wrap_dup(fd: c_int) -> c_int {
    // SAFETY: forwarding the caller's argument unchanged.
    duplicate(fd, unsafe { __real_dup(fd) })
}

/// # Safety
/// Same contract as `dup2`.
#[no_mangle]
pub unsafe extern "C" fn __wrap_dup2(fd: c_int, to: c_int) -> c_int {
    // SAFETY: forwarding the caller's arguments unchanged.
    duplicate(fd, unsafe { __real_dup2(fd, to) })
}

/// # Safety
/// Same contract as `dup3`.
#[no_mangle]
pub unsafe extern "C" fn __wrap_dup3(fd: c_int, to: c_int, flags: c_int) -> c_int {
    // SAFETY: forwarding the caller's arguments unchanged.
    duplicate(fd, unsafe { __real_dup3(fd, to, flags) })
}
