//! Query log lines: a format parsed once into segments, the class of a
//! response, and the rendering of one line, and of the same placeholders as
//! JSON members for `-log-format json`. Everything here is a pure function
//! of the request, the reply and the duration.

use super::setup::Class;
use crate::dns::{DNSClass, Message, RecordType, ResponseCode};
use crate::logging::JsonEscape;
use crate::plugin::Request;
use crate::plugins::cache::classify::{Kind, typify};
use std::cell::OnceCell;
use std::fmt::{self, Write as _};
use std::net::IpAddr;
use std::time::Duration;

/// What every placeholder prints when it has no value.
const EMPTY: &str = "-";

/// A placeholder with a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Type,
    Name,
    Class,
    Proto,
    Size,
    Remote,
    Port,
    Local,
    Id,
    Opcode,
    Do,
    Bufsize,
    Rcode,
    Rsize,
    Duration,
    Rflags,
}

impl Field {
    /// The field a complete `{...}` token names, if any (case-sensitive).
    fn from_label(label: &str) -> Option<Field> {
        Some(match label {
            "{type}" => Field::Type,
            "{name}" => Field::Name,
            "{class}" => Field::Class,
            "{proto}" => Field::Proto,
            "{size}" => Field::Size,
            "{remote}" => Field::Remote,
            "{port}" => Field::Port,
            "{local}" => Field::Local,
            "{>id}" => Field::Id,
            "{>opcode}" => Field::Opcode,
            "{>do}" => Field::Do,
            "{>bufsize}" => Field::Bufsize,
            "{rcode}" => Field::Rcode,
            "{rsize}" => Field::Rsize,
            "{duration}" => Field::Duration,
            "{>rflags}" => Field::Rflags,
            _ => return None,
        })
    }

    /// The member name in JSON lines.
    fn key(self) -> &'static str {
        match self {
            Field::Type => "type",
            Field::Name => "name",
            Field::Class => "class",
            Field::Proto => "proto",
            Field::Size => "size",
            Field::Remote => "remote",
            Field::Port => "port",
            Field::Local => "local",
            Field::Id => "id",
            Field::Opcode => "opcode",
            Field::Do => "do",
            Field::Bufsize => "bufsize",
            Field::Rcode => "rcode",
            Field::Rsize => "rsize",
            Field::Duration => "duration",
            Field::Rflags => "rflags",
        }
    }
}

/// One logged query: what every placeholder is computed from. The reply's
/// size is computed at most once, whether the line, the JSON members or
/// both need it.
pub(crate) struct Entry<'a> {
    req: &'a Request,
    reply: Option<&'a Message>,
    took: Duration,
    rsize: OnceCell<Option<usize>>,
}

impl<'a> Entry<'a> {
    /// `reply` is the response the client gets (`None`: nothing was sent);
    /// `took` is how long the rest of the chain ran.
    pub(crate) fn new(req: &'a Request, reply: Option<&'a Message>, took: Duration) -> Self {
        Entry {
            req,
            reply,
            took,
            rsize: OnceCell::new(),
        }
    }

    fn rsize(&self) -> Option<usize> {
        *self
            .rsize
            .get_or_init(|| self.reply.and_then(|m| m.to_vec().ok()).map(|b| b.len()))
    }
}

/// One piece of a parsed format.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    /// Printed as is.
    Literal(String),
    /// A request or response value.
    Field(Field),
    /// `{/label}`: a metadata value; `-` when unset or without *metadata*.
    Metadata(String),
}

/// A log format, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Format {
    segments: Vec<Segment>,
}

