//! Mnemonics of classes, types, opcodes and response codes as CoreDNS (the
//! miekg/dns tables) spells them, for the Corefile syntax, the template data
//! and the records templates render.

/// Type mnemonics and their codes.
const TYPES: &[(&str, u16)] = &[
    ("None", 0),
    ("A", 1),
    ("NS", 2),
    ("MD", 3),
    ("MF", 4),
    ("CNAME", 5),
    ("SOA", 6),
    ("MB", 7),
    ("MG", 8),
    ("MR", 9),
    ("NULL", 10),
    ("PTR", 12),
    ("HINFO", 13),
    ("MINFO", 14),
    ("MX", 15),
    ("TXT", 16),
    ("RP", 17),
    ("AFSDB", 18),
    ("X25", 19),
    ("ISDN", 20),
    ("RT", 21),
    ("NSAP-PTR", 23),
    ("SIG", 24),
    ("KEY", 25),
    ("PX", 26),
    ("GPOS", 27),
    ("AAAA", 28),
    ("LOC", 29),
    ("NXT", 30),
    ("EID", 31),
    ("NIMLOC", 32),
    ("SRV", 33),
    ("ATMA", 34),
    ("NAPTR", 35),
    ("KX", 36),
    ("CERT", 37),
    ("DNAME", 39),
    ("OPT", 41),
    ("APL", 42),
    ("DS", 43),
    ("SSHFP", 44),
    ("IPSECKEY", 45),
    ("RRSIG", 46),
    ("NSEC", 47),
    ("DNSKEY", 48),
    ("DHCID", 49),
    ("NSEC3", 50),
    ("NSEC3PARAM", 51),
    ("TLSA", 52),
    ("SMIMEA", 53),
    ("HIP", 55),
    ("NINFO", 56),
    ("RKEY", 57),
    ("TALINK", 58),
    ("CDS", 59),
    ("CDNSKEY", 60),
    ("OPENPGPKEY", 61),
    ("CSYNC", 62),
    ("ZONEMD", 63),
    ("SVCB", 64),
    ("HTTPS", 65),
    ("SPF", 99),
    ("UINFO", 100),
    ("UID", 101),
    ("GID", 102),
    ("UNSPEC", 103),
    ("NID", 104),
    ("L32", 105),
    ("L64", 106),
    ("LP", 107),
    ("EUI48", 108),
    ("EUI64", 109),
    ("NXNAME", 128),
    ("URI", 256),
    ("CAA", 257),
    ("AVC", 258),
    ("AMTRELAY", 260),
    ("RESINFO", 261),
    ("TKEY", 249),
    ("TSIG", 250),
    ("IXFR", 251),
    ("AXFR", 252),
    ("MAILB", 253),
    ("MAILA", 254),
    ("ANY", 255),
    ("TA", 32768),
    ("DLV", 32769),
    ("Reserved", 65535),
];

/// Class mnemonics and their codes.
const CLASSES: &[(&str, u16)] = &[
    ("IN", 1),
    ("CS", 2),
    ("CH", 3),
    ("HS", 4),
    ("NONE", 254),
    ("ANY", 255),
];

/// Response code mnemonics and their codes, as miekg/dns's `StringToRcode`
/// (the names CoreDNS's plugins accept). The first name of a code is the
/// one printed.
pub(crate) const RCODES: &[(&str, u16)] = &[
    ("NOERROR", 0),
    ("FORMERR", 1),
    ("SERVFAIL", 2),
    ("NXDOMAIN", 3),
    ("NOTIMP", 4),
    ("REFUSED", 5),
    ("YXDOMAIN", 6),
    ("YXRRSET", 7),
    ("NXRRSET", 8),
    ("NOTAUTH", 9),
    ("NOTZONE", 10),
    ("DSOTYPENI", 11),
    ("BADSIG", 16),
    ("BADVERS", 16),
    ("BADKEY", 17),
    ("BADTIME", 18),
    ("BADMODE", 19),
    ("BADNAME", 20),
    ("BADALG", 21),
    ("BADTRUNC", 22),
    ("BADCOOKIE", 23),
    ("NOTIMPL", 4),
];

/// A type as the Corefile names it: exactly one of CoreDNS's mnemonics.
pub(crate) fn type_code(name: &str) -> Option<u16> {
    TYPES.iter().find(|(n, _)| *n == name).map(|(_, c)| *c)
}

/// A class as the Corefile names it: exactly one of CoreDNS's mnemonics.
pub(crate) fn class_code(name: &str) -> Option<u16> {
    CLASSES.iter().find(|(n, _)| *n == name).map(|(_, c)| *c)
}

/// A type in a zone-file record: any case, or `TYPEnnn`.
pub(crate) fn zone_type_code(word: &str) -> Option<u16> {
    let upper = word.to_ascii_uppercase();
    if let Some(code) = TYPES
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(&upper) && *n != "None" && *n != "Reserved")
        .map(|(_, c)| *c)
    {
        return Some(code);
    }
    numbered(&upper, "TYPE")
}

/// A class in a zone-file record: any case, or `CLASSnnn`.
pub(crate) fn zone_class_code(word: &str) -> Option<u16> {
    let upper = word.to_ascii_uppercase();
    CLASSES
        .iter()
        .find(|(n, _)| *n == upper)
        .map(|(_, c)| *c)
        .or_else(|| numbered(&upper, "CLASS"))
}

fn numbered(word: &str, prefix: &str) -> Option<u16> {
    let digits = word.strip_prefix(prefix)?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The mnemonic of a type, if it has one (miekg's `TypeToString`).
pub(crate) fn known_type_name(code: u16) -> Option<&'static str> {
    TYPES.iter().find(|(_, c)| *c == code).map(|(n, _)| *n)
}

/// The mnemonic of a class, if it has one (miekg's `ClassToString`).
pub(crate) fn known_class_name(code: u16) -> Option<&'static str> {
    CLASSES.iter().find(|(_, c)| *c == code).map(|(n, _)| *n)
}

/// The mnemonic of a type, `TYPEnnn` for one without.
pub(crate) fn type_name(code: u16) -> String {
    known_type_name(code).map_or_else(|| format!("TYPE{code}"), str::to_string)
}

/// The mnemonic of a class, `CLASSnnn` for one without.
pub(crate) fn class_name(code: u16) -> String {
    known_class_name(code).map_or_else(|| format!("CLASS{code}"), str::to_string)
}

/// The mnemonic of a response code, its number for one without.
pub(crate) fn rcode_name(code: u16) -> String {
    match RCODES.iter().find(|(_, c)| *c == code) {
        Some((n, _)) => (*n).to_string(),
        None => code.to_string(),
    }
}

/// The mnemonic of an opcode, its number for one without.
pub(crate) fn opcode_name(code: u8) -> String {
    match code {
        0 => "QUERY".into(),
        1 => "IQUERY".into(),
        2 => "STATUS".into(),
        4 => "NOTIFY".into(),
        5 => "UPDATE".into(),
        n => n.to_string(),
    }
}
