//! The race report model and its renderers.
//!
//! A [`RaceReport`] is plain data, filled in by whoever detected the race; the
//! renderers add no logic (as `tsan_report.cpp` does for `ReportDesc`). The text
//! renderer prints exactly the Go race detector's shape, with Rust's
//! line:column and ThreadSanitizer's `Location is …` section:
//!
//! ```text
//! ==================
//! WARNING: DATA RACE
//! Write at 0x00007f1c2a400010 by thread 3 'worker':
//!   ring::Ring::push()
//!       /home/u/ring/src/lib.rs:41:13
//!
//! Previous read at 0x00007f1c2a400010 by thread 2:
//!   ring::Ring::pop()
//!       /home/u/ring/src/lib.rs:57:17
//!
//! Location is heap block of size 64 at 0x00007f1c2a400000 allocated by main thread:
//!   ring::Ring::new()
//!       /home/u/ring/src/lib.rs:20:9
//!
//! Thread 3 'worker' (running) created at:
//!   ring::tests::two_producers()
//!       /home/u/ring/src/lib.rs:86:9
//! ==================
//! ```

use std::fmt::Write as _;

use crate::shadow::AccessKind;

/// A source position in a stack.
#[derive(Clone, PartialEq, Eq, Debug, Hash)]
pub struct StackFrame {
    pub function: String,
    pub file: String,
    pub line: u32,
    pub column: u32,
}

/// A stack, innermost frame first, or the admission that it is gone.
#[derive(Clone, PartialEq, Eq, Debug, Hash)]
pub enum Stack {
    Frames(Vec<StackFrame>),
    /// The history that held it was overwritten.
    Lost,
}

/// A thread as reports name it. Id 0 is the main thread.
#[derive(Clone, PartialEq, Eq, Debug, Hash)]
pub struct ThreadRef {
    pub id: u64,
    pub name: Option<String>,
}

impl ThreadRef {
    pub fn is_main(&self) -> bool {
        self.id == 0
    }
}

/// One side of a race.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct AccessDesc {
    pub kind: AccessKind,
    pub addr: u64,
    pub size: u64,
    pub thread: ThreadRef,
    pub stack: Stack,
}

/// Where the raced-on bytes live.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Location {
    Global { name: String, addr: u64, size: u64 },
    Heap { addr: u64, size: u64, thread: ThreadRef, stack: Stack },
    /// On a thread's stack (a local borrowed by another thread).
    Stack { thread: ThreadRef },
    /// In a thread's thread-local storage (a `thread_local!` value another
    /// thread was given a pointer to). `name`, `addr` and `size` are the
    /// variable's, when the symbol table knows it.
    ThreadLocal { thread: ThreadRef, name: Option<String>, addr: u64, size: u64 },
}

/// A thread taking part in the race, with where it was created.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ThreadDesc {
    pub thread: ThreadRef,
    pub running: bool,
    pub created_at: Stack,
}

#[derive(Clone, PartialEq, Eq, Debug)]
pub struct RaceReport {
    pub current: AccessDesc,
    pub previous: AccessDesc,
    pub location: Option<Location>,
    /// Non-main threads involved, current first.
    pub threads: Vec<ThreadDesc>,
}

const RULE: &str = "==================";

fn thread_phrase(t: &ThreadRef) -> String {
    if t.is_main() {
        return "main thread".to_string();
    }
    match &t.name {
        Some(n) => format!("thread {} '{}'", t.id, n),
        None => format!("thread {}", t.id),
    }
}

fn render_stack(out: &mut String, stack: &Stack) {
    match stack {
        Stack::Lost => out.push_str("  [failed to restore the stack]\n"),
        Stack::Frames(frames) if frames.is_empty() => out.push_str("  [no frames]\n"),
        Stack::Frames(frames) => {
            for f in frames {
                let _ = writeln!(out, "  {}()", f.function);
                if f.line == 0 {
                    let _ = writeln!(out, "      {}", f.file);
                } else {
                    let _ = writeln!(out, "      {}:{}:{}", f.file, f.line, f.column);
                }
            }
        }
    }
}

