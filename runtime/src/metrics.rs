//! Prometheus metrics with CoreDNS's names, labels, types and buckets, so
//! dashboards and alerts written for CoreDNS keep working.
//!
//! Every metric lives in one process-wide registry, as in CoreDNS: counters
//! survive reloads. The query path never takes a lock: a plugin (or the
//! server) resolves its label values to a counter once, keeps the handle,
//! and then only increments an atomic. Per-query label sets are looked up
//! in small arrays of cells filled on first use, so a series appears in
//! `/metrics` only once it has been observed, as in CoreDNS.

use prometheus::core::Collector;
use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};
use std::sync::{Arc, LazyLock, OnceLock};
use std::time::Instant;

/// Histogram buckets CoreDNS uses.
pub mod buckets {
    /// Durations: 0.25 ms doubling up to 8.192 s (16 buckets).
    pub fn time() -> Vec<f64> {
        prometheus::exponential_buckets(0.00025, 2.0, 16).expect("valid buckets")
    }

    /// Durations, coarse: one bucket per decade from 0.25 ms.
    pub fn slim_time() -> Vec<f64> {
        vec![0.00025, 0.0025, 0.025, 0.25, 2.5]
    }

    /// Message sizes in bytes.
    pub fn size() -> Vec<f64> {
        vec![
            0.0, 100.0, 200.0, 300.0, 400.0, 511.0, 1023.0, 2047.0, 4095.0, 8291.0, 16000.0,
            32000.0, 48000.0, 64000.0,
        ]
    }
}

static REGISTRY: LazyLock<Registry> = LazyLock::new(|| {
    let r = Registry::new();
    #[cfg(target_os = "linux")]
    let _ = r.register(Box::new(
        prometheus::process_collector::ProcessCollector::for_self(),
    ));
    r
});

/// The process-wide registry.
pub fn registry() -> &'static Registry {
    &REGISTRY
}

/// Registers a collector, once: a family is a `LazyLock` static, so a
/// second registration (there is none) would only be a programming error.
fn register<C: Collector + Clone + 'static>(c: C) -> C {
    if let Err(e) = REGISTRY.register(Box::new(c.clone())) {
        tracing::warn!("metrics: {e}");
    }
    c
}

/// A counter family.
pub fn counter_vec(name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    register(IntCounterVec::new(Opts::new(name, help), labels).expect("a valid counter"))
}

/// A counter without labels.
pub fn counter(name: &str, help: &str) -> IntCounter {
    register(IntCounter::new(name, help).expect("a valid counter"))
}

/// A gauge family.
pub fn gauge_vec(name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
    register(IntGaugeVec::new(Opts::new(name, help), labels).expect("a valid gauge"))
}

/// A gauge without labels.
pub fn gauge(name: &str, help: &str) -> IntGauge {
    register(IntGauge::new(name, help).expect("a valid gauge"))
}

/// A histogram family.
pub fn histogram_vec(name: &str, help: &str, labels: &[&str], buckets: Vec<f64>) -> HistogramVec {
    register(
        HistogramVec::new(HistogramOpts::new(name, help).buckets(buckets), labels)
            .expect("a valid histogram"),
    )
}

/// A histogram without labels.
pub fn histogram(name: &str, help: &str, buckets: Vec<f64>) -> Histogram {
    register(
        Histogram::with_opts(HistogramOpts::new(name, help).buckets(buckets))
            .expect("a valid histogram"),
    )
}

/// A gauge holding a fraction (a timestamp in seconds).
pub fn float_gauge(name: &str, help: &str) -> prometheus::Gauge {
    register(prometheus::Gauge::new(name, help).expect("a valid gauge"))
}

/// Registers a plugin's own collector (one computing its series when
/// scraped), once per process.
pub fn register_collector<C: Collector + 'static>(c: C) {
    if let Err(e) = REGISTRY.register(Box::new(c)) {
        tracing::warn!("metrics: {e}");
    }
}

