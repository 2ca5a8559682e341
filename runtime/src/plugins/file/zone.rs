//! A loaded zone and the authoritative lookup over it: exact matches, CNAME
//! chains inside the zone, wildcards (RFC 4592), delegations, DS from the
//! parent side, NXDOMAIN/NODATA with the SOA, and additional-section data.
//!
//! Storage: owner names and RRsets live in wire form in a few flat buffers,
//! with no allocation per name or record; an answer decodes the records it
//! needs. A hickory `Record` is several hundred bytes, the wire form of an A
//! record sixteen.

use crate::dns::{BinDecodable, BinEncodable, BinEncoder, Name, RData, Record, RecordType};
use crate::wire::in_zone;
use hickory_proto::rr::LowerName;
use hickory_proto::serialize::binary::{BinDecoder, NameEncoding, Restrict};
use std::hash::Hasher;
use std::path::Path;

mod answers;

/// Why a zone file was rejected, with the line to blame when there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneError {
    /// The file with the problem (an `$INCLUDE`d file when it is there).
    pub file: std::path::PathBuf,
    /// 1-based line in the zone file (0: no particular line).
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

const RRSIG: u16 = 46;

/// A name in uncompressed wire form, lowercased: the key nodes are found by.
struct Wire {
    buf: [u8; 256],
    len: usize,
}

impl Wire {
    fn of(name: &Name) -> Wire {
        let mut w = Wire {
            buf: [0; 256],
            len: 0,
        };
        for label in name.iter() {
            // A name is at most 255 octets, so this only guards the buffer.
            let Some(dst) = w.buf.get_mut(w.len + 1..w.len + 1 + label.len()) else {
                break;
            };
            dst.copy_from_slice(label);
            dst.make_ascii_lowercase();
            w.buf[w.len] = label.len() as u8;
            w.len += 1 + label.len();
        }
        w.len += 1; // the root label
        w
    }

    fn bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

fn decode_name(wire: &[u8]) -> Name {
    Name::read(&mut BinDecoder::new(wire)).unwrap_or_default()
}

fn decode_rdata(rtype: RecordType, rdata: &[u8]) -> Option<RData> {
    let len = u16::try_from(rdata.len()).ok()?;
    RData::read(&mut BinDecoder::new(rdata), rtype, Restrict::new(len)).ok()
}

fn be16(b: &[u8]) -> u16 {
    u16::from_be_bytes([b[0], b[1]])
}

fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

/// Owner names (lowercase wire form) by id, with a hash index over them.
#[derive(Default)]
struct NameTable {
    names: Vec<u8>,
    /// Name `i` is `names[starts[i]..starts[i + 1]]`.
    starts: Vec<u32>,
    /// Open addressing, linear probing: id + 1 per used slot, 0 when free.
    /// Kept at most half full; the length is a power of two.
    slots: Vec<u32>,
}

impl NameTable {
    fn new() -> NameTable {
        NameTable {
            names: Vec::new(),
            starts: vec![0],
            slots: vec![0; 64],
        }
    }

    fn len(&self) -> usize {
        self.starts.len() - 1
    }

    fn name(&self, id: usize) -> &[u8] {
        &self.names[self.starts[id] as usize..self.starts[id + 1] as usize]
    }

    fn home(&self, wire: &[u8]) -> usize {
        let mut h = rustc_hash::FxHasher::default();
        h.write(wire);
        // Multiply-shift: the top bits are well mixed, the low ones less so.
        let bits = self.slots.len().trailing_zeros();
        (h.finish().wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (64 - bits)) as usize
    }

    /// The slot holding `wire`, or the free slot where it would go.
    fn probe(&self, wire: &[u8]) -> (usize, Option<usize>) {
        let mask = self.slots.len() - 1;
        let mut i = self.home(wire);
        loop {
            match self.slots[i] {
                0 => return (i, None),
                id if self.name(id as usize - 1) == wire => return (i, Some(id as usize - 1)),
                _ => i = (i + 1) & mask,
            }
        }
    }

    fn find(&self, wire: &[u8]) -> Option<usize> {
        self.probe(wire).1
    }

    /// The id of `wire`, added if new; `None` when the zone outgrows the
    /// 32-bit offsets.
    fn insert(&mut self, wire: &[u8]) -> Option<(usize, bool)> {
        let (slot, found) = self.probe(wire);
        if let Some(id) = found {
            return Some((id, false));
        }
        let id = self.len();
        let end = u32::try_from(self.names.len() + wire.len()).ok()?;
        let tag = u32::try_from(id + 1).ok()?;
        self.names.extend_from_slice(wire);
        self.starts.push(end);
        self.slots[slot] = tag;
        if self.len() * 2 > self.slots.len() {
            self.grow();
        }
        Some((id, true))
    }

    fn grow(&mut self) {
        self.slots = vec![0; self.slots.len() * 2];
        for id in 0..self.len() {
            let (slot, _) = self.probe(self.name(id));
            self.slots[slot] = id as u32 + 1;
        }
    }

    fn shrink_to_fit(&mut self) {
        self.names.shrink_to_fit();
        self.starts.shrink_to_fit();
    }
}

/// One name of the zone: its owner and its RRsets, both in wire form.
///
/// RRsets are stored one after another, each as type (u16), TTL (u32) and
/// byte length (u32) of its records, every record `[rdlength u16][rdata]`
/// (names inside uncompressed, case kept). Each RRSIG is a set of its own,
/// after the data sets: signatures keep their own TTL.
#[derive(Clone, Copy)]
struct Node<'z> {
    owner: &'z [u8],
    sets: &'z [u8],
}

