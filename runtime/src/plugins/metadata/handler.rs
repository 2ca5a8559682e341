use super::setup::MetadataConfig;
use crate::plugin::{Handler, Outcome, Plugin, Request, Setup};
use crate::plugins::metadata::MetadataHub;
use crate::site::BuildEnv;
use crate::wire::WireQuery;
use corec_compiler::Diagnostic;

/// The *metadata* plugin: gives each query of its block a metadata store,
/// filled by the block's providers for names in its zones. First in the
/// chain, so every plugin after it can read and set labels.
#[derive(Debug)]
pub struct Metadata {
    hub: MetadataHub,
}

impl Plugin for Metadata {
    const NAME: &'static str = "metadata";

    async fn serve<'a, N: Handler>(&'a self, req: &'a mut Request, next: &'a N) -> Outcome {
        let name = req.name();
        req.meta = self.hub.collect(&name, &*req);
        next.handle(req).await
    }

    /// A fast-lane query carries no metadata: it may only pass when no
    /// plugin of the block would read any.
    fn serve_wire<N: Handler>(&self, q: &WireQuery<'_>, out: &mut Vec<u8>, next: &N) -> bool {
        self.hub.fast_lane_ok() && next.handle_wire(q, out)
    }
}

impl Setup for Metadata {
    type Config = MetadataConfig;

    fn build(cfg: MetadataConfig, env: &mut BuildEnv<'_>) -> Result<Self, Diagnostic> {
        let hub = env.config.metadata.clone();
        hub.enable(cfg.zones);
        Ok(Metadata { hub })
    }
}
