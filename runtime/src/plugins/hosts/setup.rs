//! Syntax of `hosts` (placeholder).
use crate::plugin::Parse;
use corec_compiler::{Diagnostics, Dispenser};

/// Configuration of `hosts`.
#[derive(Debug, Clone)]
pub struct HostsConfig;

impl Parse for HostsConfig {
    fn parse(_d: &mut Dispenser<'_>) -> Result<Self, Diagnostics> {
        Ok(HostsConfig)
    }
}