impl Format {
    /// Splits `format` into literals and placeholders. Each `}` closes the
    /// nearest `{` before it; a braced word that is not a placeholder stays
    /// in the output literally, as does a stray `}`.
    pub(crate) fn parse(format: &str) -> Format {
        let mut segments = Vec::new();
        let mut literal = String::new();
        let mut rest = format;
        while let Some(close) = rest.find('}') {
            let placeholder = rest[..close].rfind('{').and_then(|open| {
                let label = &rest[open..=close];
                let seg = match Field::from_label(label) {
                    Some(f) => Segment::Field(f),
                    None => {
                        Segment::Metadata(label.strip_prefix("{/")?.strip_suffix('}')?.to_string())
                    }
                };
                Some((open, seg))
            });
            match placeholder {
                Some((open, seg)) => {
                    literal.push_str(&rest[..open]);
                    if !literal.is_empty() {
                        segments.push(Segment::Literal(std::mem::take(&mut literal)));
                    }
                    segments.push(seg);
                }
                None => literal.push_str(&rest[..=close]),
            }
            rest = &rest[close + 1..];
        }
        literal.push_str(rest);
        if !literal.is_empty() {
            segments.push(Segment::Literal(literal));
        }
        Format { segments }
    }

    /// Does the format show metadata?
    pub(crate) fn reads_metadata(&self) -> bool {
        self.segments
            .iter()
            .any(|s| matches!(s, Segment::Metadata(_)))
    }

    /// One log line for `req`. `reply` is the response the client gets
    /// (`None`: nothing was sent); `took` is how long the rest of the chain ran.
    #[cfg(test)]
    pub(crate) fn render(&self, req: &Request, reply: Option<&Message>, took: Duration) -> String {
        self.line(&Entry::new(req, reply, took))
    }

    /// The log line of one entry.
    pub(crate) fn line(&self, e: &Entry<'_>) -> String {
        let mut out = String::with_capacity(160);
        for seg in &self.segments {
            match seg {
                Segment::Literal(s) => out.push_str(s),
                Segment::Metadata(label) => out.push_str(e.req.meta(label).unwrap_or(EMPTY)),
                Segment::Field(f) => {
                    // Writing to a String cannot fail.
                    let _ = write_field(&mut out, *f, e);
                }
            }
        }
        out
    }

    /// The format's placeholders as JSON members, for the JSON log format
    /// (see [`crate::logging::JSON_FIELDS`]); rendered only if displayed.
    pub(crate) fn members<'a>(&'a self, e: &'a Entry<'a>) -> Members<'a> {
        Members { format: self, e }
    }
}

/// The placeholders of a format as `,"key":value` JSON members, each once,
/// in the order the format names them: numbers and booleans as such, the
/// addresses without brackets, the duration in seconds, and `null` where the
/// line prints `-` for a missing reply. Metadata placeholders are left out
/// (they are in the line itself).
pub(crate) struct Members<'a> {
    format: &'a Format,
    e: &'a Entry<'a>,
}

impl fmt::Display for Members<'_> {
    fn fmt(&self, out: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut written = 0u32;
        for seg in &self.format.segments {
            let Segment::Field(f) = seg else { continue };
            let bit = 1 << *f as u32;
            if written & bit != 0 {
                continue;
            }
            written |= bit;
            write!(out, ",\"{}\":", f.key())?;
            write_json_field(out, *f, self.e)?;
        }
        Ok(())
    }
}

/// One placeholder's JSON value.
fn write_json_field(out: &mut fmt::Formatter<'_>, f: Field, e: &Entry<'_>) -> fmt::Result {
    let (req, reply) = (e.req, e.reply);
    let quoted = |out: &mut fmt::Formatter<'_>, v: &dyn fmt::Display| {
        out.write_char('"')?;
        write!(JsonEscape(out), "{v}")?;
        out.write_char('"')
    };
    match f {
        Field::Remote => quoted(out, &req.client.ip()),
        Field::Local => quoted(out, &req.local.ip()),
        Field::Name => quoted(out, &req.name()),
        Field::Do => write!(out, "{}", req.do_bit()),
        Field::Duration => write!(out, "{}", e.took.as_secs_f64()),
        Field::Rsize => match e.rsize() {
            Some(n) => write!(out, "{n}"),
            None => out.write_str("null"),
        },
        Field::Rcode | Field::Rflags if reply.is_none() => out.write_str("null"),
        Field::Type | Field::Class | Field::Proto | Field::Rcode | Field::Rflags => {
            out.write_char('"')?;
            write_field(&mut JsonEscape(out), f, e)?;
            out.write_char('"')
        }
        // Numbers, printed as the line prints them.
        Field::Size | Field::Port | Field::Id | Field::Opcode | Field::Bufsize => {
            write_field(out, f, e)
        }
    }
}

