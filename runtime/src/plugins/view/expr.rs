//! The expression language of `view` filters: the part of expr-lang that
//! CoreDNS users write in them. Literals (strings in single or double quotes,
//! integers, `true`/`false`, `[...]` lists), the query functions (`name()`,
//! `type()`, `client_ip()`, ...), `incidr(ip, cidr)`, comparison (`==`, `!=`,
//! `<`, `<=`, `>`, `>=`), `in`/`not in`, string tests (`matches`,
//! `contains`, `startsWith`, `endsWith`), `+` on strings and integers,
//! `!`/`not`, `&&`/`and`, `||`/`or` and parentheses.
//!
//! Expressions are parsed when the Corefile is read (so mistakes are
//! reported there) and evaluated per query against [`QueryFacts`].

use regex::Regex;
use std::net::IpAddr;

/// What a filter can ask about a query.
pub trait QueryFacts {
    /// The client's address.
    fn client_ip(&self) -> IpAddr;
    /// The client's port.
    fn client_port(&self) -> u16;
    /// The address the query arrived at.
    fn server_ip(&self) -> IpAddr;
    /// The port the query arrived at.
    fn server_port(&self) -> u16;
    /// The question name, lowercase, fully qualified.
    fn qname(&self) -> String;
    /// The question type.
    fn qtype(&self) -> u16;
    /// The question class.
    fn qclass(&self) -> u16;
    /// The DNSSEC OK bit.
    fn do_bit(&self) -> bool;
    /// The query ID.
    fn id(&self) -> u16;
    /// The opcode.
    fn opcode(&self) -> u8;
    /// `udp` or `tcp`.
    fn proto(&self) -> &'static str;
    /// The query's size on the wire.
    fn size(&self) -> usize;
    /// The EDNS UDP size, 512 without EDNS.
    fn bufsize(&self) -> u16;
    /// The value of metadata `label`; `None` when unset or when metadata is
    /// not collected for the query.
    fn metadata(&self, _label: &str) -> Option<&str> {
        None
    }
}

/// A value during evaluation.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Str(String),
    Int(i64),
    Bool(bool),
    List(Vec<Value>),
}

impl Value {
    fn truthy(&self) -> bool {
        matches!(self, Value::Bool(true))
    }

