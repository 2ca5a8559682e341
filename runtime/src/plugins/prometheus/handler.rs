use super::setup::PrometheusConfig;
use crate::metrics::{BlockLabels, DnsMetrics};
use crate::plugin::{Handler, Outcome, Plugin, Request, Setup};
use crate::server::side::{Endpoint, resolve};
use crate::site::BuildEnv;
use crate::wire::WireQuery;
use corec_compiler::Diagnostic;
use std::sync::Arc;

/// Marker for `prometheus`: it only configures the server. The server
/// records each answered query of the block (both lanes, after the reply is
/// encoded, so sizes are exact) and the side listener serves `/metrics`.
#[derive(Debug, Clone, Copy)]
pub struct Prometheus;

impl Plugin for Prometheus {
    const NAME: &'static str = "prometheus";

    async fn serve<'a, N: Handler>(&'a self, req: &'a mut Request, next: &'a N) -> Outcome {
        next.handle(req).await
    }

    fn serve_wire<N: Handler>(&self, q: &WireQuery<'_>, out: &mut Vec<u8>, next: &N) -> bool {
        next.handle_wire(q, out)
    }
}

impl Setup for Prometheus {
    type Config = PrometheusConfig;

    fn build(cfg: PrometheusConfig, env: &mut BuildEnv<'_>) -> Result<Self, Diagnostic> {
        let at = resolve(&cfg.address)
            .map_err(|e| Diagnostic::error(format!("plugin/prometheus: {e}"), cfg.span))?;
        env.config.side.http.push((at, Endpoint::Metrics));
        let metrics = DnsMetrics::block(BlockLabels::of(env), env.zones);
        env.config.metrics = Some(Arc::new(metrics));
        Ok(Prometheus)
    }
}
