use super::setup::{ForwardConfig, Policy, Stanza, To, parse_atoi, parse_to, parse_uint32};
use crate::dns::{
    DNSClass, Message, MessageType, Name, OpCode, RData, Record, RecordType, ResponseCode, TXT,
};
use crate::plugin::{Parse, Proto};
use crate::testing::{Case, TestSite, load, metric_value, parse_err};
use corec_compiler::Dispenser;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------- syntax

fn config(corefile: &str) -> ForwardConfig {
    let model = load(corefile);
    assert!(model.is_ok(), "{}", model.render_diagnostics());
    let block = &model.blocks[0];
    let used = block.plugin("forward").expect("a forward directive");
    let zones = block.zones();
    let mut d = Dispenser::new("forward", &used.tokens, &zones);
    ForwardConfig::parse(&mut d).unwrap_or_else(|e| panic!("{e:?}"))
}

fn one(corefile: &str) -> Stanza {
    let mut c = config(corefile);
    assert_eq!(c.stanzas.len(), 1);
    c.stanzas.remove(0)
}

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

#[test]
fn defaults() {
    let s = one(". {\n forward . 127.0.0.1\n}");
    assert_eq!(s.from, ".");
    assert!(s.except.is_empty());
    assert_eq!(s.to.len(), 1);
    assert_eq!(
        s.to[0].0,
        To::Addr {
            tls: false,
            addr: addr("127.0.0.1:53"),
            server_name: None
        }
    );
    assert!(!s.force_tcp && !s.prefer_udp);
    assert_eq!(s.expire, Duration::from_secs(10));
    assert_eq!(s.max_age, Duration::ZERO);
    assert_eq!(s.max_idle_conns, 0);
    assert_eq!(s.read_timeout, Duration::from_secs(2));
    assert_eq!(s.max_fails, 2);
    assert_eq!(s.max_connect_attempts, None);
    assert_eq!(s.tls, None);
    assert_eq!(s.tls_servername, None);
    assert_eq!(s.policy, Policy::Random);
    assert_eq!(s.health_check, Duration::from_millis(500));
    assert!(s.hc_recursion_desired);
    assert_eq!(s.hc_domain, ".");
    assert_eq!(s.max_concurrent, 0);
    assert!(s.next.is_empty() && !s.next_on_nodata);
    assert!(!s.failfast_all_unhealthy);
    assert!(s.failover.is_empty());
    assert_eq!(s.source_address, None);
}

#[test]
fn every_option() {
    let s = one(
        ". {\n forward Example.ORG 127.0.0.1 {\n  except a.example.org B.example.org.\n  force_tcp\n  prefer_udp\n  expire 20s\n  max_age 1m\n  max_idle_conns 5\n  read_timeout 500ms\n  max_fails 0\n  max_connect_attempts 3\n  tls ca.pem\n  tls_servername dns.example\n  policy sequential\n  health_check 2s no_rec domain Example.net\n  max_concurrent 100\n  next nxdomain SERVFAIL\n  next_on_nodata\n  failfast_all_unhealthy_upstreams\n  failover ServFail REFUSED\n  source_address 127.0.0.2\n  doh_method GET\n  resolver 127.0.0.1 [::1]:5353 10.0.0.1:53\n }\n}",
    );
    assert_eq!(s.from, "example.org.");
    assert_eq!(s.except, ["a.example.org.", "b.example.org."]);
    assert!(s.force_tcp && s.prefer_udp);
    assert_eq!(s.expire, Duration::from_secs(20));
    assert_eq!(s.max_age, Duration::from_secs(60));
    assert_eq!(s.max_idle_conns, 5);
    assert_eq!(s.read_timeout, Duration::from_millis(500));
    assert_eq!(s.max_fails, 0);
    assert_eq!(s.max_connect_attempts, Some(3));
    assert_eq!(s.tls.as_ref().unwrap().ca.as_deref(), Some("ca.pem"));
    assert_eq!(s.tls.as_ref().unwrap().cert_key, None);
    assert_eq!(s.tls_servername.as_deref(), Some("dns.example"));
    assert_eq!(s.policy, Policy::Sequential);
    assert_eq!(s.health_check, Duration::from_secs(2));
    assert!(!s.hc_recursion_desired);
    assert_eq!(s.hc_domain, "example.net.");
    assert_eq!(s.max_concurrent, 100);
    assert_eq!(s.next, [3, 2]);
    assert!(s.next_on_nodata && s.failfast_all_unhealthy);
    assert_eq!(s.failover, [2, 5]);
    assert_eq!(s.source_address, Some("127.0.0.2".parse().unwrap()));
    assert_eq!(
        s.resolver,
        [
            addr("127.0.0.1:53"),
            addr("[::1]:5353"),
            addr("10.0.0.1:53")
        ]
    );
    let s = one(". {\n forward . 127.0.0.1 {\n  tls cert.pem key.pem\n  policy round_robin\n }\n}");
    let tls = s.tls.unwrap();
    assert_eq!(tls.cert_key, Some(("cert.pem".into(), "key.pem".into())));
    assert_eq!(tls.ca, None);
    assert_eq!(s.policy, Policy::RoundRobin);
    let s = one(". {\n forward . 127.0.0.1 {\n  tls c k ca\n  tls_servername x\n }\n}");
    assert_eq!(s.tls.unwrap().ca.as_deref(), Some("ca"));
    let s = one(". {\n forward . 127.0.0.1 {\n  tls\n }\n}");
    assert_eq!(s.tls, Some(Default::default()));
    // A reverse zone as FROM; a CIDR off the octet boundary keeps the first zone.
    assert_eq!(
        one(". {\n forward 10.0.0.0/8 127.0.0.1\n}").from,
        "10.in-addr.arpa."
    );
    let s = one(". {\n forward 10.0.0.0/15 127.0.0.1\n}");
    assert_eq!(s.from, "0.10.in-addr.arpa.");
    assert_eq!(s.from_expanded.as_deref(), Some("10.0.0.0/15"));
}

