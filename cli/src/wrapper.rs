//! `RUSTC_WRAPPER` mode: cargo calls `racecheck <rustc> <args…>` for every
//! crate; we add instrumentation to the right ones.
//!
//! * Target crates (built with `--target`, as the CLI always asks) get
//!   LLVM's ThreadSanitizer pass for their atomics (`-C passes=tsan`, with
//!   function entry/exit off: `#[race_check]` gives frames) and frame pointers.
//!   The proc macro is told to instrument through `__RACECHECK_INSTRUMENT`.
//! * Host crates (proc macros, build scripts and their dependencies) are left
//!   alone: instrumented, they fail to load or link.
//! * The runtime (`racecheck`, `racecheck_detector`) is never instrumented
//!   (it would call itself forever) and is optimised even in debug builds, so
//!   debug crates never reuse its uninstrumented generic instances.
//! * Final artifacts that depend on racecheck are linked with the `--wrap`
//!   arguments for pthreads, the allocator and std's slow paths, and with the
//!   runtime's rlibs themselves, in case the target never uses racecheck
//!   (rustc links only crates that are used).

use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::process::Command;

/// Set in cargo's environment by the CLI: run as the compiler wrapper.
pub const ENV_WRAPPER: &str = "__RACECHECK_WRAPPER";
/// Linker arguments for final artifacts, separated by 0x1f.
pub const ENV_LINK_ARGS: &str = "__RACECHECK_LINK_ARGS";
/// A wrapper the user had already (sccache…), to chain to.
pub const ENV_INNER: &str = "__RACECHECK_INNER_WRAPPER";
/// Tells `#[race_check]` to instrument, in the compiler's environment.
pub const ENV_INSTRUMENT: &str = "__RACECHECK_INSTRUMENT";

const RUNTIME_CRATES: &[&str] = &["racecheck", "racecheck_detector"];

/// Version of what the wrapper adds and records; part of the rustflags (see
/// `cargo.rs`), so a target dir built by an older wrapper rebuilds once.
/// 3: `harness = false` benches and tests are linked as final artifacts.
/// 4: nothing is stripped (`-Cstrip=none`).
/// 5: the runtime is built without shrink-wrapping.
pub const RECORD_VERSION: u32 = 5;

/// What the wrapper needs to know about one rustc invocation.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Invocation {
    pub crate_name: Option<String>,
    pub crate_types: Vec<String>,
    pub has_target: bool,
    pub is_test: bool,
    pub links_racecheck: bool,
    pub has_debuginfo: bool,
    /// `--extern name=path` rlibs (an `.rmeta` stands for its `.rlib`).
    pub extern_rlibs: Vec<String>,
    /// The racecheck rlib, when given with `--extern`.
    pub racecheck_rlib: Option<String>,
    /// `--out-dir` and `-C extra-filename`: where the output goes.
    pub out_dir: Option<String>,
    pub extra_filename: Option<String>,
}

