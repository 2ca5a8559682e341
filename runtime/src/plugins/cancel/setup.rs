//! Syntax of `cancel`:
//!
//! ```text
//! cancel [TIMEOUT]
//! ```

use crate::plugin::Parse;
use corec_compiler::duration::parse_go_duration;
use corec_compiler::{Diagnostics, Dispenser};
use std::time::Duration;

/// How long the rest of the chain may take unless TIMEOUT says otherwise:
/// just over the 5 seconds most clients wait.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(5001);

/// Configuration of `cancel`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CancelConfig {
    /// The time allowed to the plugins after *cancel*.
    pub timeout: Duration,
}

impl Parse for CancelConfig {
    fn parse(d: &mut Dispenser<'_>) -> Result<Self, Diagnostics> {
        let mut cfg = CancelConfig {
            timeout: DEFAULT_TIMEOUT,
        };
        // Repeated, the last one counts (as in CoreDNS).
        while d.next() {
            let args = d.remaining_args();
            cfg.timeout = match args.as_slice() {
                [] => DEFAULT_TIMEOUT,
                [t] => match parse_go_duration(&t.text) {
                    Err(_) => {
                        return Err(d
                            .err_at(t, format!("invalid duration: {:?}", t.text))
                            .into());
                    }
                    Ok(n) if n <= 0 => {
                        return Err(d
                            .err_at(t, format!("invalid negative duration: {:?}", t.text))
                            .into());
                    }
                    Ok(n) => Duration::from_nanos(n as u64),
                },
                _ => return Err(d.arg_err().into()),
            };
            if d.next_block() {
                return Err(d.unknown_property(&[]).into());
            }
        }
        Ok(cfg)
    }
}
