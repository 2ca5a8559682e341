use super::setup::{ErrorsConfig, Level};
use crate::dns::{RecordType, ResponseCode};
use crate::plugin::Parse;
use crate::testing::{Case, TestSite, load, parse_err};
use corec_compiler::Dispenser;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------- helpers

/// The parsed `errors` configuration of the first block of `corefile`.
fn config(corefile: &str) -> ErrorsConfig {
    let model = load(corefile);
    assert!(model.is_ok(), "{}", model.render_diagnostics());
    let block = &model.blocks[0];
    let used = block.plugin("errors").expect("the block uses errors");
    let zones = block.zones();
    ErrorsConfig::parse(&mut Dispenser::new("errors", &used.tokens, &zones)).unwrap()
}

fn block(body: &str) -> String {
    format!(". {{\n{body}\n whoami\n}}")
}

use crate::testing::capture_logs as capture;

/// A block whose A queries fail: chaos only answers CH TXT, so everything
/// else falls off the end of the chain.
fn failing(errors: &str) -> TestSite {
    TestSite::new(&format!(". {{\n{errors}\n chaos\n}}"))
}

async fn fail(site: &TestSite) {
    let r = site.query(Case::new("example.org.", RecordType::A)).await;
    assert_eq!(r.rcode(), ResponseCode::ServFail);
}

const FAILURE: &str = "[ERROR] plugin/errors: 2 example.org. A: plugin/chaos: no next plugin found";

// ---------------------------------------------------------------- syntax

#[test]
fn parses_every_option() {
    let c = config(&block(" errors"));
    assert!(!c.stacktrace && c.consolidate.is_empty());
    let c = config(&block(" errors stdout"));
    assert!(!c.stacktrace && c.consolidate.is_empty());
    let c = config(&block(" errors stdout {\n stacktrace\n }"));
    assert!(c.stacktrace);

    let body = " errors {
        consolidate 1m30s ^foo
        consolidate 5m \".* i/o timeout$\" warning show_first
        consolidate 100ms b info
        consolidate 1h c debug
        consolidate 2s d error
        consolidate 3s e show_first
    }";
    let c = config(&block(body));
    let got: Vec<_> = c
        .consolidate
        .iter()
        .map(|p| (p.period, p.pattern.as_str(), p.level, p.show_first))
        .collect();
    assert_eq!(
        got,
        [
            (90_000_000_000, "^foo", Level::Error, false),
            (300_000_000_000, ".* i/o timeout$", Level::Warning, true),
            (100_000_000, "b", Level::Info, false),
            (3_600_000_000_000, "c", Level::Debug, false),
            (2_000_000_000, "d", Level::Error, false),
            (3_000_000_000, "e", Level::Error, true),
        ]
    );
    // The longest pattern accepted.
    let c = config(&block(&format!(
        " errors {{\n consolidate 1s {}\n }}",
        "a".repeat(10_000)
    )));
    assert_eq!(c.consolidate[0].pattern.as_str().len(), 10_000);
}

#[test]
fn parse_errors() {
    let cases = [
        (
            " errors\n errors",
            "this plugin can only be used once per Server Block",
        ),
        (" errors stderr", "plugin/errors: invalid log file: stderr"),
        (
            " errors stdout more",
            "Wrong argument count or unexpected line ending after 'more'",
        ),
        (
            " errors {\n stacktrace now\n }",
            "unexpected argument 'now'",
        ),
        (" errors {\n stacktrac\n }", "unknown property 'stacktrac'"),
        (" errors {\n stacktrac\n }", "did you mean 'stacktrace'?"),
        (
            " errors {\n consolidate 1m\n }",
            "Wrong argument count or unexpected line ending after '1m'",
        ),
        (" errors {\n consolidate\n }", "Wrong argument count"),
        (
            " errors {\n consolidate 1m a warning show_first more\n }",
            "Wrong argument count",
        ),
        (
            " errors {\n consolidate 3d a\n }",
            "plugin/errors: time: unknown unit \"d\" in duration \"3d\"",
        ),
        (
            " errors {\n consolidate 30 a\n }",
            "time: missing unit in duration \"30\"",
        ),
        (
            " errors {\n consolidate x a\n }",
            "time: invalid duration \"x\"",
        ),
        (
            " errors {\n consolidate 1m (a\n }",
            "plugin/errors: error parsing regexp: unclosed group",
        ),
        (
            " errors {\n consolidate 1m a show_first warning\n }",
            "log level must come before show_first in consolidate",
        ),
        (
            " errors {\n consolidate 1m a warning error\n }",
            "multiple log levels specified in consolidate",
        ),
        (
            " errors {\n consolidate 1m a warn\n }",
            "unknown option in consolidate: warn",
        ),
        (
            " errors {\n consolidate 1m a warnig\n }",
            "did you mean 'warning'?",
        ),
        (
            " errors {\n consolidate 1m a show-first\n }",
            "did you mean 'show_first'?",
        ),
    ];
    for (body, want) in cases {
        let e = parse_err(&block(body));
        assert!(e.contains(want), "{body:?}: want {want:?} in\n{e}");
    }
    let long = block(&format!(
        " errors {{\n consolidate 1s {}\n }}",
        "a".repeat(10_001)
    ));
    assert!(parse_err(&long).contains("regex pattern too long: 10001 > 10000"));
}

