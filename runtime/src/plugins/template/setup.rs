//! Syntax of `template` (every occurrence in a block, in order):
//!
//! ```text
//! template CLASS TYPE [ZONE...] {
//!     match REGEX...
//!     answer RR...
//!     additional RR...
//!     authority RR...
//!     rcode CODE
//!     ederror CODE [REASON]
//!     fallthrough [ZONE...]
//! }
//! ```
//!
//! Regexes and record templates are compiled here, and each record template
//! is rendered for a sample query to check that it can make a record.

use super::names;
use super::rr;
use super::tmpl::{self, Data, MessageData, QuestionData};
use crate::plugin::Parse;
use corec_compiler::diag::did_you_mean;
use corec_compiler::{Diagnostic, Diagnostics, Dispenser, Span, Token};
use regex::Regex;
use std::collections::BTreeMap;
use std::ops::Range;

/// The longest regex accepted, in bytes (as CoreDNS).
pub const MAX_REGEX_LEN: usize = 10_000;

/// Class and type code meaning "any".
pub const ANY: u16 = 255;

/// The response code SERVFAIL.
pub const SERVFAIL: u16 = 2;

/// The block's keywords.
const PROPERTIES: [&str; 8] = [
    "match",
    "answer",
    "additional",
    "authority",
    "rcode",
    "ederror",
    "fallthrough",
    "upstream",
];

/// Configuration of every `template` of a block, in Corefile order.
#[derive(Debug, Clone)]
pub struct TemplateConfig {
    /// The templates, tried in this order.
    pub templates: Vec<TemplateSpec>,
}

/// One `template` directive.
#[derive(Debug, Clone)]
pub struct TemplateSpec {
    /// Query class served; [`ANY`] for all.
    pub class: u16,
    /// Query type served; [`ANY`] for all.
    pub qtype: u16,
    /// Zones served (lowercased FQDNs); the block's zones by default.
    pub zones: Vec<String>,
    /// Regexes tried on the lowercased query name; the first match wins.
    pub regexes: Vec<Regex>,
    /// Records of the answer section.
    pub answer: Vec<RrTemplate>,
    /// Records of the additional section.
    pub additional: Vec<RrTemplate>,
    /// Records of the authority section.
    pub authority: Vec<RrTemplate>,
    /// The reply's response code.
    pub rcode: u16,
    /// Extended DNS error (RFC 8914) code and extra text added to replies.
    pub ederror: Option<(u16, String)>,
    /// Zones whose unmatched names go on (`None` without `fallthrough`,
    /// `["."]` for a bare one).
    pub fallthrough: Option<Vec<String>>,
}

/// One record template as written, parsed.
#[derive(Debug, Clone)]
pub struct RrTemplate {
    /// The template text.
    pub text: String,
    /// Where it is in the Corefile.
    pub span: Span,
    pub(crate) template: tmpl::Template,
}

impl RrTemplate {
    /// Renders the template for a query; `Ok("")` may hold no record.
    pub(crate) fn render(&self, data: &Data) -> Result<String, tmpl::TmplError> {
        self.template.execute(data)
    }
}

impl Parse for TemplateConfig {
    fn parse(d: &mut Dispenser<'_>) -> Result<Self, Diagnostics> {
        let mut templates = Vec::new();
        while d.next() {
            templates.push(parse_one(d)?);
        }
        Ok(TemplateConfig { templates })
    }
}

