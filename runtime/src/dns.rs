//! The one place hickory-proto is imported wholesale: plugins use these
//! re-exports, so a hickory upgrade touches this file and little else.

pub use hickory_proto::op::{Edns, Message, MessageType, Metadata, OpCode, Query, ResponseCode};
pub use hickory_proto::rr::rdata::{A, AAAA, PTR, SRV, TXT};
pub use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};
pub use hickory_proto::serialize::binary::{BinDecodable, BinEncodable, BinEncoder};
