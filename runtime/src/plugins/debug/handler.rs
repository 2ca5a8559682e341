use super::setup::DebugConfig;
use crate::plugin::{Handler, Outcome, Plugin, Request, Setup};
use crate::site::BuildEnv;
use crate::wire::WireQuery;
use corec_compiler::Diagnostic;

/// Marker for the config-only `debug` directive; never part of a chain.
#[derive(Debug, Clone, Copy)]
pub struct Debug;

impl Plugin for Debug {
    const NAME: &'static str = "debug";

    async fn serve<'a, N: Handler>(&'a self, req: &'a mut Request, next: &'a N) -> Outcome {
        next.handle(req).await
    }

    fn serve_wire<N: Handler>(&self, q: &WireQuery<'_>, out: &mut Vec<u8>, next: &N) -> bool {
        next.handle_wire(q, out)
    }
}

impl Setup for Debug {
    type Config = DebugConfig;

    fn build(_: DebugConfig, env: &mut BuildEnv<'_>) -> Result<Self, Diagnostic> {
        env.config.debug = true;
        Ok(Debug)
    }
}
