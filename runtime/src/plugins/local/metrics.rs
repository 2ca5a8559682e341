//! `coredns_local_localhost_requests_total`.

use prometheus::IntCounter;
use std::sync::LazyLock;

static LOCALHOST: LazyLock<IntCounter> = LazyLock::new(|| {
    crate::metrics::counter(
        "coredns_local_localhost_requests_total",
        "Queries for names below localhost. (or localhost.<domain>) answered with loopback data.",
    )
});

/// A query for a name below `localhost.`, or a legacy `localhost.<domain>`.
pub(super) fn localhost_request() {
    LOCALHOST.inc();
}
