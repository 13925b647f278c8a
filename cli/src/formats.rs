//! Machine-readable output of the races a run found, built from the JSON
//! lines the runtime writes (schema `racecheck.race/1`, see the detector's
//! `report::render_json`).

use std::path::Path;

use serde_json::{json, Value};

/// `--format`: what goes to stdout (or `--output-file`) after the run.
#[derive(Copy, Clone, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Reports as text on stderr only (the default).
    Text,
    /// One JSON object per race, per line.
    Json,
    /// A SARIF 2.1.0 log: one result per race, both stacks as thread flows.
    Sarif,
    /// GitHub Actions `::error` annotations, one per race.
    Github,
}

fn top(stack: &Value) -> Option<&Value> {
    stack.as_array().and_then(|a| a.first())
}

fn rel(file: &str, root: &Path) -> String {
    Path::new(file).strip_prefix(root).map(|p| p.display().to_string()).unwrap_or_else(|_| file.to_string())
}

fn thread_name(t: &Value) -> String {
    match (t["id"].as_u64(), t["name"].as_str()) {
        (Some(0), _) => "main thread".into(),
        (Some(id), Some(n)) => format!("thread {id} '{n}'"),
        (Some(id), None) => format!("thread {id}"),
        _ => "an unknown thread".into(),
    }
}

fn place(frame: Option<&Value>, root: &Path) -> String {
    match frame {
        Some(f) => format!(
            "{} ({}:{}:{})",
            f["function"].as_str().unwrap_or("?"),
            rel(f["file"].as_str().unwrap_or("?"), root),
            f["line"],
            f["column"]
        ),
        None => "[failed to restore the stack]".into(),
    }
}

/// One sentence describing a race.
pub fn summary(race: &Value, root: &Path) -> String {
    let (cur, prev) = (&race["current"], &race["previous"]);
    let mut s = format!(
        "Data race: {} at {} by {} in {} races with previous {} by {} in {}",
        cur["kind"].as_str().unwrap_or("access"),
        cur["address"].as_str().unwrap_or("?"),
        thread_name(&cur["thread"]),
        place(top(&cur["stack"]), root),
        prev["kind"].as_str().unwrap_or("access"),
        thread_name(&prev["thread"]),
        place(top(&prev["stack"]), root),
    );
    match race["location"]["kind"].as_str() {
        Some("global") => s.push_str(&format!("; global '{}'", race["location"]["name"].as_str().unwrap_or("?"))),
        Some("heap") => s.push_str(&format!("; heap block of size {}", race["location"]["size"])),
        Some("stack") => s.push_str(&format!("; stack of {}", thread_name(&race["location"]["thread"]))),
        Some("thread-local") => s.push_str(&format!(
            "; thread-local {}of {}",
            race["location"]["name"].as_str().map(|n| format!("'{n}' ")).unwrap_or_default(),
            thread_name(&race["location"]["thread"])
        )),
        _ => {}
    }
    s
}

