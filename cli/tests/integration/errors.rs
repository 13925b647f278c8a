//! Misuse gets a clear message and its own exit status.

use crate::{racecheck, run, stderr};

#[test]
fn invalid_options_name_the_key() {
    let mut c = racecheck();
    c.args(["run", "-p", "counter"]).env("RACECHECK_OPTIONS", "history_size=99");
    let o = run(c);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("`history_size`") && err.contains("0 to 7"), "{err}");
}

#[test]
fn unknown_flag_is_a_usage_error() {
    let mut c = racecheck();
    c.args(["run", "--frobnicate"]);
    assert_eq!(run(c).status.code(), Some(2));
    let mut c = racecheck();
    c.arg("explode");
    assert_eq!(run(c).status.code(), Some(2));
}

#[test]
fn missing_manifest_says_where() {
    let mut c = racecheck();
    c.args(["run", "--manifest-path", "/nonexistent/Cargo.toml"]);
    let o = run(c);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(3), "{err}");
    assert!(err.contains("/nonexistent/Cargo.toml"), "{err}");
}

#[test]
fn several_binaries_need_a_choice() {
    let mut c = racecheck();
    c.args(["run"]);
    let o = run(c);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("--bin"), "{err}");
}

#[test]
fn malformed_suppressions_file_names_the_line() {
    let path = std::env::temp_dir().join(format!("racecheck-supp-{}.txt", std::process::id()));
    std::fs::write(&path, "race:fine\n\nthread:nope\n").unwrap();
    let mut c = racecheck();
    c.args(["run", "-p", "counter"]).env("RACECHECK_OPTIONS", format!("suppressions={}", path.display()));
    let o = run(c);
    let _ = std::fs::remove_file(&path);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("line 3: unknown kind `thread`"), "{err}");
}
