use super::handler::Header;
use super::setup::{HeaderConfig, Rules};
use crate::chain::{Chain, End};
use crate::dns::{RecordType, ResponseCode};
use crate::plugin::{Answer, Handler, Outcome, Parse, Plugin, Request};
use crate::testing::{Case, TestSite, load, parse_err};
use corec_compiler::Dispenser;
use std::sync::{Arc, Mutex};

// ---------------------------------------------------------------- syntax

/// The parsed configuration of the `header`s in `corefile`.
fn config(corefile: &str) -> HeaderConfig {
    let model = load(corefile);
    assert!(model.is_ok(), "{}", model.render_diagnostics());
    let block = &model.blocks[0];
    let used = block.plugin("header").expect("a header directive");
    let zones = block.zones();
    let mut d = Dispenser::new("header", &used.tokens, &zones);
    HeaderConfig::parse(&mut d).expect("parses")
}

const fn rules(aa: Option<bool>, ra: Option<bool>, rd: Option<bool>) -> Rules {
    Rules { aa, ra, rd }
}

#[test]
fn valid_configurations() {
    const NONE: Rules = rules(None, None, None);
    for (body, query, response) in [
        ("query set rd", rules(None, None, Some(true)), NONE),
        ("response set aa", NONE, rules(Some(true), None, None)),
        (
            "response set ra aa\n  response clear rd",
            NONE,
            rules(Some(true), Some(true), Some(false)),
        ),
        (
            "response set ra aa\n  query clear rd",
            rules(None, None, Some(false)),
            rules(Some(true), Some(true), None),
        ),
        (
            "QuErY SeT RD aa\n  ReSpOnSe ClEaR RA",
            rules(Some(true), None, Some(true)),
            rules(None, Some(false), None),
        ),
        // Later rules win.
        (
            "response set ra\n  response clear ra",
            NONE,
            rules(None, Some(false), None),
        ),
        (
            "response clear ra\n  response set ra",
            NONE,
            rules(None, Some(true), None),
        ),
        (
            "query set aa aa rd\n  query clear aa",
            rules(Some(false), None, Some(true)),
            NONE,
        ),
    ] {
        let c = config(&format!(". {{\n header {{\n  {body}\n }}\n}}"));
        assert_eq!((c.query, c.response), (query, response), "{body}");
    }
}

#[test]
fn the_first_header_with_rules_is_used() {
    let c = config(". {\n header {\n }\n header {\n  query set rd\n }\n}");
    assert_eq!(c.query, rules(None, None, Some(true)));
    let c = config(". {\n header {\n  query set rd\n }\n header {\n  response set aa\n }\n}");
    assert_eq!(c.query, rules(None, None, Some(true)));
    assert!(c.response.is_empty());
}

#[test]
fn errors() {
    for (body, expected, hint) in [
        ("", "plugin/header: at least one rule is required", None),
        (
            "{\n }",
            "plugin/header: at least one rule is required",
            None,
        ),
        (
            "ignored {\n  query set rd\n }",
            "plugin/header: unexpected argument 'ignored'",
            None,
        ),
        (
            "{\n  foo\n }",
            "plugin/header: setting up rule: invalid selector=foo should be query or response",
            None,
        ),
        (
            "{\n  respnse set ra\n }",
            "plugin/header: setting up rule: invalid selector=respnse should be query or response",
            Some("did you mean 'response'?"),
        ),
        (
            "{\n  set ra\n }",
            "plugin/header: setting up rule: invalid selector=set should be query or response",
            Some("did you mean 'response set'?"),
        ),
        (
            "{\n  query\n }",
            "plugin/header: setting up rule: no flag action provided",
            None,
        ),
        (
            "{\n  response set\n }",
            "plugin/header: setting up rule: invalid length for flags, at least one should be provided",
            None,
        ),
        (
            "{\n  query foo\n }",
            "plugin/header: setting up rule: invalid length for flags, at least one should be provided",
            None,
        ),
        (
            "{\n  query foo rd\n }",
            "plugin/header: setting up rule: unknown flag action=foo, should be set or clear",
            None,
        ),
        (
            "{\n  query cleer rd\n }",
            "plugin/header: setting up rule: unknown flag action=cleer, should be set or clear",
            Some("did you mean 'clear'?"),
        ),
        (
            "{\n  query set ad\n }",
            "plugin/header: setting up rule: unknown/unsupported flag=ad",
            Some("supported flags: aa, ra, rd"),
        ),
        (
            "{\n  response set ra qr\n }",
            "plugin/header: setting up rule: unknown/unsupported flag=qr",
            Some("supported flags: aa, ra, rd"),
        ),
    ] {
        let corefile = format!(". {{\n header {body}\n whoami\n}}");
        let err = parse_err(&corefile);
        assert!(err.contains(expected), "{corefile}:\n{err}");
        if let Some(hint) = hint {
            assert!(err.contains(hint), "{corefile}:\n{err}");
        }
    }
}

