//! Program counters and data addresses to names, files and lines.
//!
//! Code addresses go through the `backtrace` crate (DWARF via gimli and
//! addr2line, inlined frames included). Statics are found in the executable's
//! symbol table with `object`.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use object::{Object, ObjectSymbol, SymbolKind};
use racecheck_detector::report::{is_user, StackFrame};

/// Frames for a return address (looked up at `pc - 1`, inside the call),
/// innermost inlined frame first.
static CACHE: Mutex<Option<HashMap<usize, Vec<StackFrame>>>> = Mutex::new(None);

/// Hold this module's lock across `fork` (see `rt::fork`). Whoever holds it
/// may be inside the `backtrace` crate, whose own lock is then free too.
pub fn lock_all(held: &mut Vec<Box<dyn std::any::Any>>) {
    held.push(Box::new(CACHE.lock().unwrap_or_else(|e| e.into_inner())));
}

pub fn symbolize(pc: usize) -> Vec<StackFrame> {
    if pc == 0 {
        return vec![];
    }
    let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(f) = cache.get_or_insert_with(HashMap::new).get(&pc) {
        return f.clone();
    }
    let mut frames = Vec::new();
    backtrace::resolve((pc - 1) as *mut std::ffi::c_void, |sym| {
        let function = match sym.name() {
            Some(n) => format!("{n:#}"),
            None => format!("{pc:#x}"),
        };
        frames.push(StackFrame {
            function,
            file: sym.filename().map(|p| p.display().to_string()).unwrap_or_else(|| "??".into()),
            line: sym.lineno().unwrap_or(0),
            column: sym.colno().unwrap_or(0),
        });
    });
    cache.get_or_insert_with(HashMap::new).insert(pc, frames.clone());
    frames
}

/// User frames for a list of return addresses, innermost first.
pub fn user_frames(pcs: &[usize]) -> Vec<StackFrame> {
    pcs.iter().flat_map(|&pc| symbolize(pc)).filter(is_user).collect()
}

struct Symbols {
    /// (start, size, demangled name), sorted by start.
    objects: Vec<(usize, usize, String)>,
    /// Thread-local variables: (offset in the TLS block, size, name), sorted.
    tls: Vec<(usize, usize, String)>,
}

fn symbols() -> &'static Symbols {
    static SYMBOLS: OnceLock<Symbols> = OnceLock::new();
    SYMBOLS.get_or_init(|| {
        let (mut objects, mut tls) = (Vec::new(), Vec::new());
        if let Ok(data) = std::fs::read("/proc/self/exe") {
            if let Ok(file) = object::File::parse(&*data) {
                for s in file.symbols() {
                    let list = match s.kind() {
                        SymbolKind::Data => &mut objects,
                        SymbolKind::Tls => &mut tls,
                        _ => continue,
                    };
                    if s.size() > 0 {
                        if let Ok(name) = s.name() {
                            let mut name = format!("{:#}", rustc_demangle::demangle(name));
                            // `thread_local!` storage is named
                            // `crate::NAME::{{constant}}::{{closure}}::…VAL`.
                            if let Some(i) = name.find("::{{constant}}") {
                                name.truncate(i);
                            }
                            list.push((s.address() as usize, s.size() as usize, name));
                        }
                    }
                }
            }
        }
        objects.sort();
        tls.sort();
        Symbols { objects, tls }
    })
}

/// What the dynamic loader says about the main program (the first module
/// `dl_iterate_phdr` reports), read once at start-up ([`init_main_program`]).
struct MainProgram {
    /// Load bias.
    bias: usize,
    /// Its PT_TLS segment placed as glibc places the first module's block
    /// (x86_64, variant II): `(offset below the thread pointer, size)`,
    /// with `offset = roundup(memsz - firstbyte, align) + firstbyte` and
    /// `firstbyte = -vaddr mod align`.
    tls_block: Option<(usize, usize)>,
    /// Memory no one can write once the program is loaded, as sorted
    /// `[start, end)` ranges: segments mapped without write permission
    /// (code, `.rodata`: promoted constants, immutable statics, literals)
    /// and the RELRO range (read-only after relocation, before any user
    /// code runs). Reads there never race. The main program is never
    /// unmapped, so no range can later hold writable memory.
    read_only: Vec<(usize, usize)>,
    /// Segments mapped writable, `[start, end)`.
    writable: Vec<(usize, usize)>,
}

static MAIN: OnceLock<MainProgram> = OnceLock::new();

