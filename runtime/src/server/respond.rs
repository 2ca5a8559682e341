//! The transport-independent query path: checking a packet, routing it to a
//! block, running the chain and encoding the reply (OPT mirrored, truncated
//! to what the client can take).

use crate::dns::{Message, MessageType, Record, ResponseCode};
use crate::metrics::{self, Observed};
use crate::plugin::{Answer, Outcome, Proto, Request};
use crate::site::{CompiledBlocks, ListenAddr, Listener, Site};
use crate::wire::WireQuery;
use futures_util::FutureExt;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Instant;

pub use crate::wire::UDP_PAYLOAD_CAP;

/// A packet after the header checks.
#[derive(Debug)]
pub enum Prepared {
    /// A query to run through a chain.
    Query(Box<Request>),
    /// An immediate reply (FORMERR, NOTIMP).
    Reply(Vec<u8>),
    /// Not worth a reply (too short to have a header, or a response).
    Drop,
}

/// Checks a packet the way CoreDNS's DNS library does before any plugin
/// sees it, and decodes it.
pub fn prepare(
    bytes: &[u8],
    client: SocketAddr,
    local: SocketAddr,
    proto: Proto,
    server: &Arc<str>,
) -> Prepared {
    if bytes.len() < 12 {
        return Prepared::Drop;
    }
    let id = u16::from_be_bytes([bytes[0], bytes[1]]);
    let flags = u16::from_be_bytes([bytes[2], bytes[3]]);
    if flags & 0x8000 != 0 {
        return Prepared::Drop; // a response: never answer it (reflection loops)
    }
    let opcode = ((flags >> 11) & 0xf) as u8;
    let count = |i: usize| u16::from_be_bytes([bytes[i], bytes[i + 1]]);
    if opcode != 0 && opcode != 4 {
        return Prepared::Reply(header_reply(id, flags, ResponseCode::NotImp));
    }
    // One question; a NOTIFY may carry a SOA in answer, an IXFR one in
    // authority; at most OPT and TSIG in additional.
    if count(4) != 1 || count(6) > 1 || count(8) > 1 || count(10) > 2 {
        return Prepared::Reply(header_reply(id, flags, ResponseCode::FormErr));
    }
    match Message::from_vec(bytes) {
        Ok(message) => Prepared::Query(Box::new(Request {
            message,
            wire_len: bytes.len(),
            client: unmap(client),
            local: unmap(local),
            proto,
            server: server.clone(),
            name_cache: Default::default(),
            depth: 0,
            refresh: false,
            meta: None,
        })),
        Err(_) => Prepared::Reply(header_reply(id, flags, ResponseCode::FormErr)),
    }
}

pub use crate::wire::unmap;

/// A header-only reply: same ID, opcode and RD; QR set; no sections.
fn header_reply(id: u16, query_flags: u16, rcode: ResponseCode) -> Vec<u8> {
    let flags = 0x8000 | (query_flags & 0x7900) | u16::from(rcode.low());
    let mut out = Vec::with_capacity(12);
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(&flags.to_be_bytes());
    out.extend_from_slice(&[0; 8]);
    out
}

/// What to send back for one query.
#[derive(Debug)]
pub enum Wire {
    /// Nothing.
    Nothing,
    /// One message (the usual case).
    One(Vec<u8>),
    /// Several messages, in order (a zone transfer, TCP only).
    Many(Vec<Vec<u8>>),
}

impl Wire {
    /// The first (or only) message.
    pub fn first(&self) -> Option<&[u8]> {
        match self {
            Wire::Nothing => None,
            Wire::One(b) => Some(b),
            Wire::Many(v) => v.first().map(Vec::as_slice),
        }
    }
}

/// The fast lane for a query in the common shape: routes it by its wire
/// name and runs its block's chain on the bytes. False if the query must
/// take the full path ([`prepare`], [`handle`]).
pub fn fast<C: CompiledBlocks>(
    site: &Site<C>,
    listener: &Listener,
    q: &WireQuery<'_>,
    out: &mut Vec<u8>,
) -> bool {
    let Some(block) = listener.route_wire(q.lname(), q.qtype, q) else {
        return false;
    };
    if site.empty_blocks[block] {
        return false;
    }
    let metrics = site.block_metrics[block].as_deref();
    let started = metrics.map(|_| Instant::now());
    // A panicking plugin declines here; the full path turns it into SERVFAIL.
    let done = std::panic::catch_unwind(AssertUnwindSafe(|| site.serve_wire(block, q, out)))
        .unwrap_or_else(|_| {
            metrics::core().panics.inc();
            false
        });
    if done && let (Some(m), Some(started)) = (metrics, started) {
        m.record_wire(
            q.server,
            q.lname(),
            &Observed {
                started,
                tcp: q.proto == Proto::Tcp,
                v6: unmap(q.client).is_ipv6(),
                qtype: q.qtype,
                dnssec_ok: q.dnssec_ok(),
                request_len: q.packet_len(),
                response_len: out.len(),
                rcode: metrics::wire_rcode(out),
                plugin: q.writer.get(),
            },
        );
    }
    done
}

