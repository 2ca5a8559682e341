use super::setup::HostsConfig;
use crate::dns::{A, AAAA, Name, PTR, RData, Record, RecordType, ResponseCode};
use crate::plugin::{Answer, Handler, Outcome, Plugin, Request, Setup};
use crate::site::BuildEnv;
use arc_swap::ArcSwap;
use corec_compiler::Diagnostic;
use std::collections::HashMap;
use std::io::Read;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;
use std::sync::{Arc, Weak};
use std::time::{Duration, SystemTime};
use tokio_util::sync::CancellationToken;

const LOG: &str = "plugin/hosts";

/// The addresses of one owner name.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Addrs {
    v4: Vec<Ipv4Addr>,
    v6: Vec<Ipv6Addr>,
}

impl Addrs {
    fn add(&mut self, ip: IpAddr) {
        match ip {
            IpAddr::V4(v4) if !self.v4.contains(&v4) => self.v4.push(v4),
            IpAddr::V6(v6) if !self.v6.contains(&v6) => self.v6.push(v6),
            _ => {}
        }
    }
}

/// One source of entries as read: the file, or the block's inline lines.
#[derive(Debug, Default)]
struct Table {
    /// Lowercased FQDN owner (`*.`-prefixed for a wildcard) to its addresses.
    names: HashMap<String, Addrs>,
    /// `(address, name)` in reading order, for PTR data; never wildcards.
    reverse: Vec<(IpAddr, String)>,
    /// Entries as CoreDNS's `coredns_hosts_entries` counts them: every
    /// (address, name) pair read, repeats included, and its reverse pair.
    entries: usize,
}

/// How hosts-format text becomes a [`Table`].
#[derive(Debug)]
struct Reader {
    /// Names outside these zones are dropped.
    zones: Vec<String>,
    /// Record `(address, name)` pairs for PTR answers.
    reverse: bool,
}

impl Reader {
    fn read(&self, text: &str) -> Table {
        let mut table = Table::default();
        for line in text.lines() {
            let data = line.split('#').next().unwrap_or_default();
            let mut fields = data.split_whitespace();
            let Some(ip) = fields.next().and_then(parse_ip) else {
                continue;
            };
            for host in fields {
                let name = fqdn(host);
                if !in_zones(&name, &self.zones) {
                    continue;
                }
                table.names.entry(name.clone()).or_default().add(ip);
                table.entries += 1;
                if self.reverse && !name.starts_with("*.") {
                    table.reverse.push((ip, name));
                    table.entries += 1;
                }
            }
        }
        table
    }
}

/// What queries are answered from: the file's table with the inline one
/// laid over it.
#[derive(Debug, Default)]
struct Data {
    names: HashMap<String, Addrs>,
    reverse: HashMap<IpAddr, Vec<Name>>,
}

impl Data {
    /// Inline entries replace file entries with the same owner name; PTR
    /// targets list the file's names first, then the inline ones.
    fn merge(file: &Table, inline: &Table) -> Data {
        let mut names = file.names.clone();
        names.extend(inline.names.iter().map(|(k, v)| (k.clone(), v.clone())));
        let mut reverse: HashMap<IpAddr, Vec<Name>> = HashMap::new();
        let from_file = file
            .reverse
            .iter()
            .filter(|(_, n)| !inline.names.contains_key(n));
        for (ip, host) in from_file.chain(&inline.reverse) {
            let Ok(target) = Name::from_ascii(host) else {
                continue;
            };
            let targets = reverse.entry(*ip).or_default();
            if !targets.contains(&target) {
                targets.push(target);
            }
        }
        Data { names, reverse }
    }

    /// The entry for `name` (lowercased FQDN): its own, else a wildcard one
    /// label up.
    fn lookup(&self, name: &str) -> Option<&Addrs> {
        self.names
            .get(name)
            .or_else(|| wildcard_for(name).and_then(|w| self.names.get(&w)))
    }
}

/// What identifies a version of the file: modification time and size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    mtime: Option<SystemTime>,
    size: u64,
}

/// The file, the inline entries and the data currently served.
#[derive(Debug)]
struct Source {
    path: PathBuf,
    /// The `hostsfile` metrics label: the path as CoreDNS names it.
    label: String,
    reader: Reader,
    inline: Table,
    data: ArcSwap<Data>,
}

