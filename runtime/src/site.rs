//! A site: every server block's chain plus the listeners and zone tables
//! that route queries to them. Built from a [`Model`] either by generated
//! code (compiled mode) or from the registry (interpreted mode); zone
//! routing is the same data in both, so both behave identically.

use crate::chain::{DynNext, DynPlugin};
use crate::dns::RecordType;
use crate::metrics::DnsMetrics;
use crate::plugin::{Handler, Outcome, Parse, Request, Setup};
use crate::plugins::metadata::MetadataHub;
use crate::plugins::view::ViewFilter;
use crate::plugins::view::expr::QueryFacts;
use crate::registry;
use crate::server::side::{BlockSide, SideConfig};
use crate::upstream::Upstream;
use crate::wire::WireQuery;
use corec_compiler::{Block, Diagnostic, Diagnostics, Dispenser, Model, SourceMap, Transport};
use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Server settings a block's config-only plugins set while building.
#[derive(Debug, Clone)]
pub struct BlockConfig {
    /// Base directory for relative paths (`root`); the working directory by default.
    pub root: PathBuf,
    /// `debug`: DEBUG logging.
    pub debug: bool,
    /// Set by plugins that serve non-IN classes (chaos, forward): the whole
    /// listener then lets them through instead of answering REFUSED.
    pub allow_non_in: bool,
    /// Addresses to listen on (`bind`); empty = every address.
    pub listen_hosts: Vec<IpAddr>,
    /// Zones the block serves whole (file, ...), for zone transfers. Shared,
    /// because *transfer* is built before the plugins that fill it.
    pub zone_sources: ZoneSources,
    /// Told when a zone of the block is loaded or changes (*transfer* sends NOTIFY).
    pub zone_listeners: ZoneListeners,
    /// `view`: the block only takes the queries this filter admits.
    pub view: Option<Arc<ViewFilter>>,
    /// Connection limits for the block's TCP listeners (`timeouts`).
    pub conn_limits: ConnLimits,
    /// Side listeners and process-wide settings the block asks for
    /// (*health*, *ready*, *reload*).
    pub side: BlockSide,
    /// How the block's plugins tell whether they are ready (for *ready*).
    pub readiness: Vec<Readiness>,
    /// *prometheus*: the block's `coredns_dns_*` metrics, recorded by the server.
    pub metrics: Option<Arc<DnsMetrics>>,
    /// Metadata: enabled by *metadata*, fed by the providers built after it.
    /// Shared, because *metadata* is built before them.
    pub metadata: MetadataHub,
}

/// One plugin's way of telling whether it is ready to serve (a zone loaded,
/// a first transfer done). Plugins without one count as ready.
#[derive(Clone)]
pub struct Readiness {
    /// The plugin's name, as `/ready` lists it while it is not ready.
    pub plugin: &'static str,
    /// True once the plugin is ready. Called from `/ready` requests: quick,
    /// never blocking.
    pub check: Arc<dyn Fn() -> bool + Send + Sync>,
}

impl std::fmt::Debug for Readiness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Readiness({})", self.plugin)
    }
}

/// Limits of connection-oriented transports a block sets (`timeouts`);
/// `None` keeps the server's default. When several blocks share a listener,
/// the last block that sets a value decides it, as in CoreDNS.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConnLimits {
    /// Time allowed to receive a query once it has started.
    pub read: Option<std::time::Duration>,
    /// Time allowed to write a reply.
    pub write: Option<std::time::Duration>,
    /// Time a connection may wait for its next query.
    pub idle: Option<std::time::Duration>,
    /// Queries served on one connection before it is closed; `Some(None)`
    /// is explicitly unlimited.
    pub max_queries: Option<Option<u64>>,
}

impl ConnLimits {
    /// Lays the values `other` sets over these.
    pub fn overlay(&mut self, other: &ConnLimits) {
        self.read = other.read.or(self.read);
        self.write = other.write.or(self.write);
        self.idle = other.idle.or(self.idle);
        self.max_queries = other.max_queries.or(self.max_queries);
    }
}

