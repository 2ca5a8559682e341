use super::metrics;
use super::proxy::{ExchangeError, Net, Options, Proxy, TlsTarget};
use super::setup::{
    CONNECT_ATTEMPTS_PER_UPSTREAM, ForwardConfig, MAX_UPSTREAMS, Policy, Stanza, To, host_name,
    resolv_conf_servers,
};
use crate::dns::{Message, Name, ResponseCode};
use crate::plugin::{Answer, Handler, Outcome, Plugin, PluginError, Proto, Request, Setup};
use crate::site::BuildEnv;
use crate::wire::WireQuery;
use corec_compiler::{Diagnostic, Span};
use rand::seq::SliceRandom;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

const LOG: &str = "plugin/forward";

/// No new upstream attempt starts this long after a query arrived.
pub(super) const OVERALL_TIMEOUT: Duration = Duration::from_secs(5);

/// Cached-connection retries within one attempt (each uses up one cached
/// connection; a fresh one follows).
const CACHED_RETRIES: usize = 4;

/// The forward plugin: every `forward` of a block, tried in Corefile order.
#[derive(Debug)]
pub struct Forward {
    stanzas: Vec<Forwarder>,
}

/// One `forward` directive, running.
#[derive(Debug)]
struct Forwarder {
    from: String,
    from_wire: Vec<u8>,
    except: Vec<(String, Vec<u8>)>,
    proxies: Vec<Arc<Proxy>>,
    policy: Policy,
    robin: AtomicU32,
    force_tcp: bool,
    prefer_udp: bool,
    max_fails: u32,
    /// 0: no cap.
    max_connect_attempts: u64,
    failfast: bool,
    failover: Vec<u16>,
    next: Vec<u16>,
    next_on_nodata: bool,
    max_concurrent: u32,
    concurrent: AtomicU32,
}

/// What one stanza did with a query.
enum Step {
    Done(Outcome),
    /// `next`/`next_on_nodata`: the following stanza takes it.
    Next,
}

fn wire_name(name: &str) -> Vec<u8> {
    use crate::dns::BinEncodable;
    Name::from_ascii(name)
        .ok()
        .and_then(|n| n.to_lowercase().to_bytes().ok())
        .unwrap_or_else(|| vec![0])
}

/// Is `name` at or below `zone` (lowercased FQDNs)?
fn in_zone(name: &str, zone: &str) -> bool {
    zone == "."
        || name == zone
        || (name.len() > zone.len()
            && name.ends_with(zone)
            && name.as_bytes()[name.len() - zone.len() - 1] == b'.')
}

impl Forwarder {
    fn matches(&self, name: &str) -> bool {
        if !in_zone(name, &self.from) {
            return false;
        }
        name == self.from || !self.except.iter().any(|(e, _)| in_zone(name, e))
    }

    fn matches_wire(&self, name: &[u8]) -> bool {
        if !crate::wire::in_zone(name, &self.from_wire) {
            return false;
        }
        name == self.from_wire.as_slice()
            || !self
                .except
                .iter()
                .any(|(_, e)| crate::wire::in_zone(name, e))
    }

    /// The upstreams in the order this query tries them.
    fn list(&self) -> Vec<usize> {
        let n = self.proxies.len();
        match self.policy {
            Policy::Sequential => (0..n).collect(),
            Policy::Random => {
                let mut v: Vec<usize> = (0..n).collect();
                v.shuffle(&mut rand::rng());
                v
            }
            Policy::RoundRobin => {
                let i = (self.robin.fetch_add(1, Ordering::Relaxed).wrapping_add(1) as usize) % n;
                let mut v = Vec::with_capacity(n);
                v.push(i);
                v.extend(0..i);
                v.extend(i + 1..n);
                v
            }
        }
    }

