//! Generates the 2,000 tests of this crate (see src/lib.rs).
use std::fmt::Write;

fn main() {
    let mut text = String::new();
    for i in 0..2000 {
        let body = if i == RACY { "crate::racy_pair()" } else { "crate::ordered_pair(i)" };
        writeln!(text, "#[racecheck::race_check]\n#[test]\nfn t{i:04}() {{\n    let i = {i}u64;\n    let _ = i;\n    {body};\n}}").unwrap();
    }
    let out = std::path::PathBuf::from(std::env::var_os("OUT_DIR").unwrap()).join("tests.rs");
    std::fs::write(out, text).unwrap();
}

/// The one test with a race.
const RACY: usize = 1234;
