//! RFC 1035 master-file ("zone file") parser.
//!
//! hickory-proto's own text parser reports no line numbers and refuses the
//! DNSSEC types, DNAME and RFC 3597 generic data, so corec parses zone files
//! itself. The lexer and directives ($ORIGIN, $TTL, $INCLUDE) are handled
//! here; each record's data is either built directly (the common types) or
//! encoded to wire format and decoded with hickory's binary decoder, which
//! also validates it. Only SVCB/HTTPS go through hickory's text parser.
//!
//! Errors carry the file and the 1-based line to blame: the line of the
//! offending token where there is one, else the line the entry starts on.

use hickory_proto::rr::rdata::{A, AAAA, ANAME, CNAME, MX, NS, PTR, SOA, SRV, TXT};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use hickory_proto::serialize::binary::{BinDecodable, BinDecoder, Restrict};
use std::borrow::Cow;
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

/// How deeply `$INCLUDE`s may nest (a file including itself stops here).
pub const MAX_INCLUDE_DEPTH: usize = 8;

/// A zone file that could not be parsed: where, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneSyntaxError {
    /// The file holding the bad line (the `$INCLUDE`d file when it is there).
    pub file: PathBuf,
    /// 1-based line number in `file`.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ZoneSyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file.display(), self.line, self.message)
    }
}

impl std::error::Error for ZoneSyntaxError {}

/// Parses the master file `text` (read from `path`, which names it in errors
/// and anchors relative `$INCLUDE`s) with `origin` as the initial origin.
/// Returns the records in file order.
pub fn parse_zone(text: &str, path: &Path, origin: &Name) -> Result<Vec<Record>, ZoneSyntaxError> {
    let mut out = Vec::with_capacity(text.len() / 48);
    parse_zone_each(text, path, origin, &mut |r| out.push(r))?;
    Ok(out)
}

/// Like [`parse_zone`], but hands each record to `sink` as soon as it is
/// parsed, so a large zone never exists as one big `Vec<Record>`.
pub fn parse_zone_each(
    text: &str,
    path: &Path,
    origin: &Name,
    sink: &mut dyn FnMut(Record),
) -> Result<(), ZoneSyntaxError> {
    let mut origin = origin.clone();
    origin.set_fqdn(true);
    let mut state = State::new(origin);
    parse_text(text, path, &mut state, 0, sink)
}

// ---------------------------------------------------------------------------
// Parser state and driver

struct State {
    origin: Name,
    /// `origin` in uncompressed wire form, appended to relative names.
    origin_wire: Vec<u8>,
    /// `$TTL`.
    default_ttl: Option<u32>,
    /// The last TTL written explicitly on a record.
    last_ttl: Option<u32>,
    last_owner: Option<Name>,
}

impl State {
    fn new(origin: Name) -> Self {
        let origin_wire = name_wire(&origin);
        State {
            origin,
            origin_wire,
            default_ttl: None,
            last_ttl: None,
            last_owner: None,
        }
    }

    fn set_origin(&mut self, origin: Name) {
        self.origin_wire = name_wire(&origin);
        self.origin = origin;
    }
}

fn name_wire(name: &Name) -> Vec<u8> {
    let mut out = Vec::with_capacity(name.len() + 1);
    for label in name.iter() {
        out.push(label.len() as u8);
        out.extend_from_slice(label);
    }
    out.push(0);
    out
}

/// An error inside one file, before the file name is attached.
#[derive(Debug)]
struct Fail {
    line: usize,
    msg: String,
}

type Res<T> = Result<T, Fail>;

fn fail<T>(line: usize, msg: impl Into<String>) -> Res<T> {
    Err(Fail {
        line,
        msg: msg.into(),
    })
}

fn parse_text(
    text: &str,
    path: &Path,
    st: &mut State,
    depth: usize,
    out: &mut dyn FnMut(Record),
) -> Result<(), ZoneSyntaxError> {
    let wrap = |f: Fail| ZoneSyntaxError {
        file: path.to_path_buf(),
        line: f.line,
        message: f.msg,
    };
    let mut lexer = Lexer::new(text);
    let mut toks: Vec<Tok> = Vec::with_capacity(32);
    while let Some(leading_ws) = lexer.next_entry(&mut toks).map_err(wrap)? {
        let first = toks[0];
        if !first.quoted && text.as_bytes()[first.start] == b'$' {
            directive(text, &toks, path, st, depth, out)?;
        } else {
            let rec = record(text, &toks, leading_ws, st).map_err(wrap)?;
            out(rec);
        }
    }
    Ok(())
}

fn directive(
    text: &str,
    toks: &[Tok],
    path: &Path,
    st: &mut State,
    depth: usize,
    out: &mut dyn FnMut(Record),
) -> Result<(), ZoneSyntaxError> {
    let wrap = |f: Fail| ZoneSyntaxError {
        file: path.to_path_buf(),
        line: f.line,
        message: f.msg,
    };
    let line = toks[0].line;
    let word = toks[0].content(text);
    let args = &toks[1..];
    let arg = |i: usize| args[i].content(text);
    let arity = |min: usize, max: usize| -> Result<(), ZoneSyntaxError> {
        if args.len() < min {
            return Err(wrap(Fail {
                line,
                msg: format!("{word} needs an argument"),
            }));
        }
        if args.len() > max {
            return Err(wrap(Fail {
                line: args[max].line,
                msg: format!("unexpected '{}' after {word}", arg(max)),
            }));
        }
        Ok(())
    };
    if word.eq_ignore_ascii_case("$ORIGIN") {
        arity(1, 1)?;
        let name = parse_name(arg(0), &st.origin, &st.origin_wire)
            .map_err(|m| wrap(Fail { line, msg: m }))?;
        st.set_origin(name);
    } else if word.eq_ignore_ascii_case("$TTL") {
        arity(1, 1)?;
        let ttl = parse_ttl(arg(0)).map_err(|m| wrap(Fail { line, msg: m }))?;
        st.default_ttl = Some(ttl);
    } else if word.eq_ignore_ascii_case("$INCLUDE") {
        arity(1, 2)?;
        if depth + 1 > MAX_INCLUDE_DEPTH {
            return Err(wrap(Fail {
                line,
                msg: format!("$INCLUDE nested more than {MAX_INCLUDE_DEPTH} deep"),
            }));
        }
        let file = unescape(arg(0)).map_err(|m| wrap(Fail { line, msg: m }))?;
        let file = PathBuf::from(String::from_utf8_lossy(&file).into_owned());
        let file = if file.is_relative() {
            path.parent().unwrap_or(Path::new("")).join(file)
        } else {
            file
        };
        let origin = match args.get(1) {
            Some(t) => parse_name(t.content(text), &st.origin, &st.origin_wire)
                .map_err(|m| wrap(Fail { line, msg: m }))?,
            None => st.origin.clone(),
        };
        let included = std::fs::read_to_string(&file).map_err(|e| {
            wrap(Fail {
                line,
                msg: format!("cannot read $INCLUDE file {}: {e}", file.display()),
            })
        })?;
        // RFC 1035 §5.1: the origin and the current owner revert after the
        // included file; the TTL defaults carry on.
        let mut inner = State {
            origin: st.origin.clone(),
            origin_wire: st.origin_wire.clone(),
            default_ttl: st.default_ttl,
            last_ttl: st.last_ttl,
            last_owner: st.last_owner.clone(),
        };
        inner.set_origin(origin);
        parse_text(&included, &file, &mut inner, depth + 1, out)?;
        st.default_ttl = inner.default_ttl;
        st.last_ttl = inner.last_ttl;
    } else {
        return Err(wrap(Fail {
            line,
            msg: format!("unknown or unsupported directive {word}"),
        }));
    }
    Ok(())
}

/// Parses one record entry (`toks` is non-empty).
fn record(text: &str, toks: &[Tok], leading_ws: bool, st: &mut State) -> Res<Record> {
    let line = toks[0].line;
    let mut i = 0;
    let owner = if leading_ws {
        match &st.last_owner {
            Some(o) => o.clone(),
            None => {
                return fail(
                    line,
                    "no owner name: the line starts with whitespace but no record precedes it",
                );
            }
        }
    } else {
        i = 1;
        let t = toks[0];
        match parse_name(t.content(text), &st.origin, &st.origin_wire) {
            Ok(n) => n,
            Err(m) => return fail(t.line, format!("bad owner name: {m}")),
        }
    };

    let mut ttl = None;
    let mut class_seen = false;
    let rtype = loop {
        let Some(t) = toks.get(i) else {
            return fail(toks[toks.len() - 1].line, "missing record type");
        };
        let s = t.content(text);
        i += 1;
        if !t.quoted && s.as_bytes()[0].is_ascii_digit() {
            if ttl.is_some() {
                return fail(
                    t.line,
                    format!("unexpected '{s}': expected a class or a type"),
                );
            }
            match parse_ttl(s) {
                Ok(v) => ttl = Some(v),
                Err(m) => return fail(t.line, format!("bad TTL: {m}")),
            }
            continue;
        }
        if !class_seen && let Some(in_class) = class(s) {
            if !in_class {
                return fail(
                    t.line,
                    format!("class {s} is not supported (only IN zones are served)"),
                );
            }
            class_seen = true;
            continue;
        }
        match type_code(s) {
            Some(code) => break (code, t),
            None => return fail(t.line, format!("unknown record type '{s}'")),
        }
    };
    let (code, type_tok) = rtype;
    if matches!(code, 0 | 41 | 249..=255) {
        return fail(
            type_tok.line,
            format!(
                "type {} cannot appear in a zone file",
                type_tok.content(text)
            ),
        );
    }

    let ttl = match ttl {
        Some(v) => {
            st.last_ttl = Some(v);
            v
        }
        None => match st.default_ttl.or(st.last_ttl) {
            Some(v) => v,
            None => {
                return fail(
                    line,
                    "no TTL: the record has none and neither $TTL nor an earlier record gives one",
                );
            }
        },
    };

    let mut rd = Rd {
        text,
        toks: &toks[i..],
        i: 0,
        line: type_tok.line,
        origin: &st.origin,
        origin_wire: &st.origin_wire,
        tname: type_tok.content(text),
    };
    let rdata = match rd.toks.first() {
        Some(t) if !t.quoted && t.content(text) == "\\#" => {
            rd.i = 1;
            generic(&mut rd, code)?
        }
        _ => rdata(&mut rd, code)?,
    };
    st.last_owner = Some(owner.clone());
    Ok(Record::from_rdata(owner, ttl, rdata))
}

