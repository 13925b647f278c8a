//! End-to-end tests: the built `racecheck` binary on the crates in testdata/.
//!
//! Each racy program's report is compared, normalised (addresses, thread
//! ids, the toolchain's source hash, paths relative to testdata/), with the
//! `expected.stderr` beside it; `RACECHECK_BLESS=1` rewrites those files.
//! Each fixed twin must stay silent across repeated runs.

mod deep;
mod demos;
mod errors;
mod runtime;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;

/// cargo serialises builds of one target dir anyway; keep output readable.
static SERIAL: Mutex<()> = Mutex::new(());

pub fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().join("testdata")
}

pub fn racecheck() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_racecheck"));
    c.current_dir(testdata());
    c.env_remove("RACECHECK_OPTIONS");
    c
}

pub fn run(mut cmd: Command) -> Output {
    let _guard = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    cmd.output().expect("failed to start racecheck")
}

/// Run the CLI on testdata/ with `args`: exit code, stdout, stderr.
pub fn cli(args: &[&str]) -> (Option<i32>, String, String) {
    let mut c = racecheck();
    c.args(args);
    let o = run(c);
    (o.status.code(), String::from_utf8_lossy(&o.stdout).into_owned(), stderr(&o))
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The report blocks and the summary line of `text`, normalised. Paths are
/// relative to testdata/, as the CLI prints them (`strip_path_prefix`
/// defaults to the workspace root); direct runs print them absolute.
pub fn normalise(text: &str) -> String {
    let root = format!("{}/", testdata().display());
    let mut out = String::new();
    let mut inside = false;
    for line in text.lines() {
        if line == "==================" {
            inside = !inside;
            out.push_str(line);
            out.push('\n');
            continue;
        }
        if inside || line.starts_with("Found ") {
            out.push_str(&normalise_line(&line.replace(&root, "")));
            out.push('\n');
        }
    }
    out
}

fn normalise_line(line: &str) -> String {
    let mut s = String::new();
    let mut rest = line;
    while let Some(i) = rest.find("0x") {
        s.push_str(&rest[..i]);
        let hex = rest[i + 2..].chars().take_while(|c| c.is_ascii_hexdigit()).count();
        if hex == 16 {
            s.push_str("0x<ADDR>");
        } else {
            s.push_str(&rest[i..i + 2 + hex]);
        }
        rest = &rest[i + 2 + hex..];
    }
    s.push_str(rest);
    // thread ids: "thread 12" → "thread N", "Thread 12" → "Thread N"
    let mut out = String::new();
    let mut words = s.split(' ').peekable();
    let mut prev_thread = false;
    while let Some(w) = words.next() {
        let digits = w.trim_end_matches(':');
        if prev_thread && !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()) {
            out.push('N');
            out.push_str(&w[digits.len()..]);
        } else {
            out.push_str(w);
        }
        prev_thread = w == "thread" || w == "Thread";
        if words.peek().is_some() {
            out.push(' ');
        }
    }
    // the toolchain's source path: /rustc/<commit>/library/…
    if let Some(i) = out.find("/rustc/") {
        if let Some(j) = out[i + 7..].find('/') {
            out.replace_range(i + 7..i + 7 + j, "HASH");
        }
    }
    out
}

/// Compare with (or, with RACECHECK_BLESS=1, write) `testdata/<krate>/expected.stderr`.
pub fn assert_snapshot(krate: &str, actual: &str) {
    let path = testdata().join(krate).join("expected.stderr");
    if std::env::var_os("RACECHECK_BLESS").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run with RACECHECK_BLESS=1 to create it)", path.display()));
    assert_eq!(actual, expected, "report of {krate} differs from {}", path.display());
}

#[test]
fn normalisation() {
    let line = "Write at 0x00007f1c2a400010 by thread 12 'w':";
    assert_eq!(normalise_line(line), "Write at 0x<ADDR> by thread N 'w':");
    assert_eq!(normalise_line("Thread 3 (running) created at:"), "Thread N (running) created at:");
    assert_eq!(normalise_line("      /rustc/abc123/library/test/src/lib.rs:1:2"), "      /rustc/HASH/library/test/src/lib.rs:1:2");
    assert_eq!(normalise_line("by main thread:"), "by main thread:");
}
