//! Syntax of `timeouts`:
//!
//! ```text
//! timeouts {
//!     read DURATION
//!     write DURATION
//!     idle DURATION
//!     maxtcpqueries MAXIMUM
//! }
//! ```

use crate::plugin::Parse;
use corec_compiler::diag::did_you_mean;
use corec_compiler::duration::{format_go_duration, parse_go_duration};
use corec_compiler::{Diagnostics, Dispenser};
use std::time::Duration;

const OPTIONS: [&str; 4] = ["read", "write", "idle", "maxtcpqueries"];

/// The shortest timeout accepted.
pub const MIN_TIMEOUT: Duration = Duration::from_secs(1);
/// The longest timeout accepted.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(24 * 3600);

/// Configuration of `timeouts`: what the block sets; the rest keeps the
/// server's defaults (read 3s, write 5s, idle 10s, no query limit).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimeoutsConfig {
    /// Time allowed to receive a query once it has started.
    pub read: Option<Duration>,
    /// Time allowed to write a reply.
    pub write: Option<Duration>,
    /// Time a connection may wait for its next query.
    pub idle: Option<Duration>,
    /// Queries per connection: `Some(None)` is `-1`, unlimited.
    pub max_tcp_queries: Option<Option<u64>>,
}

/// Is `text` what Go's `strconv.Atoi` accepts (a sign and decimal digits)?
fn is_integer(text: &str) -> bool {
    let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) && text.parse::<i64>().is_ok()
}

/// A duration argument: a Go duration, or a bare number of seconds.
fn duration_arg(text: &str) -> Result<Duration, String> {
    let arg = if is_integer(text) {
        format!("{text}s")
    } else {
        text.to_string()
    };
    let nanos = parse_go_duration(&arg).map_err(|_| format!("failed to parse duration '{arg}'"))?;
    let fits = nanos >= MIN_TIMEOUT.as_nanos() as i64 && nanos <= MAX_TIMEOUT.as_nanos() as i64;
    if !fits {
        return Err(format!(
            "timeout provided '{}' needs to be between 1 second and 24 hours",
            format_go_duration(nanos)
        ));
    }
    Ok(Duration::from_nanos(nanos as u64))
}

/// A `maxtcpqueries` argument: -1 or a positive integer.
fn max_queries_arg(text: &str) -> Result<Option<u64>, String> {
    let n: i64 = if is_integer(text) {
        text.parse().unwrap_or_default()
    } else {
        let why = if text
            .strip_prefix(['+', '-'])
            .unwrap_or(text)
            .bytes()
            .all(|b| b.is_ascii_digit())
            && !text.is_empty()
        {
            "value out of range"
        } else {
            "invalid syntax"
        };
        return Err(format!(
            "invalid value for maxtcpqueries '{text}': strconv.Atoi: parsing {text:?}: {why}"
        ));
    };
    match n {
        -1 => Ok(None),
        n if n > 0 => Ok(Some(n as u64)),
        n => Err(format!(
            "maxtcpqueries provided '{n}' needs to be -1 (unlimited) or a positive integer"
        )),
    }
}

impl Parse for TimeoutsConfig {
    fn parse(d: &mut Dispenser<'_>) -> Result<Self, Diagnostics> {
        let mut cfg = TimeoutsConfig::default();
        while d.next() {
            if !d.remaining_args().is_empty() {
                return Err(d.arg_err().into());
            }
            let mut set = 0;
            while d.next_block() {
                let option = d.token().expect("next_block moved onto a token");
                if !OPTIONS.contains(&option.text.as_str()) {
                    let mut e = d.err(format!("unknown option: '{}'", option.text));
                    if let Some(s) = did_you_mean(&option.text, OPTIONS.iter().copied()) {
                        e = e.with_label(format!("did you mean '{s}'?"));
                    }
                    return Err(e.into());
                }
                let args = d.remaining_args();
                let [value] = args.as_slice() else {
                    return Err(d.arg_err().into());
                };
                let fail = |msg: String| -> Diagnostics { d.err_at(value, msg).into() };
                match option.text.as_str() {
                    "maxtcpqueries" => {
                        cfg.max_tcp_queries = Some(max_queries_arg(&value.text).map_err(fail)?);
                    }
                    "read" => cfg.read = Some(duration_arg(&value.text).map_err(fail)?),
                    "write" => cfg.write = Some(duration_arg(&value.text).map_err(fail)?),
                    _ => cfg.idle = Some(duration_arg(&value.text).map_err(fail)?),
                }
                set += 1;
            }
            if set == 0 {
                return Err(d.err("timeouts block with no timeouts specified").into());
            }
        }
        Ok(cfg)
    }
}