/// Callbacks taking the origin of a zone whose data changed.
#[derive(Clone, Default)]
pub struct ZoneListeners(Arc<std::sync::RwLock<Vec<ZoneListener>>>);

type ZoneListener = Arc<dyn Fn(&str) + Send + Sync>;

impl ZoneListeners {
    /// Adds a callback.
    pub fn add(&self, f: impl Fn(&str) + Send + Sync + 'static) {
        if let Ok(mut all) = self.0.write() {
            all.push(Arc::new(f));
        }
    }

    /// Tells every callback that the zone `origin` changed.
    pub fn changed(&self, origin: &str) {
        if let Ok(all) = self.0.read() {
            for l in all.iter() {
                l(origin);
            }
        }
    }
}

impl std::fmt::Debug for ZoneListeners {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.0.read().map_or(0, |v| v.len());
        write!(f, "ZoneListeners({n})")
    }
}

/// A zone a plugin can hand out whole (for AXFR).
pub trait ZoneSource: Send + Sync + std::fmt::Debug {
    /// The zone's origin, lowercase and fully qualified.
    fn origin(&self) -> &str;
    /// The plugin that serves it.
    fn plugin(&self) -> &'static str;
    /// The SOA and every other record of the zone now, if it is loaded.
    fn snapshot(&self) -> Option<(crate::dns::Record, Vec<crate::dns::Record>)>;
}

/// The zone sources of one block.
pub type ZoneSources = Arc<std::sync::RwLock<Vec<Arc<dyn ZoneSource>>>>;

impl Default for BlockConfig {
    fn default() -> Self {
        BlockConfig {
            root: std::env::current_dir().unwrap_or_default(),
            debug: false,
            allow_non_in: false,
            listen_hosts: Vec::new(),
            zone_sources: ZoneSources::default(),
            zone_listeners: ZoneListeners::default(),
            view: None,
            conn_limits: ConnLimits::default(),
            side: BlockSide::default(),
            readiness: Vec::new(),
            metrics: None,
            metadata: MetadataHub::default(),
        }
    }
}

/// What a plugin's `build` can see and change.
#[derive(Debug)]
pub struct BuildEnv<'s> {
    /// The block's server settings.
    pub config: &'s mut BlockConfig,
    /// The block's zones.
    pub zones: &'s [String],
    /// The block as parsed.
    pub block: &'s Block,
    /// Sources, for rendering positions in messages.
    pub sources: &'s SourceMap,
    shutdown: CancellationToken,
    upstream: Upstream,
}

impl BuildEnv<'_> {
    /// Cancelled when the site this plugin belongs to is replaced or stopped;
    /// background tasks (file reloaders, timers) stop on it.
    pub fn shutdown(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// The way back into this site, for resolving names through it.
    pub fn upstream(&self) -> Upstream {
        self.upstream.clone()
    }

    /// Registers `plugin`'s readiness for *ready*: `check` returns true once
    /// the plugin can serve (see [`Readiness`]).
    pub fn readiness(
        &mut self,
        plugin: &'static str,
        check: impl Fn() -> bool + Send + Sync + 'static,
    ) {
        self.config.readiness.push(Readiness {
            plugin,
            check: Arc::new(check),
        });
    }

    /// The names of the listeners the block serves on (`dns://:53`), the
    /// `server` label of its metrics. `bind` is set before any plugin that
    /// asks (it comes early in the registry order).
    pub fn servers(&self) -> Vec<Arc<str>> {
        let mut names: Vec<Arc<str>> = Vec::new();
        for (at, _) in listen_zones(self.block, &self.config.listen_hosts) {
            if !names.iter().any(|n| **n == *at.to_string()) {
                names.push(at.to_string().into());
            }
        }
        names
    }

    /// The block's `view` name ("" without one), the `view` metrics label.
    pub fn view_name(&self) -> &str {
        self.block
            .plugin("view")
            .and_then(|p| p.tokens.get(1))
            .map_or("", |t| t.text.as_str())
    }

    /// A path relative to the block's `root`.
    pub fn resolve(&self, path: &str) -> PathBuf {
        let p = Path::new(path);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.config.root.join(p)
        }
    }
}

