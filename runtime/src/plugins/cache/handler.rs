use super::classify::{self, Kind};
use super::entry::{Entry, Key, Stored};
use super::metrics::{Counts, Event, Registration};
use super::setup::{CacheConfig, ServeStale, StaleMode};
use super::store::Store;
use crate::dns::{BinEncodable, Message, Name, OpCode, ResponseCode};
use crate::metrics::BlockLabels;
use crate::plugin::{Answer, Handler, Outcome, Plugin, Proto, Request, Setup};
use crate::site::BuildEnv;
use crate::upstream::Upstream;
use crate::wire::WireQuery;
use corec_compiler::Diagnostic;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio_util::sync::CancellationToken;

/// Background refreshes (prefetch, serve_stale) one cache runs at once;
/// beyond this, entries are served as they are and not refreshed early.
pub(crate) const MAX_REFRESHES: usize = 256;

/// The cache plugin. Clones share one cache.
#[derive(Debug, Clone)]
pub struct Cache {
    inner: Arc<Inner>,
}

/// One cache's counts of what CoreDNS exports as `coredns_cache_*`
/// metrics (the metrics add up every cache with the same labels).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CacheStats {
    /// Lookups (`requests_total`).
    pub requests: u64,
    /// Hits in the success cache.
    pub hits_success: u64,
    /// Hits in the denial cache.
    pub hits_denial: u64,
    /// Lookups that found nothing usable.
    pub misses: u64,
    /// Background refreshes started.
    pub prefetches: u64,
    /// Replies not stored because their question did not match the query.
    pub drops: u64,
    /// Replies served from expired entries.
    pub served_stale: u64,
    /// Entries evicted from the success cache.
    pub evictions_success: u64,
    /// Entries evicted from the denial cache.
    pub evictions_denial: u64,
    /// Entries in the success cache.
    pub entries_success: usize,
    /// Entries in the denial cache.
    pub entries_denial: usize,
}

#[derive(Debug)]
struct Inner {
    cfg: CacheConfig,
    zones: Vec<Box<[u8]>>,
    disable_success: Vec<Box<[u8]>>,
    disable_denial: Vec<Box<[u8]>>,
    success: Store,
    denial: Store,
    seed: u64,
    epoch: tokio::time::Instant,
    metrics: Registration,
    refreshes: AtomicUsize,
    upstream: Upstream,
    shutdown: CancellationToken,
}

/// How a stale refresh's reply is taken (RFC 8767 §4: only a real answer
/// replaces what is served stale).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// A usable answer: stored and served.
    Refreshed,
    /// `prefer_positive`: stored, but the stale positive answer is served.
    StoreOnly,
    /// A failure (SERVFAIL, REFUSED, a timeout...): the stale entry stays.
    Ignore,
}

/// Zones as lowercase wire names.
fn wire_zones(zones: &[String]) -> Vec<Box<[u8]>> {
    zones
        .iter()
        .filter_map(|z| Name::from_ascii(z).ok())
        .filter_map(|n| n.to_lowercase().to_bytes().ok())
        .map(Vec::into_boxed_slice)
        .collect()
}

