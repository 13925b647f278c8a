//! The `racecheck` command: builds a crate with race detection, runs it or
//! its tests, and exits 66 when races were found.
//!
//! `main` stays thin: this library parses, drives cargo and decides the exit
//! status; the detection itself lives in the program's runtime.

use std::ffi::OsString;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

pub mod cargo;
pub mod errors;
pub mod exit_codes;
pub mod formats;
pub mod runtime;
pub mod wrapper;
pub mod wrapsyms;

use errors::Error;

/// Shown after `--help`: what the crate needs, the options, the exit codes.
const AFTER_HELP: &str = "\
Annotated mode: your crate depends on `racecheck` ([dependencies] or [dev-dependencies]) and puts
#[race_check] on the functions, impls or modules whose memory accesses should be checked.
Deep mode (--deep, --deep=all): no dependency and no attribute; rustc instruments every load and
store of the workspace's crates (or of all crates), through RUSTC_BOOTSTRAP=1 in the compiler
processes racecheck starts, and nowhere else.

Environment:
  RACECHECK_OPTIONS   e.g. \"halt_on_error=1 history_size=3\": halt_on_error, history_size (0-7),
                      exitcode, log_path, strip_path_prefix, suppressions (a file of race:<pattern>),
                      report_format (text|json), suppress_equal_stacks, shadow_prefault,
                      shadow_huge_pages. Relative paths mean the directory racecheck starts in.
  RACECHECK_FORMAT    as --format
  RACECHECK_CACHE_DIR where the runtime built once per toolchain is kept (~/.cache/racecheck)

Exit status:
  0 no race, tests passed   1 tests failed (run: the program's own status)   2 usage error
  3 build failed   4 killed by a signal   5 racecheck could not set itself up   66 races found";

#[derive(Parser, Debug)]
#[command(name = "racecheck", version, about = "Find data races in Rust programs, on stable Rust", after_help = AFTER_HELP)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Build a binary with race detection and run it: racecheck run [--bin NAME] [-- ARGS]
    Run(RunArgs),
    /// Build the tests with race detection and run them: racecheck test [--deep[=all]] [CARGO TEST ARGS] [-- HARNESS ARGS]
    Test(TestArgs),
    /// Build racecheck's runtime for the active toolchain now (once per
    /// toolchain; run and test do it on first use otherwise)
    Setup,
}

/// Where machine-readable results go.
#[derive(Args, Debug, Clone)]
struct OutputArgs {
    /// Machine-readable output of the races found, on stdout (text reports
    /// always go to stderr)
    #[arg(long, value_enum, default_value = "text", env = "RACECHECK_FORMAT")]
    format: formats::Format,
    /// Write the machine-readable output to this file instead of stdout
    #[arg(long, value_name = "PATH")]
    output_file: Option<PathBuf>,
}

#[derive(Args, Debug)]
struct RunArgs {
    #[command(flatten)]
    output: OutputArgs,
    /// Path to Cargo.toml
    #[arg(long, value_name = "PATH")]
    manifest_path: Option<PathBuf>,
    /// Name of the bin target to run
    #[arg(long, value_name = "NAME")]
    bin: Option<String>,
    /// Name of the example to run
    #[arg(long, value_name = "NAME")]
    example: Option<String>,
    /// Package with the target to run
    #[arg(short, long, value_name = "SPEC")]
    package: Option<String>,
    /// Build in release mode
    #[arg(short, long)]
    release: bool,
    /// Build with the given profile
    #[arg(long, value_name = "NAME")]
    profile: Option<String>,
    /// Features to activate
    #[arg(short = 'F', long, value_name = "FEATURES")]
    features: Vec<String>,
    /// Activate all features
    #[arg(long)]
    all_features: bool,
    /// Do not activate the `default` feature
    #[arg(long)]
    no_default_features: bool,
    /// Deep mode: the compiler instruments every load and store, no
    /// #[race_check] needed: of the workspace's crates, or (=all) of every crate
    #[arg(long, value_name = "SCOPE", num_args = 0..=1, require_equals = true, default_missing_value = "workspace",
          value_parser = ["workspace", "all"])]
    deep: Option<String>,
    /// Arguments for the program
    #[arg(last = true)]
    args: Vec<String>,
}

#[derive(Args, Debug)]
struct TestArgs {
    #[command(flatten)]
    output: OutputArgs,
    /// cargo test's own arguments (`--release`, `-p`, `--test NAME`, a test
    /// name filter, …), then `--` and arguments for the test harness
    #[arg(allow_hyphen_values = true, trailing_var_arg = true, value_name = "ARGS")]
    args: Vec<String>,
}

