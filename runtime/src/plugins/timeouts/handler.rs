use super::setup::TimeoutsConfig;
use crate::plugin::{Handler, Outcome, Plugin, Request, Setup};
use crate::site::{BuildEnv, ConnLimits};
use crate::wire::WireQuery;
use corec_compiler::Diagnostic;

/// Marker for the config-only `timeouts` directive; never part of a chain.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts;

impl Plugin for Timeouts {
    const NAME: &'static str = "timeouts";

    async fn serve<'a, N: Handler>(&'a self, req: &'a mut Request, next: &'a N) -> Outcome {
        next.handle(req).await
    }

    fn serve_wire<N: Handler>(&self, q: &WireQuery<'_>, out: &mut Vec<u8>, next: &N) -> bool {
        next.handle_wire(q, out)
    }
}

impl Setup for Timeouts {
    type Config = TimeoutsConfig;

    fn build(cfg: TimeoutsConfig, env: &mut BuildEnv<'_>) -> Result<Self, Diagnostic> {
        env.config.conn_limits.overlay(&ConnLimits {
            read: cfg.read,
            write: cfg.write,
            idle: cfg.idle,
            max_queries: cfg.max_tcp_queries,
        });
        Ok(Timeouts)
    }
}
