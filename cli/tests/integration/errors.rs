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

/// The start-up self-test names a std wrapper that is installed but never
/// runs. Built by hand (the compiler wrapper with a wrap list that claims
/// `once_call` without linking it), in a target dir of its own.
#[test]
fn self_test_warns_about_a_wrapper_that_does_not_run() {
    let dir = crate::testdata().join("target/selftest-probe");
    std::fs::create_dir_all(&dir).unwrap();
    let wraps = dir.join("fake_wraps.rs");
    std::fs::write(&wraps, "installed!(once_call);\n").unwrap();
    let mut build = std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    build
        .current_dir(crate::testdata())
        .args(["build", "-q", "--target", "x86_64-unknown-linux-gnu", "-p", "counter-fixed", "--target-dir"])
        .arg(&dir)
        .env("RUSTC_WRAPPER", env!("CARGO_BIN_EXE_racecheck"))
        .env("__RACECHECK_WRAPPER", "1")
        .env("__RACECHECK_LINK_ARGS", "-Wl,--wrap=pthread_create\x1f-Wl,--wrap=pthread_join")
        .env("RACECHECK_WRAPS_RS", &wraps)
        .env("CARGO_ENCODED_RUSTFLAGS", "--cfg\x1fracecheck")
        .env_remove("RUSTFLAGS");
    let o = crate::run(build);
    assert!(o.status.success(), "{}", stderr(&o));
    let exe = dir.join("x86_64-unknown-linux-gnu/debug/counter-fixed");
    let o = std::process::Command::new(exe).output().unwrap();
    let err = stderr(&o);
    assert!(
        err.contains("racecheck: warning: the wrapper of std's once_call did not run: Once/OnceLock/LazyLock initialisation is not covered"),
        "{err}"
    );
}

#[test]
fn a_directory_that_is_not_a_cargo_project() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = racecheck();
    c.current_dir(dir.path()).arg("test");
    let o = run(c);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(3), "{err}");
    assert!(err.contains("Cargo.toml"), "{err}");
}

#[test]
fn a_crate_that_fails_to_compile_shows_the_compiler_errors() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = crate::testdata().parent().unwrap().join("runtime-shim");
    std::fs::write(
        dir.path().join("Cargo.toml"),
        format!(
            "[package]\nname = \"broken\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\nracecheck = {{ path = {:?} }}\n\n[workspace]\n",
            runtime.display().to_string()
        ),
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("src")).unwrap();
    std::fs::write(
        dir.path().join("src/main.rs"),
        "#[racecheck::race_check]\nfn main() {\n    let x: u32 = \"not a number\";\n    println!(\"{x}\");\n}\n",
    )
    .unwrap();
    let mut c = racecheck();
    // The runtime is already built there, with the same flags.
    c.env("CARGO_TARGET_DIR", crate::testdata().join("target"));
    c.args(["run", "--manifest-path"]).arg(dir.path().join("Cargo.toml"));
    let o = run(c);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(3), "{err}");
    assert!(err.contains("mismatched types") && err.contains("src/main.rs:3"), "{err}");
    assert!(err.contains("racecheck: error: failed to build"), "{err}");
}
