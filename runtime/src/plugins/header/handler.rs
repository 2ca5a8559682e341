use super::setup::{HeaderConfig, Rules};
use crate::dns::Metadata;
use crate::plugin::{Answer, Handler, Outcome, Plugin, Request, Setup};
use crate::site::BuildEnv;
use corec_compiler::Diagnostic;

/// The header plugin.
#[derive(Debug, Clone, Copy)]
pub struct Header {
    cfg: HeaderConfig,
}

impl Header {
    /// The plugin applying `cfg`.
    pub(super) fn new(cfg: HeaderConfig) -> Self {
        Header { cfg }
    }
}

/// Sets or clears the flags `rules` name.
fn apply(rules: &Rules, h: &mut Metadata) {
    if let Some(aa) = rules.aa {
        h.authoritative = aa;
    }
    if let Some(ra) = rules.ra {
        h.recursion_available = ra;
    }
    if let Some(rd) = rules.rd {
        h.recursion_desired = rd;
    }
}

impl Plugin for Header {
    const NAME: &'static str = "header";

    async fn serve<'a, N: Handler>(&'a self, req: &'a mut Request, next: &'a N) -> Outcome {
        apply(&self.cfg.query, &mut req.message.metadata);
        let mut answer = next.handle(req).await?;
        // Only a reply a plugin wrote: the server's own error replies are
        // not written through this plugin in CoreDNS either.
        if let Answer::Reply(r) = &mut answer {
            apply(&self.cfg.response, &mut r.message.metadata);
        }
        Ok(answer)
    }
}

impl Setup for Header {
    type Config = HeaderConfig;

    fn build(cfg: HeaderConfig, _: &mut BuildEnv<'_>) -> Result<Self, Diagnostic> {
        Ok(Header::new(cfg))
    }
}
