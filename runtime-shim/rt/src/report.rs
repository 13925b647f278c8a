//! Turning a detected race into a report, and the end-of-run summary.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering::*};
use std::sync::Mutex;

use racecheck_detector::history::{Event, Frame};
use racecheck_detector::options::ReportFormat;
use racecheck_detector::report::{self as model, AccessDesc, Location, RaceReport, Stack, StackFrame, ThreadDesc, ThreadRef};
use racecheck_detector::shadow::{AccessKind, Cell};

use racecheck_detector::report::is_user;

use super::symbolize::{global, symbolize, user_frames};
use super::thread::{history, occupant, stack_owner, tls_owner, ThreadInfo};
use super::{alloc, runtime, sys, ThreadState};
use crate::abi::Site;

/// Distinct races reported so far.
static RACES: AtomicU64 = AtomicU64::new(0);
/// Names of the tests during which races were found.
static RACY_TESTS: Mutex<std::collections::BTreeSet<String>> = Mutex::new(std::collections::BTreeSet::new());

/// The thread running the test that `t` works for: the nearest of `t` and
/// its creators that libtest's `run_test` created, else the main thread
/// (`--test-threads=1` runs tests there).
fn test_thread(t: &'static ThreadInfo) -> Option<&'static ThreadInfo> {
    let mut cur = Some(t);
    let mut last = t;
    while let Some(info) = cur {
        // Created by `run_test` itself: the innermost frame of its creation
        // stack that is user code or the harness is `test::run_test`. (A
        // thread a test spawns has `test::run_test::{{closure}}` far down.)
        let by_harness = info
            .created_at
            .iter()
            .flat_map(|&pc| symbolize(pc))
            .find(|f| is_user(f) || f.function.starts_with("test::"))
            .is_some_and(|f| f.function.starts_with("test::run_test"));
        if by_harness {
            return Some(info);
        }
        last = info;
        cur = info.parent;
    }
    (last.id == 0).then_some(last)
}

/// Serialises reports and holds the stack pairs already reported, and the
/// current stacks among them (a race whose earlier stack is lost is not
/// reported again at a place already reported: it would say nothing new).
static REPORTED: Mutex<Option<(HashSet<(String, String)>, HashSet<String>)>> = Mutex::new(None);

/// Hold this module's locks across `fork` (see `rt::fork`), in the order
/// a report takes them.
pub fn lock_all(held: &mut Vec<Box<dyn std::any::Any>>) {
    held.push(Box::new(REPORTED.lock().unwrap_or_else(|e| e.into_inner())));
    held.push(Box::new(RACY_TESTS.lock().unwrap_or_else(|e| e.into_inner())));
}

fn thread_ref(info: &ThreadInfo) -> ThreadRef {
    ThreadRef { id: info.id, name: info.name.lock().unwrap_or_else(|e| e.into_inner()).clone() }
}

/// The frames of an event and the frame stack it happened in.
fn frames_for(event: Event, stack: &[Frame]) -> Vec<StackFrame> {
    let callers = || stack.iter().rev().flat_map(|f| symbolize(f.caller_pc as usize));
    let mut frames = match event {
        Event::Read(site) | Event::Write(site) => {
            // SAFETY: these payloads are addresses of `&'static Site`s, taken
            // by `rt::access` and stored unchanged in the history.
            let s = unsafe { &*(site as usize as *const Site) };
            vec![StackFrame { function: s.func.to_string(), file: s.file.to_string(), line: s.line, column: s.col }]
        }
        Event::AtomicRead(pc) | Event::AtomicWrite(pc) | Event::Alloc(pc) | Event::Free(pc) => {
            symbolize(pc as usize).into_iter().filter(is_user).collect()
        }
        Event::PcRead(pc) | Event::PcWrite(pc) => {
            return deep_frames(symbolize(pc as usize).into_iter().chain(callers()));
        }
        _ => vec![],
    };
    frames.extend(callers().filter(is_user));
    frames
}

/// The frames shown for an access found by the compiler's instrumentation
/// (deep mode), innermost first: the library code it happened in, when it
/// did (`Vec::push`, inlined `ptr::write`: what raced), then the user's
/// frames below it (where they called it). Machinery further down (the
/// thread's start, the test harness) is left out, as everywhere.
fn deep_frames(all: impl Iterator<Item = StackFrame>) -> Vec<StackFrame> {
    let ours = |f: &StackFrame| {
        ["racecheck", "__tsan_", "__wrap_"].iter().any(|p| f.function.starts_with(p)) || f.function.starts_with("0x")
    };
    let mut frames = vec![];
    let mut in_user_code = false;
    for f in all.filter(|f| !ours(f)) {
        in_user_code |= is_user(&f);
        if !in_user_code || is_user(&f) {
            frames.push(f);
        }
    }
    if !in_user_code {
        // No user frame at all (std code run on its own): the innermost
        // frame still says where.
        frames.truncate(1);
    }
    frames
}

/// The stack of the access being made now, in full: its exact site, then
/// every user frame below it from a frame-pointer walk of the live stack, so
/// callers outside annotated code show too. The walk is anchored at the
/// return address into the innermost annotated frame's caller (or, for an
/// atomic or a deep-mode access, at its own return address); the frames above
/// the anchor are the runtime's and the annotated function's own (already the
/// site). Falls back to the recorded frames when the anchor is not on the walk.
fn current_frames(st: &ThreadState, event: Event) -> Vec<StackFrame> {
    let anchor = match event {
        Event::Read(_) | Event::Write(_) => st.stack.last().map(|f| f.caller_pc as usize),
        Event::AtomicRead(pc)
        | Event::AtomicWrite(pc)
        | Event::Alloc(pc)
        | Event::Free(pc)
        | Event::PcRead(pc)
        | Event::PcWrite(pc) => Some(pc as usize),
        _ => None,
    };
    let mut pcs = [0usize; 128];
    let n = sys::walk_frames(&mut pcs, st.stack_lo, st.stack_hi);
    let Some(at) = anchor.filter(|&a| a != 0).and_then(|a| pcs[..n].iter().position(|&pc| pc == a)) else {
        return frames_for(event, &st.stack);
    };
    if let Event::PcRead(_) | Event::PcWrite(_) = event {
        return deep_frames(pcs[at..n].iter().flat_map(|&pc| symbolize(pc)));
    }
    let mut frames = match event {
        Event::Read(_) | Event::Write(_) => frames_for(event, &[]),
        _ => vec![],
    };
    frames.extend(user_frames(&pcs[at..n]));
    frames
}

/// Where a thread was created: user frames, or, for threads the test
/// harness created, the harness's frame that did it.
fn creation_stack(info: &ThreadInfo) -> Stack {
    let user = user_frames(&info.created_at);
    if !user.is_empty() {
        return Stack::Frames(user);
    }
    let harness: Vec<StackFrame> = info
        .created_at
        .iter()
        .flat_map(|&pc| symbolize(pc))
        .filter(|f| f.function.starts_with("test::"))
        .take(1)
        .collect();
    Stack::Frames(harness)
}

fn strip(stack: &mut Stack, prefix: &str) {
    if let Stack::Frames(frames) = stack {
        for f in frames {
            if let Some(rest) = f.file.strip_prefix(prefix) {
                f.file = rest.to_string();
            }
        }
    }
}

/// A race is the same race when both stacks are (TSan's
/// `suppress_equal_stacks`): a loop racing a thousand times is one report,
/// two callers reaching the same racy line are two.
fn stack_key(stack: &Stack) -> String {
    match stack {
        Stack::Frames(frames) => {
            frames.iter().map(|f| format!("{}:{}:{};", f.file, f.line, f.column)).collect()
        }
        Stack::Lost => "?".into(),
    }
}

/// Report the race between the calling thread's access and `prev`.
#[cold]
#[inline(never)]
pub fn race(st: &mut ThreadState, addr: usize, size: usize, kind: AccessKind, event: Event, prev: Cell) {
    // The other thread may still be running and appending to its history:
    // restore its access first, before anything slow (symbolising the
    // current stack reads DWARF on first use), so its events are not
    // overwritten meanwhile. Only raw words are copied here.
    let prev_info = occupant(prev.slot(), prev.epoch());
    let prev_restored = history(prev.slot()).map(|h| h.replay(prev.epoch()));
    let current_stack = Stack::Frames(current_frames(st, event));
    let prev_stack = match prev_restored {
        Some(Ok(r)) => Stack::Frames(frames_for(r.event, &r.stack)),
        _ => Stack::Lost,
    };
    let (prev_off, prev_size) = prev.offset_and_size();
    let me = thread_ref(st.info);
    let them = prev_info.map(thread_ref).unwrap_or(ThreadRef { id: u64::MAX, name: None });

    let location = if let Some((start, block)) = alloc::find(addr) {
        Some(Location::Heap {
            addr: start as u64,
            size: block.size as u64,
            thread: thread_ref(block.thread),
            stack: Stack::Frames(user_frames(&alloc::stack(&block))),
        })
    } else if let Some((owner, name, start, size)) = tls_owner(addr) {
        Some(Location::ThreadLocal { thread: thread_ref(owner), name, addr: start as u64, size: size as u64 })
    } else if let Some(owner) = stack_owner(addr) {
        Some(Location::Stack { thread: thread_ref(owner) })
    } else {
        global(addr).map(|(name, start, size)| Location::Global { name, addr: start as u64, size: size as u64 })
    };

    let mut threads = vec![];
    for info in [Some(st.info), prev_info].into_iter().flatten() {
        if info.id != 0 && !threads.iter().any(|t: &ThreadDesc| t.thread.id == info.id) {
            threads.push(ThreadDesc {
                thread: thread_ref(info),
                running: info.running.load(Acquire),
                created_at: creation_stack(info),
            });
        }
    }

    let mut report = RaceReport {
        current: AccessDesc { kind, addr: addr as u64, size: size as u64, thread: me, stack: current_stack },
        previous: AccessDesc {
            kind: prev.kind(),
            addr: (addr as u64 & !7) + prev_off,
            size: prev_size,
            thread: them,
            stack: prev_stack,
        },
        location,
        threads,
    };
    let rt = runtime();
    if let Some(prefix) = &rt.options.strip_path_prefix {
        strip(&mut report.current.stack, prefix);
        strip(&mut report.previous.stack, prefix);
        if let Some(Location::Heap { stack, .. }) = &mut report.location {
            strip(stack, prefix);
        }
        for t in &mut report.threads {
            strip(&mut t.created_at, prefix);
        }
    }

    if !rt.suppressions.is_empty() {
        let mut frames = [&report.current.stack, &report.previous.stack]
            .into_iter()
            .filter_map(|s| if let Stack::Frames(f) = s { Some(f) } else { None })
            .flatten();
        if frames.any(|f| rt.suppressions.matches(&f.function) || rt.suppressions.matches(&f.file)) {
            return;
        }
    }
    let current_key = stack_key(&report.current.stack);
    let mut a = current_key.clone();
    let mut b = stack_key(&report.previous.stack);
    if a > b {
        std::mem::swap(&mut a, &mut b);
    }
    let mut reported = REPORTED.lock().unwrap_or_else(|e| e.into_inner());
    let (pairs, currents) = reported.get_or_insert_with(Default::default);
    let seen = if report.previous.stack == Stack::Lost {
        currents.contains(&current_key)
    } else {
        currents.insert(current_key);
        !pairs.insert((a, b))
    };
    if seen && rt.options.suppress_equal_stacks {
        return;
    }
    let shown = match rt.options.report_format {
        ReportFormat::Text => model::render_text(&report),
        ReportFormat::Json => model::render_json(&report),
    };
    sys::write_fd(rt.out_fd, shown.as_bytes());
    if let Some(fd) = rt.json_fd {
        sys::write_fd(fd, model::render_json(&report).as_bytes());
    }
    let n = RACES.fetch_add(1, AcqRel) + 1;
    if rt.test_harness {
        if let Some(test) = test_thread(st.info) {
            // Only the test's own thread is ever failed (see `rt::exit`):
            // a thread it started may be one the test depends on.
            test.pending_test_races.fetch_add(1, AcqRel);
            if test.id == st.info.id {
                super::thread::capture_name_once(st);
            }
            let name = test.name.lock().unwrap_or_else(|e| e.into_inner()).clone();
            if let Some(name) = name {
                RACY_TESTS.lock().unwrap_or_else(|e| e.into_inner()).insert(name);
            }
        }
    }
    // At every report, not only at exit: a crash, `abort` or `_exit` later
    // must not lose the races already found.
    leave_count(n);
    if rt.options.halt_on_error {
        sys::write_fd(rt.out_fd, model::render_summary(n).as_bytes());
        // SAFETY: terminating the process is always sound.
        unsafe { libc::_exit(rt.options.exitcode) };
    }
}

/// Set once annotated code has run in this process (a frame entered or an
/// access checked), so the CLI can say when nothing was checked at all.
pub static RAN_ANNOTATED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// The line that tells the CLI annotated code ran (test names never start
/// with `!`).
const RAN_ANNOTATED_LINE: &str = "!annotated";

/// At process exit: the summary, and the exit status that says races were found.
pub extern "C" fn at_exit() {
    let n = RACES.load(Acquire);
    leave_count(n);
    if n > 0 {
        let rt = runtime();
        sys::write_fd(rt.out_fd, model::render_summary(n).as_bytes());
        // SAFETY: terminating the process is always sound; stdout was flushed
        // by std before exit handlers run.
        unsafe { libc::_exit(rt.options.exitcode) };
    }
}

/// Tell the CLI how many races this process found, then the tests they
/// were found in, one per line.
fn leave_count(n: u64) {
    if let Some(dir) = &runtime().report_dir {
        let mut text = format!("{n}\n");
        if RAN_ANNOTATED.load(Relaxed) {
            text.push_str(RAN_ANNOTATED_LINE);
            text.push('\n');
        }
        for t in RACY_TESTS.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            text.push_str(t);
            text.push('\n');
        }
        let _ = std::fs::write(format!("{dir}/{}", std::process::id()), text);
    }
}
