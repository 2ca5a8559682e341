use super::setup::WhoamiConfig;
use crate::dns::{A, AAAA, Name, RData, Record, SRV};
use crate::plugin::{Answer, Handler, Outcome, Plugin, Request, Setup};
use crate::site::BuildEnv;
use corec_compiler::Diagnostic;
use std::net::IpAddr;

/// The whoami plugin.
#[derive(Debug, Clone, Copy)]
pub struct Whoami;

impl Plugin for Whoami {
    const NAME: &'static str = "whoami";

    async fn serve<'a, N: Handler>(&'a self, req: &'a mut Request, _next: &'a N) -> Outcome {
        let mut m = req.reply();
        m.metadata.authoritative = true;
        let qname = req.qname().clone();
        let addr = match req.client.ip() {
            IpAddr::V4(v4) => RData::A(A(v4)),
            IpAddr::V6(v6) => RData::AAAA(AAAA(v6)),
        };
        m.additionals
            .push(Record::from_rdata(qname.clone(), 0, addr));
        // `_udp.<qname>` / `_tcp.<qname>`; a qname too long to prefix gets no SRV.
        if let Ok(srv_name) =
            Name::from_ascii(format!("_{}", req.proto.as_str())).and_then(|l| l.append_name(&qname))
        {
            let srv = SRV::new(0, 0, req.client.port(), Name::root());
            m.additionals
                .push(Record::from_rdata(srv_name, 0, RData::SRV(srv)));
        }
        Ok(Answer::reply(Self::NAME, m))
    }
}

impl Setup for Whoami {
    type Config = WhoamiConfig;

    fn build(_: WhoamiConfig, _: &mut BuildEnv<'_>) -> Result<Self, Diagnostic> {
        Ok(Whoami)
    }
}
