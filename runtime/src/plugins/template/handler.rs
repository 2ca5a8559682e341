use super::metrics::{Query, TemplateMetrics};
use super::names;
use super::rr;
use super::setup::{ANY, RrTemplate, SERVFAIL, TemplateConfig, TemplateSpec};
use super::tmpl::{Data, MessageData, QuestionData};
use crate::dns::{Edns, Message, Name, RData, Record, RecordType, ResponseCode};
use crate::plugin::{Answer, Handler, Outcome, Plugin, PluginError, Request, Setup};
use crate::site::BuildEnv;
use crate::upstream::Upstream;
use corec_compiler::Diagnostic;
use hickory_proto::rr::rdata::opt::EdnsOption;
use std::collections::BTreeMap;

/// EDNS option code of an Extended DNS Error (RFC 8914).
const EDE_OPTION: u16 = 15;

/// The template plugin: every `template` of a block, tried in order.
#[derive(Debug)]
pub struct Template {
    templates: Vec<TemplateSpec>,
    upstream: Upstream,
    metrics: TemplateMetrics,
}

impl Plugin for Template {
    const NAME: &'static str = "template";

    async fn serve<'a, N: Handler>(&'a self, req: &'a mut Request, next: &'a N) -> Outcome {
        match self.answer(req)? {
            Some(Answer::Reply(mut r)) => {
                // An A or AAAA answered with a CNAME: its target is resolved
                // through the server and appended, as CoreDNS does.
                let qtype = req.qtype();
                if matches!(qtype, RecordType::A | RecordType::AAAA)
                    && let Some(RData::CNAME(target)) = r.message.answers.last().map(|a| &a.data)
                    && let Some(m) = self.upstream.lookup(req, target.0.clone(), qtype).await
                {
                    r.message.answers.extend(m.answers);
                }
                Ok(Answer::Reply(r))
            }
            Some(answer) => Ok(answer),
            None => next.handle(req).await,
        }
    }
}

impl Setup for Template {
    type Config = TemplateConfig;

    fn build(cfg: TemplateConfig, env: &mut BuildEnv<'_>) -> Result<Self, Diagnostic> {
        // Templates for other classes (CH, ANY, ...) need such queries let in.
        if cfg.templates.iter().any(|t| t.class != 1) {
            env.config.allow_non_in = true;
        }
        let labels = crate::metrics::BlockLabels::of(env);
        Ok(Template {
            metrics: TemplateMetrics::new(labels, &cfg.templates),
            templates: cfg.templates,
            upstream: env.upstream(),
        })
    }
}

impl Template {
    /// The reply of the first template that takes the query; `None` to go on.
    fn answer(&self, req: &Request) -> Result<Option<Answer>, PluginError> {
        let name = presentation(req.qname(), true);
        let qclass = u16::from(req.qclass());
        let qtype = u16::from(req.qtype());
        for (spec, t) in self.templates.iter().enumerate() {
            let Some(zone_at) = longest_zone(&name, &t.zones) else {
                continue;
            };
            let zone = t.zones[zone_at].as_str();
            if t.class != ANY && qclass != ANY && qclass != t.class {
                continue;
            }
            if t.qtype != ANY && qtype != ANY && qtype != t.qtype {
                continue;
            }
            let Some((regex, caps)) = t
                .regexes
                .iter()
                .find_map(|r| r.captures(&name).map(|c| (r, c)))
            else {
                if t.fallthrough
                    .as_deref()
                    .is_some_and(|zones| longest_zone(&name, zones).is_some())
                {
                    continue;
                }
                return Ok(Some(Answer::Rcode(ResponseCode::ServFail)));
            };
            let class = if qclass == ANY { t.class } else { qclass };
            let qtype = if qtype == ANY { t.qtype } else { qtype };
            // As CoreDNS spells them for the data and the metrics labels: ""
            // for a class or type without a name.
            let class_name = names::known_class_name(class).unwrap_or("");
            let type_name = names::known_type_name(qtype).unwrap_or("");
            let counted = Query {
                server: &req.server,
                zone: zone_at,
                class: (class, class_name),
                qtype: (qtype, type_name),
            };
            self.metrics.matched(spec, &counted);
            if t.rcode == SERVFAIL {
                return Ok(Some(Answer::Rcode(ResponseCode::ServFail)));
            }
            let mut matches = Vec::with_capacity(caps.len());
            let mut groups = BTreeMap::new();
            for (i, group) in regex.capture_names().enumerate() {
                let m = caps.get(i).map_or("", |m| m.as_str()).to_string();
                groups.insert(i.to_string(), m.clone());
                if let Some(g) = group {
                    groups.insert(g.to_string(), m.clone());
                }
                matches.push(m);
            }
            let data = Data {
                zone: zone.to_string(),
                name: name.clone(),
                regex: regex.as_str().to_string(),
                matches,
                groups,
                class: class_name.to_string(),
                qtype: type_name.to_string(),
                remote: req.client.ip().to_string(),
                message: message_data(&req.message),
                question: req.message.queries.first().map(|q| QuestionData {
                    name: presentation(q.name(), false),
                    qtype: u16::from(q.query_type()),
                    qclass: u16::from(q.query_class()),
                }),
                meta: req.meta.clone().unwrap_or_default(),
            };
            let mut m = req.reply();
            m.metadata.authoritative = true;
            m.metadata.response_code = <ResponseCode as From<u16>>::from(t.rcode);
            let failed = |rr: usize, bad_record: bool| {
                self.metrics.failed(spec, rr, bad_record, &counted);
            };
            let (answers, additionals) = (t.answer.len(), t.additional.len());
            m.answers = records(&t.answer, "answer", &data, failed)?;
            m.additionals = records(&t.additional, "additional", &data, |i, bad| {
                failed(answers + i, bad);
            })?;
            m.authorities = records(&t.authority, "authority", &data, |i, bad| {
                failed(answers + additionals + i, bad);
            })?;
            if let Some((code, reason)) = &t.ederror
                && req.edns().is_some()
            {
                let mut payload = code.to_be_bytes().to_vec();
                payload.extend_from_slice(reason.as_bytes());
                let mut edns = Edns::new();
                edns.options_mut()
                    .insert(EdnsOption::Unknown(EDE_OPTION, payload));
                m.edns = Some(edns);
            }
            return Ok(Some(Answer::reply(Self::NAME, m)));
        }
        Ok(None)
    }
}

