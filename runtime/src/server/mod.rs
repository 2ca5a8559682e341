//! Listeners and the query path. The current site sits behind an atomic
//! swap: a reload builds the new site, binds any new addresses, swaps, and
//! only then closes listeners the new site no longer has. Queries in flight
//! keep the site they started with; sockets that stay are never closed.
//! Side listeners (HTTP: *health*, *ready*) follow the same rules.

pub mod http;
pub mod respond;
pub mod side;
mod sys;
pub mod tcp;
mod udp;

use crate::site::{CompiledBlocks, ListenAddr, Site};
use arc_swap::ArcSwap;
use corec_compiler::Transport;
use http::{HttpAddr, HttpLimits, HttpResponse, HttpServer};
use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// The addresses one listener actually bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bound {
    /// The UDP address.
    pub udp: SocketAddr,
    /// The TCP address.
    pub tcp: SocketAddr,
}

struct Running {
    bound: Bound,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// A running server.
pub struct Server<C: CompiledBlocks> {
    site: Arc<ArcSwap<Site<C>>>,
    listeners: Mutex<HashMap<ListenAddr, Running>>,
    side: Mutex<HashMap<HttpAddr, HttpServer>>,
    /// Set once shutdown has begun (the lameduck): `/ready` says so.
    draining: Arc<AtomicBool>,
    /// Queries waiting for an answer (UDP) and TCP connections, so that
    /// shutdown can let them finish.
    in_flight: TaskTracker,
    /// Tells TCP connections to stop reading new queries.
    stopping: CancellationToken,
    tcp_limits: tcp::TcpLimits,
    udp_sockets: usize,
}

impl<C: CompiledBlocks> std::fmt::Debug for Server<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("bound", &self.bound())
            .finish()
    }
}

impl<C: CompiledBlocks> Server<C> {
    /// Binds every listener of `site` and starts serving. Must run inside a
    /// multi-threaded tokio runtime.
    pub fn start(site: Site<C>) -> io::Result<Arc<Self>> {
        Self::start_with(site, tcp::TcpLimits::default())
    }

    /// [`start`](Self::start) with other TCP limits.
    pub fn start_with(site: Site<C>, tcp_limits: tcp::TcpLimits) -> io::Result<Arc<Self>> {
        let udp_sockets = std::thread::available_parallelism().map_or(1, |n| n.get());
        let server = Arc::new(Server {
            site: Arc::new(ArcSwap::new(site.into_shared())),
            listeners: Mutex::new(HashMap::new()),
            side: Mutex::new(HashMap::new()),
            draining: Arc::new(AtomicBool::new(false)),
            in_flight: TaskTracker::new(),
            stopping: CancellationToken::new(),
            tcp_limits,
            udp_sockets,
        });
        let site = server.site.load_full();
        let mut started = HashMap::new();
        for (at, l) in &site.listeners {
            started.insert(*at, server.listen(*at, l.name.clone())?);
        }
        let mut side = HashMap::new();
        for at in site.side.http.keys() {
            side.insert(*at, server.listen_http(*at)?);
        }
        *server.listeners.lock().expect("listener map") = started;
        *server.side.lock().expect("side listener map") = side;
        crate::metrics::plugins_enabled(&site.plugins_enabled);
        crate::metrics::watch_runtime(tokio::runtime::Handle::current());
        tokio::spawn(health_probe(Arc::downgrade(&server)));
        Ok(server)
    }

    /// The site serving now.
    pub fn current(&self) -> Arc<Site<C>> {
        self.site.load_full()
    }

    /// Actual bound addresses, by configured listener address.
    pub fn bound(&self) -> Vec<(ListenAddr, Bound)> {
        let mut v: Vec<_> = self
            .listeners
            .lock()
            .expect("listener map")
            .iter()
            .map(|(k, r)| (*k, r.bound))
            .collect();
        v.sort_by_key(|(k, _)| *k);
        v
    }