/// The `server` and `view` label values of one block, resolved when it is
/// built: a plugin keeps its series per listener in a small vector and
/// picks one per query with [`index`](Self::index).
#[derive(Debug, Clone)]
pub struct BlockLabels {
    /// The listeners the block serves on (`dns://:53`); never empty.
    pub servers: Vec<Arc<str>>,
    /// The block's view name, or "".
    pub view: Arc<str>,
}

impl BlockLabels {
    /// The labels of the block being built.
    pub fn of(env: &crate::site::BuildEnv<'_>) -> Self {
        Self::new(env.servers(), env.view_name())
    }

    /// Labels for `servers` (one `dns://:53` if empty) and `view`.
    pub fn new(mut servers: Vec<Arc<str>>, view: &str) -> Self {
        if servers.is_empty() {
            servers.push("dns://:53".into());
        }
        BlockLabels {
            servers,
            view: view.into(),
        }
    }

    /// The position of listener `server` among the block's (the first if
    /// it is not one of them). A comparison per listener, no allocation.
    pub fn index(&self, server: &str) -> usize {
        if self.servers.len() == 1 {
            return 0;
        }
        self.servers
            .iter()
            .position(|s| **s == *server)
            .unwrap_or(0)
    }

    /// The `server` label of position `i`.
    pub fn server(&self, i: usize) -> &str {
        &self.servers[i.min(self.servers.len() - 1)]
    }
}

/// Up to `N` series of one family for label values known only per query
/// (an rcode, a query type), each resolved once, on first use, and then
/// found again by comparing keys: no lock, no allocation. A key beyond the
/// first `N` distinct ones is still counted, through the family's own
/// (locked) lookup.
#[derive(Debug)]
pub struct Slots<K, C, const N: usize> {
    cells: [OnceLock<(K, C)>; N],
}

impl<K, C, const N: usize> Default for Slots<K, C, N> {
    fn default() -> Self {
        Slots {
            cells: std::array::from_fn(|_| OnceLock::new()),
        }
    }
}

impl<K: Copy + PartialEq, C, const N: usize> Slots<K, C, N> {
    /// Runs `f` on the series for `key`, made by `make` if it is new.
    pub fn with<R>(&self, key: K, make: impl Fn() -> C, f: impl FnOnce(&C) -> R) -> R {
        for cell in &self.cells {
            let (k, c) = cell.get_or_init(|| (key, make()));
            if *k == key {
                return f(c);
            }
        }
        f(&make())
    }
}

/// The server's own metrics (CoreDNS's `metrics/vars` and core).
pub struct Core {
    /// `coredns_build_info`.
    pub build_info: IntGaugeVec,
    /// `coredns_panics_total`.
    pub panics: IntCounter,
    /// `coredns_plugin_enabled`.
    pub plugin_enabled: IntGaugeVec,
    /// `coredns_dns_requests_total`.
    pub requests: IntCounterVec,
    /// `coredns_dns_do_requests_total`.
    pub do_requests: IntCounterVec,
    /// `coredns_dns_request_duration_seconds`.
    pub duration: HistogramVec,
    /// `coredns_dns_request_size_bytes`.
    pub request_size: HistogramVec,
    /// `coredns_dns_response_size_bytes`.
    pub response_size: HistogramVec,
    /// `coredns_dns_responses_total`.
    pub responses: IntCounterVec,
    /// `coredns_reload_failed_total`.
    pub reload_failed: IntCounter,
    /// `coredns_reload_version_info`.
    pub reload_version: IntGaugeVec,
    /// `coredns_health_request_duration_seconds`.
    pub health_duration: Histogram,
    /// `coredns_health_request_failures_total`.
    pub health_failures: IntCounter,
}

