// A crate that denies warnings builds the same instrumented: the frame's
// block around a one-expression body is not an `unused_braces` warning,
// in fns, methods, trait defaults, closures and tests.
#![deny(warnings)]
use racecheck_macros::race_check;
use std::cell::UnsafeCell;

pub struct P(UnsafeCell<u64>);

#[race_check]
fn bump(p: &P) {
    unsafe { *p.0.get() += 1 }
}

#[race_check]
impl P {
    fn target(&self) -> *mut u64 {
        self.0.get()
    }
}

#[race_check]
trait Get {
    fn get(&self) -> u64 {
        7
    }
}

impl Get for P {}

#[race_check]
mod m {
    pub fn closures() -> u32 {
        let f = |x: u32| x + 1;
        f(1)
    }

    #[test]
    fn a_test() {
        assert_eq!(closures(), 2)
    }
}

fn main() {
    let p = P(UnsafeCell::new(0));
    bump(&p);
    let _ = p.target();
    let _ = p.get();
    let _ = m::closures();
}
