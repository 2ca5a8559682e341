use super::format::{Format, class_of, rcode_reply, response_kind};
use super::handler::in_scope;
use super::setup::{
    COMBINED_FORMAT, COMMON_FORMAT, Class, Classes, LogConfig, Rule, expand_format, fqdn,
};
use crate::dns::{
    A, DNSClass, Edns, Message, MessageType, Name, OpCode, Query, RData, Record, RecordType,
    ResponseCode,
};
use crate::plugin::{Parse, Proto, Request};
use crate::testing::{Case, TestSite, load, parse_err};
use corec_compiler::Dispenser;
use hickory_proto::rr::rdata::{NS, SOA};
use std::time::Duration;

// ---------------------------------------------------------------- helpers

/// The class of a reply, as a rule decides whether to log it.
fn classify(reply: Option<&Message>) -> Class {
    class_of(response_kind(reply))
}

/// A query for `name`/`qtype`, ID 4242, RD set, from 127.0.0.1:5353 over UDP.
fn request(name: &str, qtype: RecordType) -> Request {
    let mut m = Message::new(4242, MessageType::Query, OpCode::Query);
    m.metadata.recursion_desired = true;
    m.queries
        .push(Query::query(Name::from_ascii(name).unwrap(), qtype));
    let wire_len = m.to_vec().unwrap().len();
    Request {
        message: m,
        wire_len,
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

/// An authoritative reply to `req` with one A record (192.0.2.1, TTL 300).
fn a_reply(req: &Request) -> Message {
    let mut m = req.reply();
    m.metadata.authoritative = true;
    let a = Record::from_rdata(req.qname().clone(), 300, RData::A(A([192, 0, 2, 1].into())));
    m.answers.push(a);
    m
}

fn soa() -> Record {
    let n = |s: &str| Name::from_ascii(s).unwrap();
    let soa = SOA::new(
        n("ns.example.org."),
        n("admin.example.org."),
        1,
        7200,
        3600,
        1209600,
        300,
    );
    Record::from_rdata(n("example.org."), 300, RData::SOA(soa))
}

fn ns() -> Record {
    let n = |s: &str| Name::from_ascii(s).unwrap();
    Record::from_rdata(
        n("sub.example.org."),
        300,
        RData::NS(NS(n("ns.sub.example.org."))),
    )
}

fn render(format: &str, req: &Request, reply: Option<&Message>, took: Duration) -> String {
    Format::parse(&expand_format(format)).render(req, reply, took)
}

const US_100: Duration = Duration::from_micros(100);

/// The parsed `log` configuration of the first block of `corefile`.
fn config(corefile: &str) -> LogConfig {
    let model = load(corefile);
    assert!(model.is_ok(), "{}", model.render_diagnostics());
    let block = &model.blocks[0];
    let used = block.plugin("log").expect("the block uses log");
    let zones = block.zones();
    LogConfig::parse(&mut Dispenser::new("log", &used.tokens, &zones)).unwrap()
}

fn rule(name: &str, format: &str, classes: &[Class]) -> Rule {
    Rule {
        name: name.into(),
        format: format.into(),
        classes: if classes.is_empty() {
            Classes::ALL
        } else {
            classes.iter().copied().collect()
        },
    }
}

use crate::testing::capture_logs as capture;

// ---------------------------------------------------------------- format

#[test]
fn request_helper_sizes() {
    // 12 header + 13 name (7example 3org 0) + 4 type/class.
    assert_eq!(request("example.org.", RecordType::A).wire_len, 29);
    // The reply adds one A record: 2 (pointer) + 10 + 4 = 16.
    let req = request("example.org.", RecordType::A);
    assert_eq!(a_reply(&req).to_vec().unwrap().len(), 45);
}

#[test]
fn common_format_byte_for_byte() {
    let req = request("example.org.", RecordType::A);
    let reply = a_reply(&req);
    assert_eq!(
        render("{common}", &req, Some(&reply), US_100),
        r#"127.0.0.1:5353 - 4242 "A IN example.org. udp 29 false 512" NOERROR qr,aa,rd 45 0.0001s"#
    );
    assert_eq!(
        render(
            COMMON_FORMAT,
            &req,
            Some(&reply),
            Duration::from_nanos(120_082)
        ),
        r#"127.0.0.1:5353 - 4242 "A IN example.org. udp 29 false 512" NOERROR qr,aa,rd 45 0.000120082s"#
    );
}

#[test]
fn combined_format_adds_the_opcode() {
    let req = request("example.org.", RecordType::A);
    let reply = a_reply(&req);
    assert_eq!(
        render("{combined}", &req, Some(&reply), US_100),
        r#"127.0.0.1:5353 - 4242 "A IN example.org. udp 29 false 512" NOERROR qr,aa,rd 45 0.0001s "0""#
    );
    assert_eq!(
        render(COMBINED_FORMAT, &req, Some(&reply), US_100),
        render("{common} \"{>opcode}\"", &req, Some(&reply), US_100)
    );
}

#[test]
fn shorthands_expand_inside_a_longer_format() {
    let req = request("example.org.", RecordType::A);
    let reply = a_reply(&req);
    assert_eq!(
        render(
            "Q: {common} | {combined} | {name}",
            &req,
            Some(&reply),
            US_100
        ),
        concat!(
            r#"Q: 127.0.0.1:5353 - 4242 "A IN example.org. udp 29 false 512" NOERROR qr,aa,rd 45 0.0001s | "#,
            r#"127.0.0.1:5353 - 4242 "A IN example.org. udp 29 false 512" NOERROR qr,aa,rd 45 0.0001s "0" | example.org."#
        )
    );
}

#[test]
fn ipv6_tcp_edns_do_and_case() {
    let mut req = request("WWW.Example.ORG.", RecordType::AAAA);
    let mut edns = Edns::new();
    edns.set_max_payload(4096);
    edns.set_dnssec_ok(true);
    req.message.edns = Some(edns);
    req.message.metadata.checking_disabled = true;
    req.wire_len = req.message.to_vec().unwrap().len();
    // 12 + 17 (3www 7example 3org 0) + 4 + 11 (OPT).
    assert_eq!(req.wire_len, 44);
    req.client = "[2001:db8::1]:40000".parse().unwrap();
    req.local = "[::1]:53".parse().unwrap();
    req.proto = Proto::Tcp;
    let reply = rcode_reply(&req, ResponseCode::NXDomain);
    // 12 + 21 (question, no OPT: the server adds it later).
    assert_eq!(
        render(
            "{common} {local}",
            &req,
            Some(&reply),
            Duration::from_millis(1500)
        ),
        r#"[2001:db8::1]:40000 - 4242 "AAAA IN www.example.org. tcp 44 true 65535" NXDOMAIN qr,rd,cd 33 1.5s [::1]"#
    );
    // Over UDP the buffer size is the advertised one.
    req.proto = Proto::Udp;
    assert_eq!(render("{proto} {>bufsize}", &req, None, US_100), "udp 4096");
    // An advertised size below 512 counts as 512.
    req.message.edns.as_mut().unwrap().set_max_payload(100);
    assert_eq!(render("{>bufsize}", &req, None, US_100), "512");
}

#[test]
fn every_placeholder() {
    let req = request("example.org.", RecordType::MX);
    let reply = a_reply(&req);
    let format = "{type}|{class}|{name}|{proto}|{size}|{remote}|{port}|{local}|{>id}|{>opcode}|{>do}|{>bufsize}|{rcode}|{>rflags}|{rsize}|{duration}|{/geoip/city}";
    assert_eq!(
        render(format, &req, Some(&reply), Duration::ZERO),
        "MX|IN|example.org.|udp|29|127.0.0.1|5353|127.0.0.1|4242|0|false|512|NOERROR|qr,aa,rd|45|0s|-"
    );
}

#[test]
fn without_a_reply_the_response_fields_are_dashes() {
    let req = request("example.org.", RecordType::A);
    assert_eq!(
        render("{common}", &req, None, US_100),
        r#"127.0.0.1:5353 - 4242 "A IN example.org. udp 29 false 512" - - - 0.0001s"#
    );
}

#[test]
fn rcode_only_replies_are_synthesised() {
    let req = request("example.org.", RecordType::A);
    let reply = rcode_reply(&req, ResponseCode::ServFail);
    // Header and question only: 12 + 17.
    assert_eq!(
        render("{rcode} {>rflags} {rsize}", &req, Some(&reply), US_100),
        "SERVFAIL qr,rd 29"
    );
    let reply = rcode_reply(&req, ResponseCode::Refused);
    assert_eq!(render("{rcode}", &req, Some(&reply), US_100), "REFUSED");
}

#[test]
fn all_flags_in_wire_order() {
    let req = request("example.org.", RecordType::A);
    let mut reply = req.reply();
    let h = &mut reply.metadata;
    (h.authoritative, h.truncation, h.recursion_available) = (true, true, true);
    (h.authentic_data, h.checking_disabled) = (true, true);
    assert_eq!(
        render("{>rflags}", &req, Some(&reply), US_100),
        "qr,aa,tc,rd,ra,ad,cd"
    );
    // A message with no flag set prints nothing.
    let mut bare = Message::new(1, MessageType::Query, OpCode::Query);
    bare.metadata.recursion_desired = false;
    assert_eq!(render("[{>rflags}]", &req, Some(&bare), US_100), "[]");
}

#[test]
fn mnemonics_and_numbers() {
    let mut req = request("example.org.", RecordType::Unknown(65280));
    req.message.queries[0].set_query_class(DNSClass::Unknown(42));
    req.message.metadata.op_code = OpCode::Notify;
    let mut reply = req.reply();
    reply.metadata.response_code = ResponseCode::from_low(12);
    assert_eq!(
        render(
            "{type} {class} {>opcode} {rcode}",
            &req,
            Some(&reply),
            US_100
        ),
        "TYPE65280 CLASS42 4 12"
    );
    let mut req = request("version.bind.", RecordType::TXT);
    req.message.queries[0].set_query_class(DNSClass::CH);
    assert_eq!(render("{type} {class}", &req, None, US_100), "TXT CH");
    // Types the DNS library has no name for still print CoreDNS's mnemonic.
    let req = request("example.org.", RecordType::Unknown(29));
    assert_eq!(render("{type}", &req, None, US_100), "LOC");
    let mut reply = rcode_reply(&req, ResponseCode::NotImp);
    assert_eq!(render("{rcode}", &req, Some(&reply), US_100), "NOTIMP");
    reply.metadata.response_code = ResponseCode::FormErr;
    assert_eq!(render("{rcode}", &req, Some(&reply), US_100), "FORMERR");
}

#[test]
fn durations_print_shortest_seconds() {
    let req = request("example.org.", RecordType::A);
    for (took, want) in [
        (Duration::ZERO, "0s"),
        (Duration::from_nanos(1), "0.000000001s"),
        (Duration::from_nanos(120_082), "0.000120082s"),
        (Duration::from_millis(250), "0.25s"),
        (Duration::from_secs(2), "2s"),
        (Duration::new(61, 5), "61.000000005s"),
    ] {
        assert_eq!(render("{duration}", &req, None, took), want);
    }
}

#[test]
fn unknown_placeholders_and_stray_braces_stay_literal() {
    let req = request("example.org.", RecordType::A);
    let cases = [
        ("{x} {type}", "{x} A"),
        ("{ {name} }", "{ example.org. }"),
        ("a } b {type", "a } b {type"),
        ("}{", "}{"),
        ("{{type}}", "{A}"),
        ("{TYPE}", "{TYPE}"),
        ("{>ID}{>id}", "{>ID}4242"),
        ("{/}", "-"),
        ("no placeholders", "no placeholders"),
        ("", ""),
    ];
    for (format, want) in cases {
        assert_eq!(render(format, &req, None, US_100), want, "{format}");
    }
}

// ---------------------------------------------------------------- classes

#[test]
fn classification() {
    let req = request("example.org.", RecordType::A);
    let answer = a_reply(&req);
    let mut nodata = req.reply();
    nodata.authorities.push(soa());
    let mut nxdomain = rcode_reply(&req, ResponseCode::NXDomain);
    nxdomain.authorities.push(soa());
    let bare_nxdomain = rcode_reply(&req, ResponseCode::NXDomain);
    let mut nxdomain_with_answer = a_reply(&req);
    nxdomain_with_answer.metadata.response_code = ResponseCode::NXDomain;
    let mut delegation = req.reply();
    delegation.authorities.push(ns());
    let empty = req.reply();
    let cases = [
        (Some(&answer), Class::Success),
        (Some(&delegation), Class::Success),
        (Some(&empty), Class::Success),
        (Some(&nodata), Class::Denial),
        (Some(&nxdomain), Class::Denial),
        (Some(&bare_nxdomain), Class::Denial),
        (Some(&nxdomain_with_answer), Class::Error),
        (None, Class::Error),
    ];
    for (i, (reply, want)) in cases.into_iter().enumerate() {
        assert_eq!(classify(reply), want, "case {i}");
    }
    for rc in [
        ResponseCode::ServFail,
        ResponseCode::Refused,
        ResponseCode::NotImp,
        ResponseCode::FormErr,
        ResponseCode::YXDomain,
    ] {
        assert_eq!(
            classify(Some(&rcode_reply(&req, rc))),
            Class::Error,
            "{rc:?}"
        );
    }
    // Transfers, NOTIFY and UPDATE are errors whatever the rcode.
    let axfr = request("example.org.", RecordType::AXFR);
    assert_eq!(classify(Some(&a_reply(&axfr))), Class::Error);
    let mut notify = a_reply(&req);
    notify.metadata.op_code = OpCode::Notify;
    assert_eq!(classify(Some(&notify)), Class::Error);
}

#[test]
fn class_sets() {
    assert!(Classes::ALL.logs(Class::Error));
    let set: Classes = [Class::Denial, Class::Error].into_iter().collect();
    assert!(set.logs(Class::Denial) && set.logs(Class::Error));
    assert!(!set.logs(Class::Success));
    assert!(Classes::default().is_empty());
}

#[test]
fn scopes_match_whole_labels() {
    assert!(in_scope(".", "example.org."));
    assert!(in_scope(".", "."));
    assert!(in_scope("example.org.", "example.org."));
    assert!(in_scope("example.org.", "a.b.example.org."));
    assert!(!in_scope("example.org.", "badexample.org."));
    assert!(!in_scope("example.org.", "org."));
    assert!(!in_scope("example.org.", "a\\.example.org."));
    assert!(in_scope("example.org.", "a\\\\.example.org."));
    assert_eq!(fqdn("Example.ORG"), "example.org.");
    assert_eq!(fqdn("example.org."), "example.org.");
    assert_eq!(fqdn("."), ".");
    assert_eq!(fqdn("a\\."), "a\\..");
}

// ---------------------------------------------------------------- syntax

#[test]
fn parses_names_formats_and_classes() {
    let c = |body: &str| config(&format!(". {{\n{body}\n whoami\n}}"));
    assert_eq!(c(" log").rules, [rule(".", COMMON_FORMAT, &[])]);
    assert_eq!(
        c(" log Example.ORG").rules,
        [rule("example.org.", COMMON_FORMAT, &[])]
    );
    // A single argument is a name even when it looks like a format.
    assert_eq!(
        c(" log {combined}").rules,
        [rule("{combined}.", COMMON_FORMAT, &[])]
    );
    assert_eq!(
        c(" log . {combined}").rules,
        [rule(".", COMBINED_FORMAT, &[])]
    );
    assert_eq!(
        c(" log example.org example.net \"{name} {common}\"").rules,
        [
            rule("example.org.", &format!("{{name}} {COMMON_FORMAT}"), &[]),
            rule("example.net.", &format!("{{name}} {COMMON_FORMAT}"), &[]),
        ]
    );
    // Without a `{` the last argument is one more name.
    assert_eq!(
        c(" log example.org example.net").rules,
        [
            rule("example.org.", COMMON_FORMAT, &[]),
            rule("example.net.", COMMON_FORMAT, &[])
        ]
    );
    // Classes apply to every name of their line, and add up.
    assert_eq!(
        c(" log a.example.org b.example.org {common} {\n class denial\n class error success\n }")
            .rules,
        [
            rule(
                "a.example.org.",
                COMMON_FORMAT,
                &[Class::Denial, Class::Error, Class::Success]
            ),
            rule(
                "b.example.org.",
                COMMON_FORMAT,
                &[Class::Denial, Class::Error, Class::Success]
            ),
        ]
    );
    // Repeated lines make rules in order; a block only affects its line.
    assert_eq!(
        c(" log example.org {\n class all\n }\n log . \"{name}\"").rules,
        [
            rule("example.org.", COMMON_FORMAT, &[Class::All]),
            rule(".", "{name}", &[])
        ]
    );
    assert_eq!(c(" log {\n }").rules, [rule(".", COMMON_FORMAT, &[])]);
}

#[test]
fn parse_errors() {
    let e = parse_err(". {\n log {\n class\n }\n}");
    assert!(
        e.contains("Wrong argument count or unexpected line ending after 'class'"),
        "{e}"
    );
    let e = parse_err(". {\n log {\n class denail\n }\n}");
    assert!(e.contains("plugin/log: invalid Class: denail"), "{e}");
    assert!(e.contains("did you mean 'denial'?"), "{e}");
    assert!(
        e.contains("class accepts: all, success, denial, error"),
        "{e}"
    );
    let e = parse_err(". {\n log {\n classes error\n }\n}");
    assert!(e.contains("unknown property 'classes'"), "{e}");
    assert!(e.contains("did you mean 'class'?"), "{e}");
}

// ---------------------------------------------------------------- queries

#[tokio::test]
async fn logs_through_tracing_and_passes_the_reply_on() {
    let site = TestSite::new(". {\n log\n whoami\n}");
    let (buf, _guard) = capture();
    let r = site.query(Case::new("Example.ORG.", RecordType::A)).await;
    assert_eq!(r.plugin(), Some("whoami"));
    let lines = buf.lines();
    assert_eq!(lines.len(), 1, "{lines:?}");
    // whoami's reply: 29 + A (2 + 10 + 4) + SRV _udp (5 + 2 + 10 + 7) = 69 bytes.
    let prefix =
        r#"[INFO] 127.0.0.1:5353 - 4242 "A IN example.org. udp 29 false 512" NOERROR qr,aa,rd 69 "#;
    let rest = lines[0]
        .strip_prefix(prefix)
        .unwrap_or_else(|| panic!("{}", lines[0]));
    let secs = rest.strip_suffix('s').unwrap().parse::<f64>().unwrap();
    assert!((0.0..10.0).contains(&secs), "{rest}");
}

#[tokio::test]
async fn combined_inside_a_custom_format() {
    let site = TestSite::new(". {\n log . \"Q: {combined} end\"\n whoami\n}");
    let (buf, _guard) = capture();
    site.query(Case::new("example.org.", RecordType::A).tcp())
        .await;
    let line = &buf.lines()[0];
    assert!(
        line.starts_with(r#"[INFO] Q: 127.0.0.1:5353 - 4242 "A IN example.org. tcp 29 false 65535" NOERROR qr,aa,rd 69 "#),
        "{line}"
    );
    assert!(line.ends_with(r#"s "0" end"#), "{line}");
}

#[tokio::test]
async fn the_first_matching_rule_decides() {
    let corefile = ". {\n log example.org \"A {name}\"\n log . \"B {name}\"\n log example.net \"C {name}\"\n whoami\n}";
    let site = TestSite::new(corefile);
    let (buf, _guard) = capture();
    site.query(Case::new("www.example.org.", RecordType::A))
        .await;
    site.query(Case::new("example.net.", RecordType::A)).await;
    site.query(Case::new("badexample.org.", RecordType::A))
        .await;
    assert_eq!(
        buf.lines(),
        [
            "[INFO] A www.example.org.",
            "[INFO] B example.net.",
            "[INFO] B badexample.org."
        ]
    );
}

#[tokio::test]
async fn a_matching_rule_that_filters_the_class_stops_the_search() {
    let corefile = ". {\n log example.org {\n class error\n }\n log . \"B {name}\"\n whoami\n}";
    let site = TestSite::new(corefile);
    let (buf, _guard) = capture();
    site.query(Case::new("www.example.org.", RecordType::A))
        .await;
    site.query(Case::new("example.net.", RecordType::A)).await;
    assert_eq!(buf.lines(), ["[INFO] B example.net."]);
}

#[tokio::test]
async fn one_argument_is_a_name_not_a_format() {
    let site = TestSite::new(". {\n log {combined}\n whoami\n}");
    let (buf, _guard) = capture();
    let r = site.query(Case::new("example.org.", RecordType::A)).await;
    assert_eq!(r.plugin(), Some("whoami"));
    assert!(buf.lines().is_empty(), "{:?}", buf.lines());
}

#[tokio::test]
async fn class_filter_and_chain_errors() {
    // chaos answers CH TXT version.bind; anything else falls off the chain.
    let site = TestSite::new(
        ". {\n log . \"{name} {rcode} {>rflags} {rsize}\" {\n class error\n }\n chaos\n}",
    );
    let (buf, _guard) = capture();
    let ok = site.query(Case::ch_txt("version.bind.")).await;
    assert_eq!(ok.plugin(), Some("chaos"));
    let failed = site.query(Case::new("example.org.", RecordType::A)).await;
    // The error goes on unchanged; the client gets SERVFAIL.
    let e = failed.error.as_ref().expect("the chain failed");
    assert_eq!(e.to_string(), "plugin/chaos: no next plugin found");
    assert_eq!(failed.rcode(), ResponseCode::ServFail);
    assert_eq!(buf.lines(), ["[INFO] example.org. SERVFAIL qr,rd 29"]);
}

#[tokio::test]
async fn success_only() {
    let site = TestSite::new(". {\n log . \"{name} {rcode}\" {\n class success\n }\n chaos\n}");
    let (buf, _guard) = capture();
    site.query(Case::ch_txt("version.bind.")).await;
    site.query(Case::new("example.org.", RecordType::A)).await;
    assert_eq!(buf.lines(), ["[INFO] version.bind. NOERROR"]);
}

#[test]
fn readme_examples_load() {
    let examples: Vec<&str> = include_str!("README.md")
        .split("~~~ corefile\n")
        .skip(1)
        .map(|b| b.split("~~~").next().unwrap())
        .collect();
    assert_eq!(examples.len(), 4);
    for corefile in examples {
        TestSite::new(corefile);
    }
}

/// Behind *log*, whoami still answers in the fast lane, and the line logged
/// for it is the full path's, duration aside.
#[tokio::test]
async fn fast_answers_are_logged_like_full_ones() {
    let site = TestSite::new("example.org:0 {\n log\n whoami\n}");
    for case in [
        Case::new("Example.ORG.", RecordType::A),
        Case::new("www.example.org.", RecordType::AAAA)
            .edns(1232)
            .tcp(),
    ] {
        let (buf, _guard) = capture();
        let (full, fast) = site.both_lanes(&case).await;
        assert_eq!(Some(full), fast, "{case:?}");
        let lines = buf.lines();
        assert_eq!(lines.len(), 2, "one line per lane: {lines:?}");
        let strip = |l: &str| l.rsplit_once(' ').map(|(head, _)| head.to_string());
        assert_eq!(strip(&lines[0]), strip(&lines[1]));
    }
}

// ---------------------------------------------------------------- JSON

/// With `-log-format json` the line is the `msg`, and the format's
/// placeholders are members with their JSON types.
#[tokio::test]
async fn json_lines_carry_the_line_and_its_fields() {
    let site = TestSite::new(". {\n log\n whoami\n}");
    let (buf, _guard) = crate::testing::capture_json_logs();
    site.query(Case::new("Example.ORG.", RecordType::A).edns(1232).dnssec())
        .await;
    let lines = buf.lines();
    assert_eq!(lines.len(), 1, "{lines:?}");
    let v: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
    assert_eq!(v["level"], "INFO");
    assert_eq!(v["plugin"], "log");
    let msg = v["msg"].as_str().unwrap();
    assert!(
        msg.starts_with(
            r#"127.0.0.1:5353 - 4242 "A IN example.org. udp 40 true 1232" NOERROR qr,aa,rd "#
        ),
        "{msg}"
    );
    assert_eq!(v["remote"], "127.0.0.1");
    assert_eq!(v["port"], 5353);
    assert_eq!(v["id"], 4242);
    assert_eq!(v["type"], "A");
    assert_eq!(v["class"], "IN");
    assert_eq!(v["name"], "example.org.");
    assert_eq!(v["proto"], "udp");
    assert_eq!(v["size"], 40);
    assert_eq!(v["do"], true);
    assert_eq!(v["bufsize"], 1232);
    assert_eq!(v["rcode"], "NOERROR");
    assert_eq!(v["rflags"], "qr,aa,rd");
    // The reply's size and the duration agree with the line.
    let rsize = v["rsize"].as_u64().unwrap();
    assert!(msg.contains(&format!(" qr,aa,rd {rsize} ")), "{msg}");
    let secs = v["duration"].as_f64().unwrap();
    assert!(msg.ends_with(&format!(" {secs}s")), "{msg} vs {secs}");
    assert!(v.get("opcode").is_none(), "not in the common format");
}

#[tokio::test]
async fn json_members_follow_a_custom_format() {
    let site = TestSite::new(
        ". {\n log . \"{name} {name} {local} {>opcode} {/meta} \\\"{rcode}\\\"\"\n whoami\n}",
    );
    let (buf, _guard) = crate::testing::capture_json_logs();
    // An escaped dot: the name's presentation has a backslash.
    site.query(Case::new("a\\.b.example.", RecordType::A)).await;
    let lines = buf.lines();
    assert_eq!(lines.len(), 1, "{lines:?}");
    let v: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    let mut want = [
        "ts", "level", "plugin", "msg", "name", "local", "opcode", "rcode",
    ];
    want.sort_unstable();
    let mut keys = keys;
    keys.sort_unstable();
    assert_eq!(keys, want, "each placeholder once, metadata left out");
    assert_eq!(v["name"], "a\\.b.example.");
    assert_eq!(
        v["msg"],
        "a\\.b.example. a\\.b.example. 127.0.0.1 0 - \"NOERROR\""
    );
    assert_eq!(v["opcode"], 0);
}

/// Without a reply, the placeholders the line prints as `-` are null.
#[test]
fn json_members_without_a_reply() {
    let req = request("example.org.", RecordType::A);
    let format = Format::parse(COMMON_FORMAT);
    let entry = super::format::Entry::new(&req, None, US_100);
    let members = format!("{{\"x\":0{}}}", format.members(&entry));
    let v: serde_json::Value = serde_json::from_str(&members).unwrap();
    assert_eq!(v["rcode"], serde_json::Value::Null);
    assert_eq!(v["rflags"], serde_json::Value::Null);
    assert_eq!(v["rsize"], serde_json::Value::Null);
    assert_eq!(v["duration"], 0.0001);
    assert_eq!(v["do"], false);
    assert_eq!(v["bufsize"], 512);
    assert_eq!(
        format.line(&entry),
        r#"127.0.0.1:5353 - 4242 "A IN example.org. udp 29 false 512" - - - 0.0001s"#
    );
}
