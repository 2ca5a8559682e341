//! Syntax of `rewrite`:
//!
//! ```text
//! rewrite [continue|stop] FIELD [MATCH_TYPE] ARGS... [OPTIONS]
//! rewrite [continue|stop] {
//!     FIELD [MATCH_TYPE] ARGS...
//!     [answer auto | answer name FROM TO | answer value FROM TO]...
//! }
//! ```
//!
//! Every `rewrite` of a block is one rule; rules are tried in Corefile
//! order. In the block form all the block's tokens make up the one rule.

use crate::plugin::Parse;
use crate::plugins::template::names;
use corec_compiler::{Diagnostics, Dispenser, Token};
use regex::Regex;

/// Longest regular expression accepted, in bytes.
pub const MAX_REGEX_LEN: usize = 10_000;

/// What happens after a rule rewrote something.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// No later rule is tried (the default).
    Stop,
    /// Later rules are tried too.
    Continue,
}

/// How a name is compared with a rule's pattern (all lowercase, fully
/// qualified, except regular expressions, which are used as written).
#[derive(Debug, Clone)]
pub enum Matcher {
    /// The whole name.
    Exact(String),
    /// The start of the name.
    Prefix(String),
    /// The end of the name.
    Suffix(String),
    /// Anywhere in the name.
    Substring(String),
    /// A regular expression, anywhere in the name.
    Regex(Regex),
}

impl Matcher {
    /// Does `name` (lowercase, fully qualified) match?
    pub fn matches(&self, name: &str) -> bool {
        match self {
            Matcher::Exact(s) => name == s,
            Matcher::Prefix(s) => name.starts_with(s.as_str()),
            Matcher::Suffix(s) => name.ends_with(s.as_str()),
            Matcher::Substring(s) => name.contains(s.as_str()),
            Matcher::Regex(re) => re.is_match(name),
        }
    }
}

/// How names in the reply are mapped back after a name rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auto {
    /// Only the explicit `answer` rules.
    Off,
    /// The rewritten question name (and names below it) back to the name
    /// before the rule, in owner names and record values.
    Remap,
    /// For a suffix rule: the replacement suffix back to the original one.
    ReverseSuffix,
}

/// An explicit `answer` option of a name rule.
#[derive(Debug, Clone)]
pub enum AnswerRule {
    /// A regular expression on owner names and its replacement.
    Name(Regex, String),
    /// A regular expression on the names records point to (CNAME, DNAME,
    /// SOA, SRV, MX, NAPTR, NS, PTR) and its replacement.
    Value(Regex, String),
}

/// A `name` rule.
#[derive(Debug, Clone)]
pub struct NameRule {
    /// Which names it applies to.
    pub matcher: Matcher,
    /// The replacement (`{N}` refers to a group of a regular expression).
    pub to: String,
    /// The automatic reply mapping.
    pub auto: Auto,
    /// The explicit reply mappings, in order.
    pub answers: Vec<AnswerRule>,
}

/// An EDNS0 action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edns0Action {
    /// Add the option unless the query has one.
    Append,
    /// Change the option if the query has one.
    Replace,
    /// Change the option, or add it.
    Set,
    /// Remove the option.
    Unset,
}

/// Data of an EDNS0 local option computed per query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Variable {
    /// `{qname}`: the question name.
    QName,
    /// `{qtype}`: the question type, two bytes.
    QType,
    /// `{client_ip}`: the client's address, 4 or 16 bytes.
    ClientIp,
    /// `{client_port}`: the client's port, two bytes.
    ClientPort,
    /// `{protocol}`: `udp` or `tcp`.
    Protocol,
    /// `{server_ip}`: the address the query came to, 4 or 16 bytes.
    ServerIp,
    /// `{server_port}`: the port the query came to, two bytes.
    ServerPort,
    /// `{plugin/label}`: a metadata value (the rule does not apply when the
    /// label is unset or empty).
    Metadata(String),
}

/// The data of an EDNS0 local option.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LocalData {
    /// Fixed bytes.
    Bytes(Vec<u8>),
    /// Computed per query.
    Var(Variable),
}

