use super::setup::{FileConfig, FileSource};
use super::zone::Zone;
use crate::dns::{Name, RecordType, ResponseCode};
use crate::plugin::{Answer, Handler, Outcome, Plugin, Proto, Request, Setup};
use crate::site::BuildEnv;
use crate::upstream::Upstream;
use crate::wire::WireQuery;
use arc_swap::ArcSwapOption;
use corec_compiler::Diagnostic;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// One origin served from one zone (a file, or a transfer for *secondary*).
#[derive(Debug)]
pub(crate) struct Slot {
    pub(crate) origin: String,
    pub(crate) zone: Arc<ArcSwapOption<Zone>>,
    pub(crate) fallthrough: Option<Vec<String>>,
    /// `origin` as a lowercase wire name, for the fast lane.
    origin_wire: Box<[u8]>,
}

impl Slot {
    /// Serves `origin` (lowercase, fully qualified) from `zone`.
    pub(crate) fn new(
        origin: String,
        zone: Arc<ArcSwapOption<Zone>>,
        fallthrough: Option<Vec<String>>,
    ) -> Slot {
        use crate::dns::BinEncodable;
        let origin_wire = Name::from_ascii(&origin)
            .ok()
            .and_then(|n| n.to_lowercase().to_bytes().ok())
            .unwrap_or_default()
            .into();
        Slot {
            origin,
            zone,
            fallthrough,
            origin_wire,
        }
    }
}

/// The file plugin.
#[derive(Debug)]
pub struct File {
    /// Longest origin first, so the first match is the most specific.
    slots: Vec<Slot>,
    upstream: Upstream,
}

/// Is `name` equal to or below `zone` (both lowercase FQDNs)?
pub(crate) fn in_zone(name: &str, zone: &str) -> bool {
    zone == "."
        || name == zone
        || (name.ends_with(zone) && name.as_bytes()[name.len() - zone.len() - 1] == b'.')
}

/// Answers a query from the zone among `slots` that contains it: the query
/// path shared by *file* and *secondary*.
pub(crate) async fn serve_zones<N: Handler>(
    plugin: &'static str,
    slots: &[Slot],
    upstream: &Upstream,
    req: &mut Request,
    next: &N,
) -> Outcome {
    let name = req.name();
    let Some(slot) = slots.iter().find(|s| in_zone(&name, &s.origin)) else {
        // Authoritative to the end: nothing after us means REFUSED, not SERVFAIL.
        return match next.handle(req).await {
            Err(e) if e.message == "no next plugin found" => {
                Ok(Answer::Rcode(ResponseCode::Refused))
            }
            other => other,
        };
    };
    let qtype = req.qtype();
    if matches!(qtype, RecordType::AXFR | RecordType::IXFR) {
        return Ok(Answer::Rcode(ResponseCode::Refused));
    }
    let Some(zone) = slot.zone.load_full() else {
        return Ok(Answer::Rcode(ResponseCode::ServFail));
    };
    let mut found = zone.lookup(req.qname(), qtype, req.do_bit(), req.proto == Proto::Udp);
    // A CNAME chain that leaves the zone is followed through the server
    // itself; what it cannot answer leaves the chain for the client.
    if let Some(target) = zone.external_target(&found, qtype)
        && let Some(m) = upstream.lookup(req, target, qtype).await
    {
        found.answers.extend(m.answers);
    }
    if found.nxdomain
        && slot
            .fallthrough
            .as_ref()
            .is_some_and(|zones| zones.iter().any(|z| in_zone(&name, z)))
    {
        return next.handle(req).await;
    }
    let mut m = req.reply();
    found.fill(&mut m);
    Ok(Answer::reply(plugin, m))
}

/// [`serve_zones`] in the fast lane. Zones with `fallthrough` take the full
/// path, which can tell NXDOMAIN before handing on.
pub(crate) fn serve_zones_wire<N: Handler>(
    slots: &[Slot],
    q: &WireQuery<'_>,
    out: &mut Vec<u8>,
    next: &N,
) -> bool {
    let Some(slot) = slots
        .iter()
        .find(|s| crate::wire::in_zone(q.lname(), &s.origin_wire))
    else {
        return next.handle_wire(q, out);
    };
    if slot.fallthrough.is_some()
        || matches!(
            RecordType::from(q.qtype),
            RecordType::AXFR | RecordType::IXFR
        )
    {
        return false;
    }
    match &*slot.zone.load() {
        Some(zone) => zone.answer_wire(q, out),
        None => false,
    }
}

impl Plugin for File {
    const NAME: &'static str = "file";

    async fn serve<'a, N: Handler>(&'a self, req: &'a mut Request, next: &'a N) -> Outcome {
        serve_zones(Self::NAME, &self.slots, &self.upstream, req, next).await
    }

    fn serve_wire<N: Handler>(&self, q: &WireQuery<'_>, out: &mut Vec<u8>, next: &N) -> bool {
        serve_zones_wire(&self.slots, q, out, next)
    }
}

/// Offers a zone to *transfer*.
pub(crate) fn offer_for_transfer(
    env: &BuildEnv<'_>,
    plugin: &'static str,
    origin: &str,
    zone: &Arc<ArcSwapOption<Zone>>,
) {
    if let Ok(mut sources) = env.config.zone_sources.write() {
        sources.push(Arc::new(Source {
            plugin,
            origin: origin.to_string(),
            zone: zone.clone(),
        }));
    }
}