/// Builds the plugins of one block, collecting errors.
#[derive(Debug)]
pub struct BlockBuilder<'s> {
    env: BuildEnv<'s>,
    diags: &'s mut Diagnostics,
}

impl BlockBuilder<'_> {
    /// Parses and builds plugin `P` from this block's tokens. `None` (with the
    /// error recorded) if that fails or the block lacks the directive.
    pub fn build<P: Setup>(&mut self) -> Option<P> {
        let used = self.env.block.plugin(P::NAME)?;
        let mut d = Dispenser::new(P::NAME, &used.tokens, self.env.zones);
        let cfg = match P::Config::parse(&mut d) {
            Ok(cfg) => cfg,
            Err(e) => {
                self.diags.extend(e);
                return None;
            }
        };
        match P::build(cfg, &mut self.env) {
            Ok(p) => Some(p),
            Err(e) => {
                self.diags.push(e);
                None
            }
        }
    }

    /// Whether `P` only configures the server.
    pub fn is_config_only<P: Setup>(&self) -> bool {
        registry::is_config_only(P::NAME)
    }
}

/// Builds all blocks of a site.
#[derive(Debug)]
pub struct SiteBuilder<'m> {
    model: &'m Model,
    zones: Vec<Vec<String>>,
    configs: Vec<BlockConfig>,
    diags: Diagnostics,
    shutdown: CancellationToken,
    upstream: Upstream,
}

impl<'m> SiteBuilder<'m> {
    fn new(model: &'m Model) -> Self {
        SiteBuilder {
            model,
            zones: model.blocks.iter().map(Block::zones).collect(),
            // One default each: `vec![x; n]` would clone one, and its shared
            // parts (zone sources, zone listeners, metadata) would then be
            // shared by every block.
            configs: model
                .blocks
                .iter()
                .map(|_| BlockConfig::default())
                .collect(),
            diags: Diagnostics::default(),
            shutdown: CancellationToken::new(),
            upstream: Upstream::default(),
        }
    }

    /// The builder for block `i`.
    pub fn block(&mut self, i: usize) -> BlockBuilder<'_> {
        BlockBuilder {
            env: BuildEnv {
                config: &mut self.configs[i],
                zones: &self.zones[i],
                block: &self.model.blocks[i],
                sources: &self.model.sources,
                shutdown: self.shutdown.clone(),
                upstream: self.upstream.clone(),
            },
            diags: &mut self.diags,
        }
    }
}

/// The chains of all blocks of a site, selected by block index.
pub trait Blocks: Send + Sync + 'static {
    /// Runs block `block`'s chain.
    fn serve<'a>(
        &'a self,
        block: usize,
        req: &'a mut Request,
    ) -> impl Future<Output = Outcome> + Send + 'a;

    /// Runs block `block`'s chain in the fast lane (see [`crate::wire`]).
    fn serve_wire(&self, _block: usize, _q: &WireQuery<'_>, _out: &mut Vec<u8>) -> bool {
        false
    }
}

