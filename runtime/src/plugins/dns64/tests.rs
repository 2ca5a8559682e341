use super::handler::embed;
use super::setup::Dns64Config;
use crate::dns::{RecordType, ResponseCode};
use crate::plugin::Parse;
use crate::testing::{Case, TestSite, assert_same, load, parse_err};
use corec_compiler::Dispenser;
use std::net::{Ipv4Addr, Ipv6Addr};

// ---------------------------------------------------------------- syntax

fn config(corefile: &str) -> Dns64Config {
    let model = load(corefile);
    assert!(model.is_ok(), "{}", model.render_diagnostics());
    let used = model.blocks[0].plugin("dns64").expect("a dns64 directive");
    let zones = model.blocks[0].zones();
    Dns64Config::parse(&mut Dispenser::new("dns64", &used.tokens, &zones)).expect("parses")
}

fn v6(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

#[test]
fn defaults_and_options() {
    let c = config(". {\n dns64\n}");
    assert_eq!(
        (c.prefix, c.prefix_len, c.translate_all, c.allow_ipv4),
        (v6("64:ff9b::"), 96, false, false)
    );
    let c = config(". {\n dns64 2001:db8:122::/48\n}");
    assert_eq!((c.prefix, c.prefix_len), (v6("2001:db8:122::"), 48));
    let c = config(". {\n dns64 {\n  prefix 2001:db8::5/32\n  translate_all\n  allow_ipv4\n }\n}");
    assert_eq!(
        (c.prefix, c.prefix_len, c.translate_all, c.allow_ipv4),
        (v6("2001:db8::"), 32, true, true),
        "host bits are cleared"
    );
}

#[test]
fn parse_errors() {
    for (corefile, want) in [
        (
            ". {\n dns64 64:ff9b::\n}",
            "plugin/dns64: invalid CIDR address: 64:ff9b::",
        ),
        (
            ". {\n dns64 nonsense/96\n}",
            "invalid CIDR address: nonsense/96",
        ),
        (
            ". {\n dns64 64:ff9b::/129\n}",
            "invalid CIDR address: 64:ff9b::/129",
        ),
        (
            ". {\n dns64 10.0.0.0/8\n}",
            "invalid netmask 32 IPv6 address: \"10.0.0.0/8\"",
        ),
        (
            ". {\n dns64 64:ff9b::/100\n}",
            "invalid prefix length \"64:ff9b::/100\"",
        ),
        (
            ". {\n dns64 64:ff9b::/24\n}",
            "invalid prefix length \"64:ff00::/24\"",
        ),
        (
            ". {\n dns64 2001:db8::/33\n}",
            "invalid prefix length \"2001:db8::/33\"",
        ),
        (
            ". {\n dns64 64:ff9b::/96 2001:db8::/32\n}",
            "Wrong argument count or unexpected line ending after '2001:db8::/32'",
        ),
        (
            ". {\n dns64 {\n  prefix\n }\n}",
            "Wrong argument count or unexpected line ending after 'prefix'",
        ),
        (
            ". {\n dns64 {\n  translate_al\n }\n}",
            "did you mean 'translate_all'?",
        ),
        (
            ". {\n dns64 {\n  allow_ipv4 yes\n }\n}",
            "unexpected argument 'yes'",
        ),
    ] {
        let got = parse_err(corefile);
        assert!(got.contains(want), "{corefile}\n--- got:\n{got}");
    }
}

#[test]
fn addresses_are_embedded_as_rfc_6052_lays_them_out() {
    let v4 = Ipv4Addr::new(192, 0, 2, 33);
    // RFC 6052 section 2.4, table 1.
    for (prefix, len, want) in [
        ("2001:db8::", 32, "2001:db8:c000:221::"),
        ("2001:db8:100::", 40, "2001:db8:1c0:2:21::"),
        ("2001:db8:122::", 48, "2001:db8:122:c000:2:2100::"),
        ("2001:db8:122:300::", 56, "2001:db8:122:3c0:0:221::"),
        ("2001:db8:122:344::", 64, "2001:db8:122:344:c0:2:2100:0"),
        ("2001:db8:122:344::", 96, "2001:db8:122:344::c000:221"),
        ("64:ff9b::", 96, "64:ff9b::c000:221"),
    ] {
        assert_eq!(embed(v6(prefix), len, v4), v6(want), "{prefix}/{len}");
    }
}

// ---------------------------------------------------------------- serving

const ZONE: &str = "$ORIGIN example.org.
@     3600 IN SOA ns hostmaster 1 7200 3600 1209600 300
@     3600 IN NS  ns
ns    3600 IN A   192.0.2.53
v4    3600 IN A   192.0.2.1
v4    3600 IN A   192.0.2.2
dual  3600 IN A   192.0.2.3
dual  3600 IN AAAA 2001:db8::3
alias 3600 IN CNAME v4
short 30   IN A   192.0.2.4
";

/// A site with `dns64 ...` in front of a file zone; keep the dir alive.
fn site(dns64: &str) -> (tempfile::TempDir, TestSite) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.example.org");
    std::fs::write(&path, ZONE).unwrap();
    let t = TestSite::new(&format!(
        "example.org {{\n {dns64}\n file {}\n}}",
        path.display()
    ));
    (dir, t)
}

fn from_v6(name: &str, qtype: RecordType) -> Case {
    Case::new(name, qtype).from("[2001:db8::99]:5353")
}

