//! The runtime's own unit tests (crate `racecheck-rt`, which only compiles
//! with `--cfg racecheck`, as the CLI builds it, so `cargo test
//! --workspace` alone never runs them): its hand-written deep-mode hooks
//! against the detector's rules, its frame stack.

use std::path::Path;
use std::process::Command;

#[test]
fn the_runtime_unit_tests_pass() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let _guard = super::SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let out = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args(["test", "-p", "racecheck-rt", "--lib", "--target-dir"])
        .arg(root.join("target").join("racecheck-rt-unit"))
        .current_dir(root)
        // The runtime's flags as the CLI builds it (cli/src/runtime.rs).
        .env("CARGO_ENCODED_RUSTFLAGS", racecheck_cli::runtime::RUNTIME_RUSTFLAGS.join("\x1f"))
        .env_remove("RUSTFLAGS")
        .output()
        .expect("cargo runs");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{text}");
    for test in ["the_hand_written_fast_path_agrees_with_the_rules", "pushes_pops_and_grows_like_a_vec"] {
        assert!(text.contains(&format!("{test} ... ok")), "{test} did not run: {text}");
    }
}