/// The option an EDNS0 rule works on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Edns0Option {
    /// A local (any code) option.
    Local {
        /// The option code.
        code: u16,
        /// Its data (none for `unset`).
        data: LocalData,
    },
    /// NSID, empty.
    Nsid,
    /// Client subnet from the client's address, cut to these lengths.
    Subnet {
        /// Prefix length for IPv4 clients.
        v4: u8,
        /// Prefix length for IPv6 clients.
        v6: u8,
    },
}

/// An `edns0` rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edns0Rule {
    /// What to do.
    pub action: Edns0Action,
    /// With which option.
    pub option: Edns0Option,
    /// `revert`: the reply must not carry the option (corec's replies
    /// never echo the query's options, so this always holds).
    pub revert: bool,
}

/// How a `cname` rule matches CNAME targets.
#[derive(Debug, Clone)]
pub struct CnameRule {
    /// `exact`, `prefix`, `suffix`, `substring` or `regex`.
    pub matcher: Matcher,
    /// The replacement (`{N}` groups for a regex).
    pub to: String,
}

/// What a rule rewrites.
#[derive(Debug, Clone)]
pub enum Kind {
    /// The question name (and, back, the reply's names).
    Name(NameRule),
    /// The question type.
    Type {
        /// Type matched.
        from: u16,
        /// Type it becomes.
        to: u16,
    },
    /// The question class.
    Class {
        /// Class matched.
        from: u16,
        /// Class it becomes.
        to: u16,
    },
    /// An EDNS0 option of the query.
    Edns0(Edns0Rule),
    /// The TTLs of the reply, clamped into `min..=max`.
    Ttl {
        /// Which question names.
        matcher: Matcher,
        /// Lowest TTL.
        min: u32,
        /// Highest TTL.
        max: u32,
    },
    /// The reply's rcode.
    Rcode {
        /// Which question names.
        matcher: Matcher,
        /// Rcode matched.
        from: u16,
        /// Rcode it becomes.
        to: u16,
    },
    /// A CNAME target in the reply, the rest of the answer resolved anew.
    Cname(CnameRule),
}

/// One rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Stop or continue after it applied.
    pub mode: Mode,
    /// What it does.
    pub kind: Kind,
}

/// Configuration of `rewrite`: the rules in Corefile order.
#[derive(Debug, Clone)]
pub struct RewriteConfig {
    /// The rules.
    pub rules: Vec<Rule>,
}

/// A failure: the message and the token it is about, if one.
type Fail<'t> = (Option<&'t Token>, String);

fn fail<'t, T>(at: Option<&'t Token>, msg: impl Into<String>) -> Result<T, Fail<'t>> {
    Err((at, msg.into()))
}

/// Is `s` fully qualified (ends in an unescaped dot)?
fn is_fqdn(s: &str) -> bool {
    let Some(rest) = s.strip_suffix('.') else {
        return false;
    };
    let slashes = rest.bytes().rev().take_while(|&b| b == b'\\').count();
    slashes % 2 == 0
}

/// Lowercase and fully qualified, as CoreDNS's `plugin.Name.Normalize`.
pub fn normalize(s: &str) -> String {
    let mut n = s.to_ascii_lowercase();
    if !is_fqdn(&n) {
        n.push('.');
    }
    n
}

/// How many distinct `{N}` (N from 0 to 100) `s` uses.
fn groups_used(s: &str) -> usize {
    (0..=100)
        .filter(|i| s.contains(&format!("{{{i}}}")))
        .count()
}

/// Compiles a regular expression; `what` names the rule in messages.
fn compile<'t>(tok: &'t Token, what: &str) -> Result<Regex, Fail<'t>> {
    if tok.text.len() > MAX_REGEX_LEN {
        return fail(
            Some(tok),
            format!(
                "regex pattern too long{what}: {} > {MAX_REGEX_LEN}",
                tok.text.len()
            ),
        );
    }
    Regex::new(&tok.text).map_err(|_| (Some(tok), String::new()))
}