/// Go-style text, from the first `=` line to the last, newline-terminated.
pub fn render_text(r: &RaceReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{RULE}\nWARNING: DATA RACE");
    let _ = writeln!(
        out,
        "{} at {:#018x} by {}:",
        r.current.kind.description(),
        r.current.addr,
        thread_phrase(&r.current.thread)
    );
    render_stack(&mut out, &r.current.stack);
    let _ = writeln!(
        out,
        "\nPrevious {} at {:#018x} by {}:",
        r.previous.kind.description_lower(),
        r.previous.addr,
        thread_phrase(&r.previous.thread)
    );
    render_stack(&mut out, &r.previous.stack);
    match &r.location {
        Some(Location::Global { name, addr, size }) => {
            let _ = writeln!(out, "\nLocation is global '{name}' of size {size} at {addr:#018x}");
        }
        Some(Location::Heap { addr, size, thread, stack }) => {
            let _ = writeln!(
                out,
                "\nLocation is heap block of size {size} at {addr:#018x} allocated by {}:",
                thread_phrase(thread)
            );
            render_stack(&mut out, stack);
        }
        Some(Location::Stack { thread }) => {
            let _ = writeln!(out, "\nLocation is stack of {}", thread_phrase(thread));
        }
        Some(Location::ThreadLocal { thread, name: Some(name), addr, size }) => {
            let _ = writeln!(
                out,
                "\nLocation is thread-local '{name}' of size {size} at {addr:#018x} of {}",
                thread_phrase(thread)
            );
        }
        Some(Location::ThreadLocal { thread, name: None, .. }) => {
            let _ = writeln!(out, "\nLocation is thread-local storage of {}", thread_phrase(thread));
        }
        None => {}
    }
    for t in &r.threads {
        let status = if t.running { "running" } else { "finished" };
        let mut head = thread_phrase(&t.thread);
        head[..1].make_ascii_uppercase();
        let _ = writeln!(out, "\n{head} ({status}) created at:");
        render_stack(&mut out, &t.created_at);
    }
    let _ = writeln!(out, "{RULE}");
    out
}

/// Version of the JSON schema [`render_json`] writes.
pub const JSON_SCHEMA: &str = "racecheck.race/1";

fn json_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn json_thread(out: &mut String, t: &ThreadRef) {
    let _ = write!(out, "{{\"id\":{},\"name\":", t.id);
    match (&t.name, t.is_main()) {
        (Some(n), _) => json_str(out, n),
        (None, true) => json_str(out, "main"),
        (None, false) => out.push_str("null"),
    }
    out.push('}');
}

fn json_stack(out: &mut String, stack: &Stack) {
    match stack {
        Stack::Lost => out.push_str("null"),
        Stack::Frames(frames) => {
            out.push('[');
            for (i, f) in frames.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str("{\"function\":");
                json_str(out, &f.function);
                out.push_str(",\"file\":");
                json_str(out, &f.file);
                let _ = write!(out, ",\"line\":{},\"column\":{}}}", f.line, f.column);
            }
            out.push(']');
        }
    }
}

fn json_access(out: &mut String, a: &AccessDesc) {
    out.push_str("{\"kind\":");
    json_str(out, a.kind.description_lower());
    let _ = write!(out, ",\"address\":\"{:#018x}\",\"size\":{},\"thread\":", a.addr, a.size);
    json_thread(out, &a.thread);
    out.push_str(",\"stack\":");
    json_stack(out, &a.stack);
    out.push('}');
}

