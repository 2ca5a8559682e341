//! Syntax of `local`:
//!
//! ```text
//! local {
//!     localhost_prefix on|off
//! }
//! ```

use crate::plugin::Parse;
use corec_compiler::{Diagnostics, Dispenser};

/// The block's keywords.
const PROPERTIES: [&str; 1] = ["localhost_prefix"];

/// Configuration of `local`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalConfig {
    /// Answer legacy `localhost.<domain>` names too (`localhost_prefix on`,
    /// the default).
    pub localhost_prefix: bool,
}

impl Default for LocalConfig {
    fn default() -> Self {
        LocalConfig {
            localhost_prefix: true,
        }
    }
}

impl Parse for LocalConfig {
    fn parse(d: &mut Dispenser<'_>) -> Result<Self, Diagnostics> {
        d.once()?;
        let mut cfg = LocalConfig::default();
        d.next();
        if !d.remaining_args().is_empty() {
            return Err(d.arg_err().into());
        }
        while d.next_block() {
            match d.val() {
                "localhost_prefix" => {
                    let args = d.remaining_args();
                    let [value] = args.as_slice() else {
                        return Err(d.arg_err().into());
                    };
                    cfg.localhost_prefix = match value.text.as_str() {
                        "on" => true,
                        "off" => false,
                        other => {
                            return Err(d
                                .err_at(
                                    value,
                                    format!(
                                        "localhost_prefix expects 'on' or 'off', got \"{other}\""
                                    ),
                                )
                                .into());
                        }
                    };
                }
                _ => return Err(d.unknown_property(&PROPERTIES).into()),
            }
        }
        Ok(cfg)
    }
}
