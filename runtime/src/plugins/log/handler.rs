use super::setup::LogConfig;
use crate::plugin::{Handler, Outcome, Plugin, Request, Setup};
use crate::site::BuildEnv;
use corec_compiler::Diagnostic;

/// Placeholder.
#[derive(Debug)]
pub struct Log;

impl Plugin for Log {
    const NAME: &'static str = "log";

    async fn serve<'a, N: Handler>(&'a self, req: &'a mut Request, next: &'a N) -> Outcome {
        next.handle(req).await
    }
}

impl Setup for Log {
    type Config = LogConfig;

    fn build(_: LogConfig, _: &mut BuildEnv<'_>) -> Result<Self, Diagnostic> {
        Ok(Log)
    }
}