/// One race as one line of JSON (schema [`JSON_SCHEMA`]): `current` and
/// `previous` accesses (`kind`, `address`, `size`, `thread {id, name}`,
/// `stack`: frames `{function, file, line, column}` innermost first, or null
/// when the history was lost), `location` (`{kind: "heap", address, size,
/// thread, stack}`, `{kind: "global", name, address, size}`, `{kind:
/// "stack", thread}`, `{kind: "thread-local", thread, name, address, size}`
/// or null), and
/// `threads` (`{id, name, running, created_at}`).
pub fn render_json(r: &RaceReport) -> String {
    let mut out = String::from("{\"schema\":");
    json_str(&mut out, JSON_SCHEMA);
    out.push_str(",\"current\":");
    json_access(&mut out, &r.current);
    out.push_str(",\"previous\":");
    json_access(&mut out, &r.previous);
    out.push_str(",\"location\":");
    match &r.location {
        None => out.push_str("null"),
        Some(Location::Global { name, addr, size }) => {
            out.push_str("{\"kind\":\"global\",\"name\":");
            json_str(&mut out, name);
            let _ = write!(out, ",\"address\":\"{addr:#018x}\",\"size\":{size}}}");
        }
        Some(Location::Heap { addr, size, thread, stack }) => {
            let _ = write!(out, "{{\"kind\":\"heap\",\"address\":\"{addr:#018x}\",\"size\":{size},\"thread\":");
            json_thread(&mut out, thread);
            out.push_str(",\"stack\":");
            json_stack(&mut out, stack);
            out.push('}');
        }
        Some(Location::Stack { thread }) => {
            out.push_str("{\"kind\":\"stack\",\"thread\":");
            json_thread(&mut out, thread);
            out.push('}');
        }
        Some(Location::ThreadLocal { thread, name, addr, size }) => {
            out.push_str("{\"kind\":\"thread-local\",\"thread\":");
            json_thread(&mut out, thread);
            out.push_str(",\"name\":");
            match name {
                Some(n) => json_str(&mut out, n),
                None => out.push_str("null"),
            }
            let _ = write!(out, ",\"address\":\"{addr:#018x}\",\"size\":{size}}}");
        }
    }
    out.push_str(",\"threads\":[");
    for (i, t) in r.threads.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "{{\"id\":{},\"name\":", t.thread.id);
        match &t.thread.name {
            Some(n) => json_str(&mut out, n),
            None => out.push_str("null"),
        }
        let _ = write!(out, ",\"running\":{},\"created_at\":", t.running);
        json_stack(&mut out, &t.created_at);
        out.push('}');
    }
    out.push_str("]}\n");
    out
}

/// The closing line of a run with races.
pub fn render_summary(races: u64) -> String {
    format!("Found {races} data race(s)\n")
}

/// Frames that are the machinery, not the program: std, core, alloc, the
/// test harness, racecheck itself, libc start-up.
pub fn is_internal(function: &str) -> bool {
    const PREFIXES: &[&str] = &[
        "std::", "core::", "alloc::", "test::", "racecheck::", "racecheck_detector::", "backtrace::",
        "__rust", "__libc", "_start", "__wrap_", "__tsan_", "start_thread", "clone", "0x", "__GI_",
        "__call_tls_dtors", "__nptl_",
    ];
    let internal_path = |p: &str| PREFIXES.iter().any(|x| p.starts_with(x));
    // `<Type as Trait>::method`: the type decides, unless it is a generic
    // parameter or a primitive (`<T as alloc::…>`), where the trait does.
    if let Some(rest) = function.strip_prefix('<') {
        if let Some((ty, tr)) = rest.split_once(" as ") {
            let mut ty = ty;
            for p in ["&", "*const ", "*mut ", "mut ", "dyn ", "[", "("] {
                ty = ty.trim_start_matches(p);
            }
            let named = ty.contains("::") && !ty.starts_with("fn(");
            return if named { internal_path(ty) } else { internal_path(tr) };
        }
        return internal_path(rest);
    }
    internal_path(function) || function.contains("{{vtable.shim}}")
}

/// Is this a frame worth showing? Not machinery (by name, or by file: the
/// toolchain's own library sources, which is all an inlined std frame of an
/// optimised build is named by), and not code the compiler synthesised
/// (column 0: the test harness's `main`).
pub fn is_user(f: &StackFrame) -> bool {
    // A bare `main` is the C entry point rustc generates, unless it has a
    // user source line: then it is the user's `main`, inlined into it.
    let c_main = f.function == "main" && (f.file.is_empty() || f.line == 0);
    // glibc's line tables name its sources relative to its build (`./stdlib/…`).
    let libc = f.file.starts_with("./");
    !is_internal(&f.function) && !c_main && !libc && !f.file.starts_with("/rustc/") && !(f.line <= 1 && f.column == 0)
}


