use super::setup::AutoConfig;
use crate::dns::{Name, Record, RecordType};
use crate::plugin::{Handler, Outcome, Plugin, Request, Setup};
use crate::plugins::file::zone::Zone;
use crate::plugins::file::{Slot, in_zone, serve_zones, serve_zones_wire};
use crate::site::{BuildEnv, ZoneSource, ZoneSources};
use crate::upstream::Upstream;
use crate::wire::WireQuery;
use arc_swap::{ArcSwap, ArcSwapOption};
use corec_compiler::Diagnostic;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The auto plugin.
#[derive(Debug)]
pub struct Auto {
    /// The zones found so far, longest origin first.
    slots: Arc<ArcSwap<Vec<Slot>>>,
    upstream: Upstream,
}

impl Plugin for Auto {
    const NAME: &'static str = "auto";

    async fn serve<'a, N: Handler>(&'a self, req: &'a mut Request, next: &'a N) -> Outcome {
        let slots = self.slots.load();
        serve_zones(Self::NAME, &slots, &self.upstream, req, next).await
    }

    fn serve_wire<N: Handler>(&self, q: &WireQuery<'_>, out: &mut Vec<u8>, next: &N) -> bool {
        serve_zones_wire(&self.slots.load(), q, out, next)
    }
}

/// One zone found in the directory, offered to *transfer*.
#[derive(Debug)]
struct Found {
    origin: String,
    file: PathBuf,
    zone: Arc<ArcSwapOption<Zone>>,
}

impl ZoneSource for Found {
    fn origin(&self) -> &str {
        &self.origin
    }

    fn plugin(&self) -> &'static str {
        Auto::NAME
    }

    fn snapshot(&self) -> Option<(Record, Vec<Record>)> {
        let z = self.zone.load_full()?;
        Some((
            z.soa().clone(),
            z.records()
                .filter(|r| r.record_type() != RecordType::SOA)
                .collect(),
        ))
    }
}

/// The scanner's state between scans.
struct Scanner {
    dir: PathBuf,
    cfg: AutoConfig,
    found: BTreeMap<String, Arc<Found>>,
    slots: Arc<ArcSwap<Vec<Slot>>>,
    sources: ZoneSources,
    listeners: crate::site::ZoneListeners,
}

impl Scanner {
    /// Files in the directory that name a zone this plugin serves.
    fn candidates(&self) -> BTreeMap<String, PathBuf> {
        let mut out = BTreeMap::new();
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return out;
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let Some(caps) = self.cfg.regexp.captures(&name) else {
                continue;
            };
            let mut origin = self.cfg.template.clone();
            for i in 1..caps.len() {
                origin =
                    origin.replace(&format!("{{{i}}}"), caps.get(i).map_or("", |m| m.as_str()));
            }
            let origin = corec_compiler::keys::fqdn(&origin);
            // Zones outside the plugin's are loaded by CoreDNS but never
            // asked; corec does not load them at all.
            if self.cfg.zones.iter().any(|z| in_zone(&origin, z)) {
                out.insert(origin, e.path());
            }
        }
        out
    }

    fn load(file: &Path, origin: &str) -> Result<Zone, String> {
        let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
        let name = Name::from_ascii(origin).map_err(|e| e.to_string())?;
        Zone::parse(&text, file, &name)
            .map_err(|e| format!("{}:{}: {}", e.file.display(), e.line, e.message))
    }

    /// Adds new zones, drops vanished ones, reloads changed serials.
    fn scan(&mut self) {
        let now = self.candidates();
        let gone: Vec<String> = self
            .found
            .keys()
            .filter(|o| !now.contains_key(*o))
            .cloned()
            .collect();
        let mut changed = !gone.is_empty();
        for origin in gone {
            self.found.remove(&origin);
            tracing::info!(target: "plugin/auto", "zone \"{origin}\" removed");
        }
        for (origin, file) in now {
            match Self::load(&file, &origin) {
                Ok(zone) => match self.found.get(&origin) {
                    Some(f)
                        if f.file == file
                            && f.zone
                                .load()
                                .as_ref()
                                .is_some_and(|z| z.serial == zone.serial) => {}
                    Some(f) if f.file == file => {
                        tracing::info!(target: "plugin/auto", "Successfully reloaded zone \"{origin}\" in \"{}\" with serial {}", file.display(), zone.serial);
                        f.zone.store(Some(Arc::new(zone)));
                        self.listeners.changed(&origin);
                    }
                    _ => {
                        tracing::info!(target: "plugin/auto", "Inserting zone \"{origin}\" from {}", file.display());
                        let found = Found {
                            origin: origin.clone(),
                            file,
                            zone: Arc::new(ArcSwapOption::from_pointee(zone)),
                        };
                        self.found.insert(origin.clone(), Arc::new(found));
                        self.listeners.changed(&origin);
                        changed = true;
                    }
                },
                Err(e) => tracing::error!(target: "plugin/auto", "{e}"),
            }
        }
        if changed {
            self.publish();
        }
    }

    fn publish(&self) {
        let mut slots: Vec<Slot> = self
            .found
            .values()
            .map(|f| {
                Slot::new(
                    f.origin.clone(),
                    f.zone.clone(),
                    self.cfg.fallthrough.clone(),
                )
            })
            .collect();
        slots.sort_by_key(|s| std::cmp::Reverse(s.origin.len()));
        self.slots.store(Arc::new(slots));
        if let Ok(mut sources) = self.sources.write() {
            // Replace the zones this plugin offered before; keep other plugins' zones.
            sources.retain(|s| s.plugin() != Auto::NAME);
            for f in self.found.values() {
                sources.push(f.clone());
            }
        }
    }
}

impl Setup for Auto {
    type Config = AutoConfig;

    fn build(cfg: AutoConfig, env: &mut BuildEnv<'_>) -> Result<Self, Diagnostic> {
        let dir = env.resolve(&cfg.directory);
        let slots = Arc::new(ArcSwap::from_pointee(Vec::new()));
        let every = cfg.reload;
        let mut scanner = Scanner {
            dir,
            cfg,
            found: BTreeMap::new(),
            slots: slots.clone(),
            sources: env.config.zone_sources.clone(),
            listeners: env.config.zone_listeners.clone(),
        };
        scanner.scan();
        if !every.is_zero() && tokio::runtime::Handle::try_current().is_ok() {
            let stop = env.shutdown();
            tokio::spawn(async move {
                loop {
                    tokio::select! {
                        _ = stop.cancelled() => return,
                        _ = tokio::time::sleep(every) => scanner.scan(),
                    }
                }
            });
        }
        Ok(Auto {
            slots,
            upstream: env.upstream(),
        })
    }
}
