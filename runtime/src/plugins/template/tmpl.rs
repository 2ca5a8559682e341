//! The part of Go's `text/template` language that template records are
//! written in: text with `{{ ... }}` actions (`{{-`/`-}}` trim the text
//! around them, `{{/* */}}` is a comment), pipelines of commands joined by
//! `|`, fields of the query data, `$` variables, `if`/`else if`/`else`/`end`,
//! and the functions `and or not len index eq ne lt le gt ge print printf
//! println parseInt`. `range`, `with`, `define`, `template`, `block`,
//! `break` and `continue` are not supported.
//!
//! A template is parsed once; everything that does not depend on the query
//! (syntax, unknown functions and variables, fields the data does not have,
//! argument counts) is an error at parse time with the byte range it is at.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::ops::Range;

/// A byte range in the template text.
pub(crate) type Pos = Range<usize>;

/// A parse or execution error and where in the template it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TmplError {
    /// What went wrong.
    pub(crate) message: String,
    /// Where, as a byte range of the template text.
    pub(crate) pos: Pos,
}

impl TmplError {
    fn new(message: impl Into<String>, pos: Pos) -> Self {
        TmplError {
            message: message.into(),
            pos,
        }
    }
}

type Res<T> = Result<T, TmplError>;

// ------------------------------------------------------------------ data

/// One question of the query, as `.Question` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct QuestionData {
    /// The name as sent (case kept), in presentation form.
    pub(crate) name: String,
    /// The type code.
    pub(crate) qtype: u16,
    /// The class code.
    pub(crate) qclass: u16,
}

/// The query message, as `.Message` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct MessageData {
    pub(crate) id: u16,
    pub(crate) response: bool,
    pub(crate) opcode: u8,
    pub(crate) authoritative: bool,
    pub(crate) truncated: bool,
    pub(crate) recursion_desired: bool,
    pub(crate) recursion_available: bool,
    pub(crate) authenticated_data: bool,
    pub(crate) checking_disabled: bool,
    pub(crate) rcode: u16,
    pub(crate) questions: Vec<QuestionData>,
    /// Counts of the answer, authority and additional sections (OPT included).
    pub(crate) counts: [usize; 3],
    /// EDNS version, DO bit and UDP size, if the query has an OPT record.
    pub(crate) edns: Option<(u8, bool, u16)>,
}

/// What a template sees as `.`: the query and the regex match.
#[derive(Debug, Clone, Default)]
pub(crate) struct Data {
    pub(crate) zone: String,
    pub(crate) name: String,
    pub(crate) regex: String,
    pub(crate) matches: Vec<String>,
    pub(crate) groups: BTreeMap<String, String>,
    pub(crate) class: String,
    pub(crate) qtype: String,
    pub(crate) remote: String,
    pub(crate) message: MessageData,
    pub(crate) question: Option<QuestionData>,
    /// The query's metadata, for `.Meta "label"`.
    pub(crate) meta: crate::plugin::Meta,
}

/// A value while a template runs. Kinds follow Go's where it shows: an
/// integer constant is an `int`, `parseInt` returns a `uint64`, `.Match` is
/// a `[]string`.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    /// Go's invalid value: a missing map key read as a field.
    Nil,
    Bool(bool),
    Int(i64),
    Uint(u64, UintKind),
    Float(f64),
    Str(String),
    List(Vec<Value>, ListKind),
    Map(BTreeMap<String, String>),
    Message(Box<MessageData>),
    Question(QuestionData),
    Root,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum UintKind {
    U8,
    U16,
    U64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ListKind {
    Strings,
    Questions,
}

impl Value {
    fn type_name(&self) -> &'static str {
        match self {
            Value::Nil => "<nil>",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Uint(_, UintKind::U8) => "uint8",
            Value::Uint(_, UintKind::U16) => "uint16",
            Value::Uint(_, UintKind::U64) => "uint64",
            Value::Float(_) => "float64",
            Value::Str(_) => "string",
            Value::List(_, ListKind::Strings) => "[]string",
            Value::List(_, ListKind::Questions) => "[]dns.Question",
            Value::Map(_) => "map[string]string",
            Value::Message(_) => "*dns.Msg",
            Value::Question(_) => "*dns.Question",
            Value::Root => "*template.templateData",
        }
    }

    /// Go's notion of truth in `if`, `and`, `or` and `not`.
    fn truth(&self) -> bool {
        match self {
            Value::Nil => false,
            Value::Bool(b) => *b,
            Value::Int(i) => *i != 0,
            Value::Uint(u, _) => *u != 0,
            Value::Float(f) => *f != 0.0,
            Value::Str(s) => !s.is_empty(),
            Value::List(l, _) => !l.is_empty(),
            Value::Map(m) => !m.is_empty(),
            Value::Message(_) | Value::Question(_) | Value::Root => true,
        }
    }
}

// ------------------------------------------------------------------ static types

/// What a field chain is known to yield before any query arrives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ty {
    Root,
    Str,
    Int,
    Uint,
    Bool,
    Float,
    Strings,
    Questions,
    Map,
    Message,
    Question,
    /// The `Meta` method, which needs one argument.
    Meta,
    /// Only known at run time (variables, `and`, `or`).
    Any,
}

impl Ty {
    fn go_name(self) -> &'static str {
        match self {
            Ty::Root => "*template.templateData",
            Ty::Str => "string",
            Ty::Int => "int",
            Ty::Uint => "uint",
            Ty::Bool => "bool",
            Ty::Float => "float64",
            Ty::Strings => "[]string",
            Ty::Questions => "[]dns.Question",
            Ty::Map => "map[string]string",
            Ty::Message => "*dns.Msg",
            Ty::Question => "*dns.Question",
            Ty::Meta => "method Meta",
            Ty::Any => "interface {}",
        }
    }
}

const ROOT_FIELDS: [(&str, Ty); 11] = [
    ("Zone", Ty::Str),
    ("Name", Ty::Str),
    ("Regex", Ty::Str),
    ("Match", Ty::Strings),
    ("Group", Ty::Map),
    ("Class", Ty::Str),
    ("Type", Ty::Str),
    ("Message", Ty::Message),
    ("Question", Ty::Question),
    ("Remote", Ty::Str),
    ("Meta", Ty::Meta),
];

const MESSAGE_FIELDS: [(&str, Ty); 12] = [
    ("Id", Ty::Uint),
    ("Response", Ty::Bool),
    ("Opcode", Ty::Int),
    ("Authoritative", Ty::Bool),
    ("Truncated", Ty::Bool),
    ("RecursionDesired", Ty::Bool),
    ("RecursionAvailable", Ty::Bool),
    ("Zero", Ty::Bool),
    ("AuthenticatedData", Ty::Bool),
    ("CheckingDisabled", Ty::Bool),
    ("Rcode", Ty::Int),
    ("Question", Ty::Questions),
];

const QUESTION_FIELDS: [(&str, Ty); 3] =
    [("Name", Ty::Str), ("Qtype", Ty::Uint), ("Qclass", Ty::Uint)];

