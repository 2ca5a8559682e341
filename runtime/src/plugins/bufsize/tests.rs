use super::handler::Bufsize;
use super::setup::{BufsizeConfig, DEFAULT_SIZE};
use crate::chain::{Chain, End};
use crate::dns::RecordType;
use crate::plugin::{Answer, Handler, Outcome, Parse, Plugin, Request};
use crate::testing::{Case, TestSite, load, parse_err};
use corec_compiler::Dispenser;
use std::sync::{Arc, Mutex};

// ---------------------------------------------------------------- syntax

/// The parsed configuration of the `bufsize` in `corefile`.
fn config(corefile: &str) -> BufsizeConfig {
    let model = load(corefile);
    assert!(model.is_ok(), "{}", model.render_diagnostics());
    let block = &model.blocks[0];
    let used = block.plugin("bufsize").expect("a bufsize directive");
    let zones = block.zones();
    let mut d = Dispenser::new("bufsize", &used.tokens, &zones);
    BufsizeConfig::parse(&mut d).expect("parses")
}

#[test]
fn parse_table() {
    assert_eq!(DEFAULT_SIZE, 1232);
    for (directive, size) in [
        ("bufsize", 1232),
        ("bufsize 512", 512),
        ("bufsize 1100", 1100),
        ("bufsize 4096", 4096),
        ("bufsize 1024\n bufsize 2048", 1024),
        ("bufsize\n bufsize 2048", 1232),
    ] {
        let c = config(&format!(". {{\n {directive}\n}}"));
        assert_eq!(c.size, size, "{directive}");
    }
    for (directive, expected) in [
        ("bufsize 511", "plugin/bufsize: invalid buffer size '511'"),
        ("bufsize 4097", "plugin/bufsize: invalid buffer size '4097'"),
        ("bufsize 0", "plugin/bufsize: invalid buffer size '0'"),
        ("bufsize -1", "plugin/bufsize: invalid buffer size '-1'"),
        (
            "bufsize 70000",
            "plugin/bufsize: invalid buffer size '70000'",
        ),
        ("bufsize 1e3", "plugin/bufsize: invalid buffer size '1e3'"),
        (
            "bufsize 1232 1232",
            "plugin/bufsize: unexpected argument '1232'",
        ),
        (
            "bufsize 1232 {\n  x\n }",
            "plugin/bufsize: unexpected block: bufsize takes no options",
        ),
        (
            "bufsize\n bufsize 9",
            "plugin/bufsize: invalid buffer size '9'",
        ),
    ] {
        let err = parse_err(&format!(". {{\n {directive}\n whoami\n}}"));
        assert!(err.contains(expected), "{directive}:\n{err}");
    }
    let err = parse_err(". {\n bufsize 100\n whoami\n}");
    assert!(err.contains("must be an integer from 512 to 4096"), "{err}");
}

// ---------------------------------------------------------------- serving

/// The payload size advertised in the reply's OPT, if it has one.
async fn reply_payload(corefile: &str, case: Case) -> Option<u16> {
    let r = TestSite::new(corefile).query(case).await;
    assert_eq!(r.plugin(), Some("whoami"));
    r.message().edns.as_ref().map(|e| e.max_payload())
}

fn a_query() -> Case {
    Case::new("example.org.", RecordType::A)
}

#[tokio::test]
async fn the_lowered_size_is_what_the_server_answers_with() {
    // Without bufsize the server advertises min(client's size, 1232).
    assert_eq!(
        reply_payload(". {\n whoami\n}", a_query().edns(4096)).await,
        Some(1232)
    );
    assert_eq!(
        reply_payload(". {\n bufsize 600\n whoami\n}", a_query().edns(4096)).await,
        Some(600)
    );
    // Sizes already below SIZE are kept.
    assert_eq!(
        reply_payload(". {\n bufsize 600\n whoami\n}", a_query().edns(550)).await,
        Some(550)
    );
    assert_eq!(
        reply_payload(". {\n bufsize\n whoami\n}", a_query().edns(1000)).await,
        Some(1000)
    );
    // No OPT in the query: none added.
    assert_eq!(
        reply_payload(". {\n bufsize 600\n whoami\n}", a_query()).await,
        None
    );
}

/// A test plugin that records the payload size of the query it sees.
#[derive(Debug, Default)]
struct Sizes(Arc<Mutex<Vec<Option<u16>>>>);

impl Plugin for Sizes {
    const NAME: &'static str = "sizes";

    async fn serve<'a, N: Handler>(&'a self, req: &'a mut Request, _next: &'a N) -> Outcome {
        let size = req.edns().map(|e| e.max_payload());
        self.0.lock().unwrap().push(size);
        Ok(Answer::reply(Self::NAME, req.reply()))
    }
}

#[tokio::test]
async fn the_next_plugin_sees_the_lowered_size() {
    let sizes = Sizes::default();
    let seen = sizes.0.clone();
    let chain = Chain::new(Bufsize::new(1100), Chain::new(sizes, End));
    for case in [
        a_query().edns(4096),
        a_query().edns(1101),
        a_query().edns(1100),
        a_query().edns(700),
        a_query(),
    ] {
        let mut req = case.request();
        chain.handle(&mut req).await.unwrap();
    }
    assert_eq!(
        *seen.lock().unwrap(),
        [Some(1100), Some(1100), Some(1100), Some(700), None]
    );
}

#[tokio::test]
async fn a_small_size_truncates_udp_replies() {
    // 40 A records: about 700 bytes, more than 512 but less than 1232.
    let lines: String = (1..=40)
        .map(|i| format!("  10.0.0.{i} www.example.org\n"))
        .collect();
    let corefile = |directive: &str| {
        format!(". {{\n {directive}\n hosts /dev/null {{\n{lines}  reload 0\n }}\n}}")
    };
    let case = || Case::new("www.example.org.", RecordType::A).edns(4096);
    let r = TestSite::new(&corefile("")).query(case()).await;
    assert_eq!(r.message().answers.len(), 40);
    assert!(!r.message().metadata.truncation);
    let r = TestSite::new(&corefile("bufsize 512")).query(case()).await;
    let m = r.message();
    assert!(m.metadata.truncation, "TC set");
    assert!(m.answers.is_empty());
    assert_eq!(m.edns.as_ref().map(|e| e.max_payload()), Some(512));
}