/// `Some(true)` for IN, `Some(false)` for another class, `None` for not a class.
fn class(s: &str) -> Option<bool> {
    if s.eq_ignore_ascii_case("IN") || s.eq_ignore_ascii_case("CLASS1") {
        return Some(true);
    }
    const OTHERS: [&str; 7] = ["CH", "CHAOS", "HS", "HESIOD", "CS", "NONE", "ANY"];
    if OTHERS.iter().any(|c| s.eq_ignore_ascii_case(c)) {
        return Some(false);
    }
    let b = s.as_bytes();
    if b.len() > 5 && b[..5].eq_ignore_ascii_case(b"CLASS") && b[5..].iter().all(u8::is_ascii_digit)
    {
        return Some(false);
    }
    None
}

// ---------------------------------------------------------------------------
// Lexer

#[derive(Debug, Clone, Copy)]
struct Tok {
    /// Byte range in the text, quotes included.
    start: usize,
    end: usize,
    line: usize,
    quoted: bool,
}

impl Tok {
    /// The token's text without the surrounding quotes (escapes still in it).
    fn content<'t>(&self, text: &'t str) -> &'t str {
        if self.quoted {
            &text[self.start + 1..self.end - 1]
        } else {
            &text[self.start..self.end]
        }
    }

    fn raw<'t>(&self, text: &'t str) -> &'t str {
        &text[self.start..self.end]
    }
}

struct Lexer<'a> {
    src: &'a [u8],
    pos: usize,
    line: usize,
}

impl<'a> Lexer<'a> {
    fn new(text: &'a str) -> Self {
        Lexer {
            src: text.as_bytes(),
            pos: 0,
            line: 1,
        }
    }

    /// Reads the next entry (one line, or several joined by parentheses)
    /// into `toks`, skipping blank and comment-only lines. Returns whether
    /// the entry's first line starts with whitespace, or `None` at the end.
    fn next_entry(&mut self, toks: &mut Vec<Tok>) -> Res<Option<bool>> {
        let src = self.src;
        loop {
            toks.clear();
            if self.pos >= src.len() {
                return Ok(None);
            }
            let leading_ws = matches!(src[self.pos], b' ' | b'\t');
            let mut open: Option<usize> = None;
            loop {
                let Some(&c) = src.get(self.pos) else {
                    if let Some(l) = open {
                        return fail(l, "unterminated parenthesis: '(' without ')'");
                    }
                    break;
                };
                match c {
                    b' ' | b'\t' | b'\r' => self.pos += 1,
                    b'\n' => {
                        self.pos += 1;
                        self.line += 1;
                        if open.is_none() {
                            break;
                        }
                    }
                    b';' => {
                        while self.pos < src.len() && src[self.pos] != b'\n' {
                            self.pos += 1;
                        }
                    }
                    b'(' => {
                        if open.is_some() {
                            return fail(self.line, "nested '('");
                        }
                        open = Some(self.line);
                        self.pos += 1;
                    }
                    b')' => {
                        if open.is_none() {
                            return fail(self.line, "')' without '('");
                        }
                        open = None;
                        self.pos += 1;
                    }
                    b'"' => {
                        let start = self.pos;
                        self.pos += 1;
                        self.quoted_rest()?;
                        toks.push(Tok {
                            start,
                            end: self.pos,
                            line: self.line,
                            quoted: true,
                        });
                    }
                    _ => {
                        let start = self.pos;
                        let line = self.line;
                        while let Some(&c) = src.get(self.pos) {
                            match c {
                                b' ' | b'\t' | b'\r' | b'\n' | b';' | b'(' | b')' => break,
                                b'\\' => self.escape()?,
                                // key="value" (SVCB): the quoted part may hold blanks.
                                b'"' => {
                                    self.pos += 1;
                                    self.quoted_rest()?;
                                }
                                _ => self.pos += 1,
                            }
                        }
                        toks.push(Tok {
                            start,
                            end: self.pos,
                            line,
                            quoted: false,
                        });
                    }
                }
            }
            if !toks.is_empty() {
                return Ok(Some(leading_ws));
            }
        }
    }

    /// Skips a backslash escape (`\X` or `\DDD`; the digits are ordinary
    /// characters, so skipping the one after the backslash is enough).
    fn escape(&mut self) -> Res<()> {
        match self.src.get(self.pos + 1) {
            None | Some(b'\n') | Some(b'\r') => fail(self.line, "backslash at the end of a line"),
            Some(_) => {
                self.pos += 2;
                Ok(())
            }
        }
    }

