//! `any` takes no arguments.

use crate::plugin::Parse;
use corec_compiler::{Diagnostics, Dispenser};

/// The (empty) configuration of `any`.
#[derive(Debug, Clone, Copy)]
pub struct AnyConfig;

impl Parse for AnyConfig {
    fn parse(d: &mut Dispenser<'_>) -> Result<Self, Diagnostics> {
        while d.next() {
            if d.next_arg() {
                return Err(d.arg_err().into());
            }
        }
        Ok(AnyConfig)
    }
}