fn parse_one(d: &mut Dispenser<'_>) -> Result<TemplateSpec, Diagnostic> {
    let class_tok = d.arg()?;
    let class = names::class_code(&class_tok.text).ok_or_else(|| {
        uppercase_hint(
            d.err_at(class_tok, format!("invalid query class {}", class_tok.text)),
            &class_tok.text,
            names::class_code,
        )
    })?;
    let type_tok = d.arg()?;
    let qtype = names::type_code(&type_tok.text).ok_or_else(|| {
        uppercase_hint(
            d.err_at(type_tok, format!("invalid RR type {}", type_tok.text)),
            &type_tok.text,
            names::type_code,
        )
    })?;
    let zone_args = d.remaining_args();
    let mut spec = TemplateSpec {
        class,
        qtype,
        zones: d.origins(&zone_args),
        regexes: Vec::new(),
        answer: Vec::new(),
        additional: Vec::new(),
        authority: Vec::new(),
        rcode: 0,
        ederror: None,
        fallthrough: None,
    };
    let mut regex_tokens: Vec<&Token> = Vec::new();
    while d.next_block() {
        match d.val() {
            "match" => {
                let args = d.remaining_args();
                if args.is_empty() {
                    return Err(d.arg_err());
                }
                for tok in args {
                    spec.regexes.push(compile_regex(d, tok)?);
                    regex_tokens.push(tok);
                }
            }
            section @ ("answer" | "additional" | "authority") => {
                let args = d.remaining_args();
                if args.is_empty() {
                    return Err(d.arg_err());
                }
                for tok in args {
                    let template = tmpl::Template::parse(&tok.text).map_err(|e| {
                        d.err_at(tok, format!("could not compile template: {}", e.message))
                            .with_span(sub_span(tok, e.pos))
                    })?;
                    let rr = RrTemplate {
                        text: tok.text.clone(),
                        span: tok.span,
                        template,
                    };
                    match section {
                        "answer" => spec.answer.push(rr),
                        "additional" => spec.additional.push(rr),
                        _ => spec.authority.push(rr),
                    }
                }
            }
            "rcode" => {
                let tok = d.arg()?;
                spec.rcode = names::RCODES
                    .iter()
                    .find(|(n, _)| *n == tok.text)
                    .map(|(_, c)| *c)
                    .ok_or_else(|| {
                        let known: Vec<&str> = names::RCODES.iter().map(|(n, _)| *n).collect();
                        with_suggestion(
                            d.err_at(tok, format!("unknown rcode {}", tok.text)),
                            &tok.text.to_ascii_uppercase(),
                            &known,
                        )
                    })?;
                d.end_of_line()?;
            }
            "ederror" => {
                let args = d.remaining_args();
                if args.is_empty() || args.len() > 2 {
                    return Err(match args.get(2) {
                        Some(extra) => {
                            d.err_at(extra, "ederror takes a code and an optional reason")
                        }
                        None => d.arg_err(),
                    });
                }
                let code = args[0].text.parse::<u16>().map_err(|_| {
                    d.err_at(
                        args[0],
                        format!("error parsing extended DNS error code {}", args[0].text),
                    )
                })?;
                let reason = args.get(1).map_or_else(String::new, |t| t.text.clone());
                spec.ederror = Some((code, reason));
            }
            "fallthrough" => {
                let zones = d.remaining_args();
                spec.fallthrough = Some(if zones.is_empty() {
                    vec![".".to_string()]
                } else {
                    d.origins(&zones)
                });
            }
            // Accepted and ignored by CoreDNS since it always resolves CNAMEs itself.
            "upstream" => {
                d.remaining_args();
            }
            word @ ("var" | "expr") => {
                return Err(d
                    .err(format!(
                        "'{word}' (expr-lang expressions) is not supported by corec"
                    ))
                    .with_note("match names with `match REGEX` and branch with {{ if }} in the record templates"));
            }
            _ => return Err(d.unknown_property(&PROPERTIES)),
        }
    }
    if spec.regexes.is_empty() {
        spec.regexes.push(Regex::new(".*").expect("a valid regex"));
    }
    for (section, rrs) in [
        ("answer", &spec.answer),
        ("additional", &spec.additional),
        ("authority", &spec.authority),
    ] {
        for rr in rrs {
            check_renders(&spec, section, rr, d)?;
        }
    }
    Ok(spec)
}

fn compile_regex(d: &Dispenser<'_>, tok: &Token) -> Result<Regex, Diagnostic> {
    if tok.text.len() > MAX_REGEX_LEN {
        return Err(d.err_at(
            tok,
            format!(
                "regex pattern too long: {} > {MAX_REGEX_LEN}",
                tok.text.len()
            ),
        ));
    }
    Regex::new(&tok.text).map_err(|e| {
        let why = match e {
            regex::Error::Syntax(s) => s.lines().last().unwrap_or_default().to_string(),
            other => other.to_string(),
        };
        d.err_at(tok, format!("could not parse regex: {}, {why}", tok.text))
    })
}

/// Suggests the uppercase spelling of a mnemonic written in lowercase.
fn uppercase_hint(d: Diagnostic, word: &str, known: fn(&str) -> Option<u16>) -> Diagnostic {
    let upper = word.to_ascii_uppercase();
    if upper != word && known(&upper).is_some() {
        d.with_label(format!("did you mean '{upper}'?"))
    } else {
        d
    }
}