impl Source {
    /// Re-reads the file if its stamp differs from `seen`, swapping in new
    /// data. Returns the number of names read when that happened. A file
    /// that cannot be opened leaves the current data in place.
    fn refresh(&self, seen: &mut Option<Stamp>) -> Option<usize> {
        let mut file = std::fs::File::open(&self.path).ok()?;
        let meta = file.metadata().ok()?;
        let stamp = Stamp {
            mtime: meta.modified().ok(),
            size: meta.len(),
        };
        if *seen == Some(stamp) {
            return None;
        }
        *seen = Some(stamp);
        let mut bytes = Vec::new();
        if let Err(e) = file.read_to_end(&mut bytes) {
            tracing::warn!(target: LOG, "cannot read {}: {e}", self.path.display());
            return None;
        }
        let table = self.reader.read(&String::from_utf8_lossy(&bytes));
        let count = table.names.len();
        super::metrics::file_read(
            &self.label,
            table.entries + self.inline.entries,
            stamp.mtime,
        );
        self.data.store(Arc::new(Data::merge(&table, &self.inline)));
        Some(count)
    }
}

/// Checks the file every `every` until `stop` is cancelled or the plugin is gone.
async fn reload_loop(
    source: Weak<Source>,
    mut seen: Option<Stamp>,
    every: Duration,
    stop: CancellationToken,
) {
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        let Some(src) = source.upgrade() else { return };
        let checked = tokio::task::spawn_blocking(move || {
            let read = src.refresh(&mut seen);
            (read.map(|n| (n, src.path.clone())), seen)
        })
        .await;
        match checked {
            Ok((read, stamp)) => {
                seen = stamp;
                if let Some((n, path)) = read {
                    tracing::info!(target: LOG, "reloaded {}: {n} names", path.display());
                }
            }
            Err(_) => return,
        }
    }
}

/// The hosts plugin.
#[derive(Debug)]
pub struct Hosts {
    source: Arc<Source>,
    ttl: u32,
    fallthrough: Option<Vec<String>>,
    fallthrough_unsupported: bool,
}

/// What to do with a query.
#[derive(Debug)]
enum Verdict {
    Next,
    ServFail,
    Reply(Vec<RData>),
}

impl Hosts {
    fn falls_through(&self, name: &str) -> bool {
        self.fallthrough
            .as_deref()
            .is_some_and(|zones| in_zones(name, zones))
    }

    fn decide(&self, name: &str, qtype: RecordType) -> Verdict {
        // Reverse names need not be among the zones.
        if qtype != RecordType::PTR && !in_zones(name, &self.source.reader.zones) {
            return Verdict::Next;
        }
        let data = self.source.data.load();
        let entry = data.lookup(name);
        let rdata: Vec<RData> = match qtype {
            RecordType::PTR => {
                // A PTR with no data always goes on, fallthrough or not.
                return match reverse_address(name).and_then(|ip| data.reverse.get(&ip)) {
                    Some(targets) if !targets.is_empty() => {
                        Verdict::Reply(targets.iter().map(|t| RData::PTR(PTR(t.clone()))).collect())
                    }
                    _ => Verdict::Next,
                };
            }
            RecordType::A => entry.map_or_else(Vec::new, |e| {
                e.v4.iter().map(|ip| RData::A(A(*ip))).collect()
            }),
            RecordType::AAAA => entry.map_or_else(Vec::new, |e| {
                e.v6.iter().map(|ip| RData::AAAA(AAAA(*ip))).collect()
            }),
            _ if self.fallthrough_unsupported && self.falls_through(name) => return Verdict::Next,
            _ => Vec::new(),
        };
        if rdata.is_empty() && entry.is_none() {
            // No SOA to build an NXDOMAIN with: CoreDNS answers SERVFAIL.
            return if self.falls_through(name) {
                Verdict::Next
            } else {
                Verdict::ServFail
            };
        }
        Verdict::Reply(rdata)
    }
}

impl Plugin for Hosts {
    const NAME: &'static str = "hosts";

    async fn serve<'a, N: Handler>(&'a self, req: &'a mut Request, next: &'a N) -> Outcome {
        match self.decide(&req.name(), req.qtype()) {
            Verdict::Next => next.handle(req).await,
            Verdict::ServFail => Ok(Answer::Rcode(ResponseCode::ServFail)),
            Verdict::Reply(rdata) => {
                let mut m = req.reply();
                m.metadata.authoritative = true;
                let owner = req.qname();
                m.answers = rdata
                    .into_iter()
                    .map(|d| Record::from_rdata(owner.clone(), self.ttl, d))
                    .collect();
                Ok(Answer::reply(Self::NAME, m))
            }
        }
    }
}

