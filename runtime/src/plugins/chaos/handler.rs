use super::setup::ChaosConfig;
use crate::dns::{DNSClass, RData, Record, RecordType, TXT};
use crate::plugin::{Answer, Handler, Outcome, Plugin, Request, Setup};
use crate::site::BuildEnv;
use crate::wire::WireQuery;
use corec_compiler::Diagnostic;
use rand::seq::SliceRandom;

/// The chaos plugin.
#[derive(Debug, Clone)]
pub struct Chaos {
    version: String,
    authors: Vec<String>,
    hostname: String,
}

/// The host name reported for `hostname.bind` and `id.server`.
pub(crate) fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".into())
}

impl Plugin for Chaos {
    const NAME: &'static str = "chaos";

    /// The fast lane carries only class IN: never ours.
    fn serve_wire<N: Handler>(&self, q: &WireQuery<'_>, out: &mut Vec<u8>, next: &N) -> bool {
        next.handle_wire(q, out)
    }

    async fn serve<'a, N: Handler>(&'a self, req: &'a mut Request, next: &'a N) -> Outcome {
        if req.qclass() != DNSClass::CH || req.qtype() != RecordType::TXT {
            return next.handle(req).await;
        }
        let texts: Vec<String> = match &*req.name() {
            "authors.bind." => {
                let mut a = self.authors.clone();
                a.shuffle(&mut rand::rng());
                a
            }
            "version.bind." | "version.server." => vec![self.version.clone()],
            "hostname.bind." | "id.server." => vec![self.hostname.clone()],
            _ => return next.handle(req).await,
        };
        let mut m = req.reply();
        let owner = req.qname().clone();
        for t in texts {
            let mut r = Record::from_rdata(owner.clone(), 0, RData::TXT(TXT::new(vec![t])));
            r.dns_class = DNSClass::CH;
            m.answers.push(r);
        }
        Ok(Answer::reply(Self::NAME, m))
    }
}

impl Setup for Chaos {
    type Config = ChaosConfig;

    fn build(cfg: ChaosConfig, env: &mut BuildEnv<'_>) -> Result<Self, Diagnostic> {
        env.config.allow_non_in = true;
        Ok(Chaos {
            version: cfg
                .version
                .unwrap_or_else(|| format!("corec-{}", env!("CARGO_PKG_VERSION"))),
            authors: if cfg.authors.is_empty() {
                vec!["corec".to_string()]
            } else {
                cfg.authors
            },
            hostname: hostname(),
        })
    }
}