fn with_suggestion(d: Diagnostic, word: &str, known: &[&str]) -> Diagnostic {
    match did_you_mean(word, known.iter().copied()) {
        Some(s) => d.with_label(format!("did you mean '{s}'?")),
        None => d,
    }
}

/// Where byte range `r` of a token's text is in the source: exact for bare
/// tokens and for quoted ones whose only escapes are `\"`; the whole token
/// otherwise (an environment variable changed the text).
fn sub_span(tok: &Token, r: Range<usize>) -> Span {
    let span = tok.span;
    let text = &tok.text;
    let len = span.end - span.start;
    let quotes = text.matches('"').count();
    let offset = |o: usize| -> usize {
        if len == text.len() {
            span.start + o
        } else {
            span.start + 1 + o + text[..o.min(text.len())].matches('"').count()
        }
    };
    if len != text.len() && len != text.len() + 2 + quotes {
        return span;
    }
    let start = offset(r.start.min(text.len()));
    let end = offset(r.end.min(text.len())).max(start + 1).min(span.end);
    Span {
        file: span.file,
        start: start.min(span.end.saturating_sub(1)),
        end,
    }
}

trait WithSpan {
    fn with_span(self, span: Span) -> Self;
}

impl WithSpan for Diagnostic {
    fn with_span(mut self, span: Span) -> Self {
        self.span = Some(span);
        self
    }
}

/// The data of a made-up query from `remote` that `regex` matched, every
/// capture group holding `fill`.
fn sample_data(spec: &TemplateSpec, regex: &Regex, fill: &str, remote: &str) -> Data {
    let zone = spec.zones.first().cloned().unwrap_or_else(|| ".".into());
    let name = if zone == "." {
        "example.".to_string()
    } else {
        zone.clone()
    };
    let qclass = if spec.class == ANY { 1 } else { spec.class };
    let qtype = if spec.qtype == ANY { 1 } else { spec.qtype };
    let mut matches = vec![name.clone()];
    let mut groups = BTreeMap::from([("0".to_string(), name.clone())]);
    for (i, group) in regex.capture_names().enumerate().skip(1) {
        matches.push(fill.to_string());
        groups.insert(i.to_string(), fill.to_string());
        if let Some(g) = group {
            groups.insert(g.to_string(), fill.to_string());
        }
    }
    let question = QuestionData {
        name: name.clone(),
        qtype,
        qclass,
    };
    Data {
        zone,
        name,
        regex: regex.as_str().to_string(),
        matches,
        groups,
        class: names::class_name(qclass),
        qtype: names::type_name(qtype),
        remote: remote.into(),
        message: MessageData {
            recursion_desired: true,
            questions: vec![question.clone()],
            ..MessageData::default()
        },
        question: Some(question),
        meta: Default::default(),
    }
}

/// Errors unless `rr` renders a record (or nothing) for some sample query:
/// with each regex, groups holding a digit, a letter or nothing, from an
/// IPv4 or an IPv6 client.
fn check_renders(
    spec: &TemplateSpec,
    section: &str,
    rr: &RrTemplate,
    d: &Dispenser<'_>,
) -> Result<(), Diagnostic> {
    let mut first: Option<Diagnostic> = None;
    for regex in &spec.regexes {
        for (fill, remote) in [("1", "127.0.0.1"), ("a", "::1"), ("", "127.0.0.1")] {
            let data = sample_data(spec, regex, fill, remote);
            let problem = match rr.render(&data) {
                Ok(text) => match rr::parse(&text) {
                    Ok(_) => return Ok(()),
                    Err(e) => Diagnostic::error(
                        format!(
                            "plugin/{}: {section} template does not make a valid record: {e}",
                            d.plugin()
                        ),
                        Some(rr.span),
                    )
                    .with_note(format!(
                        "for a sample query for {} it renders {text:?}",
                        data.name
                    )),
                },
                Err(e) => Diagnostic::error(
                    format!(
                        "plugin/{}: {section} template fails: {}",
                        d.plugin(),
                        e.message
                    ),
                    None,
                )
                .with_span(sub_span_of(rr, e.pos))
                .with_note(format!("for a sample query for {}", data.name)),
            };
            first.get_or_insert(problem);
        }
    }
    Err(first.expect("at least one regex was tried"))
}

fn sub_span_of(rr: &RrTemplate, r: Range<usize>) -> Span {
    let tok = Token {
        text: rr.text.clone(),
        span: rr.span,
        line: 0,
        breaks: 0,
    };
    sub_span(&tok, r)
}