    /// After an opening quote: up to and including the closing one.
    fn quoted_rest(&mut self) -> Res<()> {
        loop {
            match self.src.get(self.pos) {
                None | Some(b'\n') => return fail(self.line, "unterminated quoted string"),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(());
                }
                Some(b'\\') => self.escape()?,
                Some(_) => self.pos += 1,
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Scalars: names, TTLs, numbers, character strings, encodings

/// Decodes the escape at `b[i]` (a backslash): `\DDD` (decimal) or `\X`.
/// Returns the byte and how many input bytes it took.
fn unescape_at(b: &[u8], i: usize) -> Result<(u8, usize), String> {
    match b.get(i + 1) {
        None => Err("backslash at the end of a token".into()),
        Some(c) if c.is_ascii_digit() => {
            let d = b
                .get(i + 1..i + 4)
                .filter(|d| d.iter().all(u8::is_ascii_digit));
            let Some(d) = d else {
                return Err("bad escape: \\DDD needs three decimal digits".into());
            };
            let v =
                u32::from(d[0] - b'0') * 100 + u32::from(d[1] - b'0') * 10 + u32::from(d[2] - b'0');
            u8::try_from(v)
                .map(|v| (v, 4))
                .map_err(|_| format!("bad escape \\{v}: over 255"))
        }
        Some(&c) => Ok((c, 2)),
    }
}

/// Decodes `\X` and `\DDD` escapes of a character string.
fn unescape(s: &str) -> Result<Cow<'_, [u8]>, String> {
    if !s.contains('\\') {
        return Ok(Cow::Borrowed(s.as_bytes()));
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' {
            let (v, n) = unescape_at(b, i)?;
            out.push(v);
            i += n;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Ok(Cow::Owned(out))
}

/// Appends the uncompressed wire form of the name `s` (relative names get
/// `origin_wire`, `@` is the origin) to `out`.
fn name_to_wire(s: &str, origin_wire: &[u8], out: &mut Vec<u8>) -> Result<(), String> {
    let b = s.as_bytes();
    match b {
        b"" => return Err("empty name".into()),
        b"@" => {
            out.extend_from_slice(origin_wire);
            return Ok(());
        }
        b"." => {
            out.push(0);
            return Ok(());
        }
        _ => {}
    }
    let base = out.len();
    let mut label = out.len();
    out.push(0);
    let mut absolute = false;
    let mut i = 0;
    let close = |out: &mut Vec<u8>, label: usize| -> Result<(), String> {
        let len = out.len() - label - 1;
        if len == 0 {
            return Err(format!("empty label in name '{s}'"));
        }
        if len > 63 {
            return Err(format!("label longer than 63 octets in name '{s}'"));
        }
        out[label] = len as u8;
        Ok(())
    };
    while i < b.len() {
        match b[i] {
            b'.' => {
                close(out, label)?;
                i += 1;
                if i == b.len() {
                    absolute = true;
                } else {
                    label = out.len();
                    out.push(0);
                }
            }
            b'\\' => {
                let (v, n) = unescape_at(b, i)?;
                out.push(v);
                i += n;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    if absolute {
        out.push(0);
    } else {
        close(out, label)?;
        out.extend_from_slice(origin_wire);
    }
    if out.len() - base > 255 {
        return Err(format!("name '{s}' is longer than 255 octets"));
    }
    Ok(())
}

fn parse_name(s: &str, origin: &Name, origin_wire: &[u8]) -> Result<Name, String> {
    if s == "@" {
        return Ok(origin.clone());
    }
    let mut wire = Vec::with_capacity(s.len() + origin_wire.len() + 2);
    name_to_wire(s, origin_wire, &mut wire)?;
    Name::read(&mut BinDecoder::new(&wire)).map_err(|e| format!("bad name '{s}': {e}"))
}

/// A TTL: seconds, or units like `1h30m`, `1d`, `2w` (s m h d w).
fn parse_ttl(s: &str) -> Result<u32, String> {
    let b = s.as_bytes();
    if b.is_empty() || !b[0].is_ascii_digit() {
        return Err(format!("'{s}' is not a TTL"));
    }
    let mut total: u64 = 0;
    let mut cur: Option<u64> = None;
    for &c in b {
        let mult = match c.to_ascii_lowercase() {
            d @ b'0'..=b'9' => {
                cur = Some(cur.unwrap_or(0) * 10 + u64::from(d - b'0'));
                if cur > Some(u64::from(u32::MAX)) {
                    return Err(format!("TTL '{s}' is too large"));
                }
                continue;
            }
            b's' => 1,
            b'm' => 60,
            b'h' => 3600,
            b'd' => 86400,
            b'w' => 604_800,
            _ => return Err(format!("'{s}' is not a TTL")),
        };
        let Some(n) = cur.take() else {
            return Err(format!("'{s}' is not a TTL"));
        };
        total += n * mult;
        if total > u64::from(u32::MAX) {
            return Err(format!("TTL '{s}' is too large"));
        }
    }
    total += cur.unwrap_or(0);
    u32::try_from(total).map_err(|_| format!("TTL '{s}' is too large"))
}

fn parse_int<T: TryFrom<u64>>(s: &str) -> Option<T> {
    let b = s.as_bytes();
    if b.is_empty() || b.len() > 10 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let v = b.iter().fold(0u64, |v, d| v * 10 + u64::from(d - b'0'));
    T::try_from(v).ok()
}

/// A type mnemonic (any case) or `TYPEnnn`, as its code.
fn type_code(s: &str) -> Option<u16> {
    let b = s.as_bytes();
    if b.len() > 4 && b[..4].eq_ignore_ascii_case(b"TYPE") {
        return parse_int::<u16>(&s[4..]);
    }
    if b.len() > 10 {
        return None;
    }
    let mut up = [0u8; 10];
    for (u, c) in up.iter_mut().zip(b) {
        *u = c.to_ascii_uppercase();
    }
    Some(match &up[..b.len()] {
        b"A" => 1,
        b"NS" => 2,
        b"MD" => 3,
        b"MF" => 4,
        b"CNAME" => 5,
        b"SOA" => 6,
        b"MB" => 7,
        b"MG" => 8,
        b"MR" => 9,
        b"NULL" => 10,
        b"WKS" => 11,
        b"PTR" => 12,
        b"HINFO" => 13,
        b"MINFO" => 14,
        b"MX" => 15,
        b"TXT" => 16,
        b"RP" => 17,
        b"AFSDB" => 18,
        b"X25" => 19,
        b"ISDN" => 20,
        b"RT" => 21,
        b"NSAP" => 22,
        b"NSAP-PTR" => 23,
        b"SIG" => 24,
        b"KEY" => 25,
        b"PX" => 26,
        b"GPOS" => 27,
        b"AAAA" => 28,
        b"LOC" => 29,
        b"NXT" => 30,
        b"EID" => 31,
        b"NIMLOC" => 32,
        b"SRV" => 33,
        b"ATMA" => 34,
        b"NAPTR" => 35,
        b"KX" => 36,
        b"CERT" => 37,
        b"A6" => 38,
        b"DNAME" => 39,
        b"SINK" => 40,
        b"OPT" => 41,
        b"APL" => 42,
        b"DS" => 43,
        b"SSHFP" => 44,
        b"IPSECKEY" => 45,
        b"RRSIG" => 46,
        b"NSEC" => 47,
        b"DNSKEY" => 48,
        b"DHCID" => 49,
        b"NSEC3" => 50,
        b"NSEC3PARAM" => 51,
        b"TLSA" => 52,
        b"SMIMEA" => 53,
        b"HIP" => 55,
        b"NINFO" => 56,
        b"RKEY" => 57,
        b"TALINK" => 58,
        b"CDS" => 59,
        b"CDNSKEY" => 60,
        b"OPENPGPKEY" => 61,
        b"CSYNC" => 62,
        b"ZONEMD" => 63,
        b"SVCB" => 64,
        b"HTTPS" => 65,
        b"DSYNC" => 66,
        b"SPF" => 99,
        b"NID" => 104,
        b"L32" => 105,
        b"L64" => 106,
        b"LP" => 107,
        b"EUI48" => 108,
        b"EUI64" => 109,
        b"TKEY" => 249,
        b"TSIG" => 250,
        b"IXFR" => 251,
        b"AXFR" => 252,
        b"MAILB" => 253,
        b"MAILA" => 254,
        b"ANY" => 255,
        b"URI" => 256,
        b"CAA" => 257,
        b"AVC" => 258,
        b"DOA" => 259,
        b"AMTRELAY" => 260,
        b"RESINFO" => 261,
        b"TA" => 32768,
        b"DLV" => 32769,
        b"ANAME" => 65305,
        _ => return None,
    })
}

/// A DNSSEC algorithm number or mnemonic.
fn algorithm(s: &str) -> Option<u8> {
    if let Some(v) = parse_int(s) {
        return Some(v);
    }
    const NAMES: [(&str, u8); 16] = [
        ("RSAMD5", 1),
        ("DH", 2),
        ("DSA", 3),
        ("ECC", 4),
        ("RSASHA1", 5),
        ("DSA-NSEC3-SHA1", 6),
        ("RSASHA1-NSEC3-SHA1", 7),
        ("RSASHA256", 8),
        ("RSASHA512", 10),
        ("ECC-GOST", 12),
        ("ECDSAP256SHA256", 13),
        ("ECDSAP384SHA384", 14),
        ("ED25519", 15),
        ("ED448", 16),
        ("PRIVATEDNS", 253),
        ("PRIVATEOID", 254),
    ];
    NAMES
        .iter()
        .find(|(n, _)| s.eq_ignore_ascii_case(n))
        .map(|&(_, v)| v)
}

/// A CERT type number or mnemonic (RFC 4398).
fn cert_type(s: &str) -> Option<u16> {
    if let Some(v) = parse_int(s) {
        return Some(v);
    }
    const NAMES: [(&str, u16); 10] = [
        ("PKIX", 1),
        ("SPKI", 2),
        ("PGP", 3),
        ("IPKIX", 4),
        ("ISPKI", 5),
        ("IPGP", 6),
        ("ACPKIX", 7),
        ("IACPKIX", 8),
        ("URI", 253),
        ("OID", 254),
    ];
    NAMES
        .iter()
        .find(|(n, _)| s.eq_ignore_ascii_case(n))
        .map(|&(_, v)| v)
}

/// A signature time: `YYYYMMDDHHmmSS` (UTC) or seconds since the epoch,
/// as the 32-bit serial-arithmetic value of RFC 4034 §3.1.5.
fn sig_time(s: &str) -> Result<u32, String> {
    let b = s.as_bytes();
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
        return Err(format!("bad time '{s}'"));
    }
    if b.len() != 14 {
        return parse_int::<u32>(s).ok_or_else(|| format!("bad time '{s}'"));
    }
    let num = |r: std::ops::Range<usize>| -> i64 {
        b[r].iter().fold(0i64, |v, d| v * 10 + i64::from(d - b'0'))
    };
    let (y, mo, d) = (num(0..4), num(4..6), num(6..8));
    let (h, mi, se) = (num(8..10), num(10..12), num(12..14));
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let mdays = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1..=12).contains(&mo)
        || d < 1
        || d > mdays[(mo - 1) as usize]
        || h > 23
        || mi > 59
        || se > 60
    {
        return Err(format!("bad time '{s}'"));
    }
    // Days from 1970-01-01 (H. Hinnant's days_from_civil).
    let yy = if mo <= 2 { y - 1 } else { y };
    let era = yy.div_euclid(400);
    let yoe = yy - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86400 + h * 3600 + mi * 60 + se;
    if secs < 0 {
        return Err(format!("time '{s}' is before 1970"));
    }
    Ok(secs as u64 as u32)
}

fn base64_value(c: u8) -> Option<u8> {
    Some(match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => return None,
    })
}

/// A decoder fed token by token, so an error names the token's line.
trait Decoder: Default {
    fn feed(&mut self, s: &str) -> Result<(), String>;
    fn finish(self) -> Result<Vec<u8>, String>;
}

/// Streaming base64 decoder.
#[derive(Default)]
struct Base64 {
    out: Vec<u8>,
    acc: u32,
    /// Characters in the current quantum (0..4).
    n: u8,
    /// `=` in the current quantum.
    pad: u8,
    /// A padded quantum ended the data.
    done: bool,
}

impl Decoder for Base64 {
    fn feed(&mut self, s: &str) -> Result<(), String> {
        for &c in s.as_bytes() {
            if self.done {
                return Err(format!("bad base64 '{s}': data after the padding"));
            }
            if c == b'=' {
                if self.n < 2 {
                    return Err(format!("bad base64 '{s}': misplaced '='"));
                }
                self.pad += 1;
            } else {
                let Some(v) = base64_value(c) else {
                    return Err(format!(
                        "bad base64 '{s}': invalid character '{}'",
                        c as char
                    ));
                };
                if self.pad > 0 {
                    return Err(format!("bad base64 '{s}': data after '='"));
                }
                self.acc = (self.acc << 6) | u32::from(v);
            }
            self.n += 1;
            if self.n == 4 {
                let acc = self.acc << (6 * u32::from(self.pad));
                let bytes = [(acc >> 16) as u8, (acc >> 8) as u8, acc as u8];
                self.out
                    .extend_from_slice(&bytes[..3 - usize::from(self.pad)]);
                self.done = self.pad > 0;
                self.acc = 0;
                self.n = 0;
                self.pad = 0;
            }
        }
        Ok(())
    }

    fn finish(self) -> Result<Vec<u8>, String> {
        match (self.pad, self.n) {
            (0, 0) => Ok(self.out),
            // Unpadded tail.
            (0, n @ (2 | 3)) => {
                let mut out = self.out;
                let acc = self.acc << (6 * (4 - u32::from(n)));
                out.push((acc >> 16) as u8);
                if n == 3 {
                    out.push((acc >> 8) as u8);
                }
                Ok(out)
            }
            _ => Err("bad base64: truncated data".into()),
        }
    }
}

/// Streaming hex decoder (digit pairs may be split across tokens).
#[derive(Default)]
struct Hex {
    out: Vec<u8>,
    high: Option<u8>,
}

impl Decoder for Hex {
    fn feed(&mut self, s: &str) -> Result<(), String> {
        for &c in s.as_bytes() {
            let Some(v) = (c as char).to_digit(16) else {
                return Err(format!("bad hex '{s}': invalid character '{}'", c as char));
            };
            let v = v as u8;
            match self.high.take() {
                Some(h) => self.out.push(h << 4 | v),
                None => self.high = Some(v),
            }
        }
        Ok(())
    }

    fn finish(self) -> Result<Vec<u8>, String> {
        match self.high {
            None => Ok(self.out),
            Some(_) => Err("bad hex: odd number of digits".into()),
        }
    }
}

/// Base32 with the "extended hex" alphabet, no padding (RFC 4648 §7, NSEC3).
pub(crate) fn base32hex(s: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(s.len() * 5 / 8);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &c in s.as_bytes() {
        let v = match c.to_ascii_uppercase() {
            c @ b'0'..=b'9' => c - b'0',
            c @ b'A'..=b'V' => c - b'A' + 10,
            _ => {
                return Err(format!(
                    "bad base32hex '{s}': invalid character '{}'",
                    c as char
                ));
            }
        };
        acc = (acc << 5) | u32::from(v);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    if bits >= 5 || acc != 0 {
        return Err(format!("bad base32hex '{s}': wrong length"));
    }
    Ok(out)
}

// ---------------------------------------------------------------------------
// Record data

/// The rdata tokens of one record and what is needed to read them.
struct Rd<'a> {
    text: &'a str,
    toks: &'a [Tok],
    i: usize,
    /// The type token's line: blamed when a field is missing.
    line: usize,
    origin: &'a Name,
    origin_wire: &'a [u8],
    tname: &'a str,
}

impl<'a> Rd<'a> {
    fn next(&mut self, what: &str) -> Res<(Tok, &'a str)> {
        match self.toks.get(self.i) {
            Some(&t) => {
                self.i += 1;
                Ok((t, t.content(self.text)))
            }
            None => {
                let line = self.toks.last().map_or(self.line, |t| t.line);
                fail(line, format!("{} record: missing {what}", self.tname))
            }
        }
    }

    fn has_more(&self) -> bool {
        self.i < self.toks.len()
    }

    fn rest(&mut self) -> &'a [Tok] {
        let r = &self.toks[self.i..];
        self.i = self.toks.len();
        r
    }

    fn done(&self) -> Res<()> {
        match self.toks.get(self.i) {
            None => Ok(()),
            Some(t) => fail(
                t.line,
                format!(
                    "{} record: unexpected '{}' after the data",
                    self.tname,
                    t.content(self.text)
                ),
            ),
        }
    }

    fn int<T: TryFrom<u64>>(&mut self, what: &str) -> Res<T> {
        let (t, s) = self.next(what)?;
        match parse_int(s) {
            Some(v) => Ok(v),
            None => fail(t.line, format!("{} record: bad {what} '{s}'", self.tname)),
        }
    }

    fn name(&mut self, what: &str) -> Res<Name> {
        let (t, s) = self.next(what)?;
        parse_name(s, self.origin, self.origin_wire).map_err(|m| Fail {
            line: t.line,
            msg: format!("{} record: bad {what}: {m}", self.tname),
        })
    }

    fn name_wire(&mut self, what: &str, out: &mut Vec<u8>) -> Res<()> {
        let (t, s) = self.next(what)?;
        name_to_wire(s, self.origin_wire, out).map_err(|m| Fail {
            line: t.line,
            msg: format!("{} record: bad {what}: {m}", self.tname),
        })
    }

    fn string(&mut self, what: &str) -> Res<(Tok, Cow<'a, [u8]>)> {
        let (t, s) = self.next(what)?;
        match unescape(s) {
            Ok(v) => Ok((t, v)),
            Err(m) => fail(t.line, format!("{} record: bad {what}: {m}", self.tname)),
        }
    }

    /// A <character-string>, appended length-prefixed.
    fn char_string(&mut self, what: &str, out: &mut Vec<u8>) -> Res<()> {
        let (t, v) = self.string(what)?;
        if v.len() > 255 {
            return fail(
                t.line,
                format!("{} record: {what} longer than 255 bytes", self.tname),
            );
        }
        out.push(v.len() as u8);
        out.extend_from_slice(&v);
        Ok(())
    }

    fn base64(&mut self, what: &str, required: bool) -> Res<Vec<u8>> {
        self.decoded::<Base64>(what, required)
    }

    fn hex(&mut self, what: &str, required: bool) -> Res<Vec<u8>> {
        self.decoded::<Hex>(what, required)
    }

    /// The remaining tokens through a streaming decoder; an error names the
    /// line of the token it is in.
    fn decoded<D: Decoder>(&mut self, what: &str, required: bool) -> Res<Vec<u8>> {
        if required && !self.has_more() {
            self.next(what)?;
        }
        let mut dec = D::default();
        let mut line = self.line;
        for t in self.rest() {
            line = t.line;
            dec.feed(t.content(self.text)).map_err(|m| Fail {
                line: t.line,
                msg: format!("{} record: {m}", self.tname),
            })?;
        }
        dec.finish().map_err(|m| Fail {
            line,
            msg: format!("{} record: {m}", self.tname),
        })
    }

    /// The remaining tokens as an NSEC-style type bitmap, appended.
    fn type_bitmap(&mut self, out: &mut Vec<u8>) -> Res<()> {
        let mut codes: Vec<u16> = Vec::with_capacity(self.toks.len() - self.i);
        for t in self.rest() {
            let s = t.content(self.text);
            match type_code(s) {
                Some(c) => codes.push(c),
                None => {
                    return fail(t.line, format!("{} record: unknown type '{s}'", self.tname));
                }
            }
        }
        codes.sort_unstable();
        codes.dedup();
        let mut k = 0;
        while k < codes.len() {
            let window = (codes[k] >> 8) as u8;
            let mut bits = [0u8; 32];
            let mut len = 0;
            while k < codes.len() && (codes[k] >> 8) as u8 == window {
                let low = (codes[k] & 0xff) as usize;
                bits[low / 8] |= 0x80 >> (low % 8);
                len = low / 8 + 1;
                k += 1;
            }
            out.push(window);
            out.push(len as u8);
            out.extend_from_slice(&bits[..len]);
        }
        Ok(())
    }

    fn decode(&self, code: u16, wire: &[u8]) -> Res<RData> {
        decode(code, wire).map_err(|m| Fail {
            line: self.line,
            msg: format!("{} record: {m}", self.tname),
        })
    }
}

fn decode(code: u16, wire: &[u8]) -> Result<RData, String> {
    let len = u16::try_from(wire.len()).map_err(|_| "data longer than 65535 bytes".to_string())?;
    let mut dec = BinDecoder::new(wire);
    RData::read(&mut dec, RecordType::from(code), Restrict::new(len))
        .map_err(|e| format!("invalid data: {e}"))
}

/// RFC 3597: `\# <length> <hex>...` for any type.
fn generic(rd: &mut Rd<'_>, code: u16) -> Res<RData> {
    let (t, s) = rd.next("length after \\#")?;
    let Some(len) = parse_int::<u16>(s) else {
        return fail(t.line, format!("{} record: bad \\# length '{s}'", rd.tname));
    };
    let wire = rd.hex("data", false)?;
    if wire.len() != usize::from(len) {
        return fail(
            rd.line,
            format!(
                "{} record: \\# length is {len} but the data has {} bytes",
                rd.tname,
                wire.len()
            ),
        );
    }
    rd.decode(code, &wire)
}

fn put16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_be_bytes());
}

