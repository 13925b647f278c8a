//! Faults the runtime must survive.
//!
//! `faults fork N`: while background threads keep taking locks, allocating
//! and making atomic operations (so runtime locks are busy at any moment),
//! the main thread forks N times. Each child races two fresh threads on a
//! counter, so it must report that race and exit with status 66 (it keeps
//! working, no runtime lock left held by a vanished thread); the parent
//! checks every child's status and itself stays silent.
//!
//! `joined` makes `fork` and `panic` the fixed twins: the racing threads
//! are ordered by `join`, every child exits 0 and nothing is reported.
//!
//! `faults panic`: a thread panics deep inside annotated code, catches it,
//! then races; its report shows only the frames it is in at that moment.
//!
//! `faults shadow-taken`: the program maps the address racecheck keeps its
//! shadow table at before any annotated code runs, then races. The runtime
//! cannot start: it says so once, and the program runs to the end unchecked.
//!
//! `faults signal`: a process timer fires every 200 µs; its handler runs
//! annotated code on whichever thread it interrupts (also threads std has
//! only just started), while the main thread makes checked accesses, takes
//! locks, allocates and spawns threads. Nothing may deadlock or abort, and
//! nothing is racy (the handler touches its own stack and an atomic), so
//! the run is silent.
use racecheck::race_check;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::*};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

struct SendPtr(*mut u64);
unsafe impl Send for SendPtr {}

#[race_check]
mod work {
    use super::*;

    pub static HANDLED: AtomicU64 = AtomicU64::new(0);

    /// Called from the signal handler, on whichever thread it interrupts:
    /// checked accesses to the handler's own stack, and an atomic.
    pub fn in_handler() {
        let mut local = [0u64; 4];
        let p = local.as_mut_ptr();
        let n = HANDLED.fetch_add(1, Relaxed) as usize;
        unsafe { *p.add(n % 4) += 1 };
        std::hint::black_box(&local);
    }

    /// Recurses `n` annotated frames deep, then panics.
    pub fn deep_panic(n: u32, p: *mut u64) {
        unsafe { *p += 1 };
        if n == 0 {
            panic!("deliberate panic {} frames down", unsafe { *p });
        }
        deep_panic(n - 1, p)
    }

    pub fn bump(p: *mut u64) {
        unsafe { *p += 1 }
    }

    /// Busy work for the background threads: locks, allocation, atomics,
    /// checked accesses to memory each thread owns.
    pub fn churn(stop: &AtomicBool, shared: &Mutex<Vec<u64>>, ops: &AtomicU64) {
        let mut own = vec![0u64; 64];
        let p = own.as_mut_ptr();
        let mut i = 0usize;
        while !stop.load(Acquire) {
            shared.lock().unwrap().push(i as u64);
            if shared.lock().unwrap().len() > 1000 {
                shared.lock().unwrap().clear();
            }
            let b = Box::new([i; 8]);
            unsafe { *p.add(i % 64) += b[3] as u64 };
            ops.fetch_add(1, SeqCst);
            i += 1;
        }
    }
}

fn background() -> (Arc<AtomicBool>, Vec<thread::JoinHandle<()>>) {
    let stop = Arc::new(AtomicBool::new(false));
    let shared = Arc::new(Mutex::new(vec![]));
    let ops = Arc::new(AtomicU64::new(0));
    let hs = (0..3)
        .map(|_| {
            let (stop, shared, ops) = (stop.clone(), shared.clone(), ops.clone());
            thread::spawn(move || work::churn(&stop, &shared, &ops))
        })
        .collect();
    (stop, hs)
}

/// Two threads bump one counter; `joined`: the first is joined before the
/// second starts (the fixed twin).
fn bump_twice(joined: bool) {
    let mut counter = 0u64;
    let (a, b) = (SendPtr(&mut counter), SendPtr(&mut counter));
    let t1 = thread::spawn(move || work::bump({ a }.0));
    if joined {
        t1.join().unwrap();
        thread::spawn(move || work::bump({ b }.0)).join().unwrap();
        return;
    }
    let t2 = thread::spawn(move || {
        thread::sleep(Duration::from_millis(20));
        work::bump({ b }.0)
    });
    t1.join().unwrap();
    t2.join().unwrap();
}

