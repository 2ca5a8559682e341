//! Syntax of `loop` (no arguments, once per server block):
//!
//! ```text
//! loop
//! ```

use crate::plugin::Parse;
use corec_compiler::{Diagnostics, Dispenser};

/// Configuration of `loop`: there is nothing to configure.
#[derive(Debug, Clone, Copy, Default)]
pub struct LoopConfig;

impl Parse for LoopConfig {
    fn parse(d: &mut Dispenser<'_>) -> Result<Self, Diagnostics> {
        d.once()?;
        while d.next() {
            if d.next_arg() {
                return Err(d.arg_err().into());
            }
        }
        Ok(LoopConfig)
    }
}
