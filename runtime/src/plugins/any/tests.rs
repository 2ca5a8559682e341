use super::handler::{CPU, OS, TTL};
use crate::dns::{DNSClass, RData, RecordType, ResponseCode};
use crate::testing::{Case, TestSite, parse_err};

const COREFILE: &str = "example.org {\n any\n whoami\n}";

#[test]
fn parse_table() {
    for ok in [
        "example.org {\n any\n}",
        "example.org {\n any\n any\n}",
        COREFILE,
    ] {
        TestSite::new(ok);
    }
    for (bad, expected) in [
        (
            "example.org {\n any example.org\n}",
            "plugin/any: Wrong argument count or unexpected line ending after 'example.org'",
        ),
        (
            "example.org {\n any\n any x\n}",
            "plugin/any: Wrong argument count or unexpected line ending after 'x'",
        ),
        (
            "example.org {\n any {\n  x\n }\n}",
            "plugin/any: Unexpected token '{', expecting argument",
        ),
    ] {
        let err = parse_err(bad);
        assert!(err.contains(expected), "{bad}:\n{err}");
    }
}

#[tokio::test]
async fn any_query_gets_one_hinfo_record() {
    let site = TestSite::new(COREFILE);
    let r = site
        .query(Case::new("WWW.Example.org.", RecordType::ANY))
        .await;
    assert_eq!(r.plugin(), Some("any"));
    let m = r.message();
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    assert!(!m.metadata.authoritative, "RFC 8482 replies are not AA");
    assert!(m.metadata.recursion_desired, "RD copied from the query");
    assert!(m.authorities.is_empty() && m.additionals.is_empty());
    assert_eq!(m.answers.len(), 1);
    let rr = &m.answers[0];
    assert_eq!(rr.name.to_ascii(), "WWW.Example.org.", "owner as asked");
    assert_eq!(rr.ttl, TTL);
    assert_eq!(rr.ttl, 8482);
    assert_eq!(rr.dns_class, DNSClass::IN);
    match &rr.data {
        RData::HINFO(h) => {
            assert_eq!(&*h.cpu, CPU.as_bytes());
            assert_eq!(&*h.os, OS.as_bytes());
            assert_eq!(&*h.cpu, b"ANY obsoleted");
            assert_eq!(&*h.os, b"See RFC 8482");
        }
        other => panic!("expected HINFO, got {other:?}"),
    }
}

#[tokio::test]
async fn other_types_go_to_the_next_plugin() {
    let site = TestSite::new(COREFILE);
    for qtype in [RecordType::A, RecordType::HINFO, RecordType::TXT] {
        let r = site.query(Case::new("example.org.", qtype)).await;
        assert_eq!(r.plugin(), Some("whoami"), "{qtype}");
        assert!(r.message().answers.is_empty());
    }
}

#[tokio::test]
async fn with_nothing_after_it_non_any_queries_fail() {
    let site = TestSite::new("example.org {\n any\n}");
    let r = site.query(Case::new("example.org.", RecordType::A)).await;
    assert_eq!(r.rcode(), ResponseCode::ServFail);
    assert!(
        r.error
            .is_some_and(|e| e.to_string() == "plugin/any: no next plugin found")
    );
    let r = site.query(Case::new("example.org.", RecordType::ANY)).await;
    assert_eq!(r.plugin(), Some("any"));
}
