//! `RACECHECK_OPTIONS`: `key=value` pairs separated by spaces or commas.
//!
//! Keys follow Go's `GORACE` where they overlap. An unknown key or a bad value
//! is an error that names the key and what it accepts; nothing is ignored.

use std::fmt;

/// Run-time options. Each field's doc names its key in `RACECHECK_OPTIONS`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Options {
    /// `halt_on_error` (0/1): exit after the first report.
    pub halt_on_error: bool,
    /// `history_size` (0..=7): each thread keeps 32K·2^n events of history.
    pub history_size: u32,
    /// `exitcode` (0..=255, default 66): exit status when races were found.
    pub exitcode: i32,
    /// `log_path`: write reports to `<log_path>.<pid>` instead of stderr
    /// (`stderr` and `stdout` name those streams).
    pub log_path: Option<String>,
    /// `strip_path_prefix`: removed from the start of file paths in reports.
    pub strip_path_prefix: Option<String>,
    /// `report_format` (`text` or `json`): how reports are written.
    pub report_format: ReportFormat,
    /// `suppressions`: a file of `race:<pattern>` lines; see [`Suppressions`].
    pub suppressions: Option<String>,
    /// `suppress_equal_stacks` (0/1, default 1, as in ThreadSanitizer): report
    /// a race once per pair of stacks; 0 reports every occurrence.
    pub suppress_equal_stacks: bool,
    /// `shadow_prefault` (0/1, default 1): fault in the shadow of densely
    /// used memory 256 KiB at a time, one system call each, instead of a
    /// page at a time (twice: the zero page, then the copy).
    pub shadow_prefault: bool,
    /// `shadow_huge_pages` (0/1, default 0): back the shadow of densely used
    /// memory with transparent huge pages instead (one fault per 2 MiB, but
    /// slow and variable wherever the kernel or the hypervisor must first
    /// find and clear a huge page; more memory when use is dense but patchy).
    pub shadow_huge_pages: bool,
}

/// The shape of reports on the report stream.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ReportFormat {
    /// Go-style text (the default).
    Text,
    /// One JSON object per race, per line (`report::render_json`).
    Json,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            halt_on_error: false,
            history_size: 2,
            exitcode: 66,
            log_path: None,
            strip_path_prefix: None,
            report_format: ReportFormat::Text,
            suppressions: None,
            suppress_equal_stacks: true,
            shadow_prefault: true,
            shadow_huge_pages: false,
        }
    }
}

/// Keys we accept, with what each takes (used in error messages and docs).
pub const KEYS: &[(&str, &str)] = &[
    ("halt_on_error", "0 or 1"),
    ("history_size", "an integer from 0 to 7"),
    ("exitcode", "an integer from 0 to 255"),
    ("log_path", "a file path prefix, or stderr/stdout"),
    ("strip_path_prefix", "a path prefix"),
    ("report_format", "text or json"),
    ("suppressions", "a path to a suppressions file"),
    ("suppress_equal_stacks", "0 or 1"),
    ("shadow_prefault", "0 or 1"),
    ("shadow_huge_pages", "0 or 1"),
];

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OptionsError {
    pub key: String,
    pub message: String,
}

impl fmt::Display for OptionsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid RACECHECK_OPTIONS: `{}`: {}", self.key, self.message)
    }
}

impl std::error::Error for OptionsError {}

impl Options {
    /// Events of history per thread for `history_size`.
    pub fn history_log2(&self) -> u32 {
        15 + self.history_size
    }

