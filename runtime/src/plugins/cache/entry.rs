//! One cached reply in wire form, and how a hit is written from it.
//!
//! An entry holds the reply as hickory encodes it for a lowercase question,
//! without OPT, plus the offset of every TTL field. A hit copies the bytes
//! and patches the ID, the flags, the question (the client's own case) and
//! the TTLs. The full path decodes those same bytes into a `Message`, which
//! the server encodes again; the entry records whether that re-encoding is
//! byte-for-byte the copy (`fast`), and whether that holds whatever the case
//! of the client's question (`any_case`), so the fast lane only answers
//! when its bytes are exactly what the full path would send.

use crate::dns::{BinEncodable, Message, MessageType, Name, OpCode, Query, Record, RecordType};
use crate::plugin::Request;
use crate::wire::{WireQuery, flags};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// What a reply is cached under: CoreDNS's key (DO, CD, type, class, lowercase name).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Key<'a> {
    /// The question name, lowercase, in wire form.
    pub lname: &'a [u8],
    /// QTYPE.
    pub qtype: u16,
    /// QCLASS.
    pub qclass: u16,
    /// The query's DNSSEC OK bit.
    pub do_bit: bool,
    /// The query's CD bit.
    pub cd: bool,
}

impl Key<'_> {
    /// A seeded FNV-1a over the key, finished so the low bits (the shard) are well mixed.
    pub(crate) fn hash(&self, seed: u64) -> u64 {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ seed;
        let mut eat = |b: u8| {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        };
        eat(u8::from(self.do_bit));
        eat(u8::from(self.cd));
        self.qtype.to_be_bytes().into_iter().for_each(&mut eat);
        self.qclass.to_be_bytes().into_iter().for_each(&mut eat);
        self.lname.iter().copied().for_each(&mut eat);
        // splitmix64's finaliser.
        h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        h ^ (h >> 31)
    }
}

/// A cached reply.
#[derive(Debug)]
pub(crate) struct Entry {
    /// The key's hash.
    pub(crate) hash: u64,
    pub(crate) do_bit: bool,
    pub(crate) cd: bool,
    pub(crate) qtype: u16,
    pub(crate) qclass: u16,
    qname_len: usize,
    /// Header, lowercase question, records; no OPT.
    wire: Box<[u8]>,
    /// Where each record's TTL sits in `wire`.
    ttls: Box<[u16]>,
    /// Answer, authority and additional counts.
    counts: [u16; 3],
    /// The reply's rcode (4 bits: only NOERROR, NXDOMAIN, SERVFAIL, NOTIMP are kept).
    pub(crate) rcode: u8,
    /// RA as the next plugin set it.
    pub(crate) ra: bool,
    /// AD as the next plugin set it.
    pub(crate) ad: bool,
    /// NOERROR that answers the question (for `prefer_positive`).
    pub(crate) answering: bool,
    /// The last answering entry this one replaced (`prefer_positive`).
    pub(crate) last_known_good: Option<Arc<Entry>>,
    /// When stored, in milliseconds of the cache's clock.
    pub(crate) stored: u64,
    /// How long it is fresh, in seconds (the TTL of every record).
    pub(crate) duration: u32,
    /// The full path's re-encoding equals the copy for a lowercase question.
    pub(crate) fast: bool,
    /// ... and for a question in any case.
    pub(crate) any_case: bool,
    /// Prefetch popularity: the last hit (ms) and the hits without a long gap.
    freq_last: AtomicU64,
    freq_hits: AtomicU64,
    /// A refresh of this entry is under way.
    refreshing: AtomicBool,
    /// After a failed refresh, no new one before this time (ms + 1; 0: none).
    retry_after: AtomicU64,
}

/// What an entry is built from.
#[derive(Debug)]
pub(crate) struct Stored<'a> {
    pub key: Key<'a>,
    pub hash: u64,
    pub answering: bool,
    pub last_known_good: Option<Arc<Entry>>,
    pub now: u64,
    pub duration: u32,
}

