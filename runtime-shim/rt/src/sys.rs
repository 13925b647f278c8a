//! Raw machine access: return addresses through frame pointers, fd output.
//!
//! Every function of an instrumented build is compiled with
//! `-C force-frame-pointers=yes` (the CLI's compiler wrapper adds it), and
//! std's own objects keep frame pointers too, so `[rbp]` is the caller's frame
//! pointer and `[rbp + 8]` the return address into the caller.

use std::arch::asm;

/// The return address of the current function (into its caller).
#[inline(always)]
pub fn caller_pc() -> usize {
    let rbp: usize;
    // SAFETY: reading rbp has no side effects.
    unsafe { asm!("mov {}, rbp", out(reg) rbp, options(nomem, nostack, preserves_flags)) };
    // SAFETY: the current function has a frame pointer (see module docs); its
    // return address is the live stack slot above the saved rbp.
    unsafe { *((rbp + 8) as *const usize) }
}

/// Walk frame pointers from the current frame, collecting up to `out.len()`
/// return addresses; stops at anything that does not look like a frame of
/// this thread's stack (`[lo, hi)`). Returns how many were written.
#[inline(always)]
pub fn walk_frames(out: &mut [usize], lo: usize, hi: usize) -> usize {
    let mut rbp: usize;
    // SAFETY: reading rbp has no side effects.
    unsafe { asm!("mov {}, rbp", out(reg) rbp, options(nomem, nostack, preserves_flags)) };
    if rbp < lo {
        return 0;
    }
    // Each frame checked is above the one before (the loop stops
    // otherwise), so above `lo` too: only the top needs checking.
    let top = hi.saturating_sub(16);
    let mut n = 0;
    while n < out.len() {
        if rbp > top || rbp % 8 != 0 {
            break;
        }
        // SAFETY: rbp lies inside this thread's stack (`lo` checked before
        // the loop, the top above), which is mapped; the two words read are
        // within it.
        let (next, ret) = unsafe { (*(rbp as *const usize), *((rbp + 8) as *const usize)) };
        if ret < 4096 {
            break;
        }
        out[n] = ret;
        n += 1;
        if next <= rbp {
            break;
        }
        rbp = next;
    }
    n
}

/// Bounds of the calling thread's stack, `(lo, hi)`.
pub fn stack_bounds() -> (usize, usize) {
    // SAFETY: pthread_getattr_np fills `attr` for the calling thread; we
    // destroy it after reading the stack range.
    unsafe {
        let mut attr: libc::pthread_attr_t = std::mem::zeroed();
        if libc::pthread_getattr_np(libc::pthread_self(), &mut attr) != 0 {
            return (0, 0);
        }
        let mut addr: *mut libc::c_void = std::ptr::null_mut();
        let mut size: libc::size_t = 0;
        let rc = libc::pthread_attr_getstack(&attr, &mut addr, &mut size);
        libc::pthread_attr_destroy(&mut attr);
        if rc != 0 {
            return (0, 0);
        }
        (addr as usize, addr as usize + size)
    }
}

/// The calling thread's thread pointer (the `fs` base on x86_64): the
/// executable's thread-local block ends there.
pub fn thread_pointer() -> usize {
    let tp: usize;
    // SAFETY: on x86_64 Linux, `fs:0` holds the thread control block's
    // pointer to itself, which is the thread pointer.
    unsafe { asm!("mov {}, qword ptr fs:0", out(reg) tp, options(nostack, readonly, preserves_flags)) };
    tp
}

/// Write all of `bytes` to `fd`, bypassing std's buffers and the test
/// harness's output capture.
pub fn write_fd(fd: i32, bytes: &[u8]) {
    let mut rest = bytes;
    while !rest.is_empty() {
        // SAFETY: `rest` is a valid buffer of `rest.len()` bytes.
        let n = unsafe { libc::write(fd, rest.as_ptr().cast(), rest.len()) };
        if n <= 0 {
            if n < 0 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return;
        }
        rest = &rest[n as usize..];
    }
}
