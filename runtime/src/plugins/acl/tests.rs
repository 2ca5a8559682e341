use super::setup::{AclConfig, Action, Net, Policy};
use crate::dns::{Message, RecordType, ResponseCode};
use crate::plugin::Parse;
use crate::testing::{Case, TestSite, assert_same, load, parse_err};
use corec_compiler::Dispenser;
use hickory_proto::rr::rdata::opt::{EdnsCode, EdnsOption};

const ZONE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/src/plugins/file/testdata/example.org.zone"
);

// ---------------------------------------------------------------- syntax

fn config(corefile: &str) -> AclConfig {
    let model = load(corefile);
    assert!(model.is_ok(), "{}", model.render_diagnostics());
    let block = &model.blocks[0];
    let used = block.plugin("acl").expect("an acl directive");
    let zones = block.zones();
    AclConfig::parse(&mut Dispenser::new("acl", &used.tokens, &zones)).expect("parses")
}

fn net(text: &str) -> Net {
    Net::parse(text).unwrap()
}

#[test]
fn zones_default_to_the_block_and_can_be_narrowed() {
    let c = config(
        "example.org example.net {\n acl {\n  block\n }\n acl Sub.Example.ORG {\n  allow\n }\n}",
    );
    assert_eq!(c.rules.len(), 2);
    assert_eq!(c.rules[0].zones, ["example.org.", "example.net."]);
    assert_eq!(c.rules[1].zones, ["sub.example.org."]);
    // Everything omitted: every type from everywhere.
    assert_eq!(
        c.rules[0].policies,
        [Policy {
            action: Action::Block,
            qtypes: None,
            nets: None
        }]
    );
    // An acl without a block has no policies: it lets everything through.
    let c = config(". {\n acl\n}");
    assert!(c.rules[0].policies.is_empty());
}

#[test]
fn policies_types_and_nets() {
    let c = config(
        ". {\n acl {\n  ALLOW type A AAAA net 192.168.0.0/16 10.0.0.1 2001:db8::/32 ::1\n  Filter NET 10.0.0.0/8 Type MX\n  drop type * net *\n  block type A type MX net 127.0.0.1 net ::ffff:10.1.0.0/112\n  block type None\n }\n}",
    );
    let p = &c.rules[0].policies;
    assert_eq!(p[0].action, Action::Allow);
    assert_eq!(p[0].qtypes, Some(vec![1, 28]));
    assert_eq!(
        p[0].nets,
        Some(vec![
            net("192.168.0.0/16"),
            net("10.0.0.1/32"),
            net("2001:db8::/32"),
            net("::1/128")
        ])
    );
    assert_eq!(p[1].action, Action::Filter);
    assert_eq!(p[1].qtypes, Some(vec![15]));
    assert_eq!(p[1].nets, Some(vec![net("10.0.0.0/8")]));
    assert_eq!(
        (p[2].action, &p[2].qtypes, &p[2].nets),
        (Action::Drop, &None, &None),
        "`*` means all"
    );
    // Sections repeat and add up; a mapped IPv4 network is an IPv4 one.
    assert_eq!(p[3].qtypes, Some(vec![1, 15]));
    assert_eq!(
        p[3].nets,
        Some(vec![net("127.0.0.1/32"), net("10.1.0.0/16")])
    );
    // `None` is CoreDNS's own "every type".
    assert_eq!(p[4].qtypes, None);
}

#[test]
fn networks_match_by_prefix_and_family() {
    let n = net("10.1.2.3/8");
    assert_eq!(n.addr.to_string(), "10.0.0.0", "host bits are cleared");
    assert!(n.contains("10.200.0.1".parse().unwrap()));
    assert!(!n.contains("11.0.0.1".parse().unwrap()));
    assert!(!n.contains("::a01:203".parse().unwrap()), "an IPv6 address");
    assert!(net("0.0.0.0/0").contains("1.2.3.4".parse().unwrap()));
    assert!(!net("0.0.0.0/0").contains("::1".parse().unwrap()));
    assert!(net("::/0").contains("::1".parse().unwrap()));
    assert!(net("2001:db8::/33").contains("2001:db8:7fff::1".parse().unwrap()));
    assert!(!net("2001:db8::/33").contains("2001:db8:8000::1".parse().unwrap()));
    assert!(net("::1").contains("::1".parse().unwrap()));
    for bad in [
        "10.0.0.0/33",
        "::/129",
        "10.0.0.0/",
        "10.0.0.0/-1",
        "10.0.0.0/+8",
        "10.0.0",
        "example.org",
        "fe80::1%eth0",
    ] {
        assert_eq!(Net::parse(bad), None, "{bad}");
    }
}