fn write_field(out: &mut (impl fmt::Write + ?Sized), f: Field, e: &Entry<'_>) -> fmt::Result {
    let (req, reply, took) = (e.req, e.reply, e.took);
    match f {
        Field::Type => write!(out, "{}", TypeName(req.qtype())),
        Field::Name => out.write_str(&req.name()),
        Field::Class => write!(out, "{}", ClassName(req.qclass())),
        Field::Proto => out.write_str(req.proto.as_str()),
        Field::Size => write!(out, "{}", req.wire_len),
        Field::Remote => write_ip(out, req.client.ip()),
        Field::Port => write!(out, "{}", req.client.port()),
        Field::Local => write_ip(out, req.local.ip()),
        Field::Id => write!(out, "{}", req.id()),
        Field::Opcode => write!(out, "{}", u8::from(req.message.metadata.op_code)),
        Field::Do => write!(out, "{}", req.do_bit()),
        Field::Bufsize => write!(out, "{}", req.size()),
        Field::Rcode => match reply {
            Some(m) => write!(out, "{}", RcodeName(m.metadata.response_code)),
            None => out.write_str(EMPTY),
        },
        Field::Rsize => match e.rsize() {
            Some(n) => write!(out, "{n}"),
            None => out.write_str(EMPTY),
        },
        Field::Duration => write!(out, "{}s", took.as_secs_f64()),
        Field::Rflags => match reply {
            Some(m) => write_flags(out, m),
            None => out.write_str(EMPTY),
        },
    }
}

/// An IP address, IPv6 in brackets.
fn write_ip(out: &mut (impl fmt::Write + ?Sized), ip: IpAddr) -> fmt::Result {
    match ip {
        IpAddr::V4(v4) => write!(out, "{v4}"),
        IpAddr::V6(v6) => write!(out, "[{v6}]"),
    }
}

/// The header flags that are set, comma-separated, in wire order. (The Z
/// bit is not kept by the DNS library, so `z` never appears.)
fn write_flags(out: &mut (impl fmt::Write + ?Sized), m: &Message) -> fmt::Result {
    let h = &m.metadata;
    let flags = [
        (h.message_type == crate::dns::MessageType::Response, "qr"),
        (h.authoritative, "aa"),
        (h.truncation, "tc"),
        (h.recursion_desired, "rd"),
        (h.recursion_available, "ra"),
        (h.authentic_data, "ad"),
        (h.checking_disabled, "cd"),
    ];
    let mut first = true;
    for (_, name) in flags.iter().filter(|(set, _)| *set) {
        if !first {
            out.write_char(',')?;
        }
        out.write_str(name)?;
        first = false;
    }
    Ok(())
}

/// The reply the server writes for a chain that wrote nothing but an rcode.
pub(crate) fn rcode_reply(req: &Request, rcode: ResponseCode) -> Message {
    let mut m = req.reply();
    m.metadata.response_code = rcode;
    m
}

/// The type of a response, as CoreDNS's `response.Typify` gives it (the
/// `log/type` label): signatures are checked when the reply's own OPT has
/// the DO bit; no reply at all is OTHERERROR.
pub(crate) fn response_kind(reply: Option<&Message>) -> Kind {
    let Some(m) = reply else {
        return Kind::OtherError;
    };
    let dnssec_ok = m.edns.as_ref().is_some_and(|e| e.flags().dnssec_ok);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    typify(m, dnssec_ok, now)
}

/// The class of a response type: positive answers and referrals are
/// successes; NXDOMAIN and NODATA are denials; everything else (SERVFAIL,
/// REFUSED, zone transfers, NOTIFY, UPDATE, no reply) is an error.
pub(crate) fn class_of(kind: Kind) -> Class {
    match kind {
        Kind::NoError | Kind::Delegation => Class::Success,
        Kind::NameError | Kind::NoData => Class::Denial,
        _ => Class::Error,
    }
}

