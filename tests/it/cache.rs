//! *cache* in front of *file*, in both modes: a repeated query is answered
//! from the cache (the zone changed, the answer did not), its TTL counts
//! down, and it expires.

use corec_tests::*;
use hickory_proto::op::Message;
use hickory_proto::rr::{RData, RecordType};
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

/// The zone with serial `serial` and www at 192.0.2.`last`.
fn zone(serial: u32, last: u8) -> String {
    format!(
        "$ORIGIN example.org.\n$TTL 3600\n\
         @ IN SOA ns1 hostmaster {serial} 7200 3600 1209600 300\n\
         \x20 IN NS ns1\n\
         ns1 IN A 192.0.2.53\n\
         www IN A 192.0.2.{last}\n\
         probe IN TXT \"serial {serial}\"\n"
    )
}

fn address(m: &Message) -> Option<u8> {
    m.answers.iter().find_map(|r| match &r.data {
        RData::A(a) => Some(a.0.octets()[3]),
        _ => None,
    })
}

async fn www(at: SocketAddr) -> (Option<u8>, u32) {
    let m = udp(at, &query("www.example.org.", RecordType::A)).await;
    (address(&m), m.answers.first().map_or(0, |r| r.ttl))
}

/// The behaviour every mode must show; `path` is the zone file the server reads.
async fn cached_until_expiry(at: SocketAddr, path: &Path) {
    let first = Instant::now();
    let (addr, ttl) = www(at).await;
    assert_eq!(addr, Some(1));
    assert_eq!(ttl, 5, "the zone's 3600 s capped by `cache 5`");
    // Over TCP too: the same entry.
    let m = tcp(at, &query("www.example.org.", RecordType::A)).await;
    assert_eq!(address(&m), Some(1));
    assert!(m.metadata.authoritative);

    std::fs::write(path, zone(2, 2)).unwrap();
    let deadline = Instant::now() + Duration::from_secs(4);
    loop {
        let m = udp(at, &query("probe.example.org.", RecordType::TXT)).await;
        if answers(&m).iter().any(|a| a.contains("serial 2")) {
            break;
        }
        assert!(Instant::now() < deadline, "the file plugin did not reload");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        first.elapsed() < Duration::from_secs(4),
        "the reload took too long for this test to prove anything"
    );
    // The backend has the new address; the cache still answers the old one.
    let (addr, ttl) = www(at).await;
    assert_eq!(addr, Some(1), "answered from the cache");
    assert!((1..=5).contains(&ttl), "{ttl}");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (addr, later) = www(at).await;
    if addr == Some(1) {
        assert!(later < ttl, "the TTL counts down: {ttl} then {later}");
    }
    // After the TTL, the new address.
    let deadline = Instant::now() + Duration::from_secs(8);
    loop {
        if www(at).await.0 == Some(2) {
            break;
        }
        assert!(Instant::now() < deadline, "the cached answer never expired");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (_, ttl) = www(at).await;
    assert!((4..=5).contains(&ttl), "a fresh entry: {ttl}");
}

#[tokio::test(flavor = "multi_thread")]
async fn interpreted_cache_answers_until_the_ttl_runs_out() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("example.org.zone");
    std::fs::write(&path, zone(1, 1)).unwrap();
    let corefile = std::fs::read_to_string(workspace().join("tests/fixtures/cache/Corefile"))
        .unwrap()
        .replace("{$CACHE_IT_ZONE}", &path.display().to_string());
    let conf = dir.path().join("Corefile");
    std::fs::write(&conf, corefile).unwrap();
    let s = start_interpreted_file(&conf);
    cached_until_expiry(s.udp, &path).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn compiled_cache_answers_until_the_ttl_runs_out() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("example.org.zone");
    std::fs::write(&path, zone(1, 1)).unwrap();
    // SAFETY: only this test reads or writes CACHE_IT_ZONE, and it is set
    // before the server that reads it starts.
    #[allow(unsafe_code)]
    unsafe {
        std::env::set_var("CACHE_IT_ZONE", &path);
    }
    let s = start_compiled(corec_macros::corefile!("../fixtures/cache/Corefile"), None);
    cached_until_expiry(s.udp, &path).await;
}

/// `prefetch` refreshes an entry in the background through the running
/// server itself: the new answer shows up before the old one expires.
#[tokio::test(flavor = "multi_thread")]
async fn prefetch_refreshes_through_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("example.org.zone");
    std::fs::write(&path, zone(1, 1)).unwrap();
    let conf = dir.path().join("Corefile");
    std::fs::write(
        &conf,
        format!(
            "example.org:0 {{\n log\n cache 30 {{\n  prefetch 1 1m 90%\n  disable success probe.example.org\n }}\n file {} {{\n  reload 100ms\n }}\n}}\n",
            path.display()
        ),
    )
    .unwrap();
    let s = start_interpreted_file(&conf);
    let first = Instant::now();
    assert_eq!(www(s.udp).await, (Some(1), 30));
    std::fs::write(&path, zone(2, 2)).unwrap();
    let deadline = Instant::now() + Duration::from_secs(4);
    loop {
        let m = udp(s.udp, &query("probe.example.org.", RecordType::TXT)).await;
        if answers(&m).iter().any(|a| a.contains("serial 2")) {
            break;
        }
        assert!(Instant::now() < deadline, "the file plugin did not reload");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Three seconds in, 27 s left of 30: below 90%, and a hit. The cached
    // answer is served and a refresh starts.
    tokio::time::sleep(Duration::from_secs(3).saturating_sub(first.elapsed())).await;
    let (addr, ttl) = www(s.udp).await;
    assert_eq!(addr, Some(1));
    assert!(ttl <= 27, "{ttl}");
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (addr, ttl) = www(s.udp).await;
        if addr == Some(2) {
            assert!(ttl >= 25, "a fresh entry: {ttl}");
            break;
        }
        assert!(Instant::now() < deadline, "the entry was not prefetched");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        first.elapsed() < Duration::from_secs(20),
        "long before expiry"
    );
}
