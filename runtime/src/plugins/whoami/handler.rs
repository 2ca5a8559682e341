use super::setup::WhoamiConfig;
use crate::dns::{A, AAAA, Name, RData, Record, SRV};
use crate::plugin::{Answer, Handler, Outcome, Plugin, Proto, Request, Setup};
use crate::site::BuildEnv;
use crate::wire::WireQuery;
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

    fn serve_wire<N: Handler>(&self, q: &WireQuery<'_>, out: &mut Vec<u8>, _next: &N) -> bool {
        // The same two records as above, both owned by pointers into the question.
        let mut body = [0u8; 2 * 28 + 7];
        let mut at = 0;
        let mut put = |bytes: &[u8]| {
            body[at..at + bytes.len()].copy_from_slice(bytes);
            at += bytes.len();
        };
        const QNAME: [u8; 2] = [0xc0, 12];
        let client = crate::wire::unmap(q.client);
        put(&QNAME);
        match client.ip() {
            IpAddr::V4(v4) => {
                put(&[0, 1, 0, 1, 0, 0, 0, 0, 0, 4]);
                put(&v4.octets());
            }
            IpAddr::V6(v6) => {
                put(&[0, 28, 0, 1, 0, 0, 0, 0, 0, 16]);
                put(&v6.octets());
            }
        }
        let with_srv = q.lname().len() + 5 <= 255;
        if with_srv {
            put(match q.proto {
                Proto::Udp => b"\x04_udp",
                Proto::Tcp => b"\x04_tcp",
            });
            put(&QNAME);
            put(&[0, 33, 0, 1, 0, 0, 0, 0, 0, 7, 0, 0, 0, 0]);
            put(&client.port().to_be_bytes());
            put(&[0]);
        }
        let records = 1 + u16::from(with_srv);
        q.write_reply(crate::wire::flags::AA, [0, 0, records], &body[..at], out)
    }
}

impl Setup for Whoami {
    type Config = WhoamiConfig;

    fn build(_: WhoamiConfig, _: &mut BuildEnv<'_>) -> Result<Self, Diagnostic> {
        Ok(Whoami)
    }
}
