use super::setup::LoopConfig;
use crate::dns::{Message, MessageType, Name, OpCode, Query, RecordType, ResponseCode};
use crate::plugin::{Answer, Handler, Outcome, Plugin, Request, Setup};
use crate::site::BuildEnv;
use crate::upstream::Upstream;
use crate::wire::WireQuery;
use corec_compiler::Diagnostic;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

const LOG: &str = "plugin/loop";

/// How long the probe keeps trying to reach the server after startup.
const PROBE_FOR: Duration = Duration::from_secs(30);
/// How long one probe waits for its answer.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);
/// Pause after a probe that got no answer.
const PROBE_PAUSE: Duration = Duration::from_secs(1);

type Action = Arc<dyn Fn(&str) + Send + Sync>;

static ON_LOOP: RwLock<Option<Action>> = RwLock::new(None);

/// Replaces what happens when a loop is detected. By default the message
/// is printed as `[FATAL] plugin/loop: ...` and the process exits with
/// status 1, as CoreDNS does; with an action set, the action gets the
/// message instead, the probe query is answered SERVFAIL (ending the loop)
/// and the process goes on. For embedding and tests.
pub fn on_loop_detected(action: impl Fn(&str) + Send + Sync + 'static) {
    if let Ok(mut a) = ON_LOOP.write() {
        *a = Some(Arc::new(action));
    }
}

/// The loop plugin.
#[derive(Debug)]
pub struct Loop {
    state: Arc<State>,
}

#[derive(Debug)]
struct State {
    /// The zone probed (the block's first).
    zone: String,
    /// The probe's name, lowercase.
    qname: String,
    /// Times the probe came through.
    seen: AtomicU32,
    /// Probing is over: the plugin passes everything on.
    off: AtomicBool,
    /// Where the probe is sent, as printed.
    addr: String,
}

/// Is `name` at or below `zone` (lowercased FQDNs)?
fn in_zone(name: &str, zone: &str) -> bool {
    zone == "."
        || name == zone
        || (name.len() > zone.len()
            && name.ends_with(zone)
            && name.as_bytes()[name.len() - zone.len() - 1] == b'.')
}

impl Plugin for Loop {
    const NAME: &'static str = "loop";

    async fn serve<'a, N: Handler>(&'a self, req: &'a mut Request, next: &'a N) -> Outcome {
        let s = &self.state;
        if req.qtype() != RecordType::HINFO || s.off.load(Ordering::Acquire) {
            return next.handle(req).await;
        }
        let name = req.name();
        if !in_zone(&name, &s.zone) {
            return next.handle(req).await;
        }
        let seen = if *name == *s.qname {
            s.seen.fetch_add(1, Ordering::AcqRel) + 1
        } else {
            s.seen.load(Ordering::Acquire)
        };
        if seen > 2 {
            let message = format!(
                "Loop ({} -> {}) detected for zone {:?}, see https://coredns.io/plugins/loop#troubleshooting. Query: \"HINFO {}\"",
                req.client, s.addr, s.zone, s.qname
            );
            let action = ON_LOOP.read().ok().and_then(|a| a.clone());
            match action {
                Some(action) => {
                    s.off.store(true, Ordering::Release);
                    tracing::error!(target: LOG, "{message}");
                    action(&message);
                    return Ok(Answer::Rcode(ResponseCode::ServFail));
                }
                None => {
                    use std::io::Write;
                    let mut out = std::io::stdout().lock();
                    let _ = writeln!(out, "[FATAL] plugin/loop: {message}");
                    let _ = out.flush();
                    std::process::exit(1);
                }
            }
        }
        next.handle(req).await
    }

    fn serve_wire<N: Handler>(&self, q: &WireQuery<'_>, out: &mut Vec<u8>, next: &N) -> bool {
        if q.qtype != u16::from(RecordType::HINFO) || self.state.off.load(Ordering::Acquire) {
            return next.handle_wire(q, out);
        }
        false
    }
}

/// `<random>.<random>.<zone>`, each random a number below 2^62.
fn probe_name(zone: &str) -> String {
    let a = rand::random::<u64>() >> 2;
    let b = rand::random::<u64>() >> 2;
    if zone == "." {
        format!("{a}.{b}.")
    } else {
        format!("{a}.{b}.{zone}")
    }
}

