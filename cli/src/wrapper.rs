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
//!   arguments for pthreads, the allocator and std's slow paths.

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

/// What the wrapper needs to know about one rustc invocation.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Invocation {
    pub crate_name: Option<String>,
    pub crate_types: Vec<String>,
    pub has_target: bool,
    pub is_test: bool,
    pub links_racecheck: bool,
    pub has_debuginfo: bool,
}

impl Invocation {
    pub fn parse(args: &[String]) -> Invocation {
        let mut inv = Invocation::default();
        let mut prev: Option<&str> = None;
        for a in args {
            match prev {
                Some("--crate-name") => inv.crate_name = Some(a.clone()),
                Some("--crate-type") => inv.crate_types.push(a.clone()),
                Some("--extern") if a.starts_with("racecheck=") => inv.links_racecheck = true,
                Some("-C") if a.starts_with("debuginfo=") => inv.has_debuginfo = true,
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
            return (extra, false);
        }
        extra.extend(["-Cpasses=tsan", "-Cllvm-args=-tsan-instrument-func-entry-exit=false"].map(String::from));
        if !self.has_debuginfo {
            extra.push("-Cdebuginfo=line-tables-only".to_string());
        }
        let is_final = self.is_test || self.crate_types.iter().any(|t| t == "bin");
        if is_final && self.links_racecheck {
            extra.extend(link_args.iter().map(|a| format!("-Clink-arg={a}")));
        }
        (extra, true)
    }
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
    let (extra, instrument) = Invocation::parse(&rest).extra_args(&link_args);
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
        let other = inv("--crate-name b --crate-type bin --target x");
        assert!(!other.extra_args(&["W".into()]).0.contains(&"-Clink-arg=W".to_string()));
    }
}
