use super::setup::CancelConfig;
use crate::plugin::{Answer, Handler, Outcome, Plugin, Request, Setup};
use crate::site::BuildEnv;
use crate::wire::WireQuery;
use corec_compiler::Diagnostic;
use std::time::Duration;

/// The `cancel` plugin.
#[derive(Debug)]
pub struct Cancel {
    pub(super) timeout: Duration,
}

impl Plugin for Cancel {
    const NAME: &'static str = "cancel";

    async fn serve<'a, N: Handler>(&'a self, req: &'a mut Request, next: &'a N) -> Outcome {
        match tokio::time::timeout(self.timeout, next.handle(req)).await {
            Ok(outcome) => outcome,
            Err(_) => {
                // The work of the plugins below stops here. As in CoreDNS,
                // a cancelled query gets no reply: the client has given up.
                tracing::debug!(
                    target: "plugin/cancel",
                    "{} {}: cancelled after {:?}",
                    req.name(),
                    req.qtype(),
                    self.timeout
                );
                Ok(Answer::Drop)
            }
        }
    }

    /// The fast lane never waits, so there is nothing to bound.
    fn serve_wire<N: Handler>(&self, q: &WireQuery<'_>, out: &mut Vec<u8>, next: &N) -> bool {
        next.handle_wire(q, out)
    }
}

impl Setup for Cancel {
    type Config = CancelConfig;

    fn build(cfg: CancelConfig, _env: &mut BuildEnv<'_>) -> Result<Self, Diagnostic> {
        Ok(Cancel {
            timeout: cfg.timeout,
        })
    }
}
