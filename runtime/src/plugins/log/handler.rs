use super::format::{Entry, Format, class_of, rcode_reply, response_kind};
use super::setup::{Classes, LogConfig};
use crate::dns::Message;
use crate::plugin::{Answer, Handler, Outcome, Plugin, Request, Setup};
use crate::server::respond::{Prepared, prepare};
use crate::site::BuildEnv;
use crate::wire::WireQuery;
use corec_compiler::Diagnostic;
use std::time::{Duration, Instant};

/// The log plugin: one line per query whose name is in a rule's scope.
#[derive(Debug)]
pub struct Log {
    rules: Vec<Rule>,
}

/// A rule with its format parsed.
#[derive(Debug)]
struct Rule {
    name: String,
    format: Format,
    classes: Classes,
}

/// Is `name` equal to `scope` or below it? Both are lowercase and fully
/// qualified; a suffix only counts if it starts at an unescaped label boundary.
pub(crate) fn in_scope(scope: &str, name: &str) -> bool {
    if scope == "." || scope == name {
        return true;
    }
    let Some(head) = name.strip_suffix(scope) else {
        return false;
    };
    match head.strip_suffix('.') {
        Some(before) => (before.len() - before.trim_end_matches('\\').len()) % 2 == 0,
        None => false,
    }
}

impl Rule {
    fn log(&self, req: &mut Request, outcome: &Outcome, took: Duration) {
        let synthetic: Message;
        let reply = match outcome {
            Ok(Answer::Reply(r)) => Some(&r.message),
            Ok(Answer::Rcode(rc)) => {
                synthetic = rcode_reply(req, *rc);
                Some(&synthetic)
            }
            Err(e) => {
                synthetic = rcode_reply(req, e.rcode);
                Some(&synthetic)
            }
            Ok(Answer::Drop) => None,
            Ok(Answer::Transfer { messages, .. }) => messages.first(),
        };
        let kind = response_kind(reply);
        let class = class_of(kind);
        // Set before the line is written, so the line itself can show them
        // (a no-op without *metadata*).
        req.set_meta("log/type", kind.name());
        req.set_meta("log/class", class.name());
        if self.classes.logs(class) {
            let entry = Entry::new(req, reply, took);
            let line = self.format.line(&entry);
            // The members are rendered only by the JSON log format.
            tracing::info!(target: "querylog", json_fields = %self.format.members(&entry), "{line}");
        }
    }
}

impl Plugin for Log {
    const NAME: &'static str = "log";

    async fn serve<'a, N: Handler>(&'a self, req: &'a mut Request, next: &'a N) -> Outcome {
        // The cache refreshing an entry is not a client's query.
        if req.refresh {
            return next.handle(req).await;
        }
        let name = req.name();
        let Some(rule) = self.rules.iter().find(|r| in_scope(&r.name, &name)) else {
            return next.handle(req).await;
        };
        let start = Instant::now();
        let outcome = next.handle(req).await;
        rule.log(req, &outcome, start.elapsed());
        outcome
    }

    /// A fast answer is logged from the decoded query and reply, so the line
    /// is the one the full path would print.
    fn serve_wire<N: Handler>(&self, q: &WireQuery<'_>, out: &mut Vec<u8>, next: &N) -> bool {
        let name = q.name();
        let Some(rule) = self.rules.iter().find(|r| in_scope(&r.name, &name)) else {
            return next.handle_wire(q, out);
        };
        let start = Instant::now();
        if !next.handle_wire(q, out) {
            return false;
        }
        let took = start.elapsed();
        let server: std::sync::Arc<str> = std::sync::Arc::from("");
        if let Prepared::Query(mut req) = prepare(q.packet(), q.client, q.local, q.proto, &server)
            && let Ok(mut reply) = Message::from_vec(out)
        {
            // The full path logs the chain's reply, before the server adds the OPT.
            reply.edns = None;
            rule.log(&mut req, &Ok(Answer::reply(Self::NAME, reply)), took);
        }
        true
    }
}

impl Setup for Log {
    type Config = LogConfig;

    fn build(cfg: LogConfig, env: &mut BuildEnv<'_>) -> Result<Self, Diagnostic> {
        let rules: Vec<Rule> = cfg
            .rules
            .into_iter()
            .map(|r| Rule {
                format: Format::parse(&r.format),
                name: r.name,
                classes: r.classes,
            })
            .collect();
        // A line logged in the fast lane would show `-` for every label.
        if rules.iter().any(|r| r.format.reads_metadata()) {
            env.config.metadata.read_in_fast_lane();
        }
        Ok(Log { rules })
    }
}