fn field_list(fields: &[(&str, Ty)]) -> String {
    fields
        .iter()
        .map(|(n, _)| format!(".{n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The type of field `name` of a value of type `on`.
fn field_ty(on: Ty, name: &str) -> Result<Ty, String> {
    let known: &[(&str, Ty)] = match on {
        Ty::Any => return Ok(Ty::Any),
        Ty::Map => return Ok(Ty::Str),
        Ty::Root => &ROOT_FIELDS,
        Ty::Message => &MESSAGE_FIELDS,
        Ty::Question => &QUESTION_FIELDS,
        Ty::Meta => {
            return Err(format!(
                "can't evaluate field {name}: Meta is a method taking one argument"
            ));
        }
        other => {
            return Err(format!(
                "can't evaluate field {name} in type {}",
                other.go_name()
            ));
        }
    };
    match known.iter().find(|(n, _)| *n == name) {
        Some((_, ty)) => Ok(*ty),
        None => Err(format!(
            "can't evaluate field {name} in type {} (it has {})",
            on.go_name(),
            field_list(known)
        )),
    }
}

// ------------------------------------------------------------------ lexer

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Dot,
    Field(String),
    Var(String),
    Ident(String),
    Str(String),
    Int(i64),
    Float(f64),
    Pipe,
    LParen,
    RParen,
    Declare,
    Assign,
}

#[derive(Debug, Clone)]
struct Lexed {
    tok: Tok,
    pos: Pos,
    /// Whether blanks separate this token from the previous one.
    spaced: bool,
}

#[derive(Debug)]
enum Item {
    Text(String),
    Action(Vec<Lexed>, Pos),
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_alnum(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

/// Splits the template into text and actions, applying trim markers and
/// dropping comments.
fn lex(src: &str) -> Res<Vec<Item>> {
    let bytes = src.as_bytes();
    let mut items: Vec<Item> = Vec::new();
    let mut pos = 0;
    let mut trim_next = false;
    loop {
        let Some(found) = src[pos..].find("{{") else {
            let mut text = &src[pos..];
            if trim_next {
                text = text.trim_start_matches([' ', '\t', '\r', '\n']);
            }
            if !text.is_empty() {
                items.push(Item::Text(text.to_string()));
            }
            return Ok(items);
        };
        let open = pos + found;
        let mut text = &src[pos..open];
        if trim_next {
            text = text.trim_start_matches([' ', '\t', '\r', '\n']);
        }
        let mut i = open + 2;
        // `{{- ` trims the text before.
        if bytes.get(i) == Some(&b'-') && bytes.get(i + 1).is_some_and(|&b| is_space(b)) {
            text = text.trim_end_matches([' ', '\t', '\r', '\n']);
            i += 2;
        }
        if !text.is_empty() {
            items.push(Item::Text(text.to_string()));
        }
        // A comment: `{{/*` ... `*/}}`, trim markers allowed around it.
        let mut j = i;
        while j < bytes.len() && is_space(bytes[j]) {
            j += 1;
        }
        if src[j..].starts_with("/*") {
            let Some(end) = src[j + 2..].find("*/") else {
                return Err(TmplError::new("unclosed comment", open..src.len()));
            };
            let after = j + 2 + end + 2;
            let rest = &src[after..];
            if rest.starts_with("}}") {
                trim_next = false;
                pos = after + 2;
            } else if rest.len() >= 4
                && is_space(rest.as_bytes()[0])
                && rest[1..].starts_with("-}}")
            {
                trim_next = true;
                pos = after + 4;
            } else {
                return Err(TmplError::new(
                    "comment ends before closing delimiter",
                    open..after,
                ));
            }
            continue;
        }
        let (tokens, end, trim) = lex_action(src, i, open)?;
        items.push(Item::Action(tokens, open..end));
        trim_next = trim;
        pos = end;
    }
}

/// The template as Go prints its parse tree (`Tree.Root.String()`, the
/// `template` label of CoreDNS's template metrics): text as it stands after
/// trim markers, no comments, and each action's tokens as written, one
/// blank between arguments, ` | ` between commands, ` := ` after a
/// declared variable, nothing inside parentheses or within a chain of
/// fields. A template that does not lex is returned as it is.
#[cfg(feature = "serve")]
pub(crate) fn go_string(src: &str) -> String {
    let Ok(items) = lex(src) else {
        return src.to_string();
    };
    let mut out = String::with_capacity(src.len());
    for item in items {
        match item {
            Item::Text(t) => out.push_str(&t),
            Item::Action(tokens, _) => {
                out.push_str("{{");
                let mut prev: Option<&Tok> = None;
                for t in &tokens {
                    let text = src.get(t.pos.clone()).unwrap_or_default();
                    let joined = match (prev, &t.tok) {
                        (None, _) | (Some(Tok::LParen), _) | (_, Tok::RParen) => true,
                        (Some(Tok::Field(_) | Tok::Var(_) | Tok::RParen), Tok::Field(_)) => {
                            !t.spaced
                        }
                        _ => false,
                    };
                    if !joined {
                        out.push(' ');
                    }
                    out.push_str(text);
                    prev = Some(&t.tok);
                }
                out.push_str("}}");
            }
        }
    }
    out
}

/// Lexes one action starting after its `{{`; returns its tokens, the offset
/// after its `}}` and whether it ends with a trim marker.
fn lex_action(src: &str, mut i: usize, open: usize) -> Res<(Vec<Lexed>, usize, bool)> {
    let bytes = src.as_bytes();
    let mut out: Vec<Lexed> = Vec::new();
    let mut spaced = true;
    loop {
        if i >= bytes.len() {
            return Err(TmplError::new("unclosed action", open..src.len()));
        }
        let rest = &src[i..];
        if rest.starts_with("}}") {
            return Ok((out, i + 2, false));
        }
        if rest.len() >= 4 && is_space(bytes[i]) && rest[1..].starts_with("-}}") {
            return Ok((out, i + 4, true));
        }
        let c = rest.chars().next().expect("not at the end");
        let start = i;
        let push = |out: &mut Vec<Lexed>, tok: Tok, end: usize, spaced: &mut bool| {
            out.push(Lexed {
                tok,
                pos: start..end,
                spaced: *spaced,
            });
            *spaced = false;
        };
        match c {
            ' ' | '\t' | '\r' | '\n' => {
                i += 1;
                spaced = true;
            }
            '|' => {
                push(&mut out, Tok::Pipe, i + 1, &mut spaced);
                i += 1;
            }
            '(' => {
                push(&mut out, Tok::LParen, i + 1, &mut spaced);
                i += 1;
            }
            ')' => {
                push(&mut out, Tok::RParen, i + 1, &mut spaced);
                i += 1;
            }
            ':' => {
                if rest.starts_with(":=") {
                    push(&mut out, Tok::Declare, i + 2, &mut spaced);
                    i += 2;
                } else {
                    return Err(TmplError::new("expected :=", i..i + 1));
                }
            }
            '=' => {
                push(&mut out, Tok::Assign, i + 1, &mut spaced);
                i += 1;
            }
            '"' => {
                let (s, end) = lex_quoted(src, i)?;
                push(&mut out, Tok::Str(s), end, &mut spaced);
                i = end;
            }
            '`' => {
                let Some(close) = src[i + 1..].find('`') else {
                    return Err(TmplError::new(
                        "unterminated raw quoted string",
                        i..src.len(),
                    ));
                };
                let end = i + 1 + close + 1;
                push(
                    &mut out,
                    Tok::Str(src[i + 1..end - 1].to_string()),
                    end,
                    &mut spaced,
                );
                i = end;
            }
            '\'' => {
                let (ch, end) = lex_char(src, i)?;
                push(
                    &mut out,
                    Tok::Int(i64::from(u32::from(ch))),
                    end,
                    &mut spaced,
                );
                i = end;
            }
            '$' => {
                let end = scan_ident(src, i + 1);
                push(
                    &mut out,
                    Tok::Var(src[i..end].to_string()),
                    end,
                    &mut spaced,
                );
                i = end;
            }
            '.' => {
                let next = rest[1..].chars().next();
                if next.is_some_and(|n| n.is_ascii_digit()) {
                    let end = scan_number(src, i)?;
                    push(&mut out, number(&src[i..end], i..end)?, end, &mut spaced);
                    i = end;
                } else if next.is_some_and(is_alnum) {
                    let end = scan_ident(src, i + 1);
                    push(
                        &mut out,
                        Tok::Field(src[i + 1..end].to_string()),
                        end,
                        &mut spaced,
                    );
                    i = end;
                } else {
                    push(&mut out, Tok::Dot, i + 1, &mut spaced);
                    i += 1;
                }
            }
            '+' | '-' | '0'..='9' => {
                let end = scan_number(src, i)?;
                push(&mut out, number(&src[i..end], i..end)?, end, &mut spaced);
                i = end;
            }
            c if is_alnum(c) => {
                let end = scan_ident(src, i);
                push(
                    &mut out,
                    Tok::Ident(src[i..end].to_string()),
                    end,
                    &mut spaced,
                );
                i = end;
            }
            other => {
                return Err(TmplError::new(
                    format!("unrecognized character in action: {other:?}"),
                    i..i + other.len_utf8(),
                ));
            }
        }
    }
}

fn scan_ident(src: &str, from: usize) -> usize {
    src[from..]
        .char_indices()
        .find(|(_, c)| !is_alnum(*c))
        .map_or(src.len(), |(i, _)| from + i)
}

/// The end of a number starting at `from`, with Go's number syntax.
fn scan_number(src: &str, from: usize) -> Res<usize> {
    let b = src.as_bytes();
    let mut i = from;
    if matches!(b.get(i), Some(b'+' | b'-')) {
        i += 1;
    }
    let mut digits: &[u8] = b"0123456789_";
    let mut exp: &[u8] = b"eE";
    if b.get(i) == Some(&b'0') {
        match b.get(i + 1) {
            Some(b'x' | b'X') => {
                i += 2;
                digits = b"0123456789abcdefABCDEF_";
                exp = b"pP";
            }
            Some(b'o' | b'O') => {
                i += 2;
                digits = b"01234567_";
                exp = b"";
            }
            Some(b'b' | b'B') => {
                i += 2;
                digits = b"01_";
                exp = b"";
            }
            _ => {}
        }
    }
    while b.get(i).is_some_and(|c| digits.contains(c)) {
        i += 1;
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        while b.get(i).is_some_and(|c| digits.contains(c)) {
            i += 1;
        }
    }
    if b.get(i).is_some_and(|c| exp.contains(c)) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        while b.get(i).is_some_and(|c| c.is_ascii_digit() || *c == b'_') {
            i += 1;
        }
    }
    if b.get(i) == Some(&b'i') {
        i += 1;
    }
    if src[i..].chars().next().is_some_and(is_alnum) {
        let end = scan_ident(src, i);
        return Err(TmplError::new(
            format!("bad number syntax: {:?}", &src[from..end]),
            from..end,
        ));
    }
    Ok(i)
}

/// A number literal: an `int` when it is an integer, else a `float64`.
fn number(text: &str, pos: Pos) -> Res<Tok> {
    let bad = || TmplError::new(format!("bad number syntax: {text:?}"), pos.clone());
    if text.ends_with('i') {
        return Err(TmplError::new(
            format!("complex number {text} is not supported"),
            pos,
        ));
    }
    let (neg, body) = match text.as_bytes()[0] {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    if body.is_empty() || body.starts_with('_') || body.ends_with('_') || body.contains("__") {
        return Err(bad());
    }
    let lower = body.to_ascii_lowercase();
    let (radix, digits) = if let Some(h) = lower.strip_prefix("0x") {
        if h.contains(['.', 'p']) {
            return Err(TmplError::new(
                format!("hexadecimal floating-point number {text} is not supported"),
                pos,
            ));
        }
        (16, h.to_string())
    } else if let Some(o) = lower.strip_prefix("0o") {
        (8, o.to_string())
    } else if let Some(b) = lower.strip_prefix("0b") {
        (2, b.to_string())
    } else if lower.contains(['.', 'e']) {
        let f: f64 = lower.replace('_', "").parse().map_err(|_| bad())?;
        return Ok(Tok::Float(if neg { -f } else { f }));
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, lower[1..].to_string())
    } else {
        (10, lower.clone())
    };
    let digits = digits.trim_start_matches('_').replace('_', "");
    if digits.is_empty() {
        return Err(bad());
    }
    let magnitude = u64::from_str_radix(&digits, radix).map_err(|e| {
        if *e.kind() == std::num::IntErrorKind::PosOverflow {
            TmplError::new(format!("number {text} overflows int"), pos.clone())
        } else {
            bad()
        }
    })?;
    let value = if neg {
        0i64.checked_sub_unsigned(magnitude)
    } else {
        i64::try_from(magnitude).ok()
    };
    value
        .map(Tok::Int)
        .ok_or_else(|| TmplError::new(format!("number {text} overflows int"), pos))
}

/// A Go interpreted string literal starting at `from` (the opening quote).
fn lex_quoted(src: &str, from: usize) -> Res<(String, usize)> {
    let mut out = String::new();
    let mut chars = src[from + 1..].char_indices();
    while let Some((k, c)) = chars.next() {
        let at = from + 1 + k;
        match c {
            '"' => return Ok((out, at + 1)),
            '\n' => break,
            '\\' => {
                let (ch, len) = unescape(&src[at..], '"')
                    .map_err(|m| TmplError::new(m, at..(at + 2).min(src.len())))?;
                // `unescape` consumed `len` bytes starting at the backslash.
                for _ in 0..src[at + 1..at + len].chars().count() {
                    chars.next();
                }
                if let Some(ch) = ch {
                    out.push(ch);
                }
            }
            c => out.push(c),
        }
    }
    Err(TmplError::new(
        "unterminated quoted string",
        from..src.len(),
    ))
}

/// A Go character constant starting at `from` (the opening quote).
fn lex_char(src: &str, from: usize) -> Res<(char, usize)> {
    let rest = &src[from + 1..];
    let bad = || TmplError::new("bad character constant", from..(from + 3).min(src.len()));
    let (ch, len) = if rest.starts_with('\\') {
        let (ch, len) = unescape(rest, '\'').map_err(|m| TmplError::new(m, from..from + 2))?;
        (ch.ok_or_else(bad)?, len)
    } else {
        let ch = rest.chars().next().ok_or_else(bad)?;
        if ch == '\'' || ch == '\n' {
            return Err(bad());
        }
        (ch, ch.len_utf8())
    };
    if rest[len..].starts_with('\'') {
        Ok((ch, from + 1 + len + 1))
    } else {
        Err(TmplError::new(
            "unterminated character constant",
            from..from + 1 + len,
        ))
    }
}

/// One Go escape sequence at the start of `s` (which starts with `\`):
/// the character (bytes above 0x7f from `\x`/octal become that code point)
/// and the number of bytes it takes.
fn unescape(s: &str, quote: char) -> Result<(Option<char>, usize), String> {
    let mut it = s[1..].chars();
    let Some(c) = it.next() else {
        return Err("unterminated escape sequence".into());
    };
    let simple = match c {
        'a' => Some('\x07'),
        'b' => Some('\x08'),
        'f' => Some('\x0c'),
        'n' => Some('\n'),
        'r' => Some('\r'),
        't' => Some('\t'),
        'v' => Some('\x0b'),
        '\\' => Some('\\'),
        c if c == quote => Some(c),
        _ => None,
    };
    if let Some(ch) = simple {
        return Ok((Some(ch), 2));
    }
    let (digits, radix, skip) = match c {
        'x' => (2, 16, 2),
        'u' => (4, 16, 2),
        'U' => (8, 16, 2),
        '0'..='7' => (3, 8, 1),
        other => return Err(format!("unknown escape sequence: \\{other}")),
    };
    let text = s
        .get(skip..skip + digits)
        .ok_or("escape sequence is too short")?;
    let v = u32::from_str_radix(text, radix)
        .map_err(|_| format!("invalid escape sequence: \\{c}{text}"))?;
    let ch = char::from_u32(v)
        .ok_or_else(|| format!("escape sequence is an invalid Unicode code point: {v:#x}"))?;
    if radix == 8 && v > 255 {
        return Err(format!("octal escape value {v} > 255"));
    }
    Ok((Some(ch), skip + digits))
}

// ------------------------------------------------------------------ syntax tree

/// A parsed template.
#[derive(Debug, Clone)]
pub(crate) struct Template {
    nodes: Vec<Node>,
}

#[derive(Debug, Clone)]
enum Node {
    Text(String),
    Action(Pipeline),
    If {
        cond: Pipeline,
        then: Vec<Node>,
        otherwise: Vec<Node>,
    },
}

#[derive(Debug, Clone)]
struct Pipeline {
    /// `$x :=` (declare) or `$x =` (assign).
    decl: Option<(String, bool)>,
    cmds: Vec<Command>,
}

#[derive(Debug, Clone)]
struct Command {
    args: Vec<Operand>,
    /// The head is the `Meta` method, called with the other argument.
    method: bool,
    pos: Pos,
}

#[derive(Debug, Clone)]
struct Operand {
    term: Term,
    fields: Vec<String>,
    pos: Pos,
}

#[derive(Debug, Clone)]
enum Term {
    Dot,
    Var(String),
    Func(Func),
    Lit(Value),
    Nil,
    Pipe(Box<Pipeline>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Func {
    And,
    Or,
    Not,
    Len,
    Index,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Print,
    Printf,
    Println,
    ParseInt,
}

const FUNCS: [(&str, Func); 15] = [
    ("and", Func::And),
    ("or", Func::Or),
    ("not", Func::Not),
    ("len", Func::Len),
    ("index", Func::Index),
    ("eq", Func::Eq),
    ("ne", Func::Ne),
    ("lt", Func::Lt),
    ("le", Func::Le),
    ("gt", Func::Gt),
    ("ge", Func::Ge),
    ("print", Func::Print),
    ("printf", Func::Printf),
    ("println", Func::Println),
    ("parseInt", Func::ParseInt),
];

/// Go's other builtins, which corec does not provide.
const UNSUPPORTED_FUNCS: [&str; 5] = ["html", "js", "urlquery", "slice", "call"];

impl Func {
    fn name(self) -> &'static str {
        FUNCS
            .iter()
            .find(|(_, f)| *f == self)
            .map_or("?", |(n, _)| n)
    }

    /// The argument counts the function takes: (minimum, maximum).
    fn arity(self) -> (usize, Option<usize>) {
        match self {
            Func::And | Func::Or | Func::Index | Func::Printf => (1, None),
            Func::Eq => (2, None),
            Func::Not | Func::Len => (1, Some(1)),
            Func::Ne | Func::Lt | Func::Le | Func::Gt | Func::Ge => (2, Some(2)),
            Func::Print | Func::Println => (0, None),
            Func::ParseInt => (3, Some(3)),
        }
    }

    fn result(self) -> Ty {
        match self {
            Func::And | Func::Or | Func::Index => Ty::Any,
            Func::Not | Func::Eq | Func::Ne | Func::Lt | Func::Le | Func::Gt | Func::Ge => Ty::Bool,
            Func::Len => Ty::Int,
            Func::Print | Func::Printf | Func::Println => Ty::Str,
            Func::ParseInt => Ty::Uint,
        }
    }
}

// ------------------------------------------------------------------ parser

struct Parser<'s> {
    items: std::vec::IntoIter<Item>,
    /// Declared variables and their types, innermost scope last.
    scopes: Vec<Vec<(String, Ty)>>,
    src: &'s str,
}

/// How a list of nodes ended.
enum Ending {
    Eof,
    End(Pos),
    Else(Pos),
    /// `{{else if ...}}`, with the condition's tokens.
    ElseIf(Vec<Lexed>, Pos),
}

impl Template {
    /// Parses `src`.
    pub(crate) fn parse(src: &str) -> Res<Template> {
        let items = lex(src)?;
        let mut p = Parser {
            items: items.into_iter(),
            scopes: vec![vec![("$".to_string(), Ty::Root)]],
            src,
        };
        let (nodes, ending) = p.list()?;
        match ending {
            Ending::Eof => Ok(Template { nodes }),
            Ending::End(pos) => Err(TmplError::new("unexpected {{end}}", pos)),
            Ending::Else(pos) | Ending::ElseIf(_, pos) => {
                Err(TmplError::new("unexpected {{else}}", pos))
            }
        }
    }

    /// Runs the template on `data`.
    pub(crate) fn execute(&self, data: &Data) -> Res<String> {
        let mut ex = Exec {
            data,
            vars: vec![("$".to_string(), Value::Root)],
            out: String::new(),
        };
        ex.nodes(&self.nodes)?;
        Ok(ex.out)
    }
}

impl Parser<'_> {
    fn list(&mut self) -> Res<(Vec<Node>, Ending)> {
        let mut nodes = Vec::new();
        while let Some(item) = self.items.next() {
            let (tokens, pos) = match item {
                Item::Text(t) => {
                    nodes.push(Node::Text(t));
                    continue;
                }
                Item::Action(tokens, pos) => (tokens, pos),
            };
            let keyword = match tokens.first().map(|t| &t.tok) {
                Some(Tok::Ident(k)) => k.as_str(),
                _ => "",
            };
            match keyword {
                "end" => {
                    if tokens.len() > 1 {
                        return Err(TmplError::new(
                            "unexpected token in end",
                            tokens[1].pos.clone(),
                        ));
                    }
                    return Ok((nodes, Ending::End(pos)));
                }
                "else" => {
                    if tokens.len() == 1 {
                        return Ok((nodes, Ending::Else(pos)));
                    }
                    if tokens[1].tok == Tok::Ident("if".into()) {
                        return Ok((nodes, Ending::ElseIf(tokens[2..].to_vec(), pos)));
                    }
                    return Err(TmplError::new(
                        "unexpected token in else",
                        tokens[1].pos.clone(),
                    ));
                }
                "if" => {
                    self.scopes.push(Vec::new());
                    let (cond, _) = self.pipeline(&tokens[1..], &pos, "if", true)?;
                    nodes.push(self.if_rest(cond, &pos)?);
                }
                "range" | "with" | "define" | "template" | "block" | "break" | "continue" => {
                    return Err(TmplError::new(
                        format!("{{{{{keyword}}}}} is not supported by corec's template plugin"),
                        tokens[0].pos.clone(),
                    ));
                }
                _ => nodes.push(Node::Action(
                    self.pipeline(&tokens, &pos, "command", true)?.0,
                )),
            }
        }
        Ok((nodes, Ending::Eof))
    }

    /// The branches of an `if` whose condition is parsed (in a scope of its
    /// own, which this closes), up to its `end`.
    fn if_rest(&mut self, cond: Pipeline, pos: &Pos) -> Res<Node> {
        let node = self.if_branches(cond, pos);
        self.scopes.pop();
        node
    }

    fn if_branches(&mut self, cond: Pipeline, pos: &Pos) -> Res<Node> {
        self.scopes.push(Vec::new());
        let (then, ending) = self.list()?;
        self.scopes.pop();
        let otherwise = match ending {
            Ending::End(_) => Vec::new(),
            Ending::Eof => {
                return Err(TmplError::new(
                    "unexpected EOF: {{if}} has no {{end}}",
                    pos.clone(),
                ));
            }
            Ending::Else(_) => {
                self.scopes.push(Vec::new());
                let (otherwise, ending) = self.list()?;
                self.scopes.pop();
                match ending {
                    Ending::End(_) => otherwise,
                    Ending::Eof => {
                        return Err(TmplError::new(
                            "unexpected EOF: {{if}} has no {{end}}",
                            pos.clone(),
                        ));
                    }
                    Ending::Else(p) | Ending::ElseIf(_, p) => {
                        return Err(TmplError::new("expected end; found {{else}}", p));
                    }
                }
            }
            // `{{else if c}}` is an `if` nested in the else branch sharing its `end`.
            Ending::ElseIf(tokens, at) => {
                self.scopes.push(Vec::new());
                let (inner, _) = self.pipeline(&tokens, &at, "if", true)?;
                vec![self.if_rest(inner, &at)?]
            }
        };
        Ok(Node::If {
            cond,
            then,
            otherwise,
        })
    }

    fn lookup_var(&self, name: &str) -> Option<Ty> {
        self.scopes
            .iter()
            .rev()
            .flat_map(|s| s.iter().rev())
            .find(|(n, _)| n == name)
            .map(|(_, t)| *t)
    }

    /// A pipeline, `[$x :=] cmd | cmd ...`, and the type it yields.
    /// `context` names it in errors.
    fn pipeline(
        &mut self,
        toks: &[Lexed],
        at: &Pos,
        context: &str,
        top: bool,
    ) -> Res<(Pipeline, Ty)> {
        let mut toks = toks;
        let mut decl = None;
        if let [
            Lexed {
                tok: Tok::Var(name),
                pos,
                ..
            },
            Lexed {
                tok: op @ (Tok::Declare | Tok::Assign),
                ..
            },
            rest @ ..,
        ] = toks
        {
            if !top {
                // Go allows this in parentheses too; nothing needs it here.
                return Err(TmplError::new(
                    "variable declarations are only supported at the start of an action",
                    pos.clone(),
                ));
            }
            let assign = *op == Tok::Assign;
            if assign && self.lookup_var(name).is_none() {
                return Err(TmplError::new(
                    format!("undefined variable {name:?}"),
                    pos.clone(),
                ));
            }
            decl = Some((name.clone(), assign, pos.clone()));
            toks = rest;
        }
        let mut cmds = Vec::new();
        let mut ty = Ty::Any;
        if toks.is_empty() {
            return Err(TmplError::new(
                format!("missing value for {context}"),
                at.clone(),
            ));
        }
        for (i, part) in split_pipes(toks)?.into_iter().enumerate() {
            if part.is_empty() {
                let p = toks.last().map_or(at.clone(), |t| t.pos.clone());
                return Err(TmplError::new("missing command", p));
            }
            let (cmd, t) = self.command(part, i > 0)?;
            cmds.push(cmd);
            ty = t;
        }
        let decl = decl.map(|(name, assign, _)| {
            let ty = if assign { Ty::Any } else { ty };
            if !assign {
                self.scopes
                    .last_mut()
                    .expect("a scope")
                    .push((name.clone(), ty));
            }
            (name, assign)
        });
        Ok((Pipeline { decl, cmds }, ty))
    }

    /// One command; `piped` when the previous command's value is appended
    /// to its arguments. Returns the command and its result type.
    fn command(&mut self, toks: &[Lexed], piped: bool) -> Res<(Command, Ty)> {
        let pos = toks[0].pos.start..toks[toks.len() - 1].pos.end;
        let mut args = Vec::new();
        let mut tys = Vec::new();
        let mut i = 0;
        while i < toks.len() {
            let (op, ty, used) = self.operand(&toks[i..])?;
            args.push(op);
            tys.push(ty);
            i += used;
        }
        let head = &args[0];
        let given = args.len() - 1 + usize::from(piped);
        let method = tys[0] == Ty::Meta;
        let ty = match (&head.term, tys[0]) {
            (Term::Func(f), _) => {
                let (min, max) = f.arity();
                if given < min || max.is_some_and(|m| given > m) {
                    let want = match max {
                        Some(m) if m == min => format!("{min}"),
                        Some(m) => format!("{min} to {m}"),
                        None => format!("at least {min}"),
                    };
                    return Err(TmplError::new(
                        format!(
                            "wrong number of args for {}: want {want} got {given}",
                            f.name()
                        ),
                        pos,
                    ));
                }
                f.result()
            }
            (_, Ty::Meta) => {
                if given != 1 {
                    return Err(TmplError::new(
                        format!("wrong number of args for Meta: want 1 got {given}"),
                        pos,
                    ));
                }
                Ty::Str
            }
            (Term::Nil, _) => return Err(TmplError::new("nil is not a command", head.pos.clone())),
            (_, ty) => {
                if given > 0 {
                    let what = &self.src[head.pos.clone()];
                    return Err(TmplError::new(
                        format!("can't give argument to non-function {what}"),
                        pos,
                    ));
                }
                ty
            }
        };
        // A method or function anywhere but at the head gets no arguments.
        for (op, ty) in args.iter().zip(&tys).skip(1) {
            if *ty == Ty::Meta {
                return Err(TmplError::new(
                    "wrong number of args for Meta: want 1 got 0",
                    op.pos.clone(),
                ));
            }
            if let Term::Func(f) = op.term {
                let (min, _) = f.arity();
                if min > 0 {
                    return Err(TmplError::new(
                        format!(
                            "wrong number of args for {}: want at least {min} got 0",
                            f.name()
                        ),
                        op.pos.clone(),
                    ));
                }
            }
        }
        Ok((Command { args, method, pos }, ty))
    }

    /// One operand and the fields chained onto it; returns it, its type and
    /// how many tokens it took.
    fn operand(&mut self, toks: &[Lexed]) -> Res<(Operand, Ty, usize)> {
        let first = &toks[0];
        let mut used = 1;
        let (term, mut ty, mut fields) = match &first.tok {
            Tok::Dot => (Term::Dot, Ty::Root, Vec::new()),
            Tok::Field(f) => (Term::Dot, Ty::Root, vec![(f.clone(), first.pos.clone())]),
            Tok::Var(name) => match self.lookup_var(name) {
                Some(ty) => (Term::Var(name.clone()), ty, Vec::new()),
                None => {
                    return Err(TmplError::new(
                        format!("undefined variable {name:?}"),
                        first.pos.clone(),
                    ));
                }
            },
            Tok::Str(s) => (Term::Lit(Value::Str(s.clone())), Ty::Str, Vec::new()),
            Tok::Int(n) => (Term::Lit(Value::Int(*n)), Ty::Int, Vec::new()),
            Tok::Float(f) => (Term::Lit(Value::Float(*f)), Ty::Float, Vec::new()),
            Tok::Ident(id) => match id.as_str() {
                "true" => (Term::Lit(Value::Bool(true)), Ty::Bool, Vec::new()),
                "false" => (Term::Lit(Value::Bool(false)), Ty::Bool, Vec::new()),
                "nil" => (Term::Nil, Ty::Any, Vec::new()),
                name => match FUNCS.iter().find(|(n, _)| *n == name) {
                    Some((_, f)) => (Term::Func(*f), f.result(), Vec::new()),
                    None if UNSUPPORTED_FUNCS.contains(&name) => {
                        return Err(TmplError::new(
                            format!(
                                "function {name:?} is not supported by corec's template plugin"
                            ),
                            first.pos.clone(),
                        ));
                    }
                    None => {
                        return Err(TmplError::new(
                            format!("function {name:?} not defined"),
                            first.pos.clone(),
                        ));
                    }
                },
            },
            Tok::LParen => {
                let close = matching_paren(toks)?;
                let (inner, ty) =
                    self.pipeline(&toks[1..close], &first.pos, "parenthesized pipeline", false)?;
                used = close + 1;
                (Term::Pipe(Box::new(inner)), ty, Vec::new())
            }
            Tok::RParen => return Err(TmplError::new("unexpected right paren", first.pos.clone())),
            Tok::Pipe => return Err(TmplError::new("unexpected | in command", first.pos.clone())),
            Tok::Declare | Tok::Assign => {
                return Err(TmplError::new(
                    "unexpected assignment in command",
                    first.pos.clone(),
                ));
            }
        };
        // Fields written right after the term (no blank between) chain onto it.
        while let Some(Lexed {
            tok: Tok::Field(f),
            pos,
            spaced: false,
        }) = toks.get(used)
        {
            if matches!(term, Term::Lit(_) | Term::Nil | Term::Func(_)) {
                return Err(TmplError::new(
                    format!("unexpected .{f} after {}", &self.src[first.pos.clone()]),
                    pos.clone(),
                ));
            }
            fields.push((f.clone(), pos.clone()));
            used += 1;
        }
        for (i, (f, pos)) in fields.iter().enumerate() {
            // `.Meta` is a method: only the last element of a chain may name it.
            ty = field_ty(ty, f).map_err(|m| TmplError::new(m, pos.clone()))?;
            if ty == Ty::Meta && i + 1 < fields.len() {
                return Err(TmplError::new(
                    format!(
                        "can't evaluate field {}: Meta is a method taking one argument",
                        fields[i + 1].0
                    ),
                    fields[i + 1].1.clone(),
                ));
            }
        }
        let pos = first.pos.start..toks[used - 1].pos.end;
        let fields = fields.into_iter().map(|(f, _)| f).collect();
        Ok((Operand { term, fields, pos }, ty, used))
    }
}

/// Index of the `)` closing the `(` at `toks[0]`.
fn matching_paren(toks: &[Lexed]) -> Res<usize> {
    let mut depth = 0;
    for (i, t) in toks.iter().enumerate() {
        match t.tok {
            Tok::LParen => depth += 1,
            Tok::RParen => {
                depth -= 1;
                if depth == 0 {
                    return Ok(i);
                }
            }
            _ => {}
        }
    }
    Err(TmplError::new("unclosed left paren", toks[0].pos.clone()))
}

/// Splits a pipeline at its top-level `|`s.
fn split_pipes(toks: &[Lexed]) -> Res<Vec<&[Lexed]>> {
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, t) in toks.iter().enumerate() {
        match t.tok {
            Tok::LParen => depth += 1,
            Tok::RParen => {
                depth -= 1;
                if depth < 0 {
                    return Err(TmplError::new("unexpected right paren", t.pos.clone()));
                }
            }
            Tok::Pipe if depth == 0 => {
                parts.push(&toks[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&toks[start..]);
    Ok(parts)
}

// ------------------------------------------------------------------ execution

struct Exec<'d> {
    data: &'d Data,
    vars: Vec<(String, Value)>,
    out: String,
}

impl Exec<'_> {
    fn nodes(&mut self, nodes: &[Node]) -> Res<()> {
        for node in nodes {
            match node {
                Node::Text(t) => self.out.push_str(t),
                Node::Action(p) => {
                    let v = self.pipeline(p)?;
                    if p.decl.is_none() {
                        print_value(&mut self.out, &v);
                    }
                }
                Node::If {
                    cond,
                    then,
                    otherwise,
                } => {
                    let mark = self.vars.len();
                    let v = self.pipeline(cond)?;
                    let branch = if v.truth() { then } else { otherwise };
                    self.nodes(branch)?;
                    self.vars.truncate(mark);
                }
            }
        }
        Ok(())
    }

    fn pipeline(&mut self, p: &Pipeline) -> Res<Value> {
        let mut value: Option<Value> = None;
        for cmd in &p.cmds {
            value = Some(self.command(cmd, value)?);
        }
        let value = value.unwrap_or(Value::Nil);
        if let Some((name, assign)) = &p.decl {
            if *assign {
                if let Some(slot) = self.vars.iter_mut().rev().find(|(n, _)| n == name) {
                    slot.1 = value.clone();
                }
            } else {
                self.vars.push((name.clone(), value.clone()));
            }
        }
        Ok(value)
    }

    fn command(&mut self, cmd: &Command, piped: Option<Value>) -> Res<Value> {
        let head = &cmd.args[0];
        if let Term::Func(f) = head.term {
            return self.call(f, &cmd.args[1..], piped, &cmd.pos);
        }
        if cmd.method {
            // Checked at parse time: `.Meta` with one argument.
            let label = match cmd.args.get(1) {
                Some(op) => self.operand(op)?,
                None => piped.unwrap_or(Value::Nil),
            };
            let Value::Str(label) = label else {
                return Err(TmplError::new(
                    format!(
                        "wrong type for value; expected string; got {}",
                        label.type_name()
                    ),
                    cmd.pos.clone(),
                ));
            };
            // An unset label is the empty string, as in CoreDNS.
            let value = self.data.meta.get(&label).unwrap_or_default();
            return Ok(Value::Str(value.to_string()));
        }
        self.operand(head)
    }

    fn operand(&mut self, op: &Operand) -> Res<Value> {
        let mut v = match &op.term {
            Term::Dot => Value::Root,
            Term::Var(name) => self
                .vars
                .iter()
                .rev()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
                .unwrap_or(Value::Nil),
            Term::Lit(v) => v.clone(),
            Term::Nil => Value::Nil,
            Term::Func(f) => self.call(*f, &[], None, &op.pos)?,
            Term::Pipe(p) => {
                let mark = self.vars.len();
                let v = self.pipeline(p)?;
                self.vars.truncate(mark);
                v
            }
        };
        for f in &op.fields {
            v = self
                .field(v, f)
                .map_err(|m| TmplError::new(m, op.pos.clone()))?;
        }
        Ok(v)
    }

    fn field(&self, on: Value, name: &str) -> Result<Value, String> {
        let d = self.data;
        Ok(match (on, name) {
            (Value::Root, "Zone") => Value::Str(d.zone.clone()),
            (Value::Root, "Name") => Value::Str(d.name.clone()),
            (Value::Root, "Regex") => Value::Str(d.regex.clone()),
            (Value::Root, "Class") => Value::Str(d.class.clone()),
            (Value::Root, "Type") => Value::Str(d.qtype.clone()),
            (Value::Root, "Remote") => Value::Str(d.remote.clone()),
            (Value::Root, "Match") => Value::List(
                d.matches.iter().cloned().map(Value::Str).collect(),
                ListKind::Strings,
            ),
            (Value::Root, "Group") => Value::Map(d.groups.clone()),
            (Value::Root, "Message") => Value::Message(Box::new(d.message.clone())),
            (Value::Root, "Question") => match &d.question {
                Some(q) => Value::Question(q.clone()),
                None => Value::Nil,
            },
            (Value::Map(mut map), key) => map.remove(key).map_or(Value::Nil, Value::Str),
            (Value::Message(m), "Id") => Value::Uint(u64::from(m.id), UintKind::U16),
            (Value::Message(m), "Response") => Value::Bool(m.response),
            (Value::Message(m), "Opcode") => Value::Int(i64::from(m.opcode)),
            (Value::Message(m), "Authoritative") => Value::Bool(m.authoritative),
            (Value::Message(m), "Truncated") => Value::Bool(m.truncated),
            (Value::Message(m), "RecursionDesired") => Value::Bool(m.recursion_desired),
            (Value::Message(m), "RecursionAvailable") => Value::Bool(m.recursion_available),
            (Value::Message(_), "Zero") => Value::Bool(false),
            (Value::Message(m), "AuthenticatedData") => Value::Bool(m.authenticated_data),
            (Value::Message(m), "CheckingDisabled") => Value::Bool(m.checking_disabled),
            (Value::Message(m), "Rcode") => Value::Int(i64::from(m.rcode)),
            (Value::Message(m), "Question") => Value::List(
                m.questions.iter().cloned().map(Value::Question).collect(),
                ListKind::Questions,
            ),
            (Value::Question(q), "Name") => Value::Str(q.name),
            (Value::Question(q), "Qtype") => Value::Uint(u64::from(q.qtype), UintKind::U16),
            (Value::Question(q), "Qclass") => Value::Uint(u64::from(q.qclass), UintKind::U16),
            (Value::Nil, name) => return Err(format!("nil pointer evaluating .{name}")),
            (other, name) => {
                return Err(format!(
                    "can't evaluate field {name} in type {}",
                    other.type_name()
                ));
            }
        })
    }

    fn call(&mut self, f: Func, args: &[Operand], piped: Option<Value>, pos: &Pos) -> Res<Value> {
        let err = |m: String| TmplError::new(m, pos.clone());
        // `and` and `or` evaluate their arguments only as far as needed.
        if matches!(f, Func::And | Func::Or) {
            let mut last = Value::Nil;
            for op in args {
                last = self.operand(op)?;
                if last.truth() != (f == Func::And) {
                    return Ok(last);
                }
            }
            if let Some(v) = piped {
                last = v;
            }
            return Ok(last);
        }
        let mut vals = Vec::with_capacity(args.len() + 1);
        for op in args {
            vals.push(self.operand(op)?);
        }
        vals.extend(piped);
        match f {
            Func::And | Func::Or => unreachable!("handled above"),
            Func::Not => Ok(Value::Bool(!vals[0].truth())),
            Func::Len => match &vals[0] {
                Value::Str(s) => Ok(Value::Int(s.len() as i64)),
                Value::List(l, _) => Ok(Value::Int(l.len() as i64)),
                Value::Map(m) => Ok(Value::Int(m.len() as i64)),
                other => Err(err(format!(
                    "error calling len: len of type {}",
                    other.type_name()
                ))),
            },
            Func::Index => {
                let mut it = vals.into_iter();
                let mut item = it.next().expect("arity checked");
                for ix in it {
                    item = index(item, ix).map_err(|m| err(format!("error calling index: {m}")))?;
                }
                Ok(item)
            }
            Func::Eq => {
                let first = &vals[0];
                for other in &vals[1..] {
                    if compare(first, other).map_err(|m| err(format!("error calling eq: {m}")))?
                        == Some(std::cmp::Ordering::Equal)
                    {
                        return Ok(Value::Bool(true));
                    }
                }
                Ok(Value::Bool(false))
            }
            Func::Ne => {
                let ord = compare(&vals[0], &vals[1])
                    .map_err(|m| err(format!("error calling ne: {m}")))?;
                Ok(Value::Bool(ord != Some(std::cmp::Ordering::Equal)))
            }
            Func::Lt | Func::Le | Func::Gt | Func::Ge => {
                let (a, b) = (&vals[0], &vals[1]);
                let name = f.name();
                if matches!(a, Value::Bool(_)) || matches!(b, Value::Bool(_)) {
                    return Err(err(format!(
                        "error calling {name}: invalid type for comparison"
                    )));
                }
                let ord = compare(a, b)
                    .map_err(|m| err(format!("error calling {name}: {m}")))?
                    .ok_or_else(|| {
                        err(format!("error calling {name}: invalid type for comparison"))
                    })?;
                Ok(Value::Bool(match f {
                    Func::Lt => ord.is_lt(),
                    Func::Le => ord.is_le(),
                    Func::Gt => ord.is_gt(),
                    _ => ord.is_ge(),
                }))
            }
            Func::Print => Ok(Value::Str(sprint(&vals, false))),
            Func::Println => Ok(Value::Str(sprint(&vals, true))),
            Func::Printf => match &vals[0] {
                Value::Str(fmt) => Ok(Value::Str(sprintf(fmt, &vals[1..]))),
                other => Err(err(format!(
                    "wrong type for value; expected string; got {}",
                    other.type_name()
                ))),
            },
            Func::ParseInt => {
                let Value::Str(s) = &vals[0] else {
                    return Err(err(format!(
                        "wrong type for value; expected string; got {}",
                        vals[0].type_name()
                    )));
                };
                let int = |v: &Value| match v {
                    Value::Int(i) => Ok(*i),
                    Value::Uint(u, _) => Ok(*u as i64),
                    other => Err(err(format!(
                        "wrong type for value; expected int; got {}",
                        other.type_name()
                    ))),
                };
                let (base, bits) = (int(&vals[1])?, int(&vals[2])?);
                parse_uint(s, base, bits)
                    .map(|u| Value::Uint(u, UintKind::U64))
                    .map_err(|m| err(format!("error calling parseInt: {m}")))
            }
        }
    }
}

/// Go's `index` of one value by one key.
fn index(item: Value, ix: Value) -> Result<Value, String> {
    let at = |len: usize| -> Result<usize, String> {
        let i = match ix {
            Value::Int(i) => i,
            Value::Uint(u, _) => i64::try_from(u).unwrap_or(i64::MAX),
            ref other => {
                return Err(format!(
                    "cannot index slice/array with type {}",
                    other.type_name()
                ));
            }
        };
        if i < 0 || i as usize >= len {
            return Err(format!("index out of range: {i}"));
        }
        Ok(i as usize)
    };
    match item {
        Value::List(mut l, _) => {
            let i = at(l.len())?;
            Ok(l.swap_remove(i))
        }
        Value::Str(s) => {
            let i = at(s.len())?;
            Ok(Value::Uint(u64::from(s.as_bytes()[i]), UintKind::U8))
        }
        Value::Map(mut m) => match &ix {
            // A missing key is the zero value.
            Value::Str(k) => Ok(Value::Str(m.remove(k).unwrap_or_default())),
            other => Err(format!(
                "value has type {}; should be string",
                other.type_name()
            )),
        },
        Value::Nil => Err("index of untyped nil".into()),
        other => Err(format!("can't index item of type {}", other.type_name())),
    }
}

/// Compares two basic values as Go's comparison functions do: `None` when
/// they are unequal but unordered (booleans).
fn compare(a: &Value, b: &Value) -> Result<Option<std::cmp::Ordering>, String> {
    use Value::*;
    Ok(match (a, b) {
        (Bool(x), Bool(y)) => (x == y).then_some(std::cmp::Ordering::Equal),
        (Int(x), Int(y)) => Some(x.cmp(y)),
        (Uint(x, _), Uint(y, _)) => Some(x.cmp(y)),
        (Int(x), Uint(y, _)) => Some(if *x < 0 {
            std::cmp::Ordering::Less
        } else {
            (*x as u64).cmp(y)
        }),
        (Uint(x, _), Int(y)) => Some(if *y < 0 {
            std::cmp::Ordering::Greater
        } else {
            x.cmp(&(*y as u64))
        }),
        (Float(x), Float(y)) => x.partial_cmp(y),
        (Str(x), Str(y)) => Some(x.as_bytes().cmp(y.as_bytes())),
        (Nil, Nil) => Some(std::cmp::Ordering::Equal),
        (Nil, _) | (_, Nil) => return Err("invalid type for comparison".into()),
        (List(..) | Map(_) | Message(_) | Question(_) | Root, _)
        | (_, List(..) | Map(_) | Message(_) | Question(_) | Root) => {
            return Err("invalid type for comparison".into());
        }
        _ => return Err("incompatible types for comparison".into()),
    })
}

/// `strconv.ParseUint`.
fn parse_uint(s: &str, base: i64, bits: i64) -> Result<u64, String> {
    let fail = |why: &str| format!("strconv.ParseUint: parsing {}: {why}", go_quote(s));
    if s.is_empty() {
        return Err(fail("invalid syntax"));
    }
    let mut digits = s;
    let base0 = base == 0;
    let base = if base0 {
        let lower = s.to_ascii_lowercase();
        if lower.starts_with("0x") && s.len() > 2 {
            digits = &s[2..];
            16
        } else if lower.starts_with("0o") && s.len() > 2 {
            digits = &s[2..];
            8
        } else if lower.starts_with("0b") && s.len() > 2 {
            digits = &s[2..];
            2
        } else if s.starts_with('0') && s.len() > 1 {
            digits = &s[1..];
            8
        } else {
            10
        }
    } else if (2..=36).contains(&base) {
        base as u32
    } else {
        return Err(fail(&format!("invalid base {base}")));
    };
    let bits = match bits {
        0 => 64,
        1..=64 => bits as u32,
        _ => return Err(fail(&format!("invalid bit size {bits}"))),
    };
    let max = if bits == 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    };
    let mut n: u64 = 0;
    let mut overflow = false;
    let mut underscores = false;
    for c in digits.chars() {
        if c == '_' && base0 {
            underscores = true;
            continue;
        }
        let Some(d) = c.to_digit(36).filter(|d| *d < base) else {
            return Err(fail("invalid syntax"));
        };
        match n
            .checked_mul(u64::from(base))
            .and_then(|v| v.checked_add(u64::from(d)))
        {
            Some(v) if v <= max => n = v,
            _ => overflow = true,
        }
    }
    if underscores && !underscores_ok(s) {
        return Err(fail("invalid syntax"));
    }
    if overflow {
        return Err(fail("value out of range"));
    }
    Ok(n)
}

/// Go's rule for `_` in base-prefixed literals: only between digits or
/// after the prefix.
fn underscores_ok(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    // Previous character class: '_' underscore, '0' digit or prefix, '!' other.
    let mut saw = b'^';
    if b.len() >= 2 && b[0] == b'0' && b[1].is_ascii_alphabetic() {
        i = 2;
        saw = b'0';
    }
    let mut hex = false;
    if s.len() >= 2 && s[..2].eq_ignore_ascii_case("0x") {
        hex = true;
    }
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_digit() || (hex && c.is_ascii_hexdigit()) {
            saw = b'0';
        } else if c == b'_' {
            if saw != b'0' {
                return false;
            }
            saw = b'_';
        } else {
            if saw == b'_' {
                return false;
            }
            saw = b'!';
        }
        i += 1;
    }
    saw != b'_'
}

// ------------------------------------------------------------------ printing

/// How an action prints a value (Go's `fmt.Print` of it; an invalid value
/// is `<no value>`).
fn print_value(out: &mut String, v: &Value) {
    match v {
        Value::Nil => out.push_str("<no value>"),
        other => fmt_v(out, other),
    }
}

/// Go's `%v`.
fn fmt_v(out: &mut String, v: &Value) {
    match v {
        Value::Nil => out.push_str("<nil>"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Uint(u, _) => {
            let _ = write!(out, "{u}");
        }
        Value::Float(f) => out.push_str(&format_float_g(*f)),
        Value::Str(s) => out.push_str(s),
        Value::List(l, _) => {
            out.push('[');
            for (i, e) in l.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                fmt_v(out, e);
            }
            out.push(']');
        }
        Value::Map(m) => {
            out.push_str("map[");
            for (i, (k, val)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                let _ = write!(out, "{k}:{val}");
            }
            out.push(']');
        }
        Value::Question(q) => out.push_str(&question_text(q)),
        Value::Message(m) => out.push_str(&message_text(m)),
        Value::Root => out.push_str("<template data>"),
    }
}

/// A question as miekg/dns prints it: `;name.\tIN\t A`.
pub(crate) fn question_text(q: &QuestionData) -> String {
    format!(
        ";{}\t{}\t {}",
        q.name,
        super::names::class_name(q.qclass),
        super::names::type_name(q.qtype)
    )
}

/// The query as miekg/dns prints a message (dig style).
fn message_text(m: &MessageData) -> String {
    let mut s = format!(
        ";; opcode: {}, status: {}, id: {}\n;; flags:",
        super::names::opcode_name(m.opcode),
        super::names::rcode_name(m.rcode),
        m.id
    );
    for (set, flag) in [
        (m.response, " qr"),
        (m.authoritative, " aa"),
        (m.truncated, " tc"),
        (m.recursion_desired, " rd"),
        (m.recursion_available, " ra"),
        (m.authenticated_data, " ad"),
        (m.checking_disabled, " cd"),
    ] {
        if set {
            s.push_str(flag);
        }
    }
    let _ = writeln!(
        s,
        "; QUERY: {}, ANSWER: {}, AUTHORITY: {}, ADDITIONAL: {}",
        m.questions.len(),
        m.counts[0],
        m.counts[1],
        m.counts[2]
    );
    if let Some((version, dnssec_ok, size)) = m.edns {
        let _ = writeln!(
            s,
            "\n;; OPT PSEUDOSECTION:\n; EDNS: version {version}; flags:{}; udp: {size}",
            if dnssec_ok { " do" } else { "" }
        );
    }
    if !m.questions.is_empty() {
        s.push_str("\n;; QUESTION SECTION:\n");
        for q in &m.questions {
            s.push_str(&question_text(q));
            s.push('\n');
        }
    }
    s
}

/// `fmt.Sprint` (`println`: `fmt.Sprintln`).
fn sprint(vals: &[Value], line: bool) -> String {
    let mut out = String::new();
    for (i, v) in vals.iter().enumerate() {
        let is_str = |v: &Value| matches!(v, Value::Str(_));
        if i > 0 && (line || (!is_str(v) && !is_str(&vals[i - 1]))) {
            out.push(' ');
        }
        fmt_arg(&mut out, v);
    }
    if line {
        out.push('\n');
    }
    out
}

/// A value as an argument to a `fmt` function.
fn fmt_arg(out: &mut String, v: &Value) {
    fmt_v(out, v);
}

/// Go's `%v` for a float64 (`strconv` 'g' with the shortest precision):
/// the shortest digits that round-trip, in exponent form when the decimal
/// exponent is below -4 or at least 6.
fn format_float_g(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0" } else { "0" }.into();
    }
    let sci = format!("{:e}", f.abs());
    let (mant, exp) = sci.split_once('e').expect("{:e} has an exponent");
    let exp: i32 = exp.parse().expect("an integer exponent");
    let digits: String = mant.chars().filter(|c| *c != '.').collect();
    let sign = if f < 0.0 { "-" } else { "" };
    if !(-4..6).contains(&exp) {
        let mut m = digits[..1].to_string();
        if digits.len() > 1 {
            m.push('.');
            m.push_str(&digits[1..]);
        }
        return format!(
            "{sign}{m}e{}{:02}",
            if exp < 0 { '-' } else { '+' },
            exp.abs()
        );
    }
    let mut s = String::from(sign);
    if exp < 0 {
        s.push_str("0.");
        s.push_str(&"0".repeat((-exp - 1) as usize));
        s.push_str(&digits);
    } else {
        let point = exp as usize + 1;
        if digits.len() <= point {
            s.push_str(&digits);
            s.push_str(&"0".repeat(point - digits.len()));
        } else {
            s.push_str(&digits[..point]);
            s.push('.');
            s.push_str(&digits[point..]);
        }
    }
    s
}

