use super::setup::HostsConfig;
use crate::plugin::{Handler, Outcome, Plugin, Request, Setup};
use crate::site::BuildEnv;
use corec_compiler::Diagnostic;

/// Placeholder.
#[derive(Debug)]
pub struct Hosts;

impl Plugin for Hosts {
    const NAME: &'static str = "hosts";

    async fn serve<'a, N: Handler>(&'a self, req: &'a mut Request, next: &'a N) -> Outcome {
        next.handle(req).await
    }
}

impl Setup for Hosts {
    type Config = HostsConfig;

    fn build(_: HostsConfig, _: &mut BuildEnv<'_>) -> Result<Self, Diagnostic> {
        Ok(Hosts)
    }
}
