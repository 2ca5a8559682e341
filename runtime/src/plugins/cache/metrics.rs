//! `coredns_cache_*`. Each cache counts its events per listener in plain
//! atomics (one increment per event, no lock); one collector turns them
//! into series when `/metrics` is scraped. A cache that is dropped (after
//! a reload) hands its counts to the collector, so counters never go
//! backwards, and the entry counts are read from the live caches, so a
//! dropped cache's entries are gone with it.

use crate::metrics::BlockLabels;
use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{IntCounterVec, IntGaugeVec, Opts};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex};

/// What a cache counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Event {
    /// A lookup (`requests_total`).
    Request,
    /// A hit in the success cache.
    HitSuccess,
    /// A hit in the denial cache.
    HitDenial,
    /// A lookup that found nothing usable.
    Miss,
    /// A background refresh started.
    Prefetch,
    /// A reply not stored because its question was not the query's.
    Drop,
    /// A reply served from an expired entry.
    ServedStale,
    /// An entry evicted from the success cache.
    EvictionSuccess,
    /// An entry evicted from the denial cache.
    EvictionDenial,
}

const EVENTS: usize = 9;

/// One cache's counts for one listener.
#[derive(Debug, Default)]
pub(super) struct Counts([AtomicU64; EVENTS]);

impl Counts {
    pub(super) fn add(&self, e: Event, n: u64) {
        self.0[e as usize].fetch_add(n, Ordering::Relaxed);
    }

    pub(super) fn bump(&self, e: Event) {
        self.add(e, 1);
    }

    pub(super) fn get(&self, e: Event) -> u64 {
        self.0[e as usize].load(Ordering::Relaxed)
    }

    fn snapshot(&self) -> [u64; EVENTS] {
        std::array::from_fn(|i| self.0[i].load(Ordering::Relaxed))
    }
}

/// `server`, `zones`, `view`.
type Labels = [String; 3];

/// Reads a live cache's entry counts (success, denial); `None` once the
/// cache is being dropped.
pub(super) type Sizes = Arc<dyn Fn() -> Option<(usize, usize)> + Send + Sync>;

struct Live {
    id: u64,
    /// Per listener, in the order of `counts`.
    labels: Vec<Labels>,
    counts: Arc<[Counts]>,
    sizes: Sizes,
}

#[derive(Default)]
struct Book {
    next_id: u64,
    live: Vec<Live>,
    /// The counts of caches already dropped.
    retired: BTreeMap<Labels, [u64; EVENTS]>,
}

static BOOK: LazyLock<Mutex<Book>> = LazyLock::new(|| {
    crate::metrics::register_collector(CacheCollector {
        families: Families::new(),
    });
    Mutex::new(Book::default())
});

fn book() -> std::sync::MutexGuard<'static, Book> {
    BOOK.lock().unwrap_or_else(|e| e.into_inner())
}

/// One cache's place in the collector; dropping it (with the cache) hands
/// the cache's counts over.
pub(super) struct Registration {
    id: u64,
    /// Per listener of the block.
    pub(super) counts: Arc<[Counts]>,
    pub(super) labels: BlockLabels,
}

impl std::fmt::Debug for Registration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registration")
            .field("servers", &self.labels.servers)
            .finish()
    }
}

impl Registration {
    /// Registers a cache of `zones` (comma-joined) serving the block
    /// labelled `labels`, whose sizes `sizes` reads.
    pub(super) fn new(labels: BlockLabels, zones: &str, sizes: Sizes) -> Self {
        let counts: Arc<[Counts]> = labels.servers.iter().map(|_| Counts::default()).collect();
        let mut b = book();
        b.next_id += 1;
        let id = b.next_id;
        b.live.push(Live {
            id,
            labels: labels
                .servers
                .iter()
                .map(|s| [s.to_string(), zones.to_string(), labels.view.to_string()])
                .collect(),
            counts: counts.clone(),
            sizes,
        });
        Registration { id, counts, labels }
    }

    /// The counts for listener `server`.
    pub(super) fn of(&self, server: &str) -> &Counts {
        &self.counts[self.labels.index(server)]
    }

    /// The sum over listeners of `e`.
    pub(super) fn total(&self, e: Event) -> u64 {
        self.counts.iter().map(|c| c.get(e)).sum()
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut b = book();
        let Some(at) = b.live.iter().position(|l| l.id == self.id) else {
            return;
        };
        let gone = b.live.swap_remove(at);
        for (labels, counts) in gone.labels.into_iter().zip(gone.counts.iter()) {
            let sum = b.retired.entry(labels).or_insert([0; EVENTS]);
            for (s, n) in sum.iter_mut().zip(counts.snapshot()) {
                *s += n;
            }
        }
    }
}

