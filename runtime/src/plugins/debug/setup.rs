//! `debug` takes no arguments.

use crate::plugin::Parse;
use corec_compiler::{Diagnostics, Dispenser};

/// The (empty) configuration of `debug`.
#[derive(Debug, Clone, Copy)]
pub struct DebugConfig;

impl Parse for DebugConfig {
    fn parse(d: &mut Dispenser<'_>) -> Result<Self, Diagnostics> {
        while d.next() {
            if d.next_arg() {
                return Err(d.arg_err().into());
            }
        }
        Ok(DebugConfig)
    }
}
