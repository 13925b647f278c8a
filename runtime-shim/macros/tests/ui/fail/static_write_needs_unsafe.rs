// Writing a `static mut` stays an unsafe operation after instrumentation.
use racecheck_macros::race_check;

static mut N: u32 = 0;

#[race_check]
fn f() {
    N = 1;
}

fn main() {
    f();
}
