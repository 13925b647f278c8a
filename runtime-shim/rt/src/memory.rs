//! The `__tsan_*` memory-access ABI that rustc's ThreadSanitizer
//! instrumentation (`-Zsanitizer=thread`, deep mode) emits into every
//! function of the crates the CLI builds that way: each load and store,
//! `memcpy`/`memmove`/`memset`, and function entry and exit (which give deep
//! mode its stacks). Atomics, emitted in every mode, are in [`super::atomics`].
//!
//! Every access entry point is one plain function holding the inline
//! same-epoch test (so the common case costs the call and a dozen
//! instructions); only when that fails does it read its return address (the
//! instrumented instruction's program counter, which the report names) and
//! call the slow path. The other entry points are naked stubs that pass their
//! return address to one Rust function and jump there.
//!
//! LLVM declares all of these `nounwind`: none may panic.

use std::arch::naked_asm;

const WRITE: u32 = 1 << 8;

/// The calling function's return address. The runtime is compiled with
/// frame pointers and without shrink-wrapping (see the CLI's
/// `RUNTIME_RUSTFLAGS`), so in a function that is never inlined, `rbp`
/// holds its frame's base once the prologue ran, and the word above it is
/// the return address. A macro, so that it is expanded into that very
/// function.
macro_rules! return_address {
    () => {{
        let pc: usize;
        // SAFETY: reads the current frame's return-address slot (see above).
        unsafe { std::arch::asm!("mov {pc}, qword ptr [rbp + 8]", pc = out(reg) pc, options(nostack, readonly, preserves_flags)) };
        pc
    }};
}

/// For each `name = WHAT`: `name(addr)`, the access of `WHAT & 0xff` bytes
/// (a write when bit 8 is set): the inline test, then the slow path with
/// the instrumented instruction's address. One plain, non-generic function
/// per entry point: the fast path's masks are constants.
macro_rules! access {
    ($($name:ident = $what:expr;)*) => {$(
        #[no_mangle]
        #[inline(never)]
        pub extern "C" fn $name(addr: usize) {
            const WHAT: u32 = $what;
            const SIZE: usize = (WHAT & 0xff) as usize;
            const IS_WRITE: bool = WHAT & WRITE != 0;
            if super::seen_in_this_epoch(addr, SIZE, IS_WRITE) {
                return;
            }
            super::deep_access_slow(addr, SIZE, IS_WRITE, return_address!());
        }
    )*};
}

// Aligned, unaligned, volatile and both: the same check (a volatile access
// races like any other plain one). `read_write` is a compound access (a read
// then a write of the same place), checked as the write.
access! {
    __tsan_read1 = 1; __tsan_read2 = 2; __tsan_read4 = 4; __tsan_read8 = 8; __tsan_read16 = 16;
    __tsan_write1 = WRITE | 1; __tsan_write2 = WRITE | 2; __tsan_write4 = WRITE | 4;
    __tsan_write8 = WRITE | 8; __tsan_write16 = WRITE | 16;
    __tsan_unaligned_read1 = 1; __tsan_unaligned_read2 = 2; __tsan_unaligned_read4 = 4;
    __tsan_unaligned_read8 = 8; __tsan_unaligned_read16 = 16;
    __tsan_unaligned_write1 = WRITE | 1; __tsan_unaligned_write2 = WRITE | 2; __tsan_unaligned_write4 = WRITE | 4;
    __tsan_unaligned_write8 = WRITE | 8; __tsan_unaligned_write16 = WRITE | 16;
    __tsan_volatile_read1 = 1; __tsan_volatile_read2 = 2; __tsan_volatile_read4 = 4;
    __tsan_volatile_read8 = 8; __tsan_volatile_read16 = 16;
    __tsan_volatile_write1 = WRITE | 1; __tsan_volatile_write2 = WRITE | 2; __tsan_volatile_write4 = WRITE | 4;
    __tsan_volatile_write8 = WRITE | 8; __tsan_volatile_write16 = WRITE | 16;
    __tsan_unaligned_volatile_read1 = 1; __tsan_unaligned_volatile_read2 = 2; __tsan_unaligned_volatile_read4 = 4;
    __tsan_unaligned_volatile_read8 = 8; __tsan_unaligned_volatile_read16 = 16;
    __tsan_unaligned_volatile_write1 = WRITE | 1; __tsan_unaligned_volatile_write2 = WRITE | 2;
    __tsan_unaligned_volatile_write4 = WRITE | 4; __tsan_unaligned_volatile_write8 = WRITE | 8;
    __tsan_unaligned_volatile_write16 = WRITE | 16;
    __tsan_read_write1 = WRITE | 1; __tsan_read_write2 = WRITE | 2; __tsan_read_write4 = WRITE | 4;
    __tsan_read_write8 = WRITE | 8; __tsan_read_write16 = WRITE | 16;
    __tsan_unaligned_read_write1 = WRITE | 1; __tsan_unaligned_read_write2 = WRITE | 2;
    __tsan_unaligned_read_write4 = WRITE | 4; __tsan_unaligned_read_write8 = WRITE | 8;
    __tsan_unaligned_read_write16 = WRITE | 16;
}

