//! A loaded zone and the authoritative lookup over it: exact matches, CNAME
//! chains inside the zone, wildcards (RFC 4592), delegations, DS from the
//! parent side, NXDOMAIN/NODATA with the SOA, and additional-section data.

use crate::dns::{BinDecodable, Name, RData, Record, RecordType};
use hickory_proto::rr::LowerName;
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
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

/// The RRsets at one owner name.
#[derive(Debug, Default)]
struct Node {
    sets: Vec<(RecordType, Vec<Record>)>,
    /// RRSIGs at this name, by the type they cover.
    sigs: Vec<Record>,
}

impl Node {
    fn get(&self, t: RecordType) -> Option<&[Record]> {
        self.sets
            .iter()
            .find(|(k, _)| *k == t)
            .map(|(_, v)| v.as_slice())
    }

    fn sigs_for(&self, t: RecordType) -> impl Iterator<Item = &Record> {
        self.sigs.iter().filter(move |r| match &r.data {
            RData::DNSSEC(hickory_proto::dnssec::rdata::DNSSECRData::RRSIG(sig)) => {
                sig.input().type_covered == t
            }
            _ => false,
        })
    }
}

/// One zone, ready to answer.
#[derive(Debug)]
pub struct Zone {
    origin: LowerName,
    /// The SOA serial.
    pub serial: u32,
    soa: Record,
    nodes: HashMap<LowerName, Node>,
    /// Names that exist only because something exists below them.
    empty_non_terminals: HashSet<LowerName>,
    /// Owners of NSEC records in canonical order (a pre-signed zone).
    nsec_chain: Vec<LowerName>,
    /// The NSEC3 chain of a zone signed with NSEC3.
    nsec3: Option<Nsec3Chain>,
    /// The zone has delegations below its apex (else no walk is needed).
    has_cuts: bool,
    /// The zone has DNAME records.
    has_dnames: bool,
    /// Answers rendered for the fast lane.
    answers: answers::AnswerCache,
}

/// An NSEC3 chain (RFC 5155): the hash parameters and the owners sorted by
/// their hash, so matching and covering records are found by binary search.
#[derive(Debug)]
struct Nsec3Chain {
    salt: Vec<u8>,
    iterations: u16,
    by_hash: Vec<(Vec<u8>, LowerName)>,
}

impl Nsec3Chain {
    fn build(nodes: &HashMap<LowerName, Node>) -> Option<Nsec3Chain> {
        use hickory_proto::dnssec::rdata::DNSSECRData;
        let mut params = None;
        let mut by_hash = Vec::new();
        for (owner, node) in nodes {
            let Some(records) = node.get(RecordType::NSEC3) else {
                continue;
            };
            if let Some(RData::DNSSEC(DNSSECRData::NSEC3(n))) = records.first().map(|r| &r.data) {
                params.get_or_insert((n.salt().to_vec(), n.iterations()));
            }
            let label = Name::from(owner.clone())
                .iter()
                .next()
                .map(|l| String::from_utf8_lossy(l).into_owned())?;
            let hash = super::master::base32hex(&label.to_ascii_uppercase()).ok()?;
            by_hash.push((hash, owner.clone()));
        }
        let (salt, iterations) = params?;
        by_hash.sort();
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
            .map(|d| d.as_ref().to_vec())
    }

    /// The owner whose hash equals `name`'s.
    fn matching(&self, name: &LowerName) -> Option<&LowerName> {
        let h = self.hash(name)?;
        let i = self.by_hash.binary_search_by(|(x, _)| x.cmp(&h)).ok()?;
        Some(&self.by_hash[i].1)
    }

