//! `RUSTC_WRAPPER` mode: cargo calls `racecheck <rustc> <args…>` for every
//! crate; we add instrumentation to the right ones.
//!
//! * Target crates (built with `--target`, as the CLI always asks) get
//!   LLVM's ThreadSanitizer pass for their atomics (`-C passes=tsan`, with
//!   function entry/exit off: `#[race_check]` gives frames) and frame pointers.
//!   The proc macro is told to instrument through `__RACECHECK_INSTRUMENT`.
//! * Host crates (proc macros, build scripts and their dependencies) are left
//!   alone: instrumented, they fail to load or link.
//! * The hooks' crate (`racecheck`) and the detector it reads cells with are
//!   never instrumented (their atomics would call the runtime from inside
//!   it) and are optimised even in debug builds, so debug crates never reuse
//!   their uninstrumented generic instances.
//! * Every final artifact of a target crate (binaries, tests, benches) is
//!   linked with the runtime, which the CLI built once per toolchain
//!   (`runtime.rs`), and with the `--wrap` arguments for pthreads, the
//!   allocator and std's slow paths: whether or not it uses racecheck, its
//!   instrumented code calls the runtime.

use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::process::Command;

/// Set in cargo's environment by the CLI: run as the compiler wrapper.
pub const ENV_WRAPPER: &str = "__RACECHECK_WRAPPER";
/// Linker arguments for final artifacts, separated by 0x1f.
pub const ENV_LINK_ARGS: &str = "__RACECHECK_LINK_ARGS";
/// The runtime's rlibs, separated by 0x1f.
pub const ENV_RUNTIME: &str = "__RACECHECK_RUNTIME";
/// A wrapper the user had already (sccache…), to chain to.
pub const ENV_INNER: &str = "__RACECHECK_INNER_WRAPPER";
/// Tells `#[race_check]` to instrument, in the compiler's environment.
pub const ENV_INSTRUMENT: &str = "__RACECHECK_INSTRUMENT";
/// Deep mode: `workspace` or `all` (see [`Deep`]).
pub const ENV_DEEP: &str = "__RACECHECK_DEEP";
/// Deep mode's workspace root: crates whose manifest is under it are the
/// workspace's own.
pub const ENV_DEEP_ROOT: &str = "__RACECHECK_DEEP_ROOT";
/// Deep mode's test runner rlib (`runtime::test_runner`).
pub const ENV_TEST_RUNNER: &str = "__RACECHECK_TEST_RUNNER";

/// Which crates deep mode instruments with the compiler's ThreadSanitizer
/// pass (every load and store, entry and exit).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Deep {
    /// The workspace's own crates (the default of `--deep`).
    Workspace,
    /// Every crate of the graph but racecheck's own (`--deep=all`).
    All,
}

impl Deep {
    pub fn parse(s: &str) -> Option<Deep> {
        match s {
            "" | "workspace" => Some(Deep::Workspace),
            "all" => Some(Deep::All),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Deep::Workspace => "workspace",
            Deep::All => "all",
        }
    }
}

/// rustc's ThreadSanitizer instrumentation of every load, store, function
/// entry and exit, with racecheck's runtime in place of LLVM's
/// (`-Zexternal-clangrt`), and std precompiled without it (the ABI check
/// would refuse the mix). Unstable flags: the CLI sets `RUSTC_BOOTSTRAP=1`
/// for the compiler processes it starts in deep mode, and only those.
/// No shared generics: a crate instantiates every generic it uses (std's
/// `Vec::push` included) instead of calling an uninstrumented copy upstream.
pub const DEEP_FLAGS: &[&str] =
    &["-Zsanitizer=thread", "-Zexternal-clangrt", "-Cunsafe-allow-abi-mismatch=sanitizer", "-Zshare-generics=no"];

/// Crates of the user's graph that are part of racecheck: never instrumented.
const RUNTIME_CRATES: &[&str] = &["racecheck", "racecheck_detector"];

/// Version of what the wrapper adds; part of the rustflags (see `cargo.rs`),
/// so a target dir built by an older wrapper rebuilds once.
/// 3: `harness = false` benches and tests are linked as final artifacts.
/// 4: nothing is stripped (`-Cstrip=none`).
/// 5: the hooks' crate is built without shrink-wrapping.
/// 6: the runtime is prebuilt per toolchain and linked into every final artifact.
/// 7: crates built without debug info get `-Cdebuginfo=limited`.
/// 8: deep mode.
/// 9: the hooks' crate gets `--cfg racecheck_unoptimized` in debug builds.
pub const RECORD_VERSION: u32 = 9;

