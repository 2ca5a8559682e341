use super::setup::ErrorsConfig;
use crate::plugin::{Handler, Outcome, Plugin, Request, Setup};
use crate::site::BuildEnv;
use corec_compiler::Diagnostic;

/// Placeholder.
#[derive(Debug)]
pub struct Errors;

impl Plugin for Errors {
    const NAME: &'static str = "errors";

    async fn serve<'a, N: Handler>(&'a self, req: &'a mut Request, next: &'a N) -> Outcome {
        next.handle(req).await
    }
}

impl Setup for Errors {
    type Config = ErrorsConfig;

    fn build(_: ErrorsConfig, _: &mut BuildEnv<'_>) -> Result<Self, Diagnostic> {
        Ok(Errors)
    }
}
