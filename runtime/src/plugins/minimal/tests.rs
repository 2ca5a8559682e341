use super::handler::{Minimal, within};
use crate::chain::{Chain, End};
use crate::dns::{
    A, AAAA, Edns, Message, MessageType, Name, OpCode, Query, RData, Record, RecordType,
    ResponseCode,
};
use crate::plugin::{Answer, Handler, Outcome, Plugin, Proto, Request};
use crate::testing::{Case, TestSite, parse_err};
use hickory_proto::rr::rdata::opt::{EdnsCode, EdnsOption};
use hickory_proto::rr::rdata::{NS, NULL, SOA};

// ---------------------------------------------------------------- syntax

#[test]
fn parse_table() {
    for ok in [
        "example.org {\n minimal\n whoami\n}",
        "example.org {\n minimal\n minimal\n whoami\n}",
    ] {
        TestSite::new(ok);
    }
    for (bad, expected) in [
        (
            "example.org {\n minimal example.org\n}",
            "plugin/minimal: Wrong argument count or unexpected line ending after 'example.org'",
        ),
        (
            "example.org {\n minimal x y\n}",
            "plugin/minimal: Wrong argument count or unexpected line ending after 'x'",
        ),
        (
            "example.org {\n minimal {\n }\n}",
            "plugin/minimal: Unexpected token '{', expecting argument",
        ),
    ] {
        let err = parse_err(bad);
        assert!(err.contains(expected), "{bad}:\n{err}");
    }
}

// ---------------------------------------------------------------- helpers

/// A test plugin that replies with fixed sections, rcode and EDNS.
#[derive(Debug, Clone)]
struct Canned(Message);

impl Plugin for Canned {
    const NAME: &'static str = "canned";

    async fn serve<'a, N: Handler>(&'a self, req: &'a mut Request, _next: &'a N) -> Outcome {
        let mut m = req.reply();
        m.metadata.response_code = self.0.metadata.response_code;
        m.metadata.authoritative = self.0.metadata.authoritative;
        m.answers = self.0.answers.clone();
        m.authorities = self.0.authorities.clone();
        m.additionals = self.0.additionals.clone();
        m.edns = self.0.edns.clone();
        Ok(Answer::reply(Self::NAME, m))
    }
}

fn name(s: &str) -> Name {
    Name::from_ascii(s).unwrap()
}

fn a(owner: &str) -> Record {
    Record::from_rdata(name(owner), 300, RData::A(A::new(192, 0, 2, 1)))
}

fn glue(owner: &str) -> Record {
    Record::from_rdata(
        name(owner),
        300,
        RData::AAAA(AAAA::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)),
    )
}

fn ns(owner: &str, target: &str) -> Record {
    Record::from_rdata(name(owner), 300, RData::NS(NS(name(target))))
}

fn soa(owner: &str) -> Record {
    let soa = SOA::new(
        name("ns.example.org."),
        name("hostmaster.example.org."),
        1,
        7200,
        3600,
        1_209_600,
        300,
    );
    Record::from_rdata(name(owner), 300, RData::SOA(soa))
}

/// An RRSIG as hickory keeps it without DNSSEC support: raw rdata.
fn rrsig(owner: &str, inception: u32, expiration: u32) -> Record {
    let mut rdata = vec![0, 1, 13, 2, 0, 0, 1, 44];
    rdata.extend_from_slice(&expiration.to_be_bytes());
    rdata.extend_from_slice(&inception.to_be_bytes());
    rdata.extend_from_slice(&[0x12, 0x34]);
    rdata.extend_from_slice(b"\x07example\x03org\x00");
    rdata.extend_from_slice(&[0xaa; 64]);
    Record::from_rdata(
        name(owner),
        300,
        RData::Unknown {
            code: RecordType::RRSIG,
            rdata: NULL::with(rdata),
        },
    )
}

fn reply(
    rcode: ResponseCode,
    answers: Vec<Record>,
    authorities: Vec<Record>,
    additionals: Vec<Record>,
) -> Message {
    let mut m = Message::new(0, MessageType::Response, OpCode::Query);
    m.metadata.response_code = rcode;
    m.answers = answers;
    m.authorities = authorities;
    m.additionals = additionals;
    m
}

fn request(qname: &str, qtype: RecordType, dnssec_ok: bool) -> Request {
    let mut m = Message::new(7, MessageType::Query, OpCode::Query);
    m.queries.push(Query::query(name(qname), qtype));
    if dnssec_ok {
        let mut e = Edns::new();
        e.set_dnssec_ok(true);
        m.edns = Some(e);
    }
    Request {
        wire_len: m.to_vec().unwrap().len(),
        message: m,
        client: "127.0.0.1:5353".parse().unwrap(),
        local: "127.0.0.1:53".parse().unwrap(),
        proto: Proto::Udp,
        server: "dns://:53".into(),
        name_cache: Default::default(),
        depth: 0,
        refresh: false,
        meta: None,
    }
}

