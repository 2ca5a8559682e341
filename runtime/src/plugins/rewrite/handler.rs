use super::setup::{
    AnswerRule, Auto, CnameRule, Edns0Action, Edns0Option, Edns0Rule, Kind, LocalData, Matcher,
    Mode, NameRule, RewriteConfig, Rule, Variable,
};
use crate::dns::{DNSClass, Edns, Message, Name, Query, RData, Record, RecordType, ResponseCode};
use crate::plugin::{Answer, Handler, Meta, Outcome, Plugin, PluginError, Proto, Request, Setup};
use crate::site::BuildEnv;
use crate::upstream::Upstream;
use crate::wire::WireQuery;
use corec_compiler::Diagnostic;
use hickory_proto::rr::rdata::opt::{ClientSubnet, EdnsCode, EdnsOption, NSIDPayload};
use regex::{Captures, Regex};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

const LOG: &str = "plugin/rewrite";

/// The `rewrite` plugin.
#[derive(Debug)]
pub struct Rewrite {
    rules: Vec<Rule>,
    upstream: Upstream,
    /// Every rule can be decided from the question alone, so a query no
    /// rule applies to can keep the fast lane.
    wire_decidable: bool,
    /// Some EDNS0 rule inserts a metadata value.
    reads_metadata: bool,
}

/// The query as the rules see and change it.
#[derive(Debug)]
struct State {
    /// The question name, lowercase and fully qualified (CoreDNS's `state.Name()`).
    name: String,
    /// The question name as sent downstream, when a rule changed it.
    new_qname: Option<Name>,
    /// The question name as it stands, case kept (`{qname}`).
    qname_text: String,
    qtype: RecordType,
    qclass: DNSClass,
    /// The query's EDNS as it stands.
    edns: Option<Edns>,
    client: SocketAddr,
    local: SocketAddr,
    proto: Proto,
    /// The query's metadata, when a rule reads it.
    meta: Option<Meta>,
}

/// How a name in the reply is mapped.
#[derive(Debug)]
enum Mapper<'a> {
    /// The rewritten question name, or a name below it, back to the name
    /// the rule saw.
    Remap { from: String, to: String },
    /// A suffix to another.
    Suffix { suffix: &'a str, to: &'a str },
    /// A regular expression and its replacement.
    Regex(&'a Regex, &'a str),
}

/// What is done to the reply, collected while rules apply to the query and
/// applied in reverse.
#[derive(Debug)]
enum Respond<'a> {
    /// Owner names.
    Names(Mapper<'a>),
    /// Names records point to.
    Values(Mapper<'a>),
    /// TTLs clamped.
    Ttl(u32, u32),
    /// The rcode.
    Rcode(u16, u16),
    /// A CNAME target, and what follows it resolved anew.
    Cname(&'a CnameRule),
}

/// `to` with `{N}` replaced by group N of `caps`, in order (as CoreDNS does).
fn substitute(to: &str, caps: &Captures<'_>) -> String {
    let mut s = to.to_string();
    for i in 0..caps.len() {
        let value = caps.get(i).map_or("", |m| m.as_str());
        s = s.replace(&format!("{{{i}}}"), value);
    }
    s
}

/// Strips `suffix` from `s`, comparing without regard to ASCII case.
fn strip_suffix_ci<'s>(s: &'s str, suffix: &str) -> Option<&'s str> {
    let cut = s.len().checked_sub(suffix.len())?;
    (s.is_char_boundary(cut) && s[cut..].eq_ignore_ascii_case(suffix)).then(|| &s[..cut])
}

impl Mapper<'_> {
    /// The mapped name, or `None` if `src` is left as it is.
    fn map(&self, src: &str) -> Option<String> {
        match self {
            Mapper::Remap { from, to } => {
                if src.eq_ignore_ascii_case(from) {
                    return Some(to.clone());
                }
                let before = strip_suffix_ci(src, from)?;
                before.ends_with('.').then(|| format!("{before}{to}"))
            }
            Mapper::Suffix { suffix, to } => {
                strip_suffix_ci(src, suffix).map(|before| format!("{before}{to}"))
            }
            Mapper::Regex(re, to) => re.captures(src).map(|c| substitute(to, &c)),
        }
    }

    fn map_name(&self, name: &mut Name) {
        if let Some(new) = self.map(&name.to_ascii())
            && let Ok(n) = Name::from_ascii(&new)
        {
            *name = n;
        }
    }
}

