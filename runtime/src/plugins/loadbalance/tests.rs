use super::handler::{Loadbalance, Weights, prefer, round_robin, weighted};
use super::setup::{Cidr, DEFAULT_RELOAD, LoadbalanceConfig, Policy, WeightedConfig};
use crate::chain::{Chain, End};
use crate::dns::{A, AAAA, Name, RData, Record, RecordType, ResponseCode, TXT};
use crate::plugin::{Answer, Handler, Outcome, Parse, Plugin, Request};
use crate::testing::{Case, TestReply, TestSite, load, parse_err};
use corec_compiler::Dispenser;
use hickory_proto::rr::rdata::{CNAME, MX};
use rand::SeedableRng;
use rand::rngs::StdRng;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::net::IpAddr;
use std::path::Path;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------- syntax

/// The parsed configuration of the `loadbalance` lines in `body`, written
/// inside a `.` block.
fn config(body: &str) -> LoadbalanceConfig {
    let corefile = format!(". {{\n{body}\n}}");
    let model = load(&corefile);
    assert!(model.is_ok(), "{}", model.render_diagnostics());
    let block = &model.blocks[0];
    let used = block
        .plugin("loadbalance")
        .expect("a loadbalance directive");
    let zones = block.zones();
    let mut d = Dispenser::new("loadbalance", &used.tokens, &zones);
    LoadbalanceConfig::parse(&mut d).expect("parses")
}

fn weighted_file(cfg: &LoadbalanceConfig) -> Option<(&str, Duration)> {
    match &cfg.policy {
        Policy::RoundRobin => None,
        Policy::Weighted(WeightedConfig { file, reload, .. }) => Some((file, *reload)),
    }
}

fn cidrs(list: &[&str]) -> Vec<Cidr> {
    list.iter().map(|c| c.parse().unwrap()).collect()
}

#[test]
fn parses_policies() {
    for body in [
        "loadbalance",
        "loadbalance round_robin",
        "loadbalance {\n }",
    ] {
        assert_eq!(config(body), LoadbalanceConfig::default(), "{body}");
        assert_eq!(config(body).policy, Policy::RoundRobin);
    }
    for (body, file, reload) in [
        ("loadbalance weighted wfile", "wfile", DEFAULT_RELOAD),
        (
            "loadbalance weighted wf {\n reload 10s\n }",
            "wf",
            Duration::from_secs(10),
        ),
        (
            "loadbalance weighted wf {\n reload 0s\n }",
            "wf",
            Duration::ZERO,
        ),
        (
            "loadbalance weighted wf {\n reload 0\n }",
            "wf",
            Duration::ZERO,
        ),
        (
            "loadbalance weighted /etc/w {\n reload 1m30s\n }",
            "/etc/w",
            Duration::from_secs(90),
        ),
        // A later occurrence replaces an earlier policy.
        (
            "loadbalance round_robin\n loadbalance weighted wf",
            "wf",
            DEFAULT_RELOAD,
        ),
    ] {
        assert_eq!(weighted_file(&config(body)), Some((file, reload)), "{body}");
    }
    assert_eq!(DEFAULT_RELOAD, Duration::from_secs(30));
    assert_eq!(
        config("loadbalance weighted wf\n loadbalance round_robin").policy,
        Policy::RoundRobin
    );
}

#[test]
fn parses_prefer() {
    let c = config(
        "loadbalance round_robin {\n prefer 10.9.20.0/24 192.168.1.7/24\n prefer fd00::1/8\n }",
    );
    assert_eq!(c.policy, Policy::RoundRobin);
    assert_eq!(
        c.prefer,
        cidrs(&["10.9.20.0/24", "192.168.1.0/24", "fd00::/8"])
    );
    let shown: Vec<String> = c.prefer.iter().map(|c| c.to_string()).collect();
    assert_eq!(shown, ["10.9.20.0/24", "192.168.1.0/24", "fd00::/8"]);
    // With weighted too, and across occurrences.
    let c = config(
        "loadbalance weighted wf {\n reload 5s\n prefer 10.0.0.0/8\n }\n loadbalance weighted wf2 {\n prefer 192.168.0.0/16\n }",
    );
    assert_eq!(weighted_file(&c), Some(("wf2", DEFAULT_RELOAD)));
    assert_eq!(c.prefer, cidrs(&["10.0.0.0/8", "192.168.0.0/16"]));
    // A bare prefer is accepted, as in CoreDNS, and prefers nothing.
    assert!(config("loadbalance {\n prefer\n }").prefer.is_empty());
}

