//! `nsid [DATA...]`

use crate::plugin::Parse;
use corec_compiler::{Diagnostics, Dispenser};

/// The configuration of `nsid`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NsidConfig {
    /// The identifier: the arguments joined by single spaces; `None` = the
    /// host name, looked up when the plugin is built.
    pub data: Option<String>,
}

impl Parse for NsidConfig {
    fn parse(d: &mut Dispenser<'_>) -> Result<Self, Diagnostics> {
        d.once()?;
        let mut cfg = NsidConfig::default();
        d.next();
        let args = d.remaining_args();
        if !args.is_empty() {
            let data = args
                .iter()
                .map(|t| t.text.as_str())
                .collect::<Vec<_>>()
                .join(" ");
            // An EDNS option's length is a 16-bit field.
            if data.len() > usize::from(u16::MAX) {
                return Err(d.err_at(args[0], "DATA is longer than 65535 bytes").into());
            }
            cfg.data = Some(data);
        }
        if d.next_arg() {
            return Err(d.err("unexpected block: nsid takes no options").into());
        }
        Ok(cfg)
    }
}