/// Entry point of both binaries. Never returns.
/// The main-thread stack limit racecheck gives the programs it runs when
/// it finds none (`ulimit -s unlimited`).
pub const STACK_LIMIT: u64 = 8 << 30;

/// With no stack limit, Linux lays a process out the legacy way: mappings
/// grow up from a third of the address space, through the fixed range the
/// runtime reserves for the shadow, so the program would run unchecked.
/// So the limit becomes [`STACK_LIMIT`] (or the hard limit, if lower) for
/// this process and the builds and programs it starts, as
/// ThreadSanitizer re-executes such a program with a finite stack.
///
/// Likewise a limit on address space (`ulimit -v`) is lifted as far as the
/// hard limit allows: the shadow reserves 32 TiB of it.
fn finite_stack_limit() {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: reads the limit into a valid `rlimit`.
    if unsafe { libc::getrlimit(libc::RLIMIT_STACK, &mut limit) } == 0 && limit.rlim_cur == libc::RLIM_INFINITY {
        limit.rlim_cur = STACK_LIMIT.min(limit.rlim_max);
        // SAFETY: lowers this process's own soft limit; nothing else changes.
        unsafe { libc::setrlimit(libc::RLIMIT_STACK, &limit) };
    }
    // SAFETY: as above.
    if unsafe { libc::getrlimit(libc::RLIMIT_AS, &mut limit) } == 0 && limit.rlim_cur != limit.rlim_max {
        limit.rlim_cur = limit.rlim_max;
        // SAFETY: raises this process's own soft limit to its hard one.
        unsafe { libc::setrlimit(libc::RLIMIT_AS, &limit) };
    }
}

pub fn main_impl(args: Vec<OsString>) -> ! {
    if std::env::var_os(wrapper::ENV_WRAPPER).is_some() {
        wrapper::run(args);
    }
    // `racecheck test …` passes its arguments through to cargo and the test
    // harness as written: clap would eat the first `--` (so
    // `racecheck test -- --nocapture` reached cargo as `--nocapture`).
    let raw_test_args = test_passthrough(&args);
    let parse_args = if raw_test_args.is_some() { args[..2].to_vec() } else { args };
    let mut cli = match Cli::try_parse_from(parse_args) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            std::process::exit(if e.use_stderr() { exit_codes::USAGE } else { exit_codes::OK });
        }
    };
    if let (Cmd::Test(t), Some(raw)) = (&mut cli.command, raw_test_args) {
        t.args = raw;
    }
    if matches!(cli.command, Cmd::Run(_) | Cmd::Test(_)) {
        finite_stack_limit();
    }
    let result = match cli.command {
        Cmd::Run(a) => run(a),
        Cmd::Test(a) => test(a),
        Cmd::Setup => setup(),
    };
    match result {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            e.display_to_stderr();
            std::process::exit(e.process_exit_code());
        }
    }
}

/// The arguments after `test`, verbatim, unless they ask for help (which
/// clap gives).
fn test_passthrough(args: &[OsString]) -> Option<Vec<String>> {
    if args.get(1).is_none_or(|a| a != "test") {
        return None;
    }
    let rest: Vec<String> = args[2..].iter().map(|a| a.to_string_lossy().into_owned()).collect();
    let before = &rest[..rest.iter().position(|a| a == "--").unwrap_or(rest.len())];
    if before.iter().any(|a| a == "-h" || a == "--help") {
        return None;
    }
    Some(rest)
}

/// No `#[race_check]` code ran: say so, since "no data races found" would
/// otherwise suggest that something was checked.
fn warn_nothing_checked(what: &str) {
    eprintln!(
        "racecheck: warning: no #[race_check] code ran in {what}: no memory access was checked (synchronisation \
         alone is tracked); put #[race_check] on the functions, impls or modules whose accesses should be checked"
    );
}

