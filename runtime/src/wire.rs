//! The fast lane: a query read straight from its bytes and a reply written
//! straight into the send buffer, with no decoding into a `Message` and no
//! heap allocation.
//!
//! Only the common shape of query is accepted (one IN question, at most an
//! OPT without unusual options, no trailing bytes); anything else, and any
//! query a plugin on the way declines, takes the full path through
//! `Handler::handle`. A plugin answering in the fast lane must produce the
//! same reply the full path would.

use crate::plugin::Proto;
use std::net::SocketAddr;

/// Largest UDP reply we send even if the client advertises more (DNS flag day 2020).
pub const UDP_PAYLOAD_CAP: u16 = 1232;

/// Header flag bits.
pub mod flags {
    /// Query/response.
    pub const QR: u16 = 0x8000;
    /// Authoritative answer.
    pub const AA: u16 = 0x0400;
    /// Truncated.
    pub const TC: u16 = 0x0200;
    /// Recursion desired.
    pub const RD: u16 = 0x0100;
    /// Recursion available.
    pub const RA: u16 = 0x0080;
    /// Authentic data.
    pub const AD: u16 = 0x0020;
    /// Checking disabled.
    pub const CD: u16 = 0x0010;
    /// The response code's low four bits.
    pub const RCODE: u16 = 0x000f;
}

/// The query's EDNS, as far as a reply depends on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WireEdns {
    /// The UDP payload size the client advertised.
    pub payload: u16,
    /// The DNSSEC OK bit.
    pub dnssec_ok: bool,
}

/// A query in the common shape, borrowed from the packet it came in.
#[derive(Clone)]
pub struct WireQuery<'a> {
    packet: &'a [u8],
    qname_len: usize,
    lower: [u8; 255],
    /// The query ID.
    pub id: u16,
    /// The header flags as sent.
    pub flags: u16,
    /// The question type (the class is always IN).
    pub qtype: u16,
    /// The query's OPT, if any.
    pub edns: Option<WireEdns>,
    /// UDP or TCP.
    pub proto: Proto,
    /// The client's address.
    pub client: SocketAddr,
    /// The address the query arrived at.
    pub local: SocketAddr,
    /// The listener, as CoreDNS names it (`dns://:53`; empty in tests).
    pub server: &'a str,
    /// The plugin that wrote the reply: set by the chain hop whose plugin
    /// answered, for the `plugin` label of `coredns_dns_responses_total`.
    pub writer: std::cell::Cell<&'static str>,
}

impl std::fmt::Debug for WireQuery<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WireQuery")
            .field("id", &self.id)
            .field("qname", &self.lname())
            .field("qtype", &self.qtype)
            .field("edns", &self.edns)
            .field("proto", &self.proto)
            .finish()
    }
}

const TYPE_OPT: u16 = 41;
const CLASS_IN: u16 = 1;
const EDNS_COOKIE: u16 = 10;
const EDNS_PADDING: u16 = 12;

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

impl<'a> WireQuery<'a> {
    /// Reads `packet` if it is a standard query in the common shape; `None`
    /// sends it down the full path (which also answers malformed packets).
    pub fn parse(
        packet: &'a [u8],
        proto: Proto,
        client: SocketAddr,
        local: SocketAddr,
    ) -> Option<Self> {
        if packet.len() < 12 + 1 + 4 {
            return None;
        }
        let flags = be16(packet, 2)?;
        // A response, or an opcode other than QUERY.
        if flags & (flags::QR | 0x7800) != 0 {
            return None;
        }
        let (qd, an, ns, ar) = (
            be16(packet, 4)?,
            be16(packet, 6)?,
            be16(packet, 8)?,
            be16(packet, 10)?,
        );
        if qd != 1 || an != 0 || ns != 0 || ar > 1 {
            return None;
        }
        let mut lower = [0u8; 255];
        let mut at = 12;
        loop {
            let len = usize::from(*packet.get(at)?);
            if len > 63 || at - 12 + len + 1 > 255 {
                return None; // a compression pointer or an over-long name
            }
            let label = packet.get(at..at + 1 + len)?;
            for (dst, src) in lower[at - 12..].iter_mut().zip(label) {
                *dst = src.to_ascii_lowercase();
            }
            at += 1 + len;
            if len == 0 {
                break;
            }
        }
        let qname_len = at - 12;
        let qtype = be16(packet, at)?;
        if be16(packet, at + 2)? != CLASS_IN {
            return None;
        }
        at += 4;
        let edns = if ar == 1 {
            let (edns, end) = read_opt(packet, at)?;
            at = end;
            Some(edns)
        } else {
            None
        };
        if at != packet.len() {
            return None;
        }
        Some(WireQuery {
            packet,
            qname_len,
            lower,
            id: be16(packet, 0)?,
            flags,
            qtype,
            edns,
            proto,
            client,
            local,
            server: "",
            writer: std::cell::Cell::new(""),
        })
    }