#[test]
fn parse_errors() {
    for (body, want) in [
        ("loadbalance fleeb", "unknown policy: fleeb"),
        ("loadbalance\n loadbalance fleeb", "unknown policy: fleeb"),
        (
            "loadbalance round_robin a",
            "unknown property for round_robin",
        ),
        ("loadbalance weighted", "missing weight file argument"),
        ("loadbalance weighted a b", "unexpected argument(s)"),
        (
            "loadbalance weighted wfile {\n susu\n }",
            "unknown property 'susu'",
        ),
        ("loadbalance {\n reloda 5s\n }", "did you mean 'reload'?"),
        (
            "loadbalance weighted wfile {\n reload\n }",
            "reload duration value is missing",
        ),
        (
            "loadbalance weighted wfile {\n reload a\n }",
            "invalid reload duration 'a'",
        ),
        (
            "loadbalance weighted wfile {\n reload 5\n }",
            "invalid reload duration '5'",
        ),
        (
            "loadbalance weighted wfile {\n reload 30s a\n }",
            "unexpected argument",
        ),
        (
            "loadbalance weighted wfile {\n reload -5s\n }",
            "invalid negative reload duration '-5s'",
        ),
        (
            "loadbalance {\n reload 5s\n }",
            "reload is only valid with the weighted policy",
        ),
        (
            "loadbalance round_robin {\n reload 5s\n }",
            "reload is only valid with the weighted policy",
        ),
        (
            "loadbalance {\n prefer 10.0.0.0/8 10.0.0.0/33\n }",
            "invalid CIDR \"10.0.0.0/33\": invalid CIDR address: 10.0.0.0/33",
        ),
        (
            "loadbalance {\n prefer 10.0.0.0\n }",
            "invalid CIDR \"10.0.0.0\": invalid CIDR address: 10.0.0.0",
        ),
        (
            "loadbalance {\n prefer example.org/8\n }",
            "invalid CIDR \"example.org/8\"",
        ),
        (
            "loadbalance {\n prefer fd00::/129\n }",
            "invalid CIDR \"fd00::/129\"",
        ),
        (
            "loadbalance {\n prefer 10.0.0.0/x\n }",
            "invalid CIDR \"10.0.0.0/x\"",
        ),
    ] {
        let corefile = format!(". {{\n {body}\n}}");
        let err = parse_err(&corefile);
        assert!(err.contains(want), "{corefile}\nwanted {want:?} in:\n{err}");
        assert!(err.contains("plugin/loadbalance: "), "{err}");
    }
    // Errors point at the offending token.
    let err = parse_err(". {\n loadbalance {\n  prefer 10.0.0.0/8 bad\n }\n}");
    assert!(err.contains("Corefile:3:21"), "{err}");
    let err = parse_err(". {\n loadbalance weighted a b\n}");
    assert!(err.contains("Corefile:2:25"), "{err}");
}

#[test]
fn cidrs_parse_mask_and_match() {
    for bad in [
        "",
        "10.0.0.0",
        "/8",
        "10.0.0.0/",
        "10.0.0.0/-1",
        "10.0.0.0/+8",
        "10.0.0.0/08",
        "10.0.0.0/1000",
        "10.0.0/8",
        "010.0.0.0/8",
        "fe80::1%eth0/64",
        "::/129",
    ] {
        assert!(bad.parse::<Cidr>().is_err(), "{bad:?}");
    }
    let c: Cidr = "10.9.20.77/24".parse().unwrap();
    assert_eq!(c.network(), "10.9.20.0".parse::<IpAddr>().unwrap());
    assert_eq!(c.bits(), 24);
    let ip = |s: &str| s.parse::<IpAddr>().unwrap();
    assert!(c.contains(ip("10.9.20.1")));
    assert!(c.contains(ip("10.9.20.255")));
    assert!(!c.contains(ip("10.9.21.1")));
    assert!(c.contains(ip("::ffff:10.9.20.3")));
    assert!(!c.contains(ip("fd00::1")));
    let all: Cidr = "0.0.0.0/0".parse().unwrap();
    assert!(all.contains(ip("203.0.113.9")));
    assert!(!all.contains(ip("2001:db8::1")));
    let host: Cidr = "192.0.2.1/32".parse().unwrap();
    assert!(host.contains(ip("192.0.2.1")));
    assert!(!host.contains(ip("192.0.2.2")));
    let v6: Cidr = "2001:db8:1::ff/48".parse().unwrap();
    assert_eq!(v6.to_string(), "2001:db8:1::/48");
    assert!(v6.contains(ip("2001:db8:1:ffff::1")));
    assert!(!v6.contains(ip("2001:db8:2::1")));
    assert!(!v6.contains(ip("10.0.0.1")));
    let any6: Cidr = "::/0".parse().unwrap();
    assert!(any6.contains(ip("fd00::1")));
    let host6: Cidr = "fd00::1/128".parse().unwrap();
    assert!(host6.contains(ip("fd00::1")) && !host6.contains(ip("fd00::2")));
}

