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

use racecheck_detector::history::{Event, Frame};
use racecheck_detector::shadow::{self as rules, CELLS};

use super::{frames, ThreadState};
use crate::abi::{shadow_of, APP_BITS, SHADOW_ADDR};

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
/// per entry point: the fast path's masks are constants. For the unaligned,
/// volatile and 16-byte forms (rare); the aligned ones are [`aligned!`].
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

/// The first line of the hottest hooks' bodies: their section, and so the
/// hook, starts on a cache line (the directive comes right after the
/// hook's label, at the start of the section `naked_asm!` puts it in, so it
/// pads nothing and only raises the section's alignment). Otherwise where
/// a hook falls depends on unrelated code before it, and a fast path
/// split across lines made a workload's run 15% slower from one build to
/// the next.
macro_rules! HOT {
    () => {
        ".p2align 6\n"
    };
}

/// The slow path of the [`aligned!`] entry points, which jump here with
/// the instrumented instruction's address as `pc`.
extern "C" fn aligned_slow(addr: usize, size: usize, write: u32, pc: usize) {
    super::deep_access_slow(addr, size, write != 0, pc);
}

/// For each `name = (SIZE, WRITE)`: the aligned access of `SIZE` (1, 2, 4
/// or 8) bytes, most of deep mode's calls, as a naked function holding
/// the inline test of [`super::seen_in_this_epoch`] spelled out: no frame
/// to set up (the runtime keeps frame pointers), and, the compiler having
/// promised alignment, no test for an access that crosses its granule.
/// On a miss it jumps to [`aligned_slow`] with its return address, the
/// instrumented instruction's. Only caller-saved registers are touched.
///
/// The test, as in Rust: `key = __racecheck_deep_key` (all ones until the
/// thread's first slow path, by which the shadow is reserved); the
/// granule's cells at [`shadow_of`]; the probe is the key with the
/// access's byte mask (`probe_bits(size, false) << (addr & 7)`) and its
/// write bit added; a cell matches when it is at or above the probe and
/// agrees with it on `probe_compare`'s bits.
macro_rules! aligned {
    ($($name:ident = ($size:literal, $write:literal $(, $shift:literal)*);)*) => {$(
        #[unsafe(naked)]
        #[no_mangle]
        pub unsafe extern "C" fn $name(addr: usize) {
            aligned_asm!(($size, $write $(, $shift)*),
                "3:",
                "ret",
                "2:",
                "mov rcx, qword ptr [rsp]",
                "mov esi, {size}",
                "mov edx, {write}",
                "jmp {slow}";
                size = const $size,
                write = const $write as u32,
                slow = sym aligned_slow,
            )
        }

        /// The same test alone, for the unit tests: 1 on a hit, 0 on a miss.
        #[cfg(test)]
        pub mod $name {
            use super::*;

            #[unsafe(naked)]
            pub unsafe extern "C" fn probe(addr: usize) -> u32 {
                aligned_asm!(($size, $write $(, $shift)*), "3:", "mov eax, 1", "ret", "2:", "xor eax, eax", "ret";)
            }
        }
    )*};
}

/// The body of an [`aligned!`] function: [`fast_test!`] for an access of
/// `$size` bytes (a write if `$write`), with its operands, then `$tail`
/// (its hit at label 3, its miss at label 2) and the tail's operands.
macro_rules! aligned_asm {
    (($size:literal, $write:literal $(, $shift:literal)*), $($tail:literal),*; $($operands:tt)*) => {
        aligned_asm!(@ $size, $write, fast_test!("2f"; $($shift),*), $($tail),*; $($operands)*)
    };
    // `$test`: the inline test as `fast_test!` spells it for this size.
    (@ $size:literal, $write:literal, $test:expr, $($tail:expr),*; $($operands:tt)*) => {
        naked_asm!(
            $test,
            $($tail,)*
            fold = const 64 - APP_BITS,
            shadow = const SHADOW_ADDR,
            bytes = const rules::probe_bits($size, false),
            write_bit = const rules::probe_bits($size, $write) - rules::probe_bits($size, false),
            compare = const rules::probe_compare($write),
            $($operands)*
        )
    };
}