/// The exit status that says "races found", from `RACECHECK_OPTIONS`,
/// checked with the runtime's own parser so both reject the same things.
fn race_exit_code() -> Result<i32, Error> {
    use racecheck_detector::options::{Options, Suppressions};
    let mut text = std::env::var("RACECHECK_OPTIONS").unwrap_or_default();
    // Relative file names mean the directory racecheck was started in, for
    // every process it runs (each test binary runs in its package's).
    if let Ok(cwd) = std::env::current_dir() {
        text = Options::absolutised(&text, &cwd);
        std::env::set_var("RACECHECK_OPTIONS", &text);
    }
    let options = Options::parse(&text).map_err(|e| Error::Options { key: e.key, message: e.message })?;
    if let Some(path) = &options.suppressions {
        let bad = |message: String| Error::Options { key: "suppressions".into(), message };
        let text = std::fs::read_to_string(path).map_err(|e| bad(format!("failed to read {path}: {e}")))?;
        Suppressions::parse(&text).map_err(|e| bad(format!("{path}: {e}")))?;
    }
    Ok(options.exitcode)
}

/// Write the machine-readable output of the races `session` saw.
fn emit(output: &OutputArgs, session: &cargo::Session) -> Result<(), Error> {
    let Some(text) = formats::render(output.format, &session.races(), &session.root) else { return Ok(()) };
    match &output.output_file {
        Some(path) => std::fs::write(path, text).map_err(|source| Error::Write { path: path.clone(), source }),
        None => {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes()).and_then(|_| out.flush()).map_err(|source| Error::Write { path: "stdout".into(), source })
        }
    }
}

/// Build the runtime (and deep mode's test runner) for the active
/// toolchain, as `cargo miri setup` builds Miri's sysroot: after it, the
/// first `racecheck test` of any project costs little more than `cargo test`.
fn setup() -> Result<i32, Error> {
    let tc = cargo::toolchain()?;
    let (_, rlibs) = cargo::prepare_runtime(&tc)?;
    runtime::test_runner(&tc)?;
    let dir = runtime::toolchain_dir(&tc);
    eprintln!(
        "racecheck: the runtime for rustc {} is ready in {} ({} rlibs); every project on this toolchain uses it",
        tc.release,
        dir.display(),
        rlibs.len()
    );
    Ok(exit_codes::OK)
}

fn run(a: RunArgs) -> Result<i32, Error> {
    let races_code = race_exit_code()?;
    let deep = a.deep.as_deref().and_then(wrapper::Deep::parse);
    let mut session = cargo::Session::new(a.manifest_path.as_deref(), deep)?;
    session.quiet_stdout = a.output.format != formats::Format::Text && a.output.output_file.is_none();
    let mut cargo_args = vec![];
    if let Some(m) = &a.manifest_path {
        cargo_args.extend(["--manifest-path".to_string(), m.display().to_string()]);
    }
    for (flag, value) in [("--bin", &a.bin), ("--example", &a.example), ("--package", &a.package), ("--profile", &a.profile)] {
        if let Some(v) = value {
            cargo_args.extend([flag.to_string(), v.clone()]);
        }
    }
    if a.release {
        cargo_args.push("--release".into());
    }
    for f in &a.features {
        cargo_args.extend(["--features".to_string(), f.clone()]);
    }
    if a.all_features {
        cargo_args.push("--all-features".into());
    }
    if a.no_default_features {
        cargo_args.push("--no-default-features".into());
    }
    let artifacts = session.build("build", &cargo_args)?;
    let wanted = if a.example.is_some() { "example" } else { "bin" };
    let bins: Vec<_> = artifacts.iter().filter(|x| !x.is_test && x.kinds.iter().any(|k| k == wanted)).collect();
    let bin = match bins.as_slice() {
        [one] => *one,
        [] => return Err(Error::NoBinary("no binary target to run in this package".into())),
        many => {
            let names: Vec<_> = many.iter().map(|b| b.name.as_str()).collect();
            return Err(Error::NoBinary(format!(
                "more than one binary to run; pick one with `--bin`: {}",
                names.join(", ")
            )));
        }
    };
    let cwd = std::env::current_dir().unwrap_or_else(|_| bin.package_dir.clone());
    let outcome = session.execute(&bin.executable, &a.args, &cwd, false)?;
    emit(&a.output, &session)?;
    if !outcome.ran_annotated && outcome.status.signal().is_none() && deep.is_none() {
        warn_nothing_checked(&bin.name);
    }
    let crashed = outcome.status.signal().inspect(|&sig| {
        eprintln!(
            "racecheck: error: {} was killed by signal {sig} ({})",
            bin.executable.display(),
            cargo::signal_name(sig)
        );
    });
    if outcome.races > 0 {
        eprintln!("racecheck: found {} data race(s)", outcome.races);
        return Ok(races_code);
    }
    if crashed.is_some() {
        return Ok(exit_codes::CRASHED);
    }
    Ok(outcome.status.code().unwrap_or(exit_codes::TESTS_FAILED))
}

