use super::metrics::Dns64Metrics;
use super::setup::Dns64Config;
use crate::dns::{AAAA, DNSClass, Message, RData, Record, RecordType, ResponseCode};
use crate::plugin::{Answer, Handler, Outcome, Plugin, PluginError, Request, Setup};
use crate::site::BuildEnv;
use crate::upstream::Upstream;
use crate::wire::WireQuery;
use corec_compiler::Diagnostic;
use std::net::{Ipv4Addr, Ipv6Addr};

/// TTL limit of synthesized records when the reply had no SOA (RFC 6147 5.1.7).
const TTL_WITHOUT_SOA: u32 = 600;

/// The `dns64` plugin.
#[derive(Debug)]
pub struct Dns64 {
    prefix: Ipv6Addr,
    prefix_len: u8,
    translate_all: bool,
    allow_ipv4: bool,
    upstream: Upstream,
    metrics: Dns64Metrics,
}

/// `v4` embedded in `prefix` of `len` bits as RFC 6052 section 2.2 lays it
/// out: bits 64 to 71 stay zero, the address continues after them.
pub(crate) fn embed(prefix: Ipv6Addr, len: u8, v4: Ipv4Addr) -> Ipv6Addr {
    let mut out = [0u8; 16];
    let p = prefix.octets();
    let n = usize::from(len / 8);
    out[..n].copy_from_slice(&p[..n]);
    let mut at = n;
    for byte in v4.octets() {
        if at == 8 {
            at += 1; // the reserved octet
        }
        out[at] = byte;
        at += 1;
    }
    Ipv6Addr::from(out)
}

impl Dns64 {
    /// Is this a query DNS64 applies to: AAAA in class IN, from an IPv6
    /// client unless IPv4 clients are allowed too?
    fn intercepts(&self, qtype: RecordType, qclass: DNSClass, client: std::net::IpAddr) -> bool {
        qtype == RecordType::AAAA
            && qclass == DNSClass::IN
            && (self.allow_ipv4 || !client.to_canonical().is_ipv4())
    }

    /// Does the reply to the AAAA query call for synthesis? Not for a name
    /// that does not exist; otherwise when it has no AAAA record (errors
    /// count as empty), or always with `translate_all`.
    fn wants_synthesis(&self, reply: &Message) -> bool {
        let name_error =
            reply.metadata.response_code == ResponseCode::NXDomain && reply.answers.is_empty();
        if name_error {
            return false;
        }
        self.translate_all
            || !reply
                .answers
                .iter()
                .any(|r| r.record_type() == RecordType::AAAA)
    }

    /// The AAAA reply built from the reply to the A query: A records become
    /// AAAA records (TTL capped by the SOA of the AAAA reply), everything
    /// else is copied unchanged.
    fn synthesize(&self, req: &Request, aaaa_reply: &Message, a_reply: Message) -> Message {
        let soa_ttl = aaaa_reply
            .authorities
            .iter()
            .rfind(|r| r.record_type() == RecordType::SOA)
            .map_or(TTL_WITHOUT_SOA, |r| r.ttl);
        let mut m = req.reply();
        m.metadata.truncation = a_reply.metadata.truncation;
        m.authorities = a_reply.authorities;
        m.additionals = a_reply.additionals;
        m.answers = a_reply
            .answers
            .into_iter()
            .map(|r| match r.data {
                RData::A(a) => {
                    let mut out = Record::from_rdata(
                        r.name,
                        r.ttl.min(soa_ttl),
                        RData::AAAA(AAAA(embed(self.prefix, self.prefix_len, a.0))),
                    );
                    out.dns_class = r.dns_class;
                    out
                }
                _ => r,
            })
            .collect();
        m
    }
}

impl Plugin for Dns64 {
    const NAME: &'static str = "dns64";

    async fn serve<'a, N: Handler>(&'a self, req: &'a mut Request, next: &'a N) -> Outcome {
        if !self.intercepts(req.qtype(), req.qclass(), req.client.ip()) {
            return next.handle(req).await;
        }
        // Only a written reply is looked at; an unwritten rcode, an error or
        // no reply at all goes back as it is.
        let reply = match next.handle(req).await {
            Ok(Answer::Reply(reply)) => reply,
            other => return other,
        };
        if !self.wants_synthesis(&reply.message) {
            return Ok(Answer::Reply(reply));
        }
        let Some(a_reply) = self
            .upstream
            .resolve(req, req.qname().clone(), RecordType::A)
            .await
        else {
            return Err(PluginError::servfail(
                Self::NAME,
                format!("no reply to the A query for {}", req.name()),
            ));
        };
        self.metrics.translated(&req.server);
        Ok(Answer::reply(
            Self::NAME,
            self.synthesize(req, &reply.message, a_reply),
        ))
    }

    fn serve_wire<N: Handler>(&self, q: &WireQuery<'_>, out: &mut Vec<u8>, next: &N) -> bool {
        let intercepted = self.intercepts(RecordType::from(q.qtype), DNSClass::IN, q.client.ip());
        !intercepted && next.handle_wire(q, out)
    }
}

impl Setup for Dns64 {
    type Config = Dns64Config;

    fn build(cfg: Dns64Config, env: &mut BuildEnv<'_>) -> Result<Self, Diagnostic> {
        Ok(Dns64 {
            prefix: cfg.prefix,
            prefix_len: cfg.prefix_len,
            translate_all: cfg.translate_all,
            allow_ipv4: cfg.allow_ipv4,
            upstream: env.upstream(),
            metrics: Dns64Metrics::new(crate::metrics::BlockLabels::of(env)),
        })
    }
}