/// A regular expression and its replacement, which may use no more groups
/// than the expression has.
fn regex_pair<'t>(from: &'t Token, to: &'t Token) -> Result<Regex, Fail<'t>> {
    let re = compile(from, "").map_err(|(at, msg)| {
        if msg.is_empty() {
            (at, format!("invalid regex matching pattern: {}", from.text))
        } else {
            (at, msg)
        }
    })?;
    if groups_used(&to.text) > re.captures_len() - 1 {
        return fail(
            Some(to),
            format!(
                "the rewrite regex pattern ({}) uses more subexpressions than its corresponding matching regex pattern ({})",
                to.text, from.text
            ),
        );
    }
    Ok(re)
}

/// A match type and pattern for ttl, rcode and cname rules.
fn matcher<'t>(kind: &'t Token, pattern: &'t Token, rule: &str) -> Result<Matcher, Fail<'t>> {
    let p = || normalize(&pattern.text);
    Ok(match kind.text.to_ascii_lowercase().as_str() {
        "exact" => Matcher::Exact(p()),
        "prefix" => Matcher::Prefix(p()),
        "suffix" => Matcher::Suffix(p()),
        "substring" => Matcher::Substring(p()),
        "regex" => Matcher::Regex(compile(pattern, &format!(" in a {rule} rule")).map_err(
            |(at, msg)| {
                if msg.is_empty() {
                    (
                        at,
                        format!("invalid regex pattern in a {rule} rule: {}", pattern.text),
                    )
                } else {
                    (at, msg)
                }
            },
        )?),
        _ => {
            return fail(
                Some(kind),
                format!(
                    "{rule} rule supports only exact, prefix, suffix, substring, and regex name matching"
                ),
            );
        }
    })
}

/// The `answer` options of a name rule of match type `mt`: whether `auto`
/// was given, and the explicit rules.
fn answer_rules<'t>(mt: &str, args: &[&'t Token]) -> Result<(bool, Vec<AnswerRule>), Fail<'t>> {
    if args.len() < 2 {
        return fail(
            args.first().copied(),
            format!("invalid arguments for {mt} rule"),
        );
    }
    let (mut auto, mut rules, mut names) = (false, Vec::new(), 0);
    let mut at = 0;
    let mut last: Option<&str> = None;
    while at < args.len() {
        if last.is_none() && args[at].text != "answer" {
            return fail(
                Some(args[at]),
                format!(
                    "exceeded the number of arguments for a non-answer rule argument for {mt} rule"
                ),
            );
        }
        if args[at].text == "answer" {
            at += 1;
        }
        let Some(kind) = args.get(at) else {
            return fail(
                args.last().copied(),
                format!("type missing for answer rule for {mt} rule"),
            );
        };
        last = Some(&kind.text);
        at += 1;
        match kind.text.as_str() {
            "auto" => auto = true,
            k @ ("name" | "value") => {
                let (Some(from), Some(to)) = (args.get(at), args.get(at + 1)) else {
                    return fail(
                        Some(kind),
                        format!("{k} answer rule for {mt} rule: 2 arguments required"),
                    );
                };
                let re = regex_pair(from, to)
                    .map_err(|(t, e)| (t, format!("{k} answer rule for {mt} rule: {e}")))?;
                let to = normalize(&to.text);
                if k == "name" {
                    rules.push(AnswerRule::Name(re, to));
                    names += 1;
                } else {
                    rules.push(AnswerRule::Value(re, to));
                }
                at += 2;
            }
            other => {
                return fail(
                    Some(kind),
                    format!("invalid type {other:?} for answer rule for {mt} rule"),
                );
            }
        }
    }
    if auto && names > 0 {
        return fail(
            None,
            "auto name answer rule cannot be combined with explicit name answer rules",
        );
    }
    Ok((auto, rules))
}