fn put32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_be_bytes());
}

/// Type-specific presentation format.
fn rdata(rd: &mut Rd<'_>, code: u16) -> Res<RData> {
    let rdata = match code {
        // A
        1 => {
            let (t, s) = rd.next("address")?;
            match s.parse::<Ipv4Addr>() {
                Ok(ip) => RData::A(A(ip)),
                Err(_) => return fail(t.line, format!("bad IPv4 address '{s}'")),
            }
        }
        // AAAA
        28 => {
            let (t, s) = rd.next("address")?;
            match s.parse::<Ipv6Addr>() {
                Ok(ip) => RData::AAAA(AAAA(ip)),
                Err(_) => return fail(t.line, format!("bad IPv6 address '{s}'")),
            }
        }
        2 => RData::NS(NS(rd.name("name server")?)),
        5 => RData::CNAME(CNAME(rd.name("target")?)),
        12 => RData::PTR(PTR(rd.name("target")?)),
        65305 => RData::ANAME(ANAME(rd.name("target")?)),
        15 => {
            let pref = rd.int("preference")?;
            RData::MX(MX::new(pref, rd.name("exchange")?))
        }
        6 => {
            let mname = rd.name("primary server (MNAME)")?;
            let rname = rd.name("mailbox (RNAME)")?;
            let serial = rd.int("serial")?;
            let mut timers = [0u32; 4];
            for (v, what) in timers
                .iter_mut()
                .zip(["refresh", "retry", "expire", "minimum"])
            {
                let (t, s) = rd.next(what)?;
                *v = parse_ttl(s).map_err(|m| Fail {
                    line: t.line,
                    msg: format!("SOA record: bad {what}: {m}"),
                })?;
            }
            RData::SOA(SOA::new(
                mname,
                rname,
                serial,
                timers[0] as i32,
                timers[1] as i32,
                timers[2] as i32,
                timers[3],
            ))
        }
        16 => {
            let mut strings = Vec::with_capacity(rd.toks.len());
            while rd.has_more() {
                let (t, v) = rd.string("text")?;
                if v.len() > 255 {
                    return fail(t.line, "TXT record: string longer than 255 bytes");
                }
                strings.push(v);
            }
            if strings.is_empty() {
                rd.next("text")?;
            }
            RData::TXT(TXT::from_bytes(strings.iter().map(|s| &s[..]).collect()))
        }
        33 => {
            let priority = rd.int("priority")?;
            let weight = rd.int("weight")?;
            let port = rd.int("port")?;
            RData::SRV(SRV::new(priority, weight, port, rd.name("target")?))
        }
        _ => return wire_rdata(rd, code),
    };
    rd.done()?;
    Ok(rdata)
}

