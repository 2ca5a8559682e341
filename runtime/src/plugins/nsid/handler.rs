use super::setup::NsidConfig;
use crate::dns::{Edns, Message};
use crate::plugin::{Answer, Handler, Outcome, Plugin, Request, Setup};
use crate::site::BuildEnv;
use corec_compiler::Diagnostic;
use hickory_proto::rr::rdata::opt::{EdnsCode, EdnsOption, NSIDPayload};

/// The nsid plugin.
#[derive(Debug, Clone)]
pub struct Nsid {
    payload: NSIDPayload,
}

impl Nsid {
    /// The plugin answering with `data`.
    pub(super) fn new(data: String) -> Result<Self, Diagnostic> {
        let payload = NSIDPayload::new(data.into_bytes())
            .map_err(|e| Diagnostic::error(format!("plugin/nsid: {e}"), None))?;
        Ok(Nsid { payload })
    }

    /// Puts the identifier into `m`'s OPT, adding an OPT if it has none: any
    /// NSID option already there gets our data, else one is appended.
    fn stamp(&self, m: &mut Message) {
        let options = &mut m.edns.get_or_insert_with(Edns::new).options_mut().options;
        let mut found = false;
        for (code, option) in options.iter_mut() {
            if *code == EdnsCode::NSID {
                *option = EdnsOption::NSID(self.payload.clone());
                found = true;
            }
        }
        if !found {
            options.push((EdnsCode::NSID, EdnsOption::NSID(self.payload.clone())));
        }
    }
}

impl Plugin for Nsid {
    const NAME: &'static str = "nsid";

    async fn serve<'a, N: Handler>(&'a self, req: &'a mut Request, next: &'a N) -> Outcome {
        let asked = req
            .edns()
            .is_some_and(|e| e.option(EdnsCode::NSID).is_some());
        let mut answer = next.handle(req).await?;
        if asked && let Answer::Reply(r) = &mut answer {
            self.stamp(&mut r.message);
        }
        Ok(answer)
    }
}

impl Setup for Nsid {
    type Config = NsidConfig;

    fn build(cfg: NsidConfig, _: &mut BuildEnv<'_>) -> Result<Self, Diagnostic> {
        Nsid::new(cfg.data.unwrap_or_else(crate::plugins::chaos::hostname))
    }
}
