use super::setup::ReloadConfig;
use crate::plugin::{Handler, Outcome, Plugin, Request, Setup};
use crate::site::BuildEnv;
use crate::wire::WireQuery;
use corec_compiler::Diagnostic;

/// Marker for the config-only `reload` directive; never part of a chain.
/// The Corefile is watched by the process's [`Reloader`](crate::reload::Reloader)
/// (see `plugins/reload/watch.rs`), which reads the setting from the serving site.
#[derive(Debug, Clone, Copy)]
pub struct Reload;

impl Plugin for Reload {
    const NAME: &'static str = "reload";

    async fn serve<'a, N: Handler>(&'a self, req: &'a mut Request, next: &'a N) -> Outcome {
        next.handle(req).await
    }

    fn serve_wire<N: Handler>(&self, q: &WireQuery<'_>, out: &mut Vec<u8>, next: &N) -> bool {
        next.handle_wire(q, out)
    }
}

impl Setup for Reload {
    type Config = ReloadConfig;

    fn build(cfg: ReloadConfig, env: &mut BuildEnv<'_>) -> Result<Self, Diagnostic> {
        env.config.side.reload = Some(cfg);
        Ok(Reload)
    }
}
