use super::setup::PrometheusConfig;
use crate::dns::RecordType;
use crate::plugin::Parse;
use crate::testing::{Case, TestSite, load, metric_value as value, parse_err};
use corec_compiler::Dispenser;

fn config(corefile: &str) -> PrometheusConfig {
    let model = load(corefile);
    assert!(model.is_ok(), "{}", model.render_diagnostics());
    let used = model.blocks[0].plugin("prometheus").expect("prometheus");
    let zones = model.blocks[0].zones();
    PrometheusConfig::parse(&mut Dispenser::new("prometheus", &used.tokens, &zones))
        .expect("parses")
}

#[test]
fn syntax() {
    let c = config(". {\n prometheus\n}");
    assert_eq!(
        (c.address.host.as_str(), c.address.port),
        ("localhost", 9153)
    );
    let c = config(". {\n prometheus :9253\n}");
    assert_eq!((c.address.host.as_str(), c.address.port), ("", 9253));
    let c = config(". {\n prometheus 127.0.0.1:0 {\n  runtime_metrics\n }\n}");
    assert_eq!(c.address.host, "127.0.0.1");
    for (corefile, why) in [
        (". {\n prometheus a:1 b:2\n}", "Wrong argument count"),
        (". {\n prometheus\n prometheus\n}", "can only be used once"),
        (
            ". {\n prometheus {\n  tsl x\n }\n}",
            "unknown property 'tsl'",
        ),
        (
            ". {\n prometheus {\n  tls web.yml\n }\n}",
            "tls is not supported",
        ),
        (
            ". {\n prometheus {\n  runtime_metrics x\n }\n}",
            "Wrong argument count",
        ),
        (". {\n prometheus localhost\n}", "missing port in address"),
    ] {
        let err = parse_err(corefile);
        assert!(err.contains(why), "{corefile}: {err}");
    }
}

/// Every test below uses its own zone: the registry is process-wide and
/// tests run in parallel.
#[tokio::test]
async fn both_lanes_count_the_same_and_exactly() {
    let t = TestSite::new("lanes.metrics.test {\n prometheus 127.0.0.1:0\n whoami\n}");
    let zone = ("zone", "lanes.metrics.test.");
    let case = Case::new("a.lanes.metrics.test.", RecordType::A);
    let (full, fast) = t.both_lanes(&case).await;
    let fast = fast.expect("whoami answers in the fast lane");
    assert_eq!(full.len(), fast.len());
    let base = [("server", "dns://:53"), zone, ("view", "")];
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut v = base.to_vec();
        v.extend_from_slice(extra);
        v
    };
    let udp4a = with(&[("proto", "udp"), ("family", "1"), ("type", "A")]);
    assert_eq!(value("coredns_dns_requests_total", &udp4a), 2.0);
    let written = with(&[("rcode", "NOERROR"), ("plugin", "whoami")]);
    assert_eq!(value("coredns_dns_responses_total", &written), 2.0);
    let udp = with(&[("proto", "udp")]);
    assert_eq!(value("coredns_dns_response_size_bytes_count", &udp), 2.0);
    assert_eq!(
        value("coredns_dns_response_size_bytes_sum", &udp),
        2.0 * full.len() as f64
    );
    let query_len = case.request().wire_len as f64;
    assert_eq!(
        value("coredns_dns_request_size_bytes_sum", &udp),
        2.0 * query_len
    );
    assert_eq!(
        value("coredns_dns_request_duration_seconds_count", &base),
        2.0
    );
    assert_eq!(value("coredns_dns_do_requests_total", &base), 0.0);

    // DO, TCP, an IPv6 client and an uncounted type, each once per lane.
    let case = Case::new("b.lanes.metrics.test.", RecordType::NAPTR)
        .tcp()
        .from("[::1]:5353")
        .dnssec();
    let (_, fast) = t.both_lanes(&case).await;
    assert!(fast.is_some());
    let tcp6 = with(&[("proto", "tcp"), ("family", "2"), ("type", "other")]);
    assert_eq!(value("coredns_dns_requests_total", &tcp6), 2.0);
    assert_eq!(value("coredns_dns_do_requests_total", &base), 2.0);
    let le = with(&[("proto", "tcp"), ("le", "100")]);
    assert_eq!(value("coredns_dns_request_size_bytes_bucket", &le), 2.0);
}

#[tokio::test]
async fn refused_before_any_block_counts_as_dropped() {
    let t = TestSite::new("dropped.metrics.test:0 {\n prometheus 127.0.0.1:0\n whoami\n}");
    let server = t.site.listeners.values().next().unwrap().name.to_string();
    let labels = |extra: &[(&'static str, &'static str)]| {
        let mut v = vec![
            ("server", server.as_str()),
            ("zone", "dropped"),
            ("view", ""),
        ];
        v.extend_from_slice(extra);
        v
    };
    let before = value(
        "coredns_dns_responses_total",
        &labels(&[("rcode", "REFUSED"), ("plugin", "")]),
    );
    let (reply, fast) = t
        .both_lanes(&Case::new("elsewhere.example.", RecordType::A))
        .await;
    assert!(fast.is_none(), "no block: full path only");
    assert_eq!(crate::metrics::wire_rcode(&reply), 5);
    let after = value(
        "coredns_dns_responses_total",
        &labels(&[("rcode", "REFUSED"), ("plugin", "")]),
    );
    assert_eq!(after - before, 1.0);
}

#[tokio::test]
async fn an_unwritten_error_has_no_plugin_and_longest_zone_wins() {
    let t = TestSite::new(
        "errs.metrics.test sub.errs.metrics.test {\n prometheus 127.0.0.1:0\n hosts {\n  fallthrough\n }\n}",
    );
    for name in [
        "x.sub.errs.metrics.test.",
        "sub.errs.metrics.test.",
        "x.errs.metrics.test.",
    ] {
        let (reply, _) = t.both_lanes(&Case::new(name, RecordType::A)).await;
        assert_eq!(crate::metrics::wire_rcode(&reply), 2, "{name}: SERVFAIL");
    }
    let servfail = |zone| {
        value(
            "coredns_dns_responses_total",
            &[("zone", zone), ("rcode", "SERVFAIL"), ("plugin", "")],
        )
    };
    assert_eq!(servfail("sub.errs.metrics.test."), 2.0);
    assert_eq!(servfail("errs.metrics.test."), 1.0);
}

#[test]
fn plugin_enabled_lists_the_handlers_of_blocks_with_metrics() {
    let t = TestSite::new(
        "enabled.metrics.test:0 {\n prometheus 127.0.0.1:0\n log\n debug\n whoami\n}\nother.metrics.test:0 {\n whoami\n}",
    );
    let names: Vec<(&str, &str)> = t
        .site
        .plugins_enabled
        .iter()
        .map(|[_, zone, _, name]| (zone.as_str(), name.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            ("enabled.metrics.test.", "prometheus"),
            ("enabled.metrics.test.", "log"),
            ("enabled.metrics.test.", "whoami"),
        ]
    );
    assert_eq!(t.site.plugins_enabled[0][0], "dns://:0");
}
