//! Syntax of `log` (placeholder).
use crate::plugin::Parse;
use corec_compiler::{Diagnostics, Dispenser};

/// Configuration of `log`.
#[derive(Debug, Clone)]
pub struct LogConfig;

impl Parse for LogConfig {
    fn parse(_d: &mut Dispenser<'_>) -> Result<Self, Diagnostics> {
        Ok(LogConfig)
    }
}