fn main_program() -> &'static MainProgram {
    MAIN.get_or_init(|| {
        unsafe extern "C" fn first(info: *mut libc::dl_phdr_info, _size: usize, out: *mut libc::c_void) -> i32 {
            // SAFETY: dl_iterate_phdr passes a valid `info` whose `dlpi_phdr`
            // has `dlpi_phnum` entries; `out` is our `MainProgram`.
            unsafe {
                let info = &*info;
                let out = &mut *(out as *mut MainProgram);
                out.bias = info.dlpi_addr as usize;
                for p in std::slice::from_raw_parts(info.dlpi_phdr, info.dlpi_phnum as usize) {
                    let read_only = match p.p_type {
                        libc::PT_TLS => {
                            let align = (p.p_align as usize).max(1);
                            let memsz = p.p_memsz as usize;
                            let firstbyte = (p.p_vaddr as usize).wrapping_neg() & (align - 1);
                            let offset = (memsz - firstbyte).div_ceil(align) * align + firstbyte;
                            out.tls_block = Some((offset, memsz));
                            false
                        }
                        libc::PT_LOAD => p.p_flags & libc::PF_W == 0,
                        libc::PT_GNU_RELRO => true,
                        _ => false,
                    };
                    let start = out.bias + p.p_vaddr as usize;
                    if read_only && p.p_memsz > 0 {
                        out.read_only.push((start, start + p.p_memsz as usize));
                    } else if p.p_type == libc::PT_LOAD {
                        out.writable.push((start, start + p.p_memsz as usize));
                    }
                }
                out.read_only.sort();
            }
            1 // the main program comes first; stop there
        }
        let mut out = MainProgram { bias: 0, tls_block: None, read_only: Vec::new(), writable: Vec::new() };
        // SAFETY: the callback only writes our local through `out`.
        unsafe { libc::dl_iterate_phdr(Some(first), (&mut out as *mut MainProgram).cast()) };
        out
    })
}

/// Read the main program's layout (at start-up, so that the access hooks
/// find the read-only ranges ready).
pub fn init_main_program() {
    let m = main_program();
    let (start, end) = m.read_only_span();
    RO_SPAN.set(start, end);
    if let (Some(first), Some(last)) = (m.read_only.first(), m.read_only.iter().map(|r| r.1).max()) {
        RO_HULL.set(first.0, last);
    }
}

use crate::abi::Span;

/// The widest run of read-only ranges with no writable segment between
/// them (`.rodata`, where promoted constants live, and the code after it),
/// for the inline test of [`in_read_only_span`].
/// Exported: the hooks' crate tests it inline (`__rt::read_val`).
#[no_mangle]
#[allow(non_upper_case_globals)]
pub static __racecheck_ro_span: Span = Span::EMPTY;
use __racecheck_ro_span as RO_SPAN;
/// From the lowest read-only range's start to the highest one's end (the
/// ranges are sorted by start).
static RO_HULL: Span = Span::EMPTY;

impl MainProgram {
    fn read_only_span(&self) -> (usize, usize) {
        let mut runs: Vec<(usize, usize)> = Vec::new();
        for &(start, end) in &self.read_only {
            match runs.last_mut() {
                Some(run) if !self.writable.iter().any(|&(ws, we)| ws < start && we > run.1) => {
                    run.1 = run.1.max(end)
                }
                _ => runs.push((start, end)),
            }
        }
        runs.into_iter().max_by_key(|&(start, end)| end - start).unwrap_or((0, 0))
    }
}

/// Does `[addr, addr+size)` lie in memory no one can write?
#[inline]
pub fn is_read_only(addr: usize, size: usize) -> bool {
    // Most reads are of the heap or a stack, outside the program image:
    // one comparison against the hull of its read-only ranges first.
    RO_HULL.holds(addr, size)
        && MAIN.get().is_some_and(|m| m.read_only.iter().any(|&(start, end)| addr >= start && addr + size <= end))
}

/// The entry of a sorted `(start, size, name)` list whose range holds `off`.
fn containing(list: &[(usize, usize, String)], off: usize) -> Option<&(usize, usize, String)> {
    let i = list.partition_point(|(start, _, _)| *start <= off);
    list.get(i.checked_sub(1)?).filter(|(start, size, _)| off < start + size)
}

/// Is `addr` in the thread-local block of the thread whose thread pointer is
/// `tp`? Then the variable there, when named: `(name, start, size)`, with
/// start and size of the whole block when no symbol covers `addr`.
pub fn thread_local(addr: usize, tp: usize) -> Option<(Option<String>, usize, usize)> {
    let (offset, memsz) = main_program().tls_block?;
    let s = symbols();
    let block = tp.checked_sub(offset)?;
    if addr < block || addr >= block + memsz {
        return None;
    }
    match containing(&s.tls, addr - block) {
        Some((start, size, name)) => Some((Some(name.clone()), block + start, *size)),
        None => Some((None, block, memsz)),
    }
}

/// The static holding `addr`: `(name, start, size)`.
pub fn global(addr: usize) -> Option<(String, usize, usize)> {
    let bias = main_program().bias;
    let (start, size, name) = containing(&symbols().objects, addr.checked_sub(bias)?)?;
    Some((name.clone(), start + bias, *size))
}

