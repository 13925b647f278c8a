//! A race, then the process ends abnormally: `crash-after-race abort`
//! aborts (SIGABRT), `crash-after-race exit` calls `std::process::exit(3)`.
//! The report is out before either; the CLI still counts the race.
//! `crash-after-race joined` is the fixed twin: the thread is joined before
//! main writes, and nothing is reported.
use racecheck::race_check;
use std::thread;

static mut X: u64 = 0;

#[race_check]
fn main() {
    let how = std::env::args().nth(1).unwrap_or_default();
    let t = thread::spawn(|| unsafe { X = 1 });
    if how == "joined" {
        t.join().unwrap();
        unsafe { X = 2 };
        return;
    }
    thread::sleep(std::time::Duration::from_millis(50));
    unsafe { X = 2 };
    t.join().unwrap();
    match how.as_str() {
        "abort" => std::process::abort(),
        "exit" => std::process::exit(3),
        _ => {}
    }
}
