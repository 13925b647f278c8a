//! Code whose meaning the expansion must keep: borrows, temporaries and
//! their drop order, `?`, `return`, labelled `break` with a value, `let
//! else`, patterns, closures, lifetimes, `#[track_caller]`. Each case returns
//! what it observed; `record` prints it in the instrumented and in the plain
//! build, and the integration test requires both outputs to be equal.
use racecheck::race_check;
use std::cell::RefCell;

thread_local! {
    static LOG: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

pub fn log(s: String) {
    LOG.with(|l| l.borrow_mut().push(s));
}

pub fn take_log() -> Vec<String> {
    LOG.with(|l| std::mem::take(&mut *l.borrow_mut()))
}

/// Logs when it is dropped, to observe drop order.
pub struct Noisy(pub &'static str);

impl Drop for Noisy {
    fn drop(&mut self) {
        log(format!("drop {}", self.0));
    }
}

#[race_check]
pub mod cases {
    use super::*;

    /// Two-phase borrows: `v.push(v.len())` with `v` behind a pointer.
    pub fn two_phase(p: *mut Vec<usize>) -> Vec<usize> {
        unsafe {
            (*p).push((*p).len());
            (*p).push((*p).len() * 10);
            (*p).clone()
        }
    }

    /// Temporaries in expressions that read through pointers, and when they drop.
    pub fn drop_order(p: *const u64) -> Vec<String> {
        let _a = Noisy("a");
        let v = unsafe { *p } + {
            let _t = Noisy("block temp");
            unsafe { *p }
        };
        log(format!("v = {v}"));
        match (Noisy("scrutinee"), unsafe { *p }) {
            (_n, x) => log(format!("arm {x}")),
        }
        let len = unsafe { format!("{}", *p) }.len();
        log(format!("len = {len}"));
        let _b = Noisy("b");
        log("end".into());
        drop(_b);
        drop(_a);
        take_log()
    }

    /// `?` on values read through pointers, and an early `return`.
    pub fn question(p: *const Option<u64>, q: *const Result<u64, String>) -> Result<u64, String> {
        let a = unsafe { *p }.ok_or_else(|| "none".to_string())?;
        let b = unsafe { (*q).clone() }?;
        if a == 0 {
            return Ok(b);
        }
        Ok(a * 100 + b)
    }

    /// A labelled `break` with a value out of nested loops.
    pub fn labelled(p: *const [u64; 4], limit: u64) -> u64 {
        'outer: loop {
            for i in 0..4 {
                if unsafe { (*p)[i] } > limit {
                    break 'outer i as u64;
                }
            }
            break 99;
        }
    }

    /// `let else`, `ref` and `ref mut` bindings, and tuple patterns through a pointer.
    pub fn patterns(p: *mut (u64, Option<u64>)) -> u64 {
        let Some(x) = (unsafe { (*p).1 }) else { return 0 };
        unsafe {
            let (ref mut first, _) = *p;
            *first += x;
        }
        let (a, _) = unsafe { *p };
        let (ref b, _) = unsafe { *p };
        a + *b
    }

    /// A closure that mutates a capture and reads through a pointer.
    pub fn closures(p: *mut u64) -> u64 {
        let mut total = 0;
        let mut add = |n: u64| total += n + unsafe { *p };
        add(1);
        add(2);
        unsafe { *p += total };
        total
    }

    /// A reference tied to its inputs' lifetime, taken from indexed places.
    pub fn longest<'a>(a: &'a [u64], b: &'a [u64]) -> &'a u64 {
        if a[0] >= b[0] {
            &a[0]
        } else {
            &b[0]
        }
    }

    /// `#[track_caller]` still sees its caller.
    #[track_caller]
    pub fn caller_line() -> u32 {
        std::panic::Location::caller().line()
    }
}

/// Every case, with what it observed, one line each.
pub fn run() -> Vec<String> {
    use cases::*;
    let mut out = vec![];
    let mut v = vec![7usize];
    out.push(format!("two_phase: {:?}", two_phase(&mut v)));
    out.push(format!("drop_order: {:?}", drop_order(&5)));
    for (p, q) in [(Some(3), Ok(4)), (None, Ok(4)), (Some(3), Err("bad".to_string())), (Some(0), Ok(9))] {
        out.push(format!("question({p:?}, {q:?}): {:?}", question(&p, &q)));
    }
    let arr = [1u64, 2, 3, 4];
    out.push(format!("labelled: {} {}", labelled(&arr, 2), labelled(&arr, 10)));
    let mut t = (1u64, Some(2u64));
    out.push(format!("patterns: {} {:?}", patterns(&mut t), t));
    out.push(format!("patterns(None): {}", patterns(&mut (1, None))));
    let mut n = 3u64;
    out.push(format!("closures: {} {n}", closures(&mut n)));
    out.push(format!("longest: {}", longest(&[1, 2], &[3])));
    let line = line!() + 1;
    out.push(format!("track_caller: {}", caller_line() == line));
    out
}