    /// `text` with the relative paths of its file options (`suppressions`,
    /// `log_path` unless `stdout`/`stderr`) made absolute against `base`, so
    /// they mean the same in every process started elsewhere (the CLI runs
    /// each test binary in its package's directory).
    pub fn absolutised(text: &str, base: &std::path::Path) -> String {
        text.split(|c: char| c.is_whitespace() || c == ',')
            .filter(|s| !s.is_empty())
            .map(|item| match item.split_once('=') {
                Some((key @ ("suppressions" | "log_path"), value))
                    if !value.is_empty() && !value.starts_with('/') && !matches!(value, "stdout" | "stderr") =>
                {
                    format!("{key}={}", base.join(value).display())
                }
                _ => item.to_string(),
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    pub fn parse(text: &str) -> Result<Options, OptionsError> {
        let mut o = Options::default();
        for item in text.split(|c: char| c.is_whitespace() || c == ',').filter(|s| !s.is_empty()) {
            let Some((key, value)) = item.split_once('=') else {
                return Err(OptionsError {
                    key: item.to_string(),
                    message: "expected key=value".into(),
                });
            };
            let expects = |key: &str| KEYS.iter().find(|(k, _)| *k == key).map(|(_, v)| *v);
            let bad = || OptionsError {
                key: key.to_string(),
                message: format!("bad value `{value}`, expected {}", expects(key).unwrap_or("?")),
            };
            let int = |lo: i64, hi: i64| value.parse::<i64>().ok().filter(|v| (lo..=hi).contains(v)).ok_or_else(bad);
            match key {
                "halt_on_error" => o.halt_on_error = int(0, 1)? == 1,
                "suppress_equal_stacks" => o.suppress_equal_stacks = int(0, 1)? == 1,
                "shadow_prefault" => o.shadow_prefault = int(0, 1)? == 1,
                "shadow_huge_pages" => o.shadow_huge_pages = int(0, 1)? == 1,
                "history_size" => o.history_size = int(0, 7)? as u32,
                "exitcode" => o.exitcode = int(0, 255)? as i32,
                "log_path" if !value.is_empty() => o.log_path = Some(value.to_string()),
                "strip_path_prefix" => o.strip_path_prefix = Some(value.to_string()),
                "suppressions" if !value.is_empty() => o.suppressions = Some(value.to_string()),
                "suppressions" => return Err(bad()),
                "report_format" => {
                    o.report_format = match value {
                        "text" => ReportFormat::Text,
                        "json" => ReportFormat::Json,
                        _ => return Err(bad()),
                    }
                }
                "log_path" => return Err(bad()),
                _ => {
                    let known: Vec<&str> = KEYS.iter().map(|(k, _)| *k).collect();
                    return Err(OptionsError {
                        key: key.to_string(),
                        message: format!("unknown option; known options are {}", known.join(", ")),
                    });
                }
            }
        }
        Ok(o)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_known_keys() {
        let o = Options::parse("halt_on_error=1 history_size=3,exitcode=7 log_path=/tmp/r strip_path_prefix=/src/").unwrap();
        assert!(o.halt_on_error);
        assert_eq!(o.history_size, 3);
        assert_eq!(o.history_log2(), 18);
        assert_eq!(o.exitcode, 7);
        assert_eq!(o.log_path.as_deref(), Some("/tmp/r"));
        assert_eq!(o.strip_path_prefix.as_deref(), Some("/src/"));
        assert_eq!(Options::parse("").unwrap(), Options::default());
    }

    #[test]
    fn rejects_with_the_key_named() {
        let e = Options::parse("history_size=9").unwrap_err();
        assert_eq!(e.key, "history_size");
        assert!(e.to_string().contains("expected an integer from 0 to 7"), "{e}");
        let e = Options::parse("colour=1").unwrap_err();
        assert!(e.to_string().contains("unknown option"), "{e}");
        assert_eq!(Options::parse("halt_on_error").unwrap_err().key, "halt_on_error");
        assert_eq!(Options::parse("exitcode=x").unwrap_err().key, "exitcode");
        assert_eq!(Options::parse("report_format=json").unwrap().report_format, ReportFormat::Json);
        assert!(Options::default().suppress_equal_stacks);
        assert!(!Options::parse("suppress_equal_stacks=0").unwrap().suppress_equal_stacks);
        assert!(!Options::default().shadow_huge_pages);
        assert!(Options::parse("shadow_huge_pages=1").unwrap().shadow_huge_pages);
        assert!(Options::default().shadow_prefault);
        assert!(!Options::parse("shadow_prefault=0").unwrap().shadow_prefault);
        assert_eq!(Options::parse("shadow_prefault=yes").unwrap_err().key, "shadow_prefault");
        assert_eq!(Options::parse("shadow_huge_pages=2").unwrap_err().key, "shadow_huge_pages");
        assert!(Options::parse("report_format=xml").unwrap_err().to_string().contains("text or json"));
    }
}

/// Races not to report: lines `race:<pattern>` (`#` starts a comment). A
/// race is suppressed when any frame of either stack has a function or a
/// file containing the pattern; `*` in a pattern matches any run of
/// characters (`race:mycrate::legacy::*::flush`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Suppressions {
    patterns: Vec<String>,
}

/// A malformed suppressions file: which line, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SuppressionsError {
    pub line: usize,
    pub message: String,
}

impl fmt::Display for SuppressionsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl Suppressions {
    pub fn parse(text: &str) -> Result<Suppressions, SuppressionsError> {
        let mut patterns = vec![];
        for (i, raw) in text.lines().enumerate() {
            let line = raw.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let err = |message: String| SuppressionsError { line: i + 1, message };
            match line.split_once(':') {
                Some(("race", pattern)) if !pattern.trim().is_empty() => patterns.push(pattern.trim().to_string()),
                Some(("race", _)) => return Err(err("`race:` needs a pattern".into())),
                Some((kind, _)) => return Err(err(format!("unknown kind `{kind}`, expected `race:<pattern>`"))),
                None => return Err(err(format!("expected `race:<pattern>`, found `{line}`"))),
            }
        }
        Ok(Suppressions { patterns })
    }

    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// Does any pattern match `text` (a function name or a file path)?
    pub fn matches(&self, text: &str) -> bool {
        self.patterns.iter().any(|p| glob_contains(p, text))
    }
}

/// Is there a substring of `text` matching `pattern`, where `*` matches any run?
fn glob_contains(pattern: &str, text: &str) -> bool {
    let mut at = 0;
    for part in pattern.split('*').filter(|p| !p.is_empty()) {
        match text[at..].find(part) {
            Some(pos) => at += pos + part.len(),
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod suppression_tests {
    use super::*;

    #[test]
    fn parses_and_matches() {
        let s = Suppressions::parse("# legacy\nrace:ring::Ring::push\n\nrace:vendored/*.rs  # C port\n").unwrap();
        assert!(s.matches("ring::Ring::push"));
        assert!(s.matches("/src/vendored/lz4.rs"));
        assert!(!s.matches("ring::Ring::pop"));
        assert!(!s.matches("/src/other.rs"));
        assert!(Suppressions::parse("").unwrap().is_empty());
    }

    #[test]
    fn malformed_lines_are_named() {
        let e = Suppressions::parse("race:a\nthread:b\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.to_string().contains("unknown kind `thread`"), "{e}");
        assert_eq!(Suppressions::parse("race:\n").unwrap_err().line, 1);
        assert_eq!(Suppressions::parse("\n\njust text").unwrap_err().line, 3);
    }

    #[test]
    fn relative_file_options_are_made_absolute() {
        let base = std::path::Path::new("/ws");
        assert_eq!(
            Options::absolutised("suppressions=supp.txt log_path=races,halt_on_error=1", base),
            "suppressions=/ws/supp.txt log_path=/ws/races halt_on_error=1"
        );
        assert_eq!(Options::absolutised("log_path=stderr suppressions=/abs/s", base), "log_path=stderr suppressions=/abs/s");
    }
}
