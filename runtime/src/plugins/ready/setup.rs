//! Syntax of `ready`:
//!
//! ```text
//! ready [ADDRESS] {
//!     monitor until-ready|continuously
//! }
//! ```

use crate::addr::HostPort;
use crate::plugin::Parse;
use corec_compiler::{Diagnostics, Dispenser, Span};

/// Where `/ready` is served unless ADDRESS says otherwise.
pub const DEFAULT_ADDRESS: &str = ":8181";

/// How long plugins are asked whether they are ready.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Monitor {
    /// Until a plugin has said it is ready once; it then counts as ready
    /// until the next reload.
    #[default]
    UntilReady,
    /// On every request: a plugin can become not ready again.
    Continuously,
}

/// Configuration of `ready`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadyConfig {
    /// The listener's address.
    pub address: HostPort,
    /// Where ADDRESS was written (for errors found when resolving it).
    pub span: Option<Span>,
    /// How plugins are polled.
    pub monitor: Monitor,
}

impl Parse for ReadyConfig {
    fn parse(d: &mut Dispenser<'_>) -> Result<Self, Diagnostics> {
        d.once()?;
        let mut cfg = ReadyConfig {
            address: HostPort::parse(DEFAULT_ADDRESS).expect("a valid default"),
            span: None,
            monitor: Monitor::default(),
        };
        while d.next() {
            if let Some((address, span)) = crate::addr::optional_address(d)? {
                cfg.address = address;
                cfg.span = Some(span);
            }
            while d.next_block() {
                if d.val() != "monitor" {
                    return Err(d.unknown_property(&["monitor"]).into());
                }
                let args = d.remaining_args();
                let [value] = args.as_slice() else {
                    return Err(d.arg_err().into());
                };
                cfg.monitor = match value.text.as_str() {
                    "until-ready" => Monitor::UntilReady,
                    "continuously" => Monitor::Continuously,
                    other => {
                        return Err(d
                            .err_at(value, format!("monitor type '{other}' not supported"))
                            .with_note("monitor accepts: until-ready, continuously")
                            .into());
                    }
                };
            }
        }
        Ok(cfg)
    }
}