/// Options of `cargo test` that take a value (so it is not a test filter).
const VALUE_OPTIONS: &[&str] = &[
    "-p", "--package", "--exclude", "--bin", "--example", "--test", "--bench", "-F", "--features",
    "--profile", "-j", "--jobs", "--color", "--config", "-Z", "--manifest-path", "--target-dir",
    "--lockfile-path",
];

/// Options of `cargo test` that take no value.
const FLAG_OPTIONS: &[&str] = &[
    "-q", "--quiet", "-v", "--verbose", "-vv", "--lib", "--bins", "--examples", "--tests", "--benches",
    "--all-targets", "--no-run", "--no-fail-fast", "--workspace", "--all", "--all-features",
    "--no-default-features", "-r", "--release", "--ignore-rust-version", "--frozen", "--locked",
    "--offline", "--timings", "--future-incompat-report",
];

/// What `racecheck test`'s arguments ask for.
#[derive(Debug, PartialEq, Eq)]
struct TestPlan {
    /// For `cargo test --no-run`.
    cargo_args: Vec<String>,
    /// For each test binary: name filters, then what followed `--`.
    harness: Vec<String>,
    manifest: Option<PathBuf>,
    /// `--no-run`: build the tests, run nothing.
    no_run: bool,
    /// `--target-dir`.
    target_dir: Option<PathBuf>,
    /// `--deep` / `--deep=all`.
    deep: Option<wrapper::Deep>,
}

/// The option of `options` closest to a mistyped `given`, if close enough.
fn closest<'a>(given: &str, options: &[&'a str]) -> Option<&'a str> {
    fn distance(a: &str, b: &str) -> usize {
        let b: Vec<char> = b.chars().collect();
        let mut row: Vec<usize> = (0..=b.len()).collect();
        for (i, ca) in a.chars().enumerate() {
            let mut prev = row[0];
            row[0] = i + 1;
            for (j, &cb) in b.iter().enumerate() {
                let cur = row[j + 1];
                row[j + 1] = (prev + usize::from(ca != cb)).min(row[j] + 1).min(cur + 1);
                prev = cur;
            }
        }
        row[b.len()]
    }
    options.iter().copied().filter(|o| o.starts_with("--")).min_by_key(|o| distance(given, o)).filter(|o| distance(given, o) <= 2)
}

/// Split `racecheck test` arguments into cargo's and the harness's, and
/// reject what cargo would reject or what cannot work under racecheck.
fn split_test_args(args: &[String]) -> Result<TestPlan, Error> {
    let (before, after) = match args.iter().position(|a| a == "--") {
        Some(i) => (&args[..i], args[i + 1..].to_vec()),
        None => (args, vec![]),
    };
    let mut plan =
        TestPlan { cargo_args: vec![], harness: vec![], manifest: None, no_run: false, target_dir: None, deep: None };
    let mut filters = vec![];
    let mut i = 0;
    while i < before.len() {
        let a = &before[i];
        let (key, inline) = match a.split_once('=') {
            Some((k, v)) if k.starts_with("--") => (k, Some(v)),
            _ => (a.as_str(), None),
        };
        if VALUE_OPTIONS.contains(&key) {
            let value = match inline {
                Some(v) => v.to_string(),
                None => {
                    i += 1;
                    before.get(i).cloned().ok_or_else(|| Error::Usage(format!("`{key}` needs a value")))?
                }
            };
            match key {
                "--manifest-path" => plan.manifest = Some(PathBuf::from(&value)),
                // racecheck builds in `<target dir>/racecheck`: of the
                // user's target dir, when given.
                "--target-dir" => {
                    plan.target_dir = Some(PathBuf::from(value));
                    i += 1;
                    continue;
                }
                _ => {}
            }
            plan.cargo_args.extend([key.to_string(), value]);
        } else if key == "--no-run" {
            plan.no_run = true;
        } else if key == "--deep" {
            plan.deep = Some(wrapper::Deep::parse(inline.unwrap_or("")).ok_or_else(|| {
                Error::Usage(format!("invalid value `{}` for `--deep`: expected `--deep` (the workspace's crates) or `--deep=all`", inline.unwrap_or("")))
            })?);
        } else if key == "--doc" {
            return Err(Error::Usage(
                "doctests cannot be checked: rustdoc compiles them, not racecheck; run them with `cargo test --doc`".into(),
            ));
        } else if key == "--target" || key == "--message-format" {
            return Err(Error::Usage(format!("`{key}` is set by racecheck itself (it builds for the host, with its own messages)")));
        } else if FLAG_OPTIONS.contains(&key) || (key.starts_with("-Z") && key.len() > 2) {
            plan.cargo_args.push(a.clone());
        } else if a.starts_with('-') {
            let hint = closest(key, &[VALUE_OPTIONS, FLAG_OPTIONS, &["--doc", "--deep"]].concat())
                .map(|o| format!(" (did you mean `{o}`?)"))
                .unwrap_or_default();
            return Err(Error::Usage(format!(
                "unknown option `{a}` for `racecheck test`{hint}; arguments for the test harness go after `--`, as in `racecheck test -- --nocapture`"
            )));
        } else {
            filters.push(a.clone());
        }
        i += 1;
    }
    plan.harness = filters;
    plan.harness.extend(after);
    Ok(plan)
}