impl Entry {
    /// Builds an entry from a reply whose TTLs are already the entry's, or
    /// `None` if its encoding is not one the cache can patch.
    pub(crate) fn build(reply: &Message, s: Stored<'_>) -> Option<Entry> {
        let q = reply.queries.first()?;
        let lname = q.name.to_lowercase();
        let mut m = Message::new(0, MessageType::Response, OpCode::Query);
        m.metadata.authoritative = true;
        m.metadata.recursion_available = reply.metadata.recursion_available;
        m.metadata.authentic_data = reply.metadata.authentic_data;
        m.metadata.response_code = reply.metadata.response_code;
        let mut query = Query::query(lname.clone(), q.query_type);
        query.set_query_class(q.query_class);
        m.queries.push(query);
        let norm = |rs: &[Record]| -> Vec<Record> {
            rs.iter()
                .filter(|r| r.record_type() != RecordType::OPT)
                .map(|r| {
                    let mut r = r.clone();
                    r.name = normalize(&r.name, &lname);
                    r
                })
                .collect()
        };
        m.answers = norm(&reply.answers);
        m.authorities = norm(&reply.authorities);
        m.additionals = norm(&reply.additionals);
        let wire = m.to_vec().ok()?;
        if wire.len() > usize::from(u16::MAX)
            || wire.get(12..12 + s.key.lname.len())? != s.key.lname
        {
            return None;
        }
        let qname_len = s.key.lname.len();
        let (ttls, counts) = walk(&wire, qname_len)?;
        let fast = Message::from_vec(&wire)
            .ok()
            .and_then(|m| m.to_vec().ok())
            .is_some_and(|again| again == wire);
        let any_case = fast && case_robust(&wire, qname_len);
        let rcode = reply.metadata.response_code.low();
        Some(Entry {
            hash: s.hash,
            do_bit: s.key.do_bit,
            cd: s.key.cd,
            qtype: s.key.qtype,
            qclass: s.key.qclass,
            qname_len,
            wire: wire.into_boxed_slice(),
            ttls: ttls.into_boxed_slice(),
            counts,
            rcode,
            ra: reply.metadata.recursion_available,
            ad: reply.metadata.authentic_data,
            answering: s.answering,
            last_known_good: s.last_known_good,
            stored: s.now,
            duration: s.duration,
            fast,
            any_case,
            freq_last: AtomicU64::new(s.now),
            freq_hits: AtomicU64::new(0),
            refreshing: AtomicBool::new(false),
            retry_after: AtomicU64::new(0),
        })
    }

    /// The question name, lowercase, in wire form.
    pub(crate) fn lname(&self) -> &[u8] {
        &self.wire[12..12 + self.qname_len]
    }

    /// Is this the entry for `key`?
    pub(crate) fn matches(&self, key: &Key<'_>) -> bool {
        self.qtype == key.qtype
            && self.qclass == key.qclass
            && self.do_bit == key.do_bit
            && self.cd == key.cd
            && self.lname() == key.lname
    }

    /// Seconds of freshness left at `now` (ms): negative once expired.
    /// Whole seconds of age count, as in CoreDNS.
    pub(crate) fn ttl(&self, now: u64) -> i64 {
        i64::from(self.duration) - (now.saturating_sub(self.stored) / 1000) as i64
    }

    /// Bytes this entry keeps alive.
    pub(crate) fn size(&self) -> usize {
        std::mem::size_of::<Entry>()
            + self.wire.len()
            + self.ttls.len() * 2
            + self.last_known_good.as_ref().map_or(0, |e| e.size())
    }

    /// Number of records.
    #[cfg(test)]
    pub(crate) fn records(&self) -> usize {
        self.ttls.len()
    }

    /// The header flags of a hit besides QR, RD and CD: AA (CoreDNS always
    /// sets it on cached replies), RA as stored, AD as stored if the client
    /// asked for DNSSEC (DO) or set AD itself, and the rcode.
    pub(crate) fn flags(&self, do_bit: bool, ad_asked: bool) -> u16 {
        let mut f = flags::AA | u16::from(self.rcode & 0x0f);
        if self.ra {
            f |= flags::RA;
        }
        if self.ad && (do_bit || ad_asked) {
            f |= flags::AD;
        }
        f
    }