/// One RRset of a node.
#[derive(Clone, Copy)]
struct RRset<'z> {
    code: u16,
    ttl: u32,
    body: &'z [u8],
}

struct Sets<'z>(&'z [u8]);

impl<'z> Iterator for Sets<'z> {
    type Item = RRset<'z>;

    fn next(&mut self) -> Option<RRset<'z>> {
        let head = self.0.get(..10)?;
        let len = be32(&head[6..]) as usize;
        let body = self.0.get(10..10 + len)?;
        self.0 = &self.0[10 + len..];
        Some(RRset {
            code: be16(head),
            ttl: be32(&head[2..]),
            body,
        })
    }
}

/// The rdata of each record in an RRset body.
struct Rdatas<'z>(&'z [u8]);

impl<'z> Iterator for Rdatas<'z> {
    type Item = &'z [u8];

    fn next(&mut self) -> Option<&'z [u8]> {
        let len = usize::from(be16(self.0.get(..2)?));
        let rdata = self.0.get(2..2 + len)?;
        self.0 = &self.0[2 + len..];
        Some(rdata)
    }
}

impl<'z> RRset<'z> {
    fn rtype(self) -> RecordType {
        RecordType::from(self.code)
    }

    fn rdatas(self) -> Rdatas<'z> {
        Rdatas(self.body)
    }

    fn first(self) -> Option<RData> {
        decode_rdata(self.rtype(), self.rdatas().next()?)
    }

    /// The records, decoded, with owner `owner`.
    fn records(self, owner: &Name) -> impl Iterator<Item = Record> {
        let (rtype, ttl) = (self.rtype(), self.ttl);
        self.rdatas().filter_map(move |rd| {
            Some(Record::from_rdata(
                owner.clone(),
                ttl,
                decode_rdata(rtype, rd)?,
            ))
        })
    }
}

impl<'z> Node<'z> {
    fn name(self) -> Name {
        decode_name(self.owner)
    }

    /// Every set, the RRSIGs included.
    fn sets(self) -> Sets<'z> {
        Sets(self.sets)
    }

    /// The data sets (no RRSIGs), in the order their types first appeared.
    fn data_sets(self) -> impl Iterator<Item = RRset<'z>> {
        self.sets().filter(|s| s.code != RRSIG)
    }

    fn get(self, t: RecordType) -> Option<RRset<'z>> {
        let code = u16::from(t);
        self.data_sets().find(|s| s.code == code)
    }

    fn has(self, t: RecordType) -> bool {
        self.get(t).is_some()
    }

    /// The RRSIGs that cover type `t` (the covered type opens their rdata).
    fn sigs_for(self, t: RecordType) -> impl Iterator<Item = RRset<'z>> {
        let covered = u16::from(t).to_be_bytes();
        self.sets()
            .filter(move |s| s.code == RRSIG && s.body.get(2..4) == Some(&covered[..]))
    }

    /// The records of `t` and then their signatures (with `dnssec`), owned by `owner`.
    fn push(self, t: RecordType, owner: &Name, dnssec: bool, out: &mut Vec<Record>) {
        if let Some(set) = self.get(t) {
            out.extend(set.records(owner));
        }
        if dnssec {
            self.push_sigs(t, owner, out);
        }
    }

    fn push_sigs(self, t: RecordType, owner: &Name, out: &mut Vec<Record>) {
        for sig in self.sigs_for(t) {
            out.extend(sig.records(owner));
        }
    }
}

/// Every node of a zone. Names that exist only because something exists
/// below them (empty non-terminals) are nodes without sets.
struct Nodes {
    names: NameTable,
    sets: Vec<u8>,
    /// Node `i`'s sets are `sets[set_starts[i]..set_starts[i + 1]]`.
    set_starts: Vec<u32>,
}

impl Nodes {
    fn len(&self) -> usize {
        self.names.len()
    }

    fn at(&self, id: usize) -> Node<'_> {
        Node {
            owner: self.names.name(id),
            sets: &self.sets[self.set_starts[id] as usize..self.set_starts[id + 1] as usize],
        }
    }

    fn find(&self, name: &Name) -> Option<Node<'_>> {
        self.names
            .find(Wire::of(name).bytes())
            .map(|id| self.at(id))
    }
}

/// One zone, ready to answer.
pub struct Zone {
    origin: LowerName,
    /// The SOA serial.
    pub serial: u32,
    soa: Record,
    nodes: Nodes,
    /// Ids of the nodes with an NSEC record in canonical order (a pre-signed zone).
    nsec_chain: Vec<u32>,
    /// The NSEC3 chain of a zone signed with NSEC3.
    nsec3: Option<Nsec3Chain>,
    /// The zone has delegations below its apex (else no walk is needed).
    has_cuts: bool,
    /// The zone has DNAME records.
    has_dnames: bool,
    /// Answers rendered for the fast lane.
    answers: answers::AnswerCache,
}

impl std::fmt::Debug for Zone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Zone")
            .field("origin", &self.origin)
            .field("serial", &self.serial)
            .field("nodes", &self.nodes.len())
            .field(
                "bytes",
                &(self.nodes.names.names.len() + self.nodes.sets.len()),
            )
            .finish_non_exhaustive()
    }
}

