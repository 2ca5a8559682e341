//! The query facts a view filter reads, from a decoded request and from a
//! fast-lane query alike, so both lanes route the same way.

use super::expr::QueryFacts;
use crate::plugin::{Proto, Request};
use crate::wire::WireQuery;
use std::net::IpAddr;

impl QueryFacts for Request {
    fn client_ip(&self) -> IpAddr {
        self.client.ip()
    }
    fn client_port(&self) -> u16 {
        self.client.port()
    }
    fn server_ip(&self) -> IpAddr {
        self.local.ip()
    }
    fn server_port(&self) -> u16 {
        self.local.port()
    }
    fn qname(&self) -> String {
        self.name().to_string()
    }
    fn qtype(&self) -> u16 {
        self.qtype().into()
    }
    fn qclass(&self) -> u16 {
        self.qclass().into()
    }
    fn do_bit(&self) -> bool {
        self.do_bit()
    }
    fn id(&self) -> u16 {
        self.id()
    }
    fn opcode(&self) -> u8 {
        self.message.metadata.op_code.into()
    }
    fn proto(&self) -> &'static str {
        self.proto.as_str()
    }
    fn size(&self) -> usize {
        self.wire_len
    }
    fn bufsize(&self) -> u16 {
        self.edns().map_or(512, |e| e.max_payload().max(512))
    }
    fn metadata(&self, label: &str) -> Option<&str> {
        self.meta(label)
    }
}

impl QueryFacts for WireQuery<'_> {
    fn client_ip(&self) -> IpAddr {
        crate::wire::unmap(self.client).ip()
    }
    fn client_port(&self) -> u16 {
        self.client.port()
    }
    fn server_ip(&self) -> IpAddr {
        crate::wire::unmap(self.local).ip()
    }
    fn server_port(&self) -> u16 {
        self.local.port()
    }
    fn qname(&self) -> String {
        self.name()
    }
    fn qtype(&self) -> u16 {
        self.qtype
    }
    fn qclass(&self) -> u16 {
        1 // the fast lane carries IN only
    }
    fn do_bit(&self) -> bool {
        self.dnssec_ok()
    }
    fn id(&self) -> u16 {
        self.id
    }
    fn opcode(&self) -> u8 {
        0 // QUERY only
    }
    fn proto(&self) -> &'static str {
        match self.proto {
            Proto::Udp => "udp",
            Proto::Tcp => "tcp",
        }
    }
    fn size(&self) -> usize {
        self.packet_len()
    }
    fn bufsize(&self) -> u16 {
        self.edns.map_or(512, |e| e.payload.max(512))
    }
}

/// A query's facts with the metadata collected for it: what a view filter
/// sees while a query is routed, before any plugin has run.
#[cfg(feature = "serve")]
pub(crate) struct WithMeta<'a> {
    pub(crate) facts: &'a dyn QueryFacts,
    pub(crate) meta: Option<&'a crate::plugin::Meta>,
}

#[cfg(feature = "serve")]
impl QueryFacts for WithMeta<'_> {
    fn client_ip(&self) -> IpAddr {
        self.facts.client_ip()
    }
    fn client_port(&self) -> u16 {
        self.facts.client_port()
    }
    fn server_ip(&self) -> IpAddr {
        self.facts.server_ip()
    }
    fn server_port(&self) -> u16 {
        self.facts.server_port()
    }
    fn qname(&self) -> String {
        self.facts.qname()
    }
    fn qtype(&self) -> u16 {
        self.facts.qtype()
    }
    fn qclass(&self) -> u16 {
        self.facts.qclass()
    }
    fn do_bit(&self) -> bool {
        self.facts.do_bit()
    }
    fn id(&self) -> u16 {
        self.facts.id()
    }
    fn opcode(&self) -> u8 {
        self.facts.opcode()
    }
    fn proto(&self) -> &'static str {
        self.facts.proto()
    }
    fn size(&self) -> usize {
        self.facts.size()
    }
    fn bufsize(&self) -> u16 {
        self.facts.bufsize()
    }
    fn metadata(&self, label: &str) -> Option<&str> {
        self.meta?.get(label)
    }
}