/// The name a record points to, for `answer value` rules.
fn value_of(data: &mut RData) -> Option<&mut Name> {
    Some(match data {
        RData::CNAME(c) => &mut c.0,
        RData::NS(n) => &mut n.0,
        RData::PTR(p) => &mut p.0,
        RData::MX(mx) => &mut mx.exchange,
        RData::SRV(srv) => &mut srv.target,
        RData::SOA(soa) => &mut soa.mname,
        RData::NAPTR(naptr) => &mut naptr.replacement,
        _ => return None,
    })
}

/// What a name rule makes of `name`, if it applies.
fn rewrite_name(rule: &NameRule, name: &str) -> Option<String> {
    match &rule.matcher {
        Matcher::Exact(f) => (name == f).then(|| rule.to.clone()),
        Matcher::Prefix(p) => name
            .strip_prefix(p.as_str())
            .map(|r| format!("{}{r}", rule.to)),
        Matcher::Suffix(s) => name
            .strip_suffix(s.as_str())
            .map(|b| format!("{b}{}", rule.to)),
        Matcher::Substring(s) => name
            .contains(s.as_str())
            .then(|| name.replace(s.as_str(), &rule.to)),
        Matcher::Regex(re) => re.captures(name).map(|c| substitute(&rule.to, &c)),
    }
}

/// What a cname rule makes of a CNAME target (lowercase), if it applies.
fn rewrite_target(rule: &CnameRule, target: &str) -> Option<String> {
    match &rule.matcher {
        Matcher::Exact(f) => (target == f).then(|| rule.to.clone()),
        Matcher::Prefix(p) => target
            .strip_prefix(p.as_str())
            .map(|r| format!("{}{r}", rule.to)),
        Matcher::Suffix(s) => target
            .strip_suffix(s.as_str())
            .map(|b| format!("{b}{}", rule.to)),
        Matcher::Substring(s) => target
            .contains(s.as_str())
            .then(|| target.replace(s.as_str(), &rule.to)),
        Matcher::Regex(re) => re.captures(target).map(|c| substitute(&rule.to, &c)),
    }
}

/// A name the question may carry: fully qualified, no empty label, at most
/// 63 bytes a label and 255 in all (CoreDNS's `dns.IsDomainName`).
fn valid_name(s: &str) -> Option<Name> {
    if s != "." && (s.starts_with('.') || s.contains("..")) {
        return None;
    }
    let name = Name::from_ascii(s).ok()?;
    (name.is_fqdn() && name.len() <= 255).then_some(name)
}

fn mask_v4(ip: Ipv4Addr, len: u8) -> Ipv4Addr {
    Ipv4Addr::from_bits(ip.to_bits() & u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0))
}

fn mask_v6(ip: Ipv6Addr, len: u8) -> Ipv6Addr {
    Ipv6Addr::from_bits(ip.to_bits() & u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0))
}

fn ip_bytes(ip: IpAddr) -> Vec<u8> {
    match ip {
        IpAddr::V4(v4) => v4.octets().to_vec(),
        IpAddr::V6(v6) => v6.octets().to_vec(),
    }
}

impl State {
    fn new(req: &Request, with_meta: bool) -> Self {
        State {
            meta: if with_meta { req.meta.clone() } else { None },
            name: req.name().to_string(),
            new_qname: None,
            qname_text: req.qname().to_ascii(),
            qtype: req.qtype(),
            qclass: req.qclass(),
            edns: req.message.edns.clone(),
            client: req.client,
            local: req.local,
            proto: req.proto,
        }
    }

    /// The data of an EDNS0 variable; `None` when there is none.
    fn variable(&self, v: &Variable) -> Option<Vec<u8>> {
        Some(match v {
            Variable::QName => self.qname_text.as_bytes().to_vec(),
            Variable::QType => u16::from(self.qtype).to_be_bytes().to_vec(),
            Variable::ClientIp => ip_bytes(self.client.ip().to_canonical()),
            Variable::ClientPort => self.client.port().to_be_bytes().to_vec(),
            Variable::Protocol => self.proto.as_str().as_bytes().to_vec(),
            Variable::ServerIp => ip_bytes(self.local.ip().to_canonical()),
            Variable::ServerPort => self.local.port().to_be_bytes().to_vec(),
            // An unset or empty label inserts nothing, as in CoreDNS.
            Variable::Metadata(label) => match self.meta.as_ref()?.get(label) {
                Some(v) if !v.is_empty() => v.as_bytes().to_vec(),
                _ => return None,
            },
        })
    }