impl Setup for Hosts {
    type Config = HostsConfig;

    fn build(cfg: HostsConfig, env: &mut BuildEnv<'_>) -> Result<Self, Diagnostic> {
        let path = env.resolve(&cfg.path);
        match std::fs::metadata(&path) {
            Ok(m) if m.is_dir() => {
                tracing::warn!(target: LOG, "hosts file {} is a directory", path.display());
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                tracing::warn!(target: LOG, "file does not exist: {}", path.display());
            }
            Err(e) => {
                return Err(Diagnostic::error(
                    format!(
                        "plugin/hosts: unable to access hosts file '{}': {e}",
                        path.display()
                    ),
                    cfg.path_span,
                ));
            }
        }
        let reader = Reader {
            zones: cfg.zones,
            reverse: cfg.reverse,
        };
        let inline = reader.read(&cfg.inline.join("\n"));
        let data = ArcSwap::from_pointee(Data::merge(&Table::default(), &inline));
        // CoreDNS joins a relative path to `root` only when one is set.
        let label = if env.block.plugin("root").is_some() {
            path.display().to_string()
        } else {
            cfg.path.clone()
        };
        let source = Arc::new(Source {
            path,
            label,
            reader,
            inline,
            data,
        });
        let mut seen = None;
        if let Some(n) = source.refresh(&mut seen) {
            tracing::debug!(target: LOG, "read {}: {n} names", source.path.display());
        }
        if !cfg.reload.is_zero() {
            match tokio::runtime::Handle::try_current() {
                Ok(rt) => {
                    rt.spawn(reload_loop(
                        Arc::downgrade(&source),
                        seen,
                        cfg.reload,
                        env.shutdown(),
                    ));
                }
                Err(_) => tracing::warn!(
                    target: LOG,
                    "no async runtime: {} will not be reloaded",
                    source.path.display()
                ),
            }
        }
        Ok(Hosts {
            source,
            ttl: cfg.ttl,
            fallthrough: cfg.fallthrough,
            fallthrough_unsupported: cfg.fallthrough_unsupported,
        })
    }
}

/// An address field: an IPv6 zone (`%eth0`) is dropped and an IPv4-mapped
/// IPv6 address counts as IPv4.
fn parse_ip(field: &str) -> Option<IpAddr> {
    let addr = field.split('%').next().unwrap_or_default();
    addr.parse::<IpAddr>().ok().map(|ip| ip.to_canonical())
}

/// Lowercased, with a trailing dot.
fn fqdn(host: &str) -> String {
    let mut name = host.to_lowercase();
    if !name.ends_with('.') {
        name.push('.');
    }
    name
}

/// Is `name` at or below `zone` (both lowercased FQDNs)?
fn in_zone(name: &str, zone: &str) -> bool {
    if zone == "." || name == zone {
        return true;
    }
    name.len() > zone.len()
        && name.ends_with(zone)
        && name.as_bytes()[name.len() - zone.len() - 1] == b'.'
}

fn in_zones(name: &str, zones: &[String]) -> bool {
    zones.iter().any(|z| in_zone(name, z))
}

/// `*.` followed by `name` less its first label; `None` for a single label.
fn wildcard_for(name: &str) -> Option<String> {
    let bytes = name.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 1,
            b'.' => {
                let parent = &name[i + 1..];
                return (!parent.is_empty()).then(|| format!("*.{parent}"));
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// The address a reverse name (`4.3.2.1.in-addr.arpa.`, 32 nibbles under
/// `ip6.arpa.`) stands for.
fn reverse_address(name: &str) -> Option<IpAddr> {
    if let Some(rest) = name.strip_suffix(".in-addr.arpa.") {
        let mut octets: Vec<&str> = rest.split('.').collect();
        if octets.len() != 4 {
            return None;
        }
        octets.reverse();
        return octets.join(".").parse::<Ipv4Addr>().ok().map(IpAddr::V4);
    }
    let rest = name.strip_suffix(".ip6.arpa.")?;
    let nibbles: Vec<&str> = rest.split('.').collect();
    if nibbles.len() != 32 {
        return None;
    }
    let mut bits: u128 = 0;
    for n in nibbles.iter().rev() {
        if n.len() != 1 {
            return None;
        }
        bits = bits << 4 | u128::from_str_radix(n, 16).ok()?;
    }
    Some(IpAddr::V6(Ipv6Addr::from(bits)).to_canonical())
}