/// The inline test of [`aligned!`]: falls through on a hit, jumps to `2f`
/// on a miss, or to `$miss` when the key is set and no cell matches.
/// `$shift`: the instructions that move the byte mask in `esi` to the
/// access's offset (none for 8 bytes).
macro_rules! fast_test {
    ($miss:literal; $($shift:literal),*) => {
        fast_test!(@ $miss; "mov esi, {bytes}\n", $($shift, "\n",)* "or rax, rsi\n", "or rax, {write_bit}\n")
    };
    // 8 bytes: the probe's bits are one immediate.
    ($miss:literal) => {
        fast_test!(@ $miss; "or rax, {bytes} + {write_bit}\n")
    };
    (@ $miss:literal; $($probe:literal),*) => {
        concat!(
            HOT!(),
            "mov rax, qword ptr fs:[__racecheck_deep_key@tpoff]\n",
            "cmp rax, -1\n",
            "je 2f\n",
            "mov rdx, rdi\n",
            "and rdx, -8\n",
            "shl rdx, {fold}\n",
            "shr rdx, {fold} - 1\n",
            "movabs rcx, {shadow}\n",
            "add rdx, rcx\n",
            $($probe,)*
            "mov rcx, qword ptr [rdx]\n",
            "cmp rcx, rax\n",
            "jb 1f\n",
            "xor rcx, rax\n",
            "test ecx, {compare}\n",
            "je 3f\n",
            "1:\n",
            "mov rcx, qword ptr [rdx + 8]\n",
            "cmp rcx, rax\n",
            "jb ", $miss, "\n",
            "xor rcx, rax\n",
            "test ecx, {compare}\n",
            "jne ", $miss, "\n",
        )
    };
}

// The layout the hand-written test assumes: two cells of 8 bytes, 16
// bytes of shadow per granule, so a granule's cells are at `SHADOW_ADDR`
// plus twice its address's low `APP_BITS` bits (shifted up to drop the
// rest, down one less to double); compare masks that fit an immediate.
const _: () = {
    assert!(CELLS == 2 && shadow_of(8) - shadow_of(0) == 16 && shadow_of(1 << APP_BITS) == shadow_of(0));
    assert!(rules::probe_compare(true) < 1 << 31 && rules::probe_compare(false) < 1 << 31);
};

/// For each `name = WRITE`: the aligned access of 8 bytes, as [`aligned!`]
/// with, before the slow path, the sweep shortcut ([`sweep`]): the next
/// granule of a run this very instruction is making through memory that
/// is fresh, or was another thread's and is ordered before this one (the
/// first pass over a buffer another thread filled).
macro_rules! aligned8 {
    ($($name:ident = $write:literal;)*) => {$(
        #[unsafe(naked)]
        #[no_mangle]
        pub unsafe extern "C" fn $name(addr: usize) {
            aligned8_asm!($write,
                "3:",
                "ret",
                "4:",
                "mov r8, qword ptr [rsp]",
                sweep_test!(),
                "ret",
                "2:",
                "mov rcx, qword ptr [rsp]",
                "mov esi, 8",
                "mov edx, {write}",
                "jmp {slow}";
                write = const $write as u32,
                slow = sym aligned_slow,
            )
        }

        /// The same tests alone, for the unit tests, with the program
        /// counter as the fifth argument: 1 on a hit, 2 on the sweep
        /// shortcut (which stores its cell), 0 on a miss.
        #[cfg(test)]
        pub mod $name {
            use super::*;

            #[unsafe(naked)]
            pub unsafe extern "C" fn probe(addr: usize, _: usize, _: usize, _: usize, pc: usize) -> u32 {
                aligned8_asm!($write,
                    "3:", "mov eax, 1", "ret",
                    "4:", sweep_test!(), "mov eax, 2", "ret",
                    "2:", "xor eax, eax", "ret";
                )
            }
        }
    )*};
}

