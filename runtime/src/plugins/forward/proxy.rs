//! One upstream: its cached connections, its exchanges and its health.

use super::metrics::{ConnProto, ProxyMetrics};
use crate::dns::{Message, MessageType, Name, OpCode, Query, RecordType};
use std::collections::VecDeque;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpSocket, UdpSocket};
use tokio_util::sync::CancellationToken;

/// The smallest buffer for an upstream's UDP reply: 512 bytes is all a
/// query without EDNS allows, but some upstreams send up to the flag-day
/// size regardless, and a cut datagram would be unreadable.
const MIN_UDP_ROOM: usize = 1232;

const LOG: &str = "plugin/forward";

/// Time allowed to write a query.
const WRITE_TIMEOUT: Duration = Duration::from_secs(2);
/// Time a health check may take (each of write and read).
const HEALTH_TIMEOUT: Duration = Duration::from_secs(1);
/// Shortest pause between two health checks (`health_check 0` would spin).
const MIN_HEALTH_INTERVAL: Duration = Duration::from_millis(10);
/// Dial timeout bounds; the timeout follows twice the average dial time.
const MIN_DIAL_TIMEOUT: Duration = Duration::from_secs(1);
const MAX_DIAL_TIMEOUT: Duration = Duration::from_secs(30);
/// Idle connections kept per upstream and transport when `max_idle_conns`
/// sets no lower limit.
pub(super) const IDLE_CAP: usize = 256;

/// Settings one stanza's upstreams share.
#[derive(Debug)]
pub(super) struct Options {
    pub expire: Duration,
    pub max_age: Duration,
    pub max_idle: usize,
    pub read_timeout: Duration,
    pub source: Option<IpAddr>,
    pub max_fails: u32,
    pub hc_interval: Duration,
    pub hc_recursion_desired: bool,
    pub hc_domain: Name,
    /// Health checks over TCP (`force_tcp`) instead of UDP.
    pub hc_tcp: bool,
    pub shutdown: CancellationToken,
}

/// The transport asked for; a TLS upstream always uses TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Net {
    Udp,
    Tcp,
}

/// Why an exchange failed.
#[derive(Debug)]
pub(super) enum ExchangeError {
    /// A cached connection had been closed by the upstream: try again.
    CachedClosed,
    /// A network error: the upstream may be broken.
    Network(String),
}

trait Stream: AsyncRead + AsyncWrite + Unpin + Send + Sync {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + Sync> Stream for T {}

struct Idle<T> {
    conn: T,
    created: Instant,
    used: Instant,
}

#[derive(Default)]
struct Pools {
    udp: VecDeque<Idle<UdpSocket>>,
    stream: VecDeque<Idle<Box<dyn Stream>>>,
}

/// TLS settings of a `tls://` upstream.
pub(super) struct TlsTarget {
    pub connector: tokio_rustls::TlsConnector,
    pub server_name: rustls::pki_types::ServerName<'static>,
}

/// One upstream.
pub(super) struct Proxy {
    pub addr: SocketAddr,
    /// As CoreDNS names it: `IP:port` or `tls://IP:port`.
    pub label: String,
    /// `IP:port`, the `forward/upstream` metadata value.
    pub upstream: Arc<str>,
    tls: Option<TlsTarget>,
    opts: Arc<Options>,
    fails: AtomicU32,
    probing: AtomicBool,
    pools: Mutex<Pools>,
    avg_dial_nanos: AtomicI64,
    pub metrics: ProxyMetrics,
}

impl std::fmt::Debug for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Proxy")
            .field("addr", &self.label)
            .field("fails", &self.fails())
            .finish()
    }
}

fn take<T>(q: &mut VecDeque<Idle<T>>, opts: &Options, now: Instant) -> Option<Idle<T>> {
    // Oldest first (FIFO), for source port diversity.
    while let Some(idle) = q.pop_front() {
        let stale = now.duration_since(idle.used) > opts.expire;
        let old = !opts.max_age.is_zero() && now.duration_since(idle.created) > opts.max_age;
        if !stale && !old {
            return Some(idle);
        }
    }
    None
}

