use super::setup::MinimalConfig;
use crate::dns::{BinEncodable, Message, OpCode, Record, RecordType, ResponseCode};
use crate::plugin::{Answer, Handler, Outcome, Plugin, Request, Setup};
use crate::site::BuildEnv;
use corec_compiler::Diagnostic;
use std::time::{SystemTime, UNIX_EPOCH};

/// The minimal plugin.
#[derive(Debug, Clone, Copy)]
pub struct Minimal;

impl Plugin for Minimal {
    const NAME: &'static str = "minimal";

    async fn serve<'a, N: Handler>(&'a self, req: &'a mut Request, next: &'a N) -> Outcome {
        let mut answer = next.handle(req).await?;
        let client_dnssec = req.do_bit();
        if let Answer::Reply(r) = &mut answer
            && is_positive(&r.message, client_dnssec, unix_now())
        {
            r.message.authorities.clear();
            r.message.additionals.clear();
        }
        Ok(answer)
    }
}

impl Setup for Minimal {
    type Config = MinimalConfig;

    fn build(_: MinimalConfig, _: &mut BuildEnv<'_>) -> Result<Self, Diagnostic> {
        Ok(Minimal)
    }
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Is `m` a plain positive reply, the only kind minimal trims? The same
/// classification CoreDNS's response typing makes: NOERROR with answers, or
/// NOERROR without answers that is neither NODATA (SOA in authority) nor a
/// delegation (NS in authority). Updates, NOTIFYs, zone transfers and replies
/// carrying an expired signature for a DNSSEC-aware client (DO set in the
/// query or in the reply's OPT) are left alone.
pub(super) fn is_positive(m: &Message, client_dnssec: bool, now: i64) -> bool {
    if m.metadata.response_code != ResponseCode::NoError {
        return false;
    }
    if matches!(m.metadata.op_code, OpCode::Update | OpCode::Notify) {
        return false;
    }
    if m.queries
        .first()
        .is_some_and(|q| matches!(q.query_type(), RecordType::AXFR | RecordType::IXFR))
    {
        return false;
    }
    let dnssec_ok = client_dnssec || m.edns.as_ref().is_some_and(|e| e.flags().dnssec_ok);
    if dnssec_ok && has_expired_signature(m, now) {
        return false;
    }
    if !m.answers.is_empty() {
        return true;
    }
    !m.authorities
        .iter()
        .any(|r| matches!(r.record_type(), RecordType::SOA | RecordType::NS))
}

/// Does any section hold an RRSIG outside its validity period at `now`?
fn has_expired_signature(m: &Message, now: i64) -> bool {
    m.answers
        .iter()
        .chain(&m.authorities)
        .chain(&m.additionals)
        .filter_map(rrsig_period)
        .any(|(inception, expiration)| !within(inception, expiration, now))
}

/// `(inception, expiration)` of an RRSIG record, read from its wire rdata
/// (type covered, algorithm, labels, original TTL, then expiration and
/// inception), so it works whether hickory parsed the RRSIG or kept it raw.
fn rrsig_period(r: &Record) -> Option<(u32, u32)> {
    if r.record_type() != RecordType::RRSIG {
        return None;
    }
    let rdata = r.data.to_bytes().ok()?;
    let b = rdata.get(8..16)?;
    let expiration = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    let inception = u32::from_be_bytes([b[4], b[5], b[6], b[7]]);
    Some((inception, expiration))
}

/// RFC 4034 validity with RFC 1982 serial arithmetic: the 32-bit times are
/// taken in the 136-year window closest to `now`.
pub(super) fn within(inception: u32, expiration: u32, now: i64) -> bool {
    const HALF: i64 = 1 << 31;
    let unwrap = |t: u32| {
        let t = i64::from(t);
        t + (now - t + HALF).div_euclid(1 << 32) * (1 << 32)
    };
    unwrap(inception) <= now && now <= unwrap(expiration)
}
