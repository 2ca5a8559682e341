//! Zone transfers out of corec, checked with real peers: `kdig axfr`, and
//! Knot DNS as a secondary that pulls the zone from corec and serves it.

use corec_tests::*;
use hickory_proto::rr::RecordType;
use std::process::Command;
use std::time::{Duration, Instant};

fn zone_path() -> std::path::PathBuf {
    std::path::absolute("fixtures/differential/example.org.zone").unwrap()
}

fn start_primary() -> (tempfile::TempDir, Running<corec_runtime::site::NoCompiled>) {
    let dir = tempfile::tempdir().unwrap();
    let corefile = dir.path().join("Corefile");
    std::fs::write(
        &corefile,
        format!("example.org:0 {{\n    bind 127.0.0.1\n    file {}\n    transfer {{\n        to 127.0.0.1\n    }}\n}}\n", zone_path().display()),
    )
    .unwrap();
    let s = start_interpreted_file(&corefile);
    (dir, s)
}

#[tokio::test(flavor = "multi_thread")]
async fn kdig_axfr_gets_the_whole_zone() {
    let (_dir, s) = start_primary();
    let out = Command::new("kdig")
        .args([
            format!("@{}", s.tcp.ip()),
            "-p".into(),
            s.tcp.port().to_string(),
            "example.org.".into(),
            "AXFR".into(),
            "+nocomments".into(),
        ])
        .output()
        .expect("kdig is installed (apt-get install knot-dnsutils)");
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with(';') && !l.trim().is_empty())
        .collect();
    assert!(lines.first().is_some_and(|l| l.contains("SOA")), "{text}");
    assert!(lines.last().is_some_and(|l| l.contains("SOA")), "{text}");
    assert_eq!(
        lines.len(),
        2 + 32,
        "SOA, the 32 other records, SOA:\n{text}"
    );
    // Over UDP a transfer is refused.
    let m = udp(s.udp, &query("example.org.", RecordType::AXFR)).await;
    assert_eq!(
        m.metadata.response_code,
        hickory_proto::op::ResponseCode::Refused
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn knot_is_a_secondary_of_corec() {
    let (_dir, s) = start_primary();
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let run = dir.path().display();
    let conf = dir.path().join("knot.conf");
    std::fs::write(
        &conf,
        format!(
            "server:\n    rundir: \"{run}\"\n    listen: 127.0.0.1@{port}\n    udp-workers: 1\n    tcp-workers: 1\n    background-workers: 1\n\
             database:\n    storage: \"{run}/db\"\ncontrol:\n    listen: \"{run}/knot.sock\"\n\
             log:\n  - target: \"{run}/knot.log\"\n    any: info\n\
             remote:\n  - id: corec\n    address: 127.0.0.1@{}\n\
             template:\n  - id: default\n    storage: \"{run}\"\n    semantic-checks: off\n\
             zone:\n  - domain: example.org.\n    master: corec\n    file: \"{run}/example.org.zone\"\n",
            s.tcp.port()
        ),
    )
    .unwrap();
    let mut knot = Command::new("knotd")
        .args(["-c", conf.to_str().unwrap()])
        .spawn()
        .expect("knotd");
    let knot_addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut served = None;
    while Instant::now() < deadline {
        let q = query("www.example.org.", RecordType::A).to_vec().unwrap();
        if let Some(r) = udp_raw(knot_addr, &q, None).await {
            let m = hickory_proto::op::Message::from_vec(&r).unwrap();
            if !m.answers.is_empty() {
                served = Some(m);
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = knot.kill();
    let _ = knot.wait();
    let m = served
        .unwrap_or_else(|| panic!("Knot never served the transferred zone; see {run}/knot.log"));
    assert_eq!(answers(&m), ["www.example.org. 3600 IN A 192.0.2.10"]);
    assert!(m.metadata.authoritative);
}
