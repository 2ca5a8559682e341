//! `coredns_forward_*` and the `coredns_proxy_*` series of forward's
//! upstreams (`proxy_name="forward"`). Each upstream resolves its series
//! once, on first use, and then only increments atomics.

use crate::metrics::{Slots, buckets, counter, counter_vec, histogram_vec};
use prometheus::{Histogram, HistogramVec, IntCounter, IntCounterVec};
use std::net::SocketAddr;
use std::sync::{LazyLock, OnceLock};
use std::time::Duration;

/// The `proxy_name` label of forward's upstreams.
const PROXY_NAME: &str = "forward";

struct Families {
    healthcheck_broken: IntCounter,
    max_concurrent_rejects: IntCounter,
    request_duration: HistogramVec,
    healthcheck_failures: IntCounterVec,
    conn_cache_hits: IntCounterVec,
    conn_cache_misses: IntCounterVec,
}

static FAMILIES: LazyLock<Families> = LazyLock::new(|| Families {
    healthcheck_broken: counter(
        "coredns_forward_healthcheck_broken_total",
        "Times every upstream of a forward was down at once, so one was picked at random.",
    ),
    max_concurrent_rejects: counter(
        "coredns_forward_max_concurrent_rejects_total",
        "Queries refused because max_concurrent queries were already in flight.",
    ),
    request_duration: histogram_vec(
        "coredns_proxy_request_duration_seconds",
        "Time an upstream took to answer, per upstream and response code.",
        &["proxy_name", "to", "rcode"],
        buckets::time(),
    ),
    healthcheck_failures: counter_vec(
        "coredns_proxy_healthcheck_failures_total",
        "Health checks of an upstream that failed.",
        &["proxy_name", "to"],
    ),
    conn_cache_hits: counter_vec(
        "coredns_proxy_conn_cache_hits_total",
        "Exchanges that reused an idle connection to the upstream, per transport.",
        &["proxy_name", "to", "proto"],
    ),
    conn_cache_misses: counter_vec(
        "coredns_proxy_conn_cache_misses_total",
        "Exchanges that had to open a new connection to the upstream, per transport.",
        &["proxy_name", "to", "proto"],
    ),
});

/// Every upstream was down: one is tried anyway (or, with
/// `failfast_all_unhealthy_upstreams`, none).
pub(super) fn healthcheck_broken() {
    FAMILIES.healthcheck_broken.inc();
}

/// A query refused by `max_concurrent`.
pub(super) fn max_concurrent_reject() {
    FAMILIES.max_concurrent_rejects.inc();
}

/// The transport of a connection, as the `proto` label names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ConnProto {
    Udp = 0,
    Tcp = 1,
    Tls = 2,
}

impl ConnProto {
    fn label(self) -> &'static str {
        match self {
            ConnProto::Udp => "udp",
            ConnProto::Tcp => "tcp",
            ConnProto::Tls => "tcp-tls",
        }
    }
}

/// The series of one upstream.
pub(super) struct ProxyMetrics {
    /// `to`: `IP:port`, for TLS upstreams too.
    to: String,
    durations: Slots<u16, Histogram, 6>,
    healthcheck_failures: OnceLock<IntCounter>,
    /// Hits, then misses, per [`ConnProto`].
    conn: [[OnceLock<IntCounter>; 3]; 2],
}

impl std::fmt::Debug for ProxyMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProxyMetrics")
            .field("to", &self.to)
            .finish()
    }
}

impl ProxyMetrics {
    pub(super) fn new(addr: SocketAddr) -> Self {
        ProxyMetrics {
            to: addr.to_string(),
            durations: Slots::default(),
            healthcheck_failures: OnceLock::new(),
            conn: Default::default(),
        }
    }

    /// An exchange that brought a reply with `rcode` after `took`.
    pub(super) fn observe(&self, rcode: u16, took: Duration) {
        self.durations.with(
            rcode,
            || {
                let label = crate::plugins::template::names::rcode_name(rcode);
                FAMILIES
                    .request_duration
                    .with_label_values(&[PROXY_NAME, &self.to, &label])
            },
            |h| h.observe(took.as_secs_f64()),
        );
    }

    /// A failed health check.
    pub(super) fn healthcheck_failed(&self) {
        self.healthcheck_failures
            .get_or_init(|| {
                FAMILIES
                    .healthcheck_failures
                    .with_label_values(&[PROXY_NAME, &self.to])
            })
            .inc();
    }

    /// An exchange took an idle connection (`hit`) or opened one.
    pub(super) fn connection(&self, hit: bool, proto: ConnProto) {
        let family = if hit {
            &FAMILIES.conn_cache_hits
        } else {
            &FAMILIES.conn_cache_misses
        };
        self.conn[usize::from(!hit)][proto as usize]
            .get_or_init(|| family.with_label_values(&[PROXY_NAME, &self.to, proto.label()]))
            .inc();
    }
}

/// The response code of a reply on the wire: the header's four bits and,
/// if the reply has an OPT record, its eight extended bits.
pub(super) fn reply_rcode(m: &[u8]) -> u16 {
    let low = u16::from(m.get(3).map_or(0, |b| b & 0x0f));
    low | opt_rcode_high(m).map_or(0, |h| u16::from(h) << 4)
}

fn opt_rcode_high(m: &[u8]) -> Option<u8> {
    let count = |i: usize| {
        Some(usize::from(u16::from_be_bytes([
            *m.get(i)?,
            *m.get(i + 1)?,
        ])))
    };
    let (qd, an, ns, ar) = (count(4)?, count(6)?, count(8)?, count(10)?);
    if ar == 0 {
        return None;
    }
    let mut at = 12;
    for _ in 0..qd {
        at = skip_name(m, at)? + 4;
    }
    for i in 0..an + ns + ar {
        let fixed = skip_name(m, at)?;
        let rtype = count(fixed)?;
        if i >= an + ns && rtype == 41 {
            return m.get(fixed + 4).copied();
        }
        at = fixed + 10 + count(fixed + 8)?;
    }
    None
}

/// The offset just past the name at `at`.
fn skip_name(m: &[u8], mut at: usize) -> Option<usize> {
    loop {
        let len = *m.get(at)?;
        match len & 0xc0 {
            0xc0 => return Some(at + 2),
            0 if len == 0 => return Some(at + 1),
            0 => at += 1 + usize::from(len),
            _ => return None,
        }
    }
}