// ---------------------------------------------------------------- weight files

fn name(s: &str) -> Name {
    Name::from_ascii(s).unwrap()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn weight_file_parses() {
    let w = Weights::parse(
        "# comment\n\n  www.Example.org\n192.0.2.1 3\n\t192.0.2.2   255 \n2001:db8::1 7\n::ffff:192.0.2.9 9\n\
         api.example.org.\n  # indented comment\n192.0.2.1 5\nwww.example.org\n192.0.2.3 2\n192.0.2.1 4\r\n",
        "wf",
    )
    .unwrap();
    assert_eq!(w.len(), 2);
    let www = name("WWW.example.ORG.");
    assert_eq!(w.weight(&www, ip("192.0.2.1")), 3);
    assert_eq!(w.weight(&www, ip("192.0.2.2")), 255);
    assert_eq!(w.weight(&www, ip("2001:db8::1")), 7);
    // A repeated name adds to its list; the first weight of an address wins.
    assert_eq!(w.weight(&www, ip("192.0.2.3")), 2);
    // IPv4-mapped addresses are IPv4 addresses, in the file and in records.
    assert_eq!(w.weight(&www, ip("192.0.2.9")), 9);
    assert_eq!(w.weight(&www, ip("::ffff:192.0.2.1")), 3);
    // Unlisted addresses and names weigh 1.
    assert_eq!(w.weight(&www, ip("192.0.2.4")), 1);
    assert_eq!(w.weight(&name("api.example.org."), ip("192.0.2.1")), 5);
    assert_eq!(w.weight(&name("other.example.org."), ip("192.0.2.1")), 1);
    assert_eq!(Weights::parse("", "wf").unwrap().len(), 0);
}

#[test]
fn weight_file_errors() {
    for (text, want) in [
        (
            "www.example.org\n192.0.2.1\n",
            "wrong domain name:\"192.0.2.1\" (maybe a missing weight value?) in weight file wf (line 2)",
        ),
        (
            "www.example.org\n192.0.2.300 3\n",
            "wrong IP address:\"192.0.2.300\" in weight file wf (line 2)",
        ),
        ("www.example.org\n192.0.2.1 0\n", "wrong weight value:\"0\""),
        (
            "www.example.org\n192.0.2.1 256\n",
            "wrong weight value:\"256\"",
        ),
        (
            "www.example.org\n192.0.2.1 -1\n",
            "wrong weight value:\"-1\"",
        ),
        (
            "www.example.org\n192.0.2.1 +3\n",
            "wrong weight value:\"+3\"",
        ),
        ("www.example.org\n192.0.2.1 x\n", "wrong weight value:\"x\""),
        (
            "# no name yet\n192.0.2.1 3\n",
            "missing domain name in weight file wf (line 2)",
        ),
        (
            "www.example.org\n192.0.2.1 3 # why\n",
            "could not parse weight line:\"192.0.2.1 3 # why\" in weight file wf (line 2)",
        ),
        (
            "a..b\n",
            "wrong domain name:\"a..b\" in weight file wf (line 1)",
        ),
    ] {
        let err = Weights::parse(text, "wf").unwrap_err();
        assert!(err.contains(want), "{text:?}\nwanted {want:?} in {err:?}");
    }
}

// ---------------------------------------------------------------- ordering functions

fn a(owner: &str, addr: &str) -> Record {
    Record::from_rdata(name(owner), 60, RData::A(A(addr.parse().unwrap())))
}

fn aaaa(owner: &str, addr: &str) -> Record {
    Record::from_rdata(name(owner), 60, RData::AAAA(AAAA(addr.parse().unwrap())))
}

fn cname(owner: &str, target: &str) -> Record {
    Record::from_rdata(name(owner), 60, RData::CNAME(CNAME(name(target))))
}

fn mx(owner: &str, pref: u16, host: &str) -> Record {
    Record::from_rdata(name(owner), 60, RData::MX(MX::new(pref, name(host))))
}

fn txt(owner: &str, text: &str) -> Record {
    Record::from_rdata(
        name(owner),
        60,
        RData::TXT(TXT::new(vec![text.to_string()])),
    )
}

/// Record data in order, e.g. `["10.0.0.1", "10 mx.example.org."]`.
fn order(rrs: &[Record]) -> Vec<String> {
    rrs.iter().map(|r| r.data.to_string()).collect()
}

fn sorted(rrs: &[Record]) -> Vec<String> {
    let mut v: Vec<String> = rrs.iter().map(|r| r.to_string()).collect();
    v.sort();
    v
}

/// A mixed section: two MX, a TXT, three addresses and a CNAME, out of order.
fn mixed() -> Vec<Record> {
    vec![
        mx("www.example.org.", 10, "mx1.example.org."),
        a("web.example.org.", "192.0.2.1"),
        txt("www.example.org.", "hello"),
        aaaa("web.example.org.", "2001:db8::1"),
        cname("www.example.org.", "web.example.org."),
        a("web.example.org.", "192.0.2.2"),
        mx("www.example.org.", 20, "mx2.example.org."),
    ]
}

#[test]
fn round_robin_groups_a_mixed_section_and_shuffles_inside_the_groups() {
    let rng = &mut StdRng::seed_from_u64(7);
    let original = mixed();
    let mut addr_orders = HashSet::new();
    let mut mx_orders = HashSet::new();
    for _ in 0..200 {
        let mut rrs = mixed();
        round_robin(&mut rrs, rng);
        assert_eq!(sorted(&rrs), sorted(&original));
        let types: Vec<RecordType> = rrs.iter().map(Record::record_type).collect();
        assert_eq!(types[0], RecordType::CNAME);
        assert_eq!(types[1], RecordType::TXT);
        assert!(
            types[2..5]
                .iter()
                .all(|t| matches!(t, RecordType::A | RecordType::AAAA))
        );
        assert_eq!(&types[5..], [RecordType::MX, RecordType::MX]);
        addr_orders.insert(order(&rrs[2..5]));
        mx_orders.insert(order(&rrs[5..]));
    }
    assert_eq!(addr_orders.len(), 6, "{addr_orders:?}");
    assert_eq!(mx_orders.len(), 2, "{mx_orders:?}");
}

#[test]
fn round_robin_shuffles_an_address_only_section_uniformly() {
    let rng = &mut StdRng::seed_from_u64(11);
    let make = || -> Vec<Record> {
        (1..=4)
            .map(|i| a("www.example.org.", &format!("192.0.2.{i}")))
            .collect()
    };
    let mut first = BTreeMap::<String, u32>::new();
    let mut orders = HashSet::new();
    for _ in 0..400 {
        let mut rrs = make();
        round_robin(&mut rrs, rng);
        assert_eq!(sorted(&rrs), sorted(&make()));
        *first.entry(rrs[0].data.to_string()).or_default() += 1;
        orders.insert(order(&rrs));
    }
    // 24 orders possible; each address comes first about 100 times.
    assert!(orders.len() > 12, "{orders:?}");
    assert_eq!(first.len(), 4);
    assert!(
        first.values().all(|&n| (50..=150).contains(&n)),
        "{first:?}"
    );
}

#[test]
fn round_robin_leaves_sections_without_addresses_or_mx_in_order() {
    let rng = &mut StdRng::seed_from_u64(3);
    for _ in 0..20 {
        let mut rrs = vec![
            txt("a.example.org.", "1"),
            cname("b.example.org.", "c.example.org."),
            txt("a.example.org.", "2"),
            txt("a.example.org.", "3"),
        ];
        round_robin(&mut rrs, rng);
        assert_eq!(order(&rrs), ["c.example.org.", "1", "2", "3"]);
    }
    let mut one = vec![mx("a.example.org.", 1, "m.example.org.")];
    round_robin(&mut one, rng);
    assert_eq!(one.len(), 1);
}

#[test]
fn weighted_moves_a_weighted_pick_to_the_top() {
    let rng = &mut StdRng::seed_from_u64(5);
    let w = Weights::parse("web.example.org\n192.0.2.1 8\n192.0.2.2 1\n", "wf").unwrap();
    let mut first = BTreeMap::<String, u32>::new();
    for _ in 0..500 {
        let mut rrs = mixed();
        weighted(&mut rrs, &w, rng);
        assert_eq!(sorted(&rrs), sorted(&mixed()));
        // Grouped as round robin groups, but MX records keep their order.
        assert_eq!(rrs[0].record_type(), RecordType::CNAME);
        assert_eq!(rrs[1].record_type(), RecordType::TXT);
        assert_eq!(
            order(&rrs[5..]),
            ["10 mx1.example.org.", "20 mx2.example.org."]
        );
        // The pick is swapped with the first address; the rest keep order.
        let top = rrs[2].data.to_string();
        let rest = order(&rrs[3..5]);
        let want_rest: Vec<&str> = match top.as_str() {
            "192.0.2.1" => vec!["2001:db8::1", "192.0.2.2"],
            "2001:db8::1" => vec!["192.0.2.1", "192.0.2.2"],
            "192.0.2.2" => vec!["2001:db8::1", "192.0.2.1"],
            other => panic!("unexpected top {other}"),
        };
        assert_eq!(rest, want_rest);
        *first.entry(top).or_default() += 1;
    }
    // Weights 8 : 1 (unlisted AAAA) : 1, so about 400 : 50 : 50.
    assert!((320..=470).contains(&first["192.0.2.1"]), "{first:?}");
    assert!((15..=100).contains(&first["192.0.2.2"]), "{first:?}");
    assert!((15..=100).contains(&first["2001:db8::1"]), "{first:?}");
}

#[test]
fn weighted_leaves_a_section_without_addresses_alone() {
    let rng = &mut StdRng::seed_from_u64(1);
    let w = Weights::default();
    let mut rrs = vec![
        mx("a.example.org.", 2, "m2.example.org."),
        cname("a.example.org.", "b.example.org."),
        mx("a.example.org.", 1, "m1.example.org."),
    ];
    let before = order(&rrs);
    weighted(&mut rrs, &w, rng);
    assert_eq!(order(&rrs), before);
}

#[test]
fn prefer_orders_addresses_by_first_matching_subnet() {
    let subnets = cidrs(&["10.9.20.0/24", "192.168.1.0/24", "fd00::/8"]);
    let mut rrs = vec![
        txt("x.example.org.", "t"),
        a("x.example.org.", "172.16.0.1"),
        mx("x.example.org.", 5, "m.example.org."),
        aaaa("x.example.org.", "fd00::1"),
        a("x.example.org.", "192.168.1.4"),
        cname("x.example.org.", "y.example.org."),
        a("x.example.org.", "10.9.20.9"),
        a("x.example.org.", "172.16.0.2"),
        a("x.example.org.", "10.9.20.1"),
        aaaa("x.example.org.", "2001:db8::1"),
    ];
    prefer(&mut rrs, &subnets);
    assert_eq!(
        order(&rrs),
        [
            "y.example.org.",
            "10.9.20.9",
            "10.9.20.1",
            "192.168.1.4",
            "fd00::1",
            "172.16.0.1",
            "172.16.0.2",
            "2001:db8::1",
            "5 m.example.org.",
            "t",
        ]
    );
}

// ---------------------------------------------------------------- serving

async fn ask(site: &TestSite, name: &str, qtype: RecordType) -> TestReply {
    site.query(Case::new(name, qtype)).await
}

/// Answer data in order.
fn answer_order(r: &TestReply) -> Vec<String> {
    order(&r.message().answers)
}

const MISSING: &str = "/nonexistent/corec-loadbalance-test";

#[tokio::test]
async fn round_robin_shuffles_hosts_answers() {
    let site = TestSite::new(&format!(
        "example.org {{\n loadbalance\n hosts {MISSING} {{\n  192.0.2.1 www.example.org\n  192.0.2.2 www.example.org\n  192.0.2.3 www.example.org\n  192.0.2.4 www.example.org\n  fd00::1 www.example.org\n  fd00::2 www.example.org\n }}\n}}"
    ));
    let want = ["192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4"];
    let mut orders = HashSet::new();
    let mut firsts = BTreeSet::new();
    for _ in 0..200 {
        let r = ask(&site, "www.example.org.", RecordType::A).await;
        assert_eq!(r.written_by, Some("hosts"));
        assert_eq!(r.rcode(), ResponseCode::NoError);
        let got = answer_order(&r);
        let mut set = got.clone();
        set.sort();
        assert_eq!(set, want);
        firsts.insert(got[0].clone());
        orders.insert(got);
    }
    assert!(orders.len() > 1, "{orders:?}");
    assert_eq!(firsts.len(), 4, "{firsts:?}");
    let mut v6 = HashSet::new();
    for _ in 0..50 {
        v6.insert(answer_order(
            &ask(&site, "www.example.org.", RecordType::AAAA).await,
        ));
    }
    assert_eq!(v6.len(), 2, "{v6:?}");
}

/// A plugin that always answers with the same sections and rcode.
#[derive(Debug, Clone)]
struct Fixed {
    rcode: ResponseCode,
    answers: Vec<Record>,
    authorities: Vec<Record>,
    additionals: Vec<Record>,
}

impl Fixed {
    fn new(rcode: ResponseCode, section: Vec<Record>) -> Self {
        Fixed {
            rcode,
            answers: section.clone(),
            authorities: section.clone(),
            additionals: section,
        }
    }
}

impl Plugin for Fixed {
    const NAME: &'static str = "fixed";

    async fn serve<'a, N: Handler>(&'a self, req: &'a mut Request, _next: &'a N) -> Outcome {
        let mut m = req.reply();
        m.metadata.response_code = self.rcode;
        m.answers = self.answers.clone();
        m.authorities = self.authorities.clone();
        m.additionals = self.additionals.clone();
        Ok(Answer::reply(Self::NAME, m))
    }
}

