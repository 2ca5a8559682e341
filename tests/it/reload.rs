//! Reload: a valid change swaps the site, an invalid one keeps the old
//! site serving, an unchanged Corefile does nothing, a compiled site
//! switches to interpreted chains, and no query is lost while a client
//! sends continuously through 20 reloads.

use corec_runtime::reload::Reloaded;
use corec_tests::*;
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{DNSClass, RecordType};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

const WHOAMI: &str = "example.org:0 {\n    whoami\n}\n";
const CHAOS: &str = ".:0 {\n    chaos v2\n}\n";

fn temp_corefile(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("Corefile");
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

#[tokio::test(flavor = "multi_thread")]
async fn valid_invalid_and_unchanged() {
    let (_dir, path) = temp_corefile(WHOAMI);
    let s = start_interpreted_file(&path);
    let before = udp(s.udp, &query("a.example.org.", RecordType::A)).await;
    assert_eq!(before.additionals.len(), 2, "whoami answers");

    assert_eq!(s.reloader.reload().await, Reloaded::Unchanged);

    std::fs::write(&path, "example.org:0 {\n    whoam\n}\n").unwrap();
    match s.reloader.reload().await {
        Reloaded::Failed(why) => {
            assert!(why.contains("Unknown directive 'whoam'"), "{why}");
            assert!(why.contains("Corefile:2:5"), "{why}");
        }
        other => panic!("a broken Corefile was accepted: {other:?}"),
    }
    let still = udp(s.udp, &query("a.example.org.", RecordType::A)).await;
    assert_eq!(still.additionals.len(), 2, "the old site keeps serving");

    std::fs::write(&path, CHAOS).unwrap();
    assert_eq!(s.reloader.reload().await, Reloaded::Swapped);
    let after = udp(
        s.udp,
        &query_class("version.bind.", RecordType::TXT, DNSClass::CH),
    )
    .await;
    assert_eq!(answers(&after), ["version.bind. 0 CH TXT v2"]);
    assert_eq!(s.udp, s.udp, "same socket");
}

#[tokio::test(flavor = "multi_thread")]
async fn compiled_site_switches_to_interpreted_on_change() {
    let (_dir, path) = temp_corefile(CHAOS);
    let s = start_compiled(
        corec_macros::corefile!("../fixtures/reload/Corefile"),
        Some(path.clone()),
    );
    assert!(s.server.current().is_compiled());
    let m = udp(s.udp, &query("a.example.org.", RecordType::A)).await;
    assert_eq!(m.additionals.len(), 2, "compiled whoami answers");

    // The site links only whoami: a Corefile that needs chaos is rejected.
    match s.reloader.reload().await {
        Reloaded::Failed(why) => {
            assert!(
                why.contains("this binary was built without the 'chaos' plugin"),
                "{why}"
            )
        }
        other => panic!("chaos is not linked, yet: {other:?}"),
    }
    assert!(s.server.current().is_compiled(), "still the compiled site");

    std::fs::write(&path, "example.org:0 example.net:0 {\n    whoami\n}\n").unwrap();
    let before = udp(s.udp, &query("a.example.net.", RecordType::A)).await;
    assert_eq!(before.metadata.response_code, ResponseCode::Refused);
    assert_eq!(s.reloader.reload().await, Reloaded::Swapped);
    assert!(!s.server.current().is_compiled(), "now interpreted");
    let after = udp(s.udp, &query("a.example.net.", RecordType::A)).await;
    assert_eq!(after.metadata.response_code, ResponseCode::NoError);
    assert_eq!(
        after.additionals.len(),
        2,
        "the new zone is served by whoami"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reload_that_cannot_bind_keeps_the_old_site() {
    let taken = std::net::UdpSocket::bind("0.0.0.0:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let (_dir, path) = temp_corefile(WHOAMI);
    let s = start_interpreted_file(&path);
    std::fs::write(
        &path,
        format!("{WHOAMI}example.net:{port} {{\n    whoami\n}}\n"),
    )
    .unwrap();
    assert!(matches!(s.reloader.reload().await, Reloaded::Failed(e) if e.contains("Listen")));
    let m = udp(s.udp, &query("a.example.org.", RecordType::A)).await;
    assert_eq!(m.additionals.len(), 2);
    drop(taken);
}

#[tokio::test(flavor = "multi_thread")]
async fn no_query_is_lost_during_twenty_reloads() {
    let (_dir, path) = temp_corefile(WHOAMI);
    let s = start_interpreted_file(&path);
    let addr = s.udp;
    let stop = Arc::new(AtomicBool::new(false));
    let (sent, lost, chaos_seen) = (
        Arc::new(AtomicUsize::new(0)),
        Arc::new(AtomicUsize::new(0)),
        Arc::new(AtomicUsize::new(0)),
    );
    let client = {
        let (stop, sent, lost, chaos_seen) =
            (stop.clone(), sent.clone(), lost.clone(), chaos_seen.clone());
        tokio::spawn(async move {
            let q = query_class("version.bind.", RecordType::TXT, DNSClass::CH)
                .to_vec()
                .unwrap();
            let sock = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
            // Bounded: at most 20,000 queries.
            while !stop.load(Ordering::Relaxed) && sent.load(Ordering::Relaxed) < 20_000 {
                sent.fetch_add(1, Ordering::Relaxed);
                match udp_raw(addr, &q, Some(&sock)).await {
                    Some(r) => {
                        let m = hickory_proto::op::Message::from_vec(&r).unwrap();
                        if m.metadata.response_code == ResponseCode::NoError
                            && !m.answers.is_empty()
                        {
                            chaos_seen.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    None => {
                        lost.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        })
    };
    for i in 0..20 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let text = if i % 2 == 0 {
            CHAOS.replace("v2", &format!("v{i}"))
        } else {
            WHOAMI.to_string()
        };
        std::fs::write(&path, text).unwrap();
        assert_eq!(s.reloader.reload().await, Reloaded::Swapped, "reload {i}");
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    stop.store(true, Ordering::Relaxed);
    client.await.unwrap();
    let sent = sent.load(Ordering::Relaxed);
    assert!(sent > 20, "the client kept sending ({sent})");
    assert_eq!(
        lost.load(Ordering::Relaxed),
        0,
        "lost queries out of {sent}"
    );
    assert!(
        chaos_seen.load(Ordering::Relaxed) > 0,
        "answers switched with the reloads"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn reload_adds_and_removes_listeners() {
    let port = free_port();
    let extra: std::net::SocketAddr = ([127, 0, 0, 1], port).into();
    let (_dir, path) = temp_corefile(WHOAMI);
    let s = start_interpreted_file(&path);

    std::fs::write(
        &path,
        format!("{WHOAMI}example.net:{port} {{\n    whoami\n}}\n"),
    )
    .unwrap();
    assert_eq!(s.reloader.reload().await, Reloaded::Swapped);
    let m = udp(extra, &query("a.example.net.", RecordType::A)).await;
    assert_eq!(m.additionals.len(), 2, "the new listener answers");
    let m = udp(s.udp, &query("a.example.org.", RecordType::A)).await;
    assert_eq!(m.additionals.len(), 2, "the kept listener still answers");

    std::fs::write(&path, WHOAMI).unwrap();
    assert_eq!(s.reloader.reload().await, Reloaded::Swapped);
    let bytes = query("a.example.net.", RecordType::A).to_vec().unwrap();
    assert_eq!(
        udp_raw(extra, &bytes, None).await,
        None,
        "the removed listener is closed"
    );
    let m = udp(s.udp, &query("a.example.org.", RecordType::A)).await;
    assert_eq!(m.additionals.len(), 2);
}

/// A zone file rewritten 20 times while a client queries continuously: no
/// query is lost and the answers follow the serial.
#[tokio::test(flavor = "multi_thread")]
async fn zone_file_changes_under_load_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let zone = dir.path().join("db.example.org");
    let write_zone = |serial: u32| {
        let text = format!(
            "$TTL 60\n@ IN SOA ns hm {serial} 2 3 4 5\n@ IN NS ns\nns IN A 192.0.2.1\nv IN TXT \"{serial}\"\n"
        );
        // Write then rename, as zone editors and deploy tools do.
        let tmp = zone.with_extension("tmp");
        std::fs::write(&tmp, text).unwrap();
        std::fs::rename(&tmp, &zone).unwrap();
    };
    write_zone(1);
    let corefile = dir.path().join("Corefile");
    std::fs::write(
        &corefile,
        format!(
            "example.org:0 {{\n    file {} {{\n        reload 20ms\n    }}\n}}\n",
            zone.display()
        ),
    )
    .unwrap();
    let s = start_interpreted_file(&corefile);
    let addr = s.udp;
    let stop = Arc::new(AtomicBool::new(false));
    let (sent, lost, last_seen) = (
        Arc::new(AtomicUsize::new(0)),
        Arc::new(AtomicUsize::new(0)),
        Arc::new(AtomicUsize::new(0)),
    );
    let client = {
        let (stop, sent, lost, last_seen) =
            (stop.clone(), sent.clone(), lost.clone(), last_seen.clone());
        tokio::spawn(async move {
            let q = query("v.example.org.", RecordType::TXT).to_vec().unwrap();
            let sock = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
            while !stop.load(Ordering::Relaxed) && sent.load(Ordering::Relaxed) < 50_000 {
                sent.fetch_add(1, Ordering::Relaxed);
                match udp_raw(addr, &q, Some(&sock)).await {
                    Some(r) => {
                        let m = hickory_proto::op::Message::from_vec(&r).unwrap();
                        if let Some(t) = m.answers.first() {
                            let serial: usize =
                                t.data.to_string().trim_matches('"').parse().unwrap();
                            last_seen.store(serial, Ordering::Relaxed);
                        }
                    }
                    None => {
                        lost.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        })
    };
    for serial in 2..=21 {
        tokio::time::sleep(Duration::from_millis(60)).await;
        write_zone(serial);
    }
    // Wait (bounded) for the last serial to be served.
    for _ in 0..100 {
        if last_seen.load(Ordering::Relaxed) == 21 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    stop.store(true, Ordering::Relaxed);
    client.await.unwrap();
    let sent = sent.load(Ordering::Relaxed);
    assert_eq!(
        lost.load(Ordering::Relaxed),
        0,
        "lost queries out of {sent}"
    );
    assert_eq!(
        last_seen.load(Ordering::Relaxed),
        21,
        "the last serial is served"
    );
}
