use super::setup::RootConfig;
use crate::plugin::{Handler, Outcome, Plugin, Request, Setup};
use crate::site::BuildEnv;
use crate::wire::WireQuery;
use corec_compiler::Diagnostic;

/// Marker for the config-only `root` directive; never part of a chain.
#[derive(Debug, Clone, Copy)]
pub struct Root;

impl Plugin for Root {
    const NAME: &'static str = "root";

    async fn serve<'a, N: Handler>(&'a self, req: &'a mut Request, next: &'a N) -> Outcome {
        next.handle(req).await
    }

    fn serve_wire<N: Handler>(&self, q: &WireQuery<'_>, out: &mut Vec<u8>, next: &N) -> bool {
        next.handle_wire(q, out)
    }
}

impl Setup for Root {
    type Config = RootConfig;

    fn build(cfg: RootConfig, env: &mut BuildEnv<'_>) -> Result<Self, Diagnostic> {
        let dir = env.resolve(&cfg.path);
        if !dir.exists() {
            // CoreDNS creates nothing and only warns: files resolved against it fail later.
            tracing::warn!(target: "plugin/root", "root path does not exist: {}", dir.display());
        }
        env.config.root = dir;
        Ok(Root)
    }
}
