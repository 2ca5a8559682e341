//! forward (and loop) against real upstreams: Unbound and Knot on
//! 127.0.0.1, plus a socket that never answers. Both modes for the basics.

use corec_tests::*;
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::{RData, RecordType};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const ZONE: &str = r#"
local-zone: "example.org." static
local-data: "www.example.org. 60 IN A 192.0.2.1"
local-data: "internal.example.org. 60 IN A 192.0.2.99"
"#;

/// An interpreted site from Corefile text, kept with its directory.
fn site(corefile: &str) -> (tempfile::TempDir, Running<corec_runtime::site::NoCompiled>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("Corefile");
    std::fs::write(&path, corefile).unwrap();
    let s = start_interpreted_file(&path);
    (dir, s)
}

fn block(body: &str) -> String {
    format!(".:0 {{\n    bind 127.0.0.1\n{body}\n}}\n")
}

fn addrs(m: &Message) -> Vec<String> {
    m.answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::A(a) => Some(a.0.to_string()),
            _ => None,
        })
        .collect()
}

fn rcode(m: &Message) -> ResponseCode {
    m.metadata.response_code
}

/// Unbound answering www.example.org with `ip`.
fn unbound_with(ip: &str) -> Unbound {
    Unbound::start(
        free_port(),
        &format!(
            "local-zone: \"example.org.\" static\nlocal-data: \"www.example.org. 60 IN A {ip}\""
        ),
    )
}

