//! A zone's fast lane (see [`crate::wire`]). An answer for a name that
//! exists is rendered once by the full lookup and kept in wire form, keyed
//! by the lowercase name, type and DNSSEC/UDP variant; later queries copy it
//! behind their own header and question. NXDOMAIN for a name that is simply
//! absent (no wildcard, cut or DNAME above it) is written directly, so
//! random names cost no lookup and fill no memory.
//!
//! The rendered body relies on the question sitting at offset 12 with the
//! same length as the first query's: true for every query with the same
//! lowercase name. Names compressed against the question show the asking
//! query's case, as the question itself does.

use super::{Lookup, Zone};
use crate::dns::{BinDecodable, BinEncodable, Message, MessageType, Name, OpCode, Query, RData};
use crate::dns::{RecordType, ResponseCode};
use crate::plugin::Proto;
use crate::wire::{WireQuery, flags};
use hickory_proto::rr::LowerName;
use rustc_hash::FxHashMap;
use std::hash::{BuildHasher, BuildHasherDefault};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{OnceLock, RwLock};

const SHARDS: usize = 16;

/// Most memory one zone version spends on rendered answers: every answer of
/// a 10k-name zone fits many times over.
const BUDGET: usize = 16 << 20;

/// Map slot, boxes and allocator rounding per rendered answer.
const ENTRY_OVERHEAD: usize = 80;

/// Rendered answers of one zone version.
#[derive(Default)]
pub(crate) struct AnswerCache {
    shards: [RwLock<FxHashMap<Box<[u8]>, Rendered>>; SHARDS],
    /// Bytes held, roughly: keys, bodies and per-entry overhead.
    held: AtomicUsize,
    negative: OnceLock<Option<NegativeSoa>>,
}

impl std::fmt::Debug for AnswerCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AnswerCache")
            .field("held", &self.held.load(Ordering::Relaxed))
            .finish()
    }
}

/// One answer in wire form: what follows the question.
struct Rendered {
    /// AA and the rcode.
    set: u16,
    /// Answer, authority and additional counts.
    counts: [u16; 3],
    body: Box<[u8]>,
    /// False: this question is answered on the full path only.
    fast: bool,
}

impl Rendered {
    /// Remembers that a question is answered on the full path only.
    fn full_path() -> Rendered {
        Rendered {
            set: 0,
            counts: [0; 3],
            body: Box::default(),
            fast: false,
        }
    }

    fn write(&self, q: &WireQuery<'_>, out: &mut Vec<u8>) -> bool {
        self.fast && q.write_reply(self.set, self.counts, &self.body, out)
    }
}

/// The SOA of a negative answer, with its owner (the apex) left to point
/// into each query's question.
struct NegativeSoa {
    apex_len: usize,
    /// Type, class, TTL, length and data.
    fixed: Box<[u8]>,
}

/// The cache key: lowercase wire name, type, variant.
struct Key {
    bytes: [u8; 255 + 3],
    len: usize,
}

impl Key {
    fn new(q: &WireQuery<'_>) -> Key {
        let name = q.lname();
        let mut bytes = [0u8; 258];
        bytes[..name.len()].copy_from_slice(name);
        bytes[name.len()..name.len() + 2].copy_from_slice(&q.qtype.to_be_bytes());
        bytes[name.len() + 2] = u8::from(q.dnssec_ok()) | (u8::from(q.proto == Proto::Udp) << 1);
        Key {
            bytes,
            len: name.len() + 3,
        }
    }

    fn as_slice(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    fn shard(&self) -> usize {
        let h = BuildHasherDefault::<rustc_hash::FxHasher>::default().hash_one(self.as_slice());
        (h as usize) % SHARDS
    }
}

impl Lookup {
    /// Puts this lookup's flags and sections into a reply: the one way both
    /// lanes turn a lookup into a message.
    pub(crate) fn fill(self, m: &mut Message) {
        m.metadata.authoritative = self.authoritative;
        if self.nxdomain {
            m.metadata.response_code = ResponseCode::NXDomain;
        } else if self.yxdomain {
            m.metadata.response_code = ResponseCode::YXDomain;
        }
        m.answers = self.answers;
        m.authorities = self.authority;
        m.additionals = self.additional;
    }
}

impl Zone {
    /// Answers `q` (a name in this zone, not a transfer) into `out`; false
    /// leaves it to the full path.
    pub(crate) fn answer_wire(&self, q: &WireQuery<'_>, out: &mut Vec<u8>) -> bool {
        let key = Key::new(q);
        let shard = &self.answers.shards[key.shard()];
        if let Ok(map) = shard.read()
            && let Some(r) = map.get(key.as_slice())
        {
            return r.write(q, out);
        }
        let Ok(name) = Name::from_bytes(q.qname()) else {
            return false;
        };
        let lower = LowerName::new(&name);
        let qtype = RecordType::from(q.qtype);
        if !self.exists(&lower) {
            return !q.dnssec_ok() && self.simply_absent(&lower, qtype) && self.nxdomain(q, out);
        }
        // Bounded in bytes: past the budget (a huge zone, or a client asking
        // every type of every name) answers are made on the full path.
        if self.answers.held.load(Ordering::Relaxed) >= BUDGET {
            return false;
        }
        let Some(r) = self.render(&name, qtype, q) else {
            return false;
        };
        let written = r.write(q, out);
        let size = key.len + r.body.len() + ENTRY_OVERHEAD;
        if let Ok(mut map) = shard.write()
            && map.insert(key.as_slice().into(), r).is_none()
        {
            self.answers.held.fetch_add(size, Ordering::Relaxed);
        }
        written
    }