/// Blocks generated by `corefile!`: one field per block, each a static chain.
pub trait CompiledBlocks: Blocks + Sized {
    /// The directives of each block, in chain order, as at generation time.
    const SHAPE: &'static [&'static [&'static str]];
    /// Builds every block; `None` if any plugin failed (errors are in `site`).
    fn build(site: &mut SiteBuilder<'_>) -> Option<Self>;
    /// The interpreter's builder for a directive, for the plugins this
    /// binary links (the ones its Corefile used, for a compiled site).
    fn builder(name: &str) -> Option<registry::BuildDynFn>;
}

/// The registry as a binary with compiled blocks `C` sees it: plugins it
/// does not link are `NotLinked`.
pub fn plugins_of<C: CompiledBlocks>() -> Vec<corec_compiler::PluginSpec> {
    registry::specs(|name| C::builder(name).is_some())
}

/// The `Blocks` of a binary with no compiled site (the `corec` CLI).
#[derive(Debug)]
pub enum NoCompiled {}

impl Blocks for NoCompiled {
    #[allow(clippy::manual_async_fn)]
    fn serve<'a>(
        &'a self,
        _: usize,
        _: &'a mut Request,
    ) -> impl Future<Output = Outcome> + Send + 'a {
        async move { match *self {} }
    }
}

impl CompiledBlocks for NoCompiled {
    const SHAPE: &'static [&'static [&'static str]] = &[];
    fn build(_: &mut SiteBuilder<'_>) -> Option<Self> {
        None
    }
    fn builder(name: &str) -> Option<registry::BuildDynFn> {
        registry::builder(name)
    }
}

/// Interpreted chains: trait objects, one `Vec` per block.
pub struct DynBlocks(Vec<Vec<Arc<dyn DynPlugin>>>);

impl Blocks for DynBlocks {
    async fn serve<'a>(&'a self, block: usize, req: &'a mut Request) -> Outcome {
        DynNext(&self.0[block]).handle(req).await
    }

    fn serve_wire(&self, block: usize, q: &WireQuery<'_>, out: &mut Vec<u8>) -> bool {
        DynNext(&self.0[block]).handle_wire(q, out)
    }
}

impl std::fmt::Debug for DynBlocks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|b| DynNext(b)))
            .finish()
    }
}

/// Which chains a site runs.
#[derive(Debug)]
pub enum Active<C> {
    /// Generated, statically typed chains.
    Compiled(C),
    /// Chains built from the registry at run time.
    Interpreted(DynBlocks),
}

/// Where a listener binds: transport, address (`None` = all) and port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ListenAddr {
    /// Transport.
    pub transport: Transport,
    /// Address; `None` listens on every address.
    pub host: Option<IpAddr>,
    /// Port (0: the kernel picks).
    pub port: u16,
}

impl std::fmt::Display for ListenAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let host = match self.host {
            None => String::new(),
            Some(IpAddr::V6(v6)) => format!("[{v6}]"),
            Some(ip) => ip.to_string(),
        };
        write!(f, "{}://{host}:{}", self.transport.scheme(), self.port)
    }
}

/// A block serving a zone on a listener, with its `view` filter if any.
#[derive(Debug, Clone)]
struct Candidate {
    block: usize,
    view: Option<Arc<ViewFilter>>,
}

/// The first block of `candidates` (Corefile order) that takes the query.
fn pick(candidates: &[Candidate], q: &dyn QueryFacts) -> Option<usize> {
    candidates
        .iter()
        .find(|c| c.view.as_ref().is_none_or(|v| v.admits(q)))
        .map(|c| c.block)
}

/// The zones one listener serves and the block each belongs to.
#[derive(Debug)]
pub struct Listener {
    /// CoreDNS's name for the listener (`dns://:53`), the `server` metric label.
    pub name: Arc<str>,
    zones: HashMap<String, Vec<Candidate>>,
    /// The same zones as lowercase wire names, for the fast lane.
    wire_zones: HashMap<Box<[u8]>, Vec<Candidate>>,
    /// Non-IN classes are passed to the chain (chaos or forward is loaded).
    pub allow_non_in: bool,
    /// Connection limits its blocks set (`timeouts`).
    pub conn_limits: ConnLimits,
    /// `(zone, block)` in Corefile order, for startup messages.
    pub zone_list: Vec<(String, usize)>,
    /// Metrics of the queries refused before any block (zone `dropped`).
    pub dropped: DnsMetrics,
}

