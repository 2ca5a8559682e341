use super::setup::{Peer, Stanza, TransferConfig};
use crate::dns::{Message, RData, Record, RecordType, ResponseCode};
use crate::plugin::{Answer, Handler, Outcome, Plugin, Proto, Request, Setup};
use crate::plugins::file::in_zone;
use crate::site::{BuildEnv, ZoneSources};
use crate::wire::WireQuery;
use corec_compiler::Diagnostic;
use hickory_proto::serialize::binary::BinEncodable;

/// Payload per message, below the 64 KiB TCP limit with room for the header and question.
const ENVELOPE: usize = 63_000;

/// The transfer plugin.
#[derive(Debug)]
pub struct Transfer {
    stanzas: Vec<Stanza>,
    sources: ZoneSources,
}

fn serial(r: &Record) -> Option<u32> {
    match &r.data {
        RData::SOA(s) => Some(s.serial),
        _ => None,
    }
}

impl Transfer {
    /// The messages of a full transfer: SOA, every record, SOA, in envelopes.
    fn axfr(req: &Request, soa: Record, records: Vec<Record>) -> Vec<Message> {
        let mut messages = Vec::new();
        let mut current = req.reply();
        current.metadata.authoritative = true;
        let mut size = 0;
        for r in std::iter::once(soa.clone())
            .chain(records)
            .chain(std::iter::once(soa))
        {
            let len = r.to_bytes().map_or(512, |b| b.len());
            if size + len > ENVELOPE && !current.answers.is_empty() {
                let mut next = req.reply();
                next.metadata.authoritative = true;
                messages.push(std::mem::replace(&mut current, next));
                size = 0;
            }
            size += len;
            current.answers.push(r);
        }
        messages.push(current);
        messages
    }
}

impl Plugin for Transfer {
    const NAME: &'static str = "transfer";

    /// Only transfers are ours, and those never take the fast lane.
    fn serve_wire<N: Handler>(&self, q: &WireQuery<'_>, out: &mut Vec<u8>, next: &N) -> bool {
        !matches!(
            RecordType::from(q.qtype),
            RecordType::AXFR | RecordType::IXFR
        ) && next.handle_wire(q, out)
    }

    async fn serve<'a, N: Handler>(&'a self, req: &'a mut Request, next: &'a N) -> Outcome {
        let qtype = req.qtype();
        if !matches!(qtype, RecordType::AXFR | RecordType::IXFR) {
            return next.handle(req).await;
        }
        let name = req.name();
        let Some(stanza) = self
            .stanzas
            .iter()
            .filter_map(|s| {
                s.zones
                    .iter()
                    .filter(|z| in_zone(&name, z))
                    .map(|z| z.len())
                    .max()
                    .map(|l| (l, s))
            })
            .max_by_key(|(l, _)| *l)
            .map(|(_, s)| s)
        else {
            return next.handle(req).await;
        };
        if req.proto == Proto::Udp {
            return Ok(Answer::Rcode(ResponseCode::Refused));
        }
        let client = req.client.ip();
        let allowed = stanza.to.iter().any(|p| match p {
            Peer::Any => true,
            Peer::Addr(ip, _) => *ip == client,
        });
        if !allowed {
            return Ok(Answer::Rcode(ResponseCode::Refused));
        }
        let source = self
            .sources
            .read()
            .ok()
            .and_then(|s| s.iter().find(|z| z.origin() == &*name).cloned());
        let Some(source) = source else {
            return Ok(Answer::Rcode(ResponseCode::Refused));
        };
        let Some((soa, records)) = source.snapshot() else {
            return Ok(Answer::Rcode(ResponseCode::ServFail));
        };
        if qtype == RecordType::IXFR {
            // The client says which version it has; without that there is nothing to compare.
            let Some(theirs) = req.message.authorities.iter().find_map(serial) else {
                return Ok(Answer::Rcode(ResponseCode::ServFail));
            };
            let ours = serial(&soa).unwrap_or_default();
            // Serial arithmetic (RFC 1982): the client is current unless ours is newer.
            if ours == theirs || theirs.wrapping_sub(ours) < 1 << 31 {
                let mut m = req.reply();
                m.metadata.authoritative = true;
                m.answers.push(soa);
                return Ok(Answer::reply(Self::NAME, m));
            }
        }
        Ok(Answer::Transfer {
            plugin: Self::NAME,
            messages: Self::axfr(req, soa, records),
        })
    }
}

/// Sends a NOTIFY for `zone` to `to` (RFC 1996), retrying twice if no
/// answer comes within a second.
async fn notify(to: std::net::SocketAddr, zone: String) {
    let Ok(name) = crate::dns::Name::from_ascii(&zone) else {
        return;
    };
    let mut m = Message::new(
        rand::random(),
        crate::dns::MessageType::Query,
        crate::dns::OpCode::Notify,
    );
    m.metadata.authoritative = true;
    m.queries
        .push(crate::dns::Query::query(name, RecordType::SOA));
    let Ok(bytes) = m.to_vec() else { return };
    let bind: std::net::SocketAddr = if to.is_ipv4() {
        ([0, 0, 0, 0], 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let Ok(sock) = tokio::net::UdpSocket::bind(bind).await else {
        return;
    };
    let mut buf = [0u8; 512];
    for _ in 0..3 {
        if sock.send_to(&bytes, to).await.is_err() {
            break;
        }
        if let Ok(Ok((n, from))) =
            tokio::time::timeout(std::time::Duration::from_secs(1), sock.recv_from(&mut buf)).await
            && from == to
            && n >= 2
            && buf[..2] == bytes[..2]
        {
            return;
        }
    }
    tracing::warn!(target: "plugin/transfer", "no answer to the NOTIFY for \"{zone}\" sent to {to}");
}

impl Setup for Transfer {
    type Config = TransferConfig;

    fn build(cfg: TransferConfig, env: &mut BuildEnv<'_>) -> Result<Self, Diagnostic> {
        // Addresses listed in `to` are told of every new version of their zones.
        let targets: Vec<(Vec<String>, std::net::SocketAddr)> = cfg
            .stanzas
            .iter()
            .flat_map(|s| {
                s.to.iter().filter_map(move |p| match p {
                    Peer::Addr(ip, port) => Some((
                        s.zones.clone(),
                        std::net::SocketAddr::new(*ip, port.unwrap_or(53)),
                    )),
                    Peer::Any => None,
                })
            })
            .collect();
        if !targets.is_empty() {
            env.config.zone_listeners.add(move |origin: &str| {
                if tokio::runtime::Handle::try_current().is_err() {
                    return;
                }
                for (zones, to) in &targets {
                    if zones.iter().any(|z| in_zone(origin, z)) {
                        tokio::spawn(notify(*to, origin.to_string()));
                    }
                }
            });
        }
        Ok(Transfer {
            stanzas: cfg.stanzas,
            sources: env.config.zone_sources.clone(),
        })
    }
}