    /// The owner whose span covers `name`'s hash (its predecessor, wrapping).
    fn covering(&self, name: &LowerName) -> Option<&LowerName> {
        let h = self.hash(name)?;
        let i = self.by_hash.partition_point(|(x, _)| *x < h);
        let i = if i == 0 {
            self.by_hash.len().checked_sub(1)?
        } else {
            i - 1
        };
        Some(&self.by_hash[i].1)
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

impl Zone {
    /// Parses `text` (the contents of `path`) as the zone `origin`.
    pub fn parse(text: &str, path: &Path, origin: &Name) -> Result<Zone, ZoneError> {
        let records = super::master::parse_zone(text, path, origin).map_err(|e| ZoneError {
            file: e.file,
            line: e.line,
            message: e.message,
        })?;
        Self::from_records(records, origin, &|name: &LowerName, message: String| {
            ZoneError {
                file: path.to_path_buf(),
                line: locate_owner(text, origin, name),
                message,
            }
        })
    }

    /// Builds a zone from records (a parsed file or a transfer); `at` places
    /// an error on the record's owner.
    pub fn from_records(
        records: Vec<Record>,
        origin: &Name,
        at: &dyn Fn(&LowerName, String) -> ZoneError,
    ) -> Result<Zone, ZoneError> {
        let origin_l = LowerName::new(origin);
        let mut nodes: HashMap<LowerName, Node> = HashMap::default();
        let mut soa = None;
        for record in records {
            let owner = LowerName::new(&record.name);
            if !origin_l.zone_of(&owner) {
                let message = format!("out-of-zone data: {} is not in {}", record.name, origin);
                return Err(at(&owner, message));
            }
            let rtype = record.record_type();
            if rtype == RecordType::SOA {
                if owner != origin_l {
                    return Err(at(&owner, "SOA record not at the zone apex".into()));
                }
                if soa.is_some() {
                    return Err(at(&owner, "more than one SOA record".into()));
                }
                soa = Some(record.clone());
            }
            let node = nodes.entry(owner).or_default();
            if rtype == RecordType::RRSIG {
                node.sigs.push(record);
                continue;
            }
            match node.sets.iter_mut().find(|(t, _)| *t == rtype) {
                // An RRset holds each record once (RFC 2181 5); the TTL of the first wins.
                Some((_, set)) => {
                    if !set.iter().any(|r| r.data == record.data) {
                        let mut record = record;
                        record.ttl = set[0].ttl;
                        set.push(record);
                    }
                }
                None => node.sets.push((rtype, vec![record])),
            }
        }
        let Some(soa) = soa else {
            return Err(ZoneError {
                line: 0,
                ..at(&origin_l, format!("no SOA record for {origin}"))
            });
        };
        for (name, node) in &nodes {
            let has_cname = node.get(RecordType::CNAME).is_some();
            let others = node.sets.iter().any(|(t, _)| {
                !matches!(*t, RecordType::CNAME | RecordType::NSEC | RecordType::NSEC3)
            });
            if has_cname && others {
                return Err(at(
                    name,
                    format!("CNAME and other data at {}", Name::from(name.clone())),
                ));
            }
        }
        let mut ents = HashSet::default();
        for name in nodes.keys() {
            let mut n = name.base_name();
            while origin_l.zone_of(&n) && n != origin_l {
                if !nodes.contains_key(&n) {
                    ents.insert(n.clone());
                }
                n = n.base_name();
            }
        }
        // Most RRsets hold one record: give back the room Vec growth reserved.
        for node in nodes.values_mut() {
            node.sets.shrink_to_fit();
            node.sigs.shrink_to_fit();
            for (_, set) in &mut node.sets {
                set.shrink_to_fit();
            }
        }
        nodes.shrink_to_fit();
        let has_cuts = nodes
            .iter()
            .any(|(k, n)| *k != origin_l && n.get(RecordType::NS).is_some());
        let has_dnames = nodes.values().any(|n| n.get(RecordType::DNAME).is_some());
        let nsec3 = Nsec3Chain::build(&nodes);
        let mut nsec_chain: Vec<LowerName> = nodes
            .iter()
            .filter(|(_, n)| n.get(RecordType::NSEC).is_some())
            .map(|(k, _)| k.clone())
            .collect();
        nsec_chain.sort();
        let serial = match &soa.data {
            RData::SOA(s) => s.serial,
            _ => 0,
        };
        Ok(Zone {
            origin: origin_l,
            serial,
            soa,
            nodes,
            empty_non_terminals: ents,
            nsec_chain,
            nsec3,
            has_cuts,
            has_dnames,
            answers: Default::default(),
        })
    }

    /// The SOA for a negative answer: TTL is min(SOA TTL, MINIMUM).
    fn negative_soa(&self) -> Record {
        let mut soa = self.soa.clone();
        if let RData::SOA(s) = &soa.data {
            soa.ttl = soa.ttl.min(s.minimum);
        }
        soa
    }

    fn exists(&self, name: &LowerName) -> bool {
        self.nodes.contains_key(name) || self.empty_non_terminals.contains(name)
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
            if let Some(node) = self.nodes.get(&self.origin)
                && let Some(ns) = node.get(RecordType::NS)
            {
                out.authority.extend(ns.iter().cloned());
                if dnssec {
                    out.authority.extend(node.sigs_for(RecordType::NS).cloned());
                }
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
        if let Some(cut) = self.cut_above(lname, qtype) {
            if out.answers.is_empty() {
                out.authoritative = false;
            }
            let node = &self.nodes[&cut];
            out.authority
                .extend(node.get(RecordType::NS).unwrap_or_default().iter().cloned());
            if dnssec {
                match node.get(RecordType::DS) {
                    Some(ds) => {
                        out.authority.extend(ds.iter().cloned());
                        out.authority.extend(node.sigs_for(RecordType::DS).cloned());
                    }
                    // An insecure delegation: the NSEC at the cut proves there is no DS.
                    None if self.nsec3.is_some() => self.add_nsec3_matching(&cut, out),
                    None => self.add_nsec_at(&cut, out),
                }
            }
            return Step::Done;
        }
        // A DNAME above the name redirects its whole subtree (RFC 6672).
        if let Some((owner, node, target)) = self.dname_above(lname) {
            let dname = node.get(RecordType::DNAME).unwrap_or_default();
            out.answers.extend(dname.iter().cloned());
            if dnssec {
                out.answers
                    .extend(node.sigs_for(RecordType::DNAME).cloned());
            }
            let keep = usize::from(name.num_labels() - Name::from(owner).num_labels());
            let prefix = Name::from_labels(name.iter().take(keep)).unwrap_or_default();
            let Ok(new) = prefix.append_name(&target) else {
                out.yxdomain = true; // the substituted name would be too long
                return Step::Done;
            };
            let ttl = dname.first().map_or(0, |r| r.ttl);
            out.answers.push(Record::from_rdata(
                name.clone(),
                ttl,
                RData::CNAME(hickory_proto::rr::rdata::CNAME(new.clone())),
            ));
            return Step::Follow(new);
        }
        let (node, wildcard) = match self.nodes.get(lname) {
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
        let own = |r: &Record| {
            let mut r = r.clone();
            if wildcard || r.name.to_lowercase() == name.to_lowercase() {
                r.name = name.clone();
            }
            r
        };
        if qtype == RecordType::ANY {
            let sets = node
                .sets
                .iter()
                .filter(|(t, _)| !matches!(*t, RecordType::RRSIG));
            for (t, records) in sets.take(if one_any { 1 } else { usize::MAX }) {
                out.answers.extend(records.iter().map(own));
                if dnssec {
                    out.answers.extend(node.sigs_for(*t).map(own));
                }
            }
            if out.answers.is_empty() {
                self.deny(
                    lname,
                    if wildcard {
                        Denial::WildcardNoData
                    } else {
                        Denial::NoData
                    },
                    dnssec,
                    out,
                );
            }
            return Step::Done;
        }
        if let Some(records) = node.get(qtype) {
            out.answers.extend(records.iter().map(own));
            if dnssec {
                out.answers.extend(node.sigs_for(qtype).map(own));
                if wildcard {
                    // No closer match exists (RFC 4035 3.1.3.3).
                    self.prove_no_closer_match(lname, out);
                }
            }
            return Step::Done;
        }
        if let Some(cname) = node.get(RecordType::CNAME) {
            out.answers.extend(cname.iter().map(own));
            if dnssec {
                out.answers
                    .extend(node.sigs_for(RecordType::CNAME).map(own));
                if wildcard {
                    self.prove_no_closer_match(lname, out);
                }
            }
            if let Some(RData::CNAME(target)) = cname.first().map(|r| &r.data) {
                return Step::Follow(target.0.clone());
            }
            return Step::Done;
        }
        self.deny(
            lname,
            if wildcard {
                Denial::WildcardNoData
            } else {
                Denial::NoData
            },
            dnssec,
            out,
        );
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
        out.authority.push(self.negative_soa());
        if !dnssec {
            return;
        }
        if let Some(apex) = self.nodes.get(&self.origin) {
            out.authority
                .extend(apex.sigs_for(RecordType::SOA).map(|r| {
                    let mut r = r.clone();
                    r.ttl = self.negative_soa().ttl;
                    r
                }));
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
            Denial::NoData if self.nodes.contains_key(name) => self.add_nsec_at(name, out),
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
        if let Some(owner) = self.nsec3.as_ref().and_then(|c| c.matching(name)).cloned() {
            self.add_proof_at(&owner, RecordType::NSEC3, out);
        }
    }

    fn add_nsec3_covering(&self, name: &LowerName, out: &mut Lookup) {
        if let Some(owner) = self.nsec3.as_ref().and_then(|c| c.covering(name)).cloned() {
            self.add_proof_at(&owner, RecordType::NSEC3, out);
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
        self.add_proof_at(owner, RecordType::NSEC, out);
    }

    /// The NSEC or NSEC3 record at `owner` and its signatures, once.
    fn add_proof_at(&self, owner: &LowerName, rtype: RecordType, out: &mut Lookup) {
        let Some(node) = self.nodes.get(owner) else {
            return;
        };
        let Some(proof) = node.get(rtype) else {
            return;
        };
        if out
            .authority
            .iter()
            .any(|r| r.record_type() == rtype && LowerName::new(&r.name) == *owner)
        {
            return;
        }
        out.authority.extend(proof.iter().cloned());
        out.authority.extend(node.sigs_for(rtype).cloned());
    }

    /// The NSEC whose owner is the canonical predecessor of `name` (the one
    /// whose span covers it), wrapping around the end of the chain.
    fn add_covering_nsec(&self, name: &LowerName, out: &mut Lookup) {
        if self.nsec_chain.is_empty() {
            return;
        }
        let i = self.nsec_chain.partition_point(|o| o <= name);
        let owner = if i == 0 {
            self.nsec_chain.last()
        } else {
            self.nsec_chain.get(i - 1)
        };
        if let Some(owner) = owner.cloned() {
            self.add_nsec_at(&owner, out);
        }
    }

    /// The highest delegation point strictly between the apex and `name`
    /// (or at `name`, unless the question is the parent-side DS).
    fn cut_above(&self, name: &LowerName, qtype: RecordType) -> Option<LowerName> {
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
            if self
                .nodes
                .get(&c)
                .is_some_and(|node| node.get(RecordType::NS).is_some())
            {
                return Some(c);
            }
        }
        None
    }

    /// The highest DNAME strictly above `name` in the zone, with its target.
    fn dname_above(&self, name: &LowerName) -> Option<(LowerName, &Node, Name)> {
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
            let node = self.nodes.get(&owner)?;
            let target = match &node.get(RecordType::DNAME)?.first()?.data {
                RData::Unknown { rdata, .. } => Name::read(
                    &mut hickory_proto::serialize::binary::BinDecoder::new(&rdata.anything),
                )
                .ok()?,
                _ => return None,
            };
            Some((owner, node, target))
        })
    }

    /// The wildcard node that synthesises `name`, if any: `*.` + the closest
    /// encloser, and only when `name` itself does not exist (RFC 4592).
    fn wildcard_for(&self, name: &LowerName) -> Option<&Node> {
        if self.exists(name) {
            return None;
        }
        let mut encloser = name.base_name();
        while !self.exists(&encloser) && encloser != self.origin {
            encloser = encloser.base_name();
        }
        let wildcard = LowerName::new(&Name::from(encloser).prepend_label("*").ok()?);
        self.nodes.get(&wildcard)
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
            if let Some(node) = self.nodes.get(&lt) {
                for rt in [RecordType::A, RecordType::AAAA] {
                    out.additional
                        .extend(node.get(rt).unwrap_or_default().iter().cloned());
                }
            }
        }
    }

    /// The SOA record.
    pub fn soa(&self) -> &Record {
        &self.soa
    }

    /// Every record, for zone transfers and tests, in canonical name order
    /// (RFC 4034 6.1), so a transfer is the same every time.
    pub fn records(&self) -> impl Iterator<Item = &Record> {
        let mut names: Vec<&LowerName> = self.nodes.keys().collect();
        names.sort();
        names.into_iter().flat_map(|name| {
            let n = &self.nodes[name];
            n.sets
                .iter()
                .flat_map(|(_, v)| v.iter())
                .chain(n.sigs.iter())
        })
    }
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