static CORE: LazyLock<Core> = LazyLock::new(|| {
    let build_info = gauge_vec(
        "coredns_build_info",
        "A metric with a constant '1' value labeled by version, revision, and goversion from which CoreDNS was built.",
        &["version", "revision", "goversion"],
    );
    build_info
        .with_label_values(&[
            env!("CARGO_PKG_VERSION"),
            option_env!("COREC_COMMIT").unwrap_or("unknown"),
            concat!("rust", env!("CARGO_PKG_RUST_VERSION")),
        ])
        .set(1);
    let zone_labels = &["server", "zone", "view"];
    Core {
        build_info,
        panics: counter(
            "coredns_panics_total",
            "A metrics that counts the number of panics.",
        ),
        plugin_enabled: gauge_vec(
            "coredns_plugin_enabled",
            "A metric that indicates whether a plugin is enabled on per server and zone basis.",
            &["server", "zone", "view", "name"],
        ),
        requests: counter_vec(
            "coredns_dns_requests_total",
            "Counter of DNS requests made per zone, protocol and family.",
            &["server", "zone", "view", "proto", "family", "type"],
        ),
        do_requests: counter_vec(
            "coredns_dns_do_requests_total",
            "Counter of DNS requests with DO bit set per zone.",
            zone_labels,
        ),
        duration: histogram_vec(
            "coredns_dns_request_duration_seconds",
            "Histogram of the time (in seconds) each request took per zone.",
            zone_labels,
            buckets::time(),
        ),
        request_size: histogram_vec(
            "coredns_dns_request_size_bytes",
            "Size of the EDNS0 UDP buffer in bytes (64K for TCP) per zone and protocol.",
            &["server", "zone", "view", "proto"],
            buckets::size(),
        ),
        response_size: histogram_vec(
            "coredns_dns_response_size_bytes",
            "Size of the returned response in bytes.",
            &["server", "zone", "view", "proto"],
            buckets::size(),
        ),
        responses: counter_vec(
            "coredns_dns_responses_total",
            "Counter of response status codes.",
            &["server", "zone", "view", "rcode", "plugin"],
        ),
        reload_failed: counter(
            "coredns_reload_failed_total",
            "Counter of the number of failed reload attempts.",
        ),
        reload_version: gauge_vec(
            "coredns_reload_version_info",
            "A metric with a constant '1' value labeled by hash, and value which type of hash generated.",
            &["hash", "value"],
        ),
        health_duration: histogram(
            "coredns_health_request_duration_seconds",
            "Histogram of the time (in seconds) each request took.",
            buckets::slim_time(),
        ),
        health_failures: counter(
            "coredns_health_request_failures_total",
            "The number of times the health check failed.",
        ),
    }
});

/// The server's own metrics.
pub fn core() -> &'static Core {
    &CORE
}

/// The runtime serving queries, for `go_goroutines`.
static RUNTIME: OnceLock<tokio::runtime::Handle> = OnceLock::new();

/// `go_goroutines`, the Go runtime metric dashboards plot next to CoreDNS's
/// own: here the tokio tasks alive, its nearest equivalent (listener loops,
/// TCP connections, queries waiting upstream, background work).
static TASKS: LazyLock<IntGauge> = LazyLock::new(|| {
    gauge(
        "go_goroutines",
        "Number of tokio tasks that currently exist (corec's equivalent of goroutines).",
    )
});

/// Names the runtime whose tasks `go_goroutines` counts (the first server's).
pub fn watch_runtime(handle: tokio::runtime::Handle) {
    let _ = RUNTIME.set(handle);
}

/// `/metrics`: every registered family in the text exposition format.
pub fn render() -> Vec<u8> {
    let _ = core();
    if let Some(rt) = RUNTIME.get() {
        TASKS.set(i64::try_from(rt.metrics().num_alive_tasks()).unwrap_or(i64::MAX));
    }
    let mut out = Vec::with_capacity(16 * 1024);
    if let Err(e) = TextEncoder::new().encode(&REGISTRY.gather(), &mut out) {
        tracing::warn!("metrics: {e}");
    }
    out
}