fn name_rule<'t>(field: &'t Token, args: &[&'t Token]) -> Result<Kind, Fail<'t>> {
    if args.len() < 2 {
        return fail(Some(field), "too few arguments for a name rule");
    }
    let (mt, from, to) = if args.len() == 2 {
        ("exact".to_string(), args[0], args[1])
    } else {
        (args[0].text.to_ascii_lowercase(), args[1], args[2])
    };
    let (auto, answers) = if args.len() > 3 {
        answer_rules(&mt, &args[3..])?
    } else {
        (false, Vec::new())
    };
    let (f, t) = (normalize(&from.text), normalize(&to.text));
    let (matcher, auto) = match mt.as_str() {
        // Exact rules always map the answer back.
        "exact" => (Matcher::Exact(f), Auto::Remap),
        "prefix" => (
            Matcher::Prefix(f),
            if auto { Auto::Remap } else { Auto::Off },
        ),
        "suffix" => (
            Matcher::Suffix(f),
            if auto { Auto::ReverseSuffix } else { Auto::Off },
        ),
        "substring" => (
            Matcher::Substring(f),
            if auto { Auto::Remap } else { Auto::Off },
        ),
        "regex" => (
            Matcher::Regex(regex_pair(from, to)?),
            if auto { Auto::Remap } else { Auto::Off },
        ),
        _ => {
            return fail(
                Some(args[0]),
                format!(
                    "name rule supports only exact, prefix, suffix, substring, and regex name matching, received: {mt}"
                ),
            );
        }
    };
    Ok(Kind::Name(NameRule {
        matcher,
        to: t,
        auto,
        answers,
    }))
}

/// A TTL or range: `N`, `MIN-MAX`, `MIN-` or `-MAX`.
fn ttl_range(s: &str) -> Option<(u32, u32)> {
    let num = |t: &str| -> Option<u32> {
        if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        t.parse().ok()
    };
    let parts: Vec<&str> = s.split('-').collect();
    match parts.as_slice() {
        [n] => num(n).map(|n| (n, n)),
        [lo, hi] => {
            let min = if lo.is_empty() { 0 } else { num(lo)? };
            let max = match (lo.is_empty(), hi.is_empty()) {
                (true, true) => return None,
                (false, true) => i32::MAX as u32,
                _ => num(hi)?,
            };
            (min <= max).then_some((min, max))
        }
        _ => None,
    }
}

fn ttl_rule<'t>(field: &'t Token, args: &[&'t Token]) -> Result<Kind, Fail<'t>> {
    let n = args.len();
    let (kind, pattern, value) = match args {
        [pattern, value] => (None, *pattern, *value),
        [kind, pattern, value] => (Some(*kind), *pattern, *value),
        _ if n < 2 => {
            return fail(
                Some(field),
                format!("too few ({n}) arguments for a ttl rule"),
            );
        }
        _ => {
            return fail(
                Some(args[3]),
                format!("too many ({n}) arguments for a ttl rule"),
            );
        }
    };
    let Some((min, max)) = ttl_range(&value.text) else {
        return fail(
            Some(value),
            format!("invalid TTL '{}' for a ttl rule", value.text),
        );
    };
    let matcher = match kind {
        None => Matcher::Exact(normalize(&pattern.text)),
        Some(k) => matcher(k, pattern, "ttl")?,
    };
    Ok(Kind::Ttl { matcher, min, max })
}

/// An rcode by number (0 to 23) or name.
fn rcode(s: &str) -> Option<u16> {
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse::<u32>().ok().filter(|&n| n <= 23).map(|n| n as u16);
    }
    let upper = s.to_ascii_uppercase();
    names::RCODES
        .iter()
        .find(|(n, _)| *n == upper)
        .map(|(_, c)| *c)
}

fn rcode_rule<'t>(field: &'t Token, args: &[&'t Token]) -> Result<Kind, Fail<'t>> {
    let n = args.len();
    let (kind, pattern, old, new) = match args {
        [pattern, old, new] => (None, *pattern, *old, *new),
        [kind, pattern, old, new] => (Some(*kind), *pattern, *old, *new),
        _ if n < 3 => {
            return fail(
                Some(field),
                format!("too few ({n}) arguments for a rcode rule"),
            );
        }
        _ => {
            return fail(
                Some(args[4]),
                format!("too many ({n}) arguments for a rcode rule"),
            );
        }
    };
    let Some(from) = rcode(&old.text) else {
        return fail(
            Some(old),
            format!("invalid matching RCODE '{}' for a rcode rule", old.text),
        );
    };
    let Some(to) = rcode(&new.text) else {
        return fail(
            Some(new),
            format!("invalid replacement RCODE '{}' for a rcode rule", new.text),
        );
    };
    let matcher = match kind {
        None => Matcher::Exact(normalize(&pattern.text)),
        Some(k) => matcher(k, pattern, "rcode")?,
    };
    Ok(Kind::Rcode { matcher, from, to })
}

fn cname_rule<'t>(field: &'t Token, args: &[&'t Token]) -> Result<Kind, Fail<'t>> {
    let n = args.len();
    let (kind, from, to) = match args {
        [from, to] => ("exact".to_string(), *from, *to),
        [kind, from, to] => (kind.text.to_ascii_lowercase(), *from, *to),
        _ if n < 2 => {
            return fail(
                Some(field),
                format!("too few ({n}) arguments for a cname rule"),
            );
        }
        _ => {
            return fail(
                Some(args[3]),
                format!("too many ({n}) arguments for a cname rule"),
            );
        }
    };
    let (f, t) = (from.text.to_ascii_lowercase(), to.text.to_ascii_lowercase());
    let matcher = match kind.as_str() {
        "exact" => Matcher::Exact(normalize(&f)),
        "prefix" => Matcher::Prefix(f),
        "suffix" => Matcher::Suffix(f),
        "substring" => Matcher::Substring(f),
        "regex" => {
            if f.len() > MAX_REGEX_LEN {
                return fail(
                    Some(from),
                    format!(
                        "regex pattern too long in a cname rule: {} > {MAX_REGEX_LEN}",
                        f.len()
                    ),
                );
            }
            match Regex::new(&f) {
                Ok(re) => Matcher::Regex(re),
                Err(e) => {
                    let why = e.to_string();
                    let why = why.lines().last().unwrap_or_default().trim();
                    return fail(
                        Some(from),
                        format!("invalid cname rewrite regex pattern: {why}"),
                    );
                }
            }
        }
        other => {
            return fail(
                Some(args[0]),
                format!("unknown cname rewrite type: {other}"),
            );
        }
    };
    let to = if kind == "exact" { normalize(&t) } else { t };
    Ok(Kind::Cname(CnameRule { matcher, to }))
}

/// Go's `strconv.ParseUint(s, 0, bits)`: decimal, or `0x`, `0o`, `0b` or
/// `0` (octal) prefixed, with `_` between digits of prefixed numbers.
fn parse_uint(s: &str, bits: u32) -> Result<u64, String> {
    let syntax = || format!("strconv.ParseUint: parsing {s:?}: invalid syntax");
    let lower = s.to_ascii_lowercase();
    let (radix, digits, prefixed) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d, true)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d, true)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d, true)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, &lower[1..], true)
    } else {
        (10, lower.as_str(), false)
    };
    if digits.is_empty() || (!prefixed && digits.contains('_')) {
        return Err(syntax());
    }
    if digits.starts_with('_') || digits.ends_with('_') || digits.contains("__") {
        return Err(syntax());
    }
    let clean: String = digits.chars().filter(|&c| c != '_').collect();
    if !clean.chars().all(|c| c.is_digit(radix)) {
        return Err(syntax());
    }
    let n = u64::from_str_radix(&clean, radix)
        .map_err(|_| format!("strconv.ParseUint: parsing {s:?}: value out of range"))?;
    if bits < 64 && n >> bits != 0 {
        return Err(format!(
            "strconv.ParseUint: parsing {s:?}: value out of range"
        ));
    }
    Ok(n)
}