#[test]
fn destinations() {
    let a = |tls, s: &str, sni: Option<&str>| To::Addr {
        tls,
        addr: addr(s),
        server_name: sni.map(String::from),
    };
    for (text, want) in [
        ("1.2.3.4", a(false, "1.2.3.4:53", None)),
        ("1.2.3.4:5300", a(false, "1.2.3.4:5300", None)),
        ("dns://1.2.3.4", a(false, "1.2.3.4:53", None)),
        ("dns://1.2.3.4:99", a(false, "1.2.3.4:99", None)),
        ("::1", a(false, "[::1]:53", None)),
        ("[::1]", a(false, "[::1]:53", None)),
        ("[2001:db8::1]:5353", a(false, "[2001:db8::1]:5353", None)),
        ("tls://9.9.9.9", a(true, "9.9.9.9:853", None)),
        ("tls://9.9.9.9:10853", a(true, "9.9.9.9:10853", None)),
        (
            "tls://9.9.9.9%dns.quad9.net",
            a(true, "9.9.9.9:853", Some("dns.quad9.net")),
        ),
        (
            "tls://9.9.9.9%dns.quad9.net:10853",
            a(true, "9.9.9.9:10853", Some("dns.quad9.net")),
        ),
        (
            "tls://[2620:fe::fe%dns.quad9.net]:853",
            a(true, "[2620:fe::fe]:853", Some("dns.quad9.net")),
        ),
        ("tls://2620:fe::fe", a(true, "[2620:fe::fe]:853", None)),
    ] {
        assert_eq!(parse_to(text).unwrap(), want, "{text}");
    }
    for (text, want) in [
        ("/etc/resolv.conf", "/etc/resolv.conf"),
        ("dns.example.org", "dns.example.org"),
        ("tls://dns.example.org:853", "dns.example.org:853"),
    ] {
        match parse_to(text).unwrap() {
            To::FileOrHost { text, .. } => assert_eq!(text, want),
            other => panic!("{other:?}"),
        }
    }
    // Duplicates are dropped when the plugin is built; the count limit is on TOs.
    let s = one(". {\n forward . 127.0.0.1 127.0.0.1:53 dns://127.0.0.1 127.0.0.2\n}");
    assert_eq!(s.to.len(), 4);
}

#[test]
fn go_number_errors() {
    assert_eq!(parse_uint32("7"), Ok(7));
    assert_eq!(
        parse_uint32("-1").unwrap_err(),
        "strconv.ParseUint: parsing \"-1\": invalid syntax"
    );
    assert_eq!(
        parse_uint32("4294967296").unwrap_err(),
        "strconv.ParseUint: parsing \"4294967296\": value out of range"
    );
    assert_eq!(parse_atoi("-3"), Ok(-3));
    assert_eq!(parse_atoi("+3"), Ok(3));
    assert_eq!(
        parse_atoi("x").unwrap_err(),
        "strconv.Atoi: parsing \"x\": invalid syntax"
    );
}

#[test]
fn errors() {
    let cases: &[(&str, &str)] = &[
        (
            "forward",
            "Wrong argument count or unexpected line ending after 'forward'",
        ),
        (
            "forward .",
            "Wrong argument count or unexpected line ending after '.'",
        ),
        (
            "forward . {\n }",
            "Wrong argument count or unexpected line ending after '.'",
        ),
        ("forward foo..bar 1.2.3.4", "unable to normalize 'foo..bar'"),
        ("forward . 1.2.3.4 {\n  foo\n }", "unknown property 'foo'"),
        (
            "forward . 1.2.3.4 {\n  polcy random\n }",
            "did you mean 'policy'?",
        ),
        (
            "forward . 1.2.3.4 {\n  except\n }",
            "Wrong argument count or unexpected line ending after 'except'",
        ),
        (
            "forward . 1.2.3.4 {\n  max_fails\n }",
            "Wrong argument count or unexpected line ending after 'max_fails'",
        ),
        (
            "forward . 1.2.3.4 {\n  max_fails x\n }",
            "strconv.ParseUint: parsing \"x\": invalid syntax",
        ),
        (
            "forward . 1.2.3.4 {\n  max_fails -1\n }",
            "strconv.ParseUint: parsing \"-1\": invalid syntax",
        ),
        (
            "forward . 1.2.3.4 {\n  max_connect_attempts 1.5\n }",
            "strconv.ParseUint: parsing \"1.5\": invalid syntax",
        ),
        (
            "forward . 1.2.3.4 {\n  health_check\n }",
            "Wrong argument count",
        ),
        (
            "forward . 1.2.3.4 {\n  health_check 1\n }",
            "time: missing unit in duration \"1\"",
        ),
        (
            "forward . 1.2.3.4 {\n  health_check -1s\n }",
            "health_check can't be negative: -1000000000",
        ),
        (
            "forward . 1.2.3.4 {\n  health_check 1s foo\n }",
            "health_check: unknown option foo",
        ),
        (
            "forward . 1.2.3.4 {\n  health_check 1s domain\n }",
            "Wrong argument count or unexpected line ending after 'domain'",
        ),
        (
            "forward . 1.2.3.4 {\n  health_check 1s domain a..b\n }",
            "health_check: invalid domain name a..b",
        ),
        (
            "forward . 1.2.3.4 {\n  force_tcp yes\n }",
            "Wrong argument count or unexpected line ending after 'yes'",
        ),
        (
            "forward . 1.2.3.4 {\n  prefer_udp yes\n }",
            "Wrong argument count or unexpected line ending after 'yes'",
        ),
        (
            "forward . 1.2.3.4 {\n  tls a b c d\n }",
            "Wrong argument count or unexpected line ending after 'd'",
        ),
        (
            "forward . 1.2.3.4 {\n  tls_servername\n }",
            "Wrong argument count",
        ),
        (
            "forward . 1.2.3.4 {\n  expire 1\n }",
            "time: missing unit in duration \"1\"",
        ),
        (
            "forward . 1.2.3.4 {\n  expire -1s\n }",
            "expire can't be negative: -1s",
        ),
        (
            "forward . 1.2.3.4 {\n  max_age -1m\n }",
            "max_age can't be negative: -1m0s",
        ),
        (
            "forward . 1.2.3.4 {\n  max_age 5s\n }",
            "max_age (5s) must not be less than expire (10s)",
        ),
        (
            "forward . 1.2.3.4 {\n  max_idle_conns -1\n }",
            "max_idle_conns can't be negative: -1",
        ),
        (
            "forward . 1.2.3.4 {\n  max_idle_conns x\n }",
            "strconv.Atoi: parsing \"x\": invalid syntax",
        ),
        (
            "forward . 1.2.3.4 {\n  read_timeout 0s\n }",
            "read_timeout must be positive: 0s",
        ),
        (
            "forward . 1.2.3.4 {\n  read_timeout -2s\n }",
            "read_timeout must be positive: -2s",
        ),
        (
            "forward . 1.2.3.4 {\n  policy fastest\n }",
            "unknown policy 'fastest'",
        ),
        (
            "forward . 1.2.3.4 {\n  policy roundrobin\n }",
            "did you mean 'round_robin'?",
        ),
        (
            "forward . 1.2.3.4 {\n  max_concurrent -5\n }",
            "max_concurrent can't be negative: -5",
        ),
        (
            "forward . 1.2.3.4 {\n  max_concurrent lots\n }",
            "strconv.Atoi: parsing \"lots\": invalid syntax",
        ),
        (
            "forward . 1.2.3.4 {\n  next\n }",
            "Wrong argument count or unexpected line ending after 'next'",
        ),
        (
            "forward . 1.2.3.4 {\n  next FOO\n }",
            "FOO is not a valid rcode",
        ),
        (
            "forward . 1.2.3.4 {\n  next_on_nodata x\n }",
            "Wrong argument count",
        ),
        (
            "forward . 1.2.3.4 {\n  failfast_all_unhealthy_upstreams x\n }",
            "Wrong argument count",
        ),
        (
            "forward . 1.2.3.4 {\n  failover\n }",
            "Wrong argument count or unexpected line ending after 'failover'",
        ),
        (
            "forward . 1.2.3.4 {\n  failover SERVFAIL BAD\n }",
            "BAD is not a valid rcode",
        ),
        (
            "forward . 1.2.3.4 {\n  failover NOERROR\n }",
            "NoError cannot be used in failover",
        ),
        (
            "forward . 1.2.3.4 {\n  source_address nowhere\n }",
            "invalid IP address: nowhere",
        ),
        (
            "forward . 1.2.3.4 {\n  doh_method PUT\n }",
            "doh_method must be either POST or GET",
        ),
        (
            "forward . 1.2.3.4 {\n  resolver\n }",
            "Wrong argument count or unexpected line ending after 'resolver'",
        ),
        (
            "forward . 1.2.3.4 {\n  resolver 1.1.1.1 dns.example\n }",
            "resolver must be an IP address or IP:port: \"dns.example\"",
        ),
        (
            "forward . https://1.2.3.4",
            "'https' (DNS over HTTPS) is not supported by corec",
        ),
        (
            "forward . quic://1.2.3.4",
            "'quic' is not supported as a destination protocol in forward: quic://1.2.3.4",
        ),
        (
            "forward . grpc://1.2.3.4",
            "'grpc' is not supported as a destination protocol in forward",
        ),
        ("forward . tls://", "invalid address: \"tls://\""),
        (
            "forward . 1.2.3.4:99999",
            "invalid port in address \"1.2.3.4:99999\"",
        ),
        (
            "forward . tls://1.2.3.4%a.example {\n  tls_servername b.example\n }",
            "both forward ('b.example') and proxy level ('a.example') TLS servernames are set for upstream proxy 'tls://1.2.3.4%a.example'",
        ),
        (
            "forward . 1.0.0.1 1.0.0.2 1.0.0.3 1.0.0.4 1.0.0.5 1.0.0.6 1.0.0.7 1.0.0.8 1.0.0.9 1.0.0.10 1.0.0.11 1.0.0.12 1.0.0.13 1.0.0.14 1.0.0.15 1.0.0.16",
            "more than 15 TOs configured: 16",
        ),
        (
            "forward . tls://1.2.3.4 {\n  tls /no/cert.pem /no/key.pem\n }",
            "could not load TLS cert: error reading /no/cert.pem",
        ),
        (
            "forward . tls://1.2.3.4 {\n  tls /dev/null\n }",
            "could not read root certs: no certificate in /dev/null",
        ),
        // Looked at when built: neither a file nor a host name.
        (
            "forward . /no/such/file",
            "not an IP address or file \"/no/such/file\": failed to open file",
        ),
        (
            "forward . no_such_host.invalid",
            "failed to resolve \"no_such_host.invalid\"",
        ),
        (
            "forward . tls://1.2.3.4 {\n  tls /no/such/ca.pem\n }",
            "error reading /no/such/ca.pem",
        ),
    ];
    for (body, want) in cases {
        let corefile = format!(". {{\n {body}\n}}");
        let got = parse_err(&corefile);
        assert!(got.contains(want), "{body}\nwant: {want}\ngot: {got}");
        assert!(got.contains("plugin/forward"), "{got}");
    }
    // Every stanza is checked, the second too.
    let got = parse_err(". {\n forward example.org 1.2.3.4\n forward . 1.2.3.4 {\n  bogus\n }\n}");
    assert!(got.contains("unknown property 'bogus'"), "{got}");
}