fn expire<T>(q: &mut VecDeque<Idle<T>>, opts: &Options, now: Instant) {
    q.retain(|idle| {
        now.duration_since(idle.used) <= opts.expire
            && (opts.max_age.is_zero() || now.duration_since(idle.created) <= opts.max_age)
    });
}

fn timeout_error(what: &str, local: Option<SocketAddr>, remote: SocketAddr) -> String {
    match local {
        Some(l) => format!("{what} {l}->{remote}: i/o timeout"),
        None => format!("{what} {remote}: i/o timeout"),
    }
}

fn io_error(
    what: &str,
    op: &str,
    local: Option<SocketAddr>,
    remote: SocketAddr,
    e: &io::Error,
) -> String {
    let e = os_text(e);
    match local {
        Some(l) => format!("{what} {l}->{remote}: {op}: {e}"),
        None => format!("{what} {remote}: {op}: {e}"),
    }
}

/// An I/O error as Go prints it ("connection refused", without the errno).
fn os_text(e: &io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_ascii_lowercase(),
        None => s,
    }
}

/// Offset just past the question of a message (one question, first name
/// uncompressed), if it is well formed.
fn question_end(m: &[u8]) -> Option<usize> {
    let mut at = 12;
    loop {
        let len = usize::from(*m.get(at)?);
        if len & 0xc0 != 0 {
            return None;
        }
        at += 1 + len;
        if len == 0 {
            break;
        }
    }
    (at + 4 <= m.len()).then_some(at + 4)
}

/// Does `reply` answer `query`'s question (name case-insensitively, type,
/// class), as a response with exactly one question?
/// The header and question of `reply` with TC set and no records: what a
/// reply cut at the buffer's end can be trusted for.
fn cut_reply(reply: &[u8]) -> Vec<u8> {
    let end = question_end(reply).unwrap_or(12).min(reply.len());
    let mut out = reply[..end].to_vec();
    out[2] |= 0x02;
    out[6..12].fill(0);
    out
}

pub(super) fn question_matches(query: &[u8], reply: &[u8]) -> bool {
    let (Some(qe), Some(re)) = (question_end(query), question_end(reply)) else {
        return false;
    };
    reply.len() >= 12
        && reply[2] & 0x80 != 0
        && reply[4..6] == [0, 1]
        && qe == re
        && query[12..qe].eq_ignore_ascii_case(&reply[12..re])
}

impl Proxy {
    pub(super) fn new(addr: SocketAddr, tls: Option<TlsTarget>, opts: Arc<Options>) -> Self {
        let label = if tls.is_some() {
            format!("tls://{addr}")
        } else {
            addr.to_string()
        };
        Proxy {
            addr,
            upstream: addr.to_string().into(),
            label,
            tls,
            opts,
            fails: AtomicU32::new(0),
            probing: AtomicBool::new(false),
            pools: Mutex::new(Pools::default()),
            avg_dial_nanos: AtomicI64::new((MAX_DIAL_TIMEOUT / 2).as_nanos() as i64),
            metrics: ProxyMetrics::new(addr),
        }
    }

    /// Failed health checks since the last good one.
    pub(super) fn fails(&self) -> u32 {
        self.fails.load(Ordering::Relaxed)
    }

    /// Down: more failed health checks than `max_fails` (never with 0).
    pub(super) fn down(&self) -> bool {
        self.opts.max_fails != 0 && self.fails() > self.opts.max_fails
    }