#[test]
fn parse_errors() {
    let block = |body: &str| format!(". {{\n acl {{\n  {body}\n }}\n}}");
    for (corefile, want) in [
        (
            block("deny"),
            "plugin/acl: unexpected token \"deny\"; expect 'allow', 'block', 'filter' or 'drop'",
        ),
        (
            block("block nets 10.0.0.0/8"),
            "unexpected token \"nets\"; expect 'type | net'",
        ),
        (
            block("block type"),
            "no token specified in \"type\" section",
        ),
        (
            block("block type A net"),
            "no token specified in \"net\" section",
        ),
        (
            block("block type a"),
            "unexpected token \"a\"; expect legal QTYPE",
        ),
        (
            block("block type A BOGUS"),
            "unexpected token \"BOGUS\"; expect legal QTYPE",
        ),
        (
            block("block net 10.0.0.300"),
            "illegal CIDR notation \"10.0.0.300/32\"",
        ),
        (
            block("block net 2001:db8::g"),
            "illegal CIDR notation \"2001:db8::g/128\"",
        ),
        (
            block("block net 10.0.0.0/40"),
            "illegal CIDR notation \"10.0.0.0/40\"",
        ),
    ] {
        let got = parse_err(&corefile);
        assert!(got.contains(want), "{corefile}\n--- got:\n{got}");
    }
}

// ---------------------------------------------------------------- serving

fn site(acl: &str) -> TestSite {
    TestSite::new(&format!(
        "example.org example.net {{\n{acl}\n file {ZONE} example.org\n whoami\n}}"
    ))
}

fn ede(m: &Message) -> Option<Vec<u8>> {
    match m.edns.as_ref()?.option(EdnsCode::Unknown(15))? {
        EdnsOption::Unknown(15, data) => Some(data.clone()),
        _ => None,
    }
}

#[tokio::test]
async fn block_refuses_with_extended_error_15() {
    let t = site(" acl {\n  block net 127.0.0.0/8\n }");
    let r = t
        .query(Case::new("www.example.org.", RecordType::A).edns(1232))
        .await;
    assert_eq!(r.rcode(), ResponseCode::Refused);
    assert_eq!(r.plugin(), Some("acl"));
    let m = r.message();
    assert!(m.answers.is_empty() && m.authorities.is_empty());
    assert_eq!(m.queries[0].name().to_ascii(), "www.example.org.");
    assert!(m.metadata.recursion_desired, "RD is copied");
    assert!(!m.metadata.authoritative);
    assert_eq!(ede(m), Some(vec![0, 15]));
    // Without EDNS in the query, the reply has none either.
    let r = t.query(Case::new("www.example.org.", RecordType::A)).await;
    assert_eq!(r.rcode(), ResponseCode::Refused);
    assert!(r.message().edns.is_none());
    // Another network is let through.
    let r = t
        .query(Case::new("www.example.org.", RecordType::A).from("192.0.2.1:5353"))
        .await;
    assert_eq!(r.rcode(), ResponseCode::NoError);
    assert_eq!(r.answers(), ["www.example.org. 3600 IN A 192.0.2.10"]);
}

#[tokio::test]
async fn filter_answers_empty_noerror_with_extended_error_17() {
    let t = site(" acl {\n  filter type AAAA\n }");
    let r = t
        .query(Case::new("www.example.org.", RecordType::AAAA).dnssec())
        .await;
    assert_eq!(r.rcode(), ResponseCode::NoError);
    let m = r.message();
    assert!(m.answers.is_empty() && m.authorities.is_empty() && m.additionals.is_empty());
    assert_eq!(ede(m), Some(vec![0, 17]));
    assert!(m.edns.as_ref().unwrap().flags().dnssec_ok, "DO is mirrored");
    let r = t.query(Case::new("www.example.org.", RecordType::A)).await;
    assert_eq!(r.answers(), ["www.example.org. 3600 IN A 192.0.2.10"]);
}