/// A record type's mnemonic, `TYPE<n>` when it has none.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TypeName(pub(crate) RecordType);

impl fmt::Display for TypeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let code = u16::from(self.0);
        let name = match code {
            0 => "None",
            1 => "A",
            2 => "NS",
            3 => "MD",
            4 => "MF",
            5 => "CNAME",
            6 => "SOA",
            7 => "MB",
            8 => "MG",
            9 => "MR",
            10 => "NULL",
            12 => "PTR",
            13 => "HINFO",
            14 => "MINFO",
            15 => "MX",
            16 => "TXT",
            17 => "RP",
            18 => "AFSDB",
            19 => "X25",
            20 => "ISDN",
            21 => "RT",
            23 => "NSAP-PTR",
            24 => "SIG",
            25 => "KEY",
            26 => "PX",
            27 => "GPOS",
            28 => "AAAA",
            29 => "LOC",
            30 => "NXT",
            31 => "EID",
            32 => "NIMLOC",
            33 => "SRV",
            34 => "ATMA",
            35 => "NAPTR",
            36 => "KX",
            37 => "CERT",
            39 => "DNAME",
            41 => "OPT",
            42 => "APL",
            43 => "DS",
            44 => "SSHFP",
            45 => "IPSECKEY",
            46 => "RRSIG",
            47 => "NSEC",
            48 => "DNSKEY",
            49 => "DHCID",
            50 => "NSEC3",
            51 => "NSEC3PARAM",
            52 => "TLSA",
            53 => "SMIMEA",
            55 => "HIP",
            56 => "NINFO",
            57 => "RKEY",
            58 => "TALINK",
            59 => "CDS",
            60 => "CDNSKEY",
            61 => "OPENPGPKEY",
            62 => "CSYNC",
            63 => "ZONEMD",
            64 => "SVCB",
            65 => "HTTPS",
            99 => "SPF",
            100 => "UINFO",
            101 => "UID",
            102 => "GID",
            103 => "UNSPEC",
            104 => "NID",
            105 => "L32",
            106 => "L64",
            107 => "LP",
            108 => "EUI48",
            109 => "EUI64",
            249 => "TKEY",
            250 => "TSIG",
            251 => "IXFR",
            252 => "AXFR",
            253 => "MAILB",
            254 => "MAILA",
            255 => "ANY",
            256 => "URI",
            257 => "CAA",
            258 => "AVC",
            260 => "AMTRELAY",
            32768 => "TA",
            32769 => "DLV",
            65535 => "Reserved",
            _ => return write!(f, "TYPE{code}"),
        };
        f.write_str(name)
    }
}

/// A class's mnemonic, `CLASS<n>` when it has none.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ClassName(pub(crate) DNSClass);

impl fmt::Display for ClassName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let code = u16::from(self.0);
        let name = match code {
            1 => "IN",
            2 => "CS",
            3 => "CH",
            4 => "HS",
            254 => "NONE",
            255 => "ANY",
            _ => return write!(f, "CLASS{code}"),
        };
        f.write_str(name)
    }
}

/// An rcode's mnemonic, the number when it has none.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RcodeName(pub(crate) ResponseCode);

impl fmt::Display for RcodeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let code = u16::from(self.0);
        let name = match code {
            0 => "NOERROR",
            1 => "FORMERR",
            2 => "SERVFAIL",
            3 => "NXDOMAIN",
            4 => "NOTIMP",
            5 => "REFUSED",
            6 => "YXDOMAIN",
            7 => "YXRRSET",
            8 => "NXRRSET",
            9 => "NOTAUTH",
            10 => "NOTZONE",
            // 16 is both BADVERS and BADSIG; CoreDNS prints the TSIG name.
            16 => "BADSIG",
            17 => "BADKEY",
            18 => "BADTIME",
            19 => "BADMODE",
            20 => "BADNAME",
            21 => "BADALG",
            22 => "BADTRUNC",
            23 => "BADCOOKIE",
            _ => return write!(f, "{code}"),
        };
        f.write_str(name)
    }
}
