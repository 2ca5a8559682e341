//! `minimal` takes no arguments.

use crate::plugin::Parse;
use corec_compiler::{Diagnostics, Dispenser};

/// The (empty) configuration of `minimal`.
#[derive(Debug, Clone, Copy)]
pub struct MinimalConfig;

impl Parse for MinimalConfig {
    fn parse(d: &mut Dispenser<'_>) -> Result<Self, Diagnostics> {
        while d.next() {
            if d.next_arg() {
                return Err(d.arg_err().into());
            }
        }
        Ok(MinimalConfig)
    }
}