    /// Side listeners' actual addresses, by configured address.
    pub fn side_bound(&self) -> Vec<(HttpAddr, SocketAddr)> {
        let mut v: Vec<_> = self
            .side
            .lock()
            .expect("side listener map")
            .iter()
            .map(|(k, s)| (*k, s.local_addr()))
            .collect();
        v.sort_by_key(|(k, _)| *k);
        v
    }

    /// Switches to `site`: binds its new listeners (DNS and side) first,
    /// failing without change if one cannot bind, swaps atomically, then
    /// closes the listeners it no longer uses. A listener whose address
    /// stays is kept as it is.
    pub fn replace(&self, site: Site<C>) -> io::Result<()> {
        let mut listeners = self.listeners.lock().expect("listener map");
        let mut side = self.side.lock().expect("side listener map");
        let mut added = HashMap::new();
        for (at, l) in &site.listeners {
            if !listeners.contains_key(at) {
                added.insert(*at, self.listen(*at, l.name.clone())?);
            }
        }
        let mut side_added = HashMap::new();
        for at in site.side.http.keys() {
            if !side.contains_key(at) {
                side_added.insert(*at, self.listen_http(*at)?);
            }
        }
        let keep: Vec<ListenAddr> = site.listeners.keys().copied().collect();
        let keep_side: Vec<HttpAddr> = site.side.http.keys().copied().collect();
        crate::metrics::plugins_enabled(&site.plugins_enabled);
        self.site.store(site.into_shared());
        listeners.retain(|at, _| keep.contains(at));
        listeners.extend(added);
        side.retain(|at, _| keep_side.contains(at));
        side.extend(side_added);
        Ok(())
    }

    /// Stops every listener (queries in flight finish on their own; TCP
    /// connections stop reading new queries).
    pub fn stop(&self) {
        self.listeners.lock().expect("listener map").clear();
        self.side.lock().expect("side listener map").clear();
        self.stopping.cancel();
    }

    /// After [`stop`](Self::stop): waits until every query that was being
    /// answered has its answer sent, for at most `limit`. False if some
    /// were still running when the time ran out.
    pub async fn drain(&self, limit: std::time::Duration) -> bool {
        self.in_flight.close();
        tokio::time::timeout(limit, self.in_flight.wait())
            .await
            .is_ok()
    }

    /// Whether shutdown has begun.
    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Relaxed)
    }

    /// Shuts down as on SIGTERM: when the serving site has a *health*
    /// lameduck, keeps serving DNS (and `/health`) for that long while
    /// `/ready` says it is shutting down, then stops every listener.
    pub async fn shutdown(&self) {
        self.draining.store(true, Ordering::Relaxed);
        let lameduck = self.current().side.lameduck;
        if !lameduck.is_zero() {
            tracing::info!(
                target: "plugin/health",
                "Going into lameduck mode for {}",
                corec_compiler::duration::format_go_duration(lameduck.as_nanos() as i64)
            );
            tokio::time::sleep(lameduck).await;
        }
        self.stop();
    }

    /// Binds a side listener answering from whatever site is serving.
    fn listen_http(&self, at: HttpAddr) -> io::Result<HttpServer> {
        let socket = http::bind(at)
            .map_err(|e| io::Error::new(e.kind(), format!("listen tcp {at}: {e}")))?;
        let site = self.site.clone();
        let draining = self.draining.clone();
        let handler: http::HttpHandler =
            Arc::new(move |_method, path| match site.load().side.http.get(&at) {
                Some(endpoints) => endpoints.respond(path, draining.load(Ordering::Relaxed)),
                None => HttpResponse::not_found(),
            });
        HttpServer::start(socket, handler, HttpLimits::default())
    }

    fn listen(&self, at: ListenAddr, name: Arc<str>) -> io::Result<Running> {
        if at.transport != Transport::Dns {
            return Err(io::Error::other(format!(
                "{} is not served by corec yet",
                at.transport.scheme()
            )));
        }
        let host = at.host.unwrap_or(IpAddr::V6(Ipv6Addr::UNSPECIFIED));
        let (udp, tcp) = match bind_pair(host, at.port, self.udp_sockets) {
            Err(_) if at.host.is_none() => {
                // No IPv6 on this host: fall back to IPv4 only.
                bind_pair(IpAddr::V4(Ipv4Addr::UNSPECIFIED), at.port, self.udp_sockets)?
            }
            other => other?,
        };
        let bound = Bound {
            udp: udp[0].local_addr()?,
            tcp: tcp.local_addr()?,
        };
        let mut tasks = Vec::new();
        for sock in udp {
            tasks.push(tokio::spawn(udp::serve(
                sock,
                self.site.clone(),
                at,
                name.clone(),
                self.in_flight.clone(),
            )));
        }
        let listener = tokio::net::TcpListener::from_std(tcp)?;
        tasks.push(tokio::spawn(tcp::serve(
            listener,
            self.site.clone(),
            at,
            name,
            self.tcp_limits,
            self.in_flight.clone(),
            self.stopping.clone(),
        )));
        Ok(Running { bound, tasks })
    }
}

