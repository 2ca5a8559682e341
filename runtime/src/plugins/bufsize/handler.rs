use super::setup::BufsizeConfig;
use crate::plugin::{Handler, Outcome, Plugin, Request, Setup};
use crate::site::BuildEnv;
use corec_compiler::Diagnostic;

/// The bufsize plugin.
#[derive(Debug, Clone, Copy)]
pub struct Bufsize {
    size: u16,
}

impl Bufsize {
    /// The plugin capping payload sizes at `size`.
    pub(super) fn new(size: u16) -> Self {
        Bufsize { size }
    }
}

impl Plugin for Bufsize {
    const NAME: &'static str = "bufsize";

    async fn serve<'a, N: Handler>(&'a self, req: &'a mut Request, next: &'a N) -> Outcome {
        if let Some(edns) = req.message.edns.as_mut()
            && edns.max_payload() > self.size
        {
            edns.set_max_payload(self.size);
        }
        next.handle(req).await
    }
}

impl Setup for Bufsize {
    type Config = BufsizeConfig;

    fn build(cfg: BufsizeConfig, _: &mut BuildEnv<'_>) -> Result<Self, Diagnostic> {
        Ok(Bufsize::new(cfg.size))
    }
}
