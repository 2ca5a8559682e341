use super::handler::{Place, TTL, classify};
use super::setup::LocalConfig;
use crate::dns::{Name, RData, RecordType, ResponseCode};
use crate::plugin::Parse;
use crate::testing::{Case, TestReply, TestSite, load, parse_err};
use corec_compiler::Dispenser;

// ---------------------------------------------------------------- syntax

/// The parsed configuration of the only `local` in `corefile`.
fn config(corefile: &str) -> LocalConfig {
    let model = load(corefile);
    assert!(model.is_ok(), "{}", model.render_diagnostics());
    let block = &model.blocks[0];
    let used = block.plugin("local").expect("a local directive");
    let zones = block.zones();
    let mut d = Dispenser::new("local", &used.tokens, &zones);
    LocalConfig::parse(&mut d).expect("parses")
}

#[test]
fn parses_valid_forms() {
    for (corefile, prefix) in [
        (". {\n local\n}", true),
        (". {\n local {\n }\n}", true),
        (". {\n local {\n  localhost_prefix on\n }\n}", true),
        (". {\n local {\n  localhost_prefix off\n }\n}", false),
        (
            ". {\n local {\n  localhost_prefix off\n  localhost_prefix on\n }\n}",
            true,
        ),
    ] {
        assert_eq!(
            config(corefile),
            LocalConfig {
                localhost_prefix: prefix
            },
            "{corefile}"
        );
    }
}

#[test]
fn parse_errors() {
    for (corefile, want) in [
        (
            ". {\n local\n local\n}",
            "can only be used once per Server Block",
        ),
        (
            ". {\n local example.org\n}",
            "Wrong argument count or unexpected line ending after 'example.org'",
        ),
        (
            ". {\n local {\n  localhost_prefix\n }\n}",
            "Wrong argument count or unexpected line ending after 'localhost_prefix'",
        ),
        (
            ". {\n local {\n  localhost_prefix on off\n }\n}",
            "Wrong argument count",
        ),
        (
            ". {\n local {\n  localhost_prefix yes\n }\n}",
            "localhost_prefix expects 'on' or 'off', got \"yes\"",
        ),
        (
            ". {\n local {\n  localhost_prefx off\n }\n}",
            "unknown property 'localhost_prefx'",
        ),
    ] {
        let err = parse_err(corefile);
        assert!(err.contains(want), "{corefile}\nwanted {want:?} in:\n{err}");
        assert!(err.contains("plugin/local: "), "{err}");
    }
    // The typo gets a suggestion and the bad value is pointed at.
    let err = parse_err(". {\n local {\n  localhost_prefx off\n }\n}");
    assert!(err.contains("did you mean 'localhost_prefix'?"), "{err}");
    let err = parse_err(". {\n local {\n  localhost_prefix yes\n }\n}");
    assert!(err.contains("Corefile:3:20"), "{err}");
}

#[test]
fn classifies_names() {
    let place = |name: &str, prefix: bool| classify(&Name::from_ascii(name).unwrap(), prefix);
    for (name, want) in [
        ("localhost.", Place::Apex { localhost: true }),
        ("LocalHost.", Place::Apex { localhost: true }),
        ("a.localhost.", Place::Loopback { soa_labels: 1 }),
        ("a.b.LOCALHOST.", Place::Loopback { soa_labels: 1 }),
        ("localhost.localhost.", Place::Loopback { soa_labels: 1 }),
        ("localhost.example.org.", Place::Loopback { soa_labels: 3 }),
        ("0.in-addr.arpa.", Place::Apex { localhost: false }),
        ("127.IN-ADDR.arpa.", Place::Apex { localhost: false }),
        ("255.in-addr.arpa.", Place::Apex { localhost: false }),
        ("1.0.0.127.in-addr.arpa.", Place::LoopbackPtr),
        ("2.0.0.127.in-addr.arpa.", Place::Missing),
        ("0.0.127.in-addr.arpa.", Place::Missing),
        ("x.1.0.0.127.in-addr.arpa.", Place::Missing),
        ("1.0.0.0.in-addr.arpa.", Place::Missing),
        ("255.255.255.255.in-addr.arpa.", Place::Missing),
        // Not ours.
        (".", Place::Elsewhere),
        ("example.org.", Place::Elsewhere),
        ("notlocalhost.", Place::Elsewhere),
        ("localhost.org.", Place::Loopback { soa_labels: 2 }),
        ("x.localhostx.", Place::Elsewhere),
        ("in-addr.arpa.", Place::Elsewhere),
        ("arpa.", Place::Elsewhere),
        ("10.in-addr.arpa.", Place::Elsewhere),
        ("1.0.0.10.in-addr.arpa.", Place::Elsewhere),
        ("127.in-addr.arpa.example.", Place::Elsewhere),
        (
            "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa.",
            Place::Elsewhere,
        ),
    ] {
        assert_eq!(place(name, true), want, "{name}");
    }
    // Without the prefix, only names under `localhost.` are loopback names.
    assert_eq!(place("localhost.example.org.", false), Place::Elsewhere);
    assert_eq!(place("localhost.org.", false), Place::Elsewhere);
    assert_eq!(
        place("a.localhost.", false),
        Place::Loopback { soa_labels: 1 }
    );
    assert_eq!(place("localhost.", false), Place::Apex { localhost: true });
}