/// Which metrics a query on the full path counts towards.
enum Counted {
    /// A block's (if it has *prometheus*).
    Block(usize),
    /// The listener's `dropped` zone: refused before any block.
    Dropped,
    /// None (a query the server rejects outright, as CoreDNS does).
    Not,
}

/// Runs a query through the site and encodes the reply.
pub async fn handle<C: CompiledBlocks>(site: &Site<C>, at: ListenAddr, mut req: Request) -> Wire {
    let started = Instant::now();
    let (outcome, counted) = run_counted(site, at, &mut req).await;
    let answer = match outcome {
        Ok(a) => a,
        Err(e) => Answer::Rcode(e.rcode),
    };
    let plugin = answer.writer();
    let wire = finish(&req, answer);
    let metrics = match counted {
        Counted::Block(b) => site.block_metrics[b].as_deref(),
        Counted::Dropped => site.listeners.get(&at).map(|l| &l.dropped),
        Counted::Not => None,
    };
    if let Some(m) = metrics {
        let (response_len, rcode) = match &wire {
            Wire::Nothing => (0, 0),
            Wire::One(b) => (b.len(), metrics::wire_rcode(b)),
            Wire::Many(v) => (
                v.iter().map(Vec::len).sum(),
                v.first().map_or(0, |b| metrics::wire_rcode(b)),
            ),
        };
        m.record(
            &req.server,
            &req.name(),
            &Observed {
                started,
                tcp: req.proto == Proto::Tcp,
                v6: req.client.is_ipv6(),
                qtype: req.qtype().into(),
                dnssec_ok: req.do_bit(),
                request_len: req.wire_len,
                response_len,
                rcode,
                plugin,
            },
        );
    }
    wire
}

/// Routes and runs the chain; panics become SERVFAIL.
pub async fn run<C: CompiledBlocks>(site: &Site<C>, at: ListenAddr, req: &mut Request) -> Outcome {
    run_counted(site, at, req).await.0
}

async fn run_counted<C: CompiledBlocks>(
    site: &Site<C>,
    at: ListenAddr,
    req: &mut Request,
) -> (Outcome, Counted) {
    let refused = |counted| (Ok(Answer::Rcode(ResponseCode::Refused)), counted);
    if req.edns().is_some_and(|e| e.version() > 0) {
        return (Ok(Answer::Rcode(ResponseCode::BADVERS)), Counted::Not);
    }
    let Some(listener) = site.listeners.get(&at) else {
        return refused(Counted::Not);
    };
    if req.qclass() != crate::dns::DNSClass::IN && !listener.allow_non_in {
        return refused(Counted::Dropped);
    }
    let Some(block) = listener.route(&req.name(), req.qtype(), req) else {
        return refused(Counted::Dropped);
    };
    if site.empty_blocks[block] {
        return refused(Counted::Dropped);
    }
    let outcome = match AssertUnwindSafe(site.serve(block, req))
        .catch_unwind()
        .await
    {
        Ok(outcome) => outcome,
        Err(panic) => {
            metrics::core().panics.inc();
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            tracing::error!("Recovered from panic in server: {:?} {what}", listener.name);
            Ok(Answer::Rcode(ResponseCode::ServFail))
        }
    };
    (outcome, Counted::Block(block))
}

/// The wire reply for an answer: OPT mirrored, truncated to the client's size.
pub fn finish(req: &Request, answer: Answer) -> Wire {
    let m = match answer {
        Answer::Reply(r) => r.message,
        Answer::Rcode(rc) => {
            let mut m = req.reply();
            m.metadata.response_code = rc;
            m
        }
        Answer::Drop => return Wire::Nothing,
        Answer::Transfer { messages, .. } => {
            return Wire::Many(
                messages
                    .into_iter()
                    .filter_map(|m| encode_one(req, m))
                    .collect(),
            );
        }
    };
    encode_one(req, m).map_or(Wire::Nothing, Wire::One)
}

