use super::*;
use crate::testing::{capture_json_logs, capture_logs};
use serde_json::Value;
use std::time::Duration;

fn timestamp(secs: u64, micros: u32) -> String {
    let mut s = String::new();
    let t = UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_micros(micros.into());
    write_timestamp(&mut s, t).unwrap();
    s
}

fn escaped(s: &str) -> String {
    let mut out = String::new();
    write_json_str(&mut out, s).unwrap();
    out
}

fn parse(line: &str) -> Value {
    serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"))
}

/// A `JSON_FIELDS` value as the query log renders it.
struct Members;

impl fmt::Display for Members {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(",\"port\":5353,\"name\":\"a\\\"b.\"")
    }
}

#[test]
fn timestamps_are_rfc3339_utc_with_microseconds() {
    assert_eq!(timestamp(0, 0), "1970-01-01T00:00:00.000000Z");
    assert_eq!(
        timestamp(1_795_765_501, 123_456),
        "2026-11-27T07:45:01.123456Z"
    );
    assert_eq!(timestamp(951_782_400, 7), "2000-02-29T00:00:00.000007Z");
    assert_eq!(
        timestamp(4_107_628_799, 999_999),
        "2100-03-01T23:59:59.999999Z"
    );
    // Every day for 400 years (one full cycle of the calendar) follows the last.
    let mut prev = civil_from_days(-1);
    assert_eq!(prev, (1969, 12, 31));
    for days in 0..146_097 {
        let (y, m, d) = civil_from_days(days);
        let next_day = (y, m, d) == (prev.0, prev.1, prev.2 + 1);
        let next_month = (y, m, d) == (prev.0, prev.1 + 1, 1);
        let next_year = (y, m, d) == (prev.0 + 1, 1, 1) && prev.1 == 12 && prev.2 == 31;
        assert!(
            next_day || next_month || next_year,
            "{prev:?} then {:?}",
            (y, m, d)
        );
        prev = (y, m, d);
    }
    assert_eq!(prev, (2369, 12, 31));
}

#[test]
fn strings_are_escaped() {
    assert_eq!(escaped("plain é ✓"), "\"plain é ✓\"");
    assert_eq!(escaped("a\"b\\c"), r#""a\"b\\c""#);
    assert_eq!(escaped("l1\nl2\r\t"), r#""l1\nl2\r\t""#);
    assert_eq!(escaped("\u{0}\u{1f}\u{7f}"), "\"\\u0000\\u001f\u{7f}\"");
    for s in ["x\"\\\n\u{1}y", "", "\\", "é\"é"] {
        assert_eq!(serde_json::from_str::<String>(&escaped(s)).unwrap(), s);
    }
}

#[test]
fn log_format_flag_values() {
    assert_eq!("text".parse(), Ok(LogFormat::Text));
    assert_eq!("json".parse(), Ok(LogFormat::Json));
    let e = "JSON".parse::<LogFormat>().unwrap_err();
    assert_eq!(
        e,
        "invalid value \"JSON\" for flag -log-format: want text or json"
    );

    let flags = |args: &[&str]| {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        crate::cli::parse_flags(&args).map(|f| f.log_format)
    };
    assert_eq!(flags(&[]), Ok(LogFormat::Text));
    assert_eq!(flags(&["-log-format", "json"]), Ok(LogFormat::Json));
    assert_eq!(flags(&["-log-format=json"]), Ok(LogFormat::Json));
    assert_eq!(
        flags(&["--log-format", "text", "-quiet"]),
        Ok(LogFormat::Text)
    );
    assert_eq!(flags(&["-log-format=xml"]), Err(e.replace("JSON", "xml")));
    assert_eq!(
        flags(&["-log-format"]),
        Err("flag needs an argument: -log-format".into())
    );
}

#[test]
fn json_lines_have_ts_level_plugin_and_msg() {
    let (logs, _guard) = capture_json_logs();
    tracing::info!(target: "plugin/reload", "Running configuration SHA512 = \"x\"");
    tracing::warn!(target: "plugin/file", "line one\nline two");
    tracing::error!("no plugin here");
    tracing::debug!(target: "plugin/debug", "d");
    tracing::info!(target: "querylog", json_fields = %Members, "127.0.0.1:5353 - 1 \"A IN a.\"");
    tracing::info!(target: "plugin/x", n = 3u64, neg = -2i64, ok = true, r = 0.5, s = "q\"", d = ?Some(1), "m");
    let lines = logs.lines();
    assert_eq!(lines.len(), 6, "{lines:?}");
    let v: Vec<Value> = lines.iter().map(|l| parse(l)).collect();

    for (v, line) in v.iter().zip(&lines) {
        let ts = v["ts"].as_str().unwrap();
        assert_eq!(ts.len(), "2026-11-27T07:45:01.123456Z".len(), "{line}");
        assert!(ts.ends_with('Z') && ts.as_bytes()[10] == b'T', "{line}");
        assert!(line.starts_with("{\"ts\":"), "ts comes first: {line}");
    }
    let levels: Vec<&str> = v.iter().map(|v| v["level"].as_str().unwrap()).collect();
    assert_eq!(
        levels,
        ["INFO", "WARNING", "ERROR", "DEBUG", "INFO", "INFO"]
    );
    let plugins: Vec<Option<&str>> = v
        .iter()
        .map(|v| v.get("plugin").map(|p| p.as_str().unwrap()))
        .collect();
    assert_eq!(
        plugins,
        [
            Some("reload"),
            Some("file"),
            None,
            Some("debug"),
            Some("log"),
            Some("x")
        ]
    );
    assert_eq!(v[0]["msg"], "Running configuration SHA512 = \"x\"");
    assert_eq!(v[1]["msg"], "line one\nline two");
    assert_eq!(v[2]["msg"], "no plugin here");
    assert_eq!(
        v[2].as_object().unwrap().len(),
        3,
        "ts, level, msg: {}",
        lines[2]
    );

    // The query log: its line unchanged, its pre-rendered members spliced in.
    assert_eq!(v[4]["msg"], "127.0.0.1:5353 - 1 \"A IN a.\"");
    assert_eq!(v[4]["port"], 5353);
    assert_eq!(v[4]["name"], "a\"b.");
    assert!(v[4].get(JSON_FIELDS).is_none());

    // Other fields keep their JSON type; anything else is a string.
    assert_eq!(v[5]["msg"], "m");
    assert_eq!(v[5]["n"], 3);
    assert_eq!(v[5]["neg"], -2);
    assert_eq!(v[5]["ok"], true);
    assert_eq!(v[5]["r"], 0.5);
    assert_eq!(v[5]["s"], "q\"");
    assert_eq!(v[5]["d"], "Some(1)");
}

#[test]
fn text_lines_are_corednss_and_leave_json_fields_out() {
    let (logs, _guard) = capture_logs();
    tracing::info!(target: "plugin/reload", "Reloading complete");
    tracing::warn!(target: "plugin/file", "w");
    tracing::info!(target: "querylog", json_fields = %Members, "127.0.0.1:5353 - 1");
    assert_eq!(
        logs.lines(),
        [
            "[INFO] plugin/reload: Reloading complete",
            "[WARNING] plugin/file: w",
            "[INFO] 127.0.0.1:5353 - 1"
        ]
    );
}