fn fork(n: usize, joined: bool) {
    let (stop, hs) = background();
    let mut reported = 0;
    for _ in 0..n {
        thread::sleep(Duration::from_millis(5));
        // SAFETY: the child only runs Rust code of this program (threads,
        // allocation): the runtime's locks are handed over intact.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            bump_twice(joined);
            std::process::exit(0);
        }
        assert!(pid > 0, "fork failed");
        let mut status = 0;
        // SAFETY: waiting for our own child.
        let start = Instant::now();
        unsafe { libc::waitpid(pid, &mut status, 0) };
        assert!(start.elapsed() < Duration::from_secs(60), "child took too long");
        assert!(libc::WIFEXITED(status), "child ended by signal: {status:#x}");
        let expect = if joined { 0 } else { 66 };
        assert_eq!(libc::WEXITSTATUS(status), expect, "the child must report its race (66), or, joined, nothing (0)");
        reported += 1;
    }
    stop.store(true, Release);
    for h in hs {
        h.join().unwrap();
    }
    if joined {
        println!("fork: {reported} children silent");
    } else {
        println!("fork: {reported} children reported their race");
    }
}

extern "C" fn on_alarm(_: libc::c_int) {
    work::in_handler();
}

fn signal() {
    // SAFETY: installing a handler and a timer for this process.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_alarm as *const () as usize;
        sa.sa_flags = libc::SA_RESTART;
        libc::sigaction(libc::SIGALRM, &sa, std::ptr::null_mut());
        let every = libc::timeval { tv_sec: 0, tv_usec: 200 };
        let t = libc::itimerval { it_interval: every, it_value: every };
        libc::setitimer(libc::ITIMER_REAL, &t, std::ptr::null_mut());
    }
    let shared = Arc::new(Mutex::new(vec![]));
    let stop = AtomicBool::new(false);
    let ops = AtomicU64::new(0);
    let mut mine = vec![0u64; 16];
    let start = Instant::now();
    while start.elapsed() < Duration::from_millis(1500) {
        for _ in 0..1000 {
            work::bump(&mut mine[3]);
        }
        let s = shared.clone();
        thread::spawn(move || s.lock().unwrap().push(1)).join().unwrap();
        let _ = stop.load(Relaxed);
        ops.fetch_add(1, AcqRel);
    }
    // SAFETY: stopping the timer.
    unsafe {
        let zero = libc::timeval { tv_sec: 0, tv_usec: 0 };
        let t = libc::itimerval { it_interval: zero, it_value: zero };
        libc::setitimer(libc::ITIMER_REAL, &t, std::ptr::null_mut());
    }
    let handled = work::HANDLED.load(Relaxed);
    assert!(handled > 100, "only {handled} signals handled");
    println!("signal: {handled} handlers ran annotated code");
}

/// A thread panics five annotated frames down and catches it; then it races
/// with another thread. Its report must show only the frames it is in
/// now: unwinding popped the others.
fn shadow_taken() {
    // racecheck's shadow address (runtime-shim/src/abi.rs, SHADOW_ADDR).
    const SHADOW_ADDR: usize = 0x1000_0000_0000;
    // SAFETY: a fresh anonymous mapping where nothing is mapped (NOREPLACE).
    let p = unsafe {
        libc::mmap(
            SHADOW_ADDR as *mut libc::c_void,
            4096,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED_NOREPLACE,
            -1,
            0,
        )
    };
    assert_eq!(p as usize, SHADOW_ADDR, "the address was not free");
    let mut counter = 0u64;
    let (a, b) = (SendPtr(&mut counter), SendPtr(&mut counter));
    let t1 = thread::spawn(move || work::bump({ a }.0));
    let t2 = thread::spawn(move || work::bump({ b }.0));
    t1.join().unwrap();
    t2.join().unwrap();
    println!("shadow-taken: ran to the end, counter {counter}");
}

fn panic_then_race(joined: bool) {
    let mut counter = 0u64;
    let mut scratch = 0u64;
    let (a, b, s) = (SendPtr(&mut counter), SendPtr(&mut counter), SendPtr(&mut scratch));
    std::panic::set_hook(Box::new(|_| {}));
    let mut t1 = Some(thread::spawn(move || {
        let (a, s) = ({ a }, { s });
        let caught = std::panic::catch_unwind(|| work::deep_panic(5, s.0));
        assert!(caught.is_err());
        work::bump(a.0);
    }));
    if joined {
        t1.take().into_iter().for_each(|t| t.join().unwrap());
    }
    let t2 = thread::spawn(move || {
        thread::sleep(Duration::from_millis(50));
        work::bump({ b }.0)
    });
    if let Some(t) = t1 {
        t.join().unwrap();
    }
    t2.join().unwrap();
    println!("panic: caught, then {}", if joined { "ordered" } else { "raced" });
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let joined = args.iter().any(|a| a == "joined");
    match args.get(1).map(String::as_str).unwrap_or_default() {
        "fork" => fork(args.get(2).and_then(|a| a.parse().ok()).unwrap_or(20), joined),
        "signal" => signal(),
        "panic" => panic_then_race(joined),
        "shadow-taken" => shadow_taken(),
        _ => {
            eprintln!("usage: faults fork N [joined] | faults signal | faults panic [joined] | faults shadow-taken");
            std::process::exit(2);
        }
    }
}
