//! One resource record in zone-file form (RFC 1035 §5.1), as a template
//! renders it: `OWNER [TTL] [CLASS] TYPE RDATA`, TTL and class in either
//! order, relative names completed with the root (the origin is `.`), a
//! missing TTL 3600 and a missing class IN, as CoreDNS's `dns.NewRR` reads
//! it. Parentheses continue a record over lines, `;` starts a comment.
//! Only the first record of the text is read.
//!
//! A, AAAA, CNAME, NS, PTR, MX, SRV, TXT and SOA are read here; any type in
//! RFC 3597's generic form (`\# LENGTH HEX`) too; other types go through
//! hickory's zone-file parser.

use super::names;
use crate::dns::{A, AAAA, DNSClass, Name, PTR, RData, Record, RecordType, SRV, TXT};
use hickory_proto::rr::rdata::{CNAME, MX, NS, SOA};
use hickory_proto::serialize::binary::{BinDecoder, Restrict};
use hickory_proto::serialize::txt::{Parser, parse_ttl};
use std::net::{Ipv4Addr, Ipv6Addr};

/// TTL of a record that gives none (`dns.NewRR`'s default).
pub(crate) const DEFAULT_TTL: u32 = 3600;

/// One word of a record: its text as written (escapes kept) and whether it
/// was a quoted string.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Word {
    text: String,
    quoted: bool,
}

/// The first record of `text`: `None` if the text holds none (only blanks
/// and comments).
pub(crate) fn parse(text: &str) -> Result<Option<Record>, String> {
    let Some((blank_owner, words)) = first_entry(text)? else {
        return Ok(None);
    };
    let mut words = words.into_iter();
    let first = words.next().expect("an entry has a word");
    if blank_owner {
        return Err("the record has no owner name".into());
    }
    if !first.quoted && first.text.starts_with('$') {
        return Err(format!("directive {} is not supported here", first.text));
    }
    let owner = name(&first)?;
    let (mut ttl, mut class) = (None, None);
    let rtype = loop {
        let Some(w) = words.next() else {
            return Err("the record has no type".into());
        };
        if w.quoted {
            return Err(format!(
                "expected a TTL, class or type, found \"{}\"",
                w.text
            ));
        }
        if ttl.is_none() && w.text.starts_with(|c: char| c.is_ascii_digit()) {
            ttl = Some(parse_ttl(&w.text).map_err(|_| format!("invalid TTL '{}'", w.text))?);
            continue;
        }
        if class.is_none()
            && let Some(c) = names::zone_class_code(&w.text)
        {
            class = Some(c);
            continue;
        }
        match names::zone_type_code(&w.text) {
            Some(code) => break RecordType::from(code),
            None => return Err(format!("unknown type '{}'", w.text)),
        }
    };
    let rdata: Vec<Word> = words.collect();
    let data = rdata_of(rtype, &rdata)?;
    let mut record = Record::from_rdata(owner, ttl.unwrap_or(DEFAULT_TTL), data);
    record.dns_class = DNSClass::from(class.unwrap_or(1));
    Ok(Some(record))
}

/// Splits off the first non-empty entry (a line, or several joined by
/// parentheses) into words; the flag says it starts with a blank.
fn first_entry(text: &str) -> Result<Option<(bool, Vec<Word>)>, String> {
    let mut words: Vec<Word> = Vec::new();
    let mut word: Option<String> = None;
    let mut depth = 0usize;
    let mut line_start = true;
    let mut blank_owner = false;
    let mut chars = text.chars();
    let end_word = |word: &mut Option<String>, words: &mut Vec<Word>| {
        if let Some(w) = word.take() {
            words.push(Word {
                text: w,
                quoted: false,
            });
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                end_word(&mut word, &mut words);
                let mut s = String::new();
                let mut closed = false;
                while let Some(q) = chars.next() {
                    match q {
                        '\\' => {
                            s.push('\\');
                            if let Some(e) = chars.next() {
                                s.push(e);
                            }
                        }
                        '"' => {
                            closed = true;
                            break;
                        }
                        q => s.push(q),
                    }
                }
                if !closed {
                    return Err("unterminated quoted string".into());
                }
                words.push(Word {
                    text: s,
                    quoted: true,
                });
            }
            ';' => {
                end_word(&mut word, &mut words);
                // The comment runs to the end of the line; the newline counts.
                for q in chars.by_ref() {
                    if q == '\n' {
                        break;
                    }
                }
                if depth == 0 {
                    if !words.is_empty() {
                        break;
                    }
                    line_start = true;
                    blank_owner = false;
                }
                continue;
            }
            '(' => {
                end_word(&mut word, &mut words);
                depth += 1;
            }
            ')' => {
                end_word(&mut word, &mut words);
                depth = depth
                    .checked_sub(1)
                    .ok_or("closing parenthesis without an opening one")?;
            }
            '\n' => {
                end_word(&mut word, &mut words);
                if depth == 0 {
                    if !words.is_empty() {
                        break;
                    }
                    line_start = true;
                    blank_owner = false;
                    continue;
                }
            }
            ' ' | '\t' | '\r' => {
                if line_start && words.is_empty() && word.is_none() {
                    blank_owner = true;
                }
                end_word(&mut word, &mut words);
            }
            '\\' => {
                let w = word.get_or_insert_with(String::new);
                w.push('\\');
                if let Some(e) = chars.next() {
                    w.push(e);
                }
            }
            c => word.get_or_insert_with(String::new).push(c),
        }
        line_start = false;
    }
    end_word(&mut word, &mut words);
    if depth > 0 {
        return Err("unbalanced parentheses".into());
    }
    Ok((!words.is_empty()).then_some((blank_owner, words)))
}

