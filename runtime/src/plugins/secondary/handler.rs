use super::setup::SecondaryConfig;
use crate::dns::{
    Message, MessageType, Name, OpCode, Query, RData, Record, RecordType, ResponseCode,
};
use crate::plugin::{Answer, Handler, Outcome, Plugin, Request, Setup};
use crate::plugins::file::zone::Zone;
use crate::plugins::file::{Slot, offer_for_transfer, serve_zones, serve_zones_wire};
use crate::site::BuildEnv;
use crate::upstream::Upstream;
use crate::wire::WireQuery;
use arc_swap::ArcSwapOption;
use corec_compiler::Diagnostic;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::Notify;

/// The secondary plugin.
#[derive(Debug)]
pub struct Secondary {
    slots: Vec<Slot>,
    /// Per slot: who may NOTIFY it, and how to wake its refresher.
    notify: Vec<(Vec<SocketAddr>, Arc<Notify>)>,
    upstream: Upstream,
}

impl Plugin for Secondary {
    const NAME: &'static str = "secondary";

    async fn serve<'a, N: Handler>(&'a self, req: &'a mut Request, next: &'a N) -> Outcome {
        if req.message.metadata.op_code == OpCode::Notify {
            let name = req.name();
            if let Some(i) = self.slots.iter().position(|s| *s.origin == *name) {
                let (primaries, wake) = &self.notify[i];
                if !primaries.iter().any(|p| p.ip() == req.client.ip()) {
                    return Ok(Answer::Rcode(ResponseCode::Refused));
                }
                wake.notify_one();
                let mut m = req.reply();
                m.metadata.authoritative = true;
                return Ok(Answer::reply(Self::NAME, m));
            }
            return next.handle(req).await;
        }
        serve_zones(Self::NAME, &self.slots, &self.upstream, req, next).await
    }

    /// NOTIFY is not a QUERY, so only queries arrive here.
    fn serve_wire<N: Handler>(&self, q: &WireQuery<'_>, out: &mut Vec<u8>, next: &N) -> bool {
        serve_zones_wire(&self.slots, q, out, next)
    }
}

fn soa_timers(zone: &Zone) -> (u32, Duration, Duration, Duration) {
    match &zone.soa().data {
        RData::SOA(s) => (
            s.serial,
            Duration::from_secs(u64::from(s.refresh.max(1) as u32)),
            Duration::from_secs(u64::from(s.retry.max(1) as u32)),
            Duration::from_secs(u64::from(s.expire.max(1) as u32)),
        ),
        _ => (
            0,
            Duration::from_secs(3600),
            Duration::from_secs(600),
            Duration::from_secs(604_800),
        ),
    }
}

/// Is `a` newer than `b` in serial number arithmetic (RFC 1982)?
fn newer(a: u32, b: u32) -> bool {
    a != b && a.wrapping_sub(b) < 1 << 31
}

fn query(zone: &Name, qtype: RecordType) -> Message {
    let mut m = Message::new(rand::random(), MessageType::Query, OpCode::Query);
    m.queries.push(Query::query(zone.clone(), qtype));
    m
}

async fn read_frame(s: &mut tokio::net::TcpStream) -> Result<Vec<u8>, String> {
    let mut len = [0u8; 2];
    s.read_exact(&mut len).await.map_err(|e| e.to_string())?;
    let mut buf = vec![0u8; usize::from(u16::from_be_bytes(len))];
    s.read_exact(&mut buf).await.map_err(|e| e.to_string())?;
    Ok(buf)
}

