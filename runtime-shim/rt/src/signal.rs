//! Signal handlers: `sigaction` and `signal` are interposed (linker
//! `--wrap`, added by the CLI) so that every handler runs inside a
//! trampoline that marks the thread as handling a signal.
//!
//! The runtime itself is safe to re-enter from a handler (a handler that
//! interrupts the runtime finds the thread busy and passes through), but
//! one thing must never happen there: asking std for the current thread's
//! handle. On a thread std has just started, a handler may run before std
//! records the handle, and creating it then makes std abort the spawn.
//! The runtime reads thread names only outside handlers.

use std::cell::Cell;
use std::sync::atomic::{AtomicI32, AtomicUsize, Ordering::*};

const NSIG: usize = 65;

/// The user's handler and flags per signal, while our trampoline stands in.
static HANDLERS: [AtomicUsize; NSIG] = [const { AtomicUsize::new(0) }; NSIG];
static FLAGS: [AtomicI32; NSIG] = [const { AtomicI32::new(0) }; NSIG];

thread_local! {
    static DEPTH: Cell<u32> = const { Cell::new(0) };
}

/// Is the calling thread running a signal handler?
pub fn in_handler() -> bool {
    DEPTH.with(|d| d.get() > 0)
}

extern "C" fn trampoline(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    let Some(i) = usize::try_from(sig).ok().filter(|&i| i < NSIG) else { return };
    let handler = HANDLERS[i].load(Acquire);
    if handler == libc::SIG_DFL || handler == libc::SIG_IGN {
        return;
    }
    // SAFETY: errno is this thread's; handlers must leave it as they found it.
    let errno = unsafe { *libc::__errno_location() };
    DEPTH.with(|d| d.set(d.get() + 1));
    if FLAGS[i].load(Acquire) & libc::SA_SIGINFO != 0 {
        // SAFETY: the user installed this as an `sa_sigaction` handler.
        let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) = unsafe { std::mem::transmute(handler) };
        f(sig, info, ctx);
    } else {
        // SAFETY: the user installed this as an `sa_handler` handler.
        let f: extern "C" fn(libc::c_int) = unsafe { std::mem::transmute(handler) };
        f(sig);
    }
    DEPTH.with(|d| d.set(d.get() - 1));
    // SAFETY: as above.
    unsafe { *libc::__errno_location() = errno };
}

unsafe extern "C" {
    fn __real_sigaction(sig: libc::c_int, act: *const libc::sigaction, old: *mut libc::sigaction) -> libc::c_int;
}

/// `sigaction`, with user handlers run through [`trampoline`].
///
/// # Safety
/// Same contract as `sigaction`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn __wrap_sigaction(
    sig: libc::c_int,
    act: *const libc::sigaction,
    old: *mut libc::sigaction,
) -> libc::c_int {
    let Some(i) = usize::try_from(sig).ok().filter(|&i| i < NSIG) else {
        // SAFETY: forwarded unchanged; the caller's pointers, the caller's contract.
        return unsafe { __real_sigaction(sig, act, old) };
    };
    let (prev_handler, prev_flags) = (HANDLERS[i].load(Acquire), FLAGS[i].load(Acquire));
    let mut ours;
    let mut act_ptr = act;
    if !act.is_null() {
        // SAFETY: the caller passes a valid `sigaction` when `act` is non-null.
        ours = unsafe { *act };
        let h = ours.sa_sigaction;
        if h != libc::SIG_DFL && h != libc::SIG_IGN {
            HANDLERS[i].store(h, Release);
            FLAGS[i].store(ours.sa_flags, Release);
            ours.sa_sigaction = trampoline as *const () as usize;
            ours.sa_flags |= libc::SA_SIGINFO;
            act_ptr = &ours;
        } else {
            HANDLERS[i].store(h, Release);
        }
    }
    // SAFETY: `act_ptr` is the caller's or our adjusted copy; `old` is the caller's.
    let rc = unsafe { __real_sigaction(sig, act_ptr, old) };
    if rc == 0 && !old.is_null() {
        // SAFETY: the kernel filled `*old`.
        let o = unsafe { &mut *old };
        if o.sa_sigaction == trampoline as *const () as usize {
            o.sa_sigaction = prev_handler;
            o.sa_flags = prev_flags;
        }
    }
    rc
}

/// `signal`, as glibc defines it (BSD semantics: `SA_RESTART`), through
/// [`__wrap_sigaction`].
///
/// # Safety
/// Same contract as `signal`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn __wrap_signal(sig: libc::c_int, handler: libc::sighandler_t) -> libc::sighandler_t {
    // SAFETY: a zeroed `sigaction` is a valid value (empty mask, no flags).
    let mut act: libc::sigaction = unsafe { std::mem::zeroed() };
    act.sa_sigaction = handler;
    act.sa_flags = libc::SA_RESTART;
    // SAFETY: as above.
    let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are to locals.
    if unsafe { __wrap_sigaction(sig, &act, &mut old) } != 0 {
        return libc::SIG_ERR;
    }
    old.sa_sigaction
}
