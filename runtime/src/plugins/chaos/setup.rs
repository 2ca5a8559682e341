//! `chaos [VERSION] [AUTHORS...]`

use crate::plugin::Parse;
use corec_compiler::{Diagnostics, Dispenser};

/// The configuration of `chaos`.
#[derive(Debug, Clone, Default)]
pub struct ChaosConfig {
    /// Answer to `version.bind`/`version.server`; `None` = corec's version.
    pub version: Option<String>,
    /// Answers to `authors.bind`; empty = the default list.
    pub authors: Vec<String>,
}

impl Parse for ChaosConfig {
    fn parse(d: &mut Dispenser<'_>) -> Result<Self, Diagnostics> {
        d.once()?;
        let mut cfg = ChaosConfig::default();
        d.next();
        let args = d.remaining_args();
        if let Some((version, authors)) = args.split_first() {
            cfg.version = Some(version.text.clone());
            cfg.authors = authors.iter().map(|t| t.text.clone()).collect();
        }
        if d.next_block() {
            return Err(d.err("chaos takes no block").into());
        }
        Ok(cfg)
    }
}