/// What the wrapper needs to know about one rustc invocation.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Invocation {
    pub crate_name: Option<String>,
    pub crate_types: Vec<String>,
    pub has_target: bool,
    pub is_test: bool,
    pub has_debuginfo: bool,
    /// Cargo asked for optimisation (`-C opt-level=` other than 0).
    pub optimized: bool,
}

impl Invocation {
    pub fn parse(args: &[String]) -> Invocation {
        let mut inv = Invocation::default();
        let mut prev: Option<&str> = None;
        for a in args {
            match prev {
                Some("--crate-name") => inv.crate_name = Some(a.clone()),
                Some("--crate-type") => inv.crate_types.push(a.clone()),
                Some("-C") if a.starts_with("debuginfo=") => inv.has_debuginfo = true,
                Some("-C") if a.starts_with("opt-level=") => inv.optimized = a != "opt-level=0",
                _ => {}
            }
            if a == "--target" || a.starts_with("--target=") {
                inv.has_target = true;
            }
            if a == "--test" {
                inv.is_test = true;
            }
            if a.starts_with("-Cdebuginfo=") {
                inv.has_debuginfo = true;
            }
            if let Some(level) = a.strip_prefix("-Copt-level=") {
                inv.optimized = level != "0";
            }
            prev = Some(a.as_str());
        }
        inv
    }

    /// Extra compiler arguments, and whether the macro should instrument.
    /// `runtime`: the runtime's rlibs, linked into final artifacts. `deep`:
    /// `None` in annotated mode, else whether this crate is one deep mode
    /// instruments. `test_runner`: deep mode's test runner rlib.
    pub fn extra_args(
        &self,
        link_args: &[String],
        runtime: &[String],
        deep: Option<bool>,
        test_runner: Option<&str>,
    ) -> (Vec<String>, bool) {
        let Some(name) = self.crate_name.as_deref() else { return (vec![], false) };
        let host_only = !self.has_target
            || name == "build_script_build"
            || self.crate_types.iter().any(|t| t == "proc-macro");
        if host_only {
            return (vec![], false);
        }
        let mut extra = vec!["-Cforce-frame-pointers=yes".to_string()];
        if RUNTIME_CRATES.contains(&name) {
            extra.extend(["-Copt-level=3", "-Ccodegen-units=1", "-Cdebug-assertions=off"].map(String::from));
            if !self.optimized {
                // The hooks' inline check is compiled into the user's crates,
                // unoptimised in a debug build: it then avoids what is a call
                // there (see `abi::load`, `__rt::runtime::key`).
                extra.extend(["--cfg", "racecheck_unoptimized"].map(String::from));
            }
            // The frame hook reads its caller's return address through rbp
            // (`abi::grandcaller_pc`), which needs the hook's own prologue to
            // come first; shrink-wrapping may sink it below that read.
            extra.push("-Cllvm-args=-enable-shrink-wrap=false".to_string());
            return (extra, false);
        }
        match deep {
            Some(true) => {
                extra.extend(DEEP_FLAGS.iter().map(|f| f.to_string()));
                // A race fails the test during which it was found: through
                // racecheck's test runner, libtest's own with each test
                // wrapped. (The attribute's path resolves through the
                // extern prelude in every edition, 2015 included.)
                if let (true, Some(runner)) = (self.is_test, test_runner) {
                    extra.push("--extern".to_string());
                    extra.push(format!("racecheck_test_runner={runner}"));
                    extra.push("-Zcrate-attr=feature(custom_test_frameworks)".to_string());
                    extra.push("-Zcrate-attr=test_runner(racecheck_test_runner::run)".to_string());
                }
            }
            // Atomics only (every mode): the pass without the attribute that
            // asks for plain accesses; `#[race_check]` gives frames.
            _ => extra.extend(["-Cpasses=tsan", "-Cllvm-args=-tsan-instrument-func-entry-exit=false"].map(String::from)),
        }
        if deep == Some(false) {
            // May be linked with deep crates either way round.
            extra.push("-Cunsafe-allow-abi-mismatch=sanitizer".to_string());
        }
        // Limited, not line tables only: those name inlined functions
        // without their paths (`{closure#0}`, `transfer`), in release builds.
        if !self.has_debuginfo {
            extra.push("-Cdebuginfo=limited".to_string());
        }
        // Cargo's release profile strips debuginfo from binaries that were
        // built without it: that would take the line tables just added, and
        // with them every frame outside annotated code (allocation sites,
        // thread creation). Later `-C` options win.
        extra.push("-Cstrip=none".to_string());
        // rustc's default crate type is `bin`: cargo passes none for a
        // bench or test target with `harness = false`.
        let is_final = self.is_test || self.crate_types.is_empty() || self.crate_types.iter().any(|t| t == "bin");
        if is_final {
            extra.extend(link_args.iter().map(|a| format!("-Clink-arg={a}")));
            // The runtime's rlibs go in as verbatim static libraries: members
            // are pulled in on demand, and rustc puts them before the system
            // libraries (appended at the very end, libgcc's split-stack
            // `__wrap_pthread_create` would be found first).
            let mut dirs = vec![];
            for r in runtime {
                let path = std::path::Path::new(r);
                if let (Some(dir), Some(file)) = (path.parent(), path.file_name()) {
                    let dir = format!("-Lnative={}", dir.display());
                    if !dirs.contains(&dir) {
                        dirs.push(dir);
                    }
                    extra.push(format!("-lstatic:+verbatim={}", file.to_string_lossy()));
                }
            }
            extra.extend(dirs);
        }
        // In deep mode the compiler sees every access: `#[race_check]` adds
        // no second set of hooks.
        (extra, deep.is_none())
    }
}