/// Where `/health` is served now, if anywhere.
fn health_address<C: CompiledBlocks>(server: &Server<C>) -> Option<SocketAddr> {
    let site = server.site.load();
    let side = server.side.lock().expect("side listener map");
    site.side
        .http
        .iter()
        .find(|(_, e)| e.health)
        .and_then(|(at, _)| side.get(at))
        .map(|s| {
            let a = s.local_addr();
            match a.ip() {
                ip if ip.is_unspecified() && a.is_ipv6() => {
                    SocketAddr::from((Ipv6Addr::LOCALHOST, a.port()))
                }
                ip if ip.is_unspecified() => SocketAddr::from((Ipv4Addr::LOCALHOST, a.port())),
                _ => a,
            }
        })
}

/// *health*'s self-probe, as CoreDNS's: once a second, `GET /health` on
/// our own listener, timing it into `coredns_health_request_duration_seconds`
/// and counting failures (no `200` within 3 s) in
/// `coredns_health_request_failures_total`. Runs while the server lives.
async fn health_probe<C: CompiledBlocks>(server: std::sync::Weak<Server<C>>) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(at) = server.upgrade().and_then(|s| health_address(&s)) else {
            if server.strong_count() == 0 {
                return;
            }
            continue;
        };
        let started = std::time::Instant::now();
        let ok = tokio::time::timeout(
            std::time::Duration::from_secs(3),
            http::probe(at, "/health"),
        )
        .await
        .is_ok_and(|status| status == Some(200));
        let took = started.elapsed();
        let m = crate::metrics::core();
        m.health_duration.observe(took.as_secs_f64());
        if !ok {
            m.health_failures.inc();
        }
        if took > std::time::Duration::from_secs(1) {
            tracing::warn!(target: "plugin/health", "Local health request to {at} took more than 1s: {took:?}");
        }
    }
}

/// Every address of a network interface (`bind IFACE`).
pub fn interface_addrs(name: &str) -> Vec<IpAddr> {
    sys::interface_addrs(name)
}

/// UDP sockets and a TCP listener on one port; with port 0 the kernel picks
/// one for UDP and TCP joins it (retrying if that TCP port is taken).
fn bind_pair(
    host: IpAddr,
    port: u16,
    udp_sockets: usize,
) -> io::Result<(Vec<Arc<udp::UdpShared>>, std::net::TcpListener)> {
    let mut last = None;
    for _ in 0..if port == 0 { 8 } else { 1 } {
        let udp = udp::bind(SocketAddr::new(host, port), udp_sockets)?;
        let got = udp[0].local_addr()?.port();
        match sys::tcp_listener(SocketAddr::new(host, got)) {
            Ok(tcp) => return Ok((udp, tcp)),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::other("could not bind")))
}
