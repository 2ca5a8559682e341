//! `coredns_acl_*`: series resolved once per listener and zone, on first
//! use; a query then costs one atomic increment.

use super::setup::Action;
use crate::metrics::{BlockLabels, counter_vec};
use prometheus::{IntCounter, IntCounterVec};
use std::sync::{LazyLock, OnceLock};

struct Families {
    blocked: IntCounterVec,
    filtered: IntCounterVec,
    dropped: IntCounterVec,
    allowed: IntCounterVec,
}

static FAMILIES: LazyLock<Families> = LazyLock::new(|| {
    let zoned = ["server", "zone", "view"];
    Families {
        blocked: counter_vec(
            "coredns_acl_blocked_requests_total",
            "Queries refused by an acl block rule.",
            &zoned,
        ),
        filtered: counter_vec(
            "coredns_acl_filtered_requests_total",
            "Queries answered empty by an acl filter rule.",
            &zoned,
        ),
        dropped: counter_vec(
            "coredns_acl_dropped_requests_total",
            "Queries left unanswered by an acl drop rule.",
            &zoned,
        ),
        allowed: counter_vec(
            "coredns_acl_allowed_requests_total",
            "Queries acl let through to the next plugin.",
            &["server", "view"],
        ),
    }
});

/// Block, filter, drop.
const REFUSALS: usize = 3;

fn slot(action: Action) -> Option<usize> {
    match action {
        Action::Block => Some(0),
        Action::Filter => Some(1),
        Action::Drop => Some(2),
        Action::Allow => None,
    }
}

/// The series of one block's acl.
#[derive(Debug)]
pub(super) struct AclMetrics {
    labels: BlockLabels,
    /// Every rule's zones, one after the other.
    zones: Vec<String>,
    /// Per listener, per zone.
    refused: Vec<[OnceLock<IntCounter>; REFUSALS]>,
    /// Per listener.
    allowed: Vec<OnceLock<IntCounter>>,
}

impl AclMetrics {
    pub(super) fn new(labels: BlockLabels, zones: Vec<String>) -> Self {
        let n = labels.servers.len();
        AclMetrics {
            refused: (0..n * zones.len()).map(|_| Default::default()).collect(),
            allowed: (0..n).map(|_| OnceLock::new()).collect(),
            labels,
            zones,
        }
    }

    /// A query to listener `server` refused with `action` by a rule for
    /// the zone numbered `zone`.
    pub(super) fn refused(&self, server: &str, zone: usize, action: Action) {
        let Some(a) = slot(action) else { return };
        let s = self.labels.index(server);
        let Some(cells) = self.refused.get(s * self.zones.len() + zone) else {
            return;
        };
        cells[a]
            .get_or_init(|| {
                let f = &*FAMILIES;
                let family = [&f.blocked, &f.filtered, &f.dropped][a];
                family.with_label_values(&[
                    self.labels.server(s),
                    &self.zones[zone],
                    &self.labels.view,
                ])
            })
            .inc();
    }

    /// A query to listener `server` let through.
    pub(super) fn allowed(&self, server: &str) {
        let s = self.labels.index(server);
        self.allowed[s]
            .get_or_init(|| {
                FAMILIES
                    .allowed
                    .with_label_values(&[self.labels.server(s), &self.labels.view])
            })
            .inc();
    }
}