/// Sends the probe once and waits for any answer.
async fn exchange(to: SocketAddr, qname: &str) -> Result<(), String> {
    let name = Name::from_ascii(qname).map_err(|e| e.to_string())?;
    let mut m = Message::new(rand::random(), MessageType::Query, OpCode::Query);
    m.metadata.recursion_desired = true;
    m.queries.push(Query::query(name, RecordType::HINFO));
    let bytes = m.to_vec().map_err(|e| e.to_string())?;
    let local: SocketAddr = if to.is_ipv4() {
        (Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let sock = tokio::net::UdpSocket::bind(local)
        .await
        .map_err(|e| e.to_string())?;
    sock.connect(to).await.map_err(|e| e.to_string())?;
    sock.send(&bytes).await.map_err(|e| e.to_string())?;
    let mut buf = vec![0u8; 65535];
    let deadline = tokio::time::Instant::now() + PROBE_TIMEOUT;
    loop {
        let n = tokio::time::timeout_at(deadline, sock.recv(&mut buf))
            .await
            .map_err(|_| "i/o timeout".to_string())?
            .map_err(|e| e.to_string())?;
        if n >= 12 && buf[..2] == bytes[..2] {
            return Ok(());
        }
    }
}

async fn probe(
    state: Arc<State>,
    to: SocketAddr,
    upstream: Upstream,
    stop: tokio_util::sync::CancellationToken,
) {
    let deadline = tokio::time::Instant::now() + PROBE_FOR;
    let work = async {
        // The probe must reach this site, not one it replaces.
        while !upstream.is_bound() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        loop {
            match exchange(to, &state.qname).await {
                Ok(()) => return,
                Err(e) => {
                    tracing::debug!(target: LOG, "probe to {to} failed: {e}");
                    state.seen.store(0, Ordering::Release);
                    tokio::time::sleep(PROBE_PAUSE).await;
                }
            }
        }
    };
    tokio::select! {
        () = work => {}
        () = tokio::time::sleep_until(deadline) => {}
        () = stop.cancelled() => {}
    }
    state.off.store(true, Ordering::Release);
}

impl Setup for Loop {
    type Config = LoopConfig;

    fn build(_: LoopConfig, env: &mut BuildEnv<'_>) -> Result<Self, Diagnostic> {
        let zone = env.zones.first().cloned().unwrap_or_else(|| ".".into());
        let port: u16 = env
            .block
            .addrs
            .first()
            .and_then(|a| a.port.parse().ok())
            .unwrap_or(0);
        let host = env.config.listen_hosts.first().copied();
        let addr = match host {
            Some(IpAddr::V6(v6)) => format!("[{v6}]:{port}"),
            Some(ip) => format!("{ip}:{port}"),
            None => format!(":{port}"),
        };
        let to = match host {
            Some(ip) if ip.is_unspecified() && ip.is_ipv6() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            Some(ip) if !ip.is_unspecified() => ip,
            _ => IpAddr::V4(Ipv4Addr::LOCALHOST),
        };
        let state = Arc::new(State {
            qname: probe_name(&zone),
            zone,
            seen: AtomicU32::new(0),
            off: AtomicBool::new(false),
            addr,
        });
        #[cfg(test)]
        if let Ok(mut last) = LAST_PROBE.lock() {
            last.clone_from(&state.qname);
        }
        if port == 0 {
            // Nothing can forward to a port the kernel picks at startup.
            tracing::debug!(target: LOG, "listening on port 0: no loop probe");
            state.off.store(true, Ordering::Release);
        } else {
            match tokio::runtime::Handle::try_current() {
                Ok(rt) => {
                    rt.spawn(probe(
                        state.clone(),
                        SocketAddr::new(to, port),
                        env.upstream(),
                        env.shutdown(),
                    ));
                }
                Err(_) => state.off.store(true, Ordering::Release),
            }
        }
        Ok(Loop { state })
    }
}

/// The probe name of the most recently built plugin.
#[cfg(test)]
pub(super) static LAST_PROBE: std::sync::Mutex<String> = std::sync::Mutex::new(String::new());