    async fn forward(&self, req: &mut Request, more: bool) -> Step {
        let _slot = match self.take_slot() {
            Ok(slot) => slot,
            Err(e) => return Step::Done(Err(e)),
        };
        let mut query = match req.message.to_vec() {
            Ok(q) if q.len() >= 12 => q,
            Ok(_) | Err(_) => {
                return Step::Done(Err(PluginError {
                    plugin: Forward::NAME,
                    rcode: ResponseCode::FormErr,
                    message: "proxy: invalid request".into(),
                }));
            }
        };
        let list = self.list();
        let start = Instant::now();
        let deadline = start + OVERALL_TIMEOUT;
        let max_attempts = self.max_connect_attempts;
        let (mut i, mut fails, mut failovers, mut attempts) = (0usize, 0usize, 0usize, 0u64);
        let mut last_error: Option<String> = None;
        while Instant::now() < deadline && (max_attempts == 0 || attempts < max_attempts) {
            if i >= list.len() {
                i = 0;
                fails = 0;
            }
            let mut proxy = &self.proxies[list[i]];
            i += 1;
            if proxy.down() {
                fails += 1;
                if fails < self.proxies.len() {
                    continue;
                }
                // Every upstream is down: health checking itself may be broken.
                metrics::healthcheck_broken();
                if self.failfast {
                    break;
                }
                proxy = &self.proxies[rand::random_range(0..self.proxies.len())];
            }
            // Whichever upstream was tried last (a no-op without *metadata*).
            req.set_meta("forward/upstream", proxy.upstream.clone());
            let mut force_tcp = self.force_tcp;
            let mut retries = 0;
            let result = loop {
                let net = if force_tcp {
                    Net::Tcp
                } else if self.prefer_udp {
                    Net::Udp
                } else {
                    match req.proto {
                        Proto::Udp => Net::Udp,
                        Proto::Tcp => Net::Tcp,
                    }
                };
                query[..2].copy_from_slice(&rand::random::<u16>().to_be_bytes());
                let limit = deadline
                    .saturating_duration_since(Instant::now())
                    .max(Duration::from_millis(100));
                let asked = Instant::now();
                let room = req.edns().map_or(512, |e| usize::from(e.max_payload()));
                let exchanged = proxy.exchange(&query, net, limit, room).await;
                if let Ok(r) = &exchanged {
                    proxy
                        .metrics
                        .observe(metrics::reply_rcode(r), asked.elapsed());
                }
                match exchanged {
                    Err(ExchangeError::CachedClosed) if retries < CACHED_RETRIES => {
                        retries += 1;
                    }
                    Err(ExchangeError::CachedClosed) => {
                        break Err("cached connection was closed by peer".to_string());
                    }
                    Err(ExchangeError::Network(e)) => break Err(e),
                    // A truncated answer over UDP with prefer_udp: again over TCP.
                    Ok(r) if r[2] & 0x02 != 0 && !force_tcp && self.prefer_udp => {
                        force_tcp = true;
                    }
                    Ok(r) => break Ok((r, net)),
                }
            };
            let (bytes, net) = match result {
                Ok(ok) => ok,
                Err(e) => {
                    tracing::debug!(target: LOG, "{}: {e}", proxy.label);
                    if self.max_fails != 0 {
                        proxy.healthcheck();
                    }
                    last_error = Some(e);
                    if max_attempts > 0 {
                        attempts += 1;
                        if attempts >= max_attempts {
                            break;
                        }
                    }
                    if fails < self.proxies.len() {
                        continue;
                    }
                    break;
                }
            };
            if !super::proxy::question_matches(&query, &bytes) {
                // The upstream answered another question.
                let mut m = req.reply();
                m.metadata.response_code = ResponseCode::FormErr;
                return Step::Done(Ok(Answer::reply(Forward::NAME, m)));
            }
            let mut reply = match Message::from_vec(&bytes) {
                Ok(m) => m,
                Err(_) if net == Net::Udp && !proxy.is_tls() && bytes[2] & 0x02 != 0 => {
                    // Truncated past decoding: an empty reply with TC, so the
                    // client retries over TCP.
                    let mut m = req.reply();
                    m.metadata.truncation = true;
                    m.metadata.response_code = ResponseCode::from(0, bytes[3] & 0x0f);
                    m
                }
                Err(e) => {
                    let e = format!("dns: {e} (reply from {})", proxy.label);
                    if self.max_fails != 0 {
                        proxy.healthcheck();
                    }
                    last_error = Some(e);
                    if max_attempts > 0 {
                        attempts += 1;
                        if attempts >= max_attempts {
                            break;
                        }
                    }
                    continue;
                }
            };
            reply.metadata.id = req.id();
            let rcode = u16::from(reply.metadata.response_code);
            if self.failover.contains(&rcode) {
                failovers += 1;
                if failovers < self.proxies.len() {
                    continue;
                }
            }
            if more && self.next.contains(&rcode) {
                return Step::Next;
            }
            if more && self.next_on_nodata && rcode == 0 && reply.answers.is_empty() {
                return Step::Next;
            }
            return Step::Done(Ok(Answer::reply(Forward::NAME, reply)));
        }
        Step::Done(Err(PluginError::servfail(
            Forward::NAME,
            last_error.unwrap_or_else(|| "no healthy proxies".into()),
        )))
    }