/// The bytes of a word with its escapes resolved (`\DDD` decimal, `\X`).
fn unescape(text: &str) -> Result<Vec<u8>, String> {
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' {
            out.push(b[i]);
            i += 1;
            continue;
        }
        match b.get(i + 1) {
            Some(d) if d.is_ascii_digit() => {
                let digits = b
                    .get(i + 1..i + 4)
                    .filter(|ds| ds.iter().all(u8::is_ascii_digit))
                    .ok_or_else(|| format!("bad escape in '{text}'"))?;
                let v = digits
                    .iter()
                    .fold(0u32, |v, d| v * 10 + u32::from(d - b'0'));
                out.push(u8::try_from(v).map_err(|_| format!("bad escape in '{text}'"))?);
                i += 4;
            }
            Some(_) => {
                // The escaped character, whole if it is not ASCII.
                let ch = text[i + 1..].chars().next().expect("a character follows");
                out.extend_from_slice(&text.as_bytes()[i + 1..i + 1 + ch.len_utf8()]);
                i += 1 + ch.len_utf8();
            }
            None => return Err(format!("bad escape at the end of '{text}'")),
        }
    }
    Ok(out)
}

/// A domain name; relative names are completed with the root, `@` is the root.
fn name(w: &Word) -> Result<Name, String> {
    let bad = |why: String| format!("invalid name '{}': {why}", w.text);
    if w.quoted {
        return Err(bad("a name cannot be quoted".into()));
    }
    if w.text == "@" || w.text == "." {
        return Ok(Name::root());
    }
    let mut labels: Vec<Vec<u8>> = Vec::new();
    let mut label = String::new();
    let mut escaped = false;
    let mut push = |label: &str| -> Result<(), String> {
        if label.is_empty() {
            return Err(bad("empty label".into()));
        }
        labels.push(unescape(label).map_err(bad)?);
        Ok(())
    };
    for c in w.text.chars() {
        if escaped {
            label.push(c);
            escaped = false;
        } else if c == '\\' {
            label.push(c);
            escaped = true;
        } else if c == '.' {
            push(&label)?;
            label.clear();
        } else {
            label.push(c);
        }
    }
    if !label.is_empty() {
        push(&label)?;
    }
    Name::from_labels(labels).map_err(|e| bad(e.to_string()))
}

fn one<'w>(rdata: &'w [Word], what: &str) -> Result<&'w Word, String> {
    match rdata {
        [w] => Ok(w),
        [] => Err(format!("{what} record has no data")),
        _ => Err(format!(
            "{what} record has more data than one field: '{}'",
            rdata[1].text
        )),
    }
}

fn number<T: std::str::FromStr>(w: &Word, what: &str) -> Result<T, String> {
    w.text
        .parse()
        .map_err(|_| format!("invalid {what} '{}'", w.text))
}

/// A time field of SOA: seconds, or with units like a TTL.
fn seconds(w: &Word, what: &str) -> Result<u32, String> {
    parse_ttl(&w.text).map_err(|_| format!("invalid {what} '{}'", w.text))
}

