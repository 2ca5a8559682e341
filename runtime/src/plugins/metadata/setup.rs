//! `metadata [ZONES...]`, once per block, without a block of options.

use crate::plugin::Parse;
use corec_compiler::{Diagnostics, Dispenser};

/// The configuration of `metadata`: the zones whose queries get the
/// providers' labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataConfig {
    /// Lowercase, fully qualified; the block's zones when none are given.
    pub zones: Vec<String>,
}

impl Parse for MetadataConfig {
    fn parse(d: &mut Dispenser<'_>) -> Result<Self, Diagnostics> {
        d.next();
        let args = d.remaining_args();
        let zones = d.origins(&args);
        // Anything after the zones is an error, as in CoreDNS: options in a
        // `{ }` block, or a second `metadata` line (the cursor then stands on
        // the token that should not be there).
        if d.next_block() || d.next() {
            return Err(d.arg_err().into());
        }
        Ok(MetadataConfig { zones })
    }
}