    /// The same query, as received by listener `server`.
    pub fn at_server(mut self, server: &'a str) -> Self {
        self.server = server;
        self
    }

    /// The query as received.
    pub fn packet(&self) -> &'a [u8] {
        self.packet
    }

    /// The query's size in bytes.
    pub fn packet_len(&self) -> usize {
        self.packet.len()
    }

    /// The question name, lowercase, in presentation form with the final
    /// dot, as `Request::name` gives it (this allocates).
    pub fn name(&self) -> String {
        use crate::dns::{BinDecodable, Name};
        let mut s = Name::from_bytes(self.lname())
            .map(|n| n.to_ascii())
            .unwrap_or_default();
        if !s.ends_with('.') {
            s.push('.');
        }
        s
    }

    /// The question name, lowercased, in wire form.
    pub fn lname(&self) -> &[u8] {
        &self.lower[..self.qname_len]
    }

    /// The question section as sent (name in its original case, type, class).
    pub fn question(&self) -> &'a [u8] {
        &self.packet[12..12 + self.qname_len + 4]
    }

    /// The question name as sent, in wire form.
    pub fn qname(&self) -> &'a [u8] {
        &self.packet[12..12 + self.qname_len]
    }

    /// The DNSSEC OK bit.
    pub fn dnssec_ok(&self) -> bool {
        self.edns.is_some_and(|e| e.dnssec_ok)
    }

    /// The CD (checking disabled) bit.
    pub fn checking_disabled(&self) -> bool {
        self.flags & flags::CD != 0
    }

    /// The AD (authentic data) bit, which a query may set to ask for it (RFC 6840 §5.7).
    pub fn authentic_data(&self) -> bool {
        self.flags & flags::AD != 0
    }

    /// The largest reply the client takes: everything over TCP; over UDP
    /// its EDNS size within 512 and our cap, or 512 without EDNS.
    pub fn size_limit(&self) -> usize {
        match (self.proto, self.edns) {
            (Proto::Tcp, _) => usize::from(u16::MAX),
            (Proto::Udp, Some(e)) => usize::from(e.payload.clamp(512, UDP_PAYLOAD_CAP)),
            (Proto::Udp, None) => 512,
        }
    }

    /// Writes a complete reply into `out` (cleared first): the header (this
    /// query's ID, opcode, RD and CD; QR; `set` adds AA and the rcode), the
    /// question as sent, `body` (the answer, authority and additional
    /// records, laid out for a question of this name's length), and an OPT
    /// if the query had one. Returns false, leaving the reply to the full
    /// path, if it would not fit the client's size.
    pub fn write_reply(&self, set: u16, counts: [u16; 3], body: &[u8], out: &mut Vec<u8>) -> bool {
        let opt_len = if self.edns.is_some() { 11 } else { 0 };
        let total = 12 + self.qname_len + 4 + body.len() + opt_len;
        if total > self.size_limit() {
            return false;
        }
        out.clear();
        out.reserve(total);
        let flags = flags::QR | (self.flags & (flags::RD | flags::CD)) | set;
        let ar = counts[2] + u16::from(self.edns.is_some());
        out.extend_from_slice(&self.id.to_be_bytes());
        out.extend_from_slice(&flags.to_be_bytes());
        for n in [1, counts[0], counts[1], ar] {
            out.extend_from_slice(&n.to_be_bytes());
        }
        out.extend_from_slice(self.question());
        out.extend_from_slice(body);
        if let Some(e) = self.edns {
            out.push(0); // the root
            out.extend_from_slice(&TYPE_OPT.to_be_bytes());
            out.extend_from_slice(&e.payload.clamp(512, UDP_PAYLOAD_CAP).to_be_bytes());
            let do_bit: u16 = if e.dnssec_ok { 0x8000 } else { 0 };
            out.extend_from_slice(&[0, 0]); // extended rcode, version 0
            out.extend_from_slice(&do_bit.to_be_bytes());
            out.extend_from_slice(&[0, 0]); // no options
        }
        true
    }
}