/// The sweep shortcut's test, after [`fast_test!`] missed on the cells
/// (`rdi`: the address; `rdx`: its granule's cells; `r8`: the program
/// counter): falls through having stored the sweep's cell, or jumps to
/// `2f`. In Rust, with `s` the thread's [`sweep::Sweep`] for `pc`:
///
/// ```text
/// cells[1] == 0 && granule == s.next
///     && granule % APP_WINDOW != 0              // the window is prefaulted
///     && cells[0] < s.limit && cells[0] & SWEEP_LOW_BITS == s.low
///     && state != null && !busy && state.stack.len == s.depth
///   => s.next += 8; cells[s.at / 8] = s.cell
/// ```
macro_rules! sweep_test {
    () => {
        concat!(
            "xor r9d, r9d\n",
            "cmp r8, qword ptr fs:[__racecheck_sweep@tpoff + {sw_pc}]\n",
            "je 5f\n",
            "mov r9d, {sw_size}\n",
            "cmp r8, qword ptr fs:[__racecheck_sweep@tpoff + {sw_size} + {sw_pc}]\n",
            "jne 2f\n",
            "5:\n",
            "cmp qword ptr [rdx + 8], 0\n",
            "jne 2f\n",
            "mov rcx, rdi\n",
            "and rcx, -8\n",
            "cmp rcx, qword ptr fs:[r9 + __racecheck_sweep@tpoff + {sw_next}]\n",
            "jne 2f\n",
            "test ecx, {sw_window}\n",
            "je 2f\n",
            "mov rsi, qword ptr [rdx]\n",
            "cmp rsi, qword ptr fs:[r9 + __racecheck_sweep@tpoff + {sw_limit}]\n",
            "jae 2f\n",
            "and esi, {sw_low_bits}\n",
            "cmp rsi, qword ptr fs:[r9 + __racecheck_sweep@tpoff + {sw_low}]\n",
            "jne 2f\n",
            "mov rax, qword ptr fs:[__racecheck_tls@tpoff]\n",
            "test rax, rax\n",
            "je 2f\n",
            "cmp byte ptr fs:[__racecheck_tls@tpoff + {sw_busy}], 0\n",
            "jne 2f\n",
            "mov rax, qword ptr [rax + {sw_len}]\n",
            "cmp rax, qword ptr fs:[r9 + __racecheck_sweep@tpoff + {sw_depth}]\n",
            "jne 2f\n",
            "add rcx, 8\n",
            "mov qword ptr fs:[r9 + __racecheck_sweep@tpoff + {sw_next}], rcx\n",
            "mov rcx, qword ptr fs:[r9 + __racecheck_sweep@tpoff + {sw_cell}]\n",
            "mov rax, qword ptr fs:[r9 + __racecheck_sweep@tpoff + {sw_at}]\n",
            "mov qword ptr [rdx + rax], rcx\n",
        )
    };
}

/// The body of an [`aligned8!`] function: [`aligned_asm!`]'s, with the
/// test missing on the cells to `4f`, then `$tail` (which holds
/// [`sweep_test!`]), with [`sweep_test!`]'s operands and the tail's own.
macro_rules! aligned8_asm {
    ($write:literal, $($tail:expr),*; $($operands:tt)*) => {
        aligned_asm!(@ 8, $write, fast_test!("4f"), $($tail),*;
            sw_size = const std::mem::size_of::<crate::memory::sweep::Sweep>(),
            sw_at = const std::mem::offset_of!(crate::memory::sweep::Sweep, at),
            sw_pc = const std::mem::offset_of!(crate::memory::sweep::Sweep, pc),
            sw_next = const std::mem::offset_of!(crate::memory::sweep::Sweep, next),
            sw_depth = const std::mem::offset_of!(crate::memory::sweep::Sweep, depth),
            sw_limit = const std::mem::offset_of!(crate::memory::sweep::Sweep, limit),
            sw_low = const std::mem::offset_of!(crate::memory::sweep::Sweep, low),
            sw_cell = const std::mem::offset_of!(crate::memory::sweep::Sweep, cell),
            sw_window = const (1u32 << crate::shadow::APP_WINDOW_LOG) - 1,
            sw_low_bits = const rules::SWEEP_LOW_BITS,
            sw_busy = const crate::TLS_BUSY,
            sw_len = const std::mem::offset_of!(crate::ThreadState, stack) + crate::frames::LEN,
            $($operands)*
        )
    };
}