#[cfg(test)]
mod tests {
    use super::*;

    fn frame(function: &str, line: u32, column: u32) -> StackFrame {
        StackFrame { function: function.into(), file: "/home/u/ring/src/lib.rs".into(), line, column }
    }

    #[test]
    fn renders_design_shape() {
        let worker = ThreadRef { id: 3, name: Some("worker".into()) };
        let t2 = ThreadRef { id: 2, name: None };
        let r = RaceReport {
            current: AccessDesc {
                kind: AccessKind::Write,
                addr: 0x7f1c2a400010,
                size: 8,
                thread: worker.clone(),
                stack: Stack::Frames(vec![
                    frame("ring::Ring::push", 41, 13),
                    frame("ring::tests::two_producers::{{closure}}", 88, 21),
                ]),
            },
            previous: AccessDesc {
                kind: AccessKind::Read,
                addr: 0x7f1c2a400010,
                size: 8,
                thread: t2.clone(),
                stack: Stack::Frames(vec![frame("ring::Ring::pop", 57, 17)]),
            },
            location: Some(Location::Heap {
                addr: 0x7f1c2a400000,
                size: 64,
                thread: ThreadRef { id: 0, name: None },
                stack: Stack::Frames(vec![frame("ring::Ring::new", 20, 9)]),
            }),
            threads: vec![
                ThreadDesc {
                    thread: worker,
                    running: true,
                    created_at: Stack::Frames(vec![frame("ring::tests::two_producers", 86, 9)]),
                },
                ThreadDesc {
                    thread: t2,
                    running: false,
                    created_at: Stack::Frames(vec![frame("ring::tests::two_producers", 85, 9)]),
                },
            ],
        };
        let expected = "\
==================
WARNING: DATA RACE
Write at 0x00007f1c2a400010 by thread 3 'worker':
  ring::Ring::push()
      /home/u/ring/src/lib.rs:41:13
  ring::tests::two_producers::{{closure}}()
      /home/u/ring/src/lib.rs:88:21

Previous read at 0x00007f1c2a400010 by thread 2:
  ring::Ring::pop()
      /home/u/ring/src/lib.rs:57:17

Location is heap block of size 64 at 0x00007f1c2a400000 allocated by main thread:
  ring::Ring::new()
      /home/u/ring/src/lib.rs:20:9

Thread 3 'worker' (running) created at:
  ring::tests::two_producers()
      /home/u/ring/src/lib.rs:86:9

Thread 2 (finished) created at:
  ring::tests::two_producers()
      /home/u/ring/src/lib.rs:85:9
==================
";
        assert_eq!(render_text(&r), expected);
    }