fn escape_data(s: &str) -> String {
    s.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// Render `races` (each as the runtime's JSON line and parsed) in `format`;
/// `None` for text (already on stderr).
pub fn render(format: Format, lines: &[(String, Value)], root: &Path) -> Option<String> {
    let races: Vec<Value> = lines.iter().map(|(_, v)| v.clone()).collect();
    match format {
        Format::Text => None,
        Format::Json => Some(lines.iter().map(|(l, _)| format!("{l}\n")).collect()),
        Format::Github => Some(
            races
                .iter()
                .map(|r| {
                    let f = top(&r["current"]["stack"]);
                    let file = rel(f.and_then(|f| f["file"].as_str()).unwrap_or(""), root);
                    format!(
                        "::error file={},line={},col={},title=Data race::{}\n",
                        escape_property(&file),
                        f.map(|f| f["line"].clone()).unwrap_or(json!(1)),
                        f.map(|f| f["column"].clone()).unwrap_or(json!(1)),
                        escape_data(&summary(r, root))
                    )
                })
                .collect(),
        ),
        Format::Sarif => Some(format!("{:#}\n", sarif(&races, root))),
    }
}

fn sarif_location(frame: &Value, root: &Path) -> Value {
    let file = frame["file"].as_str().unwrap_or("?");
    let relative = rel(file, root);
    let artifact = if relative != file || !file.starts_with('/') {
        json!({ "uri": relative, "uriBaseId": "SRCROOT" })
    } else {
        json!({ "uri": format!("file://{file}") })
    };
    let line = frame["line"].as_u64().unwrap_or(0).max(1);
    let column = frame["column"].as_u64().unwrap_or(0).max(1);
    json!({
        "physicalLocation": {
            "artifactLocation": artifact,
            "region": { "startLine": line, "startColumn": column }
        },
        "logicalLocations": [{ "fullyQualifiedName": frame["function"], "kind": "function" }]
    })
}

fn thread_flow(access: &Value, root: &Path) -> Value {
    let frames = access["stack"].as_array().cloned().unwrap_or_default();
    let locations: Vec<Value> = frames
        .iter()
        .map(|f| json!({ "location": sarif_location(f, root) }))
        .collect();
    json!({
        "id": thread_name(&access["thread"]),
        "message": { "text": format!("{} by {}", access["kind"].as_str().unwrap_or("access"), thread_name(&access["thread"])) },
        "locations": locations
    })
}

/// A SARIF 2.1.0 log with one result per race.
pub fn sarif(races: &[Value], root: &Path) -> Value {
    let results: Vec<Value> = races
        .iter()
        .map(|r| {
            let locations: Vec<Value> = top(&r["current"]["stack"]).map(|f| sarif_location(f, root)).into_iter().collect();
            let mut flows = vec![thread_flow(&r["current"], root)];
            if r["previous"]["stack"].is_array() {
                flows.push(thread_flow(&r["previous"], root));
            }
            json!({
                "ruleId": "data-race",
                "level": "error",
                "message": { "text": summary(r, root) },
                "locations": locations,
                "codeFlows": [{ "threadFlows": flows }]
            })
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "racecheck",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": [{
                    "id": "data-race",
                    "name": "DataRace",
                    "shortDescription": { "text": "Two threads access the same memory without synchronisation, and at least one writes" },
                    "defaultConfiguration": { "level": "error" }
                }]
            }},
            "originalUriBaseIds": { "SRCROOT": { "uri": format!("file://{}/", root.display()) } },
            "results": results
        }]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn race() -> Value {
        serde_json::from_str(r#"{"schema":"racecheck.race/1",
          "current":{"kind":"write","address":"0x0000000000001000","size":8,"thread":{"id":2,"name":null},
            "stack":[{"function":"c::main::{{closure}}","file":"/ws/src/main.rs","line":16,"column":9}]},
          "previous":{"kind":"read","address":"0x0000000000001000","size":8,"thread":{"id":0,"name":"main"},"stack":null},
          "location":{"kind":"global","name":"c::COUNTER","address":"0x0000000000001000","size":8},
          "threads":[]}"#).unwrap()
    }

    #[test]
    fn github_annotation_points_at_the_current_access() {
        let out = render(Format::Github, &[(String::new(), race())], Path::new("/ws")).unwrap();
        assert!(out.starts_with("::error file=src/main.rs,line=16,col=9,title=Data race::Data race: write at 0x0000000000001000 by thread 2"), "{out}");
        assert!(out.contains("previous read by main thread in [failed to restore the stack]; global 'c::COUNTER'"), "{out}");
    }

    #[test]
    fn sarif_has_a_result_with_thread_flows() {
        let log = sarif(&[race()], Path::new("/ws"));
        assert_eq!(log["version"], "2.1.0");
        let result = &log["runs"][0]["results"][0];
        assert_eq!(result["ruleId"], "data-race");
        assert_eq!(result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"], "src/main.rs");
        assert_eq!(result["locations"][0]["physicalLocation"]["region"]["startLine"], 16);
        assert_eq!(result["codeFlows"][0]["threadFlows"].as_array().unwrap().len(), 1, "lost stack: one flow");
    }
}