/// Runs `minimal` in front of a plugin that writes `canned`.
async fn through_minimal(canned: Message, req: &mut Request) -> Message {
    let chain = Chain::new(Minimal, Chain::new(Canned(canned), End));
    match chain.handle(req).await {
        Ok(Answer::Reply(r)) => {
            assert_eq!(r.plugin, "canned");
            r.message
        }
        other => panic!("expected a reply, got {other:?}"),
    }
}

async fn minimal_of(canned: Message) -> Message {
    through_minimal(
        canned,
        &mut request("www.example.org.", RecordType::A, false),
    )
    .await
}

fn counts(m: &Message) -> (usize, usize, usize) {
    (m.answers.len(), m.authorities.len(), m.additionals.len())
}

// ---------------------------------------------------------------- trimming

#[tokio::test]
async fn positive_answer_keeps_only_the_answer_section_and_edns() {
    let mut m = reply(
        ResponseCode::NoError,
        vec![a("www.example.org.")],
        vec![ns("example.org.", "ns.example.org.")],
        vec![glue("ns.example.org.")],
    );
    m.metadata.authoritative = true;
    let mut e = Edns::new();
    e.options_mut()
        .insert(EdnsOption::Unknown(65001, b"keep".to_vec()));
    m.edns = Some(e);
    let out = minimal_of(m).await;
    assert_eq!(counts(&out), (1, 0, 0));
    assert_eq!(out.answers[0], a("www.example.org."));
    assert!(out.metadata.authoritative, "header untouched");
    let opts = out.edns.expect("OPT kept").options().options.clone();
    assert_eq!(
        opts,
        [(
            EdnsCode::Unknown(65001),
            EdnsOption::Unknown(65001, b"keep".to_vec())
        )]
    );
}

#[tokio::test]
async fn answer_with_soa_in_authority_is_still_positive() {
    let m = reply(
        ResponseCode::NoError,
        vec![a("www.example.org.")],
        vec![soa("example.org.")],
        vec![glue("ns.example.org.")],
    );
    assert_eq!(counts(&minimal_of(m).await), (1, 0, 0));
}

#[tokio::test]
async fn empty_noerror_without_soa_or_ns_is_trimmed_like_coredns() {
    // CoreDNS types NOERROR without answers as NODATA only with a SOA in
    // authority; without one (e.g. whoami's reply) it is a positive reply.
    let m = reply(
        ResponseCode::NoError,
        vec![],
        vec![a("other.example.org.")],
        vec![glue("ns.example.org.")],
    );
    assert_eq!(counts(&minimal_of(m).await), (0, 0, 0));
}

// ---------------------------------------------------------------- left alone

#[tokio::test]
async fn delegation_nodata_nxdomain_and_errors_are_untouched() {
    let cases = [
        (
            "delegation",
            reply(
                ResponseCode::NoError,
                vec![],
                vec![
                    ns("sub.example.org.", "ns1.sub.example.org."),
                    ns("sub.example.org.", "ns2.sub.example.org."),
                ],
                vec![glue("ns1.sub.example.org."), glue("ns2.sub.example.org.")],
            ),
        ),
        (
            "nodata",
            reply(
                ResponseCode::NoError,
                vec![],
                vec![soa("example.org.")],
                vec![glue("ns.example.org.")],
            ),
        ),
        (
            "nxdomain",
            reply(
                ResponseCode::NXDomain,
                vec![],
                vec![soa("example.org.")],
                vec![glue("ns.example.org.")],
            ),
        ),
        (
            "nxdomain with answers",
            reply(
                ResponseCode::NXDomain,
                vec![a("www.example.org.")],
                vec![soa("example.org.")],
                vec![glue("ns.example.org.")],
            ),
        ),
        (
            "servfail",
            reply(
                ResponseCode::ServFail,
                vec![],
                vec![soa("example.org.")],
                vec![glue("ns.example.org.")],
            ),
        ),
        (
            "refused with records",
            reply(
                ResponseCode::Refused,
                vec![a("www.example.org.")],
                vec![ns("example.org.", "ns.example.org.")],
                vec![glue("ns.example.org.")],
            ),
        ),
    ];
    for (what, m) in cases {
        let before = counts(&m);
        assert_eq!(counts(&minimal_of(m).await), before, "{what}");
    }
}

