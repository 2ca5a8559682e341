//! `secondary [ZONES...] { transfer from ADDRESS...; fallthrough [ZONES...] }`

use crate::plugin::Parse;
use corec_compiler::{Diagnostics, Dispenser};
use std::net::{IpAddr, SocketAddr};

/// One `secondary` stanza.
#[derive(Debug, Clone)]
pub struct Stanza {
    /// Zones transferred in.
    pub zones: Vec<String>,
    /// Primaries, tried in order (port 53 unless given).
    pub primaries: Vec<SocketAddr>,
    /// Zones whose NXDOMAIN answers go to the next plugin instead.
    pub fallthrough: Option<Vec<String>>,
}

/// The configuration of `secondary`.
#[derive(Debug, Clone, Default)]
pub struct SecondaryConfig {
    /// The stanzas, in Corefile order.
    pub stanzas: Vec<Stanza>,
}

fn primary(text: &str) -> Option<SocketAddr> {
    if let Ok(sa) = text.parse() {
        return Some(sa);
    }
    let ip: IpAddr = text
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .ok()?;
    Some(SocketAddr::new(ip, 53))
}

impl Parse for SecondaryConfig {
    fn parse(d: &mut Dispenser<'_>) -> Result<Self, Diagnostics> {
        let mut cfg = SecondaryConfig::default();
        while d.next() {
            let zones = d.remaining_args();
            let mut stanza = Stanza {
                zones: d.origins(&zones),
                primaries: Vec::new(),
                fallthrough: None,
            };
            while d.next_block() {
                match d.val() {
                    "transfer" => {
                        let dir = d.arg()?;
                        if dir.text != "from" {
                            return Err(d.err_at(dir, format!("'transfer {}' is not supported here: use the transfer plugin to send zones", dir.text)).into());
                        }
                        let addrs = d.remaining_args();
                        if addrs.is_empty() {
                            return Err(d.arg_err().into());
                        }
                        for a in addrs {
                            stanza.primaries.push(primary(&a.text).ok_or_else(|| {
                                d.err_at(a, format!("'{}' is not an IP address", a.text))
                            })?);
                        }
                    }
                    "fallthrough" => {
                        let zones = d.remaining_args();
                        stanza.fallthrough = Some(if zones.is_empty() {
                            vec![".".to_string()]
                        } else {
                            d.origins(&zones)
                        });
                    }
                    _ => return Err(d.unknown_property(&["transfer", "fallthrough"]).into()),
                }
            }
            if stanza.primaries.is_empty() {
                return Err(d
                    .err("secondary zones require a transfer from property")
                    .into());
            }
            cfg.stanzas.push(stanza);
        }
        Ok(cfg)
    }
}