    /// Applies an EDNS0 rule; whether it changed the query.
    fn edns0(&mut self, rule: &Edns0Rule) -> bool {
        let (code, option) = match &rule.option {
            Edns0Option::Local { code, data } => {
                let data = match data {
                    LocalData::Bytes(b) => b.clone(),
                    LocalData::Var(v) => match self.variable(v) {
                        Some(d) => d,
                        None => return false,
                    },
                };
                (EdnsCode::from(*code), EdnsOption::Unknown(*code, data))
            }
            Edns0Option::Nsid => {
                let Ok(empty) = NSIDPayload::new(Vec::new()) else {
                    return false;
                };
                (EdnsCode::NSID, EdnsOption::NSID(empty))
            }
            Edns0Option::Subnet { v4, v6 } => {
                let subnet = match self.client.ip().to_canonical() {
                    IpAddr::V4(ip) => ClientSubnet::new(IpAddr::V4(mask_v4(ip, *v4)), *v4, 0),
                    IpAddr::V6(ip) => ClientSubnet::new(IpAddr::V6(mask_v6(ip, *v6)), *v6, 0),
                };
                (EdnsCode::Subnet, EdnsOption::Subnet(subnet))
            }
        };
        if rule.action == Edns0Action::Unset {
            // CoreDNS counts an unset as a rewrite even when there was
            // nothing to remove.
            if let Some(e) = &mut self.edns {
                e.options_mut().remove(code);
            }
            return true;
        }
        let existing = self
            .edns
            .as_ref()
            .and_then(|e| e.options().options.iter().position(|(c, _)| *c == code));
        match (rule.action, existing) {
            (Edns0Action::Replace | Edns0Action::Set, Some(i)) => {
                if let Some(e) = &mut self.edns {
                    e.options_mut().options[i] = (code, option);
                }
                true
            }
            (Edns0Action::Append | Edns0Action::Set, None) => {
                // A query without EDNS gets an OPT, as CoreDNS gives it.
                self.edns
                    .get_or_insert_with(|| {
                        let mut e = Edns::new();
                        e.set_max_payload(4096);
                        e
                    })
                    .options_mut()
                    .options
                    .push((code, option));
                true
            }
            _ => false,
        }
    }
}

impl Rewrite {
    /// Applies `rule` to the query; the reply rules it calls for, or `None`
    /// if it does not apply.
    fn apply<'a>(&'a self, rule: &'a Rule, st: &mut State) -> Option<Vec<Respond<'a>>> {
        match &rule.kind {
            Kind::Name(r) => {
                let new = rewrite_name(r, &st.name)?;
                let old = std::mem::replace(&mut st.name, new.clone());
                st.qname_text = new.clone();
                let mut out = Vec::new();
                match r.auto {
                    Auto::Off => {}
                    Auto::Remap => {
                        out.push(Respond::Names(Mapper::Remap {
                            from: new.clone(),
                            to: old.clone(),
                        }));
                        out.push(Respond::Values(Mapper::Remap { from: new, to: old }));
                    }
                    Auto::ReverseSuffix => {
                        let Matcher::Suffix(suffix) = &r.matcher else {
                            return Some(out);
                        };
                        for values in [false, true] {
                            let m = Mapper::Suffix {
                                suffix: &r.to,
                                to: suffix,
                            };
                            out.push(if values {
                                Respond::Values(m)
                            } else {
                                Respond::Names(m)
                            });
                        }
                    }
                }
                for a in &r.answers {
                    out.push(match a {
                        AnswerRule::Name(re, to) => Respond::Names(Mapper::Regex(re, to)),
                        AnswerRule::Value(re, to) => Respond::Values(Mapper::Regex(re, to)),
                    });
                }
                Some(out)
            }
            Kind::Type { from, to } => {
                (u16::from(st.qtype) == *from).then(|| st.qtype = RecordType::from(*to))?;
                Some(Vec::new())
            }
            Kind::Class { from, to } => {
                (u16::from(st.qclass) == *from).then(|| st.qclass = DNSClass::from(*to))?;
                Some(Vec::new())
            }
            Kind::Edns0(r) => st.edns0(r).then(Vec::new),
            Kind::Ttl { matcher, min, max } => matcher
                .matches(&st.name)
                .then(|| vec![Respond::Ttl(*min, *max)]),
            Kind::Rcode { matcher, from, to } => matcher
                .matches(&st.name)
                .then(|| vec![Respond::Rcode(*from, *to)]),
            Kind::Cname(r) => Some(vec![Respond::Cname(r)]),
        }
    }