impl Listener {
    /// The block serving `name` (lowercase, fully qualified): the longest
    /// matching zone, the root zone only as a fallback, and for DS the
    /// parent-most matching zone so the parent side answers. Where blocks
    /// with views share a zone, the first whose filter admits the query wins.
    pub fn route(&self, name: &str, qtype: RecordType, q: &dyn QueryFacts) -> Option<usize> {
        let mut found = None;
        for suffix in suffixes(name) {
            if let Some(b) = self.zones.get(suffix).and_then(|c| pick(c, q)) {
                if qtype != RecordType::DS {
                    return Some(b);
                }
                found = Some(b);
            }
        }
        found.or_else(|| self.zones.get(".").and_then(|c| pick(c, q)))
    }

    /// [`route`](Self::route) for a lowercase wire name.
    pub fn route_wire(&self, name: &[u8], qtype: u16, q: &dyn QueryFacts) -> Option<usize> {
        let mut found = None;
        for suffix in crate::wire::suffixes(name) {
            if let Some(b) = self.wire_zones.get(suffix).and_then(|c| pick(c, q)) {
                if qtype != u16::from(RecordType::DS) {
                    return Some(b);
                }
                found = Some(b);
            }
        }
        found.or_else(|| self.wire_zones.get(&[0u8][..]).and_then(|c| pick(c, q)))
    }

    fn new(name: Arc<str>) -> Self {
        Listener {
            name: name.clone(),
            zones: HashMap::new(),
            wire_zones: HashMap::new(),
            allow_non_in: false,
            conn_limits: ConnLimits::default(),
            zone_list: Vec::new(),
            dropped: DnsMetrics::dropped(name.clone()),
        }
    }

    /// Serves `zone` (lowercase, fully qualified) from `block`, after the
    /// blocks that already serve it.
    fn add_zone(&mut self, zone: &str, block: usize, view: Option<Arc<ViewFilter>>) {
        let c = Candidate { block, view };
        self.zones
            .entry(zone.to_string())
            .or_default()
            .push(c.clone());
        if let Ok(name) = crate::dns::Name::from_ascii(zone) {
            use crate::dns::BinEncodable;
            let wire = name.to_lowercase().to_bytes().unwrap_or_default();
            self.wire_zones.entry(wire.into()).or_default().push(c);
        }
        self.zone_list.push((zone.to_string(), block));
    }
}

/// Each listener address of `block` with the zone it serves there: every
/// key's zone and port on every address of `hosts` (`bind`'s; none means
/// every address). The site, the metrics labels and `corec explain` all
/// group listeners by it.
pub fn listen_zones<'b>(
    block: &'b Block,
    hosts: &[IpAddr],
) -> impl Iterator<Item = (ListenAddr, &'b str)> {
    let hosts: Vec<Option<IpAddr>> = if hosts.is_empty() {
        vec![None]
    } else {
        hosts.iter().copied().map(Some).collect()
    };
    block.addrs.iter().flat_map(move |addr| {
        hosts.clone().into_iter().map(move |host| {
            let la = ListenAddr {
                transport: addr.transport,
                host,
                // The compiler only accepts ports 0..=65535.
                port: addr.port.parse().unwrap_or_default(),
            };
            (la, addr.zone.as_str())
        })
    })
}

/// `a.b.c.`, `b.c.`, `c.` (never the root), skipping escaped dots.
fn suffixes(name: &str) -> impl Iterator<Item = &str> {
    let bytes = name.as_bytes();
    let mut starts = vec![0];
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 1,
            b'.' if i + 1 < bytes.len() => starts.push(i + 1),
            _ => {}
        }
        i += 1;
    }
    starts
        .into_iter()
        .map(move |s| &name[s..])
        .filter(|s| !s.is_empty() && *s != ".")
}