/// The `Content-Type` of [`render`]'s output.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Question types with their own `type` label; the rest count as `other`.
const COUNTED_TYPES: [(u16, &str); 19] = [
    (1, "A"),
    (28, "AAAA"),
    (5, "CNAME"),
    (48, "DNSKEY"),
    (43, "DS"),
    (15, "MX"),
    (50, "NSEC3"),
    (47, "NSEC"),
    (2, "NS"),
    (12, "PTR"),
    (46, "RRSIG"),
    (6, "SOA"),
    (33, "SRV"),
    (16, "TXT"),
    (65, "HTTPS"),
    (64, "SVCB"),
    (251, "IXFR"),
    (252, "AXFR"),
    (255, "ANY"),
];
const TYPE_SLOTS: usize = COUNTED_TYPES.len() + 1;

fn type_slot(qtype: u16) -> usize {
    COUNTED_TYPES
        .iter()
        .position(|(t, _)| *t == qtype)
        .unwrap_or(COUNTED_TYPES.len())
}

fn type_label(slot: usize) -> &'static str {
    COUNTED_TYPES.get(slot).map_or("other", |(_, n)| n)
}

/// A response code as CoreDNS's metrics spell it (`RCODE<n>` for one
/// without a name).
pub fn rcode_label(code: u16) -> String {
    crate::plugins::template::names::RCODES
        .iter()
        .find(|(_, c)| *c == code)
        .map_or_else(|| format!("RCODE{code}"), |(n, _)| (*n).to_string())
}

/// The response code of a reply on the wire: the header's four bits plus
/// the OPT record's extended bits, if the reply has an OPT.
pub fn wire_rcode(reply: &[u8]) -> u16 {
    let low = reply.get(3).map_or(0, |b| u16::from(b & 0x0f));
    low | (extended_rcode(reply).unwrap_or(0) << 4)
}

/// The OPT's extended rcode bits: only the fast lane's replies and server
/// replies reach here, whose OPT (if any) is the last record.
fn extended_rcode(reply: &[u8]) -> Option<u16> {
    let ar = u16::from_be_bytes([*reply.get(10)?, *reply.get(11)?]);
    if ar == 0 || reply.len() < 11 + 12 {
        return None;
    }
    // A root-owned OPT at the very end: 0, type 41, class, ext-rcode, version,
    // flags, rdlength 0 (our replies carry options only on the full path).
    let tail = &reply[reply.len() - 11..];
    (tail[0] == 0 && tail[1] == 0 && tail[2] == 41 && tail[9] == 0 && tail[10] == 0)
        .then(|| u16::from(tail[5]))
}

/// What the server knows of one answered query, for the `coredns_dns_*`
/// metrics.
#[derive(Debug, Clone, Copy)]
pub struct Observed {
    /// When the query was received.
    pub started: Instant,
    /// Over TCP.
    pub tcp: bool,
    /// From an IPv6 client.
    pub v6: bool,
    /// The question type.
    pub qtype: u16,
    /// The DO bit.
    pub dnssec_ok: bool,
    /// Query size on the wire.
    pub request_len: usize,
    /// Reply size on the wire (0 if none was sent).
    pub response_len: usize,
    /// The reply's rcode.
    pub rcode: u16,
    /// The plugin that wrote the reply ("" if the server did).
    pub plugin: &'static str,
}

/// Series of one (server, zone) pair, filled on first use.
#[derive(Default)]
struct Cells {
    requests: [[[OnceLock<IntCounter>; TYPE_SLOTS]; 2]; 2],
    do_requests: OnceLock<IntCounter>,
    duration: OnceLock<Histogram>,
    request_size: [OnceLock<Histogram>; 2],
    response_size: [OnceLock<Histogram>; 2],
    /// By (rcode, plugin).
    responses: Slots<(u16, &'static str), IntCounter, RESPONSE_SLOTS>,
}

/// Distinct (rcode, plugin) pairs cached per zone; more are still counted,
/// through the family's own (locked) lookup.
const RESPONSE_SLOTS: usize = 12;

/// The `coredns_dns_*` metrics of one server block (the *prometheus*
/// plugin), or of the queries a listener refuses before any block
/// (zone `dropped`).
pub struct DnsMetrics {
    labels: BlockLabels,
    /// The block's zones, lowercase; the last label is the fallback (`.`),
    /// or `dropped`.
    zones: Vec<String>,
    /// The same zones as wire names (an unparsable zone never matches).
    wire_zones: Vec<Box<[u8]>>,
    zone_labels: Vec<String>,
    /// `labels.servers.len() × zone_labels.len()` cells.
    cells: Vec<Cells>,
}

impl std::fmt::Debug for DnsMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DnsMetrics")
            .field("labels", &self.labels)
            .field("zones", &self.zone_labels)
            .finish()
    }
}