fn in_any(name: &[u8], zones: &[Box<[u8]>]) -> bool {
    zones.iter().any(|z| crate::wire::in_zone(name, z))
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn millis(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Does the reply's question match the query's (CoreDNS's `state.Match`)?
fn same_question(req: &Request, m: &Message) -> bool {
    let [q] = m.queries.as_slice() else {
        return false;
    };
    q.name == *req.qname() && q.query_type == req.qtype() && q.query_class == req.qclass()
}

impl Cache {
    /// A cache with `cfg`, refreshing through `upstream`, stopping its
    /// background work on `shutdown`, counting for the block `labels`.
    pub(crate) fn new(
        cfg: CacheConfig,
        upstream: Upstream,
        shutdown: CancellationToken,
        labels: BlockLabels,
    ) -> Self {
        let seed: u64 = rand::random();
        let zones_label = cfg.zones.join(",");
        Cache {
            inner: Arc::new_cyclic(|me: &std::sync::Weak<Inner>| {
                let me = me.clone();
                let sizes =
                    Arc::new(move || me.upgrade().map(|i| (i.success.len(), i.denial.len())));
                Inner {
                    zones: wire_zones(&cfg.zones),
                    disable_success: wire_zones(&cfg.disable_success),
                    disable_denial: wire_zones(&cfg.disable_denial),
                    success: Store::new(cfg.success.per_shard(), seed),
                    denial: Store::new(cfg.denial.per_shard(), seed.rotate_left(17)),
                    seed,
                    epoch: tokio::time::Instant::now(),
                    metrics: Registration::new(labels, &zones_label, sizes),
                    refreshes: AtomicUsize::new(0),
                    upstream,
                    shutdown,
                    cfg,
                }
            }),
        }
    }

    /// The counters and entry counts, for metrics.
    pub fn stats(&self) -> CacheStats {
        let i = &self.inner;
        let get = |e| i.metrics.total(e);
        CacheStats {
            requests: get(Event::Request),
            hits_success: get(Event::HitSuccess),
            hits_denial: get(Event::HitDenial),
            misses: get(Event::Miss),
            prefetches: get(Event::Prefetch),
            drops: get(Event::Drop),
            served_stale: get(Event::ServedStale),
            evictions_success: get(Event::EvictionSuccess),
            evictions_denial: get(Event::EvictionDenial),
            entries_success: i.success.len(),
            entries_denial: i.denial.len(),
        }
    }

    /// The configured zones, comma-joined (the `zones` metric label).
    pub fn zones_label(&self) -> String {
        self.inner.cfg.zones.join(",")
    }

    #[cfg(test)]
    pub(crate) fn bytes(&self) -> (usize, usize) {
        (self.inner.success.bytes(), self.inner.denial.bytes())
    }

    #[cfg(test)]
    pub(crate) fn capacity(&self) -> (usize, usize) {
        (self.inner.success.capacity(), self.inner.denial.capacity())
    }

    /// The entry a query would hit, whatever its freshness (for tests).
    #[cfg(test)]
    pub(crate) fn peek(
        &self,
        name: &str,
        qtype: crate::dns::RecordType,
        do_bit: bool,
    ) -> Option<Arc<Entry>> {
        let lname = Name::from_ascii(name)
            .ok()?
            .to_lowercase()
            .to_bytes()
            .ok()?;
        let key = Key {
            lname: &lname,
            qtype: qtype.into(),
            qclass: 1,
            do_bit,
            cd: false,
        };
        let hash = key.hash(self.inner.seed);
        self.inner
            .denial
            .get(&key, hash)
            .or_else(|| self.inner.success.get(&key, hash))
    }
}

impl Inner {
    /// Milliseconds since the cache was built (tokio's clock, so tests can pause it).
    fn now(&self) -> u64 {
        millis(self.epoch.elapsed())
    }

    fn stale_secs(&self) -> i64 {
        self.cfg
            .serve_stale
            .map_or(0, |s| i64::try_from(s.up_to.as_secs()).unwrap_or(i64::MAX))
    }

    /// CoreDNS's lookup: with `prefer_positive`, an answering positive entry
    /// first; then the denial cache (a SERVFAIL there does not hide a usable
    /// positive entry); then the success cache. Expired entries count while
    /// `serve_stale` allows them. Returns the entry and whether it is a denial.
    fn lookup(&self, key: &Key<'_>, hash: u64, now: u64) -> Option<(Arc<Entry>, bool)> {
        let stale = self.stale_secs();
        let usable = |e: &Entry| {
            let t = e.ttl(now);
            t > 0 || (stale > 0 && -t < stale)
        };
        if self.cfg.prefer_positive && stale > 0 {
            let p = self.success.get(key, hash).and_then(|p| {
                if p.answering {
                    Some(p)
                } else {
                    p.last_known_good.clone().filter(|l| l.answering)
                }
            });
            if let Some(p) = p
                && usable(&p)
            {
                return Some((p, false));
            }
        }
        if let Some(n) = self.denial.get(key, hash)
            && usable(&n)
        {
            if n.rcode == ResponseCode::ServFail.low()
                && let Some(p) = self.success.get(key, hash)
                && usable(&p)
            {
                return Some((p, false));
            }
            return Some((n, true));
        }
        self.success
            .get(key, hash)
            .filter(|p| usable(p))
            .map(|p| (p, false))
    }

    fn count_hit(counts: &Counts, denial: bool) {
        counts.bump(Event::Request);
        counts.bump(if denial {
            Event::HitDenial
        } else {
            Event::HitSuccess
        });
    }

    /// The TTL a fresh hit is served with.
    fn fresh_ttl(&self, e: &Entry, ttl: i64) -> u32 {
        if self.cfg.keepttl {
            e.duration
        } else {
            u32::try_from(ttl.max(0)).unwrap_or(u32::MAX)
        }
    }

    /// The TTL a stale hit is served with: RESPONSE_TTL if set, else the
    /// stored one with keepttl, else 0.
    fn stale_ttl(&self, e: &Entry) -> u32 {
        match self.cfg.serve_stale {
            Some(s) if s.response_ttl > 0 => s.response_ttl,
            _ if self.cfg.keepttl => e.duration,
            _ => 0,
        }
    }

    /// Is a fresh hit due for a prefetch (counting the hit)?
    fn should_prefetch(&self, e: &Entry, now: u64, ttl: i64) -> bool {
        let Some(p) = self.cfg.prefetch.filter(|p| p.amount > 0) else {
            return false;
        };
        let hits = e.count_hit(millis(p.window), now);
        hits >= p.amount && ttl <= self.threshold(e)
    }

    /// What the fast lane checks: would this hit start a prefetch? (No counting.)
    fn would_prefetch(&self, e: &Entry, now: u64, ttl: i64) -> bool {
        let Some(p) = self.cfg.prefetch.filter(|p| p.amount > 0) else {
            return false;
        };
        !e.refreshing()
            && e.peek_hits(millis(p.window), now) >= p.amount
            && ttl <= self.threshold(e)
    }

    /// PERCENTAGE of the entry's TTL, rounded up.
    fn threshold(&self, e: &Entry) -> i64 {
        let pct = i64::from(self.cfg.prefetch.map_or(10, |p| p.percentage));
        (pct * i64::from(e.duration) + 99) / 100
    }

    /// The time an entry of `kind` is kept, from the reply's records.
    fn duration(&self, m: &Message, kind: Kind) -> u64 {
        match kind {
            Kind::NameError | Kind::NoData => {
                let c = &self.cfg.denial;
                classify::clamp(classify::min_ttl(m, kind, c.max_ttl), c.min_ttl, c.max_ttl)
            }
            Kind::ServerError => self.cfg.servfail.as_secs(),
            _ => {
                let c = &self.cfg.success;
                classify::clamp(classify::min_ttl(m, kind, c.max_ttl), c.min_ttl, c.max_ttl)
            }
        }
    }

    /// What every reply from the next plugin goes through (CoreDNS's
    /// `WriteMsg`): all TTLs set to the cache duration, the reply stored if
    /// it may be (and `store`), AD cleared unless the client asked for it.
    fn finish(
        &self,
        req: &Request,
        out: Outcome,
        key: &Key<'_>,
        hash: u64,
        ad_asked: bool,
        store: bool,
    ) -> Outcome {
        let Ok(Answer::Reply(mut r)) = out else {
            return out;
        };
        let m = &mut r.message;
        let kind = classify::kind(m, key.do_bit, unix_now());
        let duration = self.duration(m, kind);
        let ttl = u32::try_from(duration).unwrap_or(u32::MAX);
        for rec in m
            .answers
            .iter_mut()
            .chain(m.authorities.iter_mut())
            .chain(m.additionals.iter_mut())
            .filter(|r| r.record_type() != crate::dns::RecordType::OPT)
        {
            rec.ttl = ttl;
        }
        if store && ttl > 0 && classify::storable(m, kind) {
            let counts = self.metrics.of(&req.server);
            if same_question(req, m) {
                self.store(m, kind, key, hash, ttl, counts);
            } else {
                counts.bump(Event::Drop);
            }
        }
        if !key.do_bit && !ad_asked {
            m.metadata.authentic_data = false;
        }
        Ok(Answer::Reply(r))
    }

    /// Stores a reply (its TTLs already `ttl`) in the cache its kind belongs to.
    fn store(&self, m: &Message, kind: Kind, key: &Key<'_>, hash: u64, ttl: u32, counts: &Counts) {
        let now = self.now();
        if kind.is_denial() {
            if in_any(key.lname, &self.disable_denial) {
                return;
            }
            let s = Stored {
                key: *key,
                hash,
                answering: false,
                last_known_good: None,
                now,
                duration: ttl,
            };
            if let Some(e) = Entry::build(m, s) {
                let evicted = self.denial.insert(Arc::new(e));
                counts.add(Event::EvictionDenial, evicted as u64);
            }
            return;
        }
        if in_any(key.lname, &self.disable_success) {
            return;
        }
        let answering = classify::answers_question(m);
        let last_known_good = if self.cfg.prefer_positive && !answering {
            self.success.get(key, hash).and_then(|p| {
                if p.answering {
                    Some(p)
                } else {
                    p.last_known_good.clone()
                }
            })
        } else {
            None
        };
        let s = Stored {
            key: *key,
            hash,
            answering,
            last_known_good,
            now,
            duration: ttl,
        };
        if let Some(e) = Entry::build(m, s) {
            let evicted = self.success.insert(Arc::new(e));
            counts.add(Event::EvictionSuccess, evicted as u64);
        }
        // A positive answer is the newest word on the key: an older denial,
        // stale or not, must not shadow it (see the README).
        if !self.cfg.prefer_positive || answering {
            self.denial.remove(key, hash);
        }
    }

    /// Is the reply to a stale entry's refresh good enough to replace it?
    fn verdict(&self, out: &Outcome, req: &Request, do_bit: bool) -> Verdict {
        let Ok(Answer::Reply(r)) = out else {
            return Verdict::Ignore;
        };
        let m = &r.message;
        if m.metadata.truncation || !same_question(req, m) {
            return Verdict::Ignore;
        }
        let kind = classify::kind(m, do_bit, unix_now());
        if self.cfg.prefer_positive {
            return if kind == Kind::NoError && classify::answers_question(m) {
                Verdict::Refreshed
            } else {
                Verdict::StoreOnly
            };
        }
        if matches!(kind, Kind::OtherError | Kind::Meta | Kind::Update) {
            return Verdict::Ignore;
        }
        match m.metadata.response_code {
            ResponseCode::NoError | ResponseCode::NXDomain => Verdict::Refreshed,
            _ => Verdict::Ignore,
        }
    }

    /// Asks the next plugin, with AD set as CoreDNS does so an upstream
    /// says whether it validated; the client's AD is restored afterwards.
    async fn ask<N: Handler>(req: &mut Request, next: &N, ad_asked: bool) -> Outcome {
        req.message.metadata.authentic_data = true;
        let out = next.handle(req).await;
        req.message.metadata.authentic_data = ad_asked;
        out
    }
}

/// Starts a background refresh of `e` through the server itself (the
/// caller holds the entry's refresh claim, which the task releases).
fn spawn_refresh(inner: &Arc<Inner>, e: Arc<Entry>, req: &Request, recheck: u64, stale: bool) {
    if inner.refreshes.fetch_add(1, Ordering::AcqRel) >= MAX_REFRESHES {
        inner.refreshes.fetch_sub(1, Ordering::AcqRel);
        e.end_refresh(inner.now(), 0, true);
        return;
    }
    inner.metrics.of(&req.server).bump(Event::Prefetch);
    let mut sub = Request {
        message: req.message.clone(),
        wire_len: req.wire_len,
        client: req.client,
        local: req.local,
        // As CoreDNS: no client to truncate for.
        proto: Proto::Tcp,
        server: req.server.clone(),
        name_cache: Default::default(),
        depth: req.depth.saturating_add(1),
        refresh: true,
        // Re-enters the server, whose *metadata* collects afresh.
        meta: None,
    };
    let do_bit = req.do_bit();
    let at = inner.now();
    let inner = inner.clone();
    tokio::spawn(async move {
        let out = tokio::select! {
            out = inner.upstream.run(&mut sub) => out,
            () = inner.shutdown.cancelled() => None,
        };
        let refreshed = match &out {
            None => false,
            Some(_) if !stale => true,
            Some(out) => inner.verdict(out, &sub, do_bit) == Verdict::Refreshed,
        };
        if refreshed {
            // The new entry keeps the old one's popularity.
            let key = Key {
                lname: e.lname(),
                qtype: e.qtype,
                qclass: e.qclass,
                do_bit: e.do_bit,
                cd: e.cd,
            };
            if let Some((fresh, _)) = inner.lookup(&key, e.hash, inner.now())
                && !Arc::ptr_eq(&fresh, &e)
            {
                fresh.reset_hits(at, e.hits());
            }
        }
        e.end_refresh(inner.now(), recheck, refreshed);
        inner.refreshes.fetch_sub(1, Ordering::AcqRel);
    });
}

/// An expired entry was found: refresh it as `serve_stale` says. `Some`
/// with the reply to send if a `verify` refresh brought a usable answer;
/// `None` to answer from the expired entry.
#[allow(clippy::too_many_arguments)]
async fn refresh_stale<N: Handler>(
    inner: &Arc<Inner>,
    e: &Arc<Entry>,
    stale: ServeStale,
    req: &mut Request,
    next: &N,
    key: &Key<'_>,
    hash: u64,
    now: u64,
) -> Option<Outcome> {
    let recheck = millis(stale.failure_recheck);
    let StaleMode::Verify { timeout } = stale.mode else {
        // immediate: answer now, refresh in the background.
        if e.begin_refresh(now, recheck) {
            spawn_refresh(inner, e.clone(), req, recheck, true);
        }
        return None;
    };
    // verify: ask first. Refreshes are only counted per entry (one at a
    // time) with FAILURE_RECHECK, as in CoreDNS.
    let track = recheck > 0;
    if track && !e.begin_refresh(now, recheck) {
        return None;
    }
    let ad_asked = req.message.metadata.authentic_data;
    let asked = if timeout.is_zero() {
        Some(Inner::ask(req, next, ad_asked).await)
    } else {
        req.message.metadata.authentic_data = true;
        let out = tokio::time::timeout(timeout, next.handle(req)).await.ok();
        req.message.metadata.authentic_data = ad_asked;
        out
    };
    let Some(out) = asked else {
        // Too slow: answer stale, let a refresh finish in the background.
        if track || e.begin_refresh(now, 0) {
            spawn_refresh(inner, e.clone(), req, recheck, true);
        }
        return None;
    };
    let verdict = inner.verdict(&out, req, key.do_bit);
    if track {
        e.end_refresh(inner.now(), recheck, verdict == Verdict::Refreshed);
    }
    match verdict {
        Verdict::Refreshed => Some(inner.finish(req, out, key, hash, ad_asked, true)),
        Verdict::StoreOnly => {
            let _ = inner.finish(req, out, key, hash, ad_asked, true);
            None
        }
        Verdict::Ignore => None,
    }
}

impl Plugin for Cache {
    const NAME: &'static str = "cache";

    async fn serve<'a, N: Handler>(&'a self, req: &'a mut Request, next: &'a N) -> Outcome {
        let inner = &self.inner;
        if req.message.metadata.op_code != OpCode::Query {
            return next.handle(req).await;
        }
        let Ok(lname) = req.qname().to_lowercase().to_bytes() else {
            return next.handle(req).await;
        };
        if !in_any(&lname, &inner.zones) {
            return next.handle(req).await;
        }
        let key = Key {
            lname: &lname,
            qtype: req.qtype().into(),
            qclass: req.qclass().into(),
            do_bit: req.do_bit(),
            cd: req.message.metadata.checking_disabled,
        };
        let hash = key.hash(inner.seed);
        let ad_asked = req.message.metadata.authentic_data;

        if req.refresh {
            // Our own refresh: no lookup. A stale entry is only replaced by
            // a usable answer; a prefetch stores whatever comes.
            let now = inner.now();
            let stale = inner
                .lookup(&key, hash, now)
                .is_some_and(|(e, _)| e.ttl(now) <= 0);
            let out = Inner::ask(req, next, ad_asked).await;
            let store = !stale || inner.verdict(&out, req, key.do_bit) != Verdict::Ignore;
            return inner.finish(req, out, &key, hash, ad_asked, store);
        }

        let now = inner.now();
        let counts = inner.metrics.of(&req.server);
        let Some((e, denial)) = inner.lookup(&key, hash, now) else {
            counts.bump(Event::Request);
            counts.bump(Event::Miss);
            let out = Inner::ask(req, next, ad_asked).await;
            return inner.finish(req, out, &key, hash, ad_asked, true);
        };
        Inner::count_hit(counts, denial);
        let ttl = e.ttl(now);
        // Expired entries are only found under serve_stale.
        let stale_config = inner.cfg.serve_stale.filter(|_| ttl <= 0);
        let served_ttl = if let Some(stale) = stale_config {
            if let Some(fresh) = refresh_stale(inner, &e, stale, req, next, &key, hash, now).await {
                return fresh;
            }
            counts.bump(Event::ServedStale);
            inner.stale_ttl(&e)
        } else {
            if inner.should_prefetch(&e, now, ttl) && e.begin_refresh(now, 0) {
                spawn_refresh(inner, e.clone(), req, 0, false);
            }
            inner.fresh_ttl(&e, ttl)
        };
        match e.to_message(req, e.flags(key.do_bit, ad_asked), served_ttl) {
            Some(m) => Ok(Answer::reply(Self::NAME, m)),
            // Cannot happen for an entry that built; be safe anyway.
            None => {
                let out = Inner::ask(req, next, ad_asked).await;
                inner.finish(req, out, &key, hash, ad_asked, true)
            }
        }
    }

    fn serve_wire<N: Handler>(&self, q: &WireQuery<'_>, out: &mut Vec<u8>, next: &N) -> bool {
        let inner = &*self.inner;
        if !in_any(q.lname(), &inner.zones) {
            return next.handle_wire(q, out);
        }
        let key = Key {
            lname: q.lname(),
            qtype: q.qtype,
            qclass: 1,
            do_bit: q.dnssec_ok(),
            cd: q.checking_disabled(),
        };
        let hash = key.hash(inner.seed);
        let now = inner.now();
        // A miss, an expired entry or a prefetch due: the full path.
        let Some((e, denial)) = inner.lookup(&key, hash, now) else {
            return false;
        };
        let ttl = e.ttl(now);
        if ttl <= 0 || !e.fast_for(q) || inner.would_prefetch(&e, now, ttl) {
            return false;
        }
        let set = e.flags(key.do_bit, q.authentic_data());
        if !e.write_fast(q, set, inner.fresh_ttl(&e, ttl), out) {
            return false;
        }
        if let Some(p) = inner.cfg.prefetch.filter(|p| p.amount > 0) {
            e.count_hit(millis(p.window), now);
        }
        Inner::count_hit(inner.metrics.of(q.server), denial);
        true
    }
}

impl Setup for Cache {
    type Config = CacheConfig;

    fn build(cfg: CacheConfig, env: &mut BuildEnv<'_>) -> Result<Self, Diagnostic> {
        Ok(Cache::new(
            cfg,
            env.upstream(),
            env.shutdown(),
            BlockLabels::of(env),
        ))
    }
}