/// `(addr, size)` ranges, with the caller's program counter.
extern "C" fn range(addr: usize, size: usize, pc: usize, write: u32) {
    super::deep_access(addr, size, write != 0, pc);
}

#[unsafe(naked)]
#[no_mangle]
pub unsafe extern "C" fn __tsan_read_range(addr: *mut u8, size: usize) {
    naked_asm!("mov rdx, [rsp]", "xor ecx, ecx", "jmp {range}", range = sym range)
}

#[unsafe(naked)]
#[no_mangle]
pub unsafe extern "C" fn __tsan_write_range(addr: *mut u8, size: usize) {
    naked_asm!("mov rdx, [rsp]", "mov ecx, 1", "jmp {range}", range = sym range)
}

/// `memcpy`/`memmove` (`overlap`): a read of the source and a write of the
/// destination, then the copy. Returns `dst`, as the C functions do.
extern "C" fn copy(dst: *mut u8, src: *const u8, n: usize, pc: usize, overlap: u32) -> *mut u8 {
    if n > 0 {
        super::deep_access(src as usize, n, false, pc);
        super::deep_access(dst as usize, n, true, pc);
    }
    // SAFETY: the instrumented code asked for exactly this copy (LLVM's
    // memcpy/memmove intrinsics, whose contracts its caller met).
    unsafe {
        if overlap != 0 {
            std::ptr::copy(src, dst, n);
        } else {
            std::ptr::copy_nonoverlapping(src, dst, n);
        }
    }
    dst
}

#[unsafe(naked)]
#[no_mangle]
pub unsafe extern "C" fn __tsan_memcpy(dst: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    naked_asm!("mov rcx, [rsp]", "xor r8d, r8d", "jmp {copy}", copy = sym copy)
}

#[unsafe(naked)]
#[no_mangle]
pub unsafe extern "C" fn __tsan_memmove(dst: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    naked_asm!("mov rcx, [rsp]", "mov r8d, 1", "jmp {copy}", copy = sym copy)
}

extern "C" fn fill(dst: *mut u8, byte: i32, n: usize, pc: usize) -> *mut u8 {
    if n > 0 {
        super::deep_access(dst as usize, n, true, pc);
    }
    // SAFETY: as in `copy`: the memset the instrumented code asked for.
    unsafe { std::ptr::write_bytes(dst, byte as u8, n) };
    dst
}

#[unsafe(naked)]
#[no_mangle]
pub unsafe extern "C" fn __tsan_memset(dst: *mut u8, byte: i32, n: usize) -> *mut u8 {
    naked_asm!("mov rcx, [rsp]", "jmp {fill}", fill = sym fill)
}

/// Entering an instrumented function; `caller_pc` is its return address.
#[no_mangle]
pub extern "C" fn __tsan_func_entry(caller_pc: *mut u8) {
    super::call_enter(caller_pc as usize);
}

/// Leaving it, by return or by unwinding.
#[no_mangle]
pub extern "C" fn __tsan_func_exit() {
    super::call_exit();
}

/// Called by each instrumented module's constructor, before `main`: the
/// runtime starts on its first event instead.
#[no_mangle]
pub extern "C" fn __tsan_init() {}

/// Virtual-table pointers are a C++ matter; rustc never emits these, but
/// they are part of the ABI, so a module that did would still link.
#[no_mangle]
pub extern "C" fn __tsan_vptr_read(_vptr: *mut *mut u8) {}

#[no_mangle]
pub extern "C" fn __tsan_vptr_update(_vptr: *mut *mut u8, _new: *mut u8) {}

/// For functions marked to run unchecked; rustc never marks any.
#[no_mangle]
pub extern "C" fn __tsan_ignore_thread_begin() {}

#[no_mangle]
pub extern "C" fn __tsan_ignore_thread_end() {}