#[tokio::test]
async fn aaaa_is_synthesized_for_names_with_only_a_records() {
    let (_d, t) = site("dns64");
    let r = t.query(from_v6("v4.example.org.", RecordType::AAAA)).await;
    assert_eq!(r.rcode(), ResponseCode::NoError);
    assert_eq!(r.plugin(), Some("dns64"));
    // The TTL is capped by the SOA of the empty AAAA reply (its minimum, 300).
    assert_eq!(
        r.answers(),
        [
            "v4.example.org. 300 IN AAAA 64:ff9b::c000:201",
            "v4.example.org. 300 IN AAAA 64:ff9b::c000:202"
        ]
    );
    let m = r.message();
    assert_eq!(
        m.queries[0].query_type(),
        RecordType::AAAA,
        "the question is the client's"
    );
    assert!(!m.metadata.authoritative);
    // A lower A TTL stays.
    let r = t
        .query(from_v6("short.example.org.", RecordType::AAAA))
        .await;
    assert_eq!(
        r.answers(),
        ["short.example.org. 30 IN AAAA 64:ff9b::c000:204"]
    );
}

#[tokio::test]
async fn cname_chains_are_kept_and_their_a_records_translated() {
    let (_d, t) = site("dns64 2001:db8:122::/48");
    let r = t
        .query(from_v6("alias.example.org.", RecordType::AAAA))
        .await;
    assert_eq!(
        r.answers(),
        [
            "alias.example.org. 3600 IN CNAME v4.example.org.",
            "v4.example.org. 300 IN AAAA 2001:db8:122:c000:2:100::",
            "v4.example.org. 300 IN AAAA 2001:db8:122:c000:2:200::"
        ]
    );
}

#[tokio::test]
async fn real_aaaa_records_and_missing_names_are_left_alone() {
    let (_d, t) = site("dns64");
    let r = t
        .query(from_v6("dual.example.org.", RecordType::AAAA))
        .await;
    assert_eq!(r.answers(), ["dual.example.org. 3600 IN AAAA 2001:db8::3"]);
    assert_eq!(r.plugin(), Some("file"));
    let r = t
        .query(from_v6("nope.example.org.", RecordType::AAAA))
        .await;
    assert_eq!(r.rcode(), ResponseCode::NXDomain);
    assert_eq!(r.plugin(), Some("file"));
    // Other types pass untouched.
    let r = t.query(from_v6("v4.example.org.", RecordType::A)).await;
    assert_eq!(r.plugin(), Some("file"));
    assert_eq!(r.answers().len(), 2);
}

#[tokio::test]
async fn translate_all_replaces_real_aaaa_records() {
    let (_d, t) = site("dns64 {\n  translate_all\n }");
    let r = t
        .query(from_v6("dual.example.org.", RecordType::AAAA))
        .await;
    assert_eq!(
        r.answers(),
        ["dual.example.org. 600 IN AAAA 64:ff9b::c000:203"],
        "no SOA in a positive reply: the TTL cap is 600"
    );
    let r = t
        .query(from_v6("nope.example.org.", RecordType::AAAA))
        .await;
    assert_eq!(r.rcode(), ResponseCode::NXDomain);
}

#[tokio::test]
async fn ipv4_clients_only_with_allow_ipv4() {
    let (_d, t) = site("dns64");
    let r = t
        .query(Case::new("v4.example.org.", RecordType::AAAA))
        .await;
    assert!(
        r.answers().is_empty(),
        "an IPv4 client gets the real (empty) answer"
    );
    let r = t
        .query(Case::new("v4.example.org.", RecordType::AAAA).from("[::ffff:192.0.2.7]:53"))
        .await;
    assert!(
        r.answers().is_empty(),
        "an IPv4-mapped client is an IPv4 client"
    );
    let (_d, t) = site("dns64 {\n  allow_ipv4\n }");
    let r = t
        .query(Case::new("v4.example.org.", RecordType::AAAA))
        .await;
    assert_eq!(r.answers().len(), 2);
}

#[tokio::test]
async fn the_fast_lane_leaves_translated_queries_to_the_full_path() {
    let (_d, t) = site("dns64");
    for (case, fast) in [
        (from_v6("v4.example.org.", RecordType::AAAA), false),
        (from_v6("dual.example.org.", RecordType::AAAA), false),
        (from_v6("v4.example.org.", RecordType::A), true),
        (Case::new("v4.example.org.", RecordType::AAAA), true),
        (
            Case::new("dual.example.org.", RecordType::AAAA).edns(1232),
            true,
        ),
    ] {
        let (full, got) = t.both_lanes(&case).await;
        assert_eq!(got.is_some(), fast, "{case:?}");
        if let Some(got) = got {
            assert_same(&full, &got, &format!("{case:?}"));
        }
    }
}

// ---------------------------------------------------------------- metrics

#[tokio::test]
async fn metrics_count_synthesized_answers_only() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.example.org");
    std::fs::write(&path, ZONE).unwrap();
    let t = TestSite::new(&format!(
        "example.org:10643 {{\n dns64\n file {}\n}}",
        path.display()
    ));
    let translated = || {
        crate::testing::metric_value(
            "coredns_dns64_requests_translated_total",
            &[("server", "dns://:10643")],
        )
    };
    for name in ["v4.example.org.", "alias.example.org."] {
        let r = t.query(from_v6(name, RecordType::AAAA)).await;
        assert_eq!(r.plugin(), Some("dns64"), "{name}");
    }
    // Left alone: a real AAAA, a missing name, another type, an IPv4 client.
    t.query(from_v6("dual.example.org.", RecordType::AAAA))
        .await;
    t.query(from_v6("nope.example.org.", RecordType::AAAA))
        .await;
    t.query(from_v6("v4.example.org.", RecordType::A)).await;
    t.query(Case::new("v4.example.org.", RecordType::AAAA))
        .await;
    assert_eq!(translated(), 2.0);
}
