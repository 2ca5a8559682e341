//! Syntax of `dns64`:
//!
//! ```text
//! dns64 [PREFIX]
//! dns64 {
//!     prefix PREFIX
//!     translate_all
//!     allow_ipv4
//! }
//! ```

use crate::plugin::Parse;
use corec_compiler::{Diagnostics, Dispenser, Token};
use std::net::{IpAddr, Ipv6Addr};

/// The well-known prefix of RFC 6052.
pub const DEFAULT_PREFIX: (Ipv6Addr, u8) = (Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, 0, 0), 96);

const PROPERTIES: [&str; 3] = ["prefix", "translate_all", "allow_ipv4"];

/// Configuration of `dns64`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dns64Config {
    /// The IPv6 prefix IPv4 addresses are embedded in (host bits cleared).
    pub prefix: Ipv6Addr,
    /// Its length: 32, 40, 48, 56, 64, 72, 80, 88 or 96.
    pub prefix_len: u8,
    /// Synthesize even when the name has AAAA records.
    pub translate_all: bool,
    /// Also translate for clients that asked over IPv4.
    pub allow_ipv4: bool,
}

impl Default for Dns64Config {
    fn default() -> Self {
        Dns64Config {
            prefix: DEFAULT_PREFIX.0,
            prefix_len: DEFAULT_PREFIX.1,
            translate_all: false,
            allow_ipv4: false,
        }
    }
}

/// Reads a prefix in CIDR notation, as CoreDNS checks it.
fn parse_prefix(text: &str) -> Result<(Ipv6Addr, u8), String> {
    let invalid = || format!("invalid CIDR address: {text}");
    let (ip, len) = text.split_once('/').ok_or_else(invalid)?;
    if len.is_empty() || len.len() > 3 || !len.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    let len: u8 = len.parse().map_err(|_| invalid())?;
    match ip.parse::<IpAddr>().map_err(|_| invalid())? {
        IpAddr::V4(v4) => {
            if len > 32 {
                return Err(invalid());
            }
            let net = std::net::Ipv4Addr::from_bits(
                v4.to_bits() & u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0),
            );
            Err(format!("invalid netmask 32 IPv6 address: \"{net}/{len}\""))
        }
        IpAddr::V6(v6) => {
            if len > 128 {
                return Err(invalid());
            }
            let net = Ipv6Addr::from_bits(
                v6.to_bits() & u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0),
            );
            if !len.is_multiple_of(8) || !(32..=96).contains(&len) {
                return Err(format!("invalid prefix length \"{net}/{len}\""));
            }
            Ok((net, len))
        }
    }
}

impl Parse for Dns64Config {
    fn parse(d: &mut Dispenser<'_>) -> Result<Self, Diagnostics> {
        let mut cfg = Dns64Config::default();
        let set_prefix = |cfg: &mut Dns64Config, d: &Dispenser<'_>, t: &Token| {
            let (prefix, len) = parse_prefix(&t.text).map_err(|e| d.err_at(t, e))?;
            cfg.prefix = prefix;
            cfg.prefix_len = len;
            Ok::<(), corec_compiler::Diagnostic>(())
        };
        while d.next() {
            let args = d.remaining_args();
            match args.as_slice() {
                [] => {}
                [prefix] => set_prefix(&mut cfg, d, prefix)?,
                _ => return Err(d.arg_err().into()),
            }
            while d.next_block() {
                match d.val() {
                    "prefix" => {
                        let t = d.arg()?;
                        set_prefix(&mut cfg, d, t)?;
                        d.end_of_line()?;
                    }
                    "translate_all" => {
                        d.end_of_line()?;
                        cfg.translate_all = true;
                    }
                    "allow_ipv4" => {
                        d.end_of_line()?;
                        cfg.allow_ipv4 = true;
                    }
                    _ => return Err(d.unknown_property(&PROPERTIES).into()),
                }
            }
        }
        Ok(cfg)
    }
}
