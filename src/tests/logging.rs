//! The log a collector reads: `--log-format json` writes one JSON object
//! per line, and the text format writes no terminal colour codes when
//! standard error is not a terminal (a log file full of ANSI escapes was
//! the complaint).

use crate::support::temp_dir;
use std::process::Command;

/// Standard error of `oparl export` (which logs "exported" at info) into a
/// new SQLite store, with these extra arguments.
fn export_log(format: &[&str]) -> String {
    let dir = temp_dir("logging", format.last().copied().unwrap_or("default"));
    std::fs::create_dir_all(&dir).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_oparl"))
        .arg("--database-url")
        .arg(dir.join("store.sqlite"))
        .args(format)
        .arg("export")
        .arg(dir.join("out.jsonl"))
        .env("RUST_LOG", "info")
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(out.status.success(), "{stderr}");
    stderr
}

#[test]
fn json_logs_are_one_object_per_line_and_text_logs_have_no_colour_codes_in_a_file() {
    let json = export_log(&["--log-format", "json"]);
    let lines: Vec<serde_json::Value> = json
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l["level"] == "INFO" && l["fields"]["message"] == "exported"),
        "{json}"
    );

    for text in [export_log(&[]), export_log(&["--log-format", "text"])] {
        assert!(text.contains("exported"), "{text}");
        assert!(
            !text.contains('\u{1b}'),
            "colour codes in a log that is not a terminal: {text:?}"
        );
    }

    let out = Command::new(env!("CARGO_BIN_EXE_oparl"))
        .args(["--log-format", "xml", "migrate"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--log-format"));
}