/// A runnable configuration.
#[derive(Debug)]
pub struct Site<C> {
    /// The chains.
    pub active: Active<C>,
    /// Listeners by address.
    pub listeners: HashMap<ListenAddr, Listener>,
    /// Blocks whose chain has no plugin that handles queries: CoreDNS
    /// answers REFUSED for them.
    pub empty_blocks: Vec<bool>,
    /// The configuration's fingerprint ([`Model::fingerprint`]).
    pub fingerprint: u64,
    /// The loaded Corefile.
    pub model: Arc<Model>,
    /// Side listeners and process-wide settings (*health*, *ready*, *reload*).
    pub side: SideConfig,
    /// Each block's `coredns_dns_*` metrics, if it has *prometheus*.
    pub block_metrics: Vec<Option<Arc<DnsMetrics>>>,
    /// `coredns_plugin_enabled`'s series: `[server, zone, view, plugin]`.
    pub plugins_enabled: Vec<[String; 4]>,
    shutdown: CancellationToken,
    upstream: Upstream,
}

impl<C> Drop for Site<C> {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

impl<C: CompiledBlocks> Site<C> {
    /// Runs the chain of `block`.
    pub async fn serve(&self, block: usize, req: &mut Request) -> Outcome {
        match &self.active {
            Active::Compiled(c) => c.serve(block, req).await,
            Active::Interpreted(d) => d.serve(block, req).await,
        }
    }

    /// Runs the chain of `block` in the fast lane.
    #[inline]
    pub fn serve_wire(&self, block: usize, q: &WireQuery<'_>, out: &mut Vec<u8>) -> bool {
        match &self.active {
            Active::Compiled(c) => c.serve_wire(block, q, out),
            Active::Interpreted(d) => d.serve_wire(block, q, out),
        }
    }

    /// The site behind an `Arc`, with its plugins' way back into it bound.
    pub fn into_shared(self) -> Arc<Self> {
        let site = Arc::new(self);
        let weak: std::sync::Weak<dyn crate::upstream::Reenter> = Arc::downgrade(&site) as _;
        site.upstream.bind(weak);
        site
    }

    /// Is this site running generated chains?
    pub fn is_compiled(&self) -> bool {
        matches!(self.active, Active::Compiled(_))
    }

    /// Builds the compiled chains; the model must have the shape they were
    /// generated for.
    pub fn compiled(model: Model) -> Result<Self, Diagnostics> {
        let mut b = SiteBuilder::new(&model);
        let active = C::build(&mut b).map(Active::Compiled);
        let upstream = b.upstream.clone();
        let (active, configs, shutdown) = Self::complete(active, b)?;
        Ok(Self::assemble(active, configs, shutdown, upstream, model))
    }

    /// Builds chains from the registry.
    pub fn interpreted(model: Model) -> Result<Self, Diagnostics> {
        let mut b = SiteBuilder::new(&model);
        let mut blocks = Vec::new();
        for (i, block) in model.blocks.iter().enumerate() {
            let mut chain = Vec::new();
            let mut bb = b.block(i);
            for used in &block.plugins {
                match C::builder(used.name) {
                    Some(build) => chain.extend(build(&mut bb)),
                    None => bb.diags.push(Diagnostic::error(
                        format!(
                            "no action found for directive '{}' with server type 'dns' (missing a plugin?)",
                            used.name
                        ),
                        used.tokens.first().map(|t| t.span),
                    )),
                }
            }
            blocks.push(chain);
        }
        let active = Some(Active::Interpreted(DynBlocks(blocks)));
        let upstream = b.upstream.clone();
        let (active, configs, shutdown) = Self::complete(active, b)?;
        Ok(Self::assemble(active, configs, shutdown, upstream, model))
    }

    /// The chains and block settings if every plugin built, else every error.
    #[allow(clippy::type_complexity)]
    fn complete(
        active: Option<Active<C>>,
        b: SiteBuilder<'_>,
    ) -> Result<(Active<C>, Vec<BlockConfig>, CancellationToken), Diagnostics> {
        match active {
            Some(a) if !b.diags.has_errors() => Ok((a, b.configs, b.shutdown)),
            _ => {
                b.shutdown.cancel();
                let mut d = b.diags;
                if !d.has_errors() {
                    d.push(Diagnostic::error("could not build the site", None));
                }
                Err(d)
            }
        }
    }

