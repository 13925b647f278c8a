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
                "history_size" => o.history_size = int(0, 7)? as u32,
                "exitcode" => o.exitcode = int(0, 255)? as i32,
                "log_path" if !value.is_empty() => o.log_path = Some(value.to_string()),
                "strip_path_prefix" => o.strip_path_prefix = Some(value.to_string()),
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
        assert!(Options::parse("report_format=xml").unwrap_err().to_string().contains("text or json"));
    }
}
