//! TCP: length-framed queries, several in flight per connection (answers
//! may leave out of order, RFC 7766), idle and read timeouts, and a cap on
//! connections.

use super::respond::{self, Prepared, Wire};
use crate::plugin::Proto;
use crate::site::{CompiledBlocks, ListenAddr, Site};
use crate::wire::WireQuery;
use arc_swap::ArcSwap;
use futures_util::stream::{FuturesUnordered, StreamExt};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::OwnedReadHalf;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Limits for TCP clients (CoreDNS's defaults where it has one).
#[derive(Debug, Clone, Copy)]
pub struct TcpLimits {
    /// Time allowed between queries on an open connection.
    pub idle: Duration,
    /// Time allowed to receive the rest of a query once it has started.
    pub read: Duration,
    /// Time allowed to write a reply.
    pub write: Duration,
    /// Open connections per listener; more are closed at once.
    pub max_connections: usize,
    /// Queries handled at once per connection.
    pub max_in_flight: usize,
    /// Queries served on one connection before it is closed; `None` for no limit.
    pub max_queries: Option<u64>,
}

impl TcpLimits {
    /// These limits with the values a Corefile sets for the listener (`timeouts`).
    pub fn with(mut self, set: &crate::site::ConnLimits) -> TcpLimits {
        self.read = set.read.unwrap_or(self.read);
        self.write = set.write.unwrap_or(self.write);
        self.idle = set.idle.unwrap_or(self.idle);
        self.max_queries = set.max_queries.unwrap_or(self.max_queries);
        self
    }
}

impl Default for TcpLimits {
    fn default() -> Self {
        TcpLimits {
            idle: Duration::from_secs(10),
            read: Duration::from_secs(3),
            write: Duration::from_secs(5),
            max_connections: 1024,
            max_in_flight: 16,
            max_queries: None,
        }
    }
}

/// Accepts connections until the task is aborted. Connections are
/// tracked by `in_flight`; once `stopping` fires they read no new query,
/// answer the ones they have, and close.
pub(crate) async fn serve<C: CompiledBlocks>(
    listener: TcpListener,
    site: Arc<ArcSwap<Site<C>>>,
    at: ListenAddr,
    name: Arc<str>,
    limits: TcpLimits,
    in_flight: TaskTracker,
    stopping: CancellationToken,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    loop {
        let Ok((stream, peer)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            drop(stream); // over the limit: close rather than queue
            continue;
        };
        // The current configuration's limits, so a reload applies to new connections.
        let limits = site
            .load()
            .listeners
            .get(&at)
            .map_or(limits, |l| limits.with(&l.conn_limits));
        let site = site.clone();
        let name = name.clone();
        let stopping = stopping.clone();
        in_flight.spawn(async move {
            connection(stream, peer, site, at, name, limits, stopping).await;
            drop(permit);
        });
    }
}

async fn connection<C: CompiledBlocks>(
    stream: TcpStream,
    peer: SocketAddr,
    site: Arc<ArcSwap<Site<C>>>,
    at: ListenAddr,
    name: Arc<str>,
    limits: TcpLimits,
    stopping: CancellationToken,
) {
    let local = stream.local_addr().unwrap_or(peer);
    let (rd, mut wr) = stream.into_split();
    let mut in_flight = FuturesUnordered::new();
    // The read survives loop turns (a half-read frame must not be lost when
    // an answer is written in between), so it owns the read half.
    let mut reading = Some(Box::pin(read_frame(rd, limits)));
    let mut reply = Vec::new();
    let mut queries: u64 = 0;
    loop {
        let can_read = reading.is_some() && in_flight.len() < limits.max_in_flight;
        tokio::select! {
            _ = stopping.cancelled(), if reading.is_some() => {
                reading = None;
                if in_flight.is_empty() { return; }
            }
            (rd, frame) = async { reading.as_mut().expect("checked").await }, if can_read => {
                let Some(frame) = frame else {
                    reading = None;
                    if in_flight.is_empty() { return; }
                    continue;
                };
                queries += 1;
                // The last query a connection may send: stop reading, close
                // once it is answered.
                reading = if limits.max_queries.is_some_and(|max| queries >= max) {
                    None
                } else {
                    Some(Box::pin(read_frame(rd, limits)))
                };
                let done = reading.is_none();
                let current = site.load();
                if let Some(l) = current.listeners.get(&at)
                    && let Some(q) = WireQuery::parse(&frame, Proto::Tcp, peer, local)
                        .map(|q| q.at_server(&name))
                    && respond::fast(&current, l, &q, &mut reply)
                {
                    drop(current);
                    if !write_frame(&mut wr, &reply, limits).await || (done && in_flight.is_empty()) { return; }
                    continue;
                }
                drop(current);
                match respond::prepare(&frame, peer, local, Proto::Tcp, &name) {
                    Prepared::Drop => if done && in_flight.is_empty() { return; },
                    Prepared::Reply(bytes) => {
                        if !write_frame(&mut wr, &bytes, limits).await || (done && in_flight.is_empty()) { return; }
                    }
                    Prepared::Query(req) => {
                        let site = site.load_full();
                        in_flight.push(async move { respond::handle(&site, at, *req).await });
                    }
                }
            }
            Some(reply) = in_flight.next(), if !in_flight.is_empty() => {
                let ok = match reply {
                    Wire::Nothing => true,
                    Wire::One(bytes) => write_frame(&mut wr, &bytes, limits).await,
                    Wire::Many(all) => {
                        let mut ok = true;
                        for bytes in all {
                            ok = ok && write_frame(&mut wr, &bytes, limits).await;
                        }
                        ok
                    }
                };
                if !ok {
                    return;
                }
                if reading.is_none() && in_flight.is_empty() { return; }
            }
        }
    }
}

/// Reads one length-prefixed message; `None` on EOF, timeout or error.
async fn read_frame(mut rd: OwnedReadHalf, limits: TcpLimits) -> (OwnedReadHalf, Option<Vec<u8>>) {
    let mut len = [0u8; 2];
    if !matches!(
        tokio::time::timeout(limits.idle, rd.read_exact(&mut len)).await,
        Ok(Ok(_))
    ) {
        return (rd, None);
    }
    let mut buf = vec![0u8; usize::from(u16::from_be_bytes(len))];
    if !matches!(
        tokio::time::timeout(limits.read, rd.read_exact(&mut buf)).await,
        Ok(Ok(_))
    ) {
        return (rd, None);
    }
    (rd, Some(buf))
}

async fn write_frame(
    wr: &mut tokio::net::tcp::OwnedWriteHalf,
    bytes: &[u8],
    limits: TcpLimits,
) -> bool {
    let Ok(len) = u16::try_from(bytes.len()) else {
        return false;
    };
    let mut framed = Vec::with_capacity(bytes.len() + 2);
    framed.extend_from_slice(&len.to_be_bytes());
    framed.extend_from_slice(bytes);
    matches!(
        tokio::time::timeout(limits.write, wr.write_all(&framed)).await,
        Ok(Ok(()))
    )
}