/// An NSEC3 chain (RFC 5155): the hash parameters and the NSEC3 owners
/// sorted by their hash, so matching and covering records are found by
/// binary search. The first label of an owner is its hash in base32hex,
/// an alphabet in ascending byte order: the labels sort like the hashes.
#[derive(Debug)]
struct Nsec3Chain {
    salt: Vec<u8>,
    iterations: u16,
    by_hash: Vec<u32>,
}

fn first_label(wire: &[u8]) -> &[u8] {
    let n = wire.first().map_or(0, |&n| usize::from(n));
    wire.get(1..1 + n).unwrap_or_default()
}

/// Base32hex in lowercase, as hashes appear in NSEC3 owners.
fn base32hex_lower(bytes: &[u8]) -> Vec<u8> {
    const DIGITS: &[u8; 32] = b"0123456789abcdefghijklmnopqrstuv";
    let mut out = Vec::with_capacity((bytes.len() * 8).div_ceil(5));
    let (mut acc, mut bits) = (0u32, 0u32);
    for &b in bytes {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(DIGITS[((acc >> bits) & 31) as usize]);
        }
        acc &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(DIGITS[((acc << (5 - bits)) & 31) as usize]);
    }
    out
}

impl Nsec3Chain {
    fn build(nodes: &Nodes, owners: Vec<u32>) -> Option<Nsec3Chain> {
        use hickory_proto::dnssec::rdata::DNSSECRData;
        let mut params = None;
        for &id in &owners {
            let node = nodes.at(id as usize);
            if params.is_none()
                && let Some(RData::DNSSEC(DNSSECRData::NSEC3(n))) =
                    node.get(RecordType::NSEC3).and_then(RRset::first)
            {
                params = Some((n.salt().to_vec(), n.iterations()));
            }
            let label = String::from_utf8_lossy(first_label(node.owner));
            super::master::base32hex(&label.to_ascii_uppercase()).ok()?;
        }
        let (salt, iterations) = params?;
        let mut by_hash = owners;
        by_hash.sort_by(|&a, &b| {
            first_label(nodes.names.name(a as usize)).cmp(first_label(nodes.names.name(b as usize)))
        });
        Some(Nsec3Chain {
            salt,
            iterations,
            by_hash,
        })
    }

    fn hash(&self, name: &LowerName) -> Option<Vec<u8>> {
        hickory_proto::dnssec::Nsec3HashAlgorithm::SHA1
            .hash(&self.salt, &Name::from(name.clone()), self.iterations)
            .ok()
            .map(|d| base32hex_lower(d.as_ref()))
    }

    fn label(nodes: &Nodes, id: u32) -> &[u8] {
        first_label(nodes.names.name(id as usize))
    }

    /// The node whose hash equals `name`'s.
    fn matching<'n>(&self, nodes: &'n Nodes, name: &LowerName) -> Option<Node<'n>> {
        let h = self.hash(name)?;
        let i = self
            .by_hash
            .binary_search_by(|&id| Self::label(nodes, id).cmp(h.as_slice()))
            .ok()?;
        Some(nodes.at(self.by_hash[i] as usize))
    }

    /// The node whose span covers `name`'s hash (its predecessor, wrapping).
    fn covering<'n>(&self, nodes: &'n Nodes, name: &LowerName) -> Option<Node<'n>> {
        let h = self.hash(name)?;
        let i = self
            .by_hash
            .partition_point(|&id| Self::label(nodes, id) < &h[..]);
        let i = if i == 0 {
            self.by_hash.len().checked_sub(1)?
        } else {
            i - 1
        };
        Some(nodes.at(self.by_hash[i] as usize))
    }
}

/// Which kind of negative answer, for the DNSSEC proof that goes with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Denial {
    /// The name does not exist.
    NxDomain,
    /// The name exists (as a node, or only as an empty non-terminal) without the type.
    NoData,
    /// A wildcard matched, but not for this type.
    WildcardNoData,
}

/// The parts of an authoritative reply.
#[derive(Debug, Default, PartialEq)]
pub struct Lookup {
    /// NXDOMAIN rather than NOERROR.
    pub nxdomain: bool,
    /// YXDOMAIN: a DNAME substitution made a name that is too long.
    pub yxdomain: bool,
    /// Authoritative answer (false for referrals).
    pub authoritative: bool,
    /// Answer section.
    pub answers: Vec<Record>,
    /// Authority section.
    pub authority: Vec<Record>,
    /// Additional section.
    pub additional: Vec<Record>,
}

/// Longest CNAME chain followed inside a zone.
const MAX_CHAIN: usize = 8;

/// One record as loaded, before it is sorted into its node.
#[derive(Clone, Copy)]
struct Item {
    node: u32,
    code: u16,
    len: u16,
    ttl: u32,
    /// Where its rdata starts in `Builder::rdata`.
    at: u32,
}

/// Collects records (from a file as it is parsed, or from a transfer) and
/// lays them out as a [`Zone`].
struct Builder<'a> {
    origin: &'a Name,
    origin_wire: Wire,
    at: &'a dyn Fn(&LowerName, String) -> ZoneError,
    names: NameTable,
    items: Vec<Item>,
    rdata: Vec<u8>,
    /// Reused for encoding one rdata.
    scratch: Vec<u8>,
    soa: Option<Record>,
    /// The first problem; later records are ignored once there is one.
    error: Option<ZoneError>,
}

