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
/// runs. Built by hand: a runtime whose wrap list claims `once_call`
/// without the linker wrapping it (in a cache dir of its own), and the
/// compiler wrapper linking it into the demo, in a target dir of its own.
#[test]
fn self_test_warns_about_a_wrapper_that_does_not_run() {
    let dir = crate::testdata().join("target/selftest-probe");
    std::fs::create_dir_all(&dir).unwrap();
    let wraps = dir.join("fake_wraps.rs");
    std::fs::write(&wraps, "installed!(once_call);\n").unwrap();
    let tc = racecheck_cli::cargo::toolchain().unwrap();
    let runtime = racecheck_cli::runtime::build_in(&dir.join("runtime"), &tc, &wraps).unwrap();
    let runtime: Vec<String> = runtime.iter().map(|r| r.display().to_string()).collect();
    let mut build = std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    build
        .current_dir(crate::testdata())
        .args(["build", "-q", "--target", "x86_64-unknown-linux-gnu", "-p", "counter-fixed", "--target-dir"])
        .arg(&dir)
        .env("RUSTC_WRAPPER", env!("CARGO_BIN_EXE_racecheck"))
        .env("__RACECHECK_WRAPPER", "1")
        .env("__RACECHECK_LINK_ARGS", "-Wl,--wrap=pthread_create\x1f-Wl,--wrap=pthread_join")
        .env("__RACECHECK_RUNTIME", runtime.join("\x1f"))
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

#[test]
fn misspelt_test_option_is_a_usage_error_naming_the_right_one() {
    let mut c = racecheck();
    c.args(["test", "--relase"]);
    let o = run(c);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("unknown option `--relase`") && err.contains("did you mean `--release`?"), "{err}");
    let mut c = racecheck();
    c.args(["test", "--doc"]);
    let o = run(c);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("cargo test --doc"));
}

/// A crate in a fresh directory with `racecheck` as a path dependency (or
/// none), built in testdata's target dir where the runtime is built already.
fn scratch_crate(with_dependency: bool, main_rs: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let runtime = crate::testdata().parent().unwrap().join("runtime-shim");
    let dep = if with_dependency { format!("racecheck = {{ path = {:?} }}\n", runtime.display().to_string()) } else { String::new() };
    std::fs::write(
        dir.path().join("Cargo.toml"),
        format!("[package]\nname = \"scratch\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\n{dep}\n[workspace]\n"),
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("src")).unwrap();
    std::fs::write(dir.path().join("src/main.rs"), main_rs).unwrap();
    dir
}

#[test]
fn a_crate_without_the_dependency_is_told_what_to_add() {
    let dir = scratch_crate(false, "fn main() {}\n");
    for cmd in ["test", "run"] {
        let mut c = racecheck();
        c.current_dir(dir.path()).arg(cmd);
        let o = run(c);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(err.contains("depends on the `racecheck` crate") && err.contains("[dev-dependencies]"), "{err}");
        assert!(!err.contains("undefined symbol"), "{err}");
    }
}

#[test]
fn a_run_that_checked_nothing_says_so() {
    let dir = scratch_crate(true, "fn main() {\n    std::thread::spawn(|| ()).join().unwrap();\n}\n");
    let mut c = racecheck();
    c.env("CARGO_TARGET_DIR", crate::testdata().join("target"));
    c.args(["run", "--manifest-path"]).arg(dir.path().join("Cargo.toml"));
    let o = run(c);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(err.contains("racecheck: warning: no #[race_check] code ran in scratch"), "{err}");
    // Annotated code that ran: no such warning (the counter demo).
    let mut c = racecheck();
    c.args(["run", "-p", "counter-fixed"]);
    let err = stderr(&run(c));
    assert!(!err.contains("no #[race_check] code ran"), "{err}");
}

#[test]
fn relative_option_paths_mean_the_directory_racecheck_started_in() {
    // Test binaries run in their package's directory (testdata/testcrate);
    // the files are named relative to testdata/, where racecheck starts.
    let target = crate::testdata().join("target");
    std::fs::write(target.join("supp-relative.txt"), "race:testcrate::Counter::bump\n").unwrap();
    for e in std::fs::read_dir(&target).unwrap().flatten() {
        if e.file_name().to_string_lossy().starts_with("races-relative.") {
            let _ = std::fs::remove_file(e.path());
        }
    }
    let mut c = racecheck();
    c.args(["test", "-p", "testcrate"]).env("RACECHECK_OPTIONS", "suppressions=target/supp-relative.txt");
    let o = run(c);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(!err.contains("DATA RACE"), "{err}");
    let mut c = racecheck();
    c.args(["test", "-p", "testcrate", "--", "--nocapture"]).env("RACECHECK_OPTIONS", "log_path=target/races-relative");
    let o = run(c);
    assert_eq!(o.status.code(), Some(66), "{}", stderr(&o));
    let logs: Vec<_> = std::fs::read_dir(&target)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("races-relative."))
        .map(|e| std::fs::read_to_string(e.path()).unwrap())
        .collect();
    assert!(logs.iter().any(|l| l.contains("WARNING: DATA RACE")), "no log under testdata/target: {logs:?}");
    // `--nocapture` reached the harness: the racy test's message is not captured.
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(!out.contains("---- tests::racy_bumps stdout ----"), "{out}");
}