/// One of this plugin's zones, offered for zone transfers.
#[derive(Debug)]
struct Source {
    plugin: &'static str,
    origin: String,
    zone: Arc<ArcSwapOption<Zone>>,
}

impl crate::site::ZoneSource for Source {
    fn origin(&self) -> &str {
        &self.origin
    }

    fn plugin(&self) -> &'static str {
        self.plugin
    }

    fn snapshot(&self) -> Option<(crate::dns::Record, Vec<crate::dns::Record>)> {
        let zone = self.zone.load_full()?;
        let soa = zone.soa().clone();
        let rest = zone
            .records()
            .filter(|r| r.record_type() != RecordType::SOA)
            .collect();
        Some((soa, rest))
    }
}

/// A zone file's identity for change detection.
fn stamp(path: &Path) -> Option<(SystemTime, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

fn load(path: &Path, origin: &Name) -> Result<Zone, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Zone::parse(&text, path, origin).map_err(|e| {
        if e.line > 0 {
            format!("{}:{}: {}", e.file.display(), e.line, e.message)
        } else {
            format!("{}: {}", e.file.display(), e.message)
        }
    })
}

/// Re-reads the file when it changes on disk and swaps in the new zone if its
/// serial changed (or, with `reload_by_mtime`, whenever it changed); a broken
/// file is logged and the old zone keeps serving.
async fn reload_loop(
    path: PathBuf,
    origin: Name,
    zone: Arc<ArcSwapOption<Zone>>,
    every: Duration,
    by_mtime: bool,
    listeners: crate::site::ZoneListeners,
    stop: tokio_util::sync::CancellationToken,
) {
    let mut last = stamp(&path);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
        let now = stamp(&path);
        // Timestamps are coarse: a file rewritten within the same tick keeps
        // its mtime (and maybe its size), so a recently modified file is
        // re-read until it has been quiet for a while.
        let recent = now.is_some_and(|(mtime, _)| {
            mtime
                .elapsed()
                .map_or(true, |age| age < Duration::from_secs(2))
        });
        let changed = now != last;
        if now.is_none() || !(changed || recent) {
            continue;
        }
        last = now;
        match load(&path, &origin) {
            Ok(new) => {
                let old = zone.load().as_ref().map(|z| z.serial);
                if (by_mtime && changed) || old != Some(new.serial) {
                    tracing::info!(target: "plugin/file", "Successfully reloaded zone \"{origin}\" in \"{}\" with serial {}", path.display(), new.serial);
                    zone.store(Some(Arc::new(new)));
                    listeners.changed(&origin.to_ascii().to_ascii_lowercase());
                }
            }
            Err(e) if changed => {
                tracing::error!(target: "plugin/file", "failed to reload zone \"{origin}\": {e}; keeping the previous version")
            }
            Err(_) => {}
        }
    }
}

impl Setup for File {
    type Config = FileConfig;

    fn build(cfg: FileConfig, env: &mut BuildEnv<'_>) -> Result<Self, Diagnostic> {
        let mut slots = Vec::new();
        for FileSource {
            path,
            span,
            zones,
            reload,
            reload_by_mtime,
            fallthrough,
        } in cfg.sources
        {
            let file = env.resolve(&path);
            for origin_text in zones {
                let origin = Name::from_ascii(&origin_text).map_err(|e| {
                    Diagnostic::error(
                        format!("plugin/file: invalid zone {origin_text}: {e}"),
                        span,
                    )
                })?;
                let zone = Arc::new(ArcSwapOption::empty());
                match load(&file, &origin) {
                    Ok(z) => zone.store(Some(Arc::new(z))),
                    Err(e) if file.exists() => {
                        return Err(Diagnostic::error(format!("plugin/file: {e}"), span));
                    }
                    Err(e) if reload.is_zero() => {
                        return Err(Diagnostic::error(format!("plugin/file: {e}"), span));
                    }
                    Err(e) => {
                        tracing::warn!(target: "plugin/file", "{e}; will retry every {reload:?}")
                    }
                }
                if !reload.is_zero() && tokio::runtime::Handle::try_current().is_ok() {
                    tokio::spawn(reload_loop(
                        file.clone(),
                        origin.clone(),
                        zone.clone(),
                        reload,
                        reload_by_mtime,
                        env.config.zone_listeners.clone(),
                        env.shutdown(),
                    ));
                }
                if zone.load().is_some() {
                    env.config
                        .zone_listeners
                        .changed(&origin_text.to_ascii_lowercase());
                }
                offer_for_transfer(env, Self::NAME, &origin_text.to_ascii_lowercase(), &zone);
                slots.push(Slot::new(
                    origin_text.to_ascii_lowercase(),
                    zone,
                    fallthrough.clone(),
                ));
            }
        }
        slots.sort_by_key(|s| std::cmp::Reverse(s.origin.len()));
        // Ready (for *ready*) once every zone is loaded: a zone file that
        // does not exist yet is picked up by the reload loop when it appears.
        let zones: Vec<_> = slots.iter().map(|s| s.zone.clone()).collect();
        env.readiness(Self::NAME, move || zones.iter().all(|z| z.load().is_some()));
        Ok(File {
            slots,
            upstream: env.upstream(),
        })
    }
}