    /// A place among the queries in flight, if `max_concurrent` allows one.
    fn take_slot(&self) -> Result<Option<Slot<'_>>, PluginError> {
        if self.max_concurrent == 0 {
            return Ok(None);
        }
        let slot = Slot(&self.concurrent);
        if self.concurrent.fetch_add(1, Ordering::AcqRel) >= self.max_concurrent {
            metrics::max_concurrent_reject();
            return Err(PluginError {
                plugin: Forward::NAME,
                rcode: ResponseCode::Refused,
                message: format!(
                    "concurrent queries exceeded maximum {}",
                    self.max_concurrent
                ),
            });
        }
        Ok(Some(slot))
    }
}

/// A query in flight; its place is given back when dropped.
struct Slot<'a>(&'a AtomicU32);

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Plugin for Forward {
    const NAME: &'static str = "forward";

    async fn serve<'a, N: Handler>(&'a self, req: &'a mut Request, next: &'a N) -> Outcome {
        let name = req.name();
        let n = self.stanzas.len();
        for (i, s) in self.stanzas.iter().enumerate() {
            if !s.matches(&name) {
                continue;
            }
            match s.forward(req, i + 1 < n).await {
                Step::Done(outcome) => return outcome,
                Step::Next => {}
            }
        }
        next.handle(req).await
    }

    /// Queries no stanza takes pass on in the fast lane; the others need the network.
    fn serve_wire<N: Handler>(&self, q: &WireQuery<'_>, out: &mut Vec<u8>, next: &N) -> bool {
        let name = q.lname();
        if self.stanzas.iter().any(|s| s.matches_wire(name)) {
            return false;
        }
        next.handle_wire(q, out)
    }
}

fn err(span: Option<Span>, message: impl std::fmt::Display) -> Diagnostic {
    Diagnostic::error(format!("plugin/forward: {message}"), span)
}

/// The addresses of one TO: itself, a file's nameservers, or a host name's addresses.
fn expand(
    to: &To,
    span: Span,
    resolvers: &[SocketAddr],
) -> Result<Vec<(SocketAddr, bool, Option<String>)>, Diagnostic> {
    match to {
        To::Addr {
            tls,
            addr,
            server_name,
        } => Ok(vec![(*addr, *tls, server_name.clone())]),
        To::FileOrHost {
            tls,
            text,
            server_name,
        } => match std::fs::read(text) {
            // A resolv.conf: its nameservers, plain DNS on port 53.
            Ok(bytes) => Ok(resolv_conf_servers(&String::from_utf8_lossy(&bytes))
                .into_iter()
                .map(|a| (a, false, None))
                .collect()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && text.contains('/') => Err(err(
                Some(span),
                format!("not an IP address or file {text:?}: failed to open file {text:?}: {e}"),
            )),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let Some((host, port)) = host_name(text, *tls) else {
                    return Err(err(
                        Some(span),
                        format!("not an IP address, file, or valid domain: {text:?}"),
                    ));
                };
                let addrs: Vec<SocketAddr> = if resolvers.is_empty() {
                    (host.as_str(), port)
                        .to_socket_addrs()
                        .map_err(|e| err(Some(span), format!("failed to resolve {host:?}: {e}")))?
                        .collect()
                } else {
                    lookup(&host, resolvers)
                        .map_err(|e| err(Some(span), format!("failed to resolve {host:?}: {e}")))?
                        .into_iter()
                        .map(|ip| SocketAddr::new(ip, port))
                        .collect()
                };
                if addrs.is_empty() {
                    return Err(err(
                        Some(span),
                        format!("failed to resolve {host:?}: no addresses found for {host:?}"),
                    ));
                }
                Ok(addrs
                    .into_iter()
                    .map(|a| (a, *tls, server_name.clone()))
                    .collect())
            }
            Err(e) => Err(err(
                Some(span),
                format!("not an IP address or file {text:?}: {e}"),
            )),
        },
    }
}

