//! Driving cargo: an instrumented build in its own target directory, then
//! running what it built.

use std::ffi::OsString;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};

use crate::errors::Error;
use crate::wrapper;
use crate::wrapsyms;

/// Where the runtime writes how many races each process found.
pub const ENV_REPORT_DIR: &str = "__RACECHECK_REPORT_DIR";
/// Tells the runtime it runs a libtest harness.
pub const ENV_TEST: &str = "__RACECHECK_TEST";
/// Where the runtime appends each race as a line of JSON.
pub const ENV_JSON: &str = "__RACECHECK_JSON";
/// The default `strip_path_prefix`: the workspace root, so paths are relative.
pub const ENV_STRIP_DEFAULT: &str = "__RACECHECK_STRIP_DEFAULT";

fn cargo() -> OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

fn rustc() -> OsString {
    std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into())
}

fn output(cmd: &mut Command, program: &str) -> Result<String, Error> {
    let out = cmd.output().map_err(|source| Error::Spawn { program: program.into(), source })?;
    if !out.status.success() {
        return Err(Error::Toolchain(format!(
            "`{program}` failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The active toolchain.
pub struct Toolchain {
    pub host: String,
    pub release: String,
    pub sysroot: PathBuf,
    /// Names this toolchain in the runtime cache: release, commit, host.
    pub key: String,
}

pub fn toolchain() -> Result<Toolchain, Error> {
    let vv = output(Command::new(rustc()).arg("-vV"), "rustc -vV")?;
    let field = |k: &str| vv.lines().find_map(|l| l.strip_prefix(k)).map(str::trim).map(String::from);
    let host = field("host:").ok_or_else(|| Error::Toolchain("rustc -vV printed no host".into()))?;
    let release = field("release:").unwrap_or_default();
    let sysroot = PathBuf::from(output(Command::new(rustc()).args(["--print", "sysroot"]), "rustc --print sysroot")?.trim());
    let commit = field("commit-hash:").unwrap_or_default();
    let key = format!("{release}-{}-{host}", &commit[..commit.len().min(12)]);
    Ok(Toolchain { host, release, sysroot, key })
}

/// What `cargo metadata` says about the workspace.
pub struct Workspace {
    pub target_dir: PathBuf,
    pub root: PathBuf,
    /// Some package of the workspace depends on the `racecheck` crate.
    pub uses_racecheck: bool,
}

pub fn workspace(manifest_path: Option<&Path>) -> Result<Workspace, Error> {
    let mut cmd = Command::new(cargo());
    cmd.args(["metadata", "--no-deps", "--format-version", "1"]);
    if let Some(m) = manifest_path {
        cmd.arg("--manifest-path").arg(m);
    }
    let manifest = manifest_path.map(|p| p.display().to_string()).unwrap_or_else(|| "the current directory".into());
    let out = cmd.output().map_err(|source| Error::Spawn { program: "cargo metadata".into(), source })?;
    if !out.status.success() {
        let detail = String::from_utf8_lossy(&out.stderr).trim().trim_start_matches("error: ").to_string();
        return Err(Error::Metadata { manifest, detail });
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| Error::Metadata { manifest: manifest.clone(), detail: e.to_string() })?;
    let get = |k: &str| {
        v[k].as_str()
            .map(PathBuf::from)
            .ok_or_else(|| Error::Metadata { manifest: manifest.clone(), detail: format!("no `{k}` in cargo metadata") })
    };
    let uses_racecheck = v["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|p| p["dependencies"].as_array().into_iter().flatten())
        .any(|d| d["name"] == "racecheck");
    Ok(Workspace { target_dir: get("target_directory")?, root: get("workspace_root")?, uses_racecheck })
}

/// Everything set up for an instrumented cargo invocation.
pub struct Session {
    pub host: String,
    pub target_dir: PathBuf,
    pub report_dir: PathBuf,
    /// The workspace root (paths in machine output are relative to it).
    pub root: PathBuf,
    /// Races as JSON lines, written by every process run.
    json_path: PathBuf,
    /// Send the programs' stdout to stderr (stdout is for machine output).
    pub quiet_stdout: bool,
    env: Vec<(String, OsString)>,
    /// Deep mode, and its scope.
    pub deep: Option<wrapper::Deep>,
}

/// Does `tc` accept deep mode's flags? Compiles an empty crate with them.
fn probe_deep(tc: &Toolchain) -> Result<(), Error> {
    let mut cmd = Command::new(rustc());
    cmd.args(wrapper::DEEP_FLAGS)
        .args(["--crate-type", "lib", "--crate-name", "racecheck_probe", "--emit", "metadata", "--target", &tc.host])
        .arg("--out-dir")
        .arg(std::env::temp_dir())
        .arg("-")
        .env("RUSTC_BOOTSTRAP", "1")
        .stdin(Stdio::null());
    let out = cmd.output().map_err(|source| Error::Spawn { program: "rustc".into(), source })?;
    let _ = std::fs::remove_file(std::env::temp_dir().join("libracecheck_probe.rmeta"));
    if out.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let detail = stderr.lines().find(|l| l.starts_with("error")).unwrap_or("it failed").trim().to_string();
    Err(Error::DeepUnsupported { release: tc.release.clone(), host: tc.host.clone(), detail })
}

/// The std wraps of `tc` and the runtime built with them (once per
/// toolchain, see `runtime.rs`): its rlibs.
pub fn prepare_runtime(tc: &Toolchain) -> Result<(wrapsyms::Wraps, Vec<PathBuf>), Error> {
    let wraps = match wrapsyms::find_libstd(&tc.sysroot, &tc.host) {
        Some(libstd) => wrapsyms::discover(&libstd, &tc.release)?,
        None => wrapsyms::Wraps {
            symbols: vec![],
            warnings: vec![format!("no libstd for {} in {}: std is not covered", tc.host, tc.sysroot.display())],
        },
    };
    for w in &wraps.warnings {
        eprintln!("racecheck: warning: {w}");
    }
    let cache = crate::runtime::toolchain_dir(tc);
    std::fs::create_dir_all(&cache).map_err(|source| Error::Write { path: cache.clone(), source })?;
    let wraps_rs = cache.join("wraps.rs");
    let source = wraps.runtime_source();
    if std::fs::read_to_string(&wraps_rs).ok().as_deref() != Some(source.as_str()) {
        crate::runtime::write_whole(&wraps_rs, &source)?;
    }
    let runtime = crate::runtime::ensure(tc, &wraps_rs)?;
    Ok((wraps, runtime))
}

impl Session {
    /// `deep`: deep mode and which crates it instruments (`None`: annotated
    /// mode).
    pub fn new(manifest_path: Option<&Path>, deep: Option<wrapper::Deep>) -> Result<Session, Error> {
        let ws = workspace(manifest_path)?;
        if !ws.uses_racecheck && deep.is_none() {
            return Err(Error::NoDependency { root: ws.root });
        }
        let tc = toolchain()?;
        if let Some(scope) = deep {
            probe_deep(&tc)?;
            let what = match scope {
                wrapper::Deep::Workspace => "the workspace's crates",
                wrapper::Deep::All => "every crate but racecheck's own",
            };
            eprintln!(
                "racecheck: deep mode: every load and store of {what} is checked, instrumented by rustc's ThreadSanitizer \
                 pass, an unstable feature turned on (RUSTC_BOOTSTRAP=1) only in the compiler processes racecheck starts"
            );
        }
        let (wraps, runtime) = prepare_runtime(&tc)?;
        // Each mode builds in its own directory: switching does not rebuild.
        let target_dir = match deep {
            None => ws.target_dir.join("racecheck"),
            Some(scope) => ws.target_dir.join("racecheck").join(format!("deep-{}", scope.as_str())),
        };
        std::fs::create_dir_all(&target_dir).map_err(|source| Error::Write { path: target_dir.clone(), source })?;
        let report_dir = target_dir.join(format!("reports-{}", std::process::id()));
        std::fs::create_dir_all(&report_dir).map_err(|source| Error::Write { path: report_dir.clone(), source })?;

        let exe = std::env::current_exe().map_err(|source| Error::Spawn { program: "racecheck".into(), source })?;
        let mut rustflags: Vec<String> = match std::env::var("CARGO_ENCODED_RUSTFLAGS") {
            Ok(s) if !s.is_empty() => s.split('\x1f').map(String::from).collect(),
            _ => std::env::var("RUSTFLAGS")
                .map(|s| s.split_whitespace().map(String::from).collect())
                .unwrap_or_default(),
        };
        rustflags.extend(["--cfg".to_string(), "racecheck".to_string()]);
        // Part of cargo's fingerprint: when what the compiler wrapper writes
        // beside each crate changes (its rlib dependency records), a new
        // value rebuilds every crate once, so no record is stale or missing.
        rustflags.extend(["--cfg".to_string(), format!("racecheck_wrapper=\"{}\"", crate::wrapper::RECORD_VERSION)]);
        // The runtime is linked in by the wrapper, behind cargo's back: name
        // the build of it in the fingerprint too, so that a rebuilt runtime
        // (a new racecheck, a changed source) or a changed wrap list relinks
        // every program.
        let link_args = wraps.link_args();
        rustflags.extend(["--cfg".to_string(), format!("racecheck_runtime=\"{:016x}\"", crate::runtime::identity(&runtime, &link_args))]);
        let mut env = vec![
            ("RUSTC_WRAPPER".to_string(), exe.into_os_string()),
            (wrapper::ENV_WRAPPER.to_string(), "1".into()),
            (wrapper::ENV_INNER.to_string(), std::env::var_os("RUSTC_WRAPPER").unwrap_or_default()),
            (wrapper::ENV_LINK_ARGS.to_string(), link_args.join("\x1f").into()),
            (
                wrapper::ENV_RUNTIME.to_string(),
                runtime.iter().map(|r| r.display().to_string()).collect::<Vec<_>>().join("\x1f").into(),
            ),
            ("CARGO_ENCODED_RUSTFLAGS".to_string(), rustflags.join("\x1f").into()),
        ];
        if let Some(scope) = deep {
            env.push((wrapper::ENV_DEEP.to_string(), scope.as_str().into()));
            env.push((wrapper::ENV_DEEP_ROOT.to_string(), ws.root.clone().into_os_string()));
            let runner = crate::runtime::test_runner(&tc)?;
            env.push((wrapper::ENV_TEST_RUNNER.to_string(), runner.into_os_string()));
        }
        let json_path = target_dir.join(format!("races-{}.jsonl", std::process::id()));
        let _ = std::fs::remove_file(&json_path);
        Ok(Session { host: tc.host, target_dir, report_dir, root: ws.root, json_path, quiet_stdout: false, env, deep })
    }

    /// `cargo <subcommand> --target <host> --target-dir <ours> <args>` with
    /// JSON messages; returns the executables built.
    pub fn build(&self, subcommand: &str, args: &[String]) -> Result<Vec<Artifact>, Error> {
        let mut cmd = Command::new(cargo());
        cmd.arg(subcommand)
            .args(["--message-format=json-render-diagnostics", "--target", &self.host])
            .arg("--target-dir")
            .arg(&self.target_dir)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd.env_remove("RUSTFLAGS");
        let mut child = cmd.spawn().map_err(|source| Error::Spawn { program: "cargo".into(), source })?;
        let mut artifacts = vec![];
        let stdout = child.stdout.take().expect("piped");
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) else { continue };
            if v["reason"] != "compiler-artifact" {
                continue;
            }
            let Some(exe) = v["executable"].as_str() else { continue };
            artifacts.push(Artifact {
                executable: PathBuf::from(exe),
                name: v["target"]["name"].as_str().unwrap_or("?").to_string(),
                kinds: v["target"]["kind"]
                    .as_array()
                    .map(|a| a.iter().filter_map(|k| k.as_str().map(String::from)).collect())
                    .unwrap_or_default(),
                is_test: v["profile"]["test"].as_bool().unwrap_or(false),
                package_dir: v["manifest_path"]
                    .as_str()
                    .and_then(|m| Path::new(m).parent().map(Path::to_path_buf))
                    .unwrap_or_default(),
            });
        }
        let status = child.wait().map_err(|source| Error::Spawn { program: "cargo".into(), source })?;
        if !status.success() {
            return Err(Error::Build { status: describe(status) });
        }
        Ok(artifacts)
    }

    /// Run one built program; returns its outcome. `test_harness`: it is a
    /// libtest binary, whose tests fail when a race is found during them.
    pub fn execute(&self, exe: &Path, args: &[String], cwd: &Path, test_harness: bool) -> Result<Outcome, Error> {
        clear_dir(&self.report_dir);
        let mut cmd = Command::new(exe);
        cmd.args(args)
            .current_dir(cwd)
            .env(ENV_REPORT_DIR, &self.report_dir)
            .env(ENV_JSON, &self.json_path)
            .env(ENV_STRIP_DEFAULT, format!("{}/", self.root.display()));
        if self.quiet_stdout {
            cmd.stdout(std::io::stderr());
        }
        if test_harness {
            cmd.env(ENV_TEST, "1");
        }
        let status = cmd.status().map_err(|source| Error::Spawn { program: exe.display().to_string(), source })?;
        let (races, racy_tests, ran_annotated) = read_race_counts(&self.report_dir);
        Ok(Outcome { status, races, racy_tests, ran_annotated })
    }
}

impl Session {
    /// Every race the runs so far reported: each JSON line as the runtime
    /// wrote it, and parsed.
    pub fn races(&self) -> Vec<(String, serde_json::Value)> {
        std::fs::read_to_string(&self.json_path)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok().map(|v| (l.to_string(), v)))
            .collect()
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.report_dir);
        let _ = std::fs::remove_file(&self.json_path);
    }
}

/// An executable cargo built.
#[derive(Debug)]
pub struct Artifact {
    pub executable: PathBuf,
    pub name: String,
    pub kinds: Vec<String>,
    pub is_test: bool,
    pub package_dir: PathBuf,
}

/// How one run of a built program ended.
pub struct Outcome {
    pub status: ExitStatus,
    /// Races its processes reported.
    pub races: u64,
    /// Tests during which races were found.
    pub racy_tests: Vec<String>,
    /// Whether any `#[race_check]` code ran (no memory access was checked
    /// otherwise).
    pub ran_annotated: bool,
}

pub fn describe(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(c), _) => format!("exit status {c}"),
        (None, Some(s)) => format!("signal {s} ({})", signal_name(s)),
        _ => "an unknown status".into(),
    }
}

pub fn signal_name(s: i32) -> &'static str {
    match s {
        4 => "SIGILL",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        11 => "SIGSEGV",
        15 => "SIGTERM",
        _ => "signal",
    }
}

fn clear_dir(dir: &Path) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// Races and racy tests the runtime left in `dir`: one file per process, a
/// count on the first line, then `!annotated` if annotated code ran, then
/// one test name per line. Also: did annotated code run in any process?
fn read_race_counts(dir: &Path) -> (u64, Vec<String>, bool) {
    let Ok(entries) = std::fs::read_dir(dir) else { return (0, vec![], false) };
    let (mut races, mut tests, mut annotated) = (0, vec![], false);
    for text in entries.flatten().filter_map(|e| std::fs::read_to_string(e.path()).ok()) {
        let mut lines = text.lines();
        races += lines.next().and_then(|l| l.trim().parse::<u64>().ok()).unwrap_or(0);
        for l in lines.filter(|l| !l.is_empty()) {
            match l {
                "!annotated" => annotated = true,
                _ => tests.push(l.to_string()),
            }
        }
    }
    tests.sort();
    tests.dedup();
    (races, tests, annotated)
}
