//! `transfer [ZONES...] { to ADDRESS... }`, repeatable.

use crate::plugin::Parse;
use corec_compiler::{Diagnostics, Dispenser};
use std::net::IpAddr;

/// Who may transfer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Peer {
    /// `*`: anyone.
    Any,
    /// One address (a port, given for NOTIFY, is kept).
    Addr(IpAddr, Option<u16>),
}

/// One `transfer` stanza.
#[derive(Debug, Clone)]
pub struct Stanza {
    /// Zones it covers.
    pub zones: Vec<String>,
    /// Allowed clients.
    pub to: Vec<Peer>,
}

/// The configuration of `transfer`.
#[derive(Debug, Clone, Default)]
pub struct TransferConfig {
    /// The stanzas, in Corefile order.
    pub stanzas: Vec<Stanza>,
}

fn peer(text: &str) -> Option<Peer> {
    if text == "*" {
        return Some(Peer::Any);
    }
    if let Ok(ip) = text.trim_start_matches('[').trim_end_matches(']').parse() {
        return Some(Peer::Addr(ip, None));
    }
    let sa: std::net::SocketAddr = text.parse().ok()?;
    Some(Peer::Addr(sa.ip(), Some(sa.port())))
}

impl Parse for TransferConfig {
    fn parse(d: &mut Dispenser<'_>) -> Result<Self, Diagnostics> {
        let mut cfg = TransferConfig::default();
        while d.next() {
            let zones = d.remaining_args();
            let mut stanza = Stanza {
                zones: d.origins(&zones),
                to: Vec::new(),
            };
            while d.next_block() {
                match d.val() {
                    "to" => {
                        let args = d.remaining_args();
                        if args.is_empty() {
                            return Err(d.arg_err().into());
                        }
                        for a in args {
                            let p = peer(&a.text).ok_or_else(|| {
                                d.err_at(a, format!("'{}' is not an IP address or '*'", a.text))
                            })?;
                            stanza.to.push(p);
                        }
                    }
                    _ => return Err(d.unknown_property(&["to"]).into()),
                }
            }
            if stanza.to.is_empty() {
                return Err(d.err("'to' is required").into());
            }
            cfg.stanzas.push(stanza);
        }
        Ok(cfg)
    }
}