aligned8! {
    __tsan_read8 = false; __tsan_write8 = true; __tsan_read_write8 = true;
}

// Below 8 bytes the probe's byte mask moves to the access's offset.
aligned! {
    __tsan_read1 = (1, false, "mov ecx, edi", "and ecx, 7", "shl esi, cl");
    __tsan_read2 = (2, false, "mov ecx, edi", "and ecx, 7", "shl esi, cl");
    __tsan_read4 = (4, false, "mov ecx, edi", "and ecx, 7", "shl esi, cl");
    __tsan_write1 = (1, true, "mov ecx, edi", "and ecx, 7", "shl esi, cl");
    __tsan_write2 = (2, true, "mov ecx, edi", "and ecx, 7", "shl esi, cl");
    __tsan_write4 = (4, true, "mov ecx, edi", "and ecx, 7", "shl esi, cl");
    __tsan_read_write1 = (1, true, "mov ecx, edi", "and ecx, 7", "shl esi, cl");
    __tsan_read_write2 = (2, true, "mov ecx, edi", "and ecx, 7", "shl esi, cl");
    __tsan_read_write4 = (4, true, "mov ecx, edi", "and ecx, 7", "shl esi, cl");
}

// Unaligned, volatile and both, and every 16-byte form: the same check (a
// volatile access races like any other plain one). `read_write` is a
// compound access (a read then a write of the same place), checked as the
// write.
access! {
    __tsan_read16 = 16; __tsan_write16 = WRITE | 16;
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
    __tsan_read_write16 = WRITE | 16;
    __tsan_unaligned_read_write1 = WRITE | 1; __tsan_unaligned_read_write2 = WRITE | 2;
    __tsan_unaligned_read_write4 = WRITE | 4; __tsan_unaligned_read_write8 = WRITE | 8;
    __tsan_unaligned_read_write16 = WRITE | 16;
}

/// Deep mode's sweep shortcut. A loop making its first pass through memory
/// (filling a buffer it allocated, or updating one another thread filled
/// before starting it) takes the slow path at every granule, each time to
/// find the same thing: the granule's first cell empty, or holding the
/// same kind of access by the same thread, its own or another ordered
/// before this one; the access goes there (or beside it, a read of what
/// another thread wrote), at the epoch of the same history event as the
/// last time (see `ThreadState::log`). After such a slow path the thread
/// keeps what the next granule's cells must look like, and the 8-byte hooks
/// ([`aligned8!`]) store the access there themselves, as the slow path
/// would have, when they do ([`sweep_test!`]). Two such runs are kept at
/// once, for loops whose body makes two (a copy, or a debug build's
/// `*p += 1`, a read then a write of each word).
///
/// What it keeps holds only while the slow path would give the access the
/// same epoch: the same instruction (`pc`), the same frames (no frame
/// recorded or left since: every entry into the runtime but an access's
/// slow path cancels the sweep, an access that records a frame's entry
/// cancels it, and a frame entered or left without one changes the stack's
/// depth), no release (which only the runtime does), an event the history
/// still holds ([`pushed`]). And while the run is dense: the next granule
/// (`next`), inside a prefault window already faulted in.
pub(crate) mod sweep {
    use std::cell::Cell as StdCell;

    use racecheck_detector::clock::Epoch;
    use racecheck_detector::history::Event;
    use racecheck_detector::shadow::{self as rules, Cell};

    use crate::ThreadState;

    /// Runs kept at once.
    pub const ENTRIES: usize = 2;

