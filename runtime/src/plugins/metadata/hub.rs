//! How the plugins of one block find each other for metadata. The chain is
//! built in registry order, *metadata* first, so the providers and readers
//! built after it announce themselves here at build time; the wiring is
//! frozen the first time a query needs it, once the whole site is built.

use crate::plugin::Meta;
use crate::plugins::log::in_scope;
use crate::plugins::view::expr::QueryFacts;
use std::sync::{Arc, Mutex, OnceLock};

/// A plugin that sets labels on every query of its block before the chain
/// runs (CoreDNS's `metadata.Provider`). It works from the query's facts
/// alone, so the same labels exist while a query is routed (*view*
/// filters), in the full path and for a fast-lane query.
pub trait Provider: Send + Sync {
    /// Sets this plugin's labels for query `q`. Called for every query in
    /// the *metadata* plugin's zones: keep it cheap.
    fn provide(&self, q: &dyn QueryFacts, meta: &mut Meta);
}

/// One block's metadata wiring, shared by its plugins (`BlockConfig::metadata`).
#[derive(Clone, Default)]
pub struct MetadataHub(Arc<Hub>);

#[derive(Default)]
struct Hub {
    building: Mutex<Wiring>,
    serving: OnceLock<Wiring>,
}

#[derive(Clone, Default)]
struct Wiring {
    /// The *metadata* plugin's zones; `None` when the block has none.
    zones: Option<Vec<String>>,
    providers: Vec<Arc<dyn Provider>>,
    /// Some plugin reads labels where the fast lane would not have them.
    read_in_fast_lane: bool,
}

impl MetadataHub {
    /// Turns collection on for the block (the *metadata* plugin).
    pub fn enable(&self, zones: Vec<String>) {
        self.building(|w| w.zones = Some(zones));
    }

    /// Adds a provider, called for each query in the *metadata* plugin's zones.
    pub fn provide(&self, p: impl Provider + 'static) {
        self.building(|w| w.providers.push(Arc::new(p)));
    }

    /// Says that a plugin of the block would read labels while answering
    /// in the fast lane, where no metadata is collected: with *metadata*
    /// enabled, the block's queries then take the full path.
    pub fn read_in_fast_lane(&self) {
        self.building(|w| w.read_in_fast_lane = true);
    }

    fn building(&self, f: impl FnOnce(&mut Wiring)) {
        debug_assert!(self.0.serving.get().is_none(), "metadata wired after use");
        if let Ok(mut w) = self.0.building.lock() {
            f(&mut w);
        }
    }

    /// The wiring as built. Frozen at the first query, so later reads cost
    /// no lock.
    fn wiring(&self) -> &Wiring {
        self.0.serving.get_or_init(|| {
            self.0
                .building
                .lock()
                .map(|w| w.clone())
                .unwrap_or_default()
        })
    }

    /// Is metadata collected in this block?
    pub fn enabled(&self) -> bool {
        self.wiring().zones.is_some()
    }

    /// May the block's queries take the fast lane? Not when metadata is
    /// collected and some plugin would miss it there.
    pub fn fast_lane_ok(&self) -> bool {
        let w = self.wiring();
        w.zones.is_none() || !w.read_in_fast_lane
    }

    /// The metadata of query `q` whose name is `name` (lowercase, fully
    /// qualified): `None` without *metadata*; else the providers' labels
    /// when the name is in its zones. Outside them the store still exists,
    /// so labels plugins set while answering (the query log's) are kept.
    pub fn collect(&self, name: &str, q: &dyn QueryFacts) -> Option<Meta> {
        let w = self.wiring();
        let zones = w.zones.as_ref()?;
        let mut meta = Meta::default();
        if zones.iter().any(|z| in_scope(z, name)) {
            for p in &w.providers {
                p.provide(q, &mut meta);
            }
        }
        Some(meta)
    }
}

impl std::fmt::Debug for MetadataHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let w = self.0.serving.get().cloned().unwrap_or_else(|| {
            self.0
                .building
                .lock()
                .map(|w| w.clone())
                .unwrap_or_default()
        });
        f.debug_struct("MetadataHub")
            .field("zones", &w.zones)
            .field("providers", &w.providers.len())
            .field("read_in_fast_lane", &w.read_in_fast_lane)
            .finish()
    }
}
