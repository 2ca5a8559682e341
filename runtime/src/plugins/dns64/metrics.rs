//! `coredns_dns64_requests_translated_total`, resolved once per listener.

use crate::metrics::{BlockLabels, counter_vec};
use prometheus::{IntCounter, IntCounterVec};
use std::sync::{LazyLock, OnceLock};

static TRANSLATED: LazyLock<IntCounterVec> = LazyLock::new(|| {
    counter_vec(
        "coredns_dns64_requests_translated_total",
        "AAAA queries answered with records synthesized from A records.",
        &["server"],
    )
});

/// The series of one block's dns64.
#[derive(Debug)]
pub(super) struct Dns64Metrics {
    labels: BlockLabels,
    translated: Vec<OnceLock<IntCounter>>,
}

impl Dns64Metrics {
    pub(super) fn new(labels: BlockLabels) -> Self {
        Dns64Metrics {
            translated: labels.servers.iter().map(|_| OnceLock::new()).collect(),
            labels,
        }
    }

    /// A query to listener `server` got a synthesized answer.
    pub(super) fn translated(&self, server: &str) {
        let s = self.labels.index(server);
        self.translated[s]
            .get_or_init(|| TRANSLATED.with_label_values(&[self.labels.server(s)]))
            .inc();
    }
}
