//! Syntax of `hosts`:
//!
//! ```text
//! hosts [FILE [ZONES...]] {
//!     [INLINE]
//!     ttl SECONDS
//!     no_reverse
//!     reload DURATION
//!     fallthrough [ZONES...]
//!     fallthrough_unsupported
//! }
//! ```

use crate::plugin::Parse;
use corec_compiler::duration::parse_go_duration;
use corec_compiler::{Diagnostics, Dispenser, Span, Token};
use std::time::Duration;

/// The file read when the directive names none.
pub const DEFAULT_PATH: &str = "/etc/hosts";
/// TTL of generated records unless `ttl` says otherwise.
pub const DEFAULT_TTL: u32 = 3600;
/// How often the file is checked unless `reload` says otherwise.
pub const DEFAULT_RELOAD: Duration = Duration::from_secs(5);

/// The block's keywords; any other line before `fallthrough` is a hosts line.
const PROPERTIES: [&str; 5] = [
    "ttl",
    "no_reverse",
    "reload",
    "fallthrough",
    "fallthrough_unsupported",
];

/// Configuration of `hosts`.
#[derive(Debug, Clone)]
pub struct HostsConfig {
    /// The hosts file as written (resolved against `root` at build).
    pub path: String,
    /// Where FILE was written, for build-time errors.
    pub path_span: Option<Span>,
    /// Zones served (lowercased FQDNs); the block's zones by default.
    pub zones: Vec<String>,
    /// Hosts-file lines written inside the block, tokens joined by spaces.
    pub inline: Vec<String>,
    /// TTL of every record served.
    pub ttl: u32,
    /// Generate PTR data from the entries (`no_reverse` turns it off).
    pub reverse: bool,
    /// Interval between checks of the file; zero disables them.
    pub reload: Duration,
    /// Zones for which unknown names go to the next plugin; `None` without
    /// `fallthrough`, `["."]` for a bare `fallthrough`.
    pub fallthrough: Option<Vec<String>>,
    /// Also pass queries for types other than A, AAAA and PTR on.
    pub fallthrough_unsupported: bool,
}

impl HostsConfig {
    fn new(zones: Vec<String>) -> Self {
        HostsConfig {
            path: DEFAULT_PATH.to_string(),
            path_span: None,
            zones,
            inline: Vec::new(),
            ttl: DEFAULT_TTL,
            reverse: true,
            reload: DEFAULT_RELOAD,
            fallthrough: None,
            fallthrough_unsupported: false,
        }
    }
}

impl Parse for HostsConfig {
    fn parse(d: &mut Dispenser<'_>) -> Result<Self, Diagnostics> {
        d.once()?;
        d.next();
        let args = d.remaining_args();
        let mut cfg = match args.split_first() {
            Some((file, zones)) => {
                let mut cfg = HostsConfig::new(d.origins(zones));
                cfg.path = file.text.clone();
                cfg.path_span = Some(file.span);
                cfg
            }
            None => HostsConfig::new(d.origins(&[])),
        };
        let mut unsupported_at: Option<&Token> = None;
        while d.next_block() {
            match d.val() {
                "ttl" => cfg.ttl = parse_ttl(d)?,
                "reload" => cfg.reload = parse_reload(d)?,
                "no_reverse" => {
                    d.end_of_line()?;
                    cfg.reverse = false;
                }
                "fallthrough" => {
                    let zones = d.remaining_args();
                    cfg.fallthrough = Some(if zones.is_empty() {
                        vec![".".to_string()]
                    } else {
                        d.origins(&zones)
                    });
                }
                "fallthrough_unsupported" => {
                    unsupported_at = d.token();
                    d.end_of_line()?;
                    cfg.fallthrough_unsupported = true;
                }
                // Before `fallthrough`, anything else is a line of the hosts file.
                first if cfg.fallthrough.is_none() => {
                    let mut line = first.to_string();
                    for t in d.remaining_args() {
                        line.push(' ');
                        line.push_str(&t.text);
                    }
                    cfg.inline.push(line);
                }
                _ => return Err(d.unknown_property(&PROPERTIES).into()),
            }
        }
        if cfg.fallthrough_unsupported && cfg.fallthrough.is_none() {
            let msg = "fallthrough_unsupported requires fallthrough";
            return Err(match unsupported_at {
                Some(t) => d.err_at(t, msg),
                None => d.err(msg),
            }
            .into());
        }
        Ok(cfg)
    }
}

/// `ttl SECONDS`: 1 to 65535.
fn parse_ttl(d: &mut Dispenser<'_>) -> Result<u32, Diagnostics> {
    if !d.next_arg() || d.val() == "{" {
        return Err(d.err("ttl needs a time in seconds").into());
    }
    let tok = d.token().expect("next_arg moved onto a token");
    let Ok(n) = tok.text.parse::<i64>() else {
        return Err(d
            .err(format!("ttl needs a number of seconds, not '{}'", tok.text))
            .into());
    };
    if !(1..=65535).contains(&n) {
        return Err(d
            .err(format!(
                "ttl provided is invalid: {n} is not between 1 and 65535"
            ))
            .into());
    }
    d.end_of_line()?;
    Ok(n as u32)
}

/// `reload DURATION`: a Go duration, zero to disable, never negative.
fn parse_reload(d: &mut Dispenser<'_>) -> Result<Duration, Diagnostics> {
    let args = d.remaining_args();
    let [tok] = args.as_slice() else {
        let msg = "reload needs a duration (zero seconds to disable)";
        return Err(match args.get(1) {
            Some(extra) => d.err_at(extra, msg),
            None => d.err(msg),
        }
        .into());
    };
    match parse_go_duration(&tok.text).ok() {
        None => Err(d
            .err_at(tok, format!("invalid duration for reload '{}'", tok.text))
            .into()),
        Some(n) if n < 0 => Err(d
            .err_at(
                tok,
                format!("invalid negative duration for reload '{}'", tok.text),
            )
            .into()),
        Some(n) => Ok(Duration::from_nanos(n as u64)),
    }
}