async fn exchange_tcp(
    primary: SocketAddr,
    q: &Message,
    mut done: impl FnMut(&Message) -> bool,
) -> Result<Vec<Message>, String> {
    let work = async {
        let mut s = tokio::net::TcpStream::connect(primary)
            .await
            .map_err(|e| e.to_string())?;
        let bytes = q.to_vec().map_err(|e| e.to_string())?;
        let mut framed = (bytes.len() as u16).to_be_bytes().to_vec();
        framed.extend_from_slice(&bytes);
        s.write_all(&framed).await.map_err(|e| e.to_string())?;
        let mut out = Vec::new();
        loop {
            let m = Message::from_vec(&read_frame(&mut s).await?).map_err(|e| e.to_string())?;
            if m.metadata.id != q.metadata.id {
                return Err("reply with the wrong ID".into());
            }
            if m.metadata.response_code != ResponseCode::NoError {
                return Err(format!("primary answered {}", m.metadata.response_code));
            }
            let finished = done(&m);
            out.push(m);
            if finished {
                return Ok(out);
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(30), work)
        .await
        .map_err(|_| "timed out".to_string())?
}

/// The primary's current serial.
async fn serial_of(primary: SocketAddr, zone: &Name) -> Result<u32, String> {
    let replies = exchange_tcp(primary, &query(zone, RecordType::SOA), |_| true).await?;
    replies
        .iter()
        .flat_map(|m| m.answers.iter())
        .find_map(|r| match &r.data {
            RData::SOA(s) => Some(s.serial),
            _ => None,
        })
        .ok_or_else(|| "no SOA in the answer".to_string())
}

/// A full transfer: every record between the opening and the closing SOA.
async fn axfr(primary: SocketAddr, zone: &Name) -> Result<Zone, String> {
    let mut soas = 0;
    let replies = exchange_tcp(primary, &query(zone, RecordType::AXFR), |m| {
        soas += m
            .answers
            .iter()
            .filter(|r| r.record_type() == RecordType::SOA)
            .count();
        soas >= 2
    })
    .await?;
    let mut records: Vec<Record> = replies.into_iter().flat_map(|m| m.answers).collect();
    if records.first().map(Record::record_type) != Some(RecordType::SOA) {
        return Err("the transfer does not start with the SOA".into());
    }
    records.pop(); // the closing SOA
    Zone::from_records(records, zone, &|owner, message| {
        crate::plugins::file::zone::ZoneError {
            file: std::path::PathBuf::from(format!("AXFR from {primary}")),
            line: 0,
            message: format!("{message} (at {})", Name::from(owner.clone())),
        }
    })
    .map_err(|e| e.message)
}

/// Keeps one zone current: the first transfer (retried, 1 s doubling to
/// 10 s), then a serial check every SOA refresh (or at once on NOTIFY),
/// a transfer when the primary's serial is newer, SOA retry after a failure,
/// and the zone dropped (SERVFAIL) once SOA expire has passed without a
/// successful check.
async fn keep_current(
    origin: Name,
    primaries: Vec<SocketAddr>,
    zone: Arc<ArcSwapOption<Zone>>,
    wake: Arc<Notify>,
    listeners: crate::site::ZoneListeners,
    stop: tokio_util::sync::CancellationToken,
) {
    let mut backoff = Duration::from_secs(1);
    let mut last_ok: Option<Instant> = None;
    loop {
        let current = zone.load_full();
        let mut result = Err("no primary answered".to_string());
        for &p in &primaries {
            result = async {
                if let Some(z) = &current {
                    let theirs = serial_of(p, &origin).await?;
                    if !newer(theirs, z.serial) {
                        return Ok(None);
                    }
                }
                axfr(p, &origin).await.map(Some)
            }
            .await;
            match &result {
                Ok(_) => break,
                Err(e) => {
                    tracing::warn!(target: "plugin/secondary", "transfer of \"{origin}\" from {p} failed: {e}")
                }
            }
        }
        let wait = match result {
            Ok(new) => {
                last_ok = Some(Instant::now());
                if let Some(new) = new {
                    tracing::info!(target: "plugin/secondary", "Transferred: {origin} with serial {}", new.serial);
                    zone.store(Some(Arc::new(new)));
                    listeners.changed(&origin.to_ascii().to_ascii_lowercase());
                }
                zone.load().as_ref().map_or(backoff, |z| soa_timers(z).1)
            }
            Err(_) => match zone.load_full() {
                None => {
                    tracing::error!(target: "plugin/secondary", "All '{origin}' masters failed to transfer, retrying in {backoff:?}");
                    let w = backoff;
                    backoff = (backoff * 2).min(Duration::from_secs(10));
                    w
                }
                Some(z) => {
                    let (_, _, retry, expire) = soa_timers(&z);
                    if last_ok.is_some_and(|t| t.elapsed() > expire) {
                        tracing::error!(target: "plugin/secondary", "zone \"{origin}\" expired; answering SERVFAIL until a transfer succeeds");
                        zone.store(None);
                    }
                    retry
                }
            },
        };
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(wait) => {}
            _ = wake.notified() => {}
        }
    }
}

impl Setup for Secondary {
    type Config = SecondaryConfig;

    fn build(cfg: SecondaryConfig, env: &mut BuildEnv<'_>) -> Result<Self, Diagnostic> {
        let mut slots = Vec::new();
        let mut notify = Vec::new();
        for stanza in cfg.stanzas {
            for origin_text in &stanza.zones {
                let origin = Name::from_ascii(origin_text).map_err(|e| {
                    Diagnostic::error(
                        format!("plugin/secondary: invalid zone {origin_text}: {e}"),
                        None,
                    )
                })?;
                let zone = Arc::new(ArcSwapOption::empty());
                let wake = Arc::new(Notify::new());
                if tokio::runtime::Handle::try_current().is_ok() {
                    tokio::spawn(keep_current(
                        origin,
                        stanza.primaries.clone(),
                        zone.clone(),
                        wake.clone(),
                        env.config.zone_listeners.clone(),
                        env.shutdown(),
                    ));
                }
                let lower = origin_text.to_ascii_lowercase();
                offer_for_transfer(env, Self::NAME, &lower, &zone);
                slots.push(Slot::new(lower, zone, stanza.fallthrough.clone()));
                notify.push((stanza.primaries.clone(), wake));
            }
        }
        // Longest origin first, keeping each slot's NOTIFY entry beside it.
        let mut both: Vec<_> = slots.into_iter().zip(notify).collect();
        both.sort_by_key(|(s, _)| std::cmp::Reverse(s.origin.len()));
        let (slots, notify): (Vec<Slot>, _) = both.into_iter().unzip();
        // Ready (for *ready*) once every zone has been transferred in.
        let zones: Vec<_> = slots.iter().map(|s| s.zone.clone()).collect();
        env.readiness(Self::NAME, move || zones.iter().all(|z| z.load().is_some()));
        Ok(Secondary {
            slots,
            notify,
            upstream: env.upstream(),
        })
    }
}