    /// One run, read by hand-written code at these fields' offsets.
    /// `pc == 0`: none.
    #[repr(C, align(64))]
    pub struct Sweep {
        pub pc: StdCell<u64>,
        /// The granule the run reaches next.
        pub next: StdCell<u64>,
        /// The depth of the frame stack.
        pub depth: StdCell<u64>,
        /// What the granule's first cell must fit: [`rules::sweep_pattern`];
        /// its second must be empty.
        pub limit: StdCell<u64>,
        pub low: StdCell<u64>,
        /// The cell to store, and where: 0 in place of the first cell, 8
        /// in the second, beside it.
        pub cell: StdCell<u64>,
        pub at: StdCell<u64>,
    }

    /// The thread's runs, in `__racecheck_sweep`.
    #[repr(C)]
    pub struct Table {
        pub entries: [Sweep; ENTRIES],
    }
    const _: () = assert!(std::mem::size_of::<Sweep>() == 64 && std::mem::size_of::<Table>() == 128,
        "as the hooks index it and `__racecheck_sweep` is reserved");

    /// Forget the runs: the runtime is entered.
    #[inline(always)]
    pub fn cancel() {
        for e in &crate::sweep_tls().entries {
            e.pc.set(0);
        }
    }

    /// Events a run's event may be behind the history's newest: far fewer
    /// than any history holds (32K at `history_size=0`), so its stack is
    /// always restorable.
    const STALE_AFTER: Epoch = 1024;

    /// An access event was just recorded at `epoch` (the runs' events are
    /// older): forget runs whose events are falling behind.
    #[inline(always)]
    pub fn pushed(epoch: Epoch) {
        for e in &crate::sweep_tls().entries {
            if e.pc.get() != 0 && Cell::from_raw(e.cell.get()).epoch() + STALE_AFTER < epoch {
                e.pc.set(0);
            }
        }
    }

