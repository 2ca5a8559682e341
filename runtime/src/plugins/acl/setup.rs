//! Syntax of `acl`:
//!
//! ```text
//! acl [ZONES...] {
//!     allow|block|filter|drop [type QTYPE...|*] [net CIDR|IP...|*]
//! }
//! ```
//!
//! Every `acl` of a block is one list of rules, in Corefile order.

use crate::plugin::Parse;
use crate::plugins::template::names;
use corec_compiler::{Diagnostics, Dispenser};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// What a matching policy does with a query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Stop looking at acl rules and pass the query on.
    Allow,
    /// Answer REFUSED (extended error 15, Blocked).
    Block,
    /// Answer an empty NOERROR (extended error 17, Filtered).
    Filter,
    /// Send nothing at all.
    Drop,
}

/// A network: an address with the prefix length that matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Net {
    /// The network's address (host bits cleared).
    pub addr: IpAddr,
    /// The prefix length (up to 32 or 128).
    pub prefix: u8,
}

impl Net {
    /// Reads `CIDR` or a bare address (a host: /32 or /128). An IPv4-mapped
    /// IPv6 network of /96 or longer is read as the IPv4 network it maps,
    /// since clients' addresses are compared unmapped.
    pub fn parse(text: &str) -> Option<Net> {
        let (ip, prefix) = match text.split_once('/') {
            Some((ip, len)) => {
                if len.is_empty() || !len.bytes().all(|b| b.is_ascii_digit()) || len.len() > 3 {
                    return None;
                }
                (ip.parse::<IpAddr>().ok()?, len.parse::<u8>().ok()?)
            }
            None => {
                let ip = text.parse::<IpAddr>().ok()?;
                (ip, if ip.is_ipv4() { 32 } else { 128 })
            }
        };
        let net = match ip {
            IpAddr::V4(v4) if prefix <= 32 => Net {
                addr: IpAddr::V4(Ipv4Addr::from_bits(v4.to_bits() & mask32(prefix))),
                prefix,
            },
            IpAddr::V6(v6) if prefix <= 128 => match v6.to_ipv4_mapped() {
                Some(v4) if prefix >= 96 => Net {
                    addr: IpAddr::V4(Ipv4Addr::from_bits(v4.to_bits() & mask32(prefix - 96))),
                    prefix: prefix - 96,
                },
                _ => Net {
                    addr: IpAddr::V6(Ipv6Addr::from_bits(v6.to_bits() & mask128(prefix))),
                    prefix,
                },
            },
            _ => return None,
        };
        Some(net)
    }

    /// Is `ip` (unmapped) inside this network?
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                ip.to_bits() & mask32(self.prefix) == net.to_bits()
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                ip.to_bits() & mask128(self.prefix) == net.to_bits()
            }
            _ => false,
        }
    }
}

fn mask32(prefix: u8) -> u32 {
    u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0)
}

fn mask128(prefix: u8) -> u128 {
    u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0)
}

/// One line of an acl block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// What to do when it matches.
    pub action: Action,
    /// Query types it applies to; `None` for every type.
    pub qtypes: Option<Vec<u16>>,
    /// Source networks it applies to; `None` for every address.
    pub nets: Option<Vec<Net>>,
}

impl Policy {
    /// Does the policy apply to a query of `qtype` from `ip`?
    pub fn matches(&self, qtype: u16, ip: IpAddr) -> bool {
        self.qtypes.as_ref().is_none_or(|t| t.contains(&qtype))
            && self
                .nets
                .as_ref()
                .is_none_or(|nets| nets.iter().any(|n| n.contains(ip)))
    }
}

/// One `acl` directive: its zones and its policies, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// Zones it applies to (lowercase, fully qualified); the block's by default.
    pub zones: Vec<String>,
    /// Its policies; the first that matches decides.
    pub policies: Vec<Policy>,
}

/// Configuration of `acl`: every directive of the block, in Corefile order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AclConfig {
    /// The rules.
    pub rules: Vec<Rule>,
}

/// Is `word` the start of a `type` or `net` section (any case)?
fn is_section(word: &str) -> bool {
    word.eq_ignore_ascii_case("type") || word.eq_ignore_ascii_case("net")
}

impl Parse for AclConfig {
    fn parse(d: &mut Dispenser<'_>) -> Result<Self, Diagnostics> {
        let mut rules = Vec::new();
        while d.next() {
            let args = d.remaining_args();
            let zones = d.origins(&args);
            let mut policies = Vec::new();
            while d.next_block() {
                let action = match d.val().to_ascii_lowercase().as_str() {
                    "allow" => Action::Allow,
                    "block" => Action::Block,
                    "filter" => Action::Filter,
                    "drop" => Action::Drop,
                    _ => {
                        return Err(d
                            .err(format!(
                                "unexpected token {:?}; expect 'allow', 'block', 'filter' or 'drop'",
                                d.val()
                            ))
                            .into());
                    }
                };
                let mut policy = Policy {
                    action,
                    qtypes: None,
                    nets: None,
                };
                let (mut has_type, mut has_net) = (false, false);
                let mut types: Vec<u16> = Vec::new();
                let mut all_types = false;
                let mut nets: Vec<Net> = Vec::new();
                let mut all_nets = false;
                let tokens = d.remaining_args();
                let mut i = 0;
                while i < tokens.len() {
                    let section = tokens[i];
                    if !is_section(&section.text) {
                        return Err(d
                            .err_at(
                                section,
                                format!("unexpected token {:?}; expect 'type | net'", section.text),
                            )
                            .into());
                    }
                    let start = i + 1;
                    let mut end = start;
                    while end < tokens.len() && !is_section(&tokens[end].text) {
                        end += 1;
                    }
                    i = end;
                    let values = &tokens[start..end];
                    let kind = section.text.to_ascii_lowercase();
                    if values.is_empty() {
                        return Err(d
                            .err_at(section, format!("no token specified in {kind:?} section"))
                            .into());
                    }
                    if kind == "type" {
                        has_type = true;
                        for t in values {
                            if t.text == "*" {
                                all_types = true;
                                break;
                            }
                            match names::type_code(&t.text) {
                                // CoreDNS's own "every type" marker.
                                Some(0) => all_types = true,
                                Some(code) => types.push(code),
                                None => {
                                    return Err(d
                                        .err_at(
                                            t,
                                            format!(
                                                "unexpected token {:?}; expect legal QTYPE",
                                                t.text
                                            ),
                                        )
                                        .into());
                                }
                            }
                        }
                    } else {
                        has_net = true;
                        for t in values {
                            if t.text == "*" {
                                all_nets = true;
                                break;
                            }
                            match Net::parse(&t.text) {
                                Some(net) => nets.push(net),
                                None => {
                                    let shown = if t.text.contains('/') {
                                        t.text.clone()
                                    } else if t.text.contains(':') {
                                        format!("{}/128", t.text)
                                    } else {
                                        format!("{}/32", t.text)
                                    };
                                    return Err(d
                                        .err_at(t, format!("illegal CIDR notation {shown:?}"))
                                        .into());
                                }
                            }
                        }
                    }
                }
                if has_type && !all_types {
                    policy.qtypes = Some(types);
                }
                if has_net && !all_nets {
                    policy.nets = Some(nets);
                }
                policies.push(policy);
            }
            rules.push(Rule { zones, policies });
        }
        Ok(AclConfig { rules })
    }
}
