//! Plugin metrics over real sockets: acl and cache count the same in both
//! modes, fast lane included, and the cache's counters survive a reload
//! while the old cache's entries go with the old site.

use corec_runtime::reload::Reloaded;
use corec_runtime::site::CompiledBlocks;
use corec_tests::*;
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;
use std::path::{Path, PathBuf};

/// The value of the series of `name` whose labels include every one of
/// `labels` (`key="value"`), from `/metrics` of `s` (0 if absent).
async fn metric<C: CompiledBlocks>(s: &Running<C>, name: &str, labels: &[&str]) -> f64 {
    let at = s.http_addr("127.0.0.1:0").expect("the metrics listener");
    let (status, body) = http_get(at, "/metrics").await.expect("/metrics answers");
    assert_eq!(status, 200);
    let found: Vec<f64> = body
        .lines()
        .filter(|l| l.starts_with(&format!("{name}{{")))
        .filter(|l| labels.iter().all(|want| l.contains(want)))
        .map(|l| l.rsplit_once(' ').unwrap().1.parse().unwrap())
        .collect();
    assert!(found.len() <= 1, "{name} {labels:?}: {found:?}");
    found.first().copied().unwrap_or(0.0)
}

/// What one mode adds to the counters for two A queries and an MX query.
async fn count_in<C: CompiledBlocks>(s: &Running<C>, mode: &str) {
    let zone = ["zone=\"metrics.test.\""];
    let zones = ["zones=\"metrics.test.\""];
    let hits = ["zones=\"metrics.test.\"", "type=\"success\""];
    let before = (
        metric(s, "coredns_acl_allowed_requests_total", &[]).await,
        metric(s, "coredns_acl_blocked_requests_total", &zone).await,
        metric(s, "coredns_cache_requests_total", &zones).await,
        metric(s, "coredns_cache_hits_total", &hits).await,
    );
    for _ in 0..2 {
        let m = udp(s.udp, &query("a.metrics.test.", RecordType::A)).await;
        assert_eq!(answers(&m), ["a.metrics.test. 60 IN A 192.0.2.1"], "{mode}");
    }
    let m = udp(s.udp, &query("a.metrics.test.", RecordType::MX)).await;
    assert_eq!(m.metadata.response_code, ResponseCode::Refused, "{mode}");
    let after = (
        metric(s, "coredns_acl_allowed_requests_total", &[]).await,
        metric(s, "coredns_acl_blocked_requests_total", &zone).await,
        metric(s, "coredns_cache_requests_total", &zones).await,
        metric(s, "coredns_cache_hits_total", &hits).await,
    );
    assert_eq!(
        after.0 - before.0,
        2.0,
        "{mode}: allowed, a hit in the fast lane"
    );
    assert_eq!(after.1 - before.1, 1.0, "{mode}: blocked");
    assert_eq!(after.2 - before.2, 2.0, "{mode}: cache lookups");
    assert_eq!(after.3 - before.3, 1.0, "{mode}: cache hits");
    assert_eq!(
        metric(s, "coredns_cache_entries", &hits).await,
        1.0,
        "{mode}: one entry, the other mode's site being gone"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn acl_and_cache_count_alike_in_both_modes() {
    let compiled = start_compiled(
        corec_macros::corefile!("../fixtures/metrics/Corefile"),
        None,
    );
    count_in(&compiled, "compiled").await;
    drop(compiled);
    let interpreted = start_interpreted_file(Path::new("fixtures/metrics/Corefile"));
    count_in(&interpreted, "interpreted").await;
}

fn reload_corefile(ttl: u32) -> String {
    format!(
        "metrics-reload.test:0 {{\n    prometheus 127.0.0.1:0\n    cache\n    \
         template IN A {{\n        answer \"{{{{ .Name }}}} {ttl} IN A 192.0.2.1\"\n    }}\n}}\n"
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn cache_counters_survive_a_reload_and_entries_leave_with_the_old_cache() {
    let dir = tempfile::tempdir().unwrap();
    let path: PathBuf = dir.path().join("Corefile");
    std::fs::write(&path, reload_corefile(60)).unwrap();
    let s = start_interpreted_file(&path);
    let q = query("a.metrics-reload.test.", RecordType::A);
    let ask = || udp(s.udp, &q);
    ask().await;
    ask().await;
    let zones = "zones=\"metrics-reload.test.\"";
    let success = [zones, "type=\"success\""];
    assert_eq!(metric(&s, "coredns_cache_entries", &success).await, 1.0);
    assert_eq!(
        metric(&s, "coredns_cache_requests_total", &[zones]).await,
        2.0
    );

    std::fs::write(&path, reload_corefile(61)).unwrap();
    assert_eq!(s.reloader.reload().await, Reloaded::Swapped);
    let emptied = eventually(5, || async {
        (metric(&s, "coredns_cache_entries", &success).await == 0.0).then_some(())
    })
    .await;
    assert!(emptied.is_some(), "the old cache's entry is still counted");
    assert_eq!(
        metric(&s, "coredns_cache_requests_total", &[zones]).await,
        2.0,
        "counters survive"
    );
    let m = ask().await;
    assert_eq!(answers(&m), ["a.metrics-reload.test. 61 IN A 192.0.2.1"]);
    assert_eq!(
        metric(&s, "coredns_cache_requests_total", &[zones]).await,
        3.0
    );
    assert_eq!(
        metric(&s, "coredns_cache_misses_total", &[zones]).await,
        2.0
    );
    assert_eq!(metric(&s, "coredns_cache_entries", &success).await, 1.0);
}