/// Go's `hex.DecodeString`.
fn hex_decode(s: &str) -> Result<Vec<u8>, String> {
    let nibble = |c: char| c.to_digit(16).map(|d| d as u8);
    let chars: Vec<char> = s.chars().collect();
    let mut out = Vec::with_capacity(chars.len() / 2);
    for pair in chars.chunks(2) {
        let hi = nibble(pair[0]).ok_or_else(|| {
            format!(
                "encoding/hex: invalid byte: U+{:04X} {:?}",
                pair[0] as u32, pair[0]
            )
        })?;
        let Some(&c) = pair.get(1) else {
            return Err("encoding/hex: odd length hex string".to_string());
        };
        let lo = nibble(c)
            .ok_or_else(|| format!("encoding/hex: invalid byte: U+{:04X} {c:?}", c as u32))?;
        out.push(hi << 4 | lo);
    }
    Ok(out)
}

/// A `{variable}` of an EDNS0 local rule.
fn variable(s: &str) -> Option<Variable> {
    Some(match s {
        "{qname}" => Variable::QName,
        "{qtype}" => Variable::QType,
        "{client_ip}" => Variable::ClientIp,
        "{client_port}" => Variable::ClientPort,
        "{protocol}" => Variable::Protocol,
        "{server_ip}" => Variable::ServerIp,
        "{server_port}" => Variable::ServerPort,
        _ => {
            let label = s.strip_prefix('{')?.strip_suffix('}')?;
            // A metadata label is `namespace/name`, neither empty.
            let slash = label.find('/')?;
            if slash == 0 || slash + 1 >= label.len() {
                return None;
            }
            Variable::Metadata(label.to_string())
        }
    })
}

