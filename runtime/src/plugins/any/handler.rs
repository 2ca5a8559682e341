use super::setup::AnyConfig;
use crate::dns::{RData, Record, RecordType};
use crate::plugin::{Answer, Handler, Outcome, Plugin, Request, Setup};
use crate::site::BuildEnv;
use crate::wire::WireQuery;
use corec_compiler::Diagnostic;
use hickory_proto::rr::rdata::HINFO;

/// TTL of the HINFO record: the RFC's number.
pub(super) const TTL: u32 = 8482;
/// The HINFO CPU field.
pub(super) const CPU: &str = "ANY obsoleted";
/// The HINFO OS field.
pub(super) const OS: &str = "See RFC 8482";

/// The any plugin.
#[derive(Debug, Clone, Copy)]
pub struct Any;

impl Plugin for Any {
    const NAME: &'static str = "any";

    fn serve_wire<N: Handler>(&self, q: &WireQuery<'_>, out: &mut Vec<u8>, next: &N) -> bool {
        RecordType::from(q.qtype) != RecordType::ANY && next.handle_wire(q, out)
    }

    async fn serve<'a, N: Handler>(&'a self, req: &'a mut Request, next: &'a N) -> Outcome {
        if req.qtype() != RecordType::ANY {
            return next.handle(req).await;
        }
        let mut m = req.reply();
        let hinfo = HINFO::new(CPU.to_string(), OS.to_string());
        m.answers.push(Record::from_rdata(
            req.qname().clone(),
            TTL,
            RData::HINFO(hinfo),
        ));
        Ok(Answer::reply(Self::NAME, m))
    }
}

impl Setup for Any {
    type Config = AnyConfig;

    fn build(_: AnyConfig, _: &mut BuildEnv<'_>) -> Result<Self, Diagnostic> {
        Ok(Any)
    }
}