    /// Can the fast lane answer this query from the entry?
    pub(crate) fn fast_for(&self, q: &WireQuery<'_>) -> bool {
        self.fast && (self.any_case || q.qname() == q.lname())
    }

    /// Writes the reply to `q` with every TTL set to `ttl`; false if it does
    /// not fit the client's size (the full path truncates it).
    pub(crate) fn write_fast(
        &self,
        q: &WireQuery<'_>,
        set: u16,
        ttl: u32,
        out: &mut Vec<u8>,
    ) -> bool {
        let body = &self.wire[12 + self.qname_len + 4..];
        if !q.write_reply(set, self.counts, body, out) {
            return false;
        }
        let ttl = ttl.to_be_bytes();
        for &at in self.ttls.iter() {
            let at = usize::from(at);
            out[at..at + 4].copy_from_slice(&ttl);
        }
        true
    }

    /// The reply to `req` as a message, built from the same bytes the fast
    /// lane writes (so the server encodes exactly those again).
    pub(crate) fn to_message(&self, req: &Request, set: u16, ttl: u32) -> Option<Message> {
        let qname = req.qname().to_bytes().ok()?;
        if !qname.eq_ignore_ascii_case(self.lname()) {
            return None;
        }
        let mut buf = self.wire.to_vec();
        let md = &req.message.metadata;
        let mut f = flags::QR | (u16::from(u8::from(md.op_code)) & 0x0f) << 11 | set;
        if md.recursion_desired {
            f |= flags::RD;
        }
        if md.checking_disabled {
            f |= flags::CD;
        }
        buf[0..2].copy_from_slice(&md.id.to_be_bytes());
        buf[2..4].copy_from_slice(&f.to_be_bytes());
        buf[12..12 + self.qname_len].copy_from_slice(&qname);
        let ttl = ttl.to_be_bytes();
        for &at in self.ttls.iter() {
            let at = usize::from(at);
            buf[at..at + 4].copy_from_slice(&ttl);
        }
        Message::from_vec(&buf).ok()
    }

    /// Counts a hit for prefetch: hits within `window` of the previous one
    /// add up, a longer gap starts again at one. Returns the count.
    pub(crate) fn count_hit(&self, window: u64, now: u64) -> u64 {
        let hits = self.peek_hits(window, now);
        self.freq_hits.store(hits, Ordering::Relaxed);
        self.freq_last.store(now, Ordering::Relaxed);
        hits
    }

    /// What [`count_hit`](Self::count_hit) would return, without counting.
    pub(crate) fn peek_hits(&self, window: u64, now: u64) -> u64 {
        let last = self.freq_last.load(Ordering::Relaxed);
        if last < now.saturating_sub(window) {
            1
        } else {
            self.freq_hits.load(Ordering::Relaxed) + 1
        }
    }

    /// Hits counted so far.
    pub(crate) fn hits(&self) -> u64 {
        self.freq_hits.load(Ordering::Relaxed)
    }

    /// Carries popularity over from the entry this one refreshed.
    pub(crate) fn reset_hits(&self, at: u64, hits: u64) {
        self.freq_last.store(at, Ordering::Relaxed);
        self.freq_hits.store(hits, Ordering::Relaxed);
    }

    /// Is a refresh under way?
    pub(crate) fn refreshing(&self) -> bool {
        self.refreshing.load(Ordering::Acquire)
    }

