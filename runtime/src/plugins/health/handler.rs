use super::setup::HealthConfig;
use crate::plugin::{Handler, Outcome, Plugin, Request, Setup};
use crate::server::side::{Endpoint, resolve};
use crate::site::BuildEnv;
use crate::wire::WireQuery;
use corec_compiler::Diagnostic;

/// Marker for the config-only `health` directive; never part of a chain.
/// `/health` is answered by the server's side listener (see
/// [`crate::server::side`]), the lameduck is waited out by
/// [`Server::shutdown`](crate::server::Server::shutdown).
#[derive(Debug, Clone, Copy)]
pub struct Health;

impl Plugin for Health {
    const NAME: &'static str = "health";

    async fn serve<'a, N: Handler>(&'a self, req: &'a mut Request, next: &'a N) -> Outcome {
        next.handle(req).await
    }

    fn serve_wire<N: Handler>(&self, q: &WireQuery<'_>, out: &mut Vec<u8>, next: &N) -> bool {
        next.handle_wire(q, out)
    }
}

impl Setup for Health {
    type Config = HealthConfig;

    fn build(cfg: HealthConfig, env: &mut BuildEnv<'_>) -> Result<Self, Diagnostic> {
        let at = resolve(&cfg.address)
            .map_err(|e| Diagnostic::error(format!("plugin/health: {e}"), cfg.span))?;
        let side = &mut env.config.side;
        side.http.push((at, Endpoint::Health));
        if !cfg.lameduck.is_zero() {
            side.lameduck = Some(side.lameduck.unwrap_or_default().max(cfg.lameduck));
        }
        Ok(Health)
    }
}