// ---------------------------------------------------------------- serving

/// Queries take it shared; the metrics test, which reads a process-wide
/// counter only local's tests touch, takes it alone.
static COUNTING: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

async fn ask(site: &TestSite, name: &str, qtype: RecordType) -> TestReply {
    let _shared = COUNTING.read().await;
    site.query(Case::new(name, qtype)).await
}

/// Asserts an authoritative reply written by *local* with `rcode`.
fn assert_local(r: &TestReply, rcode: ResponseCode) {
    assert_eq!(r.written_by, Some("local"), "{r:?}");
    assert_eq!(r.rcode(), rcode, "{r:?}");
    assert!(r.message().metadata.authoritative, "{r:?}");
}

/// The authority section in presentation form.
fn authority(r: &TestReply) -> Vec<String> {
    r.message()
        .authorities
        .iter()
        .map(|a| a.to_string())
        .collect()
}

fn soa(owner: &str) -> String {
    format!("{owner} {TTL} IN SOA localhost. root.localhost. 1 0 0 0 {TTL}")
}

fn site() -> TestSite {
    TestSite::new(". {\n local\n whoami\n}")
}

#[tokio::test]
async fn localhost_addresses() {
    let site = site();
    let r = ask(&site, "localhost.", RecordType::A).await;
    assert_local(&r, ResponseCode::NoError);
    assert_eq!(r.answers(), ["localhost. 604800 IN A 127.0.0.1"]);
    assert!(authority(&r).is_empty());
    let r = ask(&site, "LocalHost.", RecordType::AAAA).await;
    assert_local(&r, ResponseCode::NoError);
    assert_eq!(r.answers(), ["LocalHost. 604800 IN AAAA ::1"]);
}

#[tokio::test]
async fn localhost_apex_soa_ns_and_nodata() {
    let site = site();
    let r = ask(&site, "localhost.", RecordType::SOA).await;
    assert_local(&r, ResponseCode::NoError);
    assert_eq!(r.answers(), [soa("localhost.")]);
    let r = ask(&site, "localhost.", RecordType::NS).await;
    assert_local(&r, ResponseCode::NoError);
    assert_eq!(r.answers(), ["localhost. 604800 IN NS localhost."]);
    for qtype in [RecordType::MX, RecordType::TXT, RecordType::PTR] {
        let r = ask(&site, "localhost.", qtype).await;
        assert_local(&r, ResponseCode::NoError);
        assert!(r.message().answers.is_empty(), "{qtype}");
        assert_eq!(authority(&r), [soa("localhost.")], "{qtype}");
    }
}

#[tokio::test]
async fn names_below_localhost() {
    let site = site();
    let r = ask(&site, "App.Localhost.", RecordType::A).await;
    assert_local(&r, ResponseCode::NoError);
    assert_eq!(r.answers(), ["App.Localhost. 604800 IN A 127.0.0.1"]);
    let r = ask(&site, "a.b.localhost.", RecordType::AAAA).await;
    assert_local(&r, ResponseCode::NoError);
    assert_eq!(r.answers(), ["a.b.localhost. 604800 IN AAAA ::1"]);
    // Other types: NODATA, SOA owned by the zone (case as asked).
    let r = ask(&site, "a.b.LOCALHOST.", RecordType::MX).await;
    assert_local(&r, ResponseCode::NoError);
    assert!(r.message().answers.is_empty());
    assert_eq!(authority(&r), [soa("LOCALHOST.")]);
    let r = ask(&site, "a.localhost.", RecordType::SOA).await;
    assert_local(&r, ResponseCode::NoError);
    assert!(r.message().answers.is_empty());
    assert_eq!(authority(&r), [soa("localhost.")]);
}

#[tokio::test]
async fn legacy_prefix_is_on_by_default() {
    let site = site();
    let r = ask(&site, "localhost.example.net.", RecordType::A).await;
    assert_local(&r, ResponseCode::NoError);
    assert_eq!(
        r.answers(),
        ["localhost.example.net. 604800 IN A 127.0.0.1"]
    );
    let r = ask(&site, "LOCALHOST.example.net.", RecordType::AAAA).await;
    assert_local(&r, ResponseCode::NoError);
    assert_eq!(r.answers(), ["LOCALHOST.example.net. 604800 IN AAAA ::1"]);
    let r = ask(&site, "localhost.example.net.", RecordType::TXT).await;
    assert_local(&r, ResponseCode::NoError);
    assert!(r.message().answers.is_empty());
    assert_eq!(authority(&r), [soa("localhost.example.net.")]);
    // A name merely containing `localhost` is not local.
    let r = ask(&site, "www.localhost.example.net.", RecordType::A).await;
    assert_eq!(r.written_by, Some("whoami"));
}

