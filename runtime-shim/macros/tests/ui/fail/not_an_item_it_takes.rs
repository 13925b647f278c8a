use racecheck_macros::race_check;

#[race_check]
struct Point {
    x: u32,
}

fn main() {
    let _ = Point { x: 1 };
}
