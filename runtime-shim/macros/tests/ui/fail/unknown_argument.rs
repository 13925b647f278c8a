use racecheck_macros::race_check;

#[race_check(frobnicate)]
fn f() {}

fn main() {
    f();
}