#[tokio::test]
async fn legacy_prefix_off_passes_to_the_next_plugin() {
    let site = TestSite::new(
        "example.org localhost {\n local {\n  localhost_prefix off\n }\n hosts /nonexistent/corec-local-test {\n  10.0.0.1 localhost.example.org\n }\n}",
    );
    let r = ask(&site, "localhost.example.org.", RecordType::A).await;
    assert_eq!(r.written_by, Some("hosts"));
    assert_eq!(r.answers(), ["localhost.example.org. 3600 IN A 10.0.0.1"]);
    // Names under `localhost.` are still local.
    let r = ask(&site, "x.localhost.", RecordType::A).await;
    assert_local(&r, ResponseCode::NoError);
    assert_eq!(r.answers(), ["x.localhost. 604800 IN A 127.0.0.1"]);
}

#[tokio::test]
async fn loopback_ptr() {
    let site = site();
    let r = ask(&site, "1.0.0.127.in-addr.arpa.", RecordType::PTR).await;
    assert_local(&r, ResponseCode::NoError);
    assert_eq!(
        r.answers(),
        ["1.0.0.127.in-addr.arpa. 604800 IN PTR localhost."]
    );
    assert!(authority(&r).is_empty());
    // Other types at that name: NODATA with the zone's SOA.
    let r = ask(&site, "1.0.0.127.IN-ADDR.ARPA.", RecordType::A).await;
    assert_local(&r, ResponseCode::NoError);
    assert!(r.message().answers.is_empty());
    assert_eq!(authority(&r), [soa("127.IN-ADDR.ARPA.")]);
}

#[tokio::test]
async fn reverse_zones() {
    let site = site();
    for zone in ["0.in-addr.arpa.", "127.in-addr.arpa.", "255.in-addr.arpa."] {
        // Apex: NODATA for addresses, SOA and NS answered.
        let r = ask(&site, zone, RecordType::A).await;
        assert_local(&r, ResponseCode::NoError);
        assert!(r.message().answers.is_empty(), "{zone}");
        assert_eq!(authority(&r), [soa(zone)]);
        let r = ask(&site, zone, RecordType::SOA).await;
        assert_local(&r, ResponseCode::NoError);
        assert_eq!(r.answers(), [soa(zone)]);
        let r = ask(&site, zone, RecordType::NS).await;
        assert_local(&r, ResponseCode::NoError);
        assert!(
            matches!(&r.message().answers[0].data, RData::NS(ns) if ns.0.to_ascii() == "localhost.")
        );
        // Any other name: NXDOMAIN with the zone's SOA.
        let name = format!("2.0.0.{zone}");
        let r = ask(&site, &name, RecordType::PTR).await;
        assert_local(&r, ResponseCode::NXDomain);
        assert!(r.message().answers.is_empty(), "{name}");
        assert_eq!(authority(&r), [soa(zone)], "{name}");
    }
    let r = ask(&site, "9.9.255.in-addr.arpa.", RecordType::A).await;
    assert_local(&r, ResponseCode::NXDomain);
    assert_eq!(authority(&r), [soa("255.in-addr.arpa.")]);
}

#[tokio::test]
async fn other_names_go_to_the_next_plugin() {
    let site = site();
    for (name, qtype) in [
        ("example.org.", RecordType::A),
        ("1.0.0.10.in-addr.arpa.", RecordType::PTR),
        ("in-addr.arpa.", RecordType::SOA),
        (
            "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa.",
            RecordType::PTR,
        ),
        ("localhostx.", RecordType::A),
    ] {
        let r = ask(&site, name, qtype).await;
        assert_eq!(r.written_by, Some("whoami"), "{name}");
    }
}

#[tokio::test]
async fn readme_examples_load() {
    let readme = include_str!("README.md");
    let mut found = 0;
    for block in readme.split("~~~ corefile\n").skip(1) {
        let corefile = block.split("~~~").next().unwrap();
        let _site = TestSite::new(corefile);
        found += 1;
    }
    assert_eq!(found, 2);
}

#[tokio::test]
async fn metrics_count_names_below_localhost_and_the_legacy_prefix() {
    let _alone = COUNTING.write().await;
    let value = || crate::testing::metric_value("coredns_local_localhost_requests_total", &[]);
    let before = value();
    let site = site();
    for (name, qtype) in [
        ("app.localhost.", RecordType::A),
        ("a.b.localhost.", RecordType::MX),
        ("localhost.example.net.", RecordType::AAAA),
    ] {
        let r = site.query(Case::new(name, qtype)).await;
        assert_local(&r, ResponseCode::NoError);
    }
    // Not counted: the apex, the reverse zones, other names.
    for (name, qtype) in [
        ("localhost.", RecordType::A),
        ("1.0.0.127.in-addr.arpa.", RecordType::PTR),
        ("www.localhost.example.net.", RecordType::A),
    ] {
        site.query(Case::new(name, qtype)).await;
    }
    assert_eq!(value() - before, 3.0);
}
