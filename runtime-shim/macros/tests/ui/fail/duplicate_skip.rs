use racecheck_macros::race_check;

#[race_check(skip, skip)]
fn f() {}

fn main() {
    f();
}