fn edns0_rule<'t>(field: &'t Token, args: &[&'t Token]) -> Result<Kind, Fail<'t>> {
    if args.len() < 2 {
        return fail(Some(field), "too few arguments for an EDNS0 rule");
    }
    let kind = args[0].text.to_ascii_lowercase();
    let action = match args[1].text.to_ascii_lowercase().as_str() {
        "append" => Edns0Action::Append,
        "replace" => Edns0Action::Replace,
        "set" => Edns0Action::Set,
        "unset" => Edns0Action::Unset,
        other => return fail(Some(args[1]), format!("invalid action: {other:?}")),
    };
    let code = |t: &'t Token| -> Result<u16, Fail<'t>> {
        parse_uint(&t.text, 16)
            .map(|n| n as u16)
            .map_err(|e| (Some(t), e))
    };
    if action == Edns0Action::Unset {
        let option = match kind.as_str() {
            "local" => {
                if args.len() != 3 {
                    return fail(
                        Some(args[0]),
                        "local unset action requires exactly two arguments",
                    );
                }
                Edns0Option::Local {
                    code: code(args[2])?,
                    data: LocalData::Bytes(Vec::new()),
                }
            }
            "nsid" => {
                if args.len() != 2 {
                    return fail(
                        Some(args[0]),
                        "nsid unset action requires exactly one argument",
                    );
                }
                Edns0Option::Nsid
            }
            "subnet" => {
                if args.len() != 2 {
                    return fail(
                        Some(args[0]),
                        "subnet unset action requires exactly one argument",
                    );
                }
                Edns0Option::Subnet { v4: 0, v6: 0 }
            }
            _ => return fail(Some(args[0]), format!("invalid rule type {kind:?}")),
        };
        return Ok(Kind::Edns0(Edns0Rule {
            action,
            option,
            revert: false,
        }));
    }
    let mut args = args;
    let revert = args.last().is_some_and(|t| t.text == "revert");
    if revert {
        args = &args[..args.len() - 1];
    }
    let option = match kind.as_str() {
        "local" => {
            if args.len() != 4 {
                return fail(
                    Some(args[0]),
                    "EDNS0 local rules require three or four args",
                );
            }
            let c = code(args[2])?;
            let data = &args[3].text;
            let data = if data.starts_with('{') && data.ends_with('}') {
                match variable(data) {
                    Some(v) => LocalData::Var(v),
                    None => {
                        return fail(Some(args[3]), format!("unsupported variable name {data:?}"));
                    }
                }
            } else if let Some(hex) = data.strip_prefix("0x") {
                LocalData::Bytes(hex_decode(hex).map_err(|e| (Some(args[3]), e))?)
            } else {
                LocalData::Bytes(data.as_bytes().to_vec())
            };
            Edns0Option::Local { code: c, data }
        }
        "nsid" => {
            if args.len() != 2 {
                return fail(
                    Some(args[0]),
                    "EDNS0 NSID rules can accept no more than one arg",
                );
            }
            Edns0Option::Nsid
        }
        "subnet" => {
            if args.len() != 4 {
                return fail(
                    Some(args[0]),
                    "EDNS0 subnet rules require three or four args",
                );
            }
            let v4 = parse_uint(&args[2].text, 16).map_err(|e| (Some(args[2]), e))?;
            if v4 > 32 {
                return fail(Some(args[2]), format!("invalid IPv4 bit mask length {v4}"));
            }
            let v6 = parse_uint(&args[3].text, 16).map_err(|e| (Some(args[3]), e))?;
            if v6 > 128 {
                return fail(Some(args[3]), format!("invalid IPv6 bit mask length {v6}"));
            }
            Edns0Option::Subnet {
                v4: v4 as u8,
                v6: v6 as u8,
            }
        }
        _ => return fail(Some(args[0]), format!("invalid rule type {kind:?}")),
    };
    Ok(Kind::Edns0(Edns0Rule {
        action,
        option,
        revert,
    }))
}

/// One rule from its tokens (CoreDNS's `newRule`).
fn rule<'t>(directive: &'t Token, args: &[&'t Token]) -> Result<Rule, Fail<'t>> {
    let Some(first) = args.first() else {
        return fail(Some(directive), "no rule type specified for rewrite");
    };
    let (mode, rest) = match first.text.to_ascii_lowercase().as_str() {
        "continue" if args.len() < 2 => {
            return fail(Some(first), "continue rule must begin with a rule type");
        }
        "stop" if args.len() < 2 => {
            return fail(Some(first), "stop rule must begin with a rule type");
        }
        "continue" => (Mode::Continue, &args[1..]),
        "stop" => (Mode::Stop, &args[1..]),
        _ => (Mode::Stop, args),
    };
    let field = rest[0];
    let params = &rest[1..];
    let kind = match field.text.to_ascii_lowercase().as_str() {
        "answer" => return fail(Some(field), "response rewrites must begin with a name rule"),
        "name" => name_rule(field, params)?,
        f @ ("class" | "type") => {
            let [from, to] = params else {
                return fail(
                    Some(field),
                    format!("{f} rules must have exactly two arguments"),
                );
            };
            let (fu, tu) = (from.text.to_ascii_uppercase(), to.text.to_ascii_uppercase());
            let lookup = |s: &str| {
                if f == "class" {
                    names::class_code(s)
                } else {
                    names::type_code(s)
                }
            };
            let Some(fc) = lookup(&fu) else {
                return fail(Some(from), format!("invalid {f} {fu:?}"));
            };
            let Some(tc) = lookup(&tu) else {
                return fail(Some(to), format!("invalid {f} {tu:?}"));
            };
            if f == "class" {
                Kind::Class { from: fc, to: tc }
            } else {
                Kind::Type { from: fc, to: tc }
            }
        }
        "edns0" => edns0_rule(field, params)?,
        "ttl" => ttl_rule(field, params)?,
        "rcode" => rcode_rule(field, params)?,
        "cname" => cname_rule(field, params)?,
        _ => return fail(Some(field), format!("invalid rule type {:?}", field.text)),
    };
    Ok(Rule { mode, kind })
}

impl Parse for RewriteConfig {
    fn parse(d: &mut Dispenser<'_>) -> Result<Self, Diagnostics> {
        let mut rules = Vec::new();
        while d.next() {
            let directive = d.token().expect("next moved onto a token");
            let mut args = d.remaining_args();
            if args.len() < 2 {
                // The block form: every token of the block is one rule.
                while d.next_block() {
                    args.push(d.token().expect("next_block moved onto a token"));
                }
            } else if d.next_block() {
                return Err(d
                    .err("a rule written on the directive's line cannot also have a block")
                    .into());
            }
            match rule(directive, &args) {
                Ok(r) => rules.push(r),
                Err((at, msg)) => {
                    return Err(d.err_at(at.unwrap_or(directive), msg).into());
                }
            }
        }
        Ok(RewriteConfig { rules })
    }
}