    /// Groups the blocks' zone addresses into listeners.
    fn assemble(
        active: Active<C>,
        configs: Vec<BlockConfig>,
        shutdown: CancellationToken,
        upstream: Upstream,
        model: Model,
    ) -> Self {
        let mut listeners: HashMap<ListenAddr, Listener> = HashMap::new();
        for (i, block) in model.blocks.iter().enumerate() {
            for (la, zone) in listen_zones(block, &configs[i].listen_hosts) {
                let l = listeners
                    .entry(la)
                    .or_insert_with(|| Listener::new(la.to_string().into()));
                l.allow_non_in |= configs[i].allow_non_in;
                l.conn_limits.overlay(&configs[i].conn_limits);
                l.add_zone(zone, i, configs[i].view.clone());
            }
        }
        let empty_blocks = model
            .blocks
            .iter()
            .map(|b| b.plugins.iter().all(|p| registry::is_config_only(p.name)))
            .collect();
        let side = SideConfig::gather(&configs);
        // As CoreDNS: every plugin that handles queries, for each zone and
        // listener of the blocks that export metrics (*prometheus* counts:
        // CoreDNS runs it as a handler, corec records in the server).
        let mut plugins_enabled = Vec::new();
        for (i, block) in model.blocks.iter().enumerate() {
            let Some(m) = &configs[i].metrics else {
                continue;
            };
            for (la, zone) in listen_zones(block, &configs[i].listen_hosts) {
                for p in &block.plugins {
                    if p.name == "prometheus" || !registry::is_config_only(p.name) {
                        plugins_enabled.push([
                            la.to_string(),
                            zone.to_string(),
                            m.view().to_string(),
                            p.name.to_string(),
                        ]);
                    }
                }
            }
        }
        let block_metrics = configs.iter().map(|c| c.metrics.clone()).collect();
        Site {
            active,
            listeners,
            empty_blocks,
            block_metrics,
            plugins_enabled,
            fingerprint: model.fingerprint(),
            model: Arc::new(model),
            side,
            shutdown,
            upstream,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listener(zones: &[(&str, usize)]) -> Listener {
        let mut l = Listener::new("dns://:53".into());
        for (z, b) in zones {
            l.add_zone(z, *b, None);
        }
        l
    }

    /// Routes a query as a decoded request and as fast-lane bytes, which
    /// must agree.
    fn route(l: &Listener, name: &str, qtype: RecordType) -> Option<usize> {
        let req = crate::testing::Case::new(name, qtype).request();
        let bytes = req.message.to_vec().unwrap();
        let q = WireQuery::parse(&bytes, req.proto, req.client, req.local).unwrap();
        let lower = req.name();
        let by_wire = l.route_wire(q.lname(), qtype.into(), &q);
        assert_eq!(l.route(&lower, qtype, &req), by_wire, "{name} {qtype}");
        by_wire
    }

    #[test]
    fn longest_match_root_last_ds_parent_most() {
        let l = listener(&[(".", 0), ("org.", 1), ("example.org.", 2)]);
        assert_eq!(route(&l, "www.example.org.", RecordType::A), Some(2));
        assert_eq!(route(&l, "example.org.", RecordType::A), Some(2));
        assert_eq!(route(&l, "other.org.", RecordType::A), Some(1));
        assert_eq!(route(&l, "example.net.", RecordType::A), Some(0));
        assert_eq!(route(&l, ".", RecordType::NS), Some(0));
        assert_eq!(route(&l, "example.org.", RecordType::DS), Some(1));
        let l = listener(&[("example.org.", 2)]);
        assert_eq!(route(&l, "example.net.", RecordType::A), None);
        assert_eq!(
            route(&l, "a\\.example.org.", RecordType::A),
            None,
            "one label `a.example` under org."
        );
    }
}
