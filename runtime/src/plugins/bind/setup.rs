//! `bind ADDRESS|IFACE... { except ADDRESS|IFACE... }`, repeatable.

use crate::plugin::Parse;
use corec_compiler::{Diagnostics, Dispenser};
use std::net::IpAddr;

/// An address or a network interface name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    /// A literal address.
    Ip(IpAddr),
    /// An interface, expanded to its addresses when the site is built.
    Interface(String),
}

impl Host {
    fn parse(text: &str) -> Host {
        // `fe80::1%eth0`: the zone is not part of the address to bind.
        let bare = text.split('%').next().unwrap_or(text);
        match bare.trim_start_matches('[').trim_end_matches(']').parse() {
            Ok(ip) => Host::Ip(ip),
            Err(_) => Host::Interface(text.to_string()),
        }
    }
}

/// One `bind` line: its hosts and the ones its block excludes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindLine {
    /// Addresses and interfaces to listen on.
    pub hosts: Vec<Host>,
    /// Addresses and interfaces removed from this line's set.
    pub except: Vec<Host>,
}

/// The configuration of `bind`: every line of the block.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BindConfig {
    /// The lines, in Corefile order.
    pub lines: Vec<BindLine>,
}

impl Parse for BindConfig {
    fn parse(d: &mut Dispenser<'_>) -> Result<Self, Diagnostics> {
        let mut cfg = BindConfig::default();
        while d.next() {
            let args = d.remaining_args();
            if args.is_empty() {
                return Err(d.arg_err().into());
            }
            let mut line = BindLine {
                hosts: args.iter().map(|t| Host::parse(&t.text)).collect(),
                except: Vec::new(),
            };
            while d.next_block() {
                if d.val() != "except" {
                    return Err(d.unknown_property(&["except"]).into());
                }
                let ex = d.remaining_args();
                if ex.is_empty() {
                    return Err(d.arg_err().into());
                }
                line.except.extend(ex.iter().map(|t| Host::parse(&t.text)));
            }
            cfg.lines.push(line);
        }
        Ok(cfg)
    }
}
