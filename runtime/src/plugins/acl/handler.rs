use super::metrics::AclMetrics;
use super::setup::{AclConfig, Action, Policy};
use crate::dns::{BinEncodable, Edns, Message, Name, ResponseCode};
use crate::metrics::BlockLabels;
use crate::plugin::{Answer, Handler, Outcome, Plugin, Request, Setup};
use crate::site::BuildEnv;
use crate::wire::{WireQuery, in_zone};
use corec_compiler::Diagnostic;
use hickory_proto::rr::rdata::opt::EdnsOption;
use std::net::IpAddr;

/// The EDNS option code of an extended DNS error (RFC 8914).
const EDE_OPTION: u16 = 15;
/// Extended error "Blocked".
const EDE_BLOCKED: u16 = 15;
/// Extended error "Filtered".
const EDE_FILTERED: u16 = 17;

/// One `acl` directive, ready to match.
#[derive(Debug)]
struct Rule {
    /// Its zones, as text (the metrics label) and as lowercase wire names.
    zones: Vec<(String, Box<[u8]>)>,
    /// The number of its first zone among all rules' zones (for metrics).
    first_zone: usize,
    policies: Vec<Policy>,
}

/// The `acl` plugin: every `acl` directive of a block.
#[derive(Debug)]
pub struct Acl {
    rules: Vec<Rule>,
    metrics: AclMetrics,
}

/// What happens to a query that is not let through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Refusal {
    action: Action,
    /// The number of the zone of the rule that decided (CoreDNS's `zone`
    /// metric label), among all rules' zones.
    zone: usize,
}

impl Acl {
    /// The rule that stops a query for the lowercase wire name `lname` of
    /// type `qtype` from `ip`, if one does. Both lanes decide here, so they
    /// agree.
    fn decide(&self, lname: &[u8], qtype: u16, ip: IpAddr) -> Option<Refusal> {
        let ip = ip.to_canonical();
        for rule in &self.rules {
            // The longest zone of the rule that holds the name.
            let Some((zone, _)) = rule
                .zones
                .iter()
                .enumerate()
                .filter(|(_, (_, wire))| in_zone(lname, wire))
                .max_by_key(|(_, (text, _))| text.len())
            else {
                continue;
            };
            match rule.policies.iter().find(|p| p.matches(qtype, ip)) {
                None => continue,
                Some(p) if p.action == Action::Allow => return None,
                Some(p) => {
                    return Some(Refusal {
                        action: p.action,
                        zone: rule.first_zone + zone,
                    });
                }
            }
        }
        None
    }
}

/// An empty reply with `rcode` and the extended error `ede` (kept only if
/// the query had EDNS; the server mirrors the OPT).
fn refusal(req: &Request, rcode: ResponseCode, ede: u16) -> Message {
    let mut m = req.reply();
    m.metadata.response_code = rcode;
    let mut edns = Edns::new();
    edns.set_max_payload(4096);
    edns.options_mut()
        .insert(EdnsOption::Unknown(EDE_OPTION, ede.to_be_bytes().to_vec()));
    m.edns = Some(edns);
    m
}

impl Plugin for Acl {
    const NAME: &'static str = "acl";

    async fn serve<'a, N: Handler>(&'a self, req: &'a mut Request, next: &'a N) -> Outcome {
        let lname = req.qname().to_lowercase().to_bytes().unwrap_or_default();
        let Some(refusal_of) = self.decide(&lname, req.qtype().into(), req.client.ip()) else {
            self.metrics.allowed(&req.server);
            return next.handle(req).await;
        };
        self.metrics
            .refused(&req.server, refusal_of.zone, refusal_of.action);
        Ok(match refusal_of.action {
            Action::Block => {
                Answer::reply(Self::NAME, refusal(req, ResponseCode::Refused, EDE_BLOCKED))
            }
            Action::Filter => Answer::reply(
                Self::NAME,
                refusal(req, ResponseCode::NoError, EDE_FILTERED),
            ),
            Action::Drop => Answer::Drop,
            // `decide` never refuses with Allow.
            Action::Allow => return next.handle(req).await,
        })
    }

    fn serve_wire<N: Handler>(&self, q: &WireQuery<'_>, out: &mut Vec<u8>, next: &N) -> bool {
        // Refusals take the full path, which writes and counts them; a
        // query let through counts once, in the lane that answers it.
        if self.decide(q.lname(), q.qtype, q.client.ip()).is_some() || !next.handle_wire(q, out) {
            return false;
        }
        self.metrics.allowed(q.server);
        true
    }
}

impl Setup for Acl {
    type Config = AclConfig;

    fn build(cfg: AclConfig, env: &mut BuildEnv<'_>) -> Result<Self, Diagnostic> {
        let mut first_zone = 0;
        let rules: Vec<Rule> = cfg
            .rules
            .into_iter()
            .map(|r| {
                let zones: Vec<(String, Box<[u8]>)> = r
                    .zones
                    .into_iter()
                    .filter_map(|z| {
                        let wire = Name::from_ascii(&z).ok()?.to_lowercase().to_bytes().ok()?;
                        Some((z, wire.into_boxed_slice()))
                    })
                    .collect();
                let rule = Rule {
                    first_zone,
                    zones,
                    policies: r.policies,
                };
                first_zone += rule.zones.len();
                rule
            })
            .collect();
        let zones = rules
            .iter()
            .flat_map(|r| r.zones.iter().map(|(z, _)| z.clone()))
            .collect();
        let metrics = AclMetrics::new(BlockLabels::of(env), zones);
        Ok(Acl { rules, metrics })
    }
}
