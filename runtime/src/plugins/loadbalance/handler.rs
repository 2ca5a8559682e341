use super::setup::{Cidr, LoadbalanceConfig, Policy};
use crate::dns::{Message, Name, RData, Record, RecordType, ResponseCode};
use crate::plugin::{Answer, Handler, Outcome, Plugin, Request, Setup};
use crate::site::BuildEnv;
use arc_swap::ArcSwap;
use corec_compiler::Diagnostic;
use corec_compiler::duration::format_go_duration;
use rand::Rng;
use rand::seq::SliceRandom;
use std::collections::HashMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::{Arc, Weak};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

const LOG: &str = "plugin/loadbalance";

// ---------------------------------------------------------------- ordering

/// Where a record goes when a section is re-assembled: CNAMEs, then other
/// records, then addresses, then MX.
fn group(r: &Record) -> u8 {
    match r.record_type() {
        RecordType::CNAME => 0,
        RecordType::A | RecordType::AAAA => 2,
        RecordType::MX => 3,
        _ => 1,
    }
}

/// Re-assembles `rrs` in [`group`] order (stable) and returns where the
/// addresses and the MX records start.
fn regroup(rrs: &mut [Record]) -> (usize, usize) {
    if !rrs.is_sorted_by_key(group) {
        rrs.sort_by_key(group);
    }
    let addresses = rrs.partition_point(|r| group(r) < 2);
    let mx = rrs.partition_point(|r| group(r) < 3);
    (addresses, mx)
}

/// The address of an A or AAAA record.
fn address(r: &Record) -> Option<IpAddr> {
    match &r.data {
        RData::A(a) => Some(IpAddr::V4(a.0)),
        RData::AAAA(a) => Some(IpAddr::V6(a.0)),
        _ => None,
    }
}

/// `round_robin`: a section of only A or only AAAA records is shuffled as a
/// whole; any other section is re-assembled as CNAMEs, other records, the
/// shuffled addresses and the shuffled MX records.
pub(super) fn round_robin<R: Rng + ?Sized>(rrs: &mut [Record], rng: &mut R) {
    if rrs.len() < 2 {
        return;
    }
    let first = rrs[0].record_type();
    if matches!(first, RecordType::A | RecordType::AAAA)
        && rrs.iter().all(|r| r.record_type() == first)
    {
        rrs.shuffle(rng);
        return;
    }
    let (addresses, mx) = regroup(rrs);
    rrs[addresses..mx].shuffle(rng);
    rrs[mx..].shuffle(rng);
}

/// `weighted`: a section with addresses is re-assembled as for
/// [`round_robin`], then one address, drawn with probability proportional
/// to its weight, is swapped into the first address position. The other
/// records keep their order.
pub(super) fn weighted<R: Rng + ?Sized>(rrs: &mut [Record], weights: &Weights, rng: &mut R) {
    if !rrs.iter().any(|r| address(r).is_some()) {
        return;
    }
    let (start, end) = regroup(rrs);
    let addrs = &mut rrs[start..end];
    let weight = |r: &Record| address(r).map_or(1, |ip| u32::from(weights.weight(&r.name, ip)));
    let total: u32 = addrs.iter().map(weight).sum();
    let mut draw = rng.random_range(0..total);
    let chosen = addrs
        .iter()
        .position(|r| {
            let w = weight(r);
            if draw < w {
                return true;
            }
            draw -= w;
            false
        })
        .unwrap_or(0);
    addrs.swap(0, chosen);
}

/// `prefer`: re-assembles `rrs` as CNAMEs, addresses, MX records, other
/// records, with the addresses ordered by the first of `subnets` that holds
/// them (addresses in none last), keeping their order otherwise.
pub(super) fn prefer(rrs: &mut [Record], subnets: &[Cidr]) {
    let n = subnets.len();
    let key = |r: &Record| match r.record_type() {
        RecordType::CNAME => 0,
        RecordType::A | RecordType::AAAA => {
            let rank = address(r).and_then(|ip| subnets.iter().position(|s| s.contains(ip)));
            1 + rank.unwrap_or(n)
        }
        RecordType::MX => n + 2,
        _ => n + 3,
    };
    if !rrs.is_sorted_by_key(key) {
        rrs.sort_by_key(key);
    }
}

// ---------------------------------------------------------------- weights

/// The weight file's contents: per owner name, the weights of addresses.
#[derive(Debug, Default)]
pub(super) struct Weights {
    /// Owner name (compared case-insensitively) to `(address, weight)` in
    /// file order.
    names: HashMap<Name, Vec<(IpAddr, u8)>>,
}