/// Take racecheck's own `--format`/`--output-file` out of pass-through args.
fn take_output_args(args: &mut Vec<String>, output: &mut OutputArgs) -> Result<(), Error> {
    let end = args.iter().position(|a| a == "--").unwrap_or(args.len());
    let mut i = 0;
    let mut kept = vec![];
    let usage = Error::Usage;
    while i < end {
        let a = &args[i];
        let (key, inline) = match a.split_once('=') {
            Some((k, v)) => (k.to_string(), Some(v.to_string())),
            None => (a.clone(), None),
        };
        if key == "--format" || key == "--output-file" {
            let value = match inline {
                Some(v) => v,
                None => {
                    i += 1;
                    args.get(i).filter(|_| i < end).cloned().ok_or_else(|| usage(format!("`{key}` needs a value")))?
                }
            };
            if key == "--format" {
                output.format = <formats::Format as clap::ValueEnum>::from_str(&value, true)
                    .map_err(|_| usage(format!("invalid value `{value}` for `--format`: expected text, json, sarif or github")))?;
            } else {
                output.output_file = Some(PathBuf::from(value));
            }
        } else {
            kept.push(a.clone());
        }
        i += 1;
    }
    kept.extend(args[end..].iter().cloned());
    *args = kept;
    Ok(())
}

