//! Expected failures of the CLI. Bugs panic instead.

use std::path::PathBuf;

use crate::exit_codes;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid RACECHECK_OPTIONS: `{key}`: {message}")]
    Options { key: String, message: String },
    #[error("failed to run {program}: {source}")]
    Spawn { program: String, source: std::io::Error },
    #[error("failed to read cargo metadata for {manifest}: {detail}")]
    Metadata { manifest: String, detail: String },
    #[error("failed to build the crate (cargo exited with {status})")]
    Build { status: String },
    #[error("{0}")]
    NoBinary(String),
    #[error(
        "no package of the workspace at {} depends on the `racecheck` crate: add it under [dependencies] \
         (or [dev-dependencies] if only tests use it), put #[race_check] on the functions, impls or modules \
         to check, and run racecheck again",
        root.display()
    )]
    NoDependency { root: PathBuf },
    #[error("{0}")]
    Usage(String),
    #[error("failed to query the Rust toolchain: {0}")]
    Toolchain(String),
    #[error("failed to build racecheck's runtime from {} ({detail}; its errors are above)", source_dir.display())]
    Runtime { source_dir: PathBuf, detail: String },
    #[error("failed to write {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
    #[error(
        "deep mode needs rustc's ThreadSanitizer instrumentation, which rustc {release} ({host}) refused: {detail}\n\
         Use rustc 1.95 or later, or a current nightly, on x86_64 Linux (`rustup toolchain install stable`), \
         or run without --deep (annotated mode needs only #[race_check])"
    )]
    DeepUnsupported { release: String, host: String, detail: String },
}

impl Error {
    /// Every variant's exit status, with no catch-all.
    pub fn process_exit_code(&self) -> i32 {
        match self {
            Error::Options { .. } => exit_codes::USAGE,
            Error::NoBinary(_) => exit_codes::USAGE,
            Error::NoDependency { .. } => exit_codes::USAGE,
            Error::Usage(_) => exit_codes::USAGE,
            Error::Metadata { .. } => exit_codes::BUILD_FAILED,
            Error::Build { .. } => exit_codes::BUILD_FAILED,
            Error::Spawn { .. } => exit_codes::SETUP_FAILED,
            Error::Toolchain(_) => exit_codes::SETUP_FAILED,
            Error::Runtime { .. } => exit_codes::SETUP_FAILED,
            Error::Write { .. } => exit_codes::SETUP_FAILED,
            Error::DeepUnsupported { .. } => exit_codes::SETUP_FAILED,
        }
    }

    pub fn display_to_stderr(&self) {
        eprintln!("racecheck: error: {self}");
    }
}