    #[test]
    fn lost_stack_and_global() {
        let r = RaceReport {
            current: AccessDesc {
                kind: AccessKind::AtomicWrite,
                addr: 0x10,
                size: 4,
                thread: ThreadRef { id: 0, name: None },
                stack: Stack::Frames(vec![frame("c::main", 3, 5)]),
            },
            previous: AccessDesc {
                kind: AccessKind::Write,
                addr: 0x10,
                size: 4,
                thread: ThreadRef { id: 1, name: None },
                stack: Stack::Lost,
            },
            location: Some(Location::Global { name: "c::COUNTER".into(), addr: 0x10, size: 4 }),
            threads: vec![],
        };
        let text = render_text(&r);
        assert!(text.contains("Atomic write at 0x0000000000000010 by main thread:\n"), "{text}");
        assert!(text.contains("Previous write at 0x0000000000000010 by thread 1:\n  [failed to restore the stack]\n"));
        assert!(text.contains("\nLocation is global 'c::COUNTER' of size 4 at 0x0000000000000010\n"));
        assert_eq!(render_summary(2), "Found 2 data race(s)\n");
        let json = render_json(&r);
        assert!(json.starts_with("{\"schema\":\"racecheck.race/1\",\"current\":{\"kind\":\"atomic write\""), "{json}");
        assert!(json.contains("\"previous\":{\"kind\":\"write\",\"address\":\"0x0000000000000010\",\"size\":4,\"thread\":{\"id\":1,\"name\":null},\"stack\":null}"), "{json}");
        assert!(json.contains("\"location\":{\"kind\":\"global\",\"name\":\"c::COUNTER\""), "{json}");
        assert!(json.ends_with("\"threads\":[]}\n"), "{json}");
        let on_stack = RaceReport { location: Some(Location::Stack { thread: ThreadRef { id: 2, name: Some("w".into()) } }), ..r };
        assert!(render_text(&on_stack).contains("\nLocation is stack of thread 2 'w'\n"));
        assert!(render_json(&on_stack).contains("\"location\":{\"kind\":\"stack\",\"thread\":{\"id\":2,\"name\":\"w\"}}"));
        let tls = |name: Option<&str>| RaceReport {
            location: Some(Location::ThreadLocal { thread: ThreadRef { id: 0, name: None }, name: name.map(String::from), addr: 0x20, size: 8 }),
            ..on_stack.clone()
        };
        assert!(render_text(&tls(Some("c::TL"))).contains("\nLocation is thread-local 'c::TL' of size 8 at 0x0000000000000020 of main thread\n"));
        assert!(render_text(&tls(None)).contains("\nLocation is thread-local storage of main thread\n"));
        assert!(render_json(&tls(None)).contains("\"location\":{\"kind\":\"thread-local\",\"thread\":{\"id\":0,\"name\":\"main\"},\"name\":null,\"address\":\"0x0000000000000020\",\"size\":8}"));
    }

    #[test]
    fn json_escapes_strings() {
        let mut s = String::new();
        json_str(&mut s, "a\"b\\c\nd\u{1}");
        assert_eq!(s, "\"a\\\"b\\\\c\\nd\\u0001\"");
    }


    #[test]
    fn internal_frames() {
        assert!(is_internal("std::thread::spawn"));
        assert!(is_internal("<T as alloc::vec::spec_from_elem::SpecFromElem>::from_elem"));
        assert!(is_internal("<alloc::vec::Vec<T> as core::ops::drop::Drop>::drop"));
        assert!(is_internal("core::ops::function::FnOnce::call_once{{vtable.shim}}"));
        assert!(!is_internal("<ring::Ring as core::ops::drop::Drop>::drop"));
        assert!(!is_internal("ring::Ring::push"));
        assert!(!is_internal("counter::main"));
        assert!(is_internal("<fn() -> core::result::Result<(), alloc::string::String> as core::ops::function::FnOnce<()>>::call_once"));
        assert!(is_internal("<&dyn core::ops::function::Fn<(), Output = i32> + core::marker::Sync as core::ops::function::FnOnce<()>>::call_once"));
    }

    #[test]
    fn user_frames_in_optimised_builds() {
        let at = |function: &str, file: &str, line| StackFrame { function: function.into(), file: file.into(), line, column: 9 };
        // Inlined frames carry only a short name: std's are known by file.
        assert!(!is_user(&at("call_once<fn(), ()>", "/rustc/5980761/library/core/src/ops/function.rs", 250)));
        assert!(is_user(&at("{closure#5}", "/home/u/stress/src/main.rs", 162)));
        // The user's `main` inlined into the entry point, not the entry point.
        assert!(is_user(&at("main", "/home/u/stress/src/main.rs", 176)));
        assert!(!is_user(&at("main", "", 0)));
        assert!(!is_user(&StackFrame { function: "main".into(), file: "/home/u/src/main.rs".into(), line: 1, column: 0 }));
        // glibc running thread-local destructors, as its debug info names it.
        assert!(!is_user(&at("__GI___call_tls_dtors", "./stdlib/cxa_thread_atexit_impl.c", 159)));
        assert!(!is_user(&at("start_thread", "./nptl/pthread_create.c", 447)));
    }
}