/// Addresses (A, then AAAA) of `host` from the first of `resolvers` that
/// answers, over UDP with a 2 s timeout per query (blocking: startup only).
fn lookup(host: &str, resolvers: &[SocketAddr]) -> Result<Vec<std::net::IpAddr>, String> {
    use crate::dns::{MessageType, OpCode, Query, RData, RecordType};
    let name = Name::from_ascii(host)
        .map(|mut n| {
            n.set_fqdn(true);
            n
        })
        .map_err(|e| e.to_string())?;
    let ask = |to: SocketAddr, qtype: RecordType| -> Result<Vec<std::net::IpAddr>, String> {
        let mut m = Message::new(rand::random(), MessageType::Query, OpCode::Query);
        m.metadata.recursion_desired = true;
        m.queries.push(Query::query(name.clone(), qtype));
        let bytes = m.to_vec().map_err(|e| e.to_string())?;
        let local: SocketAddr = if to.is_ipv4() {
            ([0, 0, 0, 0], 0).into()
        } else {
            (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
        };
        let sock = std::net::UdpSocket::bind(local).map_err(|e| e.to_string())?;
        sock.connect(to).map_err(|e| e.to_string())?;
        sock.set_read_timeout(Some(Duration::from_secs(2)))
            .map_err(|e| e.to_string())?;
        sock.send(&bytes).map_err(|e| e.to_string())?;
        let mut buf = vec![0u8; 65535];
        loop {
            let n = sock.recv(&mut buf).map_err(|e| format!("{to}: {e}"))?;
            if n < 12 || buf[..2] != bytes[..2] {
                continue;
            }
            let reply = Message::from_vec(&buf[..n]).map_err(|e| e.to_string())?;
            return Ok(reply
                .answers
                .iter()
                .filter_map(|r| match &r.data {
                    RData::A(a) => Some(std::net::IpAddr::V4(a.0)),
                    RData::AAAA(a) => Some(std::net::IpAddr::V6(a.0)),
                    _ => None,
                })
                .collect());
        }
    };
    let mut last = String::from("no resolver");
    for &to in resolvers {
        match ask(to, RecordType::A) {
            Ok(mut ips) => {
                match ask(to, RecordType::AAAA) {
                    Ok(v6) => ips.extend(v6),
                    Err(e) if ips.is_empty() => {
                        last = e;
                        continue;
                    }
                    Err(_) => {}
                }
                if ips.is_empty() {
                    last = format!("no addresses found for {host:?}");
                    continue;
                }
                return Ok(ips);
            }
            Err(e) => last = e,
        }
    }
    Err(last)
}

fn build_stanza(s: Stanza, env: &BuildEnv<'_>) -> Result<Forwarder, Diagnostic> {
    if let Some(orig) = &s.from_expanded {
        tracing::warn!(
            target: LOG,
            "Unsupported CIDR notation: '{orig}' expands to multiple zones. Using only '{}'.",
            s.from
        );
    }
    let mut upstreams: Vec<(SocketAddr, bool, Option<String>)> = Vec::new();
    for (to, span) in &s.to {
        for u in expand(to, *span, &s.resolver)? {
            if let Some(sni) = &u.2
                && u.1
                && let Some(global) = &s.tls_servername
            {
                return Err(err(
                    Some(*span),
                    format!(
                        "both forward ('{global}') and proxy level ('{sni}') TLS servernames are set for upstream proxy 'tls://{}'",
                        u.0
                    ),
                ));
            }
            // Duplicates (by address, whatever the transport): the first wins.
            if !upstreams.iter().any(|x| x.0 == u.0) {
                upstreams.push(u);
            }
        }
    }
    if upstreams.is_empty() {
        return Err(err(s.span, "no valid upstream addresses found"));
    }
    if upstreams.len() > MAX_UPSTREAMS {
        tracing::warn!(
            target: LOG,
            "{} upstreams for '{}': using the first {MAX_UPSTREAMS}",
            upstreams.len(),
            s.from
        );
        upstreams.truncate(MAX_UPSTREAMS);
    }
    let connector = if upstreams.iter().any(|u| u.1) {
        let config = super::tls::client_config(s.tls.as_ref(), |p| env.resolve(p))
            .map_err(|e| err(s.tls_span.or(s.span), e))?;
        Some(tokio_rustls::TlsConnector::from(config))
    } else {
        None
    };
    let opts = Arc::new(Options {
        expire: s.expire,
        max_age: s.max_age,
        max_idle: s.max_idle_conns,
        read_timeout: s.read_timeout,
        source: s.source_address,
        max_fails: s.max_fails,
        hc_interval: s.health_check,
        hc_recursion_desired: s.hc_recursion_desired,
        hc_domain: Name::from_ascii(&s.hc_domain).unwrap_or_else(|_| Name::root()),
        hc_tcp: s.force_tcp,
        shutdown: env.shutdown(),
    });
    let mut proxies = Vec::with_capacity(upstreams.len());
    for (addr, tls, sni) in upstreams {
        let target = match (&connector, tls) {
            (Some(connector), true) => {
                let name = match sni.as_ref().or(s.tls_servername.as_ref()) {
                    Some(n) => rustls::pki_types::ServerName::try_from(n.clone())
                        .map_err(|e| err(s.span, format!("invalid TLS server name {n:?}: {e}")))?,
                    None => rustls::pki_types::ServerName::IpAddress(addr.ip().into()),
                };
                Some(TlsTarget {
                    connector: connector.clone(),
                    server_name: name,
                })
            }
            _ => None,
        };
        let proxy = Arc::new(Proxy::new(addr, target, opts.clone()));
        #[cfg(test)]
        if let Ok(mut built) = BUILT.lock() {
            built.push(Arc::downgrade(&proxy));
        }
        proxies.push(proxy);
    }
    let n = proxies.len() as u64;
    Ok(Forwarder {
        from_wire: wire_name(&s.from),
        except: s.except.iter().map(|e| (e.clone(), wire_name(e))).collect(),
        from: s.from,
        proxies,
        policy: s.policy,
        robin: AtomicU32::new(0),
        force_tcp: s.force_tcp,
        prefer_udp: s.prefer_udp,
        max_fails: s.max_fails,
        max_connect_attempts: s
            .max_connect_attempts
            .map_or(u64::from(CONNECT_ATTEMPTS_PER_UPSTREAM) * n, u64::from),
        failfast: s.failfast_all_unhealthy,
        failover: s.failover,
        next: s.next,
        next_on_nodata: s.next_on_nodata,
        max_concurrent: s.max_concurrent,
        concurrent: AtomicU32::new(0),
    })
}

/// Closes expired idle connections now and then, and all of them at shutdown.
fn start_cleaner(proxies: Vec<Weak<Proxy>>, every: Duration, env: &BuildEnv<'_>) {
    let Ok(rt) = tokio::runtime::Handle::try_current() else {
        return;
    };
    let stop = env.shutdown();
    rt.spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.tick().await;
        loop {
            let all = tokio::select! {
                _ = tick.tick() => false,
                () = stop.cancelled() => true,
            };
            let mut alive = false;
            for p in proxies.iter().filter_map(Weak::upgrade) {
                p.cleanup(all);
                alive = true;
            }
            if all || !alive {
                return;
            }
        }
    });
}