impl Weights {
    /// The weight of `ip` as an address of `owner`: 1 unless the file says.
    pub(super) fn weight(&self, owner: &Name, ip: IpAddr) -> u8 {
        let ip = ip.to_canonical();
        self.names
            .get(owner)
            .and_then(|ws| ws.iter().find(|(a, _)| *a == ip))
            .map_or(1, |&(_, w)| w)
    }

    /// Number of names listed.
    pub(super) fn len(&self) -> usize {
        self.names.len()
    }

    /// Reads a weight file: a name on a line of its own, then `ADDRESS
    /// WEIGHT` lines for it; blank lines and lines starting with `#` are
    /// skipped. `file` names the file in error messages.
    pub(super) fn parse(text: &str, file: &str) -> Result<Weights, String> {
        let mut names: HashMap<Name, Vec<(IpAddr, u8)>> = HashMap::new();
        let mut current: Option<Name> = None;
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let at = |what: String| format!("{what} in weight file {file} (line {})", i + 1);
            let fields: Vec<&str> = line.split_whitespace().collect();
            match fields.as_slice() {
                [domain] => {
                    if domain.parse::<IpAddr>().is_ok() {
                        return Err(at(format!(
                            "wrong domain name:\"{domain}\" (maybe a missing weight value?)"
                        )));
                    }
                    let mut name = Name::from_ascii(domain)
                        .map_err(|_| at(format!("wrong domain name:\"{domain}\"")))?;
                    name.set_fqdn(true);
                    names.entry(name.clone()).or_default();
                    current = Some(name);
                }
                [ip, weight] => {
                    let Ok(ip) = ip.parse::<IpAddr>() else {
                        return Err(at(format!("wrong IP address:\"{ip}\"")));
                    };
                    let value = weight
                        .bytes()
                        .all(|b| b.is_ascii_digit())
                        .then(|| weight.parse::<u8>().ok())
                        .flatten()
                        .filter(|&w| w > 0);
                    let Some(value) = value else {
                        return Err(at(format!("wrong weight value:\"{weight}\"")));
                    };
                    let Some(name) = &current else {
                        return Err(at("missing domain name".to_string()));
                    };
                    names
                        .entry(name.clone())
                        .or_default()
                        .push((ip.to_canonical(), value));
                }
                _ => return Err(at(format!("could not parse weight line:\"{line}\""))),
            }
        }
        Ok(Weights { names })
    }
}

/// The weight file and the weights currently in use.
#[derive(Debug)]
pub(super) struct WeightSource {
    path: PathBuf,
    weights: ArcSwap<Weights>,
}

/// What reading the weight file found.
#[derive(Debug)]
enum Read {
    /// Same contents as last time.
    Unchanged,
    /// New weights are in use.
    Loaded(usize),
    /// The file cannot be opened or read.
    Unreadable(std::io::Error),
    /// The contents are wrong; the previous weights stay.
    Invalid(String),
}

impl WeightSource {
    /// Reads the file unless its contents equal `seen`, swapping in the new
    /// weights when they parse.
    fn refresh(&self, seen: &mut Option<Vec<u8>>) -> Read {
        let bytes = match std::fs::read(&self.path) {
            Ok(b) => b,
            Err(e) => return Read::Unreadable(e),
        };
        if seen.as_deref() == Some(&bytes[..]) {
            return Read::Unchanged;
        }
        let parsed = Weights::parse(
            &String::from_utf8_lossy(&bytes),
            &self.path.display().to_string(),
        );
        *seen = Some(bytes);
        match parsed {
            Ok(w) => {
                let n = w.len();
                self.weights.store(Arc::new(w));
                Read::Loaded(n)
            }
            Err(e) => Read::Invalid(e),
        }
    }
}

/// Re-reads the weight file every `every` until `stop` is cancelled or the
/// plugin is gone.
async fn reload_loop(
    source: Weak<WeightSource>,
    mut seen: Option<Vec<u8>>,
    every: Duration,
    stop: CancellationToken,
) {
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut unreadable = seen.is_none();
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        let Some(src) = source.upgrade() else { return };
        let checked = tokio::task::spawn_blocking(move || {
            let read = src.refresh(&mut seen);
            (read, seen, src)
        })
        .await;
        let Ok((read, s, src)) = checked else { return };
        seen = s;
        let path = src.path.display();
        match read {
            Read::Unchanged => {}
            Read::Loaded(n) => {
                unreadable = false;
                tracing::info!(target: LOG, "reloaded weight file {path}: {n} names");
            }
            Read::Invalid(e) => {
                unreadable = false;
                tracing::error!(target: LOG, "{e}; keeping the previous weights");
            }
            Read::Unreadable(e) => {
                // Said once, not at every tick.
                if !unreadable {
                    tracing::error!(target: LOG, "cannot read weight file {path}: {e}");
                }
                unreadable = true;
            }
        }
    }
}