#[test]
fn several_stanzas_keep_their_order() {
    let c = config(
        ". {\n forward lab.example.local 10.20.0.1\n forward example.local 10.0.0.1\n forward . 127.0.0.1\n}",
    );
    let froms: Vec<&str> = c.stanzas.iter().map(|s| s.from.as_str()).collect();
    assert_eq!(froms, ["lab.example.local.", "example.local.", "."]);
}

#[test]
fn resolv_conf_upstreams_are_read_when_built() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("resolv.conf");
    std::fs::write(
        &path,
        "# comment\nsearch example.org\nnameserver 127.0.0.1\nnameserver ::1\nnameserver fe80::1%eth0\nnameserver bogus\noptions ndots:5\n",
    )
    .unwrap();
    assert_eq!(
        super::setup::resolv_conf_servers(&std::fs::read_to_string(&path).unwrap()),
        [addr("127.0.0.1:53"), addr("[::1]:53"), addr("[fe80::1]:53")]
    );
    // Builds (no upstream is contacted); an empty file gives no upstream.
    let _site = TestSite::new(&format!(
        ". {{\n forward . {} 127.0.0.1\n}}",
        path.display()
    ));
    let empty = dir.path().join("empty.conf");
    std::fs::write(&empty, "").unwrap();
    let got = parse_err(&format!(". {{\n forward . {}\n}}", empty.display()));
    assert!(got.contains("no valid upstream addresses found"), "{got}");
}

// ---------------------------------------------------------------- serving

/// How a fake upstream answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// A TXT record holding its tag.
    Answer,
    /// SERVFAIL.
    Servfail,
    /// NOERROR without records.
    NoData,
    /// Nothing at all.
    Drop,
    /// Over UDP an empty reply with TC; over TCP the answer.
    TruncateUdp,
    /// An answer to another question.
    WrongQuestion,
    /// REFUSED, header only (no question).
    Bare,
    /// Over UDP a 3,000-byte answer whatever the query allows; over TCP
    /// the answer.
    Oversize,
}

