//! Syntax of `prometheus`:
//!
//! ```text
//! prometheus [ADDRESS] {
//!     runtime_metrics
//! }
//! ```

use crate::addr::HostPort;
use crate::plugin::Parse;
use corec_compiler::{Diagnostics, Dispenser, Span};

/// Where `/metrics` is served unless ADDRESS says otherwise.
pub const DEFAULT_ADDRESS: &str = "localhost:9153";

/// Configuration of `prometheus`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrometheusConfig {
    /// The listener's address.
    pub address: HostPort,
    /// Where ADDRESS was written (for errors found when resolving it).
    pub span: Option<Span>,
}

impl Parse for PrometheusConfig {
    fn parse(d: &mut Dispenser<'_>) -> Result<Self, Diagnostics> {
        d.once()?;
        let mut cfg = PrometheusConfig {
            address: HostPort::parse(DEFAULT_ADDRESS).expect("a valid default"),
            span: None,
        };
        while d.next() {
            if let Some((address, span)) = crate::addr::optional_address(d)? {
                cfg.address = address;
                cfg.span = Some(span);
            }
            while d.next_block() {
                match d.val() {
                    // Go's runtime/metrics set: there is no Go runtime to
                    // describe, and the process_* metrics are always there.
                    "runtime_metrics" => {
                        if !d.remaining_args().is_empty() {
                            return Err(d.arg_err().into());
                        }
                    }
                    "tls" => {
                        return Err(d
                            .err("plugin/prometheus: tls is not supported by corec yet")
                            .with_note("serve /metrics on a loopback or private address instead")
                            .into());
                    }
                    _ => return Err(d.unknown_property(&["runtime_metrics", "tls"]).into()),
                }
            }
        }
        Ok(cfg)
    }
}