impl Setup for Forward {
    type Config = ForwardConfig;

    fn build(cfg: ForwardConfig, env: &mut BuildEnv<'_>) -> Result<Self, Diagnostic> {
        // CH-class (and other) queries reach the chain on this listener.
        env.config.allow_non_in = true;
        let mut stanzas = Vec::with_capacity(cfg.stanzas.len());
        let mut shortest_expire = super::setup::DEFAULT_EXPIRE;
        for s in cfg.stanzas {
            shortest_expire = shortest_expire.min(s.expire);
            stanzas.push(build_stanza(s, env)?);
        }
        let weak = stanzas
            .iter()
            .flat_map(|s| s.proxies.iter().map(Arc::downgrade))
            .collect();
        start_cleaner(weak, shortest_expire.max(Duration::from_secs(1)), env);
        Ok(Forward { stanzas })
    }
}

/// Every upstream built, for tests to look at their health.
#[cfg(test)]
static BUILT: std::sync::Mutex<Vec<Weak<Proxy>>> = std::sync::Mutex::new(Vec::new());

/// Failed health checks of the most recently built upstream at `addr`.
#[cfg(test)]
pub(super) fn fails_of(addr: SocketAddr) -> Option<u32> {
    let built = BUILT.lock().ok()?;
    built
        .iter()
        .rev()
        .filter_map(Weak::upgrade)
        .find(|p| p.addr == addr)
        .map(|p| p.fails())
}