    /// `cur`, the access of `event`, was just stored in `granule`'s cell
    /// `at` (0 in place of `old`, 1 beside it), the second cell having been
    /// empty and nothing cleared (`quick_store`'s answer, or a fresh
    /// granule in a dense run): if it is an 8-byte access by an instruction
    /// of deep mode's, let the next granule take the shortcut.
    #[inline(always)]
    pub fn offer(st: &ThreadState, event: Event, granule: usize, cur: Cell, old: Cell, at: usize) {
        let pc = match event {
            Event::PcRead(pc) | Event::PcWrite(pc) => pc,
            _ => return,
        };
        if cur.mask() != 0xff || cur.is_atomic() {
            return;
        }
        let own = !old.is_empty() && old.slot() == st.slot;
        let clock = if old.is_empty() || own { 0 } else { st.clocks.clock.get(old.slot()) };
        let (low, limit) = rules::sweep_pattern(old, own, clock);
        let t = &crate::sweep_tls().entries;
        // This instruction's run, else a free one, else the older.
        let i = (0..ENTRIES)
            .find(|&i| t[i].pc.get() == pc)
            .or_else(|| (0..ENTRIES).find(|&i| t[i].pc.get() == 0))
            .unwrap_or(if t[0].cell.get() <= t[1].cell.get() { 0 } else { 1 });
        let s = &t[i];
        s.next.set(granule as u64 + 8);
        s.depth.set(st.stack.len() as u64);
        s.limit.set(limit);
        s.low.set(low);
        s.cell.set(cur.raw());
        s.at.set(at as u64 * 8);
        s.pc.set(pc);
    }
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

/// Entering an instrumented function; `caller_pc` (the first argument) is
/// its return address. The hottest hook of deep mode (every call, and in a
/// debug build every iterator step is one), so written by hand: only a
/// push onto the thread's frame stack (its entry is recorded when something
/// is recorded inside it, see `ThreadState::log`), taking the state without
/// marking the thread busy, which it may as it calls nothing. A thread
/// without state, inside the runtime, or whose stack is full (a finished
/// thread's has no room at all) takes [`enter_slow`].
#[unsafe(naked)]
#[no_mangle]
pub unsafe extern "C" fn __tsan_func_entry(caller_pc: *mut u8) {
    naked_asm!(
        HOT!(),
        "mov rax, qword ptr fs:[__racecheck_tls@tpoff]",
        "test rax, rax",
        "je 2f",
        "cmp byte ptr fs:[__racecheck_tls@tpoff + {busy}], 0",
        "jne 2f",
        "mov rcx, qword ptr [rax + {len}]",
        "cmp rcx, qword ptr [rax + {cap}]",
        "jae 2f",
        "mov rdx, rcx",
        "shl rdx, 4",
        "add rdx, qword ptr [rax + {ptr}]",
        "mov qword ptr [rdx], {call}",
        "mov qword ptr [rdx + 8], rdi",
        "inc rcx",
        "mov qword ptr [rax + {len}], rcx",
        "ret",
        "2:",
        "jmp {slow}",
        busy = const super::TLS_BUSY,
        len = const std::mem::offset_of!(ThreadState, stack) + frames::LEN,
        cap = const std::mem::offset_of!(ThreadState, stack) + frames::CAP,
        ptr = const std::mem::offset_of!(ThreadState, stack) + frames::PTR,
        call = const Frame::CALL,
        slow = sym enter_slow,
    )
}

/// The thread's first event, or its stack must grow (which allocates).
extern "C" fn enter_slow(caller_pc: usize) {
    super::with_state(|st| st.stack.push(Frame::call(caller_pc as u64)));
}

/// Leaving the innermost instrumented function, by return or by unwinding:
/// popped, or, if its entry was recorded, recorded as left ([`exit_logged`]).
/// A deep frame never fails the test: the compiler's calls cannot unwind.
/// Nothing to do for a thread without state or inside the runtime, or
/// with an empty stack (a finished thread's).
#[unsafe(naked)]
#[no_mangle]
pub unsafe extern "C" fn __tsan_func_exit() {
    naked_asm!(
        HOT!(),
        "mov rax, qword ptr fs:[__racecheck_tls@tpoff]",
        "test rax, rax",
        "je 3f",
        "cmp byte ptr fs:[__racecheck_tls@tpoff + {busy}], 0",
        "jne 3f",
        "mov rcx, qword ptr [rax + {len}]",
        "cmp rcx, qword ptr [rax + {logged}]",
        "jbe 2f",
        "dec rcx",
        "mov qword ptr [rax + {len}], rcx",
        "3:",
        "ret",
        "2:",
        "test rcx, rcx",
        "je 3b",
        "jmp {slow}",
        busy = const super::TLS_BUSY,
        len = const std::mem::offset_of!(ThreadState, stack) + frames::LEN,
        logged = const std::mem::offset_of!(ThreadState, logged),
        slow = sym exit_logged,
    )
}

extern "C" fn exit_logged() {
    super::with_state(|st| {
        st.history.push(Event::Exit, &st.stack);
        st.stack.pop();
        st.logged = st.stack.len();
    });
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

#[cfg(test)]
mod tests {
    use super::*;
    use racecheck_detector::shadow::{epoch_floor, epoch_key, AccessKind, Cell};
    use racecheck_detector::Slot;

    /// Reserve the shadow once for all the tests (two reserving at once,
    /// the second would find its address taken).
    fn reserve_shadow() {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| assert!(crate::shadow::init(false)));
    }

    fn set_deep_key(key: u64) {
        // SAFETY: this thread's own `__racecheck_deep_key`, a u64.
        unsafe { std::arch::asm!("mov qword ptr fs:[__racecheck_deep_key@tpoff], {k}", k = in(reg) key) };
    }

    /// The hand-written test agrees with the Rust one (`seen_in_epoch`,
    /// which the annotated inline check and the unaligned entry points
    /// use) for every aligned size, offset and kind, against cells of this
    /// thread and another, before, in and after the epoch, of every kind,
    /// flagging a spilled write or not.
    #[test]
    fn the_hand_written_fast_path_agrees_with_the_rules() {
        reserve_shadow();
        let buf = vec![0u64; 4];
        let granule = buf.as_ptr() as usize + 8;
        let cells = shadow_of(granule) as *mut u64;
        let me = Slot::new(37);
        let floor = epoch_floor(1000);
        let key = epoch_key(floor, me);
        type Probe = unsafe extern "C" fn(usize) -> u32;
        // The 8-byte probes with a program counter no sweep has.
        macro_rules! no_sweep {
            ($m:ident) => {{
                extern "C" fn f(addr: usize) -> u32 {
                    // SAFETY: as the other probes: reads the shadow and TLS.
                    unsafe { $m::probe(addr, 0, 0, 0, 1) }
                }
                f as Probe
            }};
        }
        let entries: [(usize, bool, Probe); 12] = [
            (1, false, __tsan_read1::probe), (2, false, __tsan_read2::probe), (4, false, __tsan_read4::probe),
            (8, false, no_sweep!(__tsan_read8)), (1, true, __tsan_write1::probe), (2, true, __tsan_write2::probe),
            (4, true, __tsan_write4::probe), (8, true, no_sweep!(__tsan_write8)),
            (1, true, __tsan_read_write1::probe), (2, true, __tsan_read_write2::probe),
            (4, true, __tsan_read_write4::probe), (8, true, no_sweep!(__tsan_read_write8)),
        ];
        let mut kinds = vec![AccessKind::Read, AccessKind::Write];
        kinds.extend([AccessKind::AtomicRead, AccessKind::AtomicWrite]);
        let mut olds = vec![0u64];
        for slot in [me, Slot::new(36), Slot::new(38), Slot::new(37 | 32), Slot::new(37 | 64)] {
            for epoch in [999, 1000, 1001, 5000] {
                for kind in &kinds {
                    for (offset, size) in [(0, 8), (0, 4), (4, 4), (2, 2), (6, 2), (0, 1), (1, 1), (2, 1), (7, 1)] {
                        let cell = Cell::new(slot, epoch, offset, size, *kind).raw();
                        // Flagged or not: a spilled write changes nothing here.
                        olds.extend([cell, cell | Cell::SPILL]);
                    }
                }
            }
        }
        let mut hits = 0;
        for &(size, write, probe) in &entries {
            for offset in (0..8).step_by(size) {
                for &a in &olds {
                    for &b in &[0, olds[1], olds[olds.len() / 2]] {
                        // SAFETY: the granule's two cells, in the reserved shadow.
                        unsafe { (cells.write(a), cells.add(1).write(b)) };
                        set_deep_key(key);
                        let expect = [a, b].iter().any(|&c| rules::seen_in_epoch(c, key, offset as u64, size as u64, write));
                        // SAFETY: the probe only reads the shadow and the key.
                        let got = unsafe { probe(granule + offset) } == 1;
                        assert_eq!(got, expect, "size {size} offset {offset} write {write} cells {a:#x} {b:#x}");
                        hits += got as u32;
                        set_deep_key(u64::MAX);
                        // SAFETY: as above.
                        assert_eq!(unsafe { probe(granule + offset) }, 0, "no key, no hit");
                    }
                }
            }
        }
        assert!(hits > 100, "the cases include hits: {hits}");
    }

    /// The sweep shortcut stores the kept cell exactly when every condition
    /// of `sweep_test!` holds, and moves the run on; each condition alone
    /// failing sends the access to the slow path with the shadow unchanged.
    #[test]
    fn the_sweep_shortcut_takes_exactly_the_next_fitting_granule() {
        reserve_shadow();
        let me = Slot::new(37);
        let other = Slot::new(12);
        let key = epoch_key(epoch_floor(1000), me);
        // A stand-in state: the hook reads only the frame stack's length.
        let mut fake = [0u64; 8];
        fake[frames::LEN / 8] = 3;
        let t = crate::tls();
        t.state.set(fake.as_mut_ptr().cast());
        set_deep_key(key);
        let table = &crate::sweep_tls().entries;
        const PC: usize = 0x5555_1234;
        // Granules far from anything, none at the start of a window.
        let base = 0x3000_0000_0000usize + 0x40;
        let cells = |g: usize| shadow_of(g) as *mut u64;
        let set = |g: usize, a: u64, b: u64| unsafe { (cells(g).write(a), cells(g).add(1).write(b)) };
        let get = |g: usize| unsafe { (cells(g).read(), cells(g).add(1).read()) };
        for (write, probe) in [(true, __tsan_write8::probe as Probe5), (false, __tsan_read8::probe), (true, __tsan_read_write8::probe)] {
            let kind = if write { AccessKind::Write } else { AccessKind::Read };
            let cur = Cell::new(me, 1002, 0, 8, kind);
            let filled = Cell::new(other, 40, 0, 8, kind).raw();
            // (the pattern's `old`, the first cell, the clock entry for
            // `other`, where the run stores: in place or beside); in entry
            // `k`, the other entry holding another instruction's run.
            let cases = [(Cell::EMPTY, 0u64, 0, 0usize), (Cell::from_raw(filled), filled, 40, 0), (Cell::from_raw(filled), filled, 40, 1)];
            for (k, (old, first, clock, at)) in (0..sweep::ENTRIES).flat_map(|k| cases.map(|c| (k, c))) {
                let s = &table[k];
                let (low, limit) = rules::sweep_pattern(old, false, clock);
                let arm = |next: usize| {
                    let o = &table[1 - k];
                    (o.pc.set(PC as u64 + 0x100), o.next.set(next as u64), o.depth.set(3), o.limit.set(u64::MAX), o.low.set(low));
                    s.pc.set(PC as u64);
                    s.next.set(next as u64);
                    s.depth.set(3);
                    s.limit.set(limit);
                    s.low.set(low);
                    s.cell.set(cur.raw());
                    s.at.set(at as u64 * 8);
                };
                let stored = if at == 0 { (cur.raw(), 0) } else { (first, cur.raw()) };
                // Taken: twice in a row, the run moving on.
                arm(base);
                for g in [base, base + 8] {
                    set(g, first, 0);
                    assert_eq!(unsafe { probe(g, 0, 0, 0, PC) }, 2, "entry {k} write {write} first {first:#x} at {at}");
                    assert_eq!(get(g), stored);
                    assert_eq!(s.next.get(), g as u64 + 8);
                }
                // Each condition failing alone.
                let later = Cell::new(other, 41, 0, 8, kind).raw();
                let misses: [(&str, u64, u64, usize, usize, bool, u64); 9] = [
                    ("pc", first, 0, base, PC + 1, false, 3),
                    ("second cell", first, Cell::new(other, 2, 0, 8, AccessKind::Read).raw(), base, PC, false, 3),
                    ("not the next granule", first, 0, base + 16, PC, false, 3),
                    ("start of a window", first, 0, 0x3000_0002_0000, PC, false, 3),
                    ("first cell", if first == 0 { filled } else { later }, 0, base, PC, false, 3),
                    ("spill flag", first | Cell::SPILL, 0, base, PC, false, 3),
                    ("busy", first, 0, base, PC, true, 3),
                    ("deeper", first, 0, base, PC, false, 4),
                    ("cancelled", first, 0, base, 0, false, 3),
                ];
                for (what, a, b, g, pc, busy, depth) in misses {
                    if what == "spill flag" && first == 0 {
                        continue;
                    }
                    arm(g);
                    if what == "not the next granule" {
                        s.next.set(base as u64);
                    }
                    if what == "cancelled" {
                        super::sweep::cancel();
                    }
                    fake[frames::LEN / 8] = depth;
                    t.busy.set(busy);
                    set(g, a, b);
                    let got = unsafe { probe(g, 0, 0, 0, if pc == 0 { PC } else { pc }) };
                    t.busy.set(false);
                    fake[frames::LEN / 8] = 3;
                    assert_eq!(got, 0, "{what}, entry {k}, write {write}, first {first:#x}, at {at}");
                    assert_eq!(get(g), (a, b), "{what}: the shadow is unchanged");
                    set(g, 0, 0);
                }
            }
        }
        super::sweep::cancel();
        set_deep_key(u64::MAX);
        t.state.set(std::ptr::null_mut());
    }

    type Probe5 = unsafe extern "C" fn(usize, usize, usize, usize, usize) -> u32;
}
