//! `coredns_template_*`. Each template resolves its series per listener
//! and zone, and per (class, type) on first use; a query then costs one
//! atomic increment.

use super::setup::TemplateSpec;
use crate::metrics::{BlockLabels, Slots, counter_vec};
use prometheus::{IntCounter, IntCounterVec};
use std::sync::LazyLock;

struct Families {
    matches: IntCounterVec,
    template_failures: IntCounterVec,
    rr_failures: IntCounterVec,
}

static FAMILIES: LazyLock<Families> = LazyLock::new(|| {
    let failed = [
        "server", "zone", "view", "class", "type", "section", "template",
    ];
    Families {
        matches: counter_vec(
            "coredns_template_matches_total",
            "Queries whose name matched a template's regular expression.",
            &["server", "zone", "view", "class", "type"],
        ),
        template_failures: counter_vec(
            "coredns_template_template_failures_total",
            "Record templates that failed to execute.",
            &failed,
        ),
        rr_failures: counter_vec(
            "coredns_template_rr_failures_total",
            "Record templates whose output was not a valid record.",
            &failed,
        ),
    }
});

/// (class, type) label pairs one template sees: its own, unless it takes
/// any class or type; rarely more than one.
const PAIRS: usize = 4;

type Cells = Slots<(u16, u16), IntCounter, PAIRS>;

/// The labels a query's counts go under.
pub(super) struct Query<'a> {
    pub server: &'a str,
    pub zone: usize,
    pub class: (u16, &'a str),
    pub qtype: (u16, &'a str),
}

/// One template's series.
struct Spec {
    zones: Vec<String>,
    /// Section and `template` label of each record template, answer,
    /// additional, then authority.
    rrs: Vec<(&'static str, String)>,
    /// Per listener and zone.
    matches: Vec<Cells>,
    /// Per listener, zone and record template: failures to execute, and
    /// outputs that are not records.
    failures: Vec<[Slots<(u16, u16), IntCounter, 1>; 2]>,
}

/// The series of one block's templates.
pub(super) struct TemplateMetrics {
    labels: BlockLabels,
    specs: Vec<Spec>,
}

impl std::fmt::Debug for TemplateMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TemplateMetrics")
            .field("servers", &self.labels.servers)
            .finish()
    }
}

impl TemplateMetrics {
    pub(super) fn new(labels: BlockLabels, specs: &[TemplateSpec]) -> Self {
        let n = labels.servers.len();
        let specs = specs
            .iter()
            .map(|t| {
                let rrs: Vec<(&'static str, String)> = [
                    ("answer", &t.answer),
                    ("additional", &t.additional),
                    ("authority", &t.authority),
                ]
                .into_iter()
                .flat_map(|(section, rrs)| {
                    rrs.iter()
                        .map(move |rr| (section, super::tmpl::go_string(&rr.text)))
                })
                .collect();
                let cells = n * t.zones.len();
                Spec {
                    zones: t.zones.clone(),
                    matches: (0..cells).map(|_| Cells::default()).collect(),
                    failures: (0..cells * rrs.len()).map(|_| Default::default()).collect(),
                    rrs,
                }
            })
            .collect();
        TemplateMetrics { labels, specs }
    }

    /// Template `spec` matched `q`.
    pub(super) fn matched(&self, spec: usize, q: &Query<'_>) {
        let Some(t) = self.specs.get(spec) else {
            return;
        };
        let s = self.labels.index(q.server);
        let Some(cells) = t.matches.get(s * t.zones.len() + q.zone) else {
            return;
        };
        cells.with(
            (q.class.0, q.qtype.0),
            || {
                FAMILIES.matches.with_label_values(&[
                    self.labels.server(s),
                    &t.zones[q.zone],
                    &self.labels.view,
                    q.class.1,
                    q.qtype.1,
                ])
            },
            IntCounter::inc,
        );
    }

    /// Record template `rr` (counted over the sections, in order) of
    /// template `spec` failed for `q`: to execute, or (`bad_record`) to
    /// give a record.
    pub(super) fn failed(&self, spec: usize, rr: usize, bad_record: bool, q: &Query<'_>) {
        let Some(t) = self.specs.get(spec) else {
            return;
        };
        let Some((section, text)) = t.rrs.get(rr) else {
            return;
        };
        let s = self.labels.index(q.server);
        let at = (s * t.zones.len() + q.zone) * t.rrs.len() + rr;
        let Some(cells) = t.failures.get(at) else {
            return;
        };
        let family = if bad_record {
            &FAMILIES.rr_failures
        } else {
            &FAMILIES.template_failures
        };
        cells[usize::from(bad_record)].with(
            (q.class.0, q.qtype.0),
            || {
                family.with_label_values(&[
                    self.labels.server(s),
                    &t.zones[q.zone],
                    &self.labels.view,
                    q.class.1,
                    q.qtype.1,
                    section,
                    text,
                ])
            },
            IntCounter::inc,
        );
    }
}
