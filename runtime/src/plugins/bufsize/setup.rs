//! `bufsize [SIZE]`

use crate::plugin::Parse;
use corec_compiler::{Diagnostics, Dispenser};

/// The size used when none is given (DNS flag day 2020).
pub const DEFAULT_SIZE: u16 = 1232;
/// Smallest SIZE accepted (RFC 6891: anything less counts as 512).
pub const MIN_SIZE: u16 = 512;
/// Largest SIZE accepted.
pub const MAX_SIZE: u16 = 4096;

/// The configuration of `bufsize`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BufsizeConfig {
    /// The largest UDP payload size a query may advertise.
    pub size: u16,
}

impl Default for BufsizeConfig {
    fn default() -> Self {
        BufsizeConfig { size: DEFAULT_SIZE }
    }
}

impl Parse for BufsizeConfig {
    fn parse(d: &mut Dispenser<'_>) -> Result<Self, Diagnostics> {
        let mut chosen: Option<BufsizeConfig> = None;
        while d.next() {
            let cfg = match d.remaining_args().as_slice() {
                [] => BufsizeConfig::default(),
                [arg] => match arg.text.parse::<u16>() {
                    Ok(size) if (MIN_SIZE..=MAX_SIZE).contains(&size) => BufsizeConfig { size },
                    _ => {
                        return Err(d
                            .err_at(arg, format!("invalid buffer size '{}'", arg.text))
                            .with_label(format!("must be an integer from {MIN_SIZE} to {MAX_SIZE}"))
                            .into());
                    }
                },
                [_, extra, ..] => {
                    return Err(d
                        .err_at(extra, format!("unexpected argument '{}'", extra.text))
                        .with_note("bufsize takes one SIZE")
                        .into());
                }
            };
            if d.next_arg() {
                return Err(d.err("unexpected block: bufsize takes no options").into());
            }
            // As in CoreDNS, the first `bufsize` of a block is the one used.
            chosen.get_or_insert(cfg);
        }
        Ok(chosen.unwrap_or_default())
    }
}