/// The eight families, unregistered: the collector fills a fresh set per
/// scrape.
struct Families {
    entries: IntGaugeVec,
    requests: IntCounterVec,
    hits: IntCounterVec,
    misses: IntCounterVec,
    prefetch: IntCounterVec,
    drops: IntCounterVec,
    served_stale: IntCounterVec,
    evictions: IntCounterVec,
}

impl Families {
    fn new() -> Self {
        let plain = ["server", "zones", "view"];
        let typed = ["server", "type", "zones", "view"];
        let counter = |name: &str, help: &str, labels: &[&str]| {
            IntCounterVec::new(Opts::new(name, help), labels).expect("a valid counter")
        };
        Families {
            entries: IntGaugeVec::new(
                Opts::new(
                    "coredns_cache_entries",
                    "Entries held in the cache, per cache type.",
                ),
                &typed,
            )
            .expect("a valid gauge"),
            requests: counter(
                "coredns_cache_requests_total",
                "Queries the cache looked up.",
                &plain,
            ),
            hits: counter(
                "coredns_cache_hits_total",
                "Queries answered from the cache, per cache type.",
                &typed,
            ),
            misses: counter(
                "coredns_cache_misses_total",
                "Queries the cache could not answer (deprecated: requests minus hits).",
                &plain,
            ),
            prefetch: counter(
                "coredns_cache_prefetch_total",
                "Entries the cache refreshed ahead of their expiry.",
                &plain,
            ),
            drops: counter(
                "coredns_cache_drops_total",
                "Replies left out of the cache because their question was not the query's.",
                &plain,
            ),
            served_stale: counter(
                "coredns_cache_served_stale_total",
                "Queries answered from expired entries.",
                &plain,
            ),
            evictions: counter(
                "coredns_cache_evictions_total",
                "Entries removed to make room, per cache type.",
                &typed,
            ),
        }
    }

    fn all(&self) -> [&dyn Collector; 8] {
        [
            &self.entries,
            &self.requests,
            &self.hits,
            &self.misses,
            &self.prefetch,
            &self.drops,
            &self.served_stale,
            &self.evictions,
        ]
    }

    /// Adds one label set's counts; as in CoreDNS a series shows once it
    /// has counted something.
    fn count(&self, [server, zones, view]: &Labels, n: &[u64; EVENTS]) {
        let (s, z, v) = (server.as_str(), zones.as_str(), view.as_str());
        let plain: [(&IntCounterVec, Event); 5] = [
            (&self.requests, Event::Request),
            (&self.misses, Event::Miss),
            (&self.prefetch, Event::Prefetch),
            (&self.drops, Event::Drop),
            (&self.served_stale, Event::ServedStale),
        ];
        for (family, e) in plain {
            if n[e as usize] > 0 {
                family.with_label_values(&[s, z, v]).inc_by(n[e as usize]);
            }
        }
        let typed: [(&IntCounterVec, &str, Event); 4] = [
            (&self.hits, "success", Event::HitSuccess),
            (&self.hits, "denial", Event::HitDenial),
            (&self.evictions, "success", Event::EvictionSuccess),
            (&self.evictions, "denial", Event::EvictionDenial),
        ];
        for (family, t, e) in typed {
            if n[e as usize] > 0 {
                family
                    .with_label_values(&[s, t, z, v])
                    .inc_by(n[e as usize]);
            }
        }
    }
}

struct CacheCollector {
    /// For the descriptions only.
    families: Families,
}

impl Collector for CacheCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.families
            .all()
            .into_iter()
            .flat_map(|c| c.desc())
            .collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let mut sums: BTreeMap<Labels, [u64; EVENTS]> = BTreeMap::new();
        let mut sizes: Vec<(Vec<Labels>, Sizes)> = Vec::new();
        {
            let b = book();
            sums.clone_from(&b.retired);
            for live in &b.live {
                for (labels, counts) in live.labels.iter().zip(live.counts.iter()) {
                    let sum = sums.entry(labels.clone()).or_insert([0; EVENTS]);
                    for (s, n) in sum.iter_mut().zip(counts.snapshot()) {
                        *s += n;
                    }
                }
                sizes.push((live.labels.clone(), live.sizes.clone()));
            }
        }
        let out = Families::new();
        for (labels, n) in &sums {
            out.count(labels, n);
        }
        // Outside the lock: reading a cache may drop the last reference to
        // it, and its registration then takes the lock.
        for (labels, read) in sizes {
            let Some((success, denial)) = read() else {
                continue;
            };
            for [server, zones, view] in &labels {
                for (t, n) in [("success", success), ("denial", denial)] {
                    out.entries
                        .with_label_values(&[server.as_str(), t, zones, view])
                        .add(i64::try_from(n).unwrap_or(i64::MAX));
                }
            }
        }
        out.all().into_iter().flat_map(|c| c.collect()).collect()
    }
}
