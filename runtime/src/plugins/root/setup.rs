//! `root PATH`

use crate::plugin::Parse;
use corec_compiler::{Diagnostics, Dispenser};

/// The configuration of `root`.
#[derive(Debug, Clone)]
pub struct RootConfig {
    /// The directory, as written.
    pub path: String,
}

impl Parse for RootConfig {
    fn parse(d: &mut Dispenser<'_>) -> Result<Self, Diagnostics> {
        d.once()?;
        d.next();
        let path = d.arg()?.text.clone();
        d.end_of_line()?;
        Ok(RootConfig { path })
    }
}
