//! UDP: one SO_REUSEPORT socket per core, each with its own receive loop
//! (recvmmsg batches via quinn-udp). A query whose chain completes without
//! waiting is answered from the loop itself; only a query that has to wait
//! (for an upstream, say) becomes a task, and those are bounded.

use super::respond::{self, Prepared};
use super::sys::Outgoing;
use crate::plugin::Proto;
use crate::site::{CompiledBlocks, ListenAddr};
use crate::wire::WireQuery;
use arc_swap::ArcSwap;
use quinn_udp::{RecvMeta, Transmit, UdpSocketState};
use std::future::Future;
use std::io::{self, IoSliceMut};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Waker};
use tokio::io::Interest;
use tokio::net::UdpSocket;
use tokio::sync::Semaphore;
use tokio_util::task::TaskTracker;

/// Datagrams taken per receive call.
const BATCH: usize = 32;
/// Largest query accepted over UDP; larger datagrams arrive truncated and get FORMERR.
const MAX_QUERY: usize = 4096;
/// Queries per socket allowed to wait at once; beyond this new waiting queries are dropped.
const MAX_WAITING: usize = 1024;

/// One bound socket and its kernel-feature state.
pub(crate) struct UdpShared {
    socket: UdpSocket,
    state: UdpSocketState,
}

/// Binds `count` sockets to `addr` with SO_REUSEPORT (the first one may use
/// port 0; the rest join the port it got).
pub(crate) fn bind(addr: SocketAddr, count: usize) -> io::Result<Vec<Arc<UdpShared>>> {
    let mut out = Vec::with_capacity(count);
    let mut at = addr;
    for _ in 0..count.max(1) {
        let s = super::sys::udp_socket(at)?;
        let socket = UdpSocket::from_std(s.into())?;
        let state = UdpSocketState::new((&socket).into())?;
        super::sys::disable_gro(&socket);
        at = socket.local_addr()?;
        out.push(Arc::new(UdpShared { socket, state }));
    }
    Ok(out)
}

impl UdpShared {
    pub(crate) fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket.local_addr()
    }

    /// Sends a batch of replies, as many per system call as the kernel takes.
    async fn send_batch(&self, bytes: &[u8], batch: &[Outgoing]) {
        let v6 = self.local_addr().is_ok_and(|a| a.is_ipv6());
        let mut done = 0;
        while done < batch.len() {
            match self.socket.try_io(Interest::WRITABLE, || {
                super::sys::send_batch(&self.socket, v6, bytes, &batch[done..])
            }) {
                Ok(0) => break,
                Ok(sent) => done += sent,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if self.socket.writable().await.is_err() {
                        return;
                    }
                }
                Err(e) => {
                    // The first message failed (an unreachable client, say): skip it.
                    tracing::debug!("udp send to {}: {e}", batch[done].to);
                    done += 1;
                }
            }
        }
        // Where sendmmsg is missing, one at a time.
        for out in &batch[done..] {
            self.send(out.to, out.from, &bytes[out.range.0..out.range.1])
                .await;
        }
    }

    async fn send(&self, to: SocketAddr, from: Option<std::net::IpAddr>, bytes: &[u8]) {
        let t = Transmit {
            destination: to,
            ecn: None,
            contents: bytes,
            segment_size: None,
            src_ip: from,
        };
        for _ in 0..3 {
            match self.socket.try_io(Interest::WRITABLE, || {
                self.state.try_send((&self.socket).into(), &t)
            }) {
                Ok(()) => return,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if self.socket.writable().await.is_err() {
                        return;
                    }
                }
                Err(e) => {
                    tracing::debug!("udp send to {to}: {e}");
                    return;
                }
            }
        }
    }
}