fn encode_one(req: &Request, mut m: Message) -> Option<Vec<u8>> {
    m.metadata.id = req.id();
    m.metadata.message_type = MessageType::Response;
    m.metadata.op_code = req.message.metadata.op_code;
    mirror_edns(req, &mut m);
    let limit = match (req.proto, req.edns()) {
        (Proto::Tcp, _) => usize::from(u16::MAX),
        (Proto::Udp, Some(e)) => usize::from(e.max_payload().clamp(512, UDP_PAYLOAD_CAP)),
        (Proto::Udp, None) => 512,
    };
    encode_within(m, limit)
}

/// The reply carries an OPT iff the query did: version 0, our payload size,
/// the query's DO bit, plus any options a plugin added (NSID, EDE).
fn mirror_edns(req: &Request, m: &mut Message) {
    match req.edns() {
        None => m.edns = None,
        Some(q) => {
            let mut e = m.edns.take().unwrap_or_default();
            e.set_version(0);
            e.set_max_payload(q.max_payload().clamp(512, UDP_PAYLOAD_CAP));
            e.set_dnssec_ok(q.flags().dnssec_ok);
            m.edns = Some(e);
        }
    }
}

/// Encodes `m`; if it is larger than `limit`, drops whole RRsets from the end
/// (additional first, which needs no TC; then authority and answer, which
/// set TC) until it fits. OPT is always kept.
fn encode_within(mut m: Message, limit: usize) -> Option<Vec<u8>> {
    let bytes = m.to_vec().ok()?;
    if bytes.len() <= limit {
        return Some(bytes);
    }
    // In a referral, glue inside the delegated zone is required (RFC 9471):
    // leaving any of it out sets TC, unlike other additional data.
    let cut = referral_cut(&m);
    loop {
        let section = if !m.additionals.is_empty() {
            if let (Some(cut), Some(last)) = (&cut, m.additionals.last())
                && cut.zone_of(&last.name)
            {
                m.metadata.truncation = true;
            }
            &mut m.additionals
        } else if !m.authorities.is_empty() {
            m.metadata.truncation = true;
            &mut m.authorities
        } else if !m.answers.is_empty() {
            m.metadata.truncation = true;
            &mut m.answers
        } else {
            // Nothing left to drop: a question alone that is too big cannot be.
            m.metadata.truncation = true;
            return m.to_vec().ok();
        };
        drop_last_rrset(section);
        let bytes = m.to_vec().ok()?;
        if bytes.len() <= limit {
            return Some(bytes);
        }
    }
}

/// The delegated zone if `m` is a referral: not authoritative, no answer,
/// NS records in the authority section.
fn referral_cut(m: &Message) -> Option<crate::dns::Name> {
    if m.metadata.authoritative || !m.answers.is_empty() {
        return None;
    }
    m.authorities
        .iter()
        .find(|r| r.record_type() == crate::dns::RecordType::NS)
        .map(|r| r.name.clone())
}

fn drop_last_rrset(records: &mut Vec<Record>) {
    let Some(last) = records.last() else { return };
    let (name, rtype, class) = (last.name.clone(), last.record_type(), last.dns_class);
    // An RRset is every record with the same owner, type and class, wherever it sits.
    records.retain(|r| !(r.name == name && r.record_type() == rtype && r.dns_class == class));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::site::{Blocks, SiteBuilder};
    use crate::testing::{self, Case};

    /// A compiled site whose only block panics on every query.
    #[derive(Debug)]
    struct Panicking;

    impl Blocks for Panicking {
        async fn serve<'a>(&'a self, _: usize, _: &'a mut Request) -> Outcome {
            panic!("a plugin bug")
        }
    }

    impl CompiledBlocks for Panicking {
        const SHAPE: &'static [&'static [&'static str]] = &[&["whoami"]];
        fn build(_: &mut SiteBuilder<'_>) -> Option<Self> {
            Some(Panicking)
        }
        fn builder(_: &str) -> Option<crate::registry::BuildDynFn> {
            None
        }
    }

    #[tokio::test]
    async fn a_panicking_plugin_becomes_servfail() {
        let site = Site::<Panicking>::compiled(testing::load(".:0 {\n whoami\n}")).unwrap();
        let at = *site.listeners.keys().next().unwrap();
        for _ in 0..2 {
            let req = Case::new("example.org.", crate::dns::RecordType::A).request();
            let wire = handle(&site, at, req).await;
            let m = Message::from_vec(wire.first().expect("a reply")).unwrap();
            assert_eq!(m.metadata.response_code, ResponseCode::ServFail);
        }
    }
}