/// Run rustc for cargo, with our additions. Never returns.
pub fn run(args: Vec<OsString>) -> ! {
    let Some(rustc) = args.get(1).cloned() else {
        eprintln!("racecheck: error: started as a compiler wrapper without a compiler to run");
        std::process::exit(crate::exit_codes::USAGE);
    };
    let rest: Vec<String> = args[2..].iter().map(|a| a.to_string_lossy().into_owned()).collect();
    let list = |var: &str| -> Vec<String> {
        std::env::var(var).map(|s| s.split('\x1f').filter(|a| !a.is_empty()).map(String::from).collect()).unwrap_or_default()
    };
    let invocation = Invocation::parse(&rest);
    // Cargo names the crate it compiles in `CARGO_CRATE_NAME`; a build
    // script probing the compiler (proc-macro2, anyhow…) calls it too, and
    // must see the plain toolchain: with the bootstrap switch on, those
    // conclude they may use nightly features, and the real build fails.
    let by_cargo = invocation.crate_name.is_some() && std::env::var("CARGO_CRATE_NAME").ok() == invocation.crate_name;
    let deep = std::env::var(ENV_DEEP).ok().and_then(|d| Deep::parse(&d)).filter(|_| by_cargo).map(|scope| {
        scope == Deep::All || {
            let root = std::env::var_os(ENV_DEEP_ROOT).map(std::path::PathBuf::from);
            let dir = std::env::var_os("CARGO_MANIFEST_DIR").map(std::path::PathBuf::from);
            matches!((root, dir), (Some(r), Some(d)) if d.starts_with(&r))
        }
    });
    let runner = std::env::var(ENV_TEST_RUNNER).ok();
    let (extra, instrument) = invocation.extra_args(&list(ENV_LINK_ARGS), &list(ENV_RUNTIME), deep, runner.as_deref());
    let mut cmd = match std::env::var_os(ENV_INNER).filter(|w| !w.is_empty()) {
        Some(inner) => {
            let mut c = Command::new(inner);
            c.arg(&rustc);
            c
        }
        None => Command::new(&rustc),
    };
    cmd.args(&args[2..]).args(&extra);
    if deep.is_some() && extra.iter().any(|a| a.starts_with("-Z") || a.starts_with("-Cunsafe")) {
        cmd.env("RUSTC_BOOTSTRAP", "1");
    }
    if instrument {
        cmd.env(ENV_INSTRUMENT, "1");
    } else {
        cmd.env_remove(ENV_INSTRUMENT);
    }
    let err = cmd.exec();
    eprintln!("racecheck: error: failed to run {}: {err}", rustc.to_string_lossy());
    std::process::exit(crate::exit_codes::SETUP_FAILED);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inv(args: &str) -> Invocation {
        Invocation::parse(&args.split(' ').map(String::from).collect::<Vec<_>>())
    }

    #[test]
    fn target_crates_are_instrumented() {
        let i = inv("--crate-name demo --edition=2021 src/main.rs --crate-type bin --target x86_64-unknown-linux-gnu -C debuginfo=2");
        let (extra, instrument) = i.extra_args(&["-Wl,--wrap=pthread_create".into()], &["/rt/librt-1.rlib".into()], None, None);
        assert!(instrument);
        assert!(extra.contains(&"-Cpasses=tsan".to_string()));
        assert!(extra.contains(&"-Clink-arg=-Wl,--wrap=pthread_create".to_string()));
        assert!(extra.contains(&"-lstatic:+verbatim=librt-1.rlib".to_string()) && extra.contains(&"-Lnative=/rt".to_string()));
        assert!(!extra.iter().any(|a| a.starts_with("-Cdebuginfo")), "cargo's debuginfo kept");
        assert!(extra.contains(&"-Cstrip=none".to_string()), "release profile's strip undone");
    }

    #[test]
    fn host_crates_and_racecheck_crates_are_not() {
        for args in [
            "--crate-name syn --crate-type lib",
            "--crate-name build_script_build --crate-type bin --target x86_64-unknown-linux-gnu",
            "--crate-name racecheck_macros --crate-type proc-macro --target x86_64-unknown-linux-gnu",
        ] {
            assert_eq!(inv(args).extra_args(&[], &[], None, None), (vec![], false), "{args}");
            assert_eq!(inv(args).extra_args(&[], &[], Some(true), None), (vec![], false), "{args}");
        }
        let (extra, instrument) = inv("--crate-name racecheck --crate-type lib --target x").extra_args(&[], &[], Some(true), None);
        assert!(!instrument);
        assert!(extra.contains(&"-Copt-level=3".to_string()));
        assert!(extra.contains(&"-Cllvm-args=-enable-shrink-wrap=false".to_string()));
        assert!(!extra.contains(&"-Cpasses=tsan".to_string()));
        assert!(!extra.iter().any(|a| a.starts_with("-Zsanitizer")), "racecheck's own crates are never instrumented");
    }

    #[test]
    fn the_hooks_crate_knows_an_unoptimised_build() {
        let cfg = |args: &str| {
            let (extra, _) = inv(args).extra_args(&[], &[], None, None);
            extra.windows(2).any(|w| w[0] == "--cfg" && w[1] == "racecheck_unoptimized")
        };
        assert!(cfg("--crate-name racecheck --crate-type lib --target x"));
        assert!(cfg("--crate-name racecheck --crate-type lib --target x -C opt-level=0"));
        assert!(!cfg("--crate-name racecheck --crate-type lib --target x -C opt-level=3"));
        assert!(!cfg("--crate-name racecheck --crate-type lib --target x -Copt-level=s"));
        assert!(!cfg("--crate-name app --crate-type lib --target x"));
    }

    #[test]
    fn deep_crates_get_the_compilers_instrumentation_and_no_macro_hooks() {
        let i = inv("--crate-name app --crate-type lib --target x86_64-unknown-linux-gnu");
        let (extra, instrument) = i.extra_args(&[], &[], Some(true), None);
        assert!(!instrument, "#[race_check] adds nothing in deep mode");
        for f in DEEP_FLAGS {
            assert!(extra.contains(&f.to_string()), "{f}");
        }
        assert!(!extra.contains(&"-Cpasses=tsan".to_string()), "the sanitizer runs the pass once");
        assert!(!extra.iter().any(|a| a.contains("instrument-func-entry-exit")), "entry and exit give the stacks");
        // Test crates get racecheck's test runner, in every edition.
        let runner = |args: &str| {
            let extra = inv(args).extra_args(&[], &[], Some(true), Some("/c/librunner.rlib")).0;
            extra.contains(&"-Zcrate-attr=test_runner(racecheck_test_runner::run)".to_string())
                && extra.contains(&"racecheck_test_runner=/c/librunner.rlib".to_string())
        };
        assert!(runner("--crate-name app --edition=2021 --test --target x"));
        assert!(runner("--crate-name app --edition=2015 --test --target x"));
        assert!(runner("--crate-name app --test --target x"));
        assert!(!runner("--crate-name app --edition=2021 --crate-type lib --target x"));
        // A dependency outside the workspace: atomics only, as in annotated mode.
        let (extra, instrument) = i.extra_args(&[], &[], Some(false), None);
        assert!(!instrument);
        assert!(extra.contains(&"-Cpasses=tsan".to_string()));
        assert!(!extra.iter().any(|a| a.starts_with("-Zsanitizer")));
    }

    #[test]
    fn every_final_artifact_links_the_runtime_whether_or_not_it_uses_racecheck() {
        let has = |args: &str| {
            let extra = inv(args).extra_args(&["W".into()], &["/rt/librt.rlib".into()], None, None).0;
            (extra.contains(&"-Clink-arg=W".to_string()), extra.contains(&"-lstatic:+verbatim=librt.rlib".to_string()))
        };
        assert_eq!(has("--crate-name l --crate-type lib --target x"), (false, false));
        assert_eq!(has("--crate-name l --test --target x"), (true, true));
        // A `harness = false` bench: no --crate-type at all, so a binary.
        assert_eq!(has("--crate-name hook benches/hook.rs --target x"), (true, true));
        // A binary of a crate whose racecheck is only a dev-dependency.
        assert_eq!(has("--crate-name app --crate-type bin --target x"), (true, true));
    }
}