/// An IPv4-mapped IPv6 address as plain IPv4.
pub fn unmap(addr: SocketAddr) -> SocketAddr {
    match addr {
        SocketAddr::V6(v6) => match v6.ip().to_ipv4_mapped() {
            Some(v4) => SocketAddr::new(v4.into(), v6.port()),
            None => addr,
        },
        v4 => v4,
    }
}

/// Reads an OPT record at `at`: version 0, no extended rcode, and only
/// options that do not change a reply (cookies, padding), well formed.
fn read_opt(packet: &[u8], mut at: usize) -> Option<(WireEdns, usize)> {
    if *packet.get(at)? != 0 || be16(packet, at + 1)? != TYPE_OPT {
        return None;
    }
    let payload = be16(packet, at + 3)?;
    let (ext_rcode, version) = (*packet.get(at + 5)?, *packet.get(at + 6)?);
    let flags = be16(packet, at + 7)?;
    if ext_rcode != 0 || version != 0 {
        return None;
    }
    let rdlen = usize::from(be16(packet, at + 9)?);
    at += 11;
    let end = at + rdlen;
    if end > packet.len() {
        return None;
    }
    while at < end {
        let code = be16(packet, at)?;
        let len = usize::from(be16(packet, at + 2)?);
        let ok = match code {
            EDNS_COOKIE => len == 8 || (16..=40).contains(&len),
            EDNS_PADDING => true,
            _ => false,
        };
        if !ok || at + 4 + len > end {
            return None;
        }
        at += 4 + len;
    }
    Some((
        WireEdns {
            payload,
            dnssec_ok: flags & 0x8000 != 0,
        },
        end,
    ))
}

/// The label boundaries of a wire name: each suffix, longest first, down to
/// (not including) the root.
pub fn suffixes(name: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut at = 0;
    std::iter::from_fn(move || {
        let len = usize::from(*name.get(at)?);
        if len == 0 {
            return None;
        }
        let s = &name[at..];
        at += 1 + len;
        Some(s)
    })
}

