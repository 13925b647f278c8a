//! The runtime (crate `racecheck-rt`), built once per toolchain and reused
//! by every project, as cargo-miri keeps one sysroot per toolchain. The crate
//! users depend on (`racecheck`) holds only the macro and the inline hooks;
//! the CLI links this runtime into every program it builds.
//!
//! It lives in `<cache>/<toolchain>-<sources>/` (`RACECHECK_CACHE_DIR`, else
//! `$XDG_CACHE_HOME/racecheck`, else `~/.cache/racecheck`). cargo decides
//! whether it is up to date, so a changed runtime source rebuilds it.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::cargo::Toolchain;
use crate::errors::Error;

/// The runtime's sources: the workspace this CLI was built from.
fn source_root() -> PathBuf {
    match std::env::var_os("RACECHECK_SOURCE") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_default(),
    }
}

/// Where built runtimes are kept.
pub fn cache_root() -> PathBuf {
    if let Some(dir) = std::env::var_os("RACECHECK_CACHE_DIR") {
        return PathBuf::from(dir);
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("racecheck")
}

/// Where the runtime for `tc`, built from this CLI's sources, is kept:
/// `<cache>/<toolchain>-<sources>`. The sources' place is part of the name:
/// cargo names a path crate's build after its path inside the workspace,
/// so two checkouts (`RACECHECK_SOURCE`, or two installs of one version)
/// sharing a directory would take each other's builds for their own, and,
/// building at once, link one's runtime with the other's engine.
pub fn toolchain_dir(tc: &Toolchain) -> PathBuf {
    cache_root().join(format!("{}-{}", tc.key, sources_tag(&source_root())))
}

/// A short name for the sources at `root`: FNV-1a of the path, the same
/// from any build of the CLI.
fn sources_tag(root: &Path) -> String {
    let hash = root
        .as_os_str()
        .as_encoded_bytes()
        .iter()
        .fold(0xcbf2_9ce4_8422_2325u64, |h, &b| (h ^ b as u64).wrapping_mul(0x0100_0000_01b3));
    format!("{:08x}", hash as u32)
}

/// A name in `dir` no other build uses: this process's id and a count.
fn own_name(dir: &Path, what: &str) -> PathBuf {
    static BUILDS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = BUILDS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    dir.join(format!("{what}-{}-{n}", std::process::id()))
}

/// Write `path` whole or not at all: racecheck processes starting at once
/// on a fresh cache each write the files they share, and one must never
/// read another's half-written file (a build reading `wraps.rs`).
pub fn write_whole(path: &Path, contents: &str) -> Result<(), Error> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = own_name(dir, ".tmp");
    let written = std::fs::write(&tmp, contents).and_then(|()| std::fs::rename(&tmp, path));
    written.map_err(|source| {
        let _ = std::fs::remove_file(&tmp);
        Error::Write { path: path.to_path_buf(), source }
    })
}

/// Compiler arguments of the runtime: never instrumented, with frame
/// pointers for the stack walks, and without shrink-wrapping, which could
/// sink a hook's prologue below its frame-pointer read.
pub const RUNTIME_RUSTFLAGS: &[&str] =
    &["--cfg", "racecheck", "-Cforce-frame-pointers=yes", "-Cllvm-args=-enable-shrink-wrap=false"];

/// Build the runtime for `tc` if need be, with the std wraps in `wraps_rs`;
/// returns its rlibs (the runtime and each library it depends on), to be
/// linked into programs as static archives.
pub fn ensure(tc: &Toolchain, wraps_rs: &Path) -> Result<Vec<PathBuf>, Error> {
    build_in(&toolchain_dir(tc), tc, wraps_rs)
}