/// A DNS server on 127.0.0.1 (UDP and TCP, one port) that answers as told.
struct Fake {
    addr: SocketAddr,
    mode: Arc<Mutex<Mode>>,
    /// Queries other than health checks, by transport.
    udp: Arc<AtomicUsize>,
    tcp: Arc<AtomicUsize>,
    /// Health checks (`. NS`).
    probes: Arc<AtomicUsize>,
    /// TCP connections accepted.
    accepted: Arc<AtomicUsize>,
    /// Where the last UDP query came from.
    last_from: Arc<Mutex<Option<SocketAddr>>>,
    /// The last health check: its name and RD bit.
    last_probe: Arc<Mutex<Option<(String, bool)>>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Fake {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

fn respond(query: &[u8], mode: Mode, tag: &str, udp: bool) -> Option<Vec<u8>> {
    let q = Message::from_vec(query).ok()?;
    let mut m = Message::new(q.metadata.id, MessageType::Response, OpCode::Query);
    m.metadata.recursion_desired = q.metadata.recursion_desired;
    m.queries = q.queries.clone();
    match mode {
        Mode::Drop => return None,
        Mode::Bare => {
            m.queries.clear();
            m.metadata.response_code = ResponseCode::Refused;
        }
        Mode::Servfail => m.metadata.response_code = ResponseCode::ServFail,
        Mode::NoData => {}
        Mode::TruncateUdp if udp => m.metadata.truncation = true,
        Mode::WrongQuestion => {
            m.queries[0] = crate::dns::Query::query(
                Name::from_ascii("other.example.").unwrap(),
                RecordType::TXT,
            );
        }
        Mode::Oversize if udp => {
            let name = q.queries[0].name().clone();
            let chunks: Vec<String> = (0..12).map(|_| "x".repeat(250)).collect();
            m.answers
                .push(Record::from_rdata(name, 60, RData::TXT(TXT::new(chunks))));
        }
        Mode::Answer | Mode::TruncateUdp | Mode::Oversize => {
            let name = q.queries[0].name().clone();
            m.answers.push(Record::from_rdata(
                name,
                60,
                RData::TXT(TXT::new(vec![tag.to_string()])),
            ));
        }
    }
    m.to_vec().ok()
}

impl Fake {
    async fn start(mode: Mode, tag: &'static str) -> Fake {
        let (udp, tcp) = loop {
            let udp = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
            let port = udp.local_addr().unwrap().port();
            if let Ok(tcp) = tokio::net::TcpListener::bind(("127.0.0.1", port)).await {
                break (udp, tcp);
            }
        };
        let addr = udp.local_addr().unwrap();
        let mode = Arc::new(Mutex::new(mode));
        let (nu, nt, np) = (
            Arc::new(AtomicUsize::new(0)),
            Arc::new(AtomicUsize::new(0)),
            Arc::new(AtomicUsize::new(0)),
        );
        let last_probe: Arc<Mutex<Option<(String, bool)>>> = Arc::default();
        let lp = last_probe.clone();
        let count = Arc::new(move |q: &[u8], n: &AtomicUsize, probes: &AtomicUsize| {
            let probe = Message::from_vec(q)
                .ok()
                .filter(|m| m.queries[0].query_type() == RecordType::NS);
            if let Some(m) = &probe {
                *lp.lock().unwrap() =
                    Some((m.queries[0].name().to_ascii(), m.metadata.recursion_desired));
            }
            if probe.is_some() {
                probes.fetch_add(1, Ordering::SeqCst)
            } else {
                n.fetch_add(1, Ordering::SeqCst)
            };
        });
        let (m1, u1, p1) = (mode.clone(), nu.clone(), np.clone());
        let last_from: Arc<Mutex<Option<SocketAddr>>> = Arc::default();
        let lf = last_from.clone();
        let count1 = count.clone();
        let t1 = tokio::spawn(async move {
            let mut buf = vec![0u8; 65535];
            while let Ok((n, from)) = udp.recv_from(&mut buf).await {
                *lf.lock().unwrap() = Some(from);
                count1(&buf[..n], &u1, &p1);
                let mode = *m1.lock().unwrap();
                if let Some(r) = respond(&buf[..n], mode, tag, true) {
                    let _ = udp.send_to(&r, from).await;
                }
            }
        });
        let (m2, t2c, p2) = (mode.clone(), nt.clone(), np.clone());
        let accepted = Arc::new(AtomicUsize::new(0));
        let acc = accepted.clone();
        let t2 = tokio::spawn(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            while let Ok((mut s, _)) = tcp.accept().await {
                acc.fetch_add(1, Ordering::SeqCst);
                let (m, c, p) = (m2.clone(), t2c.clone(), p2.clone());
                let count = count.clone();
                tokio::spawn(async move {
                    loop {
                        let mut len = [0u8; 2];
                        if s.read_exact(&mut len).await.is_err() {
                            return;
                        }
                        let mut buf = vec![0u8; usize::from(u16::from_be_bytes(len))];
                        if s.read_exact(&mut buf).await.is_err() {
                            return;
                        }
                        count(&buf, &c, &p);
                        let mode = *m.lock().unwrap();
                        if let Some(r) = respond(&buf, mode, tag, false) {
                            let mut out = (r.len() as u16).to_be_bytes().to_vec();
                            out.extend_from_slice(&r);
                            if s.write_all(&out).await.is_err() {
                                return;
                            }
                        }
                    }
                });
            }
        });
        Fake {
            addr,
            mode,
            udp: nu,
            tcp: nt,
            probes: np,
            accepted,
            last_from,
            last_probe,
            tasks: vec![t1, t2],
        }
    }

    fn set(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }

    fn queries(&self) -> usize {
        self.udp.load(Ordering::SeqCst) + self.tcp.load(Ordering::SeqCst)
    }
}

fn txt(r: &crate::testing::TestReply) -> Vec<String> {
    r.txt()
}

#[tokio::test]
async fn forwards_and_keeps_the_clients_id_and_question() {
    let up = Fake::start(Mode::Answer, "up").await;
    let site = TestSite::new(&format!(". {{\n forward . {}\n}}", up.addr));
    let r = site
        .query(Case::new("WWW.Example.org.", RecordType::TXT))
        .await;
    assert_eq!(r.rcode(), ResponseCode::NoError);
    assert_eq!(r.plugin(), Some("forward"));
    assert_eq!(txt(&r), ["up"]);
    let m = r.message();
    assert_eq!(m.metadata.id, 4242);
    assert_eq!(m.queries[0].name().to_ascii(), "WWW.Example.org.");
    assert_eq!(up.udp.load(Ordering::SeqCst), 1);
    // Over TCP from the client: TCP to the upstream.
    let r = site
        .query(Case::new("a.example.", RecordType::TXT).tcp())
        .await;
    assert_eq!(txt(&r), ["up"]);
    assert_eq!(up.tcp.load(Ordering::SeqCst), 1);
    // CH class is let through to the upstream.
    let r = site.query(Case::ch_txt("version.bind.")).await;
    assert_eq!(txt(&r), ["up"]);
}

#[tokio::test]
async fn force_tcp_and_prefer_udp_choose_the_transport() {
    let up = Fake::start(Mode::Answer, "up").await;
    let site = TestSite::new(&format!(
        ". {{\n forward . {} {{\n  force_tcp\n }}\n}}",
        up.addr
    ));
    site.query(Case::new("a.example.", RecordType::TXT)).await;
    assert_eq!(
        (up.udp.load(Ordering::SeqCst), up.tcp.load(Ordering::SeqCst)),
        (0, 1)
    );
    let site = TestSite::new(&format!(
        ". {{\n forward . {} {{\n  prefer_udp\n }}\n}}",
        up.addr
    ));
    site.query(Case::new("a.example.", RecordType::TXT).tcp())
        .await;
    assert_eq!(
        (up.udp.load(Ordering::SeqCst), up.tcp.load(Ordering::SeqCst)),
        (1, 1)
    );
    // force_tcp wins over prefer_udp.
    let site = TestSite::new(&format!(
        ". {{\n forward . {} {{\n  prefer_udp\n  force_tcp\n }}\n}}",
        up.addr
    ));
    site.query(Case::new("a.example.", RecordType::TXT)).await;
    assert_eq!(
        (up.udp.load(Ordering::SeqCst), up.tcp.load(Ordering::SeqCst)),
        (1, 2)
    );
}

#[tokio::test]
async fn truncated_answers_go_back_or_are_retried_over_tcp_with_prefer_udp() {
    let up = Fake::start(Mode::TruncateUdp, "full").await;
    // Default: the client gets TC and retries itself.
    let site = TestSite::new(&format!(". {{\n forward . {}\n}}", up.addr));
    let r = site.query(Case::new("a.example.", RecordType::TXT)).await;
    assert!(r.message().metadata.truncation);
    assert!(r.message().answers.is_empty());
    let r = site
        .query(Case::new("a.example.", RecordType::TXT).tcp())
        .await;
    assert_eq!(txt(&r), ["full"]);
    // prefer_udp: a TCP client's query goes over UDP, then TCP after TC.
    let site = TestSite::new(&format!(
        ". {{\n forward . {} {{\n  prefer_udp\n }}\n}}",
        up.addr
    ));
    let before = (up.udp.load(Ordering::SeqCst), up.tcp.load(Ordering::SeqCst));
    let r = site
        .query(Case::new("a.example.", RecordType::TXT).tcp())
        .await;
    assert_eq!(txt(&r), ["full"]);
    assert!(!r.message().metadata.truncation);
    let after = (up.udp.load(Ordering::SeqCst), up.tcp.load(Ordering::SeqCst));
    assert_eq!((after.0 - before.0, after.1 - before.1), (1, 1));
}

/// An upstream sending more over UDP than the query allows: the datagram
/// does not fit the buffer sized for the query, and the client gets TC
/// (not a cut message), then the whole answer over TCP.
#[tokio::test]
async fn a_reply_larger_than_the_query_allows_is_truncated() {
    let up = Fake::start(Mode::Oversize, "full").await;
    let site = TestSite::new(&format!(". {{\n forward . {}\n}}", up.addr));
    for case in [
        Case::new("a.example.", RecordType::TXT),
        Case::new("a.example.", RecordType::TXT).edns(1232),
    ] {
        let r = site.query(case).await;
        let m = r.message();
        assert!(m.metadata.truncation, "TC set");
        assert!(m.answers.is_empty());
        assert_eq!(m.queries[0].name().to_ascii(), "a.example.");
    }
    let r = site
        .query(Case::new("a.example.", RecordType::TXT).tcp())
        .await;
    assert_eq!(txt(&r), ["full"]);
}

#[tokio::test]
async fn an_answer_to_another_question_is_formerr() {
    let up = Fake::start(Mode::WrongQuestion, "x").await;
    let site = TestSite::new(&format!(
        ". {{\n forward . {} {{\n  read_timeout 200ms\n }}\n}}",
        up.addr
    ));
    let started = Instant::now();
    let r = site.query(Case::new("a.example.", RecordType::TXT)).await;
    assert_eq!(r.rcode(), ResponseCode::FormErr);
    assert_eq!(r.message().queries[0].name().to_ascii(), "a.example.");
    assert!(started.elapsed() < Duration::from_secs(3));
    let r = site
        .query(Case::new("a.example.", RecordType::TXT).tcp())
        .await;
    assert_eq!(r.rcode(), ResponseCode::FormErr);
    // A reply without a question: FORMERR without waiting for the timeout.
    up.set(Mode::Bare);
    let site = TestSite::new(&format!(
        ". {{\n forward . {} {{\n  read_timeout 5s\n }}\n}}",
        up.addr
    ));
    let started = Instant::now();
    let r = site.query(Case::new("a.example.", RecordType::TXT)).await;
    assert_eq!(r.rcode(), ResponseCode::FormErr);
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn a_silent_upstream_times_out_to_the_next() {
    let silent = Fake::start(Mode::Drop, "silent").await;
    let good = Fake::start(Mode::Answer, "good").await;
    let site = TestSite::new(&format!(
        ". {{\n forward . {} {} {{\n  policy sequential\n  read_timeout 300ms\n  max_fails 0\n }}\n}}",
        silent.addr, good.addr
    ));
    let started = Instant::now();
    let r = site.query(Case::new("a.example.", RecordType::TXT)).await;
    assert_eq!(txt(&r), ["good"]);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(silent.queries(), 1);
    // Only silent upstreams: SERVFAIL with the timeout, after two tries each.
    let site = TestSite::new(&format!(
        ". {{\n forward . {} {{\n  read_timeout 200ms\n  max_fails 0\n }}\n}}",
        silent.addr
    ));
    let r = site.query(Case::new("b.example.", RecordType::TXT)).await;
    assert_eq!(r.rcode(), ResponseCode::ServFail);
    assert!(
        r.error.as_ref().unwrap().message.contains("i/o timeout"),
        "{:?}",
        r.error
    );
    assert_eq!(silent.queries(), 3);
    // max_connect_attempts 1: one try only.
    let site = TestSite::new(&format!(
        ". {{\n forward . {} {{\n  read_timeout 200ms\n  max_fails 0\n  max_connect_attempts 1\n }}\n}}",
        silent.addr
    ));
    site.query(Case::new("c.example.", RecordType::TXT)).await;
    assert_eq!(silent.queries(), 4);
}

#[tokio::test]
async fn failover_tries_the_next_upstream_on_listed_rcodes() {
    let bad = Fake::start(Mode::Servfail, "bad").await;
    let good = Fake::start(Mode::Answer, "good").await;
    let plain = TestSite::new(&format!(
        ". {{\n forward . {} {} {{\n  policy sequential\n }}\n}}",
        bad.addr, good.addr
    ));
    let r = plain.query(Case::new("a.example.", RecordType::TXT)).await;
    assert_eq!(
        r.rcode(),
        ResponseCode::ServFail,
        "without failover the SERVFAIL is the answer"
    );
    let site = TestSite::new(&format!(
        ". {{\n forward . {} {} {{\n  policy sequential\n  failover SERVFAIL REFUSED\n }}\n}}",
        bad.addr, good.addr
    ));
    let r = site.query(Case::new("a.example.", RecordType::TXT)).await;
    assert_eq!(txt(&r), ["good"]);
    // All fail: the last answer is returned.
    good.set(Mode::Servfail);
    let r = site.query(Case::new("a.example.", RecordType::TXT)).await;
    assert_eq!(r.rcode(), ResponseCode::ServFail);
    assert_eq!(r.plugin(), Some("forward"));
}

#[tokio::test]
async fn next_hands_the_query_to_the_next_stanza_only() {
    let bad = Fake::start(Mode::Servfail, "bad").await;
    let empty = Fake::start(Mode::NoData, "empty").await;
    let good = Fake::start(Mode::Answer, "good").await;
    let site = TestSite::new(&format!(
        ". {{\n forward . {} {{\n  next SERVFAIL\n }}\n forward . {} {{\n  next_on_nodata\n }}\n forward . {} {{\n  next NOERROR\n }}\n}}",
        bad.addr, empty.addr, good.addr
    ));
    let r = site.query(Case::new("a.example.", RecordType::TXT)).await;
    assert_eq!(txt(&r), ["good"], "the last stanza's `next` is ignored");
    assert_eq!((bad.queries(), empty.queries(), good.queries()), (1, 1, 1));
    // Stanzas by name, first match wins; FROM itself is forwarded even when excepted.
    let site = TestSite::new(&format!(
        ". {{\n forward sub.example. {} {{\n  except deep.sub.example. sub.example.\n }}\n forward . {}\n whoami\n}}",
        bad.addr, good.addr
    ));
    let r = site
        .query(Case::new("x.sub.example.", RecordType::TXT))
        .await;
    assert_eq!(txt(&r), ["good"], "below an excepted name");
    let r = site.query(Case::new("sub.example.", RecordType::TXT)).await;
    assert_eq!(r.rcode(), ResponseCode::ServFail);
    let r = site
        .query(Case::new("a.deep.sub.example.", RecordType::TXT))
        .await;
    assert_eq!(txt(&r), ["good"]);
    // A name no stanza takes goes to the next plugin.
    let site = TestSite::new(&format!(
        ". {{\n forward example.org {} {{\n  except no.example.org\n }}\n whoami\n}}",
        good.addr
    ));
    let r = site
        .query(Case::new("www.no.example.org.", RecordType::A))
        .await;
    assert_eq!(r.plugin(), Some("whoami"));
    let r = site.query(Case::new("example.net.", RecordType::A)).await;
    assert_eq!(r.plugin(), Some("whoami"));
    let r = site
        .query(Case::new("www.example.org.", RecordType::TXT))
        .await;
    assert_eq!(r.plugin(), Some("forward"));
}

#[tokio::test]
async fn the_fast_lane_passes_only_what_no_stanza_takes() {
    let good = Fake::start(Mode::Answer, "good").await;
    let site = TestSite::new(&format!(
        ". {{\n forward example.org {}\n whoami\n}}",
        good.addr
    ));
    // Passed on: whoami answers it in the fast lane, as on the full path.
    let (full, fast) = site
        .both_lanes(&Case::new("example.net.", RecordType::A))
        .await;
    assert_eq!(fast.as_ref(), Some(&full));
    assert_eq!(Message::from_vec(&full).unwrap().additionals.len(), 2);
    let (full, fast) = site
        .both_lanes(&Case::new("www.example.org.", RecordType::TXT))
        .await;
    assert!(fast.is_none());
    assert!(Message::from_vec(&full).unwrap().answers.len() == 1);
}

#[tokio::test]
async fn max_concurrent_refuses_beyond_the_limit() {
    let silent = Fake::start(Mode::Drop, "silent").await;
    let site = Arc::new(TestSite::new(&format!(
        ". {{\n forward . {} {{\n  max_concurrent 2\n  read_timeout 1s\n  max_fails 0\n  max_connect_attempts 1\n }}\n}}",
        silent.addr
    )));
    let mut waiting = Vec::new();
    for i in 0..2 {
        let s = site.clone();
        waiting.push(tokio::spawn(async move {
            s.query(Case::new(&format!("q{i}.example."), RecordType::TXT))
                .await
                .rcode()
        }));
    }
    let deadline = Instant::now() + Duration::from_secs(2);
    while silent.queries() < 2 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(silent.queries(), 2);
    let rejects = || metric_value("coredns_forward_max_concurrent_rejects_total", &[]);
    let before = rejects();
    let r = site.query(Case::new("q3.example.", RecordType::TXT)).await;
    assert_eq!(r.rcode(), ResponseCode::Refused);
    // (No other unit test reaches this process-wide counter.)
    assert_eq!(rejects() - before, 1.0);
    assert_eq!(
        r.error.as_ref().unwrap().message,
        "concurrent queries exceeded maximum 2"
    );
    assert_eq!(silent.queries(), 2, "the refused query never left");
    for w in waiting {
        assert_eq!(w.await.unwrap(), ResponseCode::ServFail);
    }
    // The places are given back.
    silent.set(Mode::Answer);
    let r = site.query(Case::new("q4.example.", RecordType::TXT)).await;
    assert_eq!(txt(&r), ["silent"]);
}

/// Failed health checks of the upstream at `addr` (in the latest site built).
fn fails(addr: SocketAddr) -> u32 {
    super::handler::fails_of(addr).expect("an upstream at that address")
}

#[tokio::test]
async fn a_failing_upstream_is_marked_down_and_comes_back() {
    let dead = Fake::start(Mode::Drop, "dead").await;
    let good = Fake::start(Mode::Answer, "good").await;
    let site = TestSite::new(&format!(
        ". {{\n forward . {} {} {{\n  policy sequential\n  read_timeout 200ms\n  health_check 50ms\n  max_fails 1\n }}\n}}",
        dead.addr, good.addr
    ));
    let r = site.query(Case::new("a.example.", RecordType::TXT)).await;
    assert_eq!(txt(&r), ["good"]);
    // Probes (1 s timeout each) fail twice: down.
    let deadline = Instant::now() + Duration::from_secs(5);
    while fails(dead.addr) < 2 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(fails(dead.addr) >= 2, "{}", fails(dead.addr));
    assert!(dead.probes.load(Ordering::SeqCst) >= 2);
    // Down: skipped without being asked.
    let asked = dead.queries();
    let r = site.query(Case::new("b.example.", RecordType::TXT)).await;
    assert_eq!(txt(&r), ["good"]);
    assert_eq!(dead.queries(), asked, "a down upstream is not asked");
    // It answers again: the next probe resets it.
    dead.set(Mode::Answer);
    let deadline = Instant::now() + Duration::from_secs(5);
    while fails(dead.addr) > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(fails(dead.addr), 0);
    let r = site.query(Case::new("c.example.", RecordType::TXT)).await;
    assert_eq!(txt(&r), ["dead"]);
    // Every probe but the last failed.
    let failed = metric_value(
        "coredns_proxy_healthcheck_failures_total",
        &[("proxy_name", "forward"), ("to", &dead.addr.to_string())],
    );
    assert_eq!(failed, (dead.probes.load(Ordering::SeqCst) - 1) as f64);
    assert!(failed >= 2.0);
}

#[tokio::test]
async fn all_down_tries_one_anyway_or_fails_fast() {
    let dead = Fake::start(Mode::Drop, "dead").await;
    let corefile = |extra: &str| {
        format!(
            ". {{\n forward . {} {{\n  read_timeout 100ms\n  health_check 20ms\n  max_fails 1\n  max_connect_attempts 1\n{extra} }}\n}}",
            dead.addr
        )
    };
    // (No other unit test reaches this process-wide counter.)
    let broken = || metric_value("coredns_forward_healthcheck_broken_total", &[]);
    let before = broken();
    let site = TestSite::new(&corefile("  failfast_all_unhealthy_upstreams\n"));
    site.query(Case::new("a.example.", RecordType::TXT)).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    while fails(dead.addr) < 2 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let asked = dead.queries();
    let r = site.query(Case::new("b.example.", RecordType::TXT)).await;
    assert_eq!(r.rcode(), ResponseCode::ServFail);
    assert_eq!(r.error.as_ref().unwrap().message, "no healthy proxies");
    assert_eq!(dead.queries(), asked, "failfast: nobody asked");
    // Without failfast the (only, down) upstream is asked anyway.
    let site = TestSite::new(&corefile(""));
    site.query(Case::new("c.example.", RecordType::TXT)).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    while fails(dead.addr) < 2 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let asked = dead.queries();
    dead.set(Mode::Answer);
    let r = site.query(Case::new("d.example.", RecordType::TXT)).await;
    assert_eq!(txt(&r), ["dead"]);
    assert_eq!(dead.queries(), asked + 1);
    assert_eq!(broken() - before, 2.0, "b and d found every upstream down");
}

#[tokio::test]
async fn policies_order_the_upstreams() {
    let one = Fake::start(Mode::Answer, "one").await;
    let two = Fake::start(Mode::Answer, "two").await;
    let site = |policy: &str| {
        TestSite::new(&format!(
            ". {{\n forward . {} {} {{\n  policy {policy}\n }}\n}}",
            one.addr, two.addr
        ))
    };
    let seq = site("sequential");
    for _ in 0..5 {
        assert_eq!(
            txt(&seq.query(Case::new("a.example.", RecordType::TXT)).await),
            ["one"]
        );
    }
    let rr = site("round_robin");
    let mut got = Vec::new();
    for _ in 0..4 {
        got.extend(txt(&rr
            .query(Case::new("a.example.", RecordType::TXT))
            .await));
    }
    assert_eq!(got, ["two", "one", "two", "one"]);
    let random = site("random");
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..40 {
        seen.extend(txt(&random
            .query(Case::new("a.example.", RecordType::TXT))
            .await));
    }
    assert_eq!(seen.len(), 2, "40 coin flips all came out the same");
}

#[tokio::test]
async fn connections_are_reused() {
    let up = Fake::start(Mode::Answer, "up").await;
    let site = TestSite::new(&format!(
        ". {{\n forward . {} {{\n  force_tcp\n }}\n}}",
        up.addr
    ));
    for i in 0..5 {
        let r = site
            .query(Case::new(&format!("{i}.example."), RecordType::TXT))
            .await;
        assert_eq!(txt(&r), ["up"]);
    }
    assert_eq!(up.tcp.load(Ordering::SeqCst), 5);
    assert_eq!(
        up.accepted.load(Ordering::SeqCst),
        1,
        "one TCP connection for all"
    );
    // Over UDP too, one socket serves one query after the other.
    for i in 0..3 {
        let r = site_udp(&up)
            .query(Case::new(&format!("{i}.example."), RecordType::TXT))
            .await;
        assert_eq!(txt(&r), ["up"]);
    }
    // An expired connection is not reused.
    let site = TestSite::new(&format!(
        ". {{\n forward . {} {{\n  force_tcp\n  expire 100ms\n }}\n}}",
        up.addr
    ));
    site.query(Case::new("x.example.", RecordType::TXT)).await;
    tokio::time::sleep(Duration::from_millis(250)).await;
    site.query(Case::new("y.example.", RecordType::TXT)).await;
    assert_eq!(up.accepted.load(Ordering::SeqCst), 3);
    let _ = (DNSClass::IN, Proto::Udp);
}

fn site_udp(up: &Fake) -> TestSite {
    TestSite::new(&format!(". {{\n forward . {}\n}}", up.addr))
}

#[test]
fn readme_examples_load() {
    let examples: Vec<&str> = include_str!("README.md")
        .split("~~~ corefile\n")
        .skip(1)
        .map(|b| b.split("~~~").next().unwrap())
        .collect();
    assert_eq!(examples.len(), 5);
    for corefile in examples {
        let model = load(corefile);
        assert!(model.is_ok(), "{}", model.render_diagnostics());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn host_names_are_resolved_with_the_resolver() {
    // A resolver that knows dns.test (and a TXT answer for everything else).
    let resolver = Fake::start(Mode::Answer, "x").await;
    let up = Fake::start(Mode::Answer, "up").await;
    // The fake answers TXT for any question: no address, so it fails...
    let got = parse_err(&format!(
        ". {{\n forward . dns.test:{} {{\n  resolver {}\n }}\n}}",
        up.addr.port(),
        resolver.addr
    ));
    assert!(
        got.contains("failed to resolve \"dns.test\": no addresses found"),
        "{got}"
    );
    assert_eq!(resolver.queries(), 2, "A and AAAA");
    // ...and `localhost` through the system's resolver works.
    let site = TestSite::new(&format!(
        ". {{\n forward . localhost:{}\n}}",
        up.addr.port()
    ));
    let r = site.query(Case::new("a.example.", RecordType::TXT)).await;
    assert_eq!(txt(&r), ["up"]);
}

#[tokio::test]
async fn source_address_is_where_queries_come_from() {
    let up = Fake::start(Mode::Answer, "up").await;
    let site = TestSite::new(&format!(
        ". {{\n forward . {} {{\n  source_address 127.0.0.2\n }}\n}}",
        up.addr
    ));
    let r = site.query(Case::new("a.example.", RecordType::TXT)).await;
    assert_eq!(txt(&r), ["up"]);
    let from = up.last_from.lock().unwrap().expect("a query came");
    assert_eq!(from.ip().to_string(), "127.0.0.2");
}

#[tokio::test]
async fn health_checks_ask_what_they_are_told() {
    let dead = Fake::start(Mode::Drop, "dead").await;
    let site = TestSite::new(&format!(
        ". {{\n forward . {} {{\n  read_timeout 100ms\n  max_connect_attempts 1\n  health_check 50ms no_rec domain Example.NET\n }}\n}}",
        dead.addr
    ));
    site.query(Case::new("a.example.", RecordType::TXT)).await;
    let deadline = Instant::now() + Duration::from_secs(3);
    while dead.last_probe.lock().unwrap().is_none() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        dead.last_probe.lock().unwrap().clone(),
        Some(("example.net.".to_string(), false))
    );
    // By default: the root, with RD.
    let other = Fake::start(Mode::Drop, "other").await;
    let site = TestSite::new(&format!(
        ". {{\n forward . {} {{\n  read_timeout 100ms\n  max_connect_attempts 1\n }}\n}}",
        other.addr
    ));
    site.query(Case::new("a.example.", RecordType::TXT)).await;
    let deadline = Instant::now() + Duration::from_secs(3);
    while other.last_probe.lock().unwrap().is_none() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        other.last_probe.lock().unwrap().clone(),
        Some((".".to_string(), true))
    );
}

// ---------------------------------------------------------------- metrics

/// `name` of forward's upstream `to` with `extra` labels.
fn proxy_metric(name: &str, to: &str, extra: &[(&str, &str)]) -> f64 {
    let mut labels = vec![("proxy_name", "forward"), ("to", to)];
    labels.extend_from_slice(extra);
    metric_value(name, &labels)
}

#[tokio::test]
async fn metrics_time_each_exchange_and_count_connection_reuse() {
    let up = Fake::start(Mode::Answer, "m").await;
    let to = up.addr.to_string();
    let site = TestSite::new(&format!(". {{\n forward . {}\n}}", up.addr));
    for i in 0..3 {
        site.query(Case::new(&format!("{i}.example."), RecordType::TXT))
            .await;
    }
    for i in 0..2 {
        site.query(Case::new(&format!("t{i}.example."), RecordType::TXT).tcp())
            .await;
    }
    up.set(Mode::Servfail);
    site.query(Case::new("s.example.", RecordType::TXT)).await;
    let took = |rcode| {
        proxy_metric(
            "coredns_proxy_request_duration_seconds_count",
            &to,
            &[("rcode", rcode)],
        )
    };
    assert_eq!(took("NOERROR"), 5.0);
    assert_eq!(took("SERVFAIL"), 1.0);
    let conn = |hit: bool, proto| {
        let name = if hit {
            "coredns_proxy_conn_cache_hits_total"
        } else {
            "coredns_proxy_conn_cache_misses_total"
        };
        proxy_metric(name, &to, &[("proto", proto)])
    };
    assert_eq!((conn(false, "udp"), conn(true, "udp")), (1.0, 3.0));
    assert_eq!((conn(false, "tcp"), conn(true, "tcp")), (1.0, 1.0));
    assert_eq!(conn(false, "tcp-tls"), 0.0);
    // A silent upstream: a dial (a miss) but no reply to time.
    let silent = Fake::start(Mode::Drop, "silent").await;
    let site = TestSite::new(&format!(
        ". {{\n forward . {} {{\n  read_timeout 100ms\n  max_fails 0\n  max_connect_attempts 1\n }}\n}}",
        silent.addr
    ));
    site.query(Case::new("x.example.", RecordType::TXT)).await;
    let to = silent.addr.to_string();
    assert_eq!(conn_miss(&to, "udp"), 1.0);
    assert_eq!(
        proxy_metric(
            "coredns_proxy_request_duration_seconds_count",
            &to,
            &[("rcode", "SERVFAIL")]
        ),
        0.0
    );
}

fn conn_miss(to: &str, proto: &str) -> f64 {
    proxy_metric(
        "coredns_proxy_conn_cache_misses_total",
        to,
        &[("proto", proto)],
    )
}

#[test]
fn rcodes_are_read_with_their_extended_bits_and_named_as_coredns_does() {
    use super::metrics::{ProxyMetrics, reply_rcode};
    let mut m = Message::new(1, MessageType::Response, OpCode::Query);
    m.queries.push(crate::dns::Query::query(
        Name::from_ascii("a.example.").unwrap(),
        RecordType::TXT,
    ));
    m.answers.push(Record::from_rdata(
        Name::from_ascii("a.example.").unwrap(),
        60,
        RData::TXT(TXT::new(vec!["x".into()])),
    ));
    m.metadata.response_code = ResponseCode::NXDomain;
    assert_eq!(reply_rcode(&m.to_vec().unwrap()), 3);
    let mut e = crate::dns::Edns::new();
    e.set_max_payload(1232);
    m.edns = Some(e);
    m.metadata.response_code = ResponseCode::BADCOOKIE;
    let wire = m.to_vec().unwrap();
    assert_eq!(reply_rcode(&wire), 23);
    assert_eq!(reply_rcode(&wire[..20]), 7, "cut short: the header's bits");
    // Unnamed codes are numbers, as in CoreDNS's proxy metrics.
    let p = ProxyMetrics::new("192.0.2.77:5353".parse().unwrap());
    p.observe(23, Duration::from_millis(3));
    p.observe(12, Duration::from_millis(3));
    p.observe(12, Duration::from_millis(30));
    let count = |rcode| {
        proxy_metric(
            "coredns_proxy_request_duration_seconds_count",
            "192.0.2.77:5353",
            &[("rcode", rcode)],
        )
    };
    assert_eq!((count("BADCOOKIE"), count("12")), (1.0, 2.0));
    let le = |bound| {
        proxy_metric(
            "coredns_proxy_request_duration_seconds_bucket",
            "192.0.2.77:5353",
            &[("rcode", "12"), ("le", bound)],
        )
    };
    assert_eq!((le("0.004"), le("0.032"), le("8.192")), (1.0, 2.0, 2.0));
}

/// With *metadata*, `forward/upstream` names the upstream that answered,
/// as `IP:port`; without it the label is unset.
#[tokio::test]
async fn metadata_names_the_upstream() {
    let up = Fake::start(Mode::Answer, "meta").await;
    for (metadata, want) in [("metadata", up.addr.to_string()), ("", "-".to_string())] {
        let site = TestSite::new(&format!(
            ". {{\n {metadata}\n log . \"{{name}} {{/forward/upstream}}\"\n forward . {}\n}}",
            up.addr
        ));
        let (logs, _guard) = crate::testing::capture_logs();
        let r = site.query(Case::new("a.example.", RecordType::TXT)).await;
        assert_eq!(txt(&r), ["meta"]);
        assert_eq!(
            logs.lines(),
            [format!("[INFO] a.example. {want}")],
            "{metadata:?}"
        );
    }
}
