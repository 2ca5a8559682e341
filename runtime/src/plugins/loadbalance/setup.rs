//! Syntax of `loadbalance`:
//!
//! ```text
//! loadbalance [round_robin | weighted WEIGHTFILE] {
//!     reload DURATION
//!     prefer CIDR [CIDR...]
//! }
//! ```

use crate::plugin::Parse;
use corec_compiler::duration::parse_go_duration;
use corec_compiler::{Diagnostic, Diagnostics, Dispenser, Span, Token};
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;
use std::time::Duration;

/// How often the weight file is checked unless `reload` says otherwise.
pub const DEFAULT_RELOAD: Duration = Duration::from_secs(30);

/// The block's keywords.
const PROPERTIES: [&str; 2] = ["reload", "prefer"];

/// The policies, as written.
const POLICIES: [&str; 2] = ["round_robin", "weighted"];

/// Configuration of `loadbalance`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadbalanceConfig {
    /// How records are ordered.
    pub policy: Policy,
    /// `prefer`: addresses in these networks go first, in this order.
    pub prefer: Vec<Cidr>,
}

/// A load-balancing policy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Policy {
    /// `round_robin`: shuffle A, AAAA and MX records (the default).
    #[default]
    RoundRobin,
    /// `weighted WEIGHTFILE`: pick the first address by weight.
    Weighted(WeightedConfig),
}

/// The `weighted` policy's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeightedConfig {
    /// The weight file as written (resolved against `root` at build).
    pub file: String,
    /// Where it was written, for build-time errors.
    pub file_span: Option<Span>,
    /// Interval between checks of the file; zero disables them.
    pub reload: Duration,
}

/// An IP network, `ADDRESS/BITS`, with the host bits cleared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    bits: u8,
}

impl Cidr {
    /// The network address.
    pub fn network(&self) -> IpAddr {
        self.network
    }

    /// The prefix length.
    pub fn bits(&self) -> u8 {
        self.bits
    }

    /// Is `ip` inside? An IPv4 network also holds the IPv4-mapped form
    /// (`::ffff:a.b.c.d`) of its addresses.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                mask_v4(u32::from(ip), self.bits) == u32::from(net)
            }
            (IpAddr::V4(net), IpAddr::V6(ip)) => ip
                .to_ipv4_mapped()
                .is_some_and(|ip| mask_v4(u32::from(ip), self.bits) == u32::from(net)),
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                mask_v6(u128::from(ip), self.bits) == u128::from(net)
            }
            (IpAddr::V6(_), IpAddr::V4(_)) => false,
        }
    }
}

fn mask_v4(addr: u32, bits: u8) -> u32 {
    addr.checked_shr(32 - u32::from(bits))
        .map_or(0, |a| a << (32 - u32::from(bits)))
}

fn mask_v6(addr: u128, bits: u8) -> u128 {
    addr.checked_shr(128 - u32::from(bits))
        .map_or(0, |a| a << (128 - u32::from(bits)))
}

/// Why a CIDR did not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CidrError(String);

impl fmt::Display for CidrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid CIDR address: {}", self.0)
    }
}

impl std::error::Error for CidrError {}

impl FromStr for Cidr {
    type Err = CidrError;

    fn from_str(text: &str) -> Result<Self, CidrError> {
        let bad = || CidrError(text.to_string());
        let (addr, bits) = text.split_once('/').ok_or_else(bad)?;
        let addr: IpAddr = addr.parse().map_err(|_| bad())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let digits_ok = !bits.is_empty()
            && bits.len() <= 3
            && bits.bytes().all(|b| b.is_ascii_digit())
            && (bits == "0" || !bits.starts_with('0'));
        let bits: u8 = match bits.parse() {
            Ok(n) if digits_ok && n <= max => n,
            _ => return Err(bad()),
        };
        let network = match addr {
            IpAddr::V4(a) => IpAddr::V4(mask_v4(u32::from(a), bits).into()),
            IpAddr::V6(a) => IpAddr::V6(mask_v6(u128::from(a), bits).into()),
        };
        Ok(Cidr { network, bits })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.bits)
    }
}

impl Parse for LoadbalanceConfig {
    fn parse(d: &mut Dispenser<'_>) -> Result<Self, Diagnostics> {
        let mut cfg = LoadbalanceConfig::default();
        // Every occurrence is read; a later policy replaces an earlier one
        // and `prefer` networks add up, as in CoreDNS.
        while d.next() {
            let args = d.remaining_args();
            let mut weighted = parse_policy(d, &args)?;
            while d.next_block() {
                match d.val() {
                    "reload" => {
                        let Some(w) = weighted.as_mut() else {
                            return Err(d
                                .err("reload is only valid with the weighted policy")
                                .into());
                        };
                        w.reload = parse_reload(d)?;
                    }
                    "prefer" => {
                        for tok in d.remaining_args() {
                            let cidr = tok.text.parse::<Cidr>().map_err(|e| {
                                d.err_at(tok, format!("invalid CIDR \"{}\": {e}", tok.text))
                            })?;
                            cfg.prefer.push(cidr);
                        }
                    }
                    _ => return Err(d.unknown_property(&PROPERTIES).into()),
                }
            }
            cfg.policy = match weighted {
                Some(w) => Policy::Weighted(w),
                None => Policy::RoundRobin,
            };
        }
        Ok(cfg)
    }
}

/// The arguments after `loadbalance`: `None` for round robin.
fn parse_policy(d: &Dispenser<'_>, args: &[&Token]) -> Result<Option<WeightedConfig>, Diagnostic> {
    let Some((policy, rest)) = args.split_first() else {
        return Ok(None);
    };
    match (policy.text.as_str(), rest) {
        ("round_robin", []) => Ok(None),
        ("round_robin", [extra, ..]) => Err(d.err_at(extra, "unknown property for round_robin")),
        ("weighted", []) => Err(d.err_at(policy, "missing weight file argument")),
        ("weighted", [file]) => Ok(Some(WeightedConfig {
            file: file.text.clone(),
            file_span: Some(file.span),
            reload: DEFAULT_RELOAD,
        })),
        ("weighted", [_, extra, ..]) => Err(d.err_at(extra, "unexpected argument(s)")),
        (other, _) => Err(d
            .err_at(policy, format!("unknown policy: {other}"))
            .with_note(format!("loadbalance policies: {}", POLICIES.join(", ")))),
    }
}

/// `reload DURATION`: a Go duration, zero to disable, never negative.
fn parse_reload(d: &mut Dispenser<'_>) -> Result<Duration, Diagnostic> {
    let args = d.remaining_args();
    let tok = match args.as_slice() {
        [] => return Err(d.err("reload duration value is missing")),
        [tok] => tok,
        [_, extra, ..] => return Err(d.err_at(extra, "unexpected argument")),
    };
    match parse_go_duration(&tok.text) {
        Err(_) => Err(d.err_at(tok, format!("invalid reload duration '{}'", tok.text))),
        Ok(n) if n < 0 => Err(d.err_at(
            tok,
            format!("invalid negative reload duration '{}'", tok.text),
        )),
        Ok(n) => Ok(Duration::from_nanos(n as u64)),
    }
}
