// The user's own mistake is reported at the user's code, not in the macro.
use racecheck_macros::race_check;

#[race_check]
fn f(p: *mut u32) {
    *p = 1;
}

fn main() {
    f(std::ptr::null_mut());
}
