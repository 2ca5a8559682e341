//! Syntax of `errors` (placeholder).
use crate::plugin::Parse;
use corec_compiler::{Diagnostics, Dispenser};

/// Configuration of `errors`.
#[derive(Debug, Clone)]
pub struct ErrorsConfig;

impl Parse for ErrorsConfig {
    fn parse(_d: &mut Dispenser<'_>) -> Result<Self, Diagnostics> {
        Ok(ErrorsConfig)
    }
}