/// A UDP socket that reads queries and never answers; counts them.
struct Silent {
    addr: SocketAddr,
    seen: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Silent {
    async fn start() -> Silent {
        let sock = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = sock.local_addr().unwrap();
        let seen = Arc::new(AtomicUsize::new(0));
        let count = seen.clone();
        let task = tokio::spawn(async move {
            let mut buf = [0u8; 4096];
            while sock.recv_from(&mut buf).await.is_ok() {
                count.fetch_add(1, Ordering::SeqCst);
            }
        });
        Silent { addr, seen, task }
    }

    fn seen(&self) -> usize {
        self.seen.load(Ordering::SeqCst)
    }
}

impl Drop for Silent {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn answers_over_udp_and_tcp_interpreted() {
    let up = Unbound::start(free_port(), ZONE);
    let (_d, s) = site(&block(&format!("    forward . {}\n    whoami", up.addr)));
    let m = udp(s.udp, &query("www.example.org.", RecordType::A)).await;
    assert_eq!(addrs(&m), ["192.0.2.1"]);
    assert_eq!(m.metadata.id, 0x1234);
    let m = tcp(s.tcp, &query("www.example.org.", RecordType::A)).await;
    assert_eq!(addrs(&m), ["192.0.2.1"]);
    // A name Unbound has no data for: its NXDOMAIN comes through.
    let m = udp(s.udp, &query("nope.example.org.", RecordType::A)).await;
    assert_eq!(rcode(&m), ResponseCode::NXDomain);
    let out = dig(s.udp, &["www.example.org", "A", "+short"]);
    assert_eq!(out.trim(), "192.0.2.1");
}

#[tokio::test(flavor = "multi_thread")]
async fn answers_over_udp_and_tcp_compiled() {
    let port = loop {
        let p = free_port();
        if (20000..30000).contains(&p) {
            break p;
        }
    };
    let up = Unbound::start(port, ZONE);
    // SAFETY: Rust code reads the environment under std's lock; no test of
    // this binary reads it from C while this runs.
    #[allow(unsafe_code)]
    unsafe {
        std::env::set_var("COREC_FWD_PORT4", format!("{:04}", port - 20000));
    }
    let s = start_compiled(
        corec_macros::corefile!("../fixtures/forward/Corefile"),
        None,
    );
    let m = udp(s.udp, &query("www.example.org.", RecordType::A)).await;
    assert_eq!(addrs(&m), ["192.0.2.1"]);
    let m = tcp(s.tcp, &query("www.example.org.", RecordType::A)).await;
    assert_eq!(addrs(&m), ["192.0.2.1"]);
    // `except`: the name goes on to whoami instead.
    let m = udp(s.udp, &query("internal.example.org.", RecordType::A)).await;
    assert!(m.answers.is_empty(), "{m:?}");
    assert_eq!(m.additionals.len(), 2, "whoami's A and SRV: {m:?}");
    drop(up);
}

#[tokio::test(flavor = "multi_thread")]
async fn except_passes_names_to_the_next_plugin() {
    let up = Unbound::start(free_port(), ZONE);
    let (_d, s) = site(&block(&format!(
        "    forward . {} {{\n        except internal.example.org\n    }}\n    whoami",
        up.addr
    )));
    let m = udp(s.udp, &query("internal.example.org.", RecordType::A)).await;
    assert!(m.answers.is_empty());
    assert_eq!(m.additionals.len(), 2);
    let m = udp(s.udp, &query("www.example.org.", RecordType::A)).await;
    assert_eq!(addrs(&m), ["192.0.2.1"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn force_tcp_reaches_a_tcp_only_upstream() {
    let up = Unbound::start(free_port(), &format!("do-udp: no\n{ZONE}"));
    let (_d, plain) = site(&block(&format!(
        "    forward . {} {{\n        read_timeout 300ms\n        max_fails 0\n    }}",
        up.addr
    )));
    let m = udp(plain.udp, &query("www.example.org.", RecordType::A)).await;
    assert_eq!(
        rcode(&m),
        ResponseCode::ServFail,
        "UDP to a TCP-only upstream"
    );
    let (_d2, forced) = site(&block(&format!(
        "    forward . {} {{\n        force_tcp\n    }}",
        up.addr
    )));
    let m = udp(forced.udp, &query("www.example.org.", RecordType::A)).await;
    assert_eq!(addrs(&m), ["192.0.2.1"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn policies_sequential_and_round_robin() {
    let one = unbound_with("192.0.2.1");
    let two = unbound_with("192.0.2.2");
    let (_d, seq) = site(&block(&format!(
        "    forward . {} {} {{\n        policy sequential\n    }}",
        one.addr, two.addr
    )));
    for _ in 0..6 {
        let m = udp(seq.udp, &query("www.example.org.", RecordType::A)).await;
        assert_eq!(addrs(&m), ["192.0.2.1"]);
    }
    let (_d2, rr) = site(&block(&format!(
        "    forward . {} {} {{\n        policy round_robin\n    }}",
        one.addr, two.addr
    )));
    let mut got = Vec::new();
    for _ in 0..6 {
        got.extend(addrs(
            &udp(rr.udp, &query("www.example.org.", RecordType::A)).await,
        ));
    }
    assert_eq!(
        got.iter().filter(|a| *a == "192.0.2.1").count(),
        3,
        "{got:?}"
    );
    assert_eq!(
        got.iter().filter(|a| *a == "192.0.2.2").count(),
        3,
        "{got:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_upstream_is_skipped_and_used_again_when_back() {
    let mut one = unbound_with("192.0.2.1");
    let two = unbound_with("192.0.2.2");
    let (_d, s) = site(&block(&format!(
        "    forward . {} {} {{\n        policy sequential\n        health_check 100ms\n    }}",
        one.addr, two.addr
    )));
    let m = udp(s.udp, &query("www.example.org.", RecordType::A)).await;
    assert_eq!(addrs(&m), ["192.0.2.1"]);
    one.stop();
    for _ in 0..10 {
        let started = Instant::now();
        let m = udp(s.udp, &query("www.example.org.", RecordType::A)).await;
        assert_eq!(addrs(&m), ["192.0.2.2"]);
        assert!(started.elapsed() < Duration::from_secs(2));
    }
    one.restart();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let m = udp(s.udp, &query("www.example.org.", RecordType::A)).await;
        if addrs(&m) == ["192.0.2.1"] {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the restarted upstream is never used again"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_silent_upstream_times_out_to_the_next_within_read_timeout() {
    let silent = Silent::start().await;
    let up = Unbound::start(free_port(), ZONE);
    let (_d, s) = site(&block(&format!(
        "    forward . {} {} {{\n        policy sequential\n        read_timeout 400ms\n    }}",
        silent.addr, up.addr
    )));
    let started = Instant::now();
    let m = udp(s.udp, &query("www.example.org.", RecordType::A)).await;
    assert_eq!(addrs(&m), ["192.0.2.1"]);
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(350) && took < Duration::from_secs(3),
        "{took:?}"
    );
    assert!(silent.seen() >= 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn servfail_failover_and_next_stanza() {
    // Knot serves a zone whose file is missing: SERVFAIL for it.
    let knot = Knot::start(
        free_port(),
        "template:\n  - id: default\n    storage: \"{run}\"\nzone:\n  - domain: broken.test.\n    file: \"{run}/missing.zone\"\n",
    );
    let up = Unbound::start(
        free_port(),
        "local-zone: \"broken.test.\" static\nlocal-data: \"www.broken.test. 60 IN A 192.0.2.7\"",
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    while dig(knot.addr, &["www.broken.test", "A"])
        .find("SERVFAIL")
        .is_none()
    {
        assert!(Instant::now() < deadline, "knot: {}", knot.log());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let q = query("www.broken.test.", RecordType::A);
    let (_d1, plain) = site(&block(&format!(
        "    forward . {} {} {{\n        policy sequential\n    }}",
        knot.addr, up.addr
    )));
    assert_eq!(rcode(&udp(plain.udp, &q).await), ResponseCode::ServFail);
    let (_d2, failover) = site(&block(&format!(
        "    forward . {} {} {{\n        policy sequential\n        failover SERVFAIL\n    }}",
        knot.addr, up.addr
    )));
    assert_eq!(addrs(&udp(failover.udp, &q).await), ["192.0.2.7"]);
    let (_d3, next) = site(&block(&format!(
        "    forward . {} {{\n        next SERVFAIL\n    }}\n    forward . {}",
        knot.addr, up.addr
    )));
    assert_eq!(addrs(&udp(next.udp, &q).await), ["192.0.2.7"]);
    // `next` on the last stanza is ignored.
    let (_d4, last) = site(&block(&format!(
        "    forward . {} {{\n        next SERVFAIL\n    }}",
        knot.addr
    )));
    assert_eq!(rcode(&udp(last.udp, &q).await), ResponseCode::ServFail);
}

#[tokio::test(flavor = "multi_thread")]
async fn truncated_answers_and_the_tcp_retry() {
    let mut data = String::from("local-zone: \"example.org.\" static\n");
    for i in 0..30 {
        data.push_str(&format!(
            "local-data: \"big.example.org. 60 IN TXT \\\"record {i:02} padding padding padding padding padding\\\"\"\n"
        ));
    }
    let up = Unbound::start(free_port(), &data);
    let q = query("big.example.org.", RecordType::TXT);
    // Default: UDP in, UDP out; the client gets TC and asks again over TCP.
    let (_d, s) = site(&block(&format!("    forward . {}", up.addr)));
    let m = udp(s.udp, &q).await;
    assert!(m.metadata.truncation, "{m:?}");
    let m = tcp(s.tcp, &q).await;
    assert_eq!(m.answers.len(), 30);
    // prefer_udp: a TCP client's query goes over UDP, is truncated, and is
    // asked again over TCP: the client gets everything.
    let (_d2, p) = site(&block(&format!(
        "    forward . {} {{\n        prefer_udp\n    }}",
        up.addr
    )));
    let m = tcp(p.tcp, &q).await;
    assert!(!m.metadata.truncation);
    assert_eq!(m.answers.len(), 30);
}

#[tokio::test(flavor = "multi_thread")]
async fn max_concurrent_refuses_beyond_the_limit() {
    let silent = Silent::start().await;
    let (_d, s) = site(&block(&format!(
        "    forward . {} {{\n        max_concurrent 1\n        read_timeout 1s\n        max_connect_attempts 1\n        max_fails 0\n    }}",
        silent.addr
    )));
    let waiting = {
        let at = s.udp;
        tokio::spawn(async move {
            udp_raw(
                at,
                &query("a.example.org.", RecordType::A).to_vec().unwrap(),
                None,
            )
            .await
        })
    };
    let deadline = Instant::now() + Duration::from_secs(2);
    while silent.seen() == 0 {
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let m = udp(s.udp, &query("b.example.org.", RecordType::A)).await;
    assert_eq!(rcode(&m), ResponseCode::Refused);
    assert_eq!(silent.seen(), 1);
    let first = waiting.await.unwrap().expect("a reply within 2 s");
    assert_eq!(
        rcode(&Message::from_vec(&first).unwrap()),
        ResponseCode::ServFail
    );
}

/// A test CA and a certificate it signed for `dns.test` and 127.0.0.1:
/// (CA, cert, key), PEM files in `dir`.
fn test_cert(
    dir: &std::path::Path,
) -> (std::path::PathBuf, std::path::PathBuf, std::path::PathBuf) {
    let openssl = |args: &[&str]| {
        let ok = std::process::Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .stderr(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .status()
            .expect("openssl is installed")
            .success();
        assert!(ok, "openssl {args:?} failed");
    };
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    openssl(
        &[
            &["req", "-x509"][..],
            &ec,
            &[
                "-days",
                "2",
                "-subj",
                "/CN=corec test CA",
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
            ],
        ]
        .concat(),
    );
    openssl(
        &[
            &["req"][..],
            &ec,
            &[
                "-subj",
                "/CN=dns.test",
                "-keyout",
                "key.pem",
                "-out",
                "leaf.csr",
            ],
        ]
        .concat(),
    );
    std::fs::write(
        dir.join("leaf.ext"),
        "subjectAltName=DNS:dns.test,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        "leaf.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "leaf.ext",
        "-out",
        "cert.pem",
    ]);
    (
        dir.join("ca.pem"),
        dir.join("cert.pem"),
        dir.join("key.pem"),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn dns_over_tls_to_unbound() {
    let certs = tempfile::tempdir().unwrap();
    let (ca, cert, key) = test_cert(certs.path());
    let up = Unbound::start_with(free_port(), Some((free_port(), &cert, &key)), ZONE);
    let tls = up.tls_addr.unwrap();
    let q = query("www.example.org.", RecordType::A);
    // SNI from the address, from `tls_servername`, and the IP itself.
    for to in [
        format!("tls://127.0.0.1%dns.test:{}", tls.port()),
        format!(
            "tls://{tls} {{\n        tls {}\n        tls_servername dns.test\n    }}",
            ca.display()
        ),
        format!("tls://{tls} {{\n        tls {}\n    }}", ca.display()),
    ] {
        let to = if to.contains('{') {
            to
        } else {
            format!("{to} {{\n        tls {}\n    }}", ca.display())
        };
        let (_d, s) = site(&block(&format!("    forward . {to}")));
        let m = udp(s.udp, &q).await;
        assert_eq!(addrs(&m), ["192.0.2.1"], "{to}");
        let m = tcp(s.tcp, &q).await;
        assert_eq!(addrs(&m), ["192.0.2.1"], "{to}");
    }
    // A name the certificate does not have: the handshake fails.
    let (_d, s) = site(&block(&format!(
        "    forward . tls://127.0.0.1%other.test:{} {{\n        tls {}\n        max_fails 0\n    }}",
        tls.port(),
        ca.display()
    )));
    assert_eq!(rcode(&udp(s.udp, &q).await), ResponseCode::ServFail);
    // Without the CA (system roots only) too.
    let (_d, s) = site(&block(&format!(
        "    forward . tls://127.0.0.1%dns.test:{} {{\n        max_fails 0\n    }}",
        tls.port()
    )));
    assert_eq!(rcode(&udp(s.udp, &q).await), ResponseCode::ServFail);
}

#[tokio::test(flavor = "multi_thread")]
async fn loop_detects_a_server_forwarding_to_itself() {
    let detected: Arc<Mutex<Vec<String>>> = Arc::default();
    let d = detected.clone();
    corec_runtime::plugins::loop_::on_loop_detected(move |m| d.lock().unwrap().push(m.to_string()));
    let up = Unbound::start(free_port(), ZONE);
    let (looping, fine) = (free_port(), free_port());
    let (_d1, _s1) = site(&format!(
        ".:{looping} {{\n    bind 127.0.0.1\n    loop\n    forward . 127.0.0.1:{looping}\n}}\n"
    ));
    let (_d2, _s2) = site(&format!(
        ".:{fine} {{\n    bind 127.0.0.1\n    loop\n    forward . {}\n}}\n",
        up.addr
    ));
    let deadline = Instant::now() + Duration::from_secs(10);
    let wanted = format!(
        " -> 127.0.0.1:{looping}) detected for zone \".\", see https://coredns.io/plugins/loop#troubleshooting. Query: \"HINFO "
    );
    loop {
        if detected.lock().unwrap().iter().any(|m| m.contains(&wanted)) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no loop detected: {:?}",
            detected.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let message = detected.lock().unwrap()[0].clone();
    assert!(message.starts_with("Loop (127.0.0.1:"), "{message}");
    // The other server's probe went to Unbound and came back answered.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let all = detected.lock().unwrap().clone();
    assert!(
        all.iter()
            .all(|m| !m.contains(&format!("127.0.0.1:{fine})"))),
        "{all:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn chaos_class_queries_are_forwarded() {
    // One corec answers CH TXT version.bind; another forwards to it.
    let (_d1, chaos) = site(&block("    chaos corec-upstream"));
    let (_d2, s) = site(&block(&format!("    forward . {}", chaos.udp)));
    let m = udp(
        s.udp,
        &query_class(
            "version.bind.",
            RecordType::TXT,
            hickory_proto::rr::DNSClass::CH,
        ),
    )
    .await;
    assert_eq!(rcode(&m), ResponseCode::NoError);
    let txt: Vec<String> = m.answers.iter().map(|r| r.data.to_string()).collect();
    assert_eq!(txt, ["corec-upstream"], "{m:?}");
}

/// cache in front of forward, with Unbound as the upstream: once answered,
/// a name keeps being answered from the cache (over UDP through the fast
/// lane, and over TCP) after Unbound is gone, its TTL counting down from
/// Unbound's; a name never asked before then fails.
#[tokio::test(flavor = "multi_thread")]
async fn cache_answers_after_the_upstream_is_gone() {
    let mut up = Unbound::start(free_port(), ZONE);
    let (_dir, s) = site(&block(&format!(
        "    forward . {}\n    cache 3600",
        up.addr
    )));
    let q = query("www.example.org.", RecordType::A);
    let first = udp(s.udp, &q).await;
    assert_eq!(addrs(&first), ["192.0.2.1"]);
    assert_eq!(first.answers[0].ttl, 60);
    up.stop();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    for m in [udp(s.udp, &q).await, tcp(s.tcp, &q).await] {
        assert_eq!(rcode(&m), ResponseCode::NoError);
        assert_eq!(addrs(&m), ["192.0.2.1"]);
        assert!((50..60).contains(&m.answers[0].ttl), "{}", m.answers[0].ttl);
    }
    let other = udp(s.udp, &query("internal.example.org.", RecordType::A)).await;
    assert_eq!(rcode(&other), ResponseCode::ServFail);
}

/// The Corefile Kubernetes installs by default, with `kubernetes` removed
/// (corec does not have it yet), the upstream pointed at a test Unbound
/// and the side listeners on free loopback ports: it loads, serves through
/// forward and cache, health and ready answer, and /metrics counts both.
#[tokio::test(flavor = "multi_thread")]
async fn the_default_kubernetes_corefile_without_kubernetes_serves() {
    let up = Unbound::start(free_port(), ZONE);
    let (health, ready, metrics) = (free_port(), free_port(), free_port());
    let corefile = format!(
        ".:0 {{
    errors
    health 127.0.0.1:{health} {{
       lameduck 5s
    }}
    ready 127.0.0.1:{ready}
    prometheus 127.0.0.1:{metrics}
    forward . {} {{
       max_concurrent 1000
    }}
    cache 30
    loop
    reload
    loadbalance
}}
",
        up.addr
    );
    let (_dir, s) = site(&corefile);
    let q = query("www.example.org.", RecordType::A);
    for m in [udp(s.udp, &q).await, tcp(s.tcp, &q).await] {
        assert_eq!(addrs(&m), ["192.0.2.1"]);
        assert!(m.answers[0].ttl <= 30, "cache 30 caps the TTL");
    }
    let health = SocketAddr::from(([127, 0, 0, 1], health));
    let ready = SocketAddr::from(([127, 0, 0, 1], ready));
    assert_eq!(http_get(health, "/health").await, Some((200, "OK".into())));
    let ok = eventually(5, || async {
        http_get(ready, "/ready")
            .await
            .filter(|(code, _)| *code == 200)
    })
    .await;
    assert_eq!(ok, Some((200, "OK".into())));
    // The UDP query went upstream, the TCP one came from the cache.
    let metrics = SocketAddr::from(([127, 0, 0, 1], metrics));
    let (status, body) = http_get(metrics, "/metrics").await.expect("/metrics");
    assert_eq!(status, 200);
    for series in [
        r#"coredns_dns_responses_total{plugin="forward",rcode="NOERROR",server="dns://:0",view="",zone="."} 1"#,
        r#"coredns_dns_responses_total{plugin="cache",rcode="NOERROR",server="dns://:0",view="",zone="."} 1"#,
    ] {
        assert!(body.lines().any(|l| l == series), "{series} in\n{body}");
    }
}