#[tokio::test]
async fn drop_sends_nothing() {
    let t = site(" acl {\n  drop type MX\n }");
    let r = t.query(Case::new("example.org.", RecordType::MX)).await;
    assert!(r.reply.is_none(), "no reply at all");
    assert!(r.error.is_none());
    let r = t.query(Case::new("example.org.", RecordType::NS)).await;
    assert_eq!(r.rcode(), ResponseCode::NoError);
    // The fast lane leaves a dropped query to the full path.
    assert!(!fast_answers(
        &t,
        &Case::new("example.org.", RecordType::MX)
    ));
    assert!(fast_answers(&t, &Case::new("example.org.", RecordType::NS)));
}

/// Does the fast lane answer `case`?
fn fast_answers(t: &TestSite, case: &Case) -> bool {
    let req = case.request();
    let bytes = req.message.to_vec().unwrap();
    let at = *t.site.listeners.keys().next().unwrap();
    let q = crate::wire::WireQuery::parse(&bytes, req.proto, req.client, req.local).unwrap();
    let mut out = Vec::new();
    crate::server::respond::fast(&t.site, &t.site.listeners[&at], &q, &mut out)
}

#[tokio::test]
async fn first_matching_policy_wins_and_allow_ends_all_acls() {
    let t =
        site(" acl {\n  allow net 10.0.0.0/8\n  block\n }\n acl {\n  block net 10.1.0.0/16\n }");
    // Allowed by the first policy: the second acl is not consulted.
    let r = t
        .query(Case::new("www.example.org.", RecordType::A).from("10.1.2.3:1"))
        .await;
    assert_eq!(r.rcode(), ResponseCode::NoError);
    // Not 10/8: the second policy blocks.
    let r = t
        .query(Case::new("www.example.org.", RecordType::A).from("192.0.2.1:1"))
        .await;
    assert_eq!(r.rcode(), ResponseCode::Refused);

    // A policy list with no match falls through to the next acl.
    let t = site(" acl {\n  block net 192.168.0.0/16\n }\n acl {\n  filter\n }");
    let r = t.query(Case::new("www.example.org.", RecordType::A)).await;
    assert_eq!(ede(r.message()), None, "no EDNS asked");
    assert!(r.message().answers.is_empty());
    assert_eq!(r.plugin(), Some("acl"));
}

#[tokio::test]
async fn rules_apply_only_inside_their_zones() {
    let t = site(" acl example.net {\n  block\n }");
    let r = t.query(Case::new("www.example.org.", RecordType::A)).await;
    assert_eq!(r.rcode(), ResponseCode::NoError);
    let r = t.query(Case::new("a.b.example.net.", RecordType::A)).await;
    assert_eq!(r.rcode(), ResponseCode::Refused);
    // Case does not matter.
    let r = t.query(Case::new("A.B.Example.NET.", RecordType::A)).await;
    assert_eq!(r.rcode(), ResponseCode::Refused);
    // Zones are whole labels.
    let t = TestSite::new(". {\n acl example.net {\n  block\n }\n whoami\n}");
    let r = t.query(Case::new("badexample.net.", RecordType::A)).await;
    assert_eq!(r.rcode(), ResponseCode::NoError);
    let r = t.query(Case::new("example.net.", RecordType::A)).await;
    assert_eq!(r.rcode(), ResponseCode::Refused);
}

#[tokio::test]
async fn ipv6_clients_and_types() {
    let t = site(" acl {\n  allow type A net 2001:db8::/32\n  block net ::/0\n }");
    let from6 = |name: &str, t: RecordType| Case::new(name, t).from("[2001:db8::5]:53");
    let r = t.query(from6("www.example.org.", RecordType::A)).await;
    assert_eq!(r.rcode(), ResponseCode::NoError);
    let r = t.query(from6("www.example.org.", RecordType::AAAA)).await;
    assert_eq!(r.rcode(), ResponseCode::Refused, "type not allowed");
    let r = t
        .query(Case::new("www.example.org.", RecordType::A).from("[2001:db9::5]:53"))
        .await;
    assert_eq!(r.rcode(), ResponseCode::Refused);
    // IPv4 clients match no IPv6 network.
    let r = t
        .query(Case::new("www.example.org.", RecordType::AAAA))
        .await;
    assert_eq!(r.rcode(), ResponseCode::NoError);
}

