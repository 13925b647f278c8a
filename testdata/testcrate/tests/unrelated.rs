//! An integration test that uses neither racecheck nor this crate. It still
//! gets `--extern racecheck` (a dependency of the package), and must build
//! and run under `racecheck test` although rustc never links racecheck.
use std::sync::Arc;

#[test]
fn arithmetic_in_threads() {
    let n = Arc::new(20);
    let m = Arc::clone(&n);
    let t = std::thread::spawn(move || *m + 1);
    assert_eq!(t.join().unwrap() + *n, 41);
}