fn test(mut a: TestArgs) -> Result<i32, Error> {
    let races_code = race_exit_code()?;
    take_output_args(&mut a.args, &mut a.output)?;
    let TestPlan { mut cargo_args, harness, manifest, no_run, target_dir, deep } = split_test_args(&a.args)?;
    if let Some(dir) = target_dir {
        // Read by `cargo metadata`, which tells the session where to build.
        std::env::set_var("CARGO_TARGET_DIR", dir);
    }
    let mut session = cargo::Session::new(manifest.as_deref(), deep)?;
    session.quiet_stdout = a.output.format != formats::Format::Text && a.output.output_file.is_none();
    cargo_args.push("--no-run".into());
    let artifacts = session.build("test", &cargo_args)?;
    // cargo reports artifacts as they finish building; run (and summarise)
    // them in a stable order instead.
    let mut tests: Vec<_> = artifacts.iter().filter(|x| x.is_test).collect();
    tests.sort_by(|x, y| (&x.name, &x.executable).cmp(&(&y.name, &y.executable)));
    if no_run {
        for t in &tests {
            eprintln!("racecheck: built {} ({})", t.name, t.executable.display());
        }
        eprintln!(
            "racecheck: built {} test {} with race detection; not running them (--no-run)",
            tests.len(),
            if tests.len() == 1 { "binary" } else { "binaries" }
        );
        return Ok(exit_codes::OK);
    }
    let (mut races, mut racy, mut racy_tests, mut failed, mut crashed) = (0u64, vec![], vec![], vec![], vec![]);
    let mut ran_annotated = false;
    for t in &tests {
        eprintln!("racecheck: running {} ({})", t.name, t.executable.display());
        let outcome = session.execute(&t.executable, &harness, &t.package_dir, true)?;
        ran_annotated |= outcome.ran_annotated || outcome.status.signal().is_some();
        if let Some(sig) = outcome.status.signal() {
            eprintln!("racecheck: error: test binary {} was killed by signal {sig} ({})", t.name, cargo::signal_name(sig));
            crashed.push(t.name.clone());
        }
        if outcome.races > 0 {
            races += outcome.races;
            racy.push(t.name.clone());
            racy_tests.extend(outcome.racy_tests.iter().map(|n| format!("{}: {n}", t.name)));
        } else if outcome.status.signal().is_none() && !outcome.status.success() {
            failed.push(t.name.clone());
        }
    }
    emit(&a.output, &session)?;
    if !ran_annotated && !tests.is_empty() && deep.is_none() {
        warn_nothing_checked(&format!("{} test binaries", tests.len()));
    }
    if races > 0 {
        eprintln!(
            "racecheck: found {races} data race(s) in {} of {} test {}: {}",
            racy.len(),
            tests.len(),
            if tests.len() == 1 { "binary" } else { "binaries" },
            racy.join(", ")
        );
        for t in &racy_tests {
            eprintln!("racecheck: race detected during test {t}");
        }
        return Ok(races_code);
    }
    if !crashed.is_empty() {
        return Ok(exit_codes::CRASHED);
    }
    if !failed.is_empty() {
        eprintln!("racecheck: tests failed in: {}", failed.join(", "));
        return Ok(exit_codes::TESTS_FAILED);
    }
    eprintln!("racecheck: no data races found in {} test {}", tests.len(), if tests.len() == 1 { "binary" } else { "binaries" });
    Ok(exit_codes::OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn test_args_split_filters_and_harness_args() {
        let plan =
            split_test_args(&s(&["--release", "-p", "demo", "racy", "--manifest-path", "x/Cargo.toml", "--", "--nocapture"]))
                .unwrap();
        assert_eq!(plan.cargo_args, s(&["--release", "-p", "demo", "--manifest-path", "x/Cargo.toml"]));
        assert_eq!(plan.harness, s(&["racy", "--nocapture"]));
        assert_eq!(plan.manifest, Some(PathBuf::from("x/Cargo.toml")));
        assert!(!plan.no_run);
        let plan = split_test_args(&s(&["--features=a", "--no-run", "--", "--", "x"])).unwrap();
        assert_eq!((plan.cargo_args, plan.harness, plan.no_run), (s(&["--features", "a"]), s(&["--", "x"]), true));
    }

    #[test]
    fn harness_arguments_after_the_first_double_dash_reach_the_harness() {
        for harness in [&["--nocapture"][..], &["--show-output"], &["--test-threads=1"], &["--test-threads", "1"]] {
            let mut args = s(&["test", "--"]);
            args.extend(s(harness));
            let os: Vec<OsString> = std::iter::once("racecheck".into()).chain(args.iter().map(OsString::from)).collect();
            let raw = test_passthrough(&os).expect("passed through");
            let plan = split_test_args(&raw).unwrap();
            assert_eq!(plan.harness, s(harness));
            assert!(plan.cargo_args.is_empty());
        }
        let help: Vec<OsString> = ["racecheck", "test", "--help"].map(OsString::from).to_vec();
        assert_eq!(test_passthrough(&help), None, "clap answers --help");
    }

    #[test]
    fn misspelt_and_unsupported_options_are_usage_errors() {
        let err = split_test_args(&s(&["--relase"])).unwrap_err().to_string();
        assert!(err.contains("unknown option `--relase`") && err.contains("did you mean `--release`?"), "{err}");
        assert!(split_test_args(&s(&["--doc"])).unwrap_err().to_string().contains("cargo test --doc"));
        assert!(split_test_args(&s(&["--target", "x"])).is_err());
        assert!(split_test_args(&s(&["-p"])).unwrap_err().to_string().contains("`-p` needs a value"));
        // Anything after `--` is the harness's business.
        assert!(split_test_args(&s(&["--", "--relase"])).is_ok());
        assert!(split_test_args(&s(&["--deep=some"])).unwrap_err().to_string().contains("--deep=all"));
        assert!(split_test_args(&s(&["--dep"])).unwrap_err().to_string().contains("did you mean `--deep`?"));
    }

    #[test]
    fn deep_mode_takes_its_scope_inline_only() {
        assert_eq!(split_test_args(&s(&["--deep"])).unwrap().deep, Some(wrapper::Deep::Workspace));
        assert_eq!(split_test_args(&s(&["--deep=all"])).unwrap().deep, Some(wrapper::Deep::All));
        // A word after `--deep` is a test name filter, as for cargo.
        let plan = split_test_args(&s(&["--deep", "all"])).unwrap();
        assert_eq!((plan.deep, plan.harness), (Some(wrapper::Deep::Workspace), s(&["all"])));
        assert_eq!(split_test_args(&s(&["--", "--deep"])).unwrap().deep, None);
    }
}