fn rdata_of(rtype: RecordType, rdata: &[Word]) -> Result<RData, String> {
    let what = names::type_name(u16::from(rtype));
    if let Some(first) = rdata.first()
        && !first.quoted
        && first.text == "\\#"
    {
        return generic(rtype, &rdata[1..]);
    }
    Ok(match rtype {
        RecordType::A => {
            let w = one(rdata, &what)?;
            RData::A(A(w
                .text
                .parse::<Ipv4Addr>()
                .map_err(|_| format!("invalid IPv4 address '{}'", w.text))?))
        }
        RecordType::AAAA => {
            let w = one(rdata, &what)?;
            RData::AAAA(AAAA(
                w.text
                    .parse::<Ipv6Addr>()
                    .map_err(|_| format!("invalid IPv6 address '{}'", w.text))?,
            ))
        }
        RecordType::CNAME => RData::CNAME(CNAME(name(one(rdata, &what)?)?)),
        RecordType::NS => RData::NS(NS(name(one(rdata, &what)?)?)),
        RecordType::PTR => RData::PTR(PTR(name(one(rdata, &what)?)?)),
        RecordType::MX => match rdata {
            [pref, host] => RData::MX(MX::new(number(pref, "MX preference")?, name(host)?)),
            _ => return Err(format!("MX record needs 2 fields, has {}", rdata.len())),
        },
        RecordType::SRV => match rdata {
            [prio, weight, port, target] => RData::SRV(SRV::new(
                number(prio, "SRV priority")?,
                number(weight, "SRV weight")?,
                number(port, "SRV port")?,
                name(target)?,
            )),
            _ => return Err(format!("SRV record needs 4 fields, has {}", rdata.len())),
        },
        RecordType::TXT => {
            let mut strings: Vec<Vec<u8>> = Vec::new();
            for w in rdata {
                let bytes = unescape(&w.text)?;
                if bytes.is_empty() {
                    strings.push(bytes);
                    continue;
                }
                // Longer strings are split, as CoreDNS does.
                strings.extend(bytes.chunks(255).map(<[u8]>::to_vec));
            }
            RData::TXT(TXT::from_bytes(strings.iter().map(Vec::as_slice).collect()))
        }
        RecordType::SOA => match rdata {
            [mname, rname, serial, refresh, retry, expire, minimum] => {
                let signed = |w: &Word, what: &str| -> Result<i32, String> {
                    i32::try_from(seconds(w, what)?)
                        .map_err(|_| format!("{what} '{}' is too large", w.text))
                };
                RData::SOA(SOA::new(
                    name(mname)?,
                    name(rname)?,
                    number(serial, "SOA serial")?,
                    signed(refresh, "SOA refresh")?,
                    signed(retry, "SOA retry")?,
                    signed(expire, "SOA expire")?,
                    seconds(minimum, "SOA minimum")?,
                ))
            }
            _ => return Err(format!("SOA record needs 7 fields, has {}", rdata.len())),
        },
        other => return hickory(other, rdata),
    })
}

/// RFC 3597's `\# LENGTH HEX...` for any type.
fn generic(rtype: RecordType, rest: &[Word]) -> Result<RData, String> {
    let Some((len, hex)) = rest.split_first() else {
        return Err("generic rdata (\\#) needs a length".into());
    };
    let len: u16 = number(len, "generic rdata length")?;
    let hex: String = hex.iter().map(|w| w.text.as_str()).collect();
    if !hex.len().is_multiple_of(2) || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!("invalid hex in generic rdata '{hex}'"));
    }
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex digits"))
        .collect();
    if bytes.len() != usize::from(len) {
        return Err(format!(
            "generic rdata length {len} does not match its {} bytes",
            bytes.len()
        ));
    }
    let mut decoder = BinDecoder::new(&bytes);
    RData::read(&mut decoder, rtype, Restrict::new(len)).map_err(|e| e.to_string())
}

/// Types read here go through hickory's zone-file parser, on one line.
fn hickory(rtype: RecordType, rdata: &[Word]) -> Result<RData, String> {
    if rdata.iter().any(|w| w.text.contains(['\n', '\r'])) {
        return Err(format!("{rtype} data cannot contain a line break"));
    }
    let mut line = format!("$ORIGIN .\n. 0 IN {rtype}");
    for w in rdata {
        line.push(' ');
        if w.quoted {
            line.push('"');
            line.push_str(&w.text);
            line.push('"');
        } else {
            line.push_str(&w.text);
        }
    }
    line.push('\n');
    let (_, records) = Parser::new(line, None, None)
        .parse()
        .map_err(|e| e.to_string())?;
    records
        .into_values()
        .flat_map(|set| set.records_without_rrsigs().cloned().collect::<Vec<_>>())
        .next()
        .map(|r| r.data)
        .ok_or_else(|| format!("no {rtype} record read"))
}