impl DnsMetrics {
    /// Metrics for a block with `labels` serving `zones`.
    pub fn block(labels: BlockLabels, zones: &[String]) -> Self {
        let zones: Vec<String> = zones.iter().map(|z| z.to_ascii_lowercase()).collect();
        let mut zone_labels = zones.clone();
        zone_labels.push(".".into());
        Self::new(labels, zones, zone_labels)
    }

    /// Metrics for queries listener `server` refuses before any block.
    pub fn dropped(server: Arc<str>) -> Self {
        let labels = BlockLabels::new(vec![server], "");
        Self::new(labels, Vec::new(), vec!["dropped".into()])
    }

    fn new(labels: BlockLabels, zones: Vec<String>, zone_labels: Vec<String>) -> Self {
        let _ = core();
        let cells = (0..labels.servers.len() * zone_labels.len())
            .map(|_| Cells::default())
            .collect();
        let wire_zones = zones
            .iter()
            .map(|z| {
                use crate::dns::BinEncodable;
                crate::dns::Name::from_ascii(z)
                    .ok()
                    .and_then(|n| n.to_lowercase().to_bytes().ok())
                    .unwrap_or_default()
                    .into()
            })
            .collect();
        DnsMetrics {
            labels,
            zones,
            wire_zones,
            zone_labels,
            cells,
        }
    }

    /// The longest of the block's zones holding `name` (lowercase,
    /// presentation form), else the fallback.
    fn zone_of(&self, name: &str) -> usize {
        let mut best: Option<usize> = None;
        for (i, z) in self.zones.iter().enumerate() {
            let inside = z == "."
                || name == z
                || (name.len() > z.len()
                    && name.ends_with(z.as_str())
                    && name.as_bytes()[name.len() - z.len() - 1] == b'.');
            if inside && best.is_none_or(|b| self.zones[b].len() < z.len()) {
                best = Some(i);
            }
        }
        best.unwrap_or(self.zone_labels.len() - 1)
    }

    /// [`zone_of`](Self::zone_of) for a lowercase wire name.
    fn zone_of_wire(&self, lname: &[u8]) -> usize {
        let mut best: Option<usize> = None;
        for (i, z) in self.wire_zones.iter().enumerate() {
            if crate::wire::in_zone(lname, z)
                && best.is_none_or(|b| self.wire_zones[b].len() < z.len())
            {
                best = Some(i);
            }
        }
        best.unwrap_or(self.zone_labels.len() - 1)
    }

    /// The `view` label.
    pub fn view(&self) -> &str {
        &self.labels.view
    }

    /// Records one answered query for `server`, whose lowercase name is
    /// `name` (presentation form).
    pub fn record(&self, server: &str, name: &str, o: &Observed) {
        let zone = self.zone_of(name);
        self.record_at(server, zone, o);
    }

    /// [`record`](Self::record) for a lowercase wire name.
    pub fn record_wire(&self, server: &str, lname: &[u8], o: &Observed) {
        let zone = self.zone_of_wire(lname);
        self.record_at(server, zone, o);
    }

