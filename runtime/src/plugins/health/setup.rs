//! Syntax of `health`:
//!
//! ```text
//! health [ADDRESS] {
//!     lameduck DURATION
//! }
//! ```

use crate::addr::HostPort;
use crate::plugin::Parse;
use corec_compiler::duration::parse_go_duration;
use corec_compiler::{Diagnostics, Dispenser, Span};
use std::time::Duration;

/// Where `/health` is served unless ADDRESS says otherwise.
pub const DEFAULT_ADDRESS: &str = ":8080";

/// Configuration of `health`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthConfig {
    /// The listener's address.
    pub address: HostPort,
    /// Where ADDRESS was written (for errors found when resolving it).
    pub span: Option<Span>,
    /// How long to keep serving after SIGTERM/SIGINT; zero for none.
    pub lameduck: Duration,
}

impl Parse for HealthConfig {
    fn parse(d: &mut Dispenser<'_>) -> Result<Self, Diagnostics> {
        let mut cfg = HealthConfig {
            address: HostPort::parse(DEFAULT_ADDRESS).expect("a valid default"),
            span: None,
            lameduck: Duration::ZERO,
        };
        // Repeated, the last address and lameduck count (as in CoreDNS).
        while d.next() {
            if let Some((address, span)) = crate::addr::optional_address(d)? {
                cfg.address = address;
                cfg.span = Some(span);
            }
            while d.next_block() {
                if d.val() != "lameduck" {
                    return Err(d.unknown_property(&["lameduck"]).into());
                }
                let args = d.remaining_args();
                let [value] = args.as_slice() else {
                    return Err(d.arg_err().into());
                };
                let nanos = parse_go_duration(&value.text).map_err(|e| {
                    d.err_at(
                        value,
                        format!(
                            "unable to parse lameduck duration value: '{}' : {e}",
                            value.text
                        ),
                    )
                })?;
                // As in CoreDNS, zero or a negative duration is no lameduck.
                cfg.lameduck = Duration::from_nanos(nanos.max(0) as u64);
            }
        }
        Ok(cfg)
    }
}