/// Renders and reads the records of one section; `failed` hears of the
/// number of a template that fails, and whether its output was no record.
fn records(
    rrs: &[RrTemplate],
    section: &str,
    data: &Data,
    failed: impl Fn(usize, bool),
) -> Result<Vec<Record>, PluginError> {
    let mut out = Vec::with_capacity(rrs.len());
    for (i, t) in rrs.iter().enumerate() {
        let text = t.render(data).map_err(|e| {
            failed(i, false);
            PluginError::servfail(
                Template::NAME,
                format!("{section} template {:?} failed: {}", t.text, e.message),
            )
        })?;
        match rr::parse(&text) {
            Ok(Some(record)) => out.push(record),
            // A template that renders no record adds none.
            Ok(None) => {}
            Err(e) => {
                failed(i, true);
                return Err(PluginError::servfail(
                    Template::NAME,
                    format!("{section} record {text:?} is invalid: {e}"),
                ));
            }
        }
    }
    Ok(out)
}

/// The query as `.Message` shows it.
fn message_data(m: &Message) -> MessageData {
    let h = &m.metadata;
    MessageData {
        id: h.id,
        response: h.message_type == crate::dns::MessageType::Response,
        opcode: u8::from(h.op_code),
        authoritative: h.authoritative,
        truncated: h.truncation,
        recursion_desired: h.recursion_desired,
        recursion_available: h.recursion_available,
        authenticated_data: h.authentic_data,
        checking_disabled: h.checking_disabled,
        rcode: u16::from(h.response_code),
        questions: m
            .queries
            .iter()
            .map(|q| QuestionData {
                name: presentation(q.name(), false),
                qtype: u16::from(q.query_type()),
                qclass: u16::from(q.query_class()),
            })
            .collect(),
        counts: [
            m.answers.len(),
            m.authorities.len(),
            m.additionals.len() + usize::from(m.edns.is_some()),
        ],
        edns: m
            .edns
            .as_ref()
            .map(|e| (e.version(), e.flags().dnssec_ok, e.max_payload())),
    }
}

/// A name in presentation form as CoreDNS prints it: a trailing dot,
/// `\X` before the characters special in zone files, `\DDD` (decimal) for
/// unprintable bytes; lowercased with `lower`.
pub(crate) fn presentation(name: &Name, lower: bool) -> String {
    let mut out = String::new();
    for label in name.iter() {
        for &b in label {
            let b = if lower { b.to_ascii_lowercase() } else { b };
            match b {
                b'.' | b' ' | b'\'' | b'@' | b';' | b'(' | b')' | b'"' | b'\\' => {
                    out.push('\\');
                    out.push(char::from(b));
                }
                0x21..=0x7e => out.push(char::from(b)),
                _ => out.push_str(&format!("\\{b:03}")),
            }
        }
        out.push('.');
    }
    if out.is_empty() {
        out.push('.');
    }
    out
}

/// The position of the longest of `zones` that `name` is in (both
/// lowercased FQDNs).
fn longest_zone(name: &str, zones: &[String]) -> Option<usize> {
    zones
        .iter()
        .enumerate()
        .filter(|(_, z)| in_zone(name, z))
        .max_by_key(|(_, z)| z.len())
        .map(|(i, _)| i)
}

/// Is `name` at or below `zone`?
fn in_zone(name: &str, zone: &str) -> bool {
    if zone == "." || name == zone {
        return true;
    }
    name.len() > zone.len()
        && name.ends_with(zone)
        && name.as_bytes()[name.len() - zone.len() - 1] == b'.'
}