fn too_large() -> String {
    "zone too large (more than 4 GiB of data)".into()
}

impl<'a> Builder<'a> {
    fn new(origin: &'a Name, at: &'a dyn Fn(&LowerName, String) -> ZoneError) -> Builder<'a> {
        Builder {
            origin,
            origin_wire: Wire::of(origin),
            at,
            names: NameTable::new(),
            items: Vec::new(),
            rdata: Vec::new(),
            scratch: Vec::with_capacity(512),
            soa: None,
            error: None,
        }
    }

    fn add(&mut self, record: Record) {
        if self.error.is_none()
            && let Err(message) = self.try_add(&record)
        {
            self.error = Some((self.at)(&LowerName::new(&record.name), message));
        }
    }

    fn try_add(&mut self, record: &Record) -> Result<(), String> {
        let owner = Wire::of(&record.name);
        if !in_zone(owner.bytes(), self.origin_wire.bytes()) {
            return Err(format!(
                "out-of-zone data: {} is not in {}",
                record.name, self.origin
            ));
        }
        let rtype = record.record_type();
        if rtype == RecordType::SOA {
            if owner.bytes() != self.origin_wire.bytes() {
                return Err("SOA record not at the zone apex".into());
            }
            if self.soa.is_some() {
                return Err("more than one SOA record".into());
            }
            self.soa = Some(record.clone());
        }
        self.scratch.clear();
        let mut enc = BinEncoder::new(&mut self.scratch);
        // The bytes stand alone: no compression pointers, and names keep their case.
        enc.set_name_encoding(NameEncoding::Uncompressed);
        record
            .data
            .emit(&mut enc)
            .map_err(|e| format!("cannot store {rtype} data: {e}"))?;
        let len = u16::try_from(self.scratch.len())
            .map_err(|_| format!("{rtype} data longer than 65535 bytes"))?;
        let at = u32::try_from(self.rdata.len()).map_err(|_| too_large())?;
        let (node, _) = self.names.insert(owner.bytes()).ok_or_else(too_large)?;
        self.rdata.extend_from_slice(&self.scratch);
        self.items.push(Item {
            node: node as u32,
            code: u16::from(rtype),
            len,
            ttl: record.ttl,
            at,
        });
        Ok(())
    }

    fn rdata(&self, item: &Item) -> &[u8] {
        &self.rdata[item.at as usize..item.at as usize + usize::from(item.len)]
    }

    fn finish(mut self) -> Result<Zone, ZoneError> {
        let origin_l = LowerName::new(self.origin);
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        let Some(soa) = self.soa.take() else {
            return Err(ZoneError {
                line: 0,
                ..(self.at)(&origin_l, format!("no SOA record for {}", self.origin))
            });
        };
        let fail = |id: usize, names: &NameTable, message: String| {
            (self.at)(&LowerName::new(&decode_name(names.name(id))), message)
        };
        // Empty non-terminals: every missing ancestor up to the apex. An
        // ancestor already known has had (or will have) its own walk.
        let real = self.names.len();
        let apex_len = self.origin_wire.len;
        let mut wire = Wire {
            buf: [0; 256],
            len: 0,
        };
        for id in 0..real {
            let name = self.names.name(id);
            let len = name.len();
            wire.buf[..len].copy_from_slice(name);
            let mut at = 0;
            loop {
                at += 1 + usize::from(wire.buf[at]);
                if len - at <= apex_len {
                    break;
                }
                match self.names.insert(&wire.buf[at..len]) {
                    Some((_, true)) => {}
                    Some((_, false)) => break,
                    None => return Err(fail(id, &self.names, too_large())),
                }
            }
        }

        // Records grouped by node, file order kept within a node.
        let mut items = std::mem::take(&mut self.items);
        items.sort_by_key(|it| it.node);
        let mut sets = Vec::with_capacity(self.rdata.len() + items.len() * 12);
        let mut set_starts = Vec::with_capacity(self.names.len() + 1);
        set_starts.push(0u32);
        let mut types = Vec::new();
        let mut rest = &items[..];
        let (mut has_cuts, mut has_dnames) = (false, false);
        let (mut nsec, mut nsec3) = (Vec::new(), Vec::new());
        let apex = self.names.find(self.origin_wire.bytes());
        for id in 0..self.names.len() {
            let n = rest.iter().take_while(|it| it.node as usize == id).count();
            let (mine, tail) = rest.split_at(n);
            rest = tail;
            types.clear();
            self.write_node(mine, &mut sets, &mut types)
                .map_err(|m| fail(id, &self.names, m))?;
            let has = |t: RecordType| types.contains(&u16::from(t));
            if has(RecordType::CNAME)
                && types.iter().any(|&t| {
                    !matches!(
                        RecordType::from(t),
                        RecordType::CNAME | RecordType::NSEC | RecordType::NSEC3
                    )
                })
            {
                let name = decode_name(self.names.name(id));
                return Err(fail(
                    id,
                    &self.names,
                    format!("CNAME and other data at {name}"),
                ));
            }
            has_cuts |= has(RecordType::NS) && Some(id) != apex;
            has_dnames |= has(RecordType::DNAME);
            if has(RecordType::NSEC) {
                nsec.push(id as u32);
            }
            if has(RecordType::NSEC3) {
                nsec3.push(id as u32);
            }
            let end = u32::try_from(sets.len()).map_err(|_| fail(id, &self.names, too_large()))?;
            set_starts.push(end);
        }
        drop(items);
        drop(self.rdata);
        sets.shrink_to_fit();
        self.names.shrink_to_fit();
        let nodes = Nodes {
            names: self.names,
            sets,
            set_starts,
        };
        let nsec3 = Nsec3Chain::build(&nodes, nsec3);
        nsec.sort_by_cached_key(|&id| LowerName::new(&nodes.at(id as usize).name()));
        nsec.shrink_to_fit();
        let serial = match &soa.data {
            RData::SOA(s) => s.serial,
            _ => 0,
        };
        Ok(Zone {
            origin: origin_l,
            serial,
            soa,
            nodes,
            nsec_chain: nsec,
            nsec3,
            has_cuts,
            has_dnames,
            answers: Default::default(),
        })
    }

    /// Writes one node's sets; `types` gets the data types written.
    /// An RRset holds each record once (RFC 2181 5); the TTL of the first wins.
    fn write_node(
        &self,
        mine: &[Item],
        sets: &mut Vec<u8>,
        types: &mut Vec<u16>,
    ) -> Result<(), String> {
        for (i, first) in mine.iter().enumerate() {
            if first.code == RRSIG || types.contains(&first.code) {
                continue;
            }
            types.push(first.code);
            let head = sets.len();
            sets.extend_from_slice(&first.code.to_be_bytes());
            sets.extend_from_slice(&first.ttl.to_be_bytes());
            sets.extend_from_slice(&[0; 4]);
            let body = sets.len();
            let rtype = RecordType::from(first.code);
            for item in mine[i..].iter().filter(|it| it.code == first.code) {
                let rdata = self.rdata(item);
                if !Rdatas(&sets[body..]).any(|old| same_rdata(rtype, old, rdata)) {
                    sets.extend_from_slice(&item.len.to_be_bytes());
                    sets.extend_from_slice(rdata);
                }
            }
            let len = u32::try_from(sets.len() - body).map_err(|_| too_large())?;
            sets[head + 6..body].copy_from_slice(&len.to_be_bytes());
        }
        for sig in mine.iter().filter(|it| it.code == RRSIG) {
            sets.extend_from_slice(&RRSIG.to_be_bytes());
            sets.extend_from_slice(&sig.ttl.to_be_bytes());
            sets.extend_from_slice(&(u32::from(sig.len) + 2).to_be_bytes());
            sets.extend_from_slice(&sig.len.to_be_bytes());
            sets.extend_from_slice(self.rdata(sig));
        }
        Ok(())
    }
}