/// Serves one socket until the task is aborted.
pub(crate) async fn serve<C: CompiledBlocks>(
    sock: Arc<UdpShared>,
    site: Arc<ArcSwap<crate::site::Site<C>>>,
    at: ListenAddr,
    name: Arc<str>,
    in_flight: TaskTracker,
) {
    let local = sock
        .local_addr()
        .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
    let waiting = Arc::new(Semaphore::new(MAX_WAITING));
    let mut storage = vec![0u8; BATCH * MAX_QUERY];
    let mut metas = [RecvMeta::default(); BATCH];
    let mut reply = Vec::with_capacity(usize::from(crate::wire::UDP_PAYLOAD_CAP));
    // Fast-lane replies of one receive batch, sent together with sendmmsg.
    let mut batch_bytes: Vec<u8> = Vec::with_capacity(BATCH * 512);
    let mut batch: Vec<Outgoing> = Vec::with_capacity(BATCH);
    // A socket bound to one address needs no source address per reply.
    let wildcard = local.ip().is_unspecified();
    loop {
        let received = {
            let mut bufs: Vec<IoSliceMut<'_>> =
                storage.chunks_mut(MAX_QUERY).map(IoSliceMut::new).collect();
            if sock.socket.readable().await.is_err() {
                return;
            }
            match sock.socket.try_io(Interest::READABLE, || {
                sock.state
                    .recv((&sock.socket).into(), &mut bufs, &mut metas)
            }) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => {
                    tracing::debug!("udp receive on {local}: {e}");
                    continue;
                }
            }
        };
        let current = site.load_full();
        let listener = current.listeners.get(&at);
        for (i, meta) in metas.iter().enumerate().take(received) {
            let data = &storage[i * MAX_QUERY..i * MAX_QUERY + meta.len.min(MAX_QUERY)];
            let stride = if meta.stride == 0 {
                data.len().max(1)
            } else {
                meta.stride
            };
            for packet in data.chunks(stride) {
                let from_ip = meta.dst_ip;
                let local_addr = from_ip.map_or(local, |ip| SocketAddr::new(ip, local.port()));
                if let Some(l) = listener
                    && let Some(q) = WireQuery::parse(packet, Proto::Udp, meta.addr, local_addr)
                        .map(|q| q.at_server(&name))
                    && respond::fast(&current, l, &q, &mut reply)
                {
                    let start = batch_bytes.len();
                    batch_bytes.extend_from_slice(&reply);
                    batch.push(Outgoing {
                        to: meta.addr,
                        from: from_ip.filter(|_| wildcard),
                        range: (start, batch_bytes.len()),
                    });
                    continue;
                }
                match respond::prepare(packet, meta.addr, local_addr, Proto::Udp, &name) {
                    Prepared::Drop => {}
                    Prepared::Reply(bytes) => sock.send(meta.addr, from_ip, &bytes).await,
                    Prepared::Query(req) => {
                        let site = current.clone();
                        let peer = meta.addr;
                        let s = sock.clone();
                        let fut: Pin<Box<dyn Future<Output = ()> + Send>> = Box::pin(async move {
                            // A transfer (several messages) is TCP-only; over UDP
                            // only a first message could ever be sent.
                            if let Some(bytes) = respond::handle(&site, at, *req).await.first() {
                                s.send(peer, from_ip, bytes).await;
                            }
                        });
                        run_or_spawn(fut, &waiting, &in_flight);
                    }
                }
            }
        }
        sock.send_batch(&batch_bytes, &batch).await;
        batch.clear();
        batch_bytes.clear();
    }
}

/// Polls the query once; most complete at once (cache hits, local data).
/// Only a query that must wait is spawned, holding a permit so waiting
/// work per socket stays bounded.
fn run_or_spawn(
    mut fut: Pin<Box<dyn Future<Output = ()> + Send>>,
    waiting: &Arc<Semaphore>,
    in_flight: &TaskTracker,
) {
    let mut cx = Context::from_waker(Waker::noop());
    if fut.as_mut().poll(&mut cx).is_ready() {
        return;
    }
    match waiting.clone().try_acquire_owned() {
        Ok(permit) => {
            // Tracked, so shutdown can let it finish.
            in_flight.spawn(async move {
                fut.await;
                drop(permit);
            });
        }
        Err(_) => tracing::debug!("udp: too many queries waiting; dropping one"),
    }
}
