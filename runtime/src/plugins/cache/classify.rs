//! What kind of reply a message is, whether it may be stored, and for how
//! long: CoreDNS's response typing and TTL rules, on hickory messages.

use crate::dns::{
    BinEncodable, DNSClass, Message, Name, OpCode, RData, Record, RecordType, ResponseCode,
};

/// The kinds of reply CoreDNS tells apart (`response.Typify`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A positive answer (or NOERROR without data and without SOA).
    NoError,
    /// NXDOMAIN.
    NameError,
    /// SERVFAIL or NOTIMP.
    ServerError,
    /// NOERROR, no answer, SOA in authority (or a CNAME chain that ends nowhere, with SOA).
    NoData,
    /// A referral: NOERROR, NS records in authority.
    Delegation,
    /// NOTIFY, AXFR, IXFR.
    Meta,
    /// A dynamic update.
    Update,
    /// Anything else (REFUSED, FORMERR, NXDOMAIN with answers, expired signatures).
    OtherError,
}

impl Kind {
    /// CoreDNS's name for the kind (the query log's `log/type` label).
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::NoError => "NOERROR",
            Kind::NameError => "NXDOMAIN",
            Kind::ServerError => "SERVERERROR",
            Kind::NoData => "NODATA",
            Kind::Delegation => "DELEGATION",
            Kind::Meta => "META",
            Kind::Update => "UPDATE",
            Kind::OtherError => "OTHERERROR",
        }
    }

    /// Is this stored in the denial cache (else the success cache)?
    pub(crate) fn is_denial(self) -> bool {
        matches!(self, Kind::NameError | Kind::NoData | Kind::ServerError)
    }
}

/// `response.Typify` plus the cache's own rule: NOERROR with an SOA whose
/// answer does not answer the question (a CNAME chain going nowhere) is NODATA.
/// `now` is the Unix time, for the validity of signatures when `dnssec_ok`.
pub(crate) fn kind(m: &Message, dnssec_ok: bool, now: u64) -> Kind {
    let k = typify(m, dnssec_ok, now);
    if k == Kind::NoError && has_soa(m) && is_nodata(m) {
        return Kind::NoData;
    }
    k
}

/// CoreDNS's `response.Typify`: the kind of `m`; signatures are checked
/// against `now` (Unix time) when `dnssec_ok`.
pub(crate) fn typify(m: &Message, dnssec_ok: bool, now: u64) -> Kind {
    match m.metadata.op_code {
        OpCode::Update => return Kind::Update,
        OpCode::Notify => return Kind::Meta,
        _ => {}
    }
    if let Some(q) = m.queries.first()
        && matches!(q.query_type, RecordType::AXFR | RecordType::IXFR)
    {
        return Kind::Meta;
    }
    if dnssec_ok && has_expired_signature(m, now) {
        return Kind::OtherError;
    }
    let rcode = m.metadata.response_code;
    if !m.answers.is_empty() {
        return match rcode {
            ResponseCode::NoError => Kind::NoError,
            ResponseCode::NXDomain => Kind::OtherError,
            // Typify goes on to the checks below for other rcodes.
            _ => typify_rest(m, rcode),
        };
    }
    typify_rest(m, rcode)
}

fn typify_rest(m: &Message, rcode: ResponseCode) -> Kind {
    let soa = has_soa(m);
    let ns = m
        .authorities
        .iter()
        .any(|r| r.record_type() == RecordType::NS);
    if soa && rcode == ResponseCode::NoError {
        return Kind::NoData;
    }
    match rcode {
        ResponseCode::NXDomain => Kind::NameError,
        ResponseCode::ServFail | ResponseCode::NotImp => Kind::ServerError,
        ResponseCode::NoError if ns => Kind::Delegation,
        ResponseCode::NoError => Kind::NoError,
        _ => Kind::OtherError,
    }
}

pub(crate) fn has_soa(m: &Message) -> bool {
    m.authorities
        .iter()
        .any(|r| r.record_type() == RecordType::SOA)
}

/// May a reply of kind `k` be stored at all (CoreDNS's `key` conditions)?
pub(crate) fn storable(m: &Message, k: Kind) -> bool {
    if m.metadata.truncation {
        return false;
    }
    match k {
        Kind::OtherError | Kind::Meta | Kind::Update => false,
        // A denial needs an SOA to bound it.
        Kind::NameError => has_soa(m),
        // A CNAME chain that does not reach the type, without SOA: an
        // incomplete answer (RFC 2308 §5), not stored.
        Kind::NoError => has_soa(m) || !is_nodata(m),
        _ => true,
    }
}