#[tokio::test]
async fn both_lanes_agree() {
    let t = site(
        " acl {\n  block net 127.0.0.2\n  filter type TXT\n }\n acl example.net {\n  block\n }",
    );
    let cases = [
        (Case::new("www.example.org.", RecordType::A), true),
        (
            Case::new("WWW.Example.org.", RecordType::AAAA).edns(1232),
            true,
        ),
        (Case::new("nope.example.org.", RecordType::A).tcp(), true),
        (
            Case::new("www.example.org.", RecordType::A).from("127.0.0.2:1"),
            false,
        ),
        (Case::new("www.example.org.", RecordType::TXT), false),
        (Case::new("www.example.net.", RecordType::A), false),
    ];
    for (case, allowed) in cases {
        let (full, fast) = t.both_lanes(&case).await;
        match fast {
            Some(fast) => {
                assert!(allowed, "{case:?} must not be answered in the fast lane");
                assert_same(&full, &fast, &format!("{case:?}"));
            }
            None => {
                assert!(!allowed, "{case:?} should take the fast lane");
                let m = Message::from_vec(&full).unwrap();
                let refused = m.metadata.response_code == ResponseCode::Refused;
                let filtered =
                    m.answers.is_empty() && m.metadata.response_code == ResponseCode::NoError;
                assert!(refused || filtered, "{case:?}: {m:?}");
            }
        }
    }
}

// ---------------------------------------------------------------- metrics

#[tokio::test]
async fn metrics_count_each_decision_once_with_the_deciding_zone() {
    let t = TestSite::new(
        "m1.acl.test:10541 {\n acl m1.acl.test sub.m1.acl.test {\n  block type A\n  filter type AAAA\n  drop type MX\n }\n acl {\n  allow type TXT\n  block type SRV\n }\n whoami\n}",
    );
    let value = |name: &str, zone: Option<&str>| {
        let mut labels = vec![("server", "dns://:10541"), ("view", "")];
        labels.extend(zone.map(|z| ("zone", z)));
        crate::testing::metric_value(&format!("coredns_acl_{name}_requests_total"), &labels)
    };
    for (name, qtype) in [
        ("a.sub.m1.acl.test.", RecordType::A),
        ("a.m1.acl.test.", RecordType::A),
        ("a.m1.acl.test.", RecordType::AAAA),
        ("a.m1.acl.test.", RecordType::SRV),
    ] {
        // Refusals take the full path only.
        let (_, fast) = t.both_lanes(&Case::new(name, qtype)).await;
        assert!(fast.is_none(), "{name} {qtype}");
    }
    let r = t.query(Case::new("a.m1.acl.test.", RecordType::MX)).await;
    assert!(r.reply.is_none(), "dropped");
    assert_eq!(value("blocked", Some("sub.m1.acl.test.")), 1.0);
    assert_eq!(value("blocked", Some("m1.acl.test.")), 2.0, "both rules");
    assert_eq!(value("filtered", Some("m1.acl.test.")), 1.0);
    assert_eq!(value("dropped", Some("m1.acl.test.")), 1.0);
    assert_eq!(value("allowed", None), 0.0);
    // Let through: by a rule, or by none; once per lane that answers.
    let (_, fast) = t
        .both_lanes(&Case::new("a.m1.acl.test.", RecordType::TXT))
        .await;
    assert!(fast.is_some());
    t.query(Case::new("a.m1.acl.test.", RecordType::NS)).await;
    assert_eq!(value("allowed", None), 3.0);
    assert_eq!(value("blocked", Some("m1.acl.test.")), 2.0);
}

#[tokio::test]
async fn metrics_count_a_query_the_fast_lane_leaves_once() {
    let t = TestSite::new(
        "m2.acl.test:10542 {\n acl {\n  block type MX\n }\n hosts {\n  10.0.0.1 x.m2.acl.test\n }\n}",
    );
    // hosts has no fast lane: acl lets the query through there, hosts
    // declines, and the full path answers it.
    let (_, fast) = t
        .both_lanes(&Case::new("x.m2.acl.test.", RecordType::A))
        .await;
    assert!(fast.is_none());
    let allowed = crate::testing::metric_value(
        "coredns_acl_allowed_requests_total",
        &[("server", "dns://:10542"), ("view", "")],
    );
    assert_eq!(allowed, 1.0);
}