/// Record data equality as hickory sees it: names inside compare without
/// regard to case, so bytes that differ only in case are decoded to check.
fn same_rdata(rtype: RecordType, a: &[u8], b: &[u8]) -> bool {
    a == b
        || (a.eq_ignore_ascii_case(b)
            && decode_rdata(rtype, a).is_some_and(|x| decode_rdata(rtype, b) == Some(x)))
}

impl Zone {
    /// Parses `text` (the contents of `path`) as the zone `origin`.
    pub fn parse(text: &str, path: &Path, origin: &Name) -> Result<Zone, ZoneError> {
        let at = |name: &LowerName, message: String| ZoneError {
            file: path.to_path_buf(),
            line: locate_owner(text, origin, name),
            message,
        };
        let mut builder = Builder::new(origin, &at);
        // Records go into the zone as they are parsed; a syntax error
        // anywhere still wins over a problem with the data.
        super::master::parse_zone_each(text, path, origin, &mut |r| builder.add(r)).map_err(
            |e| ZoneError {
                file: e.file,
                line: e.line,
                message: e.message,
            },
        )?;
        builder.finish()
    }

    /// Builds a zone from records (a parsed file or a transfer); `at` places
    /// an error on the record's owner.
    pub fn from_records(
        records: Vec<Record>,
        origin: &Name,
        at: &dyn Fn(&LowerName, String) -> ZoneError,
    ) -> Result<Zone, ZoneError> {
        let mut builder = Builder::new(origin, at);
        for record in records {
            builder.add(record);
        }
        builder.finish()
    }

    /// The SOA for a negative answer: TTL is min(SOA TTL, MINIMUM).
    fn negative_soa(&self) -> Record {
        let mut soa = self.soa.clone();
        if let RData::SOA(s) = &soa.data {
            soa.ttl = soa.ttl.min(s.minimum);
        }
        soa
    }