    /// Claims the one refresh this entry may have in flight; false if one
    /// is under way or a failed one is being waited out (`recheck` ms).
    pub(crate) fn begin_refresh(&self, now: u64, recheck: u64) -> bool {
        if recheck > 0 {
            let after = self.retry_after.load(Ordering::Acquire);
            if after != 0 && now + 1 < after {
                return false;
            }
        }
        self.refreshing
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// Ends a refresh; a failed one holds the next off for `recheck` ms.
    pub(crate) fn end_refresh(&self, now: u64, recheck: u64, refreshed: bool) {
        let after = if recheck > 0 && !refreshed {
            now + recheck + 1
        } else {
            0
        };
        self.retry_after.store(after, Ordering::Release);
        self.refreshing.store(false, Ordering::Release);
    }
}

/// `name` with the labels it shares (case aside) with the end of `qname`
/// written as in `qname` (lowercase), so owners that repeat the question
/// compress against it whatever case the first client used.
fn normalize(name: &Name, qname: &Name) -> Name {
    let a: Vec<&[u8]> = name.iter().collect();
    let b: Vec<&[u8]> = qname.iter().collect();
    let shared = a
        .iter()
        .rev()
        .zip(b.iter().rev())
        .take_while(|(x, y)| x.eq_ignore_ascii_case(y))
        .count();
    if shared == 0
        || a.iter()
            .rev()
            .zip(b.iter().rev())
            .take(shared)
            .all(|(x, y)| x == y)
    {
        return name.clone();
    }
    let labels = a[..a.len() - shared]
        .iter()
        .chain(&b[b.len() - shared..])
        .copied();
    match Name::from_labels(labels) {
        Ok(mut n) => {
            n.set_fqdn(name.is_fqdn());
            n
        }
        Err(_) => name.clone(),
    }
}

/// The offsets of every record's TTL and the section counts, checking the
/// message is well formed; `None` if it is not (or is too large to patch).
fn walk(wire: &[u8], qname_len: usize) -> Option<(Vec<u16>, [u16; 3])> {
    let be16 = |at: usize| -> Option<u16> {
        Some(u16::from_be_bytes([*wire.get(at)?, *wire.get(at + 1)?]))
    };
    if be16(4)? != 1 {
        return None;
    }
    let counts = [be16(6)?, be16(8)?, be16(10)?];
    let mut at = 12 + qname_len + 4;
    let total: usize = counts.iter().map(|&c| usize::from(c)).sum();
    let mut ttls = Vec::with_capacity(total);
    for _ in 0..total {
        // The owner: labels up to the root or a pointer.
        loop {
            let len = *wire.get(at)?;
            match len {
                0 => {
                    at += 1;
                    break;
                }
                l if l & 0xc0 == 0xc0 => {
                    at += 2;
                    break;
                }
                l if l & 0xc0 == 0 => at += 1 + usize::from(l),
                _ => return None,
            }
        }
        let ttl_at = at + 4;
        let rdlen = usize::from(be16(at + 8)?);
        at += 10 + rdlen;
        if at > wire.len() {
            return None;
        }
        ttls.push(u16::try_from(ttl_at).ok()?);
    }
    (at == wire.len()).then_some((ttls, counts))
}

/// Does no label that matches a label of the question (case aside) appear
/// in a different case after the question? Then compression decisions do
/// not depend on the case of the client's question (see the module doc).
fn case_robust(wire: &[u8], qname_len: usize) -> bool {
    let qname = &wire[12..12 + qname_len];
    let body = &wire[12 + qname_len + 4..];
    crate::wire::suffixes(qname).all(|suffix| {
        let len = usize::from(suffix[0]);
        let label = &suffix[..1 + len];
        body.windows(label.len())
            .all(|w| !w.eq_ignore_ascii_case(label) || w == label)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owners_repeating_the_question_are_lowercased_there_only() {
        let q = Name::from_ascii("www.example.org.").unwrap();
        let n = normalize(&Name::from_ascii("Mail.EXAMPLE.Org.").unwrap(), &q);
        assert_eq!(n.to_ascii(), "Mail.example.org.");
        let n = normalize(&Name::from_ascii("WWW.example.ORG.").unwrap(), &q);
        assert_eq!(n.to_ascii(), "www.example.org.");
        let n = normalize(&Name::from_ascii("Other.NET.").unwrap(), &q);
        assert_eq!(n.to_ascii(), "Other.NET.");
    }

    /// A tiny deterministic generator for the property test below.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn pick<'a, T>(&mut self, from: &'a [T]) -> &'a T {
            &from[(self.next() % from.len() as u64) as usize]
        }
    }

    /// The claim the fast lane rests on: for an entry marked `any_case`,
    /// the bytes with the question in any case decode and encode again to
    /// themselves; for one marked `fast`, at least in lowercase. Checked on
    /// many random replies full of names that repeat the question's labels
    /// in every case, in compressed and uncompressed RDATA.
    #[test]
    fn copies_are_what_the_full_path_encodes_in_any_case() {
        use crate::dns::{A, RData};
        use hickory_proto::rr::rdata::{CNAME, MX, NS, SOA};
        let lower = ["www", "example", "org", "a", "mail", "x"];
        let other = ["WWW", "Www", "EXAMPLE", "Example", "ORG"];
        let qnames = [
            "www.example.org.",
            "a.example.org.",
            "example.org.",
            "x.www.example.org.",
        ];
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let (mut fast, mut any_case) = (0, 0);
        for _ in 0..2000 {
            let qname = Name::from_ascii(*rng.pick(&qnames)).unwrap();
            // Now and then enough names (all lowercase) to reach hickory's
            // compression limits.
            let most = if rng.next().is_multiple_of(10) { 60 } else { 5 };
            let name = |rng: &mut Rng| {
                let n = 1 + rng.next() % 4;
                let text: Vec<&str> = (0..n)
                    .map(|_| {
                        if most == 5 && rng.next().is_multiple_of(16) {
                            *rng.pick(&other)
                        } else {
                            *rng.pick(&lower)
                        }
                    })
                    .collect();
                Name::from_ascii(format!("{}.", text.join("."))).unwrap()
            };
            let mut reply = Message::new(0, MessageType::Response, OpCode::Query);
            reply
                .queries
                .push(Query::query(qname.clone(), RecordType::A));
            for section in 0..3 {
                for _ in 0..rng.next() % most {
                    let owner = if rng.next().is_multiple_of(3) {
                        qname.clone()
                    } else {
                        name(&mut rng)
                    };
                    let data = match rng.next() % 6 {
                        0 => RData::A(A([192, 0, 2, 1].into())),
                        1 => RData::CNAME(CNAME(name(&mut rng))),
                        2 => RData::NS(NS(name(&mut rng))),
                        3 => RData::MX(MX::new(10, name(&mut rng))),
                        4 => RData::SRV(crate::dns::SRV::new(0, 0, 53, name(&mut rng))),
                        _ => RData::SOA(SOA::new(name(&mut rng), name(&mut rng), 1, 2, 3, 4, 5)),
                    };
                    let r = Record::from_rdata(owner, 60, data);
                    match section {
                        0 => reply.answers.push(r),
                        1 => reply.authorities.push(r),
                        _ => reply.additionals.push(r),
                    }
                }
            }
            let lname = qname.to_lowercase().to_bytes().unwrap();
            let key = Key {
                lname: &lname,
                qtype: 1,
                qclass: 1,
                do_bit: false,
                cd: false,
            };
            let s = Stored {
                key,
                hash: 0,
                answering: true,
                last_known_good: None,
                now: 0,
                duration: 60,
            };
            let Some(e) = Entry::build(&reply, s) else {
                continue;
            };
            if !e.fast {
                continue;
            }
            fast += 1;
            let patterns: Vec<Vec<u8>> = if e.any_case {
                any_case += 1;
                (0..12)
                    .map(|_| {
                        lname
                            .iter()
                            .map(|b| {
                                if rng.next().is_multiple_of(2) {
                                    b.to_ascii_uppercase()
                                } else {
                                    *b
                                }
                            })
                            .collect()
                    })
                    .collect()
            } else {
                vec![lname.clone()]
            };
            for q in patterns {
                let mut bytes = e.wire.to_vec();
                bytes[12..12 + e.qname_len].copy_from_slice(&q);
                let again = Message::from_vec(&bytes).unwrap().to_vec().unwrap();
                assert_eq!(again, bytes, "{reply:?}");
            }
        }
        assert!(fast > 1600, "{fast}");
        assert!(any_case > 500 && any_case < fast, "{any_case} of {fast}");
    }

    #[test]
    fn a_label_in_another_case_makes_an_entry_case_sensitive() {
        let mut wire = vec![0u8; 12];
        wire.extend_from_slice(b"\x01a\x03org\x00\x00\x01\x00\x01");
        wire.extend_from_slice(b"\x03ORG");
        assert!(!case_robust(&wire, 7));
        let n = wire.len();
        wire[n - 3..].copy_from_slice(b"org");
        assert!(case_robust(&wire, 7));
    }
}