/// Does the NOERROR answer answer its question (the type at the end of the
/// CNAME chain from the name, any record at the name for ANY, a single
/// target for CNAME)?
pub(crate) fn answers_question(m: &Message) -> bool {
    let Some(q) = m.queries.first() else {
        return false;
    };
    if m.metadata.response_code != ResponseCode::NoError || m.answers.is_empty() {
        return false;
    }
    let (qtype, qclass) = (q.query_type, q.query_class);
    let class_ok = |r: &Record| qclass == DNSClass::ANY || r.dns_class == qclass;
    match qtype {
        RecordType::ANY => m.answers.iter().any(|r| class_ok(r) && r.name == q.name),
        RecordType::CNAME => matches!(cname_target(&m.answers, &q.name, qclass), Some(Some(_))),
        _ => {
            let Some(end) = chain_end(&m.answers, &q.name, qclass) else {
                return false;
            };
            m.answers
                .iter()
                .any(|r| r.record_type() == qtype && class_ok(r) && r.name == end)
        }
    }
}

/// NOERROR with answers that do not answer the question.
fn is_nodata(m: &Message) -> bool {
    !m.answers.is_empty() && !answers_question(m)
}

/// The one CNAME target of `owner`: `Some(None)` without a CNAME, `None`
/// if it has several different ones.
fn cname_target(answers: &[Record], owner: &Name, qclass: DNSClass) -> Option<Option<Name>> {
    let mut target: Option<&Name> = None;
    for r in answers {
        let RData::CNAME(c) = &r.data else { continue };
        if !(qclass == DNSClass::ANY || r.dns_class == qclass) || r.name != *owner {
            continue;
        }
        match target {
            Some(t) if *t != c.0 => return None,
            _ => target = Some(&c.0),
        }
    }
    Some(target.cloned())
}

/// The name at the end of the CNAME chain from `name`; `None` for a loop or
/// an owner with several targets.
fn chain_end(answers: &[Record], name: &Name, qclass: DNSClass) -> Option<Name> {
    let mut seen: Vec<Name> = Vec::new();
    let mut at = name.clone();
    loop {
        if seen.contains(&at) {
            return None;
        }
        seen.push(at.clone());
        match cname_target(answers, &at, qclass)? {
            None => return Some(at),
            Some(next) => at = next,
        }
    }
}

/// Is any RRSIG of the message outside its validity period at `now`
/// (serial-number arithmetic, as DNSSEC defines it)?
fn has_expired_signature(m: &Message, now: u64) -> bool {
    m.answers
        .iter()
        .chain(&m.authorities)
        .chain(&m.additionals)
        .filter(|r| r.record_type() == RecordType::RRSIG)
        .any(|r| {
            let Ok(rdata) = r.data.to_bytes() else {
                return true;
            };
            if rdata.len() < 16 {
                return true;
            }
            let word = |at: usize| {
                i64::from(u32::from_be_bytes([
                    rdata[at],
                    rdata[at + 1],
                    rdata[at + 2],
                    rdata[at + 3],
                ]))
            };
            !valid_at(word(12), word(8), now as i64)
        })
}

/// RFC 4034 §3.1.5 validity with 32-bit wraparound.
fn valid_at(inception: i64, expiration: i64, utc: i64) -> bool {
    const YEAR68: i64 = 1 << 31;
    let ti = inception + ((inception - utc) / YEAR68) * YEAR68;
    let te = expiration + ((expiration - utc) / YEAR68) * YEAR68;
    ti <= utc && utc <= te
}

/// The lowest TTL of the message's records, at most `max` (CoreDNS's
/// `MinimalTTLWithMaximum`): 5 seconds for kinds other than NOERROR,
/// NXDOMAIN and NODATA, and for a message without records.
pub(crate) fn min_ttl(m: &Message, k: Kind, max: u64) -> u64 {
    if !matches!(k, Kind::NoError | Kind::NameError | Kind::NoData) {
        return super::setup::DEFAULT_MIN_TTL;
    }
    if m.answers.is_empty() && m.authorities.is_empty() && m.additionals.is_empty() {
        return super::setup::DEFAULT_MIN_TTL;
    }
    m.answers
        .iter()
        .chain(&m.authorities)
        .chain(&m.additionals)
        .filter(|r| r.record_type() != RecordType::OPT)
        .map(|r| u64::from(r.ttl))
        .fold(max, u64::min)
}

/// CoreDNS's `computeTTL`: `msg` raised to `min`, then capped at `max`.
pub(crate) fn clamp(msg: u64, min: u64, max: u64) -> u64 {
    msg.max(min).min(max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_validity_period() {
        assert!(valid_at(100, 200, 150));
        assert!(!valid_at(100, 200, 201));
        assert!(!valid_at(100, 200, 99));
        // Serial arithmetic: a 32-bit time read as the nearest one to now.
        let now = 1_800_000_000;
        assert!(valid_at(now - 10, now + 10, now));
        assert!(!valid_at(now - 20, now - 10, now));
    }
}