/// [`ensure`], in the cache directory `dir` of the toolchain.
pub fn build_in(dir: &Path, tc: &Toolchain, wraps_rs: &Path) -> Result<Vec<PathBuf>, Error> {
    let dir = dir.to_path_buf();
    std::fs::create_dir_all(&dir).map_err(|source| Error::Write { path: dir.clone(), source })?;
    let list = dir.join("runtime-rlibs");
    let known = std::fs::read_to_string(&list).ok();
    if known.is_none() {
        eprintln!(
            "racecheck: building the runtime for rustc {} once; every project on this toolchain reuses it ({})",
            tc.release,
            dir.display()
        );
    }
    let root = source_root();
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.args(["build", "--release", "-p", "racecheck-rt", "--message-format=json-render-diagnostics", "--target", &tc.host])
        .arg("--manifest-path")
        .arg(root.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(dir.join("target"))
        .env("CARGO_ENCODED_RUSTFLAGS", RUNTIME_RUSTFLAGS.join("\x1f"))
        .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "1")
        .env("CARGO_PROFILE_RELEASE_DEBUG_ASSERTIONS", "false")
        .env("CARGO_PROFILE_RELEASE_LTO", "false")
        .env("CARGO_PROFILE_RELEASE_PANIC", "unwind")
        .env("RACECHECK_WRAPS_RS", wraps_rs)
        .env_remove("RUSTFLAGS")
        .env_remove("RUSTC_WRAPPER")
        .env_remove("CARGO_BUILD_RUSTC_WRAPPER")
        .env_remove("CARGO_TARGET_DIR")
        .env_remove(crate::wrapper::ENV_WRAPPER)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    if known.is_some() {
        cmd.arg("-q");
    }
    let mut child = cmd.spawn().map_err(|source| Error::Spawn { program: "cargo".into(), source })?;
    let mut rlibs = vec![];
    for line in BufReader::new(child.stdout.take().expect("piped")).lines().map_while(Result::ok) {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) else { continue };
        if v["reason"] != "compiler-artifact" {
            continue;
        }
        let kinds = v["target"]["kind"].as_array().cloned().unwrap_or_default();
        if kinds.iter().any(|k| k == "proc-macro" || k == "custom-build") {
            continue;
        }
        let files = v["filenames"].as_array().cloned().unwrap_or_default();
        rlibs.extend(files.iter().filter_map(|f| f.as_str()).filter(|f| f.ends_with(".rlib")).map(PathBuf::from));
    }
    let status = child.wait().map_err(|source| Error::Spawn { program: "cargo".into(), source })?;
    if !status.success() || rlibs.is_empty() {
        return Err(Error::Runtime {
            source_dir: root,
            detail: format!("cargo exited with {}", crate::cargo::describe(status)),
        });
    }
    let text: Vec<String> = rlibs.iter().map(|r| r.display().to_string()).collect();
    if known.as_deref() != Some(text.join("\n").as_str()) {
        write_whole(&list, &text.join("\n"))?;
    }
    Ok(rlibs)
}

/// A value that changes whenever any of the runtime's rlibs is rebuilt
/// (their paths, sizes and modification times) or the linker arguments that
/// come with them (the wraps) change: neither is in cargo's fingerprint.
pub fn identity(rlibs: &[PathBuf], link_args: &[String]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for r in rlibs {
        r.hash(&mut h);
        if let Ok(m) = std::fs::metadata(r) {
            m.len().hash(&mut h);
            m.modified().ok().hash(&mut h);
        }
    }
    link_args.hash(&mut h);
    h.finish()
}

/// Deep mode's test runner (`runtime-shim/rt/test-runner/lib.rs`), which
/// makes a race fail the test during which it was found.
const TEST_RUNNER_RS: &str = include_str!("../../runtime-shim/rt/test-runner/lib.rs");

/// Compile deep mode's test runner for `tc` if need be (one file, with the
/// toolchain's rustc, under the bootstrap switch: it uses libtest's
/// unstable API); returns its rlib.
pub fn test_runner(tc: &Toolchain) -> Result<PathBuf, Error> {
    test_runner_in(&toolchain_dir(tc).join("test-runner"), tc)
}