    fn record_at(&self, server: &str, zone: usize, o: &Observed) {
        let s = self.labels.index(server);
        let cells = &self.cells[s * self.zone_labels.len() + zone];
        let server = self.labels.server(s);
        let zone = self.zone_labels[zone].as_str();
        let view = &*self.labels.view;
        let c = core();
        let proto = if o.tcp { "tcp" } else { "udp" };
        if o.dnssec_ok {
            cells
                .do_requests
                .get_or_init(|| c.do_requests.with_label_values(&[server, zone, view]))
                .inc();
        }
        let slot = type_slot(o.qtype);
        cells.requests[usize::from(o.tcp)][usize::from(o.v6)][slot]
            .get_or_init(|| {
                let family = if o.v6 { "2" } else { "1" };
                c.requests
                    .with_label_values(&[server, zone, view, proto, family, type_label(slot)])
            })
            .inc();
        cells
            .duration
            .get_or_init(|| c.duration.with_label_values(&[server, zone, view]))
            .observe(o.started.elapsed().as_secs_f64());
        cells.response_size[usize::from(o.tcp)]
            .get_or_init(|| {
                c.response_size
                    .with_label_values(&[server, zone, view, proto])
            })
            .observe(o.response_len as f64);
        cells.request_size[usize::from(o.tcp)]
            .get_or_init(|| {
                c.request_size
                    .with_label_values(&[server, zone, view, proto])
            })
            .observe(o.request_len as f64);
        cells.responses.with(
            (o.rcode, o.plugin),
            || {
                let rcode = rcode_label(o.rcode);
                c.responses
                    .with_label_values(&[server, zone, view, &rcode, o.plugin])
            },
            IntCounter::inc,
        );
    }
}

/// Sets `coredns_plugin_enabled` for a site that has just started serving
/// (after a reload the old site's series are removed first).
pub fn plugins_enabled(entries: &[[String; 4]]) {
    let g = &core().plugin_enabled;
    g.reset();
    for labels in entries {
        g.with_label_values(labels).set(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zones_match_longest_by_label_in_both_forms() {
        let m = DnsMetrics::block(
            BlockLabels::new(Vec::new(), ""),
            &["example.org.".into(), "sub.example.org.".into()],
        );
        let wire = |n: &str| {
            use crate::dns::BinEncodable;
            crate::dns::Name::from_ascii(n).unwrap().to_bytes().unwrap()
        };
        for (name, zone) in [
            ("a.sub.example.org.", 1),
            ("sub.example.org.", 1),
            ("x.example.org.", 0),
            ("example.org.", 0),
            ("bexample.org.", 2),
            ("org.", 2),
            (".", 2),
        ] {
            assert_eq!(m.zone_of(name), zone, "{name}");
            assert_eq!(m.zone_of_wire(&wire(name)), zone, "wire {name}");
        }
        let root = DnsMetrics::block(BlockLabels::new(Vec::new(), ""), &[".".into()]);
        assert_eq!(root.zone_of("a.b."), 0);
        assert_eq!(root.zone_of_wire(&wire("a.b.")), 0);
    }

    #[test]
    fn rcodes_and_types_are_spelled_as_coredns() {
        assert_eq!(rcode_label(0), "NOERROR");
        assert_eq!(rcode_label(16), "BADSIG");
        assert_eq!(rcode_label(4), "NOTIMP");
        assert_eq!(rcode_label(12), "RCODE12");
        assert_eq!(type_label(type_slot(28)), "AAAA");
        assert_eq!(type_label(type_slot(99)), "other");
    }

    #[test]
    fn wire_rcode_reads_the_opt_extension() {
        let mut reply = vec![0, 1, 0x81, 0x80 | 3, 0, 1, 0, 0, 0, 0, 0, 0];
        reply.extend_from_slice(&[1, b'a', 0, 0, 1, 0, 1]);
        assert_eq!(wire_rcode(&reply), 3);
        reply[11] = 1;
        reply.extend_from_slice(&[0, 0, 41, 4, 0xd0, 1, 0, 0, 0, 0, 0]);
        assert_eq!(wire_rcode(&reply), 16 | 3);
    }
}