    /// The node at `name` if it has data (not an empty non-terminal).
    fn node(&self, name: &LowerName) -> Option<Node<'_>> {
        self.nodes.find(name).filter(|n| !n.sets.is_empty())
    }

    fn exists(&self, name: &LowerName) -> bool {
        self.nodes.find(name).is_some()
    }

    /// Answers `qname`/`qtype` from this zone. `dnssec`: add RRSIGs.
    /// `one_any`: answer ANY with a single RRset (RFC 8482, over UDP).
    pub fn lookup(&self, qname: &Name, qtype: RecordType, dnssec: bool, one_any: bool) -> Lookup {
        let mut out = Lookup {
            authoritative: true,
            ..Lookup::default()
        };
        let mut name = qname.clone();
        let mut seen = Vec::new();
        for _ in 0..MAX_CHAIN {
            let lname = LowerName::new(&name);
            if seen.contains(&lname) {
                break; // a CNAME loop: stop with what we have
            }
            seen.push(lname.clone());
            if !self.origin.zone_of(&lname) {
                return out; // the chain left the zone: the client follows it
            }
            match self.step(&name, &lname, qtype, dnssec, one_any, &mut out) {
                Step::Done => break,
                Step::Follow(target) => name = target,
            }
        }
        if out.authoritative && !out.answers.is_empty() && out.authority.is_empty() {
            // A positive answer carries the apex NS, as CoreDNS does.
            if let Some(node) = self.node(&self.origin)
                && node.has(RecordType::NS)
            {
                node.push(RecordType::NS, &node.name(), dnssec, &mut out.authority);
            }
        }
        self.add_additional(&mut out);
        out
    }

    fn step(
        &self,
        name: &Name,
        lname: &LowerName,
        qtype: RecordType,
        dnssec: bool,
        one_any: bool,
        out: &mut Lookup,
    ) -> Step {
        // A zone cut between the apex and the name: a referral (DS at the cut
        // itself is parent-side data, answered below).
        if let Some((cut, node)) = self.cut_above(lname, qtype) {
            if out.answers.is_empty() {
                out.authoritative = false;
            }
            let owner = node.name();
            node.push(RecordType::NS, &owner, false, &mut out.authority);
            if dnssec {
                match node.get(RecordType::DS) {
                    Some(_) => node.push(RecordType::DS, &owner, true, &mut out.authority),
                    // An insecure delegation: the NSEC at the cut proves there is no DS.
                    None if self.nsec3.is_some() => self.add_nsec3_matching(&cut, out),
                    None => self.add_nsec_at(&cut, out),
                }
            }
            return Step::Done;
        }
        // A DNAME above the name redirects its whole subtree (RFC 6672).
        if let Some((owner, node, target)) = self.dname_above(lname) {
            let dname = node.get(RecordType::DNAME);
            node.push(RecordType::DNAME, &node.name(), dnssec, &mut out.answers);
            let keep = usize::from(name.num_labels() - owner.num_labels());
            let prefix = Name::from_labels(name.iter().take(keep)).unwrap_or_default();
            let Ok(new) = prefix.append_name(&target) else {
                out.yxdomain = true; // the substituted name would be too long
                return Step::Done;
            };
            let ttl = dname.map_or(0, |s| s.ttl);
            out.answers.push(Record::from_rdata(
                name.clone(),
                ttl,
                RData::CNAME(hickory_proto::rr::rdata::CNAME(new.clone())),
            ));
            return Step::Follow(new);
        }
        let (node, wildcard) = match self.node(lname) {
            Some(node) => (node, false),
            None => match self.wildcard_for(lname) {
                Some(node) => (node, true),
                None => {
                    let kind = if self.exists(lname) {
                        Denial::NoData
                    } else {
                        Denial::NxDomain
                    };
                    self.deny(lname, kind, dnssec, out);
                    return Step::Done;
                }
            },
        };
        // Records of the node itself or of a wildcard answer as the name asked.
        let owner = name;
        let nodata = if wildcard {
            Denial::WildcardNoData
        } else {
            Denial::NoData
        };
        if qtype == RecordType::ANY {
            for set in node.data_sets().take(if one_any { 1 } else { usize::MAX }) {
                out.answers.extend(set.records(owner));
                if dnssec {
                    node.push_sigs(set.rtype(), owner, &mut out.answers);
                }
            }
            if out.answers.is_empty() {
                self.deny(lname, nodata, dnssec, out);
            }
            return Step::Done;
        }
        if node.has(qtype) {
            node.push(qtype, owner, dnssec, &mut out.answers);
            if dnssec && wildcard {
                // No closer match exists (RFC 4035 3.1.3.3).
                self.prove_no_closer_match(lname, out);
            }
            return Step::Done;
        }
        if let Some(cname) = node.get(RecordType::CNAME) {
            node.push(RecordType::CNAME, owner, dnssec, &mut out.answers);
            if dnssec && wildcard {
                self.prove_no_closer_match(lname, out);
            }
            if let Some(RData::CNAME(target)) = cname.first() {
                return Step::Follow(target.0);
            }
            return Step::Done;
        }
        self.deny(lname, nodata, dnssec, out);
        Step::Done
    }

    /// For a wildcard answer: no closer name exists (RFC 4035 3.1.3.3,
    /// RFC 5155 7.2.6).
    fn prove_no_closer_match(&self, name: &LowerName, out: &mut Lookup) {
        if self.nsec3.is_none() {
            self.add_covering_nsec(name, out);
            return;
        }
        let mut next_closer = name.clone();
        let mut encloser = name.base_name();
        while !self.exists(&encloser) && encloser != self.origin {
            next_closer = encloser.clone();
            encloser = encloser.base_name();
        }
        self.add_nsec3_covering(&next_closer, out);
    }

    /// NXDOMAIN or NODATA: SOA in authority, and with DNSSEC the NSEC
    /// records that prove it (RFC 4035 3.1.3). After a CNAME the rcode
    /// describes the last name (RFC 6604).
    fn deny(&self, name: &LowerName, kind: Denial, dnssec: bool, out: &mut Lookup) {
        out.nxdomain = kind == Denial::NxDomain;
        let soa = self.negative_soa();
        let ttl = soa.ttl;
        out.authority.push(soa);
        if !dnssec {
            return;
        }
        if let Some(apex) = self.node(&self.origin) {
            let from = out.authority.len();
            apex.push_sigs(RecordType::SOA, &apex.name(), &mut out.authority);
            for sig in &mut out.authority[from..] {
                sig.ttl = ttl;
            }
        }
        if self.nsec3.is_some() {
            self.deny_nsec3(name, kind, out);
            return;
        }
        match kind {
            Denial::NxDomain => {
                self.add_covering_nsec(name, out);
                if let Some(wild) = self.wildcard_at_closest_encloser(name) {
                    self.add_covering_nsec(&wild, out);
                }
            }
            Denial::NoData if self.node(name).is_some() => self.add_nsec_at(name, out),
            // An empty non-terminal has no NSEC of its own: the one covering it proves it empty.
            Denial::NoData => self.add_covering_nsec(name, out),
            Denial::WildcardNoData => {
                if let Some(wild) = self.wildcard_at_closest_encloser(name) {
                    self.add_nsec_at(&wild, out);
                }
                self.add_covering_nsec(name, out);
            }
        }
    }

    /// NSEC3 proofs (RFC 5155 7.2): a closest encloser proof for names that
    /// do not exist, the matching NSEC3 for names that do.
    fn deny_nsec3(&self, name: &LowerName, kind: Denial, out: &mut Lookup) {
        match kind {
            Denial::NxDomain => {
                if let Some(ce) = self.closest_encloser_proof(name, out)
                    && let Ok(wild) = Name::from(ce).prepend_label("*")
                {
                    self.add_nsec3_covering(&LowerName::new(&wild), out);
                }
            }
            Denial::NoData => self.add_nsec3_matching(name, out),
            Denial::WildcardNoData => {
                if let Some(ce) = self.closest_encloser_proof(name, out)
                    && let Ok(wild) = Name::from(ce).prepend_label("*")
                {
                    self.add_nsec3_matching(&LowerName::new(&wild), out);
                }
            }
        }
    }

    /// Adds the NSEC3 matching the closest encloser of `name` and the one
    /// covering the next closer name; returns the closest encloser.
    fn closest_encloser_proof(&self, name: &LowerName, out: &mut Lookup) -> Option<LowerName> {
        let mut next_closer = name.clone();
        let mut encloser = name.base_name();
        while !self.exists(&encloser) && encloser != self.origin {
            next_closer = encloser.clone();
            encloser = encloser.base_name();
        }
        self.add_nsec3_matching(&encloser, out);
        self.add_nsec3_covering(&next_closer, out);
        Some(encloser)
    }

    fn add_nsec3_matching(&self, name: &LowerName, out: &mut Lookup) {
        if let Some(node) = self
            .nsec3
            .as_ref()
            .and_then(|c| c.matching(&self.nodes, name))
        {
            add_proof(node, RecordType::NSEC3, out);
        }
    }

    fn add_nsec3_covering(&self, name: &LowerName, out: &mut Lookup) {
        if let Some(node) = self
            .nsec3
            .as_ref()
            .and_then(|c| c.covering(&self.nodes, name))
        {
            add_proof(node, RecordType::NSEC3, out);
        }
    }

    /// `*.` + the closest encloser of a name that does not exist.
    fn wildcard_at_closest_encloser(&self, name: &LowerName) -> Option<LowerName> {
        let mut encloser = name.base_name();
        while !self.exists(&encloser) && encloser != self.origin {
            encloser = encloser.base_name();
        }
        Some(LowerName::new(
            &Name::from(encloser).prepend_label("*").ok()?,
        ))
    }

    /// The NSEC record at `owner` and its signatures, once.
    fn add_nsec_at(&self, owner: &LowerName, out: &mut Lookup) {
        if let Some(node) = self.node(owner) {
            add_proof(node, RecordType::NSEC, out);
        }
    }

    /// The NSEC whose owner is the canonical predecessor of `name` (the one
    /// whose span covers it), wrapping around the end of the chain.
    fn add_covering_nsec(&self, name: &LowerName, out: &mut Lookup) {
        let chain = &self.nsec_chain;
        let i = chain
            .partition_point(|&id| LowerName::new(&self.nodes.at(id as usize).name()) <= *name);
        let id = if i == 0 {
            chain.last()
        } else {
            chain.get(i - 1)
        };
        if let Some(&id) = id {
            add_proof(self.nodes.at(id as usize), RecordType::NSEC, out);
        }
    }

    /// The highest delegation point strictly between the apex and `name`
    /// (or at `name`, unless the question is the parent-side DS).
    fn cut_above(&self, name: &LowerName, qtype: RecordType) -> Option<(LowerName, Node<'_>)> {
        if !self.has_cuts {
            return None;
        }
        let mut chain = Vec::new();
        let mut n = name.clone();
        while n != self.origin && self.origin.zone_of(&n) {
            chain.push(n.clone());
            n = n.base_name();
        }
        for c in chain.into_iter().rev() {
            if c == *name && qtype == RecordType::DS {
                return None;
            }
            if let Some(node) = self.node(&c)
                && node.has(RecordType::NS)
            {
                return Some((c, node));
            }
        }
        None
    }

    /// The highest DNAME strictly above `name` in the zone, with its target.
    fn dname_above(&self, name: &LowerName) -> Option<(LowerName, Node<'_>, Name)> {
        if !self.has_dnames {
            return None;
        }
        let mut chain = Vec::new();
        let mut n = name.base_name();
        while self.origin.zone_of(&n) {
            chain.push(n.clone());
            if n == self.origin {
                break;
            }
            n = n.base_name();
        }
        chain.into_iter().rev().find_map(|owner| {
            let node = self.node(&owner)?;
            // hickory has no DNAME type: the rdata is the target name.
            let rdata = node.get(RecordType::DNAME)?.rdatas().next()?;
            let target = Name::read(&mut BinDecoder::new(rdata)).ok()?;
            Some((owner, node, target))
        })
    }

    /// The wildcard node that synthesises `name`, if any: `*.` + the closest
    /// encloser, and only when `name` itself does not exist (RFC 4592).
    fn wildcard_for(&self, name: &LowerName) -> Option<Node<'_>> {
        if self.exists(name) {
            return None;
        }
        let mut encloser = name.base_name();
        while !self.exists(&encloser) && encloser != self.origin {
            encloser = encloser.base_name();
        }
        let wildcard = LowerName::new(&Name::from(encloser).prepend_label("*").ok()?);
        self.node(&wildcard)
    }

    /// A/AAAA in the zone for the targets of MX, SRV and NS records in the
    /// answer and authority sections (glue for referrals).
    fn add_additional(&self, out: &mut Lookup) {
        let mut targets: Vec<Name> = Vec::new();
        for r in out.answers.iter().chain(&out.authority) {
            let t = match &r.data {
                RData::MX(mx) => mx.exchange.clone(),
                RData::SRV(srv) => srv.target.clone(),
                RData::NS(ns) => ns.0.clone(),
                _ => continue,
            };
            if !targets.iter().any(|x| x.eq_ignore_root_case(&t)) {
                targets.push(t);
            }
        }
        for t in targets {
            let lt = LowerName::new(&t);
            if !self.origin.zone_of(&lt) {
                continue;
            }
            if let Some(node) = self.node(&lt) {
                let owner = node.name();
                for rt in [RecordType::A, RecordType::AAAA] {
                    node.push(rt, &owner, false, &mut out.additional);
                }
            }
        }
    }

    /// The SOA record.
    pub fn soa(&self) -> &Record {
        &self.soa
    }

    /// Every record, decoded, for zone transfers and tests, in canonical
    /// name order (RFC 4034 6.1), so a transfer is the same every time.
    pub fn records(&self) -> impl Iterator<Item = Record> + '_ {
        let mut names: Vec<(LowerName, usize)> = (0..self.nodes.len())
            .map(|id| (LowerName::new(&self.nodes.at(id).name()), id))
            .collect();
        names.sort();
        names.into_iter().flat_map(|(name, id)| {
            let name = Name::from(name);
            self.nodes
                .at(id)
                .sets()
                .flat_map(move |set| set.records(&name).collect::<Vec<_>>())
        })
    }
}