    /// Does any rule apply to a query for `name` (lowercase, fully
    /// qualified) of `qtype` in class IN? Only meaningful when
    /// `wire_decidable`.
    fn any_applies(&self, name: &str, qtype: u16) -> bool {
        self.rules.iter().any(|r| match &r.kind {
            Kind::Name(n) => n.matcher.matches(name),
            Kind::Ttl { matcher, .. } | Kind::Rcode { matcher, .. } => matcher.matches(name),
            Kind::Type { from, .. } => *from == qtype,
            Kind::Class { from, .. } => *from == u16::from(DNSClass::IN),
            Kind::Edns0(_) | Kind::Cname(_) => true,
        })
    }

    /// Applies the reply rules, last rule first, to a reply.
    async fn respond(
        &self,
        rules: &[Respond<'_>],
        qtype: RecordType,
        req: &Request,
        m: &mut Message,
    ) {
        for rule in rules.iter().rev() {
            match rule {
                Respond::Names(map) => {
                    for r in records(m) {
                        map.map_name(&mut r.name);
                    }
                }
                Respond::Values(map) => {
                    for r in records(m) {
                        if let Some(name) = value_of(&mut r.data) {
                            map.map_name(name);
                        }
                    }
                }
                Respond::Ttl(min, max) => {
                    for r in records(m) {
                        if r.ttl < *min {
                            r.ttl = *min;
                        } else if r.ttl > *max {
                            r.ttl = *max;
                        }
                    }
                }
                Respond::Rcode(from, to) => {
                    if u16::from(m.metadata.response_code) == *from {
                        m.metadata.response_code = <ResponseCode as From<u16>>::from(*to);
                    }
                }
                Respond::Cname(rule) => self.cname(rule, qtype, req, m).await,
            }
        }
    }

    /// A cname rule on a reply: the first CNAME whose target matches points
    /// to the rewritten target, and what follows it is the answer for that
    /// target, resolved through the server.
    async fn cname(&self, rule: &CnameRule, qtype: RecordType, req: &Request, m: &mut Message) {
        let hit = m
            .answers
            .iter()
            .enumerate()
            .find_map(|(i, r)| match &r.data {
                RData::CNAME(c) => {
                    rewrite_target(rule, &c.0.to_ascii().to_ascii_lowercase()).map(|to| (i, to))
                }
                _ => None,
            });
        let Some((at, to)) = hit else { return };
        let Ok(target) = Name::from_ascii(&to) else {
            tracing::error!(target: LOG, "invalid CNAME target after rewrite: {to}");
            return;
        };
        let Some(found) = self.upstream.resolve(req, target.clone(), qtype).await else {
            tracing::error!(target: LOG, "upstream lookup failed: no reply for {to} {qtype}");
            return;
        };
        let mut answers: Vec<Record> = m.answers[..=at]
            .iter()
            .filter(|r| r.record_type() == RecordType::CNAME)
            .cloned()
            .collect();
        if let Some(RData::CNAME(c)) = answers.last_mut().map(|r| &mut r.data) {
            c.0 = target;
        }
        answers.extend(found.answers);
        m.answers = answers;
        m.metadata.truncation = found.metadata.truncation;
    }
}

/// Every record of the authority, answer and additional sections.
fn records(m: &mut Message) -> impl Iterator<Item = &mut Record> {
    m.authorities
        .iter_mut()
        .chain(m.answers.iter_mut())
        .chain(m.additionals.iter_mut())
}

/// The lowercase presentation form of a wire name if it only has letters,
/// digits, `-` and `_` (so it reads the same as `Request::name`).
fn plain_name<'b>(lname: &[u8], buf: &'b mut [u8; 256]) -> Option<&'b str> {
    if lname == [0] {
        return Some(".");
    }
    let mut len = 0;
    for label in crate::wire::suffixes(lname) {
        let n = usize::from(label[0]);
        let text = &label[1..=n];
        if !text
            .iter()
            .all(|&b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        {
            return None;
        }
        buf.get_mut(len..len + n)?.copy_from_slice(text);
        *buf.get_mut(len + n)? = b'.';
        len += n + 1;
    }
    std::str::from_utf8(&buf[..len]).ok()
}

impl Plugin for Rewrite {
    const NAME: &'static str = "rewrite";