#[test]
fn every_broken_line_is_reported_and_later_headers_are_checked() {
    let err = parse_err(". {\n header {\n  query set ad\n  reponse set ra\n }\n}");
    assert!(err.contains("flag=ad"), "{err}");
    assert!(err.contains("selector=reponse"), "{err}");
    assert!(err.contains("2 previous errors"), "{err}");
    let err = parse_err(". {\n header {\n  query set rd\n }\n header {\n  query foo rd\n }\n}");
    assert!(err.contains("unknown flag action=foo"), "{err}");
}

// ---------------------------------------------------------------- serving

#[tokio::test]
async fn response_rules_change_the_written_reply() {
    let case = || Case::new("example.org.", RecordType::A);
    // whoami replies AA set, RA clear, RD copied from the query (set).
    let plain = TestSite::new(". {\n whoami\n}").query(case()).await;
    let h = &plain.message().metadata;
    assert!(h.authoritative && !h.recursion_available && h.recursion_desired);

    let site =
        TestSite::new(". {\n header {\n  response set ra\n  response clear aa rd\n }\n whoami\n}");
    let r = site.query(case()).await;
    assert_eq!(r.plugin(), Some("whoami"));
    let h = &r.message().metadata;
    assert!(h.recursion_available, "ra set");
    assert!(!h.authoritative, "aa cleared");
    assert!(!h.recursion_desired, "rd cleared");
}

#[tokio::test]
async fn the_later_rule_wins_when_serving() {
    let case = || Case::new("example.org.", RecordType::A);
    let site =
        TestSite::new(". {\n header {\n  response clear aa\n  response set aa\n }\n whoami\n}");
    assert!(site.query(case()).await.message().metadata.authoritative);
    let site =
        TestSite::new(". {\n header {\n  response set ra\n  response clear ra\n }\n whoami\n}");
    assert!(
        !site
            .query(case())
            .await
            .message()
            .metadata
            .recursion_available
    );
}

#[tokio::test]
async fn query_rules_change_what_the_next_plugin_sees() {
    // whoami copies RD from the query it sees into its reply.
    let site = TestSite::new(". {\n header {\n  query clear rd\n }\n whoami\n}");
    let r = site.query(Case::new("example.org.", RecordType::A)).await;
    assert!(!r.message().metadata.recursion_desired);
}

#[tokio::test]
async fn server_written_errors_are_not_changed() {
    // Nothing after header: SERVFAIL, written by the server, AA stays clear.
    let site = TestSite::new(". {\n header {\n  response set aa ra\n }\n}");
    let r = site.query(Case::new("example.org.", RecordType::A)).await;
    assert_eq!(r.rcode(), ResponseCode::ServFail);
    assert_eq!(
        r.error.as_ref().map(ToString::to_string).as_deref(),
        Some("plugin/header: no next plugin found")
    );
    let h = &r.message().metadata;
    assert!(!h.authoritative && !h.recursion_available);
}

/// A test plugin that records the query header flags it sees.
#[derive(Debug, Default)]
struct Seen(Arc<Mutex<Vec<(bool, bool, bool)>>>);

impl Plugin for Seen {
    const NAME: &'static str = "seen";

    async fn serve<'a, N: Handler>(&'a self, req: &'a mut Request, _next: &'a N) -> Outcome {
        let h = &req.message.metadata;
        self.0
            .lock()
            .unwrap()
            .push((h.authoritative, h.recursion_available, h.recursion_desired));
        Ok(Answer::reply(Self::NAME, req.reply()))
    }
}

#[tokio::test]
async fn query_set_reaches_the_next_plugin() {
    let cfg = config(". {\n header {\n  query set aa ra\n  query clear rd\n }\n}");
    let seen = Seen::default();
    let log = seen.0.clone();
    let chain = Chain::new(Header::new(cfg), Chain::new(seen, End));
    let mut req = Case::new("example.org.", RecordType::A).request();
    assert!(req.message.metadata.recursion_desired);
    let Ok(Answer::Reply(r)) = chain.handle(&mut req).await else {
        panic!("a reply")
    };
    assert_eq!(*log.lock().unwrap(), [(true, true, false)]);
    assert!(
        !r.message.metadata.recursion_desired,
        "the reply copies the changed RD"
    );
}