#[test]
fn help_names_the_dependency_the_options_and_the_exit_codes() {
    let mut c = racecheck();
    c.arg("--help");
    let o = run(c);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0));
    for needle in ["depends on `racecheck`", "--deep", "RUSTC_BOOTSTRAP=1", "RACECHECK_OPTIONS", "halt_on_error", "66 races found", "2 usage error"] {
        assert!(out.contains(needle), "{needle}: {out}");
    }
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_cargo-racecheck")).args(["racecheck", "--help"]).output().unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("Usage: cargo racecheck"), "{out}");
}

/// racecheck only in [dev-dependencies], a crate with a binary, a library
/// and an integration test: cargo builds the binary without racecheck, yet
/// its code is instrumented; it links (the CLI links the runtime into every
/// final artifact) and the integration test's race fails it. The whole
/// project, target dir included, then moves: it still builds and links.
#[test]
fn dev_dependency_crate_with_a_binary_links_and_survives_a_move() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("a");
    let runtime = crate::testdata().parent().unwrap().join("runtime-shim");
    std::fs::create_dir_all(root.join("src")).unwrap();
    std::fs::create_dir_all(root.join("tests")).unwrap();
    std::fs::write(
        root.join("Cargo.toml"),
        format!(
            "[package]\nname = \"devdep\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dev-dependencies]\nracecheck = {{ path = {:?} }}\n\n[workspace]\n",
            runtime.display().to_string()
        ),
    )
    .unwrap();
    std::fs::write(
        root.join("src/lib.rs"),
        "use std::sync::atomic::{AtomicU64, Ordering};\npub static HITS: AtomicU64 = AtomicU64::new(0);\npub fn hit() -> u64 {\n    HITS.fetch_add(1, Ordering::SeqCst)\n}\n",
    )
    .unwrap();
    std::fs::write(root.join("src/main.rs"), "fn main() {\n    println!(\"{}\", devdep::hit());\n}\n").unwrap();
    std::fs::write(
        root.join("tests/it.rs"),
        "use racecheck::race_check;\nuse std::cell::UnsafeCell;\n\nstruct C(UnsafeCell<u64>);\nunsafe impl Sync for C {}\n\n\
         #[race_check]\nfn bump(c: &C) {\n    unsafe { *c.0.get() += 1 }\n}\n\n\
         #[race_check]\n#[test]\nfn racy() {\n    let c = C(UnsafeCell::new(0));\n    std::thread::scope(|s| {\n        s.spawn(|| bump(&c));\n        s.spawn(|| bump(&c));\n    });\n    devdep::hit();\n}\n",
    )
    .unwrap();
    for (i, at) in [root.clone(), dir.path().join("b")].into_iter().enumerate() {
        if i == 1 {
            std::fs::rename(&root, &at).unwrap();
        }
        let mut c = racecheck();
        c.current_dir(&at).arg("test");
        let o = run(c);
        let (out, err) = (String::from_utf8_lossy(&o.stdout), stderr(&o));
        assert_eq!(o.status.code(), Some(66), "{}: {out}\n{err}", at.display());
        assert!(out.contains("test racy ... FAILED"), "{out}");
        assert!(err.contains("race detected during test it: racy") && !err.contains("undefined symbol"), "{err}");
    }
}

/// `racecheck setup` builds (or finds) the runtime for the active toolchain
/// and says where it is; run and test then start with it ready.
#[test]
fn setup_prepares_the_runtime_for_the_toolchain() {
    let mut c = racecheck();
    c.arg("setup");
    let o = run(c);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(err.contains("racecheck: the runtime for rustc 1.") && err.contains("is ready in"), "{err}");
    let dir = err.split("is ready in ").nth(1).and_then(|r| r.split(" (").next()).expect("a directory");
    assert!(std::path::Path::new(dir).join("runtime-rlibs").exists(), "{err}");
    assert!(std::path::Path::new(dir).join("test-runner/libracecheck_test_runner.rlib").exists(), "{err}");
}