    async fn serve<'a, N: Handler>(&'a self, req: &'a mut Request, next: &'a N) -> Outcome {
        let mut st = State::new(req, self.reads_metadata);
        let mut respond = Vec::new();
        let mut rewrote = false;
        for rule in &self.rules {
            let Some(r) = self.apply(rule, &mut st) else {
                continue;
            };
            rewrote = true;
            if matches!(rule.kind, Kind::Name(_)) {
                // The query is untouched so far: a failure answers for the
                // original question.
                match valid_name(&st.name) {
                    Some(n) => st.new_qname = Some(n),
                    None => {
                        return Err(PluginError::servfail(
                            Self::NAME,
                            format!("invalid name after rewrite: {}", st.name),
                        ));
                    }
                }
            }
            respond.extend(r);
            if rule.mode == Mode::Stop {
                break;
            }
        }
        if !rewrote {
            return next.handle(req).await;
        }

        // The query as rewritten goes down the chain; the original comes
        // back before anyone (the server, log) sees the reply.
        let original = req.message.queries[0].clone();
        let original_edns = req.message.edns.clone();
        let mut q = Query::query(
            st.new_qname
                .clone()
                .unwrap_or_else(|| original.name().clone()),
            st.qtype,
        );
        q.set_query_class(st.qclass);
        req.message.queries[0] = q;
        req.message.edns = st.edns.take();
        req.name_cache = Default::default();
        let outcome = next.handle(req).await;
        req.message.queries[0] = original.clone();
        req.message.edns = original_edns;
        req.name_cache = Default::default();

        let rcode = |rc: ResponseCode| {
            respond.iter().rev().fold(rc, |rc, r| match r {
                Respond::Rcode(from, to) if u16::from(rc) == *from => {
                    <ResponseCode as From<u16>>::from(*to)
                }
                _ => rc,
            })
        };
        match outcome {
            Ok(Answer::Reply(mut r)) => {
                match r.message.queries.first_mut() {
                    Some(q) => *q = original,
                    None => r.message.queries.push(original),
                }
                self.respond(&respond, st.qtype, req, &mut r.message).await;
                Ok(Answer::Reply(r))
            }
            Ok(Answer::Transfer {
                plugin,
                mut messages,
            }) => {
                for m in &mut messages {
                    match m.queries.first_mut() {
                        Some(q) => *q = original.clone(),
                        None => m.queries.push(original.clone()),
                    }
                    self.respond(&respond, st.qtype, req, m).await;
                }
                Ok(Answer::Transfer { plugin, messages })
            }
            // Nothing written: the server writes it for the original
            // question; only an rcode rule has something to change.
            Ok(Answer::Rcode(rc)) => Ok(Answer::Rcode(rcode(rc))),
            Ok(Answer::Drop) => Ok(Answer::Drop),
            Err(mut e) => {
                e.rcode = rcode(e.rcode);
                Err(e)
            }
        }
    }

    fn serve_wire<N: Handler>(&self, q: &WireQuery<'_>, out: &mut Vec<u8>, next: &N) -> bool {
        if !self.wire_decidable {
            return false;
        }
        let mut buf = [0u8; 256];
        let Some(name) = plain_name(q.lname(), &mut buf) else {
            return false;
        };
        !self.any_applies(name, q.qtype) && next.handle_wire(q, out)
    }
}

impl Rewrite {
    /// The plugin for `cfg`, resolving CNAME targets through `upstream`.
    pub(super) fn new(cfg: RewriteConfig, upstream: Upstream) -> Self {
        let wire_decidable = cfg.rules.iter().all(|r| {
            matches!(
                r.kind,
                Kind::Name(_)
                    | Kind::Type { .. }
                    | Kind::Class { .. }
                    | Kind::Ttl { .. }
                    | Kind::Rcode { .. }
            )
        });
        let reads_metadata = cfg.rules.iter().any(|r| {
            matches!(&r.kind, Kind::Edns0(e) if matches!(
                &e.option,
                Edns0Option::Local { data: LocalData::Var(Variable::Metadata(_)), .. }
            ))
        });
        Rewrite {
            rules: cfg.rules,
            upstream,
            wire_decidable,
            reads_metadata,
        }
    }
}

impl Setup for Rewrite {
    type Config = RewriteConfig;

    fn build(cfg: RewriteConfig, env: &mut BuildEnv<'_>) -> Result<Self, Diagnostic> {
        Ok(Rewrite::new(cfg, env.upstream()))
    }
}
