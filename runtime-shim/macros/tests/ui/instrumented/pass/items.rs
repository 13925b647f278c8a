// Without the racecheck CLI the attribute is the identity on every item it takes.
use racecheck_macros::race_check;

#[race_check]
fn free(p: *mut u32) -> u32 {
    unsafe {
        *p += 1;
        *p
    }
}

pub struct S(u32);

#[race_check]
impl S {
    fn get(&self) -> u32 {
        self.0
    }
}

#[race_check]
impl Clone for S {
    fn clone(&self) -> S {
        S(self.0)
    }
}

#[race_check]
trait T {
    fn twice(&self) -> u32;
}

#[race_check]
mod m {
    pub fn g() -> u32 {
        7
    }
    #[racecheck_macros::race_check(skip)]
    pub fn h() {}
}

fn main() {
    let mut x = 1;
    assert_eq!(free(&mut x), 2);
    assert_eq!(S(3).clone().get(), 3);
    assert_eq!(m::g(), 7);
    m::h();
}