// ---------------------------------------------------------------- logging

#[tokio::test]
async fn logs_chain_errors_and_passes_them_on() {
    let site = failing(" errors");
    let (buf, _guard) = capture();
    let r = site.query(Case::new("Example.ORG.", RecordType::A)).await;
    assert_eq!(r.rcode(), ResponseCode::ServFail);
    assert_eq!(
        r.error.expect("error returned").to_string(),
        "plugin/chaos: no next plugin found"
    );
    // A successful query logs nothing.
    let ok = site.query(Case::ch_txt("version.bind.")).await;
    assert_eq!(ok.plugin(), Some("chaos"));
    assert_eq!(buf.lines(), [FAILURE]);
}

#[tokio::test]
async fn consolidates_matching_errors() {
    let site = failing(
        " errors {\n consolidate 100ms \"no next plugin\" warning\n consolidate 1h chaos\n }",
    );
    let (buf, _guard) = capture();
    let start = Instant::now();
    for _ in 0..3 {
        fail(&site).await;
    }
    // Counted, not printed (and only by the first matching pattern).
    assert!(buf.lines().is_empty(), "{:?}", buf.lines());
    let summary = "[WARNING] plugin/errors: 3 errors like 'no next plugin' occurred in last 100ms";
    assert_eq!(buf.wait_for(1).await, [summary]);
    assert!(start.elapsed() >= Duration::from_millis(100));
    // The next match opens a new window.
    fail(&site).await;
    let again = "[WARNING] plugin/errors: 1 errors like 'no next plugin' occurred in last 100ms";
    assert_eq!(buf.wait_for(2).await, [summary, again]);
}

#[tokio::test]
async fn unmatched_errors_are_printed_at_once() {
    let site = failing(" errors {\n consolidate 1h ^timeout\n }");
    let (buf, _guard) = capture();
    fail(&site).await;
    assert_eq!(buf.lines(), [FAILURE]);
}

#[tokio::test]
async fn show_first_prints_the_first_and_sums_up_the_rest() {
    let site = failing(" errors {\n consolidate 100ms \"plugin/chaos\" info show_first\n }");
    let (buf, _guard) = capture();
    for _ in 0..3 {
        fail(&site).await;
    }
    let first = "[INFO] plugin/errors: 2 example.org. A: plugin/chaos: no next plugin found";
    assert_eq!(buf.lines(), [first]);
    let summary = "[INFO] plugin/errors: 3 errors like 'plugin/chaos' occurred in last 100ms";
    assert_eq!(buf.wait_for(2).await, [first, summary]);
}

#[tokio::test]
async fn pending_summaries_are_flushed_at_shutdown() {
    let (buf, _guard) = capture();
    let site = failing(" errors {\n consolidate 1h30m \"no next\" debug\n }");
    fail(&site).await;
    fail(&site).await;
    assert!(buf.lines().is_empty());
    drop(site);
    let summary = "[DEBUG] plugin/errors: 2 errors like 'no next' occurred in last 1h30m0s";
    assert_eq!(buf.wait_for(1).await, [summary]);
}

#[tokio::test]
async fn show_first_alone_needs_no_summary() {
    let (buf, _guard) = capture();
    let site = failing(" errors {\n consolidate 1h \"no next\" warning show_first\n }");
    fail(&site).await;
    let first = "[WARNING] plugin/errors: 2 example.org. A: plugin/chaos: no next plugin found";
    assert_eq!(buf.lines(), [first]);
    drop(site);
    // Let the flush run: nothing more is printed for a single error.
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(buf.lines(), [first]);
}

#[test]
fn readme_examples_load() {
    let examples: Vec<&str> = include_str!("README.md")
        .split("~~~ corefile\n")
        .skip(1)
        .map(|b| b.split("~~~").next().unwrap())
        .collect();
    assert_eq!(examples.len(), 2);
    for corefile in examples {
        TestSite::new(corefile);
    }
}
