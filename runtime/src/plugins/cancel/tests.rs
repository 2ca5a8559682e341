use super::Cancel;
use super::setup::{CancelConfig, DEFAULT_TIMEOUT};
use crate::chain::{Chain, End};
use crate::dns::{RecordType, ResponseCode};
use crate::plugin::{Answer, Handler, Outcome, Parse, Plugin, Request};
use crate::testing::{Case, TestSite, assert_same, load, parse_err};
use corec_compiler::Dispenser;
use std::time::{Duration, Instant};

fn config(corefile: &str) -> CancelConfig {
    let model = load(corefile);
    assert!(model.is_ok(), "{}", model.render_diagnostics());
    let used = model.blocks[0]
        .plugin("cancel")
        .expect("a cancel directive");
    let zones = model.blocks[0].zones();
    CancelConfig::parse(&mut Dispenser::new("cancel", &used.tokens, &zones)).expect("parses")
}

#[test]
fn timeout_defaults_to_5001_ms() {
    assert_eq!(config(". {\n cancel\n}").timeout, DEFAULT_TIMEOUT);
    assert_eq!(DEFAULT_TIMEOUT, Duration::from_millis(5001));
    assert_eq!(config(". {\n cancel 1s\n}").timeout, Duration::from_secs(1));
    assert_eq!(
        config(". {\n cancel 1m30s\n}").timeout,
        Duration::from_secs(90)
    );
    assert_eq!(
        config(". {\n cancel 250ms\n}").timeout,
        Duration::from_millis(250)
    );
    // Repeated, the last one counts.
    assert_eq!(
        config(". {\n cancel 1s\n cancel 2s\n}").timeout,
        Duration::from_secs(2)
    );
}

#[test]
fn parse_errors() {
    for (corefile, want) in [
        (
            ". {\n cancel 5\n}",
            "plugin/cancel: invalid duration: \"5\"",
        ),
        (". {\n cancel soon\n}", "invalid duration: \"soon\""),
        (". {\n cancel -1s\n}", "invalid negative duration: \"-1s\""),
        (". {\n cancel 0s\n}", "invalid negative duration: \"0s\""),
        (
            ". {\n cancel 1s 2s\n}",
            "Wrong argument count or unexpected line ending after '2s'",
        ),
        (
            ". {\n cancel {\n  after 1s\n }\n}",
            "unknown property 'after'",
        ),
    ] {
        let got = parse_err(corefile);
        assert!(got.contains(want), "{corefile}\n--- got:\n{got}");
    }
}

/// A plugin that takes `delay` before answering REFUSED.
#[derive(Debug)]
struct Slow {
    delay: Duration,
}

impl Plugin for Slow {
    const NAME: &'static str = "slow";

    async fn serve<'a, N: Handler>(&'a self, _req: &'a mut Request, _next: &'a N) -> Outcome {
        tokio::time::sleep(self.delay).await;
        Ok(Answer::Rcode(ResponseCode::Refused))
    }
}

fn chain(timeout: Duration, delay: Duration) -> Chain<Cancel, Chain<Slow, End>> {
    Chain::new(Cancel { timeout }, Chain::new(Slow { delay }, End))
}

#[tokio::test]
async fn a_chain_past_the_timeout_gets_no_reply() {
    let c = chain(Duration::from_millis(50), Duration::from_secs(30));
    let mut req = Case::new("example.org.", RecordType::A).request();
    let start = Instant::now();
    let out = c.handle(&mut req).await;
    assert!(matches!(out, Ok(Answer::Drop)), "{out:?}");
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "the slow plugin was not waited for"
    );
}

#[tokio::test]
async fn a_chain_within_the_timeout_answers() {
    let c = chain(Duration::from_secs(30), Duration::from_millis(1));
    let mut req = Case::new("example.org.", RecordType::A).request();
    let out = c.handle(&mut req).await;
    assert!(
        matches!(out, Ok(Answer::Rcode(ResponseCode::Refused))),
        "{out:?}"
    );
}

#[tokio::test]
async fn passes_queries_on_in_both_lanes() {
    let t = TestSite::new(&format!(
        "example.org {{\n cancel 2s\n file {}\n}}",
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/src/plugins/file/testdata/example.org.zone"
        )
    ));
    let r = t.query(Case::new("www.example.org.", RecordType::A)).await;
    assert_eq!(r.answers(), ["www.example.org. 3600 IN A 192.0.2.10"]);
    let (full, fast) = t
        .both_lanes(&Case::new("www.example.org.", RecordType::A))
        .await;
    let fast = fast.expect("the fast lane answers");
    assert_same(&full, &fast, "www A");
}