/// [`test_runner`], kept in `dir`.
fn test_runner_in(dir: &Path, tc: &Toolchain) -> Result<PathBuf, Error> {
    let dir = dir.to_path_buf();
    std::fs::create_dir_all(&dir).map_err(|source| Error::Write { path: dir.clone(), source })?;
    let source = dir.join("lib.rs");
    let rlib = dir.join("libracecheck_test_runner.rlib");
    if std::fs::read_to_string(&source).ok().as_deref() == Some(TEST_RUNNER_RS) && rlib.exists() {
        return Ok(rlib);
    }
    // Built in a directory of this process's own (rustc's intermediate
    // files are named after the crate), then renamed into place, the rlib
    // first: racecheck processes starting at once on a fresh cache (a test
    // harness, parallel CI jobs) each build it, and none links a
    // half-written one or takes an old one for the new source's.
    let tmp = own_name(&dir, "build");
    std::fs::create_dir_all(&tmp).map_err(|source| Error::Write { path: tmp.clone(), source })?;
    let (tmp_source, tmp_rlib) = (tmp.join("lib.rs"), tmp.join("libracecheck_test_runner.rlib"));
    std::fs::write(&tmp_source, TEST_RUNNER_RS).map_err(|e| Error::Write { path: tmp_source.clone(), source: e })?;
    let out = Command::new(std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into()))
        .args(["--edition", "2021", "--crate-type", "rlib", "--crate-name", "racecheck_test_runner", "-Copt-level=2"])
        .args(["--target", &tc.host, "-o"])
        .arg(&tmp_rlib)
        .arg(&tmp_source)
        .env("RUSTC_BOOTSTRAP", "1")
        .output()
        .map_err(|source| Error::Spawn { program: "rustc".into(), source })?;
    if !out.status.success() {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(Error::Runtime {
            source_dir: source,
            detail: format!("rustc failed on deep mode's test runner: {}", String::from_utf8_lossy(&out.stderr).trim()),
        });
    }
    let rename = |from: &Path, to: &Path| std::fs::rename(from, to).map_err(|e| Error::Write { path: to.to_path_buf(), source: e });
    rename(&tmp_rlib, &rlib)?;
    rename(&tmp_source, &source)?;
    let _ = std::fs::remove_dir_all(&tmp);
    Ok(rlib)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_checkout_gets_its_own_runtime_build() {
        let a = sources_tag(Path::new("/work/main"));
        assert_eq!(a, sources_tag(Path::new("/work/main")));
        assert_ne!(a, sources_tag(Path::new("/tmp/headwt")));
        assert_eq!(a.len(), 8);
    }

    /// Racecheck processes starting at once on a fresh cache each build
    /// the test runner: every one gets a whole rlib (rustc's intermediate
    /// files once collided in the shared directory and failed the build).
    #[test]
    fn test_runner_builds_side_by_side() {
        let tc = crate::cargo::toolchain().expect("rustc");
        let dir = tempfile::tempdir().unwrap();
        let built: Vec<PathBuf> = std::thread::scope(|s| {
            let hs: Vec<_> = (0..4).map(|_| s.spawn(|| test_runner_in(dir.path(), &tc))).collect();
            hs.into_iter().map(|h| h.join().unwrap().expect("built")).collect()
        });
        let rlib = dir.path().join("libracecheck_test_runner.rlib");
        assert!(built.iter().all(|b| *b == rlib));
        assert!(std::fs::metadata(&rlib).unwrap().len() > 1000);
        assert_eq!(std::fs::read_to_string(dir.path().join("lib.rs")).unwrap(), TEST_RUNNER_RS);
        // Nothing left of the builds but the result.
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(left.len(), 2, "{left:?}");
        // A second call reuses it.
        let before = std::fs::metadata(&rlib).unwrap().modified().unwrap();
        test_runner_in(dir.path(), &tc).unwrap();
        assert_eq!(std::fs::metadata(&rlib).unwrap().modified().unwrap(), before);
    }
}