/// The NSEC or NSEC3 record at `node` and its signatures, once.
fn add_proof(node: Node<'_>, rtype: RecordType, out: &mut Lookup) {
    if !node.has(rtype) {
        return;
    }
    let owner = node.name();
    if out
        .authority
        .iter()
        .any(|r| r.record_type() == rtype && r.name == owner)
    {
        return;
    }
    node.push(rtype, &owner, true, &mut out.authority);
}

enum Step {
    Done,
    Follow(Name),
}

/// Logical entries of a zone file (a record may span lines in parentheses)
/// with their first line number.
fn entries(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let (mut depth, mut quoted, mut comment) = (0usize, false, false);
    let mut cur = String::new();
    let mut start = 1;
    let mut line = 1;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\n' => {
                comment = false;
                line += 1;
                if depth == 0 && !quoted {
                    if !cur.trim().is_empty() {
                        out.push((start, std::mem::take(&mut cur)));
                    }
                    cur.clear();
                    start = line;
                    continue;
                }
                cur.push(' ');
                continue;
            }
            _ if comment => continue,
            '\\' if quoted => {
                cur.push(c);
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
                continue;
            }
            '"' => quoted = !quoted,
            ';' if !quoted => {
                comment = true;
                continue;
            }
            '(' if !quoted => depth += 1,
            ')' if !quoted => depth = depth.saturating_sub(1),
            _ => {}
        }
        cur.push(c);
    }
    if !cur.trim().is_empty() {
        out.push((start, cur));
    }
    out
}

/// The first line whose entry has owner `name`.
fn locate_owner(text: &str, origin: &Name, name: &LowerName) -> usize {
    let mut current = Name::from(LowerName::new(origin));
    let mut origin = origin.clone();
    for (line, entry) in entries(text) {
        let trimmed = entry.trim_start();
        let first = trimmed.split_whitespace().next().unwrap_or("");
        if first.eq_ignore_ascii_case("$ORIGIN") {
            if let Some(o) = trimmed
                .split_whitespace()
                .nth(1)
                .and_then(|o| Name::parse(o, Some(&origin)).ok())
            {
                origin = o;
            }
            continue;
        }
        if first.starts_with('$') {
            continue;
        }
        if !entry.starts_with([' ', '\t']) {
            current = if first == "@" {
                origin.clone()
            } else {
                Name::parse(first, Some(&origin)).unwrap_or_else(|_| origin.clone())
            };
        }
        if LowerName::new(&current) == *name {
            return line;
        }
    }
    0
}