// ---------------------------------------------------------------- plugin

/// The loadbalance plugin.
#[derive(Debug)]
pub struct Loadbalance {
    /// `None` for round robin.
    weights: Option<Arc<WeightSource>>,
    prefer: Vec<Cidr>,
}

impl Loadbalance {
    /// Round robin with these preferred networks (tests build it directly).
    #[cfg(test)]
    pub(super) fn round_robin(prefer: Vec<Cidr>) -> Self {
        Loadbalance {
            weights: None,
            prefer,
        }
    }

    /// Weighted with fixed weights and no file (tests build it directly).
    #[cfg(test)]
    pub(super) fn with_weights(weights: Weights, prefer: Vec<Cidr>) -> Self {
        Loadbalance {
            weights: Some(Arc::new(WeightSource {
                path: PathBuf::new(),
                weights: ArcSwap::from_pointee(weights),
            })),
            prefer,
        }
    }

    /// Reorders the sections of a NOERROR reply to a `qtype` query.
    fn balance(&self, m: &mut Message, qtype: RecordType) {
        let rng = &mut rand::rng();
        match &self.weights {
            None => {
                round_robin(&mut m.answers, rng);
                round_robin(&mut m.authorities, rng);
                round_robin(&mut m.additionals, rng);
            }
            Some(source) => {
                if matches!(qtype, RecordType::A | RecordType::AAAA | RecordType::SRV) {
                    let w = source.weights.load();
                    weighted(&mut m.answers, &w, rng);
                    weighted(&mut m.additionals, &w, rng);
                }
            }
        }
        if !self.prefer.is_empty() {
            prefer(&mut m.answers, &self.prefer);
            prefer(&mut m.additionals, &self.prefer);
        }
    }
}

impl Plugin for Loadbalance {
    const NAME: &'static str = "loadbalance";

    async fn serve<'a, N: Handler>(&'a self, req: &'a mut Request, next: &'a N) -> Outcome {
        let mut out = next.handle(req).await;
        let qtype = req.qtype();
        if let Ok(Answer::Reply(r)) = &mut out
            && r.message.metadata.response_code == ResponseCode::NoError
            && !matches!(qtype, RecordType::AXFR | RecordType::IXFR)
        {
            self.balance(&mut r.message, qtype);
        }
        out
    }
}

impl Setup for Loadbalance {
    type Config = LoadbalanceConfig;

    fn build(cfg: LoadbalanceConfig, env: &mut BuildEnv<'_>) -> Result<Self, Diagnostic> {
        let weights = match cfg.policy {
            Policy::RoundRobin => None,
            Policy::Weighted(w) => {
                let source = Arc::new(WeightSource {
                    path: env.resolve(&w.file),
                    weights: ArcSwap::from_pointee(Weights::default()),
                });
                let mut seen = None;
                match source.refresh(&mut seen) {
                    Read::Loaded(n) => {
                        tracing::debug!(target: LOG, "read {}: {n} names", source.path.display());
                    }
                    Read::Unchanged => {}
                    Read::Invalid(e) => {
                        return Err(Diagnostic::error(
                            format!("plugin/loadbalance: {e}"),
                            w.file_span,
                        ));
                    }
                    Read::Unreadable(e) if w.reload.is_zero() => {
                        return Err(Diagnostic::error(
                            format!(
                                "plugin/loadbalance: unable to open weight file '{}': {e}",
                                source.path.display()
                            ),
                            w.file_span,
                        ));
                    }
                    Read::Unreadable(e) => tracing::warn!(
                        target: LOG,
                        "failed to open weight file {}: {e}; will try again in {}",
                        source.path.display(),
                        format_go_duration(w.reload.as_nanos() as i64)
                    ),
                }
                if !w.reload.is_zero() {
                    spawn_reload(&source, seen, w.reload, env.shutdown());
                }
                Some(source)
            }
        };
        Ok(Loadbalance {
            weights,
            prefer: cfg.prefer,
        })
    }
}

fn spawn_reload(
    source: &Arc<WeightSource>,
    seen: Option<Vec<u8>>,
    every: Duration,
    stop: CancellationToken,
) {
    match tokio::runtime::Handle::try_current() {
        Ok(rt) => {
            rt.spawn(reload_loop(Arc::downgrade(source), seen, every, stop));
        }
        Err(_) => tracing::warn!(
            target: LOG,
            "no async runtime: {} will not be reloaded",
            source.path.display()
        ),
    }
}