async fn through(
    lb: Loadbalance,
    fixed: Fixed,
    qtype: RecordType,
    runs: usize,
) -> Vec<[Vec<Record>; 3]> {
    let chain = Chain::new(lb, Chain::new(fixed, End));
    let mut out = Vec::new();
    for _ in 0..runs {
        let mut req = Case::new("www.example.org.", qtype).request();
        match chain.handle(&mut req).await {
            Ok(Answer::Reply(r)) => {
                assert_eq!(r.plugin, "fixed");
                let m = r.message;
                out.push([m.answers, m.authorities, m.additionals]);
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    out
}

#[tokio::test]
async fn cnames_stay_first_in_every_section() {
    let replies = through(
        Loadbalance::round_robin(Vec::new()),
        Fixed::new(ResponseCode::NoError, mixed()),
        RecordType::A,
        200,
    )
    .await;
    let mut orders = [HashSet::new(), HashSet::new(), HashSet::new()];
    for sections in &replies {
        for (i, rrs) in sections.iter().enumerate() {
            assert_eq!(sorted(rrs), sorted(&mixed()));
            assert_eq!(rrs[0].data.to_string(), "web.example.org.");
            assert_eq!(rrs[1].data.to_string(), "hello");
            orders[i].insert(order(rrs));
        }
    }
    // Answer, authority and additional are all shuffled (6 × 2 orders).
    for o in &orders {
        assert!(o.len() > 4, "{o:?}");
    }
}

#[tokio::test]
async fn errors_and_zone_transfers_are_left_alone() {
    for (rcode, qtype) in [
        (ResponseCode::NXDomain, RecordType::A),
        (ResponseCode::ServFail, RecordType::A),
        (ResponseCode::NoError, RecordType::AXFR),
        (ResponseCode::NoError, RecordType::IXFR),
    ] {
        let replies = through(
            Loadbalance::round_robin(cidrs(&["192.0.2.2/32"])),
            Fixed::new(rcode, mixed()),
            qtype,
            30,
        )
        .await;
        for sections in &replies {
            for rrs in sections {
                assert_eq!(order(rrs), order(&mixed()), "{rcode} {qtype}");
            }
        }
    }
}

#[tokio::test]
async fn weighted_only_touches_address_and_srv_queries() {
    let w = Weights::parse("web.example.org\n192.0.2.2 255\n", "wf").unwrap();
    // An MX query: nothing moves.
    let replies = through(
        Loadbalance::with_weights(w, Vec::new()),
        Fixed::new(ResponseCode::NoError, mixed()),
        RecordType::MX,
        20,
    )
    .await;
    for [answers, authorities, additionals] in &replies {
        assert_eq!(order(answers), order(&mixed()));
        assert_eq!(order(authorities), order(&mixed()));
        assert_eq!(order(additionals), order(&mixed()));
    }
    // An A query: answer and additional are regrouped with 192.0.2.2 on top
    // nearly always (255 : 1 : 1); the authority section is left alone.
    let w = Weights::parse("web.example.org\n192.0.2.2 255\n", "wf").unwrap();
    let replies = through(
        Loadbalance::with_weights(w, Vec::new()),
        Fixed::new(ResponseCode::NoError, mixed()),
        RecordType::A,
        100,
    )
    .await;
    let mut top = 0;
    for [answers, authorities, additionals] in &replies {
        assert_eq!(order(authorities), order(&mixed()));
        for rrs in [answers, additionals] {
            assert_eq!(rrs[0].record_type(), RecordType::CNAME);
            assert_eq!(sorted(rrs), sorted(&mixed()));
            if rrs[2].data.to_string() == "192.0.2.2" {
                top += 1;
            }
        }
    }
    assert!(top >= 180, "{top}");
}

#[tokio::test]
async fn prefer_puts_preferred_subnets_first() {
    let site = TestSite::new(&format!(
        ". {{\n loadbalance round_robin {{\n  prefer 10.9.20.0/24 192.168.1.0/24\n }}\n hosts {MISSING} {{\n  172.16.0.5 db.example.org\n  10.9.20.5 db.example.org\n  192.168.1.5 db.example.org\n  10.9.20.6 db.example.org\n  172.16.0.6 db.example.org\n }}\n}}"
    ));
    let mut top_pairs = HashSet::new();
    let mut tails = HashSet::new();
    for _ in 0..100 {
        let got = answer_order(&ask(&site, "db.example.org.", RecordType::A).await);
        assert_eq!(got.len(), 5);
        top_pairs.insert(got[..2].to_vec());
        tails.insert(got[3..].to_vec());
        let mut top = got[..2].to_vec();
        top.sort();
        assert_eq!(top, ["10.9.20.5", "10.9.20.6"], "{got:?}");
        assert_eq!(got[2], "192.168.1.5", "{got:?}");
        let mut tail = got[3..].to_vec();
        tail.sort();
        assert_eq!(tail, ["172.16.0.5", "172.16.0.6"], "{got:?}");
    }
    // Still shuffled inside each group.
    assert_eq!(top_pairs.len(), 2);
    assert_eq!(tails.len(), 2);
}

#[tokio::test]
async fn prefer_applies_after_the_weighted_pick() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("w"), "www.example.org\n192.0.2.1 255\n").unwrap();
    let site = TestSite::new(&format!(
        "example.org {{\n root {}\n loadbalance weighted w {{\n  reload 0\n  prefer 10.0.0.0/8\n }}\n hosts {MISSING} {{\n  192.0.2.1 www.example.org\n  10.0.0.1 www.example.org\n  192.0.2.2 www.example.org\n }}\n}}",
        dir.path().display()
    ));
    let mut second = BTreeMap::<String, u32>::new();
    for _ in 0..100 {
        let got = answer_order(&ask(&site, "www.example.org.", RecordType::A).await);
        assert_eq!(got[0], "10.0.0.1", "{got:?}");
        *second.entry(got[1].clone()).or_default() += 1;
    }
    // The weighted pick (nearly always 192.0.2.1) leads the rest.
    assert!(
        second.get("192.0.2.1").copied().unwrap_or(0) >= 90,
        "{second:?}"
    );
}

fn weights_dir(content: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("weights");
    std::fs::write(&path, content).unwrap();
    (dir, path)
}

fn hosts_www(weight_file: &Path, reload: &str) -> String {
    format!(
        "example.org {{\n loadbalance weighted {} {{\n  reload {reload}\n }}\n hosts {MISSING} {{\n  192.0.2.1 www.example.org\n  192.0.2.2 www.example.org\n  192.0.2.3 www.example.org\n }}\n}}",
        weight_file.display()
    )
}

/// How often each address came first in `n` A queries for www.example.org.
async fn tops(site: &TestSite, n: usize) -> BTreeMap<String, u32> {
    let mut first = BTreeMap::new();
    for _ in 0..n {
        let r = ask(site, "www.example.org.", RecordType::A).await;
        let got = answer_order(&r);
        let mut set = got.clone();
        set.sort();
        assert_eq!(set, ["192.0.2.1", "192.0.2.2", "192.0.2.3"]);
        *first.entry(got[0].clone()).or_default() += 1;
    }
    first
}

#[tokio::test]
async fn weighted_picks_follow_the_weights() {
    let (_dir, path) = weights_dir("# test\nWWW.example.org.\n192.0.2.1 6\n192.0.2.2 3\n");
    let site = TestSite::new(&hosts_www(&path, "0"));
    // 6 : 3 : 1 (unlisted), so about 240 : 120 : 40 of 400.
    let first = tops(&site, 400).await;
    let n = |ip: &str| first.get(ip).copied().unwrap_or(0);
    assert!((190..=290).contains(&n("192.0.2.1")), "{first:?}");
    assert!((70..=175).contains(&n("192.0.2.2")), "{first:?}");
    assert!((10..=80).contains(&n("192.0.2.3")), "{first:?}");
}

#[tokio::test]
async fn weighted_relative_path_uses_root() {
    let (dir, _path) = weights_dir("www.example.org\n192.0.2.3 255\n");
    let site = TestSite::new(&format!(
        "example.org {{\n root {}\n{}",
        dir.path().display(),
        hosts_www(Path::new("weights"), "0")
            .strip_prefix("example.org {\n")
            .unwrap()
    ));
    let first = tops(&site, 50).await;
    assert!(
        first.get("192.0.2.3").copied().unwrap_or(0) >= 45,
        "{first:?}"
    );
}

#[test]
fn bad_weight_files_stop_the_build() {
    let (_dir, path) = weights_dir("www.example.org\n192.0.2.1 256\n");
    let err = parse_err(&hosts_www(&path, "5s"));
    assert!(
        err.contains("plugin/loadbalance: wrong weight value:\"256\""),
        "{err}"
    );
    assert!(err.contains(&path.display().to_string()), "{err}");
    // Pointed at the file name.
    assert!(err.contains("Corefile:2:23"), "{err}");
    let err = parse_err(&hosts_www(Path::new(MISSING), "0"));
    assert!(
        err.contains(&format!(
            "plugin/loadbalance: unable to open weight file '{MISSING}'"
        )),
        "{err}"
    );
}

/// Asks until `done` holds for the first-address counts of 20 queries, for
/// at most about 3 seconds.
async fn poll(
    site: &TestSite,
    done: impl Fn(&BTreeMap<String, u32>) -> bool,
) -> BTreeMap<String, u32> {
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let first = tops(site, 20).await;
        if done(&first) || Instant::now() > deadline {
            return first;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn rewrite(path: &Path, content: &str) {
    let tmp = path.with_extension("new");
    std::fs::write(&tmp, content).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

#[tokio::test]
async fn weight_file_is_reloaded_and_bad_contents_are_ignored() {
    let (_dir, path) = weights_dir("www.example.org\n192.0.2.1 255\n");
    let site = TestSite::new(&hosts_www(&path, "50ms"));
    let first = tops(&site, 20).await;
    assert!(
        first.get("192.0.2.1").copied().unwrap_or(0) >= 15,
        "{first:?}"
    );

    rewrite(&path, "www.example.org\n192.0.2.2 255\n");
    let first = poll(&site, |f| f.get("192.0.2.2").is_some_and(|&n| n >= 15)).await;
    assert!(
        first.get("192.0.2.2").is_some_and(|&n| n >= 15),
        "{first:?}"
    );

    // An invalid file keeps the last good weights.
    rewrite(&path, "www.example.org\n192.0.2.3 0\n");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let first = tops(&site, 20).await;
    assert!(
        first.get("192.0.2.2").copied().unwrap_or(0) >= 15,
        "{first:?}"
    );
    // And the next good file is used again.
    rewrite(&path, "www.example.org\n192.0.2.3 255\n");
    let first = poll(&site, |f| f.get("192.0.2.3").is_some_and(|&n| n >= 15)).await;
    assert!(
        first.get("192.0.2.3").is_some_and(|&n| n >= 15),
        "{first:?}"
    );
}

#[tokio::test]
async fn missing_weight_file_is_picked_up_later() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("later");
    let site = TestSite::new(&hosts_www(&path, "50ms"));
    // Meanwhile every address weighs 1.
    let first = tops(&site, 60).await;
    assert_eq!(first.len(), 3, "{first:?}");
    std::fs::write(&path, "www.example.org\n192.0.2.3 255\n").unwrap();
    let first = poll(&site, |f| f.get("192.0.2.3").is_some_and(|&n| n >= 15)).await;
    assert!(
        first.get("192.0.2.3").is_some_and(|&n| n >= 15),
        "{first:?}"
    );
}

#[tokio::test]
async fn readme_examples_load() {
    let readme = include_str!("README.md");
    let mut found = 0;
    for block in readme.split("~~~ corefile\n").skip(1) {
        let corefile = block.split("~~~").next().unwrap();
        let site = TestSite::new(corefile);
        // Every example serves www/db with several addresses.
        let name = if corefile.contains("db.example.org") {
            "db.example.org."
        } else {
            "www.example.org."
        };
        let r = ask(&site, name, RecordType::A).await;
        assert!(r.message().answers.len() > 1, "{corefile}");
        found += 1;
    }
    assert_eq!(found, 3);
}