#[tokio::test]
async fn zone_transfers_are_untouched() {
    let m = reply(
        ResponseCode::NoError,
        vec![
            soa("example.org."),
            a("www.example.org."),
            soa("example.org."),
        ],
        vec![],
        vec![glue("ns.example.org.")],
    );
    let out = through_minimal(m, &mut request("example.org.", RecordType::AXFR, false)).await;
    assert_eq!(counts(&out), (3, 0, 1));
}

#[tokio::test]
async fn expired_signatures_are_untouched_for_dnssec_clients() {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as u32;
    // Through the wire and back, so the RRSIG is in whatever form hickory
    // decodes it to (parsed with DNSSEC support, raw without).
    let signed = |inception: u32, expiration: u32| {
        let m = reply(
            ResponseCode::NoError,
            vec![
                a("www.example.org."),
                rrsig("www.example.org.", inception, expiration),
            ],
            vec![ns("example.org.", "ns.example.org.")],
            vec![glue("ns.example.org.")],
        );
        let decoded = Message::from_vec(&m.to_vec().unwrap()).unwrap();
        assert_eq!(decoded.answers[1].record_type(), RecordType::RRSIG);
        decoded
    };
    let expired = || signed(now - 7200, now - 3600);
    let valid = || signed(now - 3600, now + 3600);
    let q = || request("www.example.org.", RecordType::A, true);
    let out = through_minimal(expired(), &mut q()).await;
    assert_eq!(counts(&out), (2, 1, 1), "expired, DO set: kept");
    let out = through_minimal(valid(), &mut q()).await;
    assert_eq!(counts(&out), (2, 0, 0), "valid, DO set: trimmed");
    let out = through_minimal(
        expired(),
        &mut request("www.example.org.", RecordType::A, false),
    )
    .await;
    assert_eq!(counts(&out), (2, 0, 0), "expired, no DO: trimmed");
}

#[test]
fn validity_window_uses_serial_arithmetic() {
    let now = 1_800_000_000_i64;
    let t = |x: i64| x as u32;
    assert!(within(t(now - 10), t(now + 10), now));
    assert!(!within(t(now - 20), t(now - 10), now), "expired");
    assert!(!within(t(now + 10), t(now + 20), now), "not yet valid");
    // Past 2106 the 32-bit fields wrap; the window still works.
    let later = (1_i64 << 32) + 100;
    assert!(within(t(later - 200), t(later + 200), later));
    assert!(!within(t(later - 200), t(later - 150), later));
}

/// A test plugin that writes nothing and leaves the rcode to the server.
#[derive(Debug)]
struct Refuse;

impl Plugin for Refuse {
    const NAME: &'static str = "refuse";

    async fn serve<'a, N: Handler>(&'a self, _req: &'a mut Request, _next: &'a N) -> Outcome {
        Ok(Answer::Rcode(ResponseCode::Refused))
    }
}

#[tokio::test]
async fn errors_and_rcode_answers_pass_through() {
    let chain = Chain::new(Minimal, End);
    let mut req = request("www.example.org.", RecordType::A, false);
    let err = chain.handle(&mut req).await.unwrap_err();
    assert_eq!(err.to_string(), "plugin/minimal: no next plugin found");
    let chain = Chain::new(Minimal, Chain::new(Refuse, End));
    let out = chain.handle(&mut req).await.unwrap();
    assert!(
        matches!(out, Answer::Rcode(ResponseCode::Refused)),
        "{out:?}"
    );
}

// ---------------------------------------------------------------- whole server

#[tokio::test]
async fn through_the_server_whoamis_additional_section_is_dropped() {
    let plain = TestSite::new("example.org {\n whoami\n}");
    let r = plain
        .query(Case::new("example.org.", RecordType::A).edns(1232))
        .await;
    assert_eq!(r.message().additionals.len(), 2, "whoami alone");

    let site = TestSite::new("example.org {\n minimal\n whoami\n}");
    let r = site
        .query(Case::new("example.org.", RecordType::A).edns(1232))
        .await;
    assert_eq!(r.plugin(), Some("whoami"));
    let m = r.message();
    assert_eq!(counts(m), (0, 0, 0));
    assert_eq!(
        m.edns.as_ref().map(|e| e.max_payload()),
        Some(1232),
        "the OPT is not a record: it stays"
    );
}

#[tokio::test]
async fn through_the_server_hosts_answers_keep_their_records() {
    let site = TestSite::new(
        "example.org {\n minimal\n hosts /dev/null {\n  192.0.2.7 www.example.org\n  reload 0\n }\n}",
    );
    let r = site
        .query(Case::new("www.example.org.", RecordType::A))
        .await;
    assert_eq!(r.answers(), ["www.example.org. 3600 IN A 192.0.2.7"]);
}