/// Go's `strconv.Quote`.
fn go_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x0b' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\x7f' => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `fmt.Sprintf` for the verbs templates need: `%v %s %d %x %X %o %b %q %t
/// %c %f %e %g %%`, with flags `-+0`, width and precision.
fn sprintf(format: &str, args: &[Value]) -> String {
    let mut out = String::new();
    let mut next = 0;
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let (mut minus, mut plus, mut zero) = (false, false, false);
        while let Some(&f) = chars.peek() {
            match f {
                '-' => minus = true,
                '+' => plus = true,
                '0' => zero = true,
                ' ' | '#' => {}
                _ => break,
            }
            chars.next();
        }
        let mut width = None;
        while let Some(d) = chars.peek().and_then(|c| c.to_digit(10)) {
            width = Some(width.unwrap_or(0) * 10 + d as usize);
            chars.next();
        }
        let mut precision = None;
        if chars.peek() == Some(&'.') {
            chars.next();
            let mut p = 0;
            while let Some(d) = chars.peek().and_then(|c| c.to_digit(10)) {
                p = p * 10 + d as usize;
                chars.next();
            }
            precision = Some(p);
        }
        let Some(verb) = chars.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        let Some(arg) = args.get(next) else {
            let _ = write!(out, "%!{verb}(MISSING)");
            continue;
        };
        next += 1;
        let bad = || {
            let mut s = String::new();
            let _ = write!(s, "%!{verb}({}=", arg.type_name());
            fmt_arg(&mut s, arg);
            s.push(')');
            s
        };
        let int = match arg {
            Value::Int(i) => Some(i128::from(*i)),
            Value::Uint(u, _) => Some(i128::from(*u)),
            _ => None,
        };
        let (body, numeric) = match (verb, arg) {
            ('v', _) => {
                let mut s = String::new();
                fmt_arg(&mut s, arg);
                (s, int.is_some() || matches!(arg, Value::Float(_)))
            }
            ('s', Value::Str(s)) => (truncate(s, precision), false),
            ('s', Value::List(..) | Value::Map(_) | Value::Question(_) | Value::Message(_)) => {
                let mut s = String::new();
                fmt_arg(&mut s, arg);
                (s, false)
            }
            ('q', Value::Str(s)) => (go_quote(s), false),
            ('t', Value::Bool(b)) => (b.to_string(), false),
            ('x' | 'X', Value::Str(s)) => {
                let hex: String = s.bytes().map(|b| format!("{b:02x}")).collect();
                (if verb == 'X' { hex.to_uppercase() } else { hex }, false)
            }
            ('d' | 'x' | 'X' | 'o' | 'b' | 'c' | 'q', _) if int.is_some() => {
                let n = int.expect("checked");
                let mag = n.unsigned_abs();
                let digits = match verb {
                    'd' => mag.to_string(),
                    'x' => format!("{mag:x}"),
                    'X' => format!("{mag:X}"),
                    'o' => format!("{mag:o}"),
                    'b' => format!("{mag:b}"),
                    _ => {
                        let ch = u32::try_from(n)
                            .ok()
                            .and_then(char::from_u32)
                            .unwrap_or('\u{fffd}');
                        let s = if verb == 'q' {
                            format!("{ch:?}")
                        } else {
                            ch.to_string()
                        };
                        out.push_str(&pad(&s, width, minus, false));
                        continue;
                    }
                };
                let sign = if n < 0 {
                    "-"
                } else if plus {
                    "+"
                } else {
                    ""
                };
                (format!("{sign}{digits}"), true)
            }
            ('f' | 'F' | 'e' | 'g', Value::Float(f)) => {
                let p = precision;
                let s = match verb {
                    'f' | 'F' => format!("{:.*}", p.unwrap_or(6), f),
                    'e' => {
                        let s = format!("{:.*e}", p.unwrap_or(6), f);
                        let (m, e) = s.split_once('e').expect("exponent");
                        let e: i32 = e.parse().expect("integer");
                        format!("{m}e{}{:02}", if e < 0 { '-' } else { '+' }, e.abs())
                    }
                    _ => format_float_g(*f),
                };
                let s = if plus && *f >= 0.0 {
                    format!("+{s}")
                } else {
                    s
                };
                (s, true)
            }
            _ => {
                out.push_str(&bad());
                continue;
            }
        };
        out.push_str(&pad(&body, width, minus, zero && numeric && !minus));
    }
    if next < args.len() {
        out.push_str("%!(EXTRA ");
        for (i, a) in args[next..].iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            let _ = write!(out, "{}=", a.type_name());
            fmt_arg(&mut out, a);
        }
        out.push(')');
    }
    out
}

fn truncate(s: &str, precision: Option<usize>) -> String {
    match precision {
        Some(p) => s.chars().take(p).collect(),
        None => s.to_string(),
    }
}

/// Pads to `width` characters: on the right with `minus`, with zeros after
/// the sign with `zero`, else with spaces on the left.
fn pad(s: &str, width: Option<usize>, minus: bool, zero: bool) -> String {
    let len = s.chars().count();
    let Some(w) = width.filter(|w| *w > len) else {
        return s.to_string();
    };
    let fill = w - len;
    if minus {
        format!("{s}{}", " ".repeat(fill))
    } else if zero {
        let (sign, rest) = match s.strip_prefix(['-', '+']) {
            Some(rest) => (&s[..1], rest),
            None => ("", s),
        };
        format!("{sign}{}{rest}", "0".repeat(fill))
    } else {
        format!("{}{s}", " ".repeat(fill))
    }
}