    /// The full lookup's answer, encoded behind `q`'s question.
    fn render(&self, name: &Name, qtype: RecordType, q: &WireQuery<'_>) -> Option<Rendered> {
        let found = self.lookup(name, qtype, q.dnssec_ok(), q.proto == Proto::Udp);
        if self.external_target(&found, qtype).is_some() {
            // The rest of the answer comes from elsewhere, each time.
            return Some(Rendered::full_path());
        }
        let mut m = Message::new(0, MessageType::Response, OpCode::Query);
        m.add_query(Query::query(name.clone(), qtype));
        found.fill(&mut m);
        let bytes = m.to_vec().ok()?;
        let question = q.question();
        // The question must come out exactly as asked for the body to fit behind it.
        if bytes.get(12..12 + question.len())? != question {
            return None;
        }
        let be = |i: usize| u16::from_be_bytes([bytes[i], bytes[i + 1]]);
        Some(Rendered {
            set: be(2) & (flags::AA | flags::RCODE),
            counts: [be(6), be(8), be(10)],
            body: bytes[12 + question.len()..].into(),
            fast: true,
        })
    }

    /// Where the answer's CNAME chain leaves this zone, if it does and the
    /// question is for other data.
    pub(crate) fn external_target(&self, found: &Lookup, qtype: RecordType) -> Option<Name> {
        if matches!(qtype, RecordType::CNAME | RecordType::ANY) {
            return None;
        }
        match &found.answers.last()?.data {
            RData::CNAME(target) if !self.origin.zone_of(&LowerName::new(&target.0)) => {
                Some(target.0.clone())
            }
            _ => None,
        }
    }

    /// The name does not exist and nothing above it (wildcard, cut, DNAME)
    /// could make it: a plain NXDOMAIN.
    fn simply_absent(&self, name: &LowerName, qtype: RecordType) -> bool {
        self.wildcard_for(name).is_none()
            && self.cut_above(name, qtype).is_none()
            && self.dname_above(name).is_none()
    }

    /// NXDOMAIN with the SOA in authority, its owner a pointer to the apex
    /// inside the question.
    fn nxdomain(&self, q: &WireQuery<'_>, out: &mut Vec<u8>) -> bool {
        let Some(neg) = self
            .answers
            .negative
            .get_or_init(|| self.negative_soa_wire())
        else {
            return false;
        };
        let qname_len = q.lname().len();
        let Some(apex_at) = (12 + qname_len).checked_sub(neg.apex_len) else {
            return false;
        };
        let mut body = [0u8; 2 + 10 + 2 * 255 + 20];
        let pointer = 0xc000 | apex_at as u16;
        body[..2].copy_from_slice(&pointer.to_be_bytes());
        body[2..2 + neg.fixed.len()].copy_from_slice(&neg.fixed);
        let body = &body[..2 + neg.fixed.len()];
        let set = flags::AA | u16::from(ResponseCode::NXDomain.low());
        q.write_reply(set, [0, 1, 0], body, out)
    }

    fn negative_soa_wire(&self) -> Option<NegativeSoa> {
        let soa = self.soa();
        let RData::SOA(data) = &soa.data else {
            return None;
        };
        let mut fixed = Vec::with_capacity(64);
        fixed.extend_from_slice(&u16::from(RecordType::SOA).to_be_bytes());
        fixed.extend_from_slice(&u16::from(soa.dns_class).to_be_bytes());
        fixed.extend_from_slice(&soa.ttl.min(data.minimum).to_be_bytes());
        // Each name encoded alone, so it is written in full with its case.
        let mut rdata = data.mname.to_bytes().ok()?;
        rdata.extend(data.rname.to_bytes().ok()?);
        for n in [
            data.serial,
            data.refresh as u32,
            data.retry as u32,
            data.expire as u32,
            data.minimum,
        ] {
            rdata.extend_from_slice(&n.to_be_bytes());
        }
        fixed.extend_from_slice(&u16::try_from(rdata.len()).ok()?.to_be_bytes());
        fixed.extend(rdata);
        Some(NegativeSoa {
            apex_len: self.origin.to_bytes().ok()?.len(),
            fixed: fixed.into(),
        })
    }
}