/// Types whose data is encoded to wire format here and decoded by hickory.
fn wire_rdata(rd: &mut Rd<'_>, code: u16) -> Res<RData> {
    let mut w: Vec<u8> = Vec::with_capacity(64);
    match code {
        // SPF: like TXT.
        99 => {
            rd.char_string("text", &mut w)?;
            while rd.has_more() {
                rd.char_string("text", &mut w)?;
            }
        }
        // DNAME
        39 => rd.name_wire("target", &mut w)?,
        // RP
        17 => {
            rd.name_wire("mailbox", &mut w)?;
            rd.name_wire("TXT name", &mut w)?;
        }
        // AFSDB, RT, KX
        18 | 21 | 36 => {
            put16(&mut w, rd.int("preference")?);
            rd.name_wire("host", &mut w)?;
        }
        // HINFO
        13 => {
            rd.char_string("CPU", &mut w)?;
            rd.char_string("OS", &mut w)?;
        }
        // NAPTR
        35 => {
            put16(&mut w, rd.int("order")?);
            put16(&mut w, rd.int("preference")?);
            rd.char_string("flags", &mut w)?;
            rd.char_string("services", &mut w)?;
            rd.char_string("regexp", &mut w)?;
            rd.name_wire("replacement", &mut w)?;
        }
        // CAA
        257 => {
            w.push(rd.int("flags")?);
            let (t, tag) = rd.string("tag")?;
            if tag.is_empty() || tag.len() > 255 {
                return fail(t.line, "CAA record: bad tag");
            }
            w.push(tag.len() as u8);
            w.extend_from_slice(&tag);
            let (_, value) = rd.string("value")?;
            w.extend_from_slice(&value);
        }
        // URI
        256 => {
            put16(&mut w, rd.int("priority")?);
            put16(&mut w, rd.int("weight")?);
            let (_, target) = rd.string("target")?;
            w.extend_from_slice(&target);
        }
        // TLSA, SMIMEA
        52 | 53 => {
            w.push(rd.int("certificate usage")?);
            w.push(rd.int("selector")?);
            w.push(rd.int("matching type")?);
            w.extend(rd.hex("certificate data", true)?);
        }
        // SSHFP
        44 => {
            w.push(rd.int("algorithm")?);
            w.push(rd.int("fingerprint type")?);
            w.extend(rd.hex("fingerprint", true)?);
        }
        // OPENPGPKEY
        61 => w.extend(rd.base64("key", true)?),
        // CERT
        37 => {
            let (t, s) = rd.next("certificate type")?;
            let Some(ct) = cert_type(s) else {
                return fail(t.line, format!("CERT record: bad certificate type '{s}'"));
            };
            put16(&mut w, ct);
            put16(&mut w, rd.int("key tag")?);
            w.push(alg(rd)?);
            w.extend(rd.base64("certificate", true)?);
        }
        // DS, CDS, DLV, TA
        43 | 59 | 32768 | 32769 => {
            put16(&mut w, rd.int("key tag")?);
            w.push(alg(rd)?);
            w.push(rd.int("digest type")?);
            w.extend(rd.hex("digest", true)?);
        }
        // DNSKEY, CDNSKEY, KEY
        48 | 60 | 25 => {
            put16(&mut w, rd.int("flags")?);
            w.push(rd.int("protocol")?);
            w.push(alg(rd)?);
            w.extend(rd.base64("public key", true)?);
        }
        // RRSIG, SIG
        46 | 24 => {
            let (t, s) = rd.next("type covered")?;
            let Some(covered) = type_code(s) else {
                return fail(
                    t.line,
                    format!("{} record: unknown type covered '{s}'", rd.tname),
                );
            };
            put16(&mut w, covered);
            w.push(alg(rd)?);
            w.push(rd.int("labels")?);
            let (t, s) = rd.next("original TTL")?;
            let ottl = parse_ttl(s).map_err(|m| Fail {
                line: t.line,
                msg: format!("{} record: bad original TTL: {m}", rd.tname),
            })?;
            put32(&mut w, ottl);
            for what in ["expiration", "inception"] {
                let (t, s) = rd.next(what)?;
                let v = sig_time(s).map_err(|m| Fail {
                    line: t.line,
                    msg: format!("{} record: bad {what}: {m}", rd.tname),
                })?;
                put32(&mut w, v);
            }
            put16(&mut w, rd.int("key tag")?);
            rd.name_wire("signer name", &mut w)?;
            w.extend(rd.base64("signature", true)?);
        }
        // NSEC
        47 => {
            rd.name_wire("next name", &mut w)?;
            rd.type_bitmap(&mut w)?;
        }
        // NSEC3, NSEC3PARAM
        50 | 51 => {
            w.push(rd.int("hash algorithm")?);
            w.push(rd.int("flags")?);
            put16(&mut w, rd.int("iterations")?);
            let (t, salt) = rd.next("salt")?;
            if salt == "-" {
                w.push(0);
            } else {
                let mut h = Hex::default();
                let salt = h.feed(salt).and_then(|()| h.finish()).map_err(|m| Fail {
                    line: t.line,
                    msg: format!("{} record: bad salt: {m}", rd.tname),
                })?;
                if salt.len() > 255 {
                    return fail(t.line, format!("{} record: salt too long", rd.tname));
                }
                w.push(salt.len() as u8);
                w.extend(salt);
            }
            if code == 50 {
                let (t, s) = rd.next("next hashed owner name")?;
                let hash = base32hex(s).map_err(|m| Fail {
                    line: t.line,
                    msg: format!("NSEC3 record: {m}"),
                })?;
                if hash.is_empty() || hash.len() > 255 {
                    return fail(t.line, "NSEC3 record: bad next hashed owner name length");
                }
                w.push(hash.len() as u8);
                w.extend(hash);
                rd.type_bitmap(&mut w)?;
            }
        }
        // CSYNC
        62 => {
            put32(&mut w, rd.int("serial")?);
            put16(&mut w, rd.int("flags")?);
            rd.type_bitmap(&mut w)?;
        }
        // ZONEMD
        63 => {
            put32(&mut w, rd.int("serial")?);
            w.push(rd.int("scheme")?);
            w.push(rd.int("hash algorithm")?);
            w.extend(rd.hex("digest", true)?);
        }
        // SVCB, HTTPS
        64 | 65 => return svcb(rd, code),
        _ => {
            return fail(
                rd.line,
                format!(
                    "type {} has no text format here: write its data as RFC 3597 '\\# <length> <hex>'",
                    rd.tname
                ),
            );
        }
    }
    rd.done()?;
    rd.decode(code, &w)
}

fn alg(rd: &mut Rd<'_>) -> Res<u8> {
    let (t, s) = rd.next("algorithm")?;
    match algorithm(s) {
        Some(v) => Ok(v),
        None => fail(t.line, format!("{} record: bad algorithm '{s}'", rd.tname)),
    }
}

