use super::setup::LocalConfig;
use crate::dns::{A, AAAA, Name, PTR, RData, Record, RecordType, ResponseCode};
use crate::plugin::{Answer, Handler, Outcome, Plugin, Request, Setup};
use crate::site::BuildEnv;
use corec_compiler::Diagnostic;
use hickory_proto::rr::rdata::{NS, SOA};
use std::net::{Ipv4Addr, Ipv6Addr};

const LOG: &str = "plugin/local";

/// TTL of every record served, and the SOA's minimum (negative-caching) TTL.
pub(super) const TTL: u32 = 604_800;

/// First labels of the reverse zones served under `in-addr.arpa.`.
const REVERSE_ZONES: [&[u8]; 3] = [b"0", b"127", b"255"];

/// Where a query name falls among the local names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Place {
    /// None of ours: the next plugin answers.
    Elsewhere,
    /// A name below `localhost.`, or a legacy `localhost.<domain>` name:
    /// loopback addresses. The SOA of a NODATA reply is owned by the last
    /// `soa_labels` labels of the query name.
    Loopback { soa_labels: usize },
    /// The apex of `localhost.` (`localhost: true`) or of a reverse zone.
    Apex { localhost: bool },
    /// `1.0.0.127.in-addr.arpa.`, the one name with a PTR record.
    LoopbackPtr,
    /// Any other name in a reverse zone: NXDOMAIN.
    Missing,
}

/// Classifies `qname` (any case). `prefix`: legacy `localhost.<domain>`
/// names count as local.
pub(super) fn classify(qname: &Name, prefix: bool) -> Place {
    let mut labels = qname.iter();
    let n = labels.len();
    let is = |label: &[u8], word: &[u8]| label.eq_ignore_ascii_case(word);
    let Some(last) = labels.next_back() else {
        return Place::Elsewhere;
    };
    if is(last, b"localhost") {
        return if n == 1 {
            Place::Apex { localhost: true }
        } else {
            Place::Loopback { soa_labels: 1 }
        };
    }
    if prefix && n > 1 && qname.iter().next().is_some_and(|l| is(l, b"localhost")) {
        return Place::Loopback { soa_labels: n };
    }
    if n < 3 || !is(last, b"arpa") || !labels.next_back().is_some_and(|l| is(l, b"in-addr")) {
        return Place::Elsewhere;
    }
    let zone = labels.next_back().unwrap_or_default();
    if !REVERSE_ZONES.contains(&zone) {
        return Place::Elsewhere;
    }
    if n == 3 {
        return Place::Apex { localhost: false };
    }
    if zone == b"127" && labels.eq([&b"1"[..], &b"0"[..], &b"0"[..]]) {
        return Place::LoopbackPtr;
    }
    Place::Missing
}

/// The local plugin.
#[derive(Debug)]
pub struct Local {
    localhost_prefix: bool,
    /// `localhost.`: NS and PTR target, SOA primary name server.
    localhost: Name,
    /// `root.localhost.`: SOA mailbox.
    mailbox: Name,
}

impl Local {
    pub(super) fn new(cfg: LocalConfig) -> Self {
        Local {
            localhost_prefix: cfg.localhost_prefix,
            localhost: Name::from_ascii("localhost.").expect("valid name"),
            mailbox: Name::from_ascii("root.localhost.").expect("valid name"),
        }
    }

    /// The synthetic SOA of a zone whose apex is `owner`.
    fn soa(&self, owner: Name) -> Record {
        let soa = SOA::new(
            self.localhost.clone(),
            self.mailbox.clone(),
            1,
            0,
            0,
            0,
            TTL,
        );
        Record::from_rdata(owner, TTL, RData::SOA(soa))
    }

    fn loopback(owner: &Name, qtype: RecordType) -> Option<Record> {
        let data = match qtype {
            RecordType::A => RData::A(A(Ipv4Addr::LOCALHOST)),
            RecordType::AAAA => RData::AAAA(AAAA(Ipv6Addr::LOCALHOST)),
            _ => return None,
        };
        Some(Record::from_rdata(owner.clone(), TTL, data))
    }
}

impl Plugin for Local {
    const NAME: &'static str = "local";

    async fn serve<'a, N: Handler>(&'a self, req: &'a mut Request, next: &'a N) -> Outcome {
        let place = classify(req.qname(), self.localhost_prefix);
        if place == Place::Elsewhere {
            return next.handle(req).await;
        }
        let qname = req.qname();
        let qtype = req.qtype();
        let mut m = req.reply();
        m.metadata.authoritative = true;
        // The answer, or else the owner of the SOA for the authority section.
        let answered: Result<Record, Name> = match place {
            Place::Elsewhere => unreachable!("handled above"),
            Place::Loopback { soa_labels } => {
                super::metrics::localhost_request();
                tracing::debug!(
                    target: LOG,
                    "answering localhost name {} {qtype} for {}",
                    req.name(),
                    req.client.ip()
                );
                Self::loopback(qname, qtype).ok_or_else(|| qname.trim_to(soa_labels))
            }
            Place::Apex { localhost } => match qtype {
                RecordType::SOA => Ok(self.soa(qname.clone())),
                RecordType::NS => Ok(Record::from_rdata(
                    qname.clone(),
                    TTL,
                    RData::NS(NS(self.localhost.clone())),
                )),
                _ if localhost => Self::loopback(qname, qtype).ok_or_else(|| qname.clone()),
                _ => Err(qname.clone()),
            },
            Place::LoopbackPtr if qtype == RecordType::PTR => Ok(Record::from_rdata(
                qname.clone(),
                TTL,
                RData::PTR(PTR(self.localhost.clone())),
            )),
            Place::LoopbackPtr => Err(qname.trim_to(3)),
            Place::Missing => {
                m.metadata.response_code = ResponseCode::NXDomain;
                Err(qname.trim_to(3))
            }
        };
        match answered {
            Ok(record) => m.answers.push(record),
            Err(zone) => m.authorities.push(self.soa(zone)),
        }
        Ok(Answer::reply(Self::NAME, m))
    }
}

impl Setup for Local {
    type Config = LocalConfig;

    fn build(cfg: LocalConfig, _: &mut BuildEnv<'_>) -> Result<Self, Diagnostic> {
        Ok(Local::new(cfg))
    }
}