    /// Is this a DNS-over-TLS upstream?
    pub(super) fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    fn local_any(&self) -> SocketAddr {
        match (self.opts.source, self.addr) {
            (Some(ip), _) => SocketAddr::new(ip, 0),
            (None, SocketAddr::V4(_)) => SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0),
            (None, SocketAddr::V6(_)) => SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), 0),
        }
    }

    fn dial_timeout(&self) -> Duration {
        let avg = Duration::from_nanos(self.avg_dial_nanos.load(Ordering::Relaxed).max(0) as u64);
        if avg < MIN_DIAL_TIMEOUT {
            MIN_DIAL_TIMEOUT
        } else if avg < MAX_DIAL_TIMEOUT / 2 {
            2 * avg
        } else {
            MAX_DIAL_TIMEOUT
        }
    }

    fn observe_dial(&self, took: Duration) {
        let avg = self.avg_dial_nanos.load(Ordering::Relaxed);
        let took = took.as_nanos().min(i64::MAX as u128) as i64;
        self.avg_dial_nanos
            .fetch_add((took - avg) / 4, Ordering::Relaxed);
    }

    async fn dial_udp(&self) -> Result<UdpSocket, String> {
        let sock = UdpSocket::bind(self.local_any())
            .await
            .map_err(|e| io_error("dial udp", "bind", None, self.addr, &e))?;
        sock.connect(self.addr)
            .await
            .map_err(|e| io_error("dial udp", "connect", None, self.addr, &e))?;
        Ok(sock)
    }

    async fn dial_stream(&self, limit: Duration) -> Result<Box<dyn Stream>, String> {
        let what = if self.tls.is_some() {
            "dial tcp-tls"
        } else {
            "dial tcp"
        };
        let sock = match self.addr {
            SocketAddr::V4(_) => TcpSocket::new_v4(),
            SocketAddr::V6(_) => TcpSocket::new_v6(),
        }
        .map_err(|e| io_error(what, "socket", None, self.addr, &e))?;
        if let Some(ip) = self.opts.source {
            sock.bind(SocketAddr::new(ip, 0))
                .map_err(|e| io_error(what, "bind", None, self.addr, &e))?;
        }
        let timeout = self.dial_timeout().min(limit);
        let started = Instant::now();
        let tcp = tokio::time::timeout(timeout, sock.connect(self.addr))
            .await
            .map_err(|_| timeout_error(what, None, self.addr))?
            .map_err(|e| io_error(what, "connect", None, self.addr, &e))?;
        self.observe_dial(started.elapsed());
        let _ = tcp.set_nodelay(true);
        match &self.tls {
            None => Ok(Box::new(tcp)),
            Some(t) => {
                let left = timeout
                    .saturating_sub(started.elapsed())
                    .max(MIN_DIAL_TIMEOUT);
                let tls =
                    tokio::time::timeout(left, t.connector.connect(t.server_name.clone(), tcp))
                        .await
                        .map_err(|_| timeout_error(what, None, self.addr))?
                        .map_err(|e| format!("{what} {}: tls: {e}", self.addr))?;
                Ok(Box::new(tls))
            }
        }
    }

    fn cap(&self) -> usize {
        match self.opts.max_idle {
            0 => IDLE_CAP,
            n => n.min(IDLE_CAP),
        }
    }

    fn yield_udp(&self, conn: UdpSocket, created: Instant) {
        if self.opts.shutdown.is_cancelled() {
            return;
        }
        let cap = self.cap();
        if let Ok(mut p) = self.pools.lock()
            && p.udp.len() < cap
        {
            p.udp.push_back(Idle {
                conn,
                created,
                used: Instant::now(),
            });
        }
    }

    fn yield_stream(&self, conn: Box<dyn Stream>, created: Instant) {
        if self.opts.shutdown.is_cancelled() {
            return;
        }
        let cap = self.cap();
        if let Ok(mut p) = self.pools.lock()
            && p.stream.len() < cap
        {
            p.stream.push_back(Idle {
                conn,
                created,
                used: Instant::now(),
            });
        }
    }

    /// Closes idle connections past `expire` or `max_age` (all of them
    /// with `all`).
    pub(super) fn cleanup(&self, all: bool) {
        let now = Instant::now();
        if let Ok(mut p) = self.pools.lock() {
            if all {
                p.udp.clear();
                p.stream.clear();
            } else {
                expire(&mut p.udp, &self.opts, now);
                expire(&mut p.stream, &self.opts, now);
            }
        }
    }

    /// Sends `query` (its ID already set) and returns the first reply with
    /// that ID and the query's question. On UDP a reply with the right ID
    /// but another question is skipped; if nothing better comes before the
    /// read timeout, it is returned (the caller answers FORMERR, as for a
    /// reply without a question).
    /// `limit` caps the time spent dialling; `room` is the largest UDP reply
    /// to expect (what the query advertises).
    pub(super) async fn exchange(
        &self,
        query: &[u8],
        net: Net,
        limit: Duration,
        room: usize,
    ) -> Result<Vec<u8>, ExchangeError> {
        if self.tls.is_none() && net == Net::Udp {
            self.exchange_udp(query, room).await
        } else {
            self.exchange_stream(query, limit).await
        }
    }

    async fn exchange_udp(&self, query: &[u8], room: usize) -> Result<Vec<u8>, ExchangeError> {
        let cached = self
            .pools
            .lock()
            .ok()
            .and_then(|mut p| take(&mut p.udp, &self.opts, Instant::now()));
        self.metrics.connection(cached.is_some(), ConnProto::Udp);
        let (sock, created, was_cached) = match cached {
            Some(idle) => (idle.conn, idle.created, true),
            None => (
                self.dial_udp().await.map_err(ExchangeError::Network)?,
                Instant::now(),
                false,
            ),
        };
        let local = sock.local_addr().ok();
        let id = [query[0], query[1]];
        match tokio::time::timeout(WRITE_TIMEOUT, sock.send(query)).await {
            Err(_) => {
                return Err(ExchangeError::Network(timeout_error(
                    "write udp",
                    local,
                    self.addr,
                )));
            }
            Ok(Err(e)) => {
                // A cached socket may hold an old ICMP error: try a fresh one.
                if was_cached {
                    return Err(ExchangeError::CachedClosed);
                }
                return Err(ExchangeError::Network(io_error(
                    "write udp",
                    "write",
                    local,
                    self.addr,
                    &e,
                )));
            }
            Ok(Ok(_)) => {}
        }
        // Room for the reply the query allows, not zeroed (recv_buf fills
        // spare capacity): sized per query, a flood of queries waiting
        // upstream holds kilobytes each rather than 64 KiB.
        let mut buf: Vec<u8> = Vec::with_capacity(room.clamp(MIN_UDP_ROOM, 65535));
        let deadline = tokio::time::Instant::now() + self.opts.read_timeout;
        let mut wrong_question: Option<Vec<u8>> = None;
        loop {
            buf.clear();
            let n = match tokio::time::timeout_at(deadline, sock.recv_buf(&mut buf)).await {
                Err(_) => {
                    return match wrong_question {
                        Some(reply) => Ok(reply),
                        None => Err(ExchangeError::Network(timeout_error(
                            "read udp", local, self.addr,
                        ))),
                    };
                }
                Ok(Err(e)) => {
                    return Err(ExchangeError::Network(io_error(
                        "read udp", "read", local, self.addr, &e,
                    )));
                }
                Ok(Ok(n)) => n,
            };
            let reply = &buf[..n];
            if n < 12 || reply[..2] != id {
                continue; // short, or an answer to an earlier query
            }
            if !question_matches(query, reply) {
                if reply[4..6] == [0, 1] {
                    // Another question: stale, or forged; the right answer may follow.
                    wrong_question.get_or_insert_with(|| reply.to_vec());
                    continue;
                }
                // No question at all (a bare error reply): no use waiting.
                let out = reply.to_vec();
                self.yield_udp(sock, created);
                return Ok(out);
            }
            // A full buffer may be a cut datagram (the upstream sent more than
            // the query allows): answer as truncated, so the client retries
            // over TCP, rather than pass on a broken message.
            let out = if n == buf.capacity() {
                cut_reply(reply)
            } else {
                reply.to_vec()
            };
            self.yield_udp(sock, created);
            return Ok(out);
        }
    }

    async fn exchange_stream(
        &self,
        query: &[u8],
        limit: Duration,
    ) -> Result<Vec<u8>, ExchangeError> {
        let what = if self.tls.is_some() { "tcp-tls" } else { "tcp" };
        let cached = self
            .pools
            .lock()
            .ok()
            .and_then(|mut p| take(&mut p.stream, &self.opts, Instant::now()));
        let proto = if self.tls.is_some() {
            ConnProto::Tls
        } else {
            ConnProto::Tcp
        };
        self.metrics.connection(cached.is_some(), proto);
        let (mut conn, created, was_cached) = match cached {
            Some(idle) => (idle.conn, idle.created, true),
            None => (
                self.dial_stream(limit)
                    .await
                    .map_err(ExchangeError::Network)?,
                Instant::now(),
                false,
            ),
        };
        let Ok(len) = u16::try_from(query.len()) else {
            return Err(ExchangeError::Network("query too large".into()));
        };
        let mut framed = Vec::with_capacity(query.len() + 2);
        framed.extend_from_slice(&len.to_be_bytes());
        framed.extend_from_slice(query);
        let write = async {
            conn.write_all(&framed).await?;
            conn.flush().await
        };
        match tokio::time::timeout(WRITE_TIMEOUT, write).await {
            Err(_) => {
                return Err(ExchangeError::Network(format!(
                    "write {what} ->{}: i/o timeout",
                    self.addr
                )));
            }
            Ok(Err(_)) if was_cached => return Err(ExchangeError::CachedClosed),
            Ok(Err(e)) => {
                return Err(ExchangeError::Network(io_error(
                    &format!("write {what}"),
                    "write",
                    None,
                    self.addr,
                    &e,
                )));
            }
            Ok(Ok(())) => {}
        }
        let id = [query[0], query[1]];
        let mut first = true;
        let read = async {
            loop {
                let mut len = [0u8; 2];
                if let Err(e) = conn.read_exact(&mut len).await {
                    let closed = first
                        && was_cached
                        && matches!(
                            e.kind(),
                            io::ErrorKind::UnexpectedEof
                                | io::ErrorKind::ConnectionReset
                                | io::ErrorKind::BrokenPipe
                        );
                    return Err((closed, e));
                }
                first = false;
                let mut buf = vec![0u8; usize::from(u16::from_be_bytes(len))];
                conn.read_exact(&mut buf).await.map_err(|e| (false, e))?;
                if buf.len() >= 12 && buf[..2] == id {
                    return Ok(buf);
                }
            }
        };
        match tokio::time::timeout(self.opts.read_timeout, read).await {
            Err(_) => Err(ExchangeError::Network(format!(
                "read {what} ->{}: i/o timeout",
                self.addr
            ))),
            Ok(Err((true, _))) => Err(ExchangeError::CachedClosed),
            Ok(Err((false, e))) => Err(ExchangeError::Network(io_error(
                &format!("read {what}"),
                "read",
                None,
                self.addr,
                &e,
            ))),
            Ok(Ok(reply)) => {
                self.yield_stream(conn, created);
                Ok(reply)
            }
        }
    }

    /// Starts probing this upstream in the background unless a probe runs
    /// already: every `health_check` interval until one succeeds.
    pub(super) fn healthcheck(self: &Arc<Self>) {
        if self.opts.max_fails == 0 || self.opts.shutdown.is_cancelled() {
            return;
        }
        if self.probing.swap(true, Ordering::AcqRel) {
            return;
        }
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            self.probing.store(false, Ordering::Release);
            return;
        };
        let weak: Weak<Self> = Arc::downgrade(self);
        let stop = self.opts.shutdown.clone();
        rt.spawn(async move {
            loop {
                let Some(p) = weak.upgrade() else { return };
                let checked = tokio::select! {
                    r = p.check() => r,
                    () = stop.cancelled() => return,
                };
                match checked {
                    Ok(()) => {
                        let before = p.fails.swap(0, Ordering::AcqRel);
                        if before > p.opts.max_fails {
                            tracing::info!(target: LOG, "upstream {} is healthy again", p.label);
                        }
                        p.probing.store(false, Ordering::Release);
                        return;
                    }
                    Err(e) => {
                        p.metrics.healthcheck_failed();
                        let now = p
                            .fails
                            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |f| f.checked_add(1))
                            .map_or(u32::MAX, |f| f + 1);
                        if now == p.opts.max_fails + 1 {
                            tracing::warn!(
                                target: LOG,
                                "upstream {} is down after {now} failed health checks: {e}",
                                p.label
                            );
                        } else {
                            tracing::debug!(target: LOG, "health check of {} failed: {e}", p.label);
                        }
                    }
                }
                let pause = p.opts.hc_interval.max(MIN_HEALTH_INTERVAL);
                drop(p);
                tokio::select! {
                    () = tokio::time::sleep(pause) => {}
                    () = stop.cancelled() => return,
                }
            }
        });
    }

    /// One health check on a new connection: any reply is healthy.
    async fn check(&self) -> Result<(), String> {
        let mut m = Message::new(rand::random(), MessageType::Query, OpCode::Query);
        m.metadata.recursion_desired = self.opts.hc_recursion_desired;
        m.queries
            .push(Query::query(self.opts.hc_domain.clone(), RecordType::NS));
        let query = m.to_vec().map_err(|e| e.to_string())?;
        let id = [query[0], query[1]];
        if self.tls.is_none() && !self.opts.hc_tcp {
            let sock = self.dial_udp().await?;
            tokio::time::timeout(HEALTH_TIMEOUT, sock.send(&query))
                .await
                .map_err(|_| format!("write udp ->{}: i/o timeout", self.addr))?
                .map_err(|e| io_error("write udp", "write", None, self.addr, &e))?;
            let mut buf: Vec<u8> = Vec::with_capacity(65535);
            let deadline = tokio::time::Instant::now() + HEALTH_TIMEOUT;
            loop {
                buf.clear();
                let n = tokio::time::timeout_at(deadline, sock.recv_buf(&mut buf))
                    .await
                    .map_err(|_| timeout_error("read udp", sock.local_addr().ok(), self.addr))?
                    .map_err(|e| {
                        io_error("read udp", "read", sock.local_addr().ok(), self.addr, &e)
                    })?;
                if n >= 12 && buf[..2] == id {
                    return Ok(());
                }
            }
        }
        let mut conn = self.dial_stream(HEALTH_TIMEOUT).await?;
        let mut framed = (query.len() as u16).to_be_bytes().to_vec();
        framed.extend_from_slice(&query);
        let work = async {
            conn.write_all(&framed).await?;
            conn.flush().await?;
            loop {
                let mut len = [0u8; 2];
                conn.read_exact(&mut len).await?;
                let mut buf = vec![0u8; usize::from(u16::from_be_bytes(len))];
                conn.read_exact(&mut buf).await?;
                if buf.len() >= 12 && buf[..2] == id {
                    return Ok::<(), io::Error>(());
                }
            }
        };
        tokio::time::timeout(2 * HEALTH_TIMEOUT, work)
            .await
            .map_err(|_| format!("read tcp ->{}: i/o timeout", self.addr))?
            .map_err(|e| io_error("read tcp", "read", None, self.addr, &e))
    }
}