/// SVCB and HTTPS: the target name here (origin-relative), the parameters by
/// hickory's text parser.
fn svcb(rd: &mut Rd<'_>, code: u16) -> Res<RData> {
    let (pt, priority) = rd.next("priority")?;
    let target = rd.name("target")?;
    let mut text = String::with_capacity(64);
    text.push_str(priority);
    text.push_str(" .");
    for t in rd.rest() {
        text.push(' ');
        text.push_str(t.raw(rd.text));
    }
    let rtype = RecordType::from(code);
    let mut rdata = RData::try_from_str(rtype, &text).map_err(|e| Fail {
        line: pt.line,
        msg: format!("{} record: {e}", rd.tname),
    })?;
    match &mut rdata {
        RData::SVCB(s) => s.target_name = target,
        RData::HTTPS(h) => h.0.target_name = target,
        _ => {}
    }
    Ok(rdata)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::dnssec::rdata::{DNSKEY, DNSSECRData};
    use hickory_proto::dnssec::{PublicKey, Verifier};
    use hickory_proto::rr::DNSClass;
    use hickory_proto::serialize::binary::{BinEncodable, BinEncoder};
    use std::collections::{BTreeMap, BTreeSet};
    use std::time::Instant;

    fn origin() -> Name {
        Name::from_ascii("example.org.").unwrap()
    }

    fn parse(text: &str) -> Vec<Record> {
        match parse_zone(text, Path::new("test.zone"), &origin()) {
            Ok(r) => r,
            Err(e) => panic!("unexpected error: {e}"),
        }
    }

    fn error(text: &str) -> ZoneSyntaxError {
        match parse_zone(text, Path::new("test.zone"), &origin()) {
            Ok(r) => panic!("expected an error for {text:?}, got {} records", r.len()),
            Err(e) => e,
        }
    }

    fn name(s: &str) -> Name {
        Name::from_ascii(s).unwrap()
    }

    /// Uncompressed wire form of a plain dotted name, built independently
    /// of the code under test.
    fn wname(s: &str) -> Vec<u8> {
        let mut out = Vec::new();
        for label in s.trim_end_matches('.').split('.').filter(|l| !l.is_empty()) {
            out.push(label.len() as u8);
            out.extend_from_slice(label.as_bytes());
        }
        out.push(0);
        out
    }

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn cat(parts: &[&[u8]]) -> Vec<u8> {
        parts.concat()
    }

    /// The record data in wire form, names uncompressed.
    fn wire(r: &Record) -> Vec<u8> {
        let mut buf = Vec::new();
        let mut enc = BinEncoder::new(&mut buf);
        enc.set_canonical_form(true);
        r.data.emit(&mut enc).unwrap();
        buf
    }

    /// The one record of `$TTL 300` + `@ <rest>`.
    fn one(rest: &str) -> Record {
        let mut recs = parse(&format!("$TTL 300\n@ {rest}\n"));
        assert_eq!(recs.len(), 1, "{rest}");
        recs.pop().unwrap()
    }

    fn txt_strings(r: &Record) -> Vec<Vec<u8>> {
        match &r.data {
            RData::TXT(t) => t.txt_data.iter().map(|s| s.to_vec()).collect(),
            other => panic!("not TXT: {other:?}"),
        }
    }

    #[test]
    fn comments_parentheses_and_quotes() {
        let recs = parse(
            "; a comment line\n\
             $TTL 1h30m\n\
             @ IN SOA ns1 hostmaster ( 2026 ; serial\n\
             \t 2h 1h ; refresh retry\n\
             \t 2w 5m )   ; expire minimum\n\
             \n\
             www 300 IN A 192.0.2.1 ; trailing comment\n\
             \x20   IN 600 AAAA 2001:db8::1\n\
             txt TXT \"a \\\"quoted\\\" ; not a comment\" \\065B \"\\200\" (x\n\
             \ty) \"\"\n",
        );
        assert_eq!(recs.len(), 4);
        assert_eq!(
            recs[0].to_string(),
            "example.org. 5400 IN SOA ns1.example.org. hostmaster.example.org. 2026 7200 3600 1209600 300"
        );
        assert_eq!(&recs[1].name, &name("www.example.org."));
        assert_eq!(recs[1].ttl, 300);
        assert_eq!(&recs[1].data, &RData::A(A("192.0.2.1".parse().unwrap())));
        // Leading whitespace: the previous owner; class before TTL.
        assert_eq!(&recs[2].name, &name("www.example.org."));
        assert_eq!(recs[2].ttl, 600);
        assert_eq!(recs[2].record_type(), RecordType::AAAA);
        assert_eq!(
            txt_strings(&recs[3]),
            vec![
                b"a \"quoted\" ; not a comment".to_vec(),
                b"AB".to_vec(),
                vec![200],
                b"x".to_vec(),
                b"y".to_vec(),
                vec![],
            ]
        );
    }

    #[test]
    fn origin_at_and_relative_names() {
        let recs = parse(
            "$TTL 60\n\
             @ NS ns1\n\
             a CNAME b.example.net.\n\
             $ORIGIN sub\n\
             @ A 192.0.2.1\n\
             c MX 10 @\n\
             $ORIGIN other.net.\n\
             d PTR e\n\
             f.example.com. A 192.0.2.2\n",
        );
        let got: Vec<String> = recs.iter().map(|r| r.to_string()).collect();
        assert_eq!(
            got,
            [
                "example.org. 60 IN NS ns1.example.org.",
                "a.example.org. 60 IN CNAME b.example.net.",
                "sub.example.org. 60 IN A 192.0.2.1",
                "c.sub.example.org. 60 IN MX 10 sub.example.org.",
                "d.other.net. 60 IN PTR e.other.net.",
                "f.example.com. 60 IN A 192.0.2.2",
            ]
        );
        assert!(recs.iter().all(|r| r.name.is_fqdn()));
    }

    #[test]
    fn name_escapes_and_case() {
        let recs = parse(
            "$TTL 60\n\
             a\\.b A 192.0.2.1\n\
             \\065bc A 192.0.2.1\n\
             WwW.Example.ORG. A 192.0.2.1\n\
             *.wild A 192.0.2.1\n\
             _sip._tcp SRV 0 0 5060 x\\032y\n",
        );
        assert_eq!(recs[0].name.iter().next().unwrap(), b"a.b");
        assert_eq!(recs[0].name.num_labels(), 3);
        assert_eq!(recs[1].name.iter().next().unwrap(), b"Abc");
        // Case is kept as written.
        let labels: Vec<&[u8]> = recs[2].name.iter().collect();
        assert_eq!(labels, [&b"WwW"[..], b"Example", b"ORG"]);
        assert!(recs[3].name.is_wildcard());
        match &recs[4].data {
            RData::SRV(srv) => {
                assert_eq!(srv.target.iter().next().unwrap(), b"x y");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(&recs[4].name, &name("_sip._tcp.example.org."));
        let e = error("$TTL 60\na..b A 192.0.2.1\n");
        assert_eq!(e.line, 2, "{e}");
        let e = error("$TTL 60\nx\\256 A 192.0.2.1\n");
        assert_eq!(e.line, 2, "{e}");
    }

    #[test]
    fn ttl_and_class_in_any_order_or_absent() {
        let recs = parse(
            "a 300 IN A 192.0.2.1\n\
             b IN 400 A 192.0.2.2\n\
             c A 192.0.2.3\n\
             d IN A 192.0.2.4\n\
             e 1d A 192.0.2.5\n\
             f CLASS1 1W2d3h4m5s A 192.0.2.6\n\
             $TTL 1h\n\
             g A 192.0.2.7\n\
             h 20 A 192.0.2.8\n\
             i A 192.0.2.9\n",
        );
        let ttls: Vec<u32> = recs.iter().map(|r| r.ttl).collect();
        // Without $TTL the last explicit TTL carries on; with it, $TTL rules.
        assert_eq!(
            ttls,
            [
                300,
                400,
                400,
                400,
                86400,
                604_800 + 2 * 86400 + 3 * 3600 + 4 * 60 + 5,
                3600,
                20,
                3600
            ]
        );
        assert_eq!(parse_ttl("1h30m"), Ok(5400));
        assert_eq!(parse_ttl("90"), Ok(90));
        assert_eq!(parse_ttl("4294967295"), Ok(u32::MAX));
        assert!(parse_ttl("4294967296").is_err());
        assert!(parse_ttl("1x").is_err());
        assert!(parse_ttl("h").is_err());
        assert!(parse_ttl("100000w").is_err());
    }

    #[test]
    fn no_ttl_is_an_error() {
        let e = error("; nothing\n@ IN A 192.0.2.1\n");
        assert_eq!(e.line, 2);
        assert!(e.message.contains("no TTL"), "{e}");
    }

    #[test]
    fn type_names_any_case_and_typen() {
        let recs = parse(
            "$TTL 60\n\
             a in a 192.0.2.1\n\
             b Type1 192.0.2.2\n\
             c TYPE1 \\# 4 C0000203\n\
             d A \\# 4 c0 00 02 04\n\
             e TYPE65280 \\# 3 ABCDEF\n\
             f type65281 \\# 0\n\
             g TXT \\# ( 6 05 68656c6c6f )\n\
             h TYPE16 \"x\"\n",
        );
        let ips: Vec<Option<std::net::IpAddr>> =
            recs[..4].iter().map(|r| r.data.ip_addr()).collect();
        assert_eq!(
            ips,
            ["192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4"].map(|s| Some(s.parse().unwrap()))
        );
        assert_eq!(recs[4].record_type(), RecordType::Unknown(65280));
        assert_eq!(wire(&recs[4]), hex("abcdef"));
        assert_eq!(recs[5].record_type(), RecordType::Unknown(65281));
        assert!(wire(&recs[5]).is_empty());
        assert_eq!(txt_strings(&recs[6]), vec![b"hello".to_vec()]);
        assert_eq!(txt_strings(&recs[7]), vec![b"x".to_vec()]);
        // Length mismatch.
        let e = error("$TTL 60\n\na TYPE65280 \\# 4 ABCDEF\n");
        assert_eq!(e.line, 3, "{e}");
        // Decodes must be valid for known types.
        let e = error("$TTL 60\na A \\# 3 C00002\n");
        assert_eq!(e.line, 2, "{e}");
    }

    #[test]
    fn every_rdata_type() {
        let n = wname;
        let cases: Vec<(&str, u16, Vec<u8>)> = vec![
            ("A 192.0.2.1", 1, hex("c0000201")),
            (
                "AAAA 2001:db8::1",
                28,
                hex("20010db8000000000000000000000001"),
            ),
            ("NS ns1", 2, n("ns1.example.org.")),
            ("CNAME www.example.net.", 5, n("www.example.net.")),
            ("PTR host", 12, n("host.example.org.")),
            ("DNAME target.example.net.", 39, n("target.example.net.")),
            ("ANAME www", 65305, n("www.example.org.")),
            (
                "MX 10 mail",
                15,
                cat(&[&hex("000a"), &n("mail.example.org.")]),
            ),
            (
                "SOA ns1 hostmaster 2026 2h 1h 2w 5m",
                6,
                cat(&[
                    &n("ns1.example.org."),
                    &n("hostmaster.example.org."),
                    &hex("000007ea"),
                    &7200u32.to_be_bytes(),
                    &3600u32.to_be_bytes(),
                    &1_209_600u32.to_be_bytes(),
                    &300u32.to_be_bytes(),
                ]),
            ),
            (
                "TXT \"hello world\" unquoted \"\\\"q\\\"\" \"\\255\\000\"",
                16,
                cat(&[b"\x0bhello world\x08unquoted\x03\"q\"\x02\xff\x00"]),
            ),
            ("SPF \"v=spf1 -all\"", 99, cat(&[b"\x0bv=spf1 -all"])),
            (
                "SRV 10 5 5060 sip",
                33,
                cat(&[&hex("000a000513c4"), &n("sip.example.org.")]),
            ),
            (
                "NAPTR 100 10 \"U\" \"E2U+sip\" \"!^.*$!sip:info@example.org!\" .",
                35,
                cat(&[
                    &hex("0064000a"),
                    b"\x01U\x07E2U+sip\x1b!^.*$!sip:info@example.org!",
                    &[0],
                ]),
            ),
            ("HINFO \"Intel\" Linux", 13, cat(&[b"\x05Intel\x05Linux"])),
            (
                "CAA 0 issue \"ca.example.net\"",
                257,
                cat(&[b"\x00\x05issueca.example.net"]),
            ),
            ("TLSA 3 1 1 ( abcd EF01 )", 52, hex("030101abcdef01")),
            ("SMIMEA 3 0 1 a b c d", 53, hex("030001abcd")),
            (
                "SSHFP 1 1 0123456789abcdef0123456789abcdef01234567",
                44,
                hex("01010123456789abcdef0123456789abcdef01234567"),
            ),
            ("OPENPGPKEY aGVs bG8=", 61, b"hello".to_vec()),
            (
                "CERT PGP 0 0 aGVsbG8=",
                37,
                cat(&[&hex("0003000000"), b"hello"]),
            ),
            (
                "CERT 1 7 RSASHA256 aGVsbG8=",
                37,
                cat(&[&hex("0001000708"), b"hello"]),
            ),
            (
                "DS 12345 8 2 ( 0123456789ABCDEF 0123 )",
                43,
                hex("303908020123456789abcdef0123"),
            ),
            ("CDS 0 0 0 00", 59, hex("0000000000")),
            (
                "DNSKEY 256 3 13 aGVsbG8=",
                48,
                cat(&[&hex("0100030d"), b"hello"]),
            ),
            (
                "DNSKEY 257 3 ECDSAP256SHA256 aGVsbA",
                48,
                cat(&[&hex("0101030d"), b"hell"]),
            ),
            ("CDNSKEY 0 3 0 AA==", 60, hex("0000030000")),
            (
                "RRSIG A 13 3 3600 ( 20361124025200 20261127025200 5573 example.org.\n aGVs bG8= )",
                46,
                cat(&[
                    &hex("00010d0300000e10"),
                    &2_111_107_920u32.to_be_bytes(),
                    &1_795_747_920u32.to_be_bytes(),
                    &5573u16.to_be_bytes(),
                    &n("example.org."),
                    b"hello",
                ]),
            ),
            (
                "RRSIG TYPE65280 8 2 1h 2111107920 1795747920 1 @ aGVsbG8=",
                46,
                cat(&[
                    &hex(&"ff0008020000 0e10".replace(' ', "")),
                    &2_111_107_920u32.to_be_bytes(),
                    &1_795_747_920u32.to_be_bytes(),
                    &1u16.to_be_bytes(),
                    &n("example.org."),
                    b"hello",
                ]),
            ),
            (
                "NSEC host A MX RRSIG NSEC TYPE1234",
                47,
                cat(&[
                    &n("host.example.org."),
                    &hex("0006400100000003"),
                    &[4, 27],
                    &[0; 26],
                    &[0x20],
                ]),
            ),
            ("NSEC next", 47, n("next.example.org.")),
            (
                "NSEC3 1 1 10 AABBCCDD 2T7B4G4VSA5SMI47K61MV5BV1A22BOJR A RRSIG",
                50,
                cat(&[
                    &hex("0101000a04aabbccdd14"),
                    &hex("174eb2409fe28bcb4887a1836f957f0a8425e27b"),
                    &hex("0006400000000002"),
                ]),
            ),
            (
                "NSEC3 1 0 0 - 2t7b4g4vsa5smi47k61mv5bv1a22bojr",
                50,
                cat(&[
                    &hex("010000000014"),
                    &hex("174eb2409fe28bcb4887a1836f957f0a8425e27b"),
                ]),
            ),
            ("NSEC3PARAM 1 0 10 -", 51, hex("0100000a00")),
            ("NSEC3PARAM 1 0 0 ABCD", 51, hex("0100000002abcd")),
            ("CSYNC 66 3 A NS AAAA", 62, hex("000000420003000460000008")),
            ("ZONEMD 2026 1 1 ( abcdef )", 63, hex("000007ea0101abcdef")),
            (
                "URI 10 1 \"https://example.org/\"",
                256,
                cat(&[&hex("000a0001"), b"https://example.org/"]),
            ),
            (
                "RP admin txt",
                17,
                cat(&[&n("admin.example.org."), &n("txt.example.org.")]),
            ),
            (
                "AFSDB 1 afs",
                18,
                cat(&[&hex("0001"), &n("afs.example.org.")]),
            ),
            ("KX 10 kx", 36, cat(&[&hex("000a"), &n("kx.example.org.")])),
            (
                "SVCB 1 svc alpn=h2,h3 port=8443",
                64,
                cat(&[
                    &hex("0001"),
                    &n("svc.example.org."),
                    &hex(&"0001000602683202683300030002 20fb".replace(' ', "")),
                ]),
            ),
            (
                "HTTPS 0 pool",
                65,
                cat(&[&hex("0000"), &n("pool.example.org.")]),
            ),
            (
                "HTTPS 1 . alpn=h3",
                65,
                hex("000100000100030268 33".replace(' ', "").as_str()),
            ),
        ];
        for (text, code, expected) in cases {
            let r = one(text);
            assert_eq!(u16::from(r.record_type()), code, "{text}");
            assert_eq!(&r.name, &origin(), "{text}");
            assert_eq!(r.ttl, 300, "{text}");
            assert_eq!(wire(&r), expected, "{text}");
            // Round trip: what hickory reads back from the wire is the same.
            let again = decode(code, &expected).unwrap();
            assert_eq!(&r.data, &again, "{text}");
        }
    }

    #[test]
    fn presentation_round_trips() {
        let cases = [
            ("MX 10 mail", "10 mail.example.org."),
            ("SRV 10 5 5060 sip", "10 5 5060 sip.example.org."),
            (
                "CAA 128 issue \"ca.example.net\"",
                "128 issue \"ca.example.net\"",
            ),
            ("DS 12345 8 2 abcdef", "12345 8 2 ABCDEF"),
            ("DNSKEY 256 3 13 aGVsbG8=", "256 3 13 aGVsbG8="),
            (
                "RRSIG SOA 13 2 3600 20361124025200 20261127025200 5573 example.org. aGVsbG8=",
                "SOA ECDSAP256SHA256 2 3600 2111107920 1795747920 5573 example.org. aGVsbG8=",
            ),
            (
                "NSEC www A AAAA RRSIG NSEC",
                "www.example.org. A AAAA RRSIG NSEC",
            ),
            ("NSEC3PARAM 1 0 10 aabb", "1 0 10 AABB"),
            ("TLSA 3 1 1 ABCDEF", "3 1 1 abcdef"),
        ];
        for (text, expected) in cases {
            assert_eq!(one(text).data.to_string(), expected, "{text}");
        }
        // Typed as hickory types, not opaque data.
        assert!(matches!(
            one("DNSKEY 256 3 13 aGVsbG8=").data,
            RData::DNSSEC(DNSSECRData::DNSKEY(_))
        ));
        assert!(matches!(
            one("CDS 0 0 0 00").data,
            RData::DNSSEC(DNSSECRData::CDS(_))
        ));
        assert!(matches!(
            one("NSEC3 1 0 0 - 2t7b4g4vsa5smi47k61mv5bv1a22bojr").data,
            RData::DNSSEC(DNSSECRData::NSEC3(_))
        ));
        assert!(matches!(
            one("DNAME x.example.net.").data,
            RData::Unknown {
                code: RecordType::DNAME,
                ..
            }
        ));
    }

    #[test]
    fn signature_times() {
        assert_eq!(sig_time("20361124025200"), Ok(2_111_107_920));
        assert_eq!(sig_time("19700101000000"), Ok(0));
        assert_eq!(sig_time("20000229000000"), Ok(951_782_400));
        // Past 2106 the value wraps (RFC 4034 serial arithmetic).
        assert_eq!(sig_time("21060207062816"), Ok(0));
        assert_eq!(sig_time("12345"), Ok(12345));
        assert!(sig_time("20230230000000").is_err());
        assert!(sig_time("2023013100000x").is_err());
        assert!(sig_time("19691231235959").is_err());
    }

    #[test]
    fn encodings() {
        let b64 = |s: &str| {
            let mut d = Base64::default();
            d.feed(s).and_then(|()| d.finish())
        };
        assert_eq!(b64("aGVsbG8="), Ok(b"hello".to_vec()));
        assert_eq!(b64("aGVsbA=="), Ok(b"hell".to_vec()));
        assert_eq!(b64("aGVsbA"), Ok(b"hell".to_vec()));
        assert_eq!(b64(""), Ok(vec![]));
        assert!(b64("aGVsb").is_err());
        assert!(b64("aG=sbG8=").is_err());
        assert!(b64("aGVsbA==aGVs").is_err());
        assert!(b64("aGV*bG8=").is_err());
        assert_eq!(base32hex("CPNMUOG"), Ok(b"foob".to_vec()));
        assert_eq!(
            base32hex("CPNMUOH"),
            Err("bad base32hex 'CPNMUOH': wrong length".into())
        );
        assert!(base32hex("CPN").is_err());
        assert_eq!(base32hex("CPNMUOJ1"), Ok(b"fooba".to_vec()));
        assert!(base32hex("CPNMUOJW").is_err());
    }

    #[test]
    fn includes() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("inc")).unwrap();
        std::fs::write(
            dir.path().join("inc/hosts.inc"),
            "; included\nhost A 192.0.2.10\n  AAAA 2001:db8::10\n$ORIGIN deeper\nx A 192.0.2.11\n$TTL 77\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("inc/plain.inc"), "y TXT \"plain\"\n").unwrap();
        let main = "$TTL 60\n\
                    www A 192.0.2.1\n\
                    $INCLUDE inc/hosts.inc sub\n\
                    \x20 A 192.0.2.2\n\
                    z A 192.0.2.3\n\
                    $INCLUDE \"inc/plain.inc\"\n";
        let path = dir.path().join("example.org.zone");
        let recs = parse_zone(main, &path, &origin()).unwrap();
        let got: Vec<String> = recs.iter().map(|r| r.to_string()).collect();
        assert_eq!(
            got,
            [
                "www.example.org. 60 IN A 192.0.2.1",
                "host.sub.example.org. 60 IN A 192.0.2.10",
                "host.sub.example.org. 60 IN AAAA 2001:db8::10",
                "x.deeper.sub.example.org. 60 IN A 192.0.2.11",
                // The owner and the origin revert; $TTL carries on.
                "www.example.org. 77 IN A 192.0.2.2",
                "z.example.org. 77 IN A 192.0.2.3",
                "y.example.org. 77 IN TXT plain",
            ]
        );

        // Errors inside an included file name that file and its line.
        std::fs::write(
            dir.path().join("inc/bad.inc"),
            "ok A 192.0.2.1\n\nbad A 192.0.2.300\n",
        )
        .unwrap();
        let e = parse_zone("$TTL 60\n$INCLUDE inc/bad.inc\n", &path, &origin()).unwrap_err();
        assert_eq!(e.file, dir.path().join("inc/bad.inc"));
        assert_eq!(e.line, 3, "{e}");
        assert!(e.message.contains("192.0.2.300"), "{e}");
        assert_eq!(
            e.to_string(),
            format!("{}:3: {}", e.file.display(), e.message)
        );

        // A missing file is blamed on the $INCLUDE line.
        let e = parse_zone("$TTL 60\n\n$INCLUDE nope.inc\n", &path, &origin()).unwrap_err();
        assert_eq!((e.file.as_path(), e.line), (path.as_path(), 3), "{e}");

        // A file including itself stops at the depth limit.
        let selfinc = dir.path().join("self.zone");
        std::fs::write(&selfinc, "a A 192.0.2.1\n$INCLUDE self.zone\n").unwrap();
        let text = std::fs::read_to_string(&selfinc).unwrap();
        let e = parse_zone(&format!("$TTL 1\n{text}"), &selfinc, &origin()).unwrap_err();
        assert_eq!(e.line, 2, "{e}");
        assert!(e.message.contains("nested"), "{e}");
    }

    #[test]
    fn errors_name_the_line() {
        let cases: &[(&str, usize, &str)] = &[
            ("$TTL 60\nok A 192.0.2.1\nbad A 192.0.2.256\n", 3, "IPv4"),
            ("$TTL 60\n\n\nbad AAAA 2001:db8::g\n", 4, "IPv6"),
            ("$TTL 60\na 3x A 192.0.2.1\n", 2, "TTL"),
            ("$TTL 1q\n", 1, "TTL"),
            ("$TTL 60\na 99999999999 A 192.0.2.1\n", 2, "TTL"),
            ("$TTL 60\na LOC 1 2 3\n", 2, "RFC 3597"),
            ("$TTL 60\na TYPE999 abc\n", 2, "RFC 3597"),
            ("$TTL 60\na FOO abc\n", 2, "unknown record type"),
            ("$TTL 60\na 60 IN\n", 2, "missing record type"),
            ("$TTL 60\na ( A\n\n 192.0.2.1\n", 2, "parenthesis"),
            ("$TTL 60\na A 192.0.2.1 )\n", 2, "')'"),
            ("$TTL 60\na TXT \"abc\nb A 192.0.2.1\n", 2, "quoted"),
            ("$TTL 60\na TXT ( \"abc\" \n \"def )\n", 3, "quoted"),
            (
                "$TTL 60\n@ DNSKEY 256 3 13 (\n aGVsbG8=\n aGV$bG8=\n )\n",
                4,
                "base64",
            ),
            ("$TTL 60\n@ DNSKEY 256 3 13 aGVsb\n", 2, "base64"),
            ("$TTL 60\n@ DNSKEY 256 3 13\n", 2, "public key"),
            ("$TTL 60\n@ DS 1 8 2 ( ABC\n DEF0 Z1 )\n", 3, "hex"),
            ("\n  A 192.0.2.1\n", 2, "no owner"),
            ("$TTL 60\na CH A 192.0.2.1\n", 2, "class CH"),
            ("$TTL 60\na 60 HS TXT \"x\"\n", 2, "class HS"),
            ("$TTL 60\na MX 10\n", 2, "missing exchange"),
            ("$TTL 60\na MX 10 b c\n", 2, "unexpected 'c'"),
            ("$TTL 60\na MX 70000 b\n", 2, "preference"),
            ("$TTL 60\na A\n", 2, "missing address"),
            ("$TTL 60\na NSEC b A BOGUS\n", 2, "BOGUS"),
            ("$TTL 60\na NSEC3 1 0 0 - ZZZ A\n", 2, "base32hex"),
            (
                "$TTL 60\na RRSIG A 13 2 60 20261301000000 1 1 @ aGVsbG8=\n",
                2,
                "expiration",
            ),
            (
                "$TTL 60\na RRSIG A 13 2 60 1 99999999999 1 @ aGVsbG8=\n",
                2,
                "inception",
            ),
            ("$TTL 60\na OPT \\# 0\n", 2, "cannot appear"),
            ("$TTL 60\na TXT \"\\999\"\n", 2, "escape"),
            ("$TTL 60\n$GENERATE 1-2 a$ A 192.0.2.$\n", 2, "directive"),
            ("$ORIGIN\n", 1, "argument"),
            ("$TTL 60\na HTTPS 1 . alpn\n", 2, "HTTPS"),
            ("$TTL 60\na TXT \"x\" \\\n", 2, "backslash"),
            ("$TTL 60\na DNSKEY 256 2 13 aGVsbG8=\n", 2, "DNSKEY"),
        ];
        for &(text, line, needle) in cases {
            let e = error(text);
            assert_eq!(e.line, line, "{text:?}: {e}");
            assert!(e.message.contains(needle), "{text:?}: {e}");
            assert_eq!(e.file, Path::new("test.zone"));
        }
    }

    #[test]
    fn signed_zone_from_dnssec_signzone() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/fixtures/differential/example.org.signed");
        let text = std::fs::read_to_string(&path).unwrap();
        let recs = parse_zone(&text, &path, &origin()).unwrap();

        let mut by_type: BTreeMap<String, usize> = BTreeMap::new();
        for r in &recs {
            *by_type.entry(r.record_type().to_string()).or_default() += 1;
        }
        assert_eq!(by_type["RRSIG"], 44, "{by_type:?}");
        assert_eq!(by_type["NSEC"], 19, "{by_type:?}");
        assert_eq!(by_type["DNSKEY"], 2, "{by_type:?}");
        assert_eq!(by_type["SOA"], 1);
        assert_eq!(by_type["DS"], 1);

        // Types present at each owner.
        let mut types: BTreeMap<Name, BTreeSet<RecordType>> = BTreeMap::new();
        for r in &recs {
            types
                .entry(r.name.to_lowercase())
                .or_default()
                .insert(r.record_type());
        }
        let mut covered: BTreeMap<String, usize> = BTreeMap::new();
        for r in &recs {
            let here = &types[&r.name.to_lowercase()];
            match &r.data {
                RData::DNSSEC(DNSSECRData::RRSIG(sig)) => {
                    let input = sig.input();
                    assert!(here.contains(&input.type_covered), "{r}");
                    assert_eq!(input.signer_name, origin());
                    assert_eq!(input.sig_expiration.get(), 2_111_107_920);
                    assert_eq!(input.sig_inception.get(), 1_795_747_920);
                    assert_eq!(sig.sig().len(), 64, "{r}");
                    *covered.entry(input.type_covered.to_string()).or_default() += 1;
                }
                RData::DNSSEC(DNSSECRData::NSEC(nsec)) => {
                    // dnssec-signzone lists exactly the types at the owner.
                    let listed: BTreeSet<RecordType> = nsec.type_bit_maps().collect();
                    assert_eq!(&listed, here, "{r}");
                }
                RData::DNSSEC(DNSSECRData::DNSKEY(key)) => {
                    assert_eq!(key.public_key().public_bytes().len(), 64);
                }
                _ => {}
            }
        }
        let expected: BTreeMap<String, usize> = [
            ("A", 7),
            ("AAAA", 1),
            ("CNAME", 7),
            ("DNSKEY", 2),
            ("DS", 1),
            ("MX", 1),
            ("NS", 1),
            ("NSEC", 19),
            ("SOA", 1),
            ("SRV", 1),
            ("TXT", 3),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        assert_eq!(covered, expected);

        // Every signature verifies against the zone's keys: names, TTLs and
        // data came through byte-exact.
        let keys: Vec<&DNSKEY> = recs
            .iter()
            .filter_map(|r| match &r.data {
                RData::DNSSEC(DNSSECRData::DNSKEY(k)) => Some(k),
                _ => None,
            })
            .collect();
        let mut verified = 0;
        for r in &recs {
            let RData::DNSSEC(DNSSECRData::RRSIG(sig)) = &r.data else {
                continue;
            };
            let input = sig.input();
            let key = keys
                .iter()
                .find(|k| k.calculate_key_tag().unwrap() == input.key_tag)
                .unwrap_or_else(|| panic!("no key for {r}"));
            let covered = recs
                .iter()
                .filter(|c| c.name == r.name && c.record_type() == input.type_covered);
            key.verify_rrsig(&r.name, DNSClass::IN, sig, covered)
                .unwrap_or_else(|e| panic!("{r}: {e}"));
            verified += 1;
        }
        assert_eq!(verified, 44);

        let soa = recs
            .iter()
            .find(|r| r.record_type() == RecordType::SOA)
            .unwrap();
        assert_eq!(
            soa.to_string(),
            "example.org. 3600 IN SOA ns1.example.org. hostmaster.example.org. 2026112701 7200 3600 1209600 300"
        );
    }

    fn generated_zone(n: usize) -> String {
        let mut text = String::with_capacity(n * 40);
        text.push_str("$ORIGIN example.org.\n$TTL 3600\n@ SOA ns1 hostmaster 1 2h 1h 2w 5m\n");
        for i in 0..n {
            let line = match i % 6 {
                0 => format!(
                    "h{i} A 10.{}.{}.{}\n",
                    (i >> 16) & 255,
                    (i >> 8) & 255,
                    i & 255
                ),
                1 => format!("h{i} 300 IN AAAA 2001:db8::{:x}\n", i & 0xffff),
                2 => format!("h{i} MX 10 mail{i}\n"),
                3 => format!("h{i} TXT \"v=spf1 -all\" \"record {i}\"\n"),
                4 => format!("h{i} CNAME h{}.example.org.\n", i - 4),
                _ => format!("h{i} NS ns{i}.example.net.\n"),
            };
            text.push_str(&line);
        }
        text
    }

    #[test]
    fn generated_100k_records() {
        let text = generated_zone(100_000);
        let start = Instant::now();
        let recs = parse_zone(&text, Path::new("gen.zone"), &origin()).unwrap();
        eprintln!("parsed 100,000 records in {:?}", start.elapsed());
        assert_eq!(recs.len(), 100_001);
        assert_eq!(recs[1].to_string(), "h0.example.org. 3600 IN A 10.0.0.0");
        // Record k + 1 is generated from i = k.
        assert_eq!(
            recs[99_999].to_string(),
            "h99998.example.org. 3600 IN MX 10 mail99998.example.org."
        );
        assert_eq!(
            txt_strings(&recs[100_000]),
            [&b"v=spf1 -all"[..], b"record 99999"]
        );
        assert_eq!(
            recs[99_998].to_string(),
            "h99997.example.org. 300 IN AAAA 2001:db8::869d"
        );
    }
}
