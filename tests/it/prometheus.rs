//! `coredns_dns_*` metrics in both modes over real sockets, scraped from
//! `/metrics`: exact deltas for known queries sent by dig, with the label
//! values CoreDNS gives (the plugin that wrote each reply, the zone, the
//! transport, the DO bit, queries refused before any block).

use corec_runtime::site::CompiledBlocks;
use corec_tests::*;
use std::collections::HashMap;
use std::net::SocketAddr;

/// `/metrics` as series → value (series as exposed, labels sorted).
async fn scrape(at: SocketAddr) -> HashMap<String, f64> {
    let (status, body) = http_get(at, "/metrics").await.expect("/metrics answers");
    assert_eq!(status, 200);
    body.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (series, value) = l.rsplit_once(' ').unwrap();
            (series.to_string(), value.parse().unwrap())
        })
        .collect()
}

async fn count_queries<C: CompiledBlocks>(s: &Running<C>, zone: &str) {
    let at = s.http_addr("127.0.0.1:0").expect("the metrics listener");
    let before = scrape(at).await;
    let www = format!("www.{zone}");
    let missing = format!("missing.{zone}");
    for _ in 0..2 {
        assert!(dig(s.udp, &["+short", &www, "A"]).contains("192.0.2.1"));
    }
    assert!(dig(s.udp, &[&missing, "A"]).contains("NXDOMAIN"));
    assert!(dig(s.tcp, &["+tcp", "+dnssec", "+short", &www, "A"]).contains("192.0.2.1"));
    assert!(dig(s.udp, &["elsewhere.example", "A"]).contains("REFUSED"));
    let after = scrape(at).await;
    let delta = |series: String| {
        after.get(&series).copied().unwrap_or(0.0) - before.get(&series).copied().unwrap_or(0.0)
    };
    let labels = format!(r#"server="dns://:0",view="",zone="{zone}""#);
    let requests = |proto: &str| {
        delta(format!(
            r#"coredns_dns_requests_total{{family="1",proto="{proto}",server="dns://:0",type="A",view="",zone="{zone}"}}"#
        ))
    };
    assert_eq!(requests("udp"), 3.0, "{zone}");
    assert_eq!(requests("tcp"), 1.0, "{zone}");
    let responses = |rcode: &str, plugin: &str| {
        delta(format!(
            r#"coredns_dns_responses_total{{plugin="{plugin}",rcode="{rcode}",server="dns://:0",view="",zone="{zone}"}}"#
        ))
    };
    // The first www and the NXDOMAIN come from the zone, the repeated www
    // from the cache; the DO bit is part of the cache key, so the TCP
    // query with DO is the zone's again.
    assert_eq!(responses("NOERROR", "file"), 2.0, "{zone}");
    assert_eq!(responses("NXDOMAIN", "file"), 1.0, "{zone}");
    assert_eq!(responses("NOERROR", "cache"), 1.0, "{zone}");
    assert_eq!(
        delta(format!("coredns_dns_do_requests_total{{{labels}}}")),
        1.0,
        "{zone}"
    );
    assert_eq!(
        delta(format!(
            "coredns_dns_request_duration_seconds_count{{{labels}}}"
        )),
        4.0
    );
    let tcp_sizes = format!(r#"coredns_dns_response_size_bytes_count{{proto="tcp",{labels}}}"#);
    assert_eq!(delta(tcp_sizes), 1.0);
    let dropped = r#"coredns_dns_responses_total{plugin="",rcode="REFUSED",server="dns://:0",view="",zone="dropped"}"#;
    assert!(
        delta(dropped.to_string()) >= 1.0,
        "refused before any block"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn queries_are_counted_exactly_in_both_modes() {
    let compiled = start_compiled(
        corec_macros::corefile!("../fixtures/prometheus/Corefile"),
        None,
    );
    count_queries(&compiled, "compiled.metrics.test.").await;
    drop(compiled);

    let dir = tempfile::tempdir().unwrap();
    let zone_file = dir.path().join("zone");
    let fixture = workspace().join("tests/fixtures/prometheus/compiled.metrics.test.zone");
    let text = std::fs::read_to_string(fixture).unwrap();
    std::fs::write(&zone_file, text.replace("compiled.", "interpreted.")).unwrap();
    let corefile = dir.path().join("Corefile");
    std::fs::write(
        &corefile,
        format!(
            "interpreted.metrics.test:0 {{\n prometheus 127.0.0.1:0\n cache\n file {}\n}}\n",
            zone_file.display()
        ),
    )
    .unwrap();
    let interpreted = start_interpreted_file(&corefile);
    count_queries(&interpreted, "interpreted.metrics.test.").await;
}