    /// Loose equality: a number and a string of digits compare equal, since
    /// ports are strings in CoreDNS and numbers to the eye.
    fn equals(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Int(a), Value::Str(b)) | (Value::Str(b), Value::Int(a)) => {
                b.parse::<i64>().ok() == Some(*a)
            }
            (a, b) => a == b,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Func {
    Bufsize,
    Class,
    ClientIp,
    Do,
    Id,
    Name,
    Opcode,
    Port,
    Proto,
    ServerIp,
    ServerPort,
    Size,
    Type,
    Incidr,
    Metadata,
}

impl Func {
    fn by_name(name: &str) -> Option<(Func, usize)> {
        Some(match name {
            "bufsize" => (Func::Bufsize, 0),
            "class" => (Func::Class, 0),
            "client_ip" => (Func::ClientIp, 0),
            "do" => (Func::Do, 0),
            "id" => (Func::Id, 0),
            "name" => (Func::Name, 0),
            "opcode" => (Func::Opcode, 0),
            "port" => (Func::Port, 0),
            "proto" => (Func::Proto, 0),
            "server_ip" => (Func::ServerIp, 0),
            "server_port" => (Func::ServerPort, 0),
            "size" => (Func::Size, 0),
            "type" => (Func::Type, 0),
            "incidr" => (Func::Incidr, 2),
            "metadata" => (Func::Metadata, 1),
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BinOp {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In,
    NotIn,
    Matches,
    Contains,
    StartsWith,
    EndsWith,
    Add,
}

/// A parsed expression.
#[derive(Debug, Clone)]
pub enum Expr {
    /// A literal.
    Lit(LitValue),
    /// A list of expressions.
    List(Vec<Expr>),
    /// A function call.
    Call(FuncRef, Vec<Expr>),
    /// `!e`.
    Not(Box<Expr>),
    /// A binary operation.
    Bin(OpRef, Box<Expr>, Box<Expr>),
    /// `s matches 'literal'`, compiled once.
    MatchesLit(Box<Expr>, Box<Regex>),
}

/// A literal (opaque outside this module).
#[derive(Debug, Clone)]
pub struct LitValue(Value);
/// A function (opaque outside this module).
#[derive(Debug, Clone, Copy)]
pub struct FuncRef(Func);
/// An operator (opaque outside this module).
#[derive(Debug, Clone, Copy)]
pub struct OpRef(BinOp);

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Str(String),
    Int(i64),
    Ident(String),
    Sym(&'static str),
}

fn lex(src: &str) -> Result<Vec<Tok>, String> {
    let b = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c == b'\'' || c == b'"' {
            let mut s = String::new();
            i += 1;
            loop {
                match b.get(i) {
                    None => return Err("unterminated string".into()),
                    Some(&q) if q == c => break,
                    Some(b'\\') => {
                        let next = *b.get(i + 1).ok_or("unterminated string")?;
                        s.push(match next {
                            b'n' => '\n',
                            b't' => '\t',
                            other => other as char,
                        });
                        i += 2;
                        continue;
                    }
                    Some(_) => {
                        // Take one whole UTF-8 character.
                        let ch = src[i..].chars().next().ok_or("bad string")?;
                        s.push(ch);
                        i += ch.len_utf8();
                        continue;
                    }
                }
            }
            i += 1;
            out.push(Tok::Str(s));
        } else if c.is_ascii_digit() {
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            let n = src[start..i]
                .parse()
                .map_err(|_| format!("number too large: {}", &src[start..i]))?;
            out.push(Tok::Int(n));
        } else if c.is_ascii_alphabetic() || c == b'_' {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            out.push(Tok::Ident(src[start..i].to_string()));
        } else {
            let two = src.get(i..i + 2).unwrap_or("");
            let sym = ["==", "!=", "<=", ">=", "&&", "||"]
                .into_iter()
                .find(|s| *s == two);
            if let Some(s) = sym {
                out.push(Tok::Sym(s));
                i += 2;
                continue;
            }
            let one = ["(", ")", "[", "]", ",", "<", ">", "!", "+"]
                .into_iter()
                .find(|s| s.as_bytes()[0] == c)
                .ok_or_else(|| format!("unexpected character '{}'", c as char))?;
            out.push(Tok::Sym(one));
            i += 1;
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<Tok>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.at)
    }

    fn peek_is(&self, t: &Tok) -> bool {
        self.peek() == Some(t)
    }

    fn take(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.at).cloned();
        self.at += 1;
        t
    }

    fn expect(&mut self, sym: &'static str) -> Result<(), String> {
        match self.take() {
            Some(Tok::Sym(s)) if s == sym => Ok(()),
            Some(t) => Err(format!("expected '{sym}', found {}", describe(&t))),
            None => Err(format!("expected '{sym}' at the end")),
        }
    }

    /// The binary operator at the cursor, with its binding power.
    fn binop(&self) -> Option<(BinOp, u8, usize)> {
        let ident = |s: &str| matches!(self.peek(), Some(Tok::Ident(i)) if i == s);
        let op = match self.peek()? {
            Tok::Sym("||") => (BinOp::Or, 1, 1),
            Tok::Sym("&&") => (BinOp::And, 2, 1),
            Tok::Sym("==") => (BinOp::Eq, 3, 1),
            Tok::Sym("!=") => (BinOp::Ne, 3, 1),
            Tok::Sym("<") => (BinOp::Lt, 4, 1),
            Tok::Sym("<=") => (BinOp::Le, 4, 1),
            Tok::Sym(">") => (BinOp::Gt, 4, 1),
            Tok::Sym(">=") => (BinOp::Ge, 4, 1),
            Tok::Sym("+") => (BinOp::Add, 5, 1),
            _ if ident("or") => (BinOp::Or, 1, 1),
            _ if ident("and") => (BinOp::And, 2, 1),
            _ if ident("in") => (BinOp::In, 4, 1),
            _ if ident("matches") => (BinOp::Matches, 4, 1),
            _ if ident("contains") => (BinOp::Contains, 4, 1),
            _ if ident("startsWith") => (BinOp::StartsWith, 4, 1),
            _ if ident("endsWith") => (BinOp::EndsWith, 4, 1),
            _ if ident("not")
                && matches!(self.toks.get(self.at + 1), Some(Tok::Ident(i)) if i == "in") =>
            {
                (BinOp::NotIn, 4, 2)
            }
            _ => return None,
        };
        Some(op)
    }

    fn expr(&mut self, min: u8) -> Result<Expr, String> {
        let mut left = self.unary()?;
        while let Some((op, power, width)) = self.binop() {
            if power < min {
                break;
            }
            self.at += width;
            let right = self.expr(power + 1)?;
            left = match (op, right) {
                (BinOp::Matches, Expr::Lit(LitValue(Value::Str(re)))) => {
                    let re = Regex::new(&re).map_err(|e| format!("bad regular expression: {e}"))?;
                    Expr::MatchesLit(Box::new(left), Box::new(re))
                }
                (op, right) => Expr::Bin(OpRef(op), Box::new(left), Box::new(right)),
            };
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, String> {
        if self.peek_is(&Tok::Sym("!")) || matches!(self.peek(), Some(Tok::Ident(i)) if i == "not")
        {
            self.at += 1;
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr, String> {
        match self.take() {
            Some(Tok::Str(s)) => Ok(Expr::Lit(LitValue(Value::Str(s)))),
            Some(Tok::Int(n)) => Ok(Expr::Lit(LitValue(Value::Int(n)))),
            Some(Tok::Sym("(")) => {
                let e = self.expr(0)?;
                self.expect(")")?;
                Ok(e)
            }
            Some(Tok::Sym("[")) => {
                let mut items = Vec::new();
                if !self.peek_is(&Tok::Sym("]")) {
                    loop {
                        items.push(self.expr(0)?);
                        if self.peek_is(&Tok::Sym(",")) {
                            self.at += 1;
                            continue;
                        }
                        break;
                    }
                }
                self.expect("]")?;
                Ok(Expr::List(items))
            }
            Some(Tok::Ident(id)) if id == "true" || id == "false" => {
                Ok(Expr::Lit(LitValue(Value::Bool(id == "true"))))
            }
            Some(Tok::Ident(id)) => {
                let (func, arity) =
                    Func::by_name(&id).ok_or_else(|| format!("unknown name '{id}'"))?;
                self.expect("(")?;
                let mut args = Vec::new();
                if !self.peek_is(&Tok::Sym(")")) {
                    loop {
                        args.push(self.expr(0)?);
                        if self.peek_is(&Tok::Sym(",")) {
                            self.at += 1;
                            continue;
                        }
                        break;
                    }
                }
                self.expect(")")?;
                if args.len() != arity {
                    return Err(format!(
                        "{id}() takes {arity} argument{}, got {}",
                        if arity == 1 { "" } else { "s" },
                        args.len()
                    ));
                }
                Ok(Expr::Call(FuncRef(func), args))
            }
            Some(t) => Err(format!("unexpected {}", describe(&t))),
            None => Err("unexpected end of expression".into()),
        }
    }
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::Str(s) => format!("string '{s}'"),
        Tok::Int(n) => format!("number {n}"),
        Tok::Ident(i) => format!("'{i}'"),
        Tok::Sym(s) => format!("'{s}'"),
    }
}

impl Expr {
    /// Parses an expression.
    pub fn parse(src: &str) -> Result<Expr, String> {
        let mut p = Parser {
            toks: lex(src)?,
            at: 0,
        };
        if p.toks.is_empty() {
            return Err("empty expression".into());
        }
        let e = p.expr(0)?;
        match p.peek() {
            None => Ok(e),
            Some(t) => Err(format!("unexpected {} after the expression", describe(t))),
        }
    }

    /// Does the expression call `metadata()`? Only then is metadata
    /// collected to evaluate it.
    pub fn uses_metadata(&self) -> bool {
        match self {
            Expr::Lit(_) => false,
            Expr::Call(FuncRef(f), args) => {
                *f == Func::Metadata || args.iter().any(Expr::uses_metadata)
            }
            Expr::List(items) => items.iter().any(Expr::uses_metadata),
            Expr::Not(e) | Expr::MatchesLit(e, _) => e.uses_metadata(),
            Expr::Bin(_, l, r) => l.uses_metadata() || r.uses_metadata(),
        }
    }

    /// Evaluates to a boolean; anything else (or a type error) is false.
    pub fn holds(&self, q: &dyn QueryFacts) -> bool {
        self.eval(q).is_some_and(|v| v.truthy())
    }

    fn eval(&self, q: &dyn QueryFacts) -> Option<Value> {
        Some(match self {
            Expr::Lit(LitValue(v)) => v.clone(),
            Expr::List(items) => {
                Value::List(items.iter().map(|e| e.eval(q)).collect::<Option<_>>()?)
            }
            Expr::Not(e) => Value::Bool(!e.eval(q)?.truthy()),
            Expr::Call(FuncRef(f), args) => call(*f, args, q)?,
            Expr::MatchesLit(e, re) => match e.eval(q)? {
                Value::Str(s) => Value::Bool(re.is_match(&s)),
                _ => return None,
            },
            Expr::Bin(OpRef(op), l, r) => {
                // Short-circuit the logical operators.
                match op {
                    BinOp::And => return Some(Value::Bool(l.holds(q) && r.holds(q))),
                    BinOp::Or => return Some(Value::Bool(l.holds(q) || r.holds(q))),
                    _ => {}
                }
                binary(*op, l.eval(q)?, r.eval(q)?)?
            }
        })
    }
}

fn binary(op: BinOp, l: Value, r: Value) -> Option<Value> {
    use Value::*;
    Some(match (op, l, r) {
        (BinOp::Eq, a, b) => Bool(a.equals(&b)),
        (BinOp::Ne, a, b) => Bool(!a.equals(&b)),
        (BinOp::Lt, Int(a), Int(b)) => Bool(a < b),
        (BinOp::Le, Int(a), Int(b)) => Bool(a <= b),
        (BinOp::Gt, Int(a), Int(b)) => Bool(a > b),
        (BinOp::Ge, Int(a), Int(b)) => Bool(a >= b),
        (BinOp::Lt, Str(a), Str(b)) => Bool(a < b),
        (BinOp::Le, Str(a), Str(b)) => Bool(a <= b),
        (BinOp::Gt, Str(a), Str(b)) => Bool(a > b),
        (BinOp::Ge, Str(a), Str(b)) => Bool(a >= b),
        (BinOp::In, a, List(items)) => Bool(items.iter().any(|i| i.equals(&a))),
        (BinOp::NotIn, a, List(items)) => Bool(!items.iter().any(|i| i.equals(&a))),
        (BinOp::Matches, Str(s), Str(re)) => Bool(Regex::new(&re).ok()?.is_match(&s)),
        (BinOp::Contains, Str(s), Str(sub)) => Bool(s.contains(&sub)),
        (BinOp::StartsWith, Str(s), Str(p)) => Bool(s.starts_with(&p)),
        (BinOp::EndsWith, Str(s), Str(p)) => Bool(s.ends_with(&p)),
        (BinOp::Add, Str(a), Str(b)) => Str(a + &b),
        (BinOp::Add, Int(a), Int(b)) => Int(a.checked_add(b)?),
        _ => return None,
    })
}

fn call(f: Func, args: &[Expr], q: &dyn QueryFacts) -> Option<Value> {
    use Value::*;
    Some(match f {
        Func::Bufsize => Int(i64::from(q.bufsize())),
        Func::Class => Str(class_name(q.qclass())),
        Func::ClientIp => Str(q.client_ip().to_string()),
        Func::Do => Bool(q.do_bit()),
        Func::Id => Int(i64::from(q.id())),
        Func::Name => Str(q.qname()),
        Func::Opcode => Int(i64::from(q.opcode())),
        Func::Port => Str(q.client_port().to_string()),
        Func::Proto => Str(q.proto().to_string()),
        Func::ServerIp => Str(q.server_ip().to_string()),
        Func::ServerPort => Str(q.server_port().to_string()),
        Func::Size => Int(q.size() as i64),
        Func::Type => Str(type_name(q.qtype())),
        Func::Incidr => {
            let (Str(ip), Str(net)) = (args[0].eval(q)?, args[1].eval(q)?) else {
                return None;
            };
            Bool(in_cidr(ip.parse().ok()?, &net)?)
        }
        // An unset label reads as the empty string, as in CoreDNS.
        Func::Metadata => {
            let Str(label) = args[0].eval(q)? else {
                return None;
            };
            Str(q.metadata(&label).unwrap_or_default().to_string())
        }
    })
}

fn type_name(t: u16) -> String {
    crate::dns::RecordType::from(t).to_string()
}

fn class_name(c: u16) -> String {
    match c {
        1 => "IN".into(),
        3 => "CH".into(),
        4 => "HS".into(),
        254 => "NONE".into(),
        255 => "ANY".into(),
        other => format!("CLASS{other}"),
    }
}

/// Is `ip` inside `cidr` (`10.0.0.0/8`, `2001:db8::/32`, or one address)?
fn in_cidr(ip: IpAddr, cidr: &str) -> Option<bool> {
    let (net, bits) = match cidr.split_once('/') {
        Some((n, b)) => (n.parse::<IpAddr>().ok()?, b.parse::<u32>().ok()?),
        None => {
            let n: IpAddr = cidr.parse().ok()?;
            (n, if n.is_ipv4() { 32 } else { 128 })
        }
    };
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    Some(match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) if bits <= 32 => {
            let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) if bits <= 128 => {
            let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
            u128::from(a) & mask == u128::from(n) & mask
        }
        (IpAddr::V4(_), IpAddr::V6(_)) | (IpAddr::V6(_), IpAddr::V4(_)) => false,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Facts;

    impl QueryFacts for Facts {
        fn client_ip(&self) -> IpAddr {
            "10.0.0.7".parse().unwrap()
        }
        fn client_port(&self) -> u16 {
            40000
        }
        fn server_ip(&self) -> IpAddr {
            "127.0.0.1".parse().unwrap()
        }
        fn server_port(&self) -> u16 {
            53
        }
        fn qname(&self) -> String {
            "www.example.org.".into()
        }
        fn qtype(&self) -> u16 {
            28
        }
        fn qclass(&self) -> u16 {
            1
        }
        fn do_bit(&self) -> bool {
            true
        }
        fn id(&self) -> u16 {
            7
        }
        fn opcode(&self) -> u8 {
            0
        }
        fn proto(&self) -> &'static str {
            "udp"
        }
        fn size(&self) -> usize {
            40
        }
        fn bufsize(&self) -> u16 {
            1232
        }
    }

    fn holds(src: &str) -> bool {
        Expr::parse(src)
            .unwrap_or_else(|e| panic!("{src}: {e}"))
            .holds(&Facts)
    }

    #[test]
    fn evaluates_what_view_filters_say() {
        for (src, want) in [
            ("incidr(client_ip(), '10.0.0.0/24')", true),
            ("incidr(client_ip(), '10.0.1.0/24')", false),
            ("incidr(client_ip(), \"10.0.0.7\")", true),
            ("type() == 'AAAA'", true),
            ("type() in ['A', 'AAAA']", true),
            ("type() not in ['A', 'AAAA']", false),
            ("name() matches '^www[.]'", true),
            ("name() endsWith 'example.org.' && class() == 'IN'", true),
            ("name() startsWith 'mail' or do()", true),
            ("!do()", false),
            ("not (proto() == 'tcp')", true),
            ("port() == '40000' and server_port() == 53", true),
            (
                "size() < 100 && bufsize() >= 1232 && id() == 7 && opcode() == 0",
                true,
            ),
            ("server_ip() + ':' + server_port() == '127.0.0.1:53'", true),
            ("metadata('geoip/city/name') == ''", true),
            ("name() contains 'example'", true),
            ("name()", false),
            ("incidr(client_ip(), 'fd00::/8')", false),
        ] {
            assert_eq!(holds(src), want, "{src}");
        }
    }

    #[test]
    fn knows_whether_it_reads_metadata() {
        for (src, want) in [
            ("metadata('view/name') == 'a'", true),
            ("type() == 'A' || !(metadata('a/b') in ['x'])", true),
            ("incidr(metadata('geoip/ip'), '10.0.0.0/8')", true),
            ("[metadata('a/b')] == []", true),
            ("type() == 'A' && name() matches 'x'", false),
        ] {
            let e = Expr::parse(src).unwrap();
            assert_eq!(e.uses_metadata(), want, "{src}");
        }
    }

    #[test]
    fn reports_mistakes_when_parsed() {
        for (src, msg) in [
            ("nme() == 'x'", "unknown name 'nme'"),
            ("incidr(client_ip())", "incidr() takes 2 arguments, got 1"),
            ("type() == 'A", "unterminated string"),
            ("type() ==", "unexpected end of expression"),
            ("(type() == 'A'", "expected ')' at the end"),
            (
                "type() == 'A' 'B'",
                "unexpected string 'B' after the expression",
            ),
            ("name() matches '('", "bad regular expression"),
            ("", "empty expression"),
            ("type() = 'A'", "unexpected character '='"),
        ] {
            let e = Expr::parse(src).expect_err(src);
            assert!(e.contains(msg), "{src}: {e}");
        }
    }
}
