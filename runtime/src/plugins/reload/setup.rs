//! Syntax of `reload`:
//!
//! ```text
//! reload [INTERVAL [JITTER]]
//! ```

use crate::plugin::Parse;
use corec_compiler::duration::parse_go_duration;
use corec_compiler::{Diagnostics, Dispenser};
use std::time::Duration;

/// How often the Corefile is checked unless INTERVAL says otherwise.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(30);
/// The spread of the checks unless JITTER says otherwise.
pub const DEFAULT_JITTER: Duration = Duration::from_secs(15);
/// The shortest INTERVAL.
pub const MIN_INTERVAL: Duration = Duration::from_secs(2);
/// The shortest JITTER other than none.
pub const MIN_JITTER: Duration = Duration::from_secs(1);

/// Configuration of `reload`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReloadConfig {
    /// Time between two checks, before jitter.
    pub interval: Duration,
    /// The check period is INTERVAL ± JITTER/2, drawn once per (re)load;
    /// at most INTERVAL/2, zero for none.
    pub jitter: Duration,
}

impl Default for ReloadConfig {
    fn default() -> Self {
        ReloadConfig {
            interval: DEFAULT_INTERVAL,
            jitter: DEFAULT_JITTER.min(DEFAULT_INTERVAL / 2),
        }
    }
}

impl Parse for ReloadConfig {
    fn parse(d: &mut Dispenser<'_>) -> Result<Self, Diagnostics> {
        d.once()?;
        d.next();
        let args = d.remaining_args();
        if args.len() > 2 {
            return Err(d.arg_err().into());
        }
        // Go durations, negative ones included (they are then too short).
        let duration = |i: usize, default: Duration| -> Result<i64, Diagnostics> {
            match args.get(i) {
                None => Ok(default.as_nanos() as i64),
                Some(t) => parse_go_duration(&t.text).map_err(|e| d.err_at(t, e).into()),
            }
        };
        let interval = duration(0, DEFAULT_INTERVAL)?;
        if interval < MIN_INTERVAL.as_nanos() as i64 {
            let msg = "interval value must be greater or equal to 2s";
            return Err(match args.first() {
                Some(t) => d.err_at(t, msg),
                None => d.err(msg),
            }
            .into());
        }
        let jitter = duration(1, DEFAULT_JITTER)?;
        if jitter != 0 && jitter < MIN_JITTER.as_nanos() as i64 {
            let msg = "jitter value must be 0 or greater or equal to 1s";
            return Err(match args.get(1) {
                Some(t) => d.err_at(t, msg),
                None => d.err(msg),
            }
            .into());
        }
        let interval = Duration::from_nanos(interval as u64);
        let jitter = Duration::from_nanos(jitter as u64).min(interval / 2);
        if d.next_block() {
            return Err(d.unknown_property(&[]).into());
        }
        Ok(ReloadConfig { interval, jitter })
    }
}