/// Is the wire name `name` equal to or below `zone` (both lowercase)?
pub fn in_zone(name: &[u8], zone: &[u8]) -> bool {
    zone == [0] || name == zone || suffixes(name).any(|s| s == zone)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr() -> SocketAddr {
        "127.0.0.1:53".parse().unwrap()
    }

    fn query(name: &str, qtype: u16, opt: Option<&[u8]>) -> Vec<u8> {
        let mut p = vec![
            0x12,
            0x34,
            0x01,
            0x10,
            0,
            1,
            0,
            0,
            0,
            0,
            0,
            u8::from(opt.is_some()),
        ];
        for label in name.trim_end_matches('.').split('.') {
            p.push(label.len() as u8);
            p.extend_from_slice(label.as_bytes());
        }
        p.push(0);
        p.extend_from_slice(&qtype.to_be_bytes());
        p.extend_from_slice(&1u16.to_be_bytes());
        if let Some(rdata) = opt {
            p.extend_from_slice(&[0, 0, 41, 0x04, 0xd0, 0, 0, 0x80, 0]);
            p.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
            p.extend_from_slice(rdata);
        }
        p
    }

    fn parse(p: &[u8]) -> Option<WireQuery<'_>> {
        WireQuery::parse(p, Proto::Udp, addr(), addr())
    }

    #[test]
    fn reads_a_plain_query_and_lowercases_the_name() {
        let p = query("WwW.Example.ORG", 1, None);
        let q = parse(&p).unwrap();
        assert_eq!(q.id, 0x1234);
        assert_eq!(q.qtype, 1);
        assert_eq!(q.lname(), b"\x03www\x07example\x03org\x00");
        assert_eq!(q.qname(), b"\x03WwW\x07Example\x03ORG\x00");
        assert_eq!(q.edns, None);
        assert_eq!(q.size_limit(), 512);
        // The test query sets RD and CD, not AD.
        assert!(q.checking_disabled());
        assert!(!q.authentic_data());
        let mut p = p.clone();
        p[3] ^= 0x30; // CD off, AD on
        let q = parse(&p).unwrap();
        assert!(!q.checking_disabled());
        assert!(q.authentic_data());
    }

    #[test]
    fn reads_edns_with_a_cookie() {
        let p = query("a.b", 28, Some(&[0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8]));
        let q = parse(&p).unwrap();
        assert_eq!(
            q.edns,
            Some(WireEdns {
                payload: 1232,
                dnssec_ok: true
            })
        );
        assert_eq!(q.size_limit(), 1232);
    }

    #[test]
    fn leaves_unusual_queries_to_the_full_path() {
        // An NSID request changes the reply; a bad cookie length is FORMERR there.
        assert!(parse(&query("a.b", 1, Some(&[0, 3, 0, 0]))).is_none());
        assert!(parse(&query("a.b", 1, Some(&[0, 10, 0, 3, 1, 2, 3]))).is_none());
        let mut p = query("a.b", 1, None);
        p.push(0); // trailing garbage
        assert!(parse(&p).is_none());
        let mut p = query("a.b", 1, None);
        p[2] |= 0x80; // a response
        assert!(parse(&p).is_none());
        let mut p = query("a.b", 1, None);
        p[2] |= 0x28; // NOTIFY
        assert!(parse(&p).is_none());
        let mut p = query("a.b", 1, None);
        let n = p.len();
        p[n - 1] = 3; // CHAOS
        assert!(parse(&p).is_none());
        let mut p = query("a.b", 1, None);
        p[12] = 0xc0; // a pointer in the question
        assert!(parse(&p).is_none());
        for cut in 0..query("a.b", 1, None).len() {
            assert!(parse(&query("a.b", 1, None)[..cut]).is_none());
        }
    }

    #[test]
    fn writes_a_reply_with_the_question_as_sent_and_an_opt() {
        let p = query("A.b", 1, Some(&[]));
        let q = parse(&p).unwrap();
        let mut out = Vec::new();
        assert!(q.write_reply(flags::AA | 3, [0, 1, 0], b"BODY", &mut out));
        assert_eq!(&out[..4], &[0x12, 0x34, 0x85, 0x13]);
        assert_eq!(&out[4..12], &[0, 1, 0, 0, 0, 1, 0, 1]);
        assert_eq!(&out[12..12 + q.question().len()], q.question());
        let rest = &out[12 + q.question().len()..];
        assert_eq!(&rest[..4], b"BODY");
        assert_eq!(&rest[4..], &[0, 0, 41, 0x04, 0xd0, 0, 0, 0x80, 0, 0, 0]);
        // Too big for 512 bytes without EDNS: the full path truncates it.
        let p = query("a.b", 1, None);
        let q = parse(&p).unwrap();
        assert!(!q.write_reply(0, [1, 0, 0], &[0; 500], &mut out));
    }

    #[test]
    fn suffixes_and_zones() {
        let name = b"\x01a\x01b\x00";
        let all: Vec<&[u8]> = suffixes(name).collect();
        assert_eq!(all, vec![&b"\x01a\x01b\x00"[..], &b"\x01b\x00"[..]]);
        assert!(in_zone(name, b"\x01b\x00"));
        assert!(in_zone(name, b"\x00"));
        assert!(!in_zone(b"\x02ab\x00", b"\x01b\x00"));
    }
}