impl Invocation {
    pub fn parse(args: &[String]) -> Invocation {
        let mut inv = Invocation::default();
        let mut prev: Option<&str> = None;
        for a in args {
            match prev {
                Some("--crate-name") => inv.crate_name = Some(a.clone()),
                Some("--crate-type") => inv.crate_types.push(a.clone()),
                Some("--extern") => {
                    if let Some((name, path)) = a.split_once('=') {
                        // Pipelined builds give libraries `.rmeta`; the rlib
                        // is beside it.
                        if let Some(stem) = path.strip_suffix(".rlib").or_else(|| path.strip_suffix(".rmeta")) {
                            inv.extern_rlibs.push(format!("{stem}.rlib"));
                        }
                        if name == "racecheck" {
                            inv.links_racecheck = true;
                            inv.racecheck_rlib = Some(path.to_string());
                        }
                    }
                }
                Some("--out-dir") => inv.out_dir = Some(a.clone()),
                Some("-C") if a.starts_with("debuginfo=") => inv.has_debuginfo = true,
                Some("-C") if a.starts_with("extra-filename=") => {
                    inv.extra_filename = Some(a["extra-filename=".len()..].to_string())
                }
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
            prev = Some(a.as_str());
        }
        inv
    }

    /// Extra compiler arguments, and whether the macro should instrument.
    pub fn extra_args(&self, link_args: &[String]) -> (Vec<String>, bool) {
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
            // The frame hook reads its caller's return address through rbp
            // (`sys::grandcaller_pc`), which needs the hook's own prologue to
            // come first; shrink-wrapping may sink it below that read.
            extra.push("-Cllvm-args=-enable-shrink-wrap=false".to_string());
            return (extra, false);
        }
        extra.extend(["-Cpasses=tsan", "-Cllvm-args=-tsan-instrument-func-entry-exit=false"].map(String::from));
        if !self.has_debuginfo {
            extra.push("-Cdebuginfo=line-tables-only".to_string());
        }
        // Cargo's release profile strips debuginfo from binaries that were
        // built without it: that would take the line tables just added, and
        // with them every frame outside annotated code (allocation sites,
        // thread creation). Later `-C` options win.
        extra.push("-Cstrip=none".to_string());
        // rustc's default crate type is `bin`: cargo passes none for a
        // bench or test target with `harness = false`.
        let is_final = self.is_test || self.crate_types.is_empty() || self.crate_types.iter().any(|t| t == "bin");
        if is_final && self.links_racecheck {
            extra.extend(link_args.iter().map(|a| format!("-Clink-arg={a}")));
            // A target that never uses racecheck would not link it, yet its
            // instrumented code and the `--wrap`s need it: link the runtime
            // and its dependencies' rlibs explicitly (members are pulled on
            // demand, so this adds nothing when racecheck is linked anyway).
            // They go in as verbatim static libraries, which rustc puts
            // before the system libraries: appended at the very end, libgcc's
            // split-stack `__wrap_pthread_create` would be found first.
            if let Some(rlib) = &self.racecheck_rlib {
                let mut dirs = vec![];
                for r in rlib_closure(rlib) {
                    let path = std::path::Path::new(&r);
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
        }
        (extra, true)
    }

    /// Where this crate's record of its rlib dependencies goes.
    fn record_path(&self) -> Option<std::path::PathBuf> {
        let (dir, name) = (self.out_dir.as_ref()?, self.crate_name.as_ref()?);
        let extra = self.extra_filename.as_deref().unwrap_or("");
        Some(std::path::Path::new(dir).join(format!("lib{name}{extra}.rlib.racecheck-deps")))
    }

    /// Remember which rlibs this crate depends on, for [`rlib_closure`].
    pub fn record_dependencies(&self) {
        if !self.crate_types.iter().any(|t| t == "lib" || t == "rlib") {
            return;
        }
        if let Some(path) = self.record_path() {
            let _ = std::fs::write(path, self.extern_rlibs.join("\n"));
        }
    }
}

/// `rlib` and, transitively, every rlib it was compiled against, as recorded
/// by [`Invocation::record_dependencies`].
pub fn rlib_closure(rlib: &str) -> Vec<String> {
    let mut seen: Vec<String> = vec![];
    let mut todo = vec![rlib.to_string()];
    while let Some(r) = todo.pop() {
        if seen.contains(&r) {
            continue;
        }
        if let Ok(deps) = std::fs::read_to_string(format!("{r}.racecheck-deps")) {
            todo.extend(deps.lines().filter(|l| !l.is_empty()).map(String::from));
        }
        seen.push(r);
    }
    seen
}

/// Run rustc for cargo, with our additions. Never returns.
pub fn run(args: Vec<OsString>) -> ! {
    let Some(rustc) = args.get(1).cloned() else {
        eprintln!("racecheck: error: started as a compiler wrapper without a compiler to run");
        std::process::exit(crate::exit_codes::USAGE);
    };
    let rest: Vec<String> = args[2..].iter().map(|a| a.to_string_lossy().into_owned()).collect();
    let link_args: Vec<String> = std::env::var(ENV_LINK_ARGS)
        .map(|s| s.split('\x1f').filter(|a| !a.is_empty()).map(String::from).collect())
        .unwrap_or_default();
    let invocation = Invocation::parse(&rest);
    invocation.record_dependencies();
    let (extra, instrument) = invocation.extra_args(&link_args);
    let mut cmd = match std::env::var_os(ENV_INNER).filter(|w| !w.is_empty()) {
        Some(inner) => {
            let mut c = Command::new(inner);
            c.arg(&rustc);
            c
        }
        None => Command::new(&rustc),
    };
    cmd.args(&args[2..]).args(&extra);
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
        let i = inv("--crate-name demo --edition=2021 src/main.rs --crate-type bin --target x86_64-unknown-linux-gnu --extern racecheck=/t/libracecheck.rlib -C debuginfo=2");
        let (extra, instrument) = i.extra_args(&["-Wl,--wrap=pthread_create".into()]);
        assert!(instrument);
        assert!(extra.contains(&"-Cpasses=tsan".to_string()));
        assert!(extra.contains(&"-Clink-arg=-Wl,--wrap=pthread_create".to_string()));
        assert!(!extra.iter().any(|a| a.starts_with("-Cdebuginfo")), "cargo's debuginfo kept");
        assert!(extra.contains(&"-Cstrip=none".to_string()), "release profile's strip undone");
    }

    #[test]
    fn host_crates_and_the_runtime_are_not() {
        for args in [
            "--crate-name syn --crate-type lib",
            "--crate-name build_script_build --crate-type bin --target x86_64-unknown-linux-gnu",
            "--crate-name racecheck_macros --crate-type proc-macro --target x86_64-unknown-linux-gnu",
        ] {
            assert_eq!(inv(args).extra_args(&[]), (vec![], false), "{args}");
        }
        let (extra, instrument) = inv("--crate-name racecheck --crate-type lib --target x").extra_args(&[]);
        assert!(!instrument);
        assert!(extra.contains(&"-Copt-level=3".to_string()));
        assert!(!extra.contains(&"-Cpasses=tsan".to_string()));
    }

    #[test]
    fn link_args_only_for_final_artifacts_using_racecheck() {
        let lib = inv("--crate-name l --crate-type lib --target x --extern racecheck=/r.rlib");
        assert!(!lib.extra_args(&["W".into()]).0.contains(&"-Clink-arg=W".to_string()));
        let test = inv("--crate-name l --test --target x --extern racecheck=/r.rlib");
        assert!(test.extra_args(&["W".into()]).0.contains(&"-Clink-arg=W".to_string()));
        // A `harness = false` bench: no --crate-type at all, so a binary.
        let bench = inv("--crate-name hook benches/hook.rs --target x --extern racecheck=/r.rlib");
        assert!(bench.extra_args(&["W".into()]).0.contains(&"-Clink-arg=W".to_string()));
        let other = inv("--crate-name b --crate-type bin --target x");
        assert!(!other.extra_args(&["W".into()]).0.contains(&"-Clink-arg=W".to_string()));
    }
}

#[cfg(test)]
mod closure_tests {
    use super::*;

    #[test]
    fn records_dependencies_and_walks_the_closure() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display().to_string();
        let compile = |name: &str, deps: &[&str]| {
            let mut args = vec!["--crate-name".to_string(), name.into(), "--crate-type".into(), "lib".into()];
            for dep in deps {
                args.extend(["--extern".to_string(), format!("{dep}={d}/lib{dep}-1.rmeta")]);
            }
            args.extend(["--out-dir".to_string(), d.clone(), "-C".into(), "extra-filename=-1".into()]);
            Invocation::parse(&args).record_dependencies();
        };
        compile("leaf", &[]);
        compile("mid", &["leaf"]);
        compile("racecheck", &["mid", "leaf"]);
        let mut closure = rlib_closure(&format!("{d}/libracecheck-1.rlib"));
        closure.sort();
        let expect: Vec<String> = ["leaf", "mid", "racecheck"].iter().map(|n| format!("{d}/lib{n}-1.rlib")).collect();
        assert_eq!(closure, expect);
    }
}
