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
        2 + 52,
        "SOA, the 52 other records, SOA:\n{text}"
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
    let knot = Knot::start(
        free_port(),
        &format!(
            "remote:\n  - id: corec\n    address: 127.0.0.1@{}\n\
             template:\n  - id: default\n    storage: \"{{run}}\"\n    semantic-checks: off\n\
             zone:\n  - domain: example.org.\n    master: corec\n    file: \"{{run}}/example.org.zone\"\n",
            s.tcp.port()
        ),
    );
    let m = knot_answer(&knot, "www.example.org. 3600 IN A 192.0.2.10").await;
    assert!(
        m.is_some(),
        "Knot never served the transferred zone; its log:\n{}",
        knot.log()
    );
}

/// Waits (at most 20 s) until Knot answers www.example.org A with `want`.
async fn knot_answer(knot: &Knot, want: &str) -> Option<hickory_proto::op::Message> {
    let deadline = Instant::now() + Duration::from_secs(20);
    let q = query("www.example.org.", RecordType::A).to_vec().unwrap();
    while Instant::now() < deadline {
        if let Some(r) = udp_raw(knot.addr, &q, None).await {
            let m = hickory_proto::op::Message::from_vec(&r).unwrap();
            if answers(&m) == [want] && m.metadata.authoritative {
                return Some(m);
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    None
}

/// corec as a secondary of Knot: the first transfer, then a change on the
/// primary announced by NOTIFY (the SOA refresh is two hours, so only the
/// NOTIFY can make the new data appear within the test's time).
#[tokio::test(flavor = "multi_thread")]
async fn corec_is_a_secondary_of_knot_and_follows_notify() {
    let dir = tempfile::tempdir().unwrap();
    let zone = dir.path().join("example.org.zone");
    let write_zone = |serial: u32, ip: &str| {
        std::fs::write(
            &zone,
            format!("$ORIGIN example.org.\n$TTL 3600\n@ IN SOA ns1 hostmaster {serial} 7200 3600 1209600 300\n@ IN NS ns1\nns1 IN A 192.0.2.53\nwww IN A {ip}\n"),
        )
        .unwrap()
    };
    write_zone(1, "192.0.2.10");
    let knot_port = free_port();
    let corefile = dir.path().join("Corefile");
    std::fs::write(
        &corefile,
        format!("example.org:0 {{\n    bind 127.0.0.1\n    secondary {{\n        transfer from 127.0.0.1:{knot_port}\n    }}\n}}\n"),
    )
    .unwrap();
    let s = start_interpreted_file(&corefile);
    let knot = Knot::start(
        knot_port,
        &format!(
            "remote:\n  - id: corec\n    address: 127.0.0.1@{}\n\
             acl:\n  - id: xfr\n    address: 127.0.0.1\n    action: transfer\n\
             template:\n  - id: default\n    storage: \"{{run}}\"\n    semantic-checks: off\n    zonefile-sync: -1\n    journal-content: none\n\
             zone:\n  - domain: example.org.\n    file: \"{}\"\n    notify: corec\n    acl: xfr\n",
            s.udp.port(),
            zone.display()
        ),
    );
    let ask = || async { udp(s.udp, &query("www.example.org.", RecordType::A)).await };
    let wait_for = |want: &'static str| async move {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            let m = ask().await;
            if answers(&m) == [want] {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        false
    };
    let first = wait_for("www.example.org. 3600 IN A 192.0.2.10").await;
    write_zone(2, "192.0.2.20");
    let reloaded = knot.control(&["zone-reload", "example.org."]);
    let second = wait_for("www.example.org. 3600 IN A 192.0.2.20").await;
    assert!(
        first,
        "the first transfer from Knot; its log:\n{}",
        knot.log()
    );
    assert!(reloaded, "knotc zone-reload");
    assert!(
        second,
        "the NOTIFY-triggered transfer of serial 2; Knot's log:\n{}",
        knot.log()
    );
}

/// corec tells its secondaries of a new serial: Knot, secondary of corec,
/// picks up a change to corec's zone file through the NOTIFY corec sends
/// (the SOA refresh is two hours, so nothing else could make it that fast).
#[tokio::test(flavor = "multi_thread")]
async fn corec_notifies_its_secondary() {
    let dir = tempfile::tempdir().unwrap();
    let zone = dir.path().join("db.example.org");
    let write_zone = |serial: u32, ip: &str| {
        let tmp = zone.with_extension("tmp");
        std::fs::write(
            &tmp,
            format!("$ORIGIN example.org.\n$TTL 3600\n@ IN SOA ns1 hostmaster {serial} 7200 3600 1209600 300\n@ IN NS ns1\nns1 IN A 192.0.2.53\nwww IN A {ip}\n"),
        )
        .unwrap();
        std::fs::rename(&tmp, &zone).unwrap();
    };
    write_zone(1, "192.0.2.10");
    let knot_port = free_port();
    let corefile = dir.path().join("Corefile");
    std::fs::write(
        &corefile,
        format!(
            "example.org:0 {{\n    bind 127.0.0.1\n    file {} {{\n        reload 100ms\n    }}\n    transfer {{\n        to 127.0.0.1:{knot_port}\n    }}\n}}\n",
            zone.display()
        ),
    )
    .unwrap();
    let s = start_interpreted_file(&corefile);
    let knot = Knot::start(
        knot_port,
        &format!(
            "remote:\n  - id: corec\n    address: 127.0.0.1@{}\n\
             acl:\n  - id: notify\n    address: 127.0.0.1\n    action: notify\n\
             template:\n  - id: default\n    storage: \"{{run}}\"\n    semantic-checks: off\n\
             zone:\n  - domain: example.org.\n    master: corec\n    acl: notify\n    file: \"{{run}}/secondary.zone\"\n",
            s.tcp.port()
        ),
    );
    let mut first = knot_answer(&knot, "www.example.org. 3600 IN A 192.0.2.10")
        .await
        .is_some();
    if !first {
        // Knot waits a while before retrying a failed bootstrap; ask it again
        // (the NOTIFY below is what this test is about).
        knot.control(&["zone-retransfer", "example.org."]);
        first = knot_answer(&knot, "www.example.org. 3600 IN A 192.0.2.10")
            .await
            .is_some();
    }
    assert!(
        first,
        "Knot transferred the zone from corec; its log:\n{}",
        knot.log()
    );
    write_zone(2, "192.0.2.20");
    let second = knot_answer(&knot, "www.example.org. 3600 IN A 192.0.2.20")
        .await
        .is_some();
    assert!(
        second,
        "corec's NOTIFY made Knot fetch serial 2; its log:\n{}",
        knot.log()
    );
}
