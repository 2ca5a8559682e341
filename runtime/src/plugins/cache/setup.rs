//! Syntax of `cache`:
//!
//! ```text
//! cache [TTL] [ZONES...] {
//!     success CAPACITY [TTL [MINTTL]]
//!     denial CAPACITY [TTL [MINTTL]]
//!     prefetch AMOUNT [DURATION [PERCENTAGE%]]
//!     serve_stale [DURATION [immediate [RESPONSE_TTL [FAILURE_RECHECK]] | verify [VERIFY_TIMEOUT [RESPONSE_TTL [FAILURE_RECHECK]]]]]
//!     serve_stale_policy prefer_positive
//!     servfail DURATION
//!     disable success|denial [ZONES...]
//!     keepttl
//! }
//! ```

use crate::plugin::Parse;
use corec_compiler::duration::parse_go_duration;
use corec_compiler::{Diagnostics, Dispenser, Token};
use std::time::Duration;

/// Shards per cache (CoreDNS's number).
pub const SHARDS: usize = 256;
/// Entries per cache unless `success` or `denial` says otherwise.
pub const DEFAULT_CAPACITY: i64 = 10_000;
/// Fewest entries a shard holds, whatever the capacity (so at least 1024 per cache).
pub const MIN_PER_SHARD: usize = 4;
/// Longest time a positive answer is kept.
pub const DEFAULT_SUCCESS_TTL: u64 = 3600;
/// Longest time a denial (NXDOMAIN, NODATA) is kept.
pub const DEFAULT_DENIAL_TTL: u64 = 1800;
/// Shortest time an answer is kept (both caches).
pub const DEFAULT_MIN_TTL: u64 = 5;
/// How long a SERVFAIL reply is kept unless `servfail` says otherwise.
pub const DEFAULT_SERVFAIL: Duration = Duration::from_secs(5);
/// The longest `servfail` and FAILURE_RECHECK allowed (RFC 2308 §7.1, RFC 8767).
pub const FIVE_MINUTES: Duration = Duration::from_secs(300);

const PROPERTIES: [&str; 8] = [
    "success",
    "denial",
    "prefetch",
    "serve_stale",
    "serve_stale_policy",
    "servfail",
    "disable",
    "keepttl",
];

/// Settings of one of the two caches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClassConfig {
    /// CAPACITY as written (any integer; see [`per_shard`](Self::per_shard)).
    pub capacity: i64,
    /// Longest time an entry is kept, in seconds.
    pub max_ttl: u64,
    /// Shortest time an entry is kept, in seconds.
    pub min_ttl: u64,
}

impl ClassConfig {
    fn new(max_ttl: u64) -> Self {
        ClassConfig {
            capacity: DEFAULT_CAPACITY,
            max_ttl,
            min_ttl: DEFAULT_MIN_TTL,
        }
    }

    /// Entries per shard: the capacity split over the shards, at least
    /// [`MIN_PER_SHARD`] (10000 gives 39, 9984 in all).
    pub fn per_shard(&self) -> usize {
        usize::try_from(self.capacity / SHARDS as i64)
            .unwrap_or(0)
            .max(MIN_PER_SHARD)
    }
}

/// `prefetch AMOUNT [DURATION [PERCENTAGE%]]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prefetch {
    /// Hits an entry needs (without a gap of `window`) to be refreshed early; 0 disables.
    pub amount: u64,
    /// The longest gap between two hits that keeps counting.
    pub window: Duration,
    /// Refresh once the remaining TTL is at most this share of the original.
    pub percentage: u8,
}

/// How an expired entry is refreshed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StaleMode {
    /// Answer from the expired entry at once and refresh it in the background.
    Immediate,
    /// Ask the next plugin first and answer from the expired entry only if
    /// that fails, or if it takes longer than the timeout (zero: no timeout).
    Verify {
        /// VERIFY_TIMEOUT.
        timeout: Duration,
    },
}

/// `serve_stale ...`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServeStale {
    /// How long after expiry an entry may still be served (zero: never).
    pub up_to: Duration,
    /// When the refresh happens.
    pub mode: StaleMode,
    /// RESPONSE_TTL: the TTL of every record of a stale answer.
    pub response_ttl: u32,
    /// FAILURE_RECHECK: after a failed refresh, no new one for this long.
    pub failure_recheck: Duration,
}

/// Configuration of `cache`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheConfig {
    /// Zones whose queries are cached (lowercase FQDNs; the block's by default).
    pub zones: Vec<String>,
    /// The success cache.
    pub success: ClassConfig,
    /// The denial cache.
    pub denial: ClassConfig,
    /// `prefetch`, if given.
    pub prefetch: Option<Prefetch>,
    /// `serve_stale`, if given.
    pub serve_stale: Option<ServeStale>,
    /// `serve_stale_policy prefer_positive`.
    pub prefer_positive: bool,
    /// How long SERVFAIL (and NOTIMP) replies are kept; zero: not at all.
    pub servfail: Duration,
    /// Zones whose positive answers are not stored.
    pub disable_success: Vec<String>,
    /// Zones whose denials and failures are not stored.
    pub disable_denial: Vec<String>,
    /// Serve the stored TTL instead of the remaining one.
    pub keepttl: bool,
}

impl CacheConfig {
    /// The defaults for a cache of `zones`.
    pub fn new(zones: Vec<String>) -> Self {
        CacheConfig {
            zones,
            success: ClassConfig::new(DEFAULT_SUCCESS_TTL),
            denial: ClassConfig::new(DEFAULT_DENIAL_TTL),
            prefetch: None,
            serve_stale: None,
            prefer_positive: false,
            servfail: DEFAULT_SERVFAIL,
            disable_success: Vec::new(),
            disable_denial: Vec::new(),
            keepttl: false,
        }
    }
}

/// Go's `strconv.Quote` for the strings a Corefile holds.
fn quote(s: &str) -> String {
    format!("{s:?}")
}

/// Go's `strconv.Atoi`, with its error text.
pub fn atoi(s: &str) -> Result<i64, String> {
    let syntax = || format!("strconv.Atoi: parsing {}: invalid syntax", quote(s));
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(syntax());
    }
    s.parse::<i64>()
        .map_err(|_| format!("strconv.Atoi: parsing {}: value out of range", quote(s)))
}

/// Go's `time.ParseDuration`, as nanoseconds.
fn duration(s: &str) -> Result<i64, String> {
    parse_go_duration(s)
}

fn nanos(n: i64) -> Duration {
    Duration::from_nanos(n.max(0) as u64)
}

/// An error at `tok`.
fn at(d: &Dispenser<'_>, tok: &Token, msg: impl AsRef<str>) -> Diagnostics {
    d.err_at(tok, msg).into()
}

impl Parse for CacheConfig {
    fn parse(d: &mut Dispenser<'_>) -> Result<Self, Diagnostics> {
        d.once()?;
        d.next();
        let mut args = d.remaining_args();
        // The first argument is the TTL if it reads as an integer.
        let mut ttl = None;
        if let Some(first) = args.first()
            && let Ok(n) = atoi(&first.text)
        {
            if n <= 0 {
                return Err(d
                    .err_at(first, format!("cache TTL can not be zero or negative: {n}"))
                    .into());
            }
            ttl = Some(n as u64);
            args.remove(0);
        }
        let mut cfg = CacheConfig::new(d.origins(&args));
        if let Some(t) = ttl {
            cfg.success.max_ttl = t;
            cfg.denial.max_ttl = t;
        }
        let mut stale_seen = false;
        let mut policy_at: Option<&Token> = None;
        while d.next_block() {
            let keyword = d.token().expect("next_block moved onto a token");
            match d.val() {
                "success" => class(d, &mut cfg.success)?,
                "denial" => class(d, &mut cfg.denial)?,
                "prefetch" => cfg.prefetch = Some(prefetch(d)?),
                "serve_stale" => {
                    stale_seen = true;
                    cfg.serve_stale = Some(serve_stale(d)?);
                }
                "serve_stale_policy" => {
                    if policy_at.is_some() {
                        return Err(d
                            .err("serve_stale_policy can only be specified once")
                            .into());
                    }
                    policy_at = Some(keyword);
                    let args = d.remaining_args();
                    let [policy] = args.as_slice() else {
                        return Err(d.arg_err().into());
                    };
                    if !policy.text.eq_ignore_ascii_case("prefer_positive") {
                        return Err(d
                            .err_at(
                                policy,
                                format!("invalid serve_stale_policy: {}", policy.text),
                            )
                            .into());
                    }
                    cfg.prefer_positive = true;
                }
                "servfail" => {
                    let args = d.remaining_args();
                    let [tok] = args.as_slice() else {
                        return Err(d.arg_err().into());
                    };
                    let n = duration(&tok.text).map_err(|m| at(d, tok, m))?;
                    if n < 0 {
                        return Err(at(d, tok, "invalid negative ttl for servfail"));
                    }
                    let dur = nanos(n);
                    if dur > FIVE_MINUTES {
                        return Err(at(
                            d,
                            tok,
                            "caching SERVFAIL responses over 5 minutes is not permitted",
                        ));
                    }
                    cfg.servfail = dur;
                }
                "disable" => {
                    let args = d.remaining_args();
                    let Some((which, zones)) = args.split_first() else {
                        return Err(d.arg_err().into());
                    };
                    let mut list = Vec::new();
                    for z in zones {
                        if z.text.is_empty() {
                            return Err(d
                                .err_at(z, format!("invalid disabled zone: {}", z.text))
                                .into());
                        }
                        list.push(normalize(&z.text));
                    }
                    if list.is_empty() {
                        list.push(".".to_string());
                    }
                    match which.text.as_str() {
                        "success" => cfg.disable_success = list,
                        "denial" => cfg.disable_denial = list,
                        _ => {
                            return Err(d
                                .err_at(
                                    which,
                                    "cache type for disable must be \"success\" or \"denial\"",
                                )
                                .into());
                        }
                    }
                }
                "keepttl" => {
                    if !d.remaining_args().is_empty() {
                        return Err(d.arg_err().into());
                    }
                    cfg.keepttl = true;
                }
                _ => return Err(d.unknown_property(&PROPERTIES).into()),
            }
        }
        if let Some(at) = policy_at
            && !stale_seen
        {
            return Err(d
                .err_at(at, "serve_stale_policy requires serve_stale")
                .into());
        }
        Ok(cfg)
    }
}

/// A zone as CoreDNS's `Name.Normalize`: lowercase, fully qualified.
fn normalize(zone: &str) -> String {
    let mut z = zone.to_ascii_lowercase();
    if !z.ends_with('.') {
        z.push('.');
    }
    z
}

/// `success|denial CAPACITY [TTL [MINTTL]]`.
fn class(d: &mut Dispenser<'_>, c: &mut ClassConfig) -> Result<(), Diagnostics> {
    let args = d.remaining_args();
    if args.is_empty() || args.len() > 3 {
        return Err(d.arg_err().into());
    }
    c.capacity = atoi(&args[0].text).map_err(|m| at(d, args[0], m))?;
    if let Some(tok) = args.get(1) {
        let ttl = atoi(&tok.text).map_err(|m| at(d, tok, m))?;
        if ttl <= 0 {
            return Err(at(
                d,
                tok,
                format!("cache TTL can not be zero or negative: {ttl}"),
            ));
        }
        c.max_ttl = ttl as u64;
    }
    if let Some(tok) = args.get(2) {
        let min = atoi(&tok.text).map_err(|m| at(d, tok, m))?;
        if min < 0 {
            return Err(at(
                d,
                tok,
                format!("cache min TTL can not be negative: {min}"),
            ));
        }
        c.min_ttl = min as u64;
    }
    Ok(())
}

/// `prefetch AMOUNT [DURATION [PERCENTAGE%]]`.
fn prefetch(d: &mut Dispenser<'_>) -> Result<Prefetch, Diagnostics> {
    let args = d.remaining_args();
    if args.is_empty() || args.len() > 3 {
        return Err(d.arg_err().into());
    }
    let amount = atoi(&args[0].text).map_err(|m| at(d, args[0], m))?;
    if amount < 0 {
        return Err(at(
            d,
            args[0],
            format!("prefetch amount should be positive: {amount}"),
        ));
    }
    let mut p = Prefetch {
        amount: amount as u64,
        window: Duration::from_secs(60),
        percentage: 10,
    };
    if let Some(tok) = args.get(1) {
        p.window = nanos(duration(&tok.text).map_err(|m| at(d, tok, m))?);
    }
    if let Some(tok) = args.get(2) {
        let Some(number) = tok.text.strip_suffix('%') else {
            let last = tok
                .text
                .chars()
                .last()
                .map_or("''".to_string(), |c| format!("{c:?}"));
            return Err(at(
                d,
                tok,
                format!("last character of percentage should be `%`, but is: {last}"),
            ));
        };
        let n = atoi(number).map_err(|m| at(d, tok, m))?;
        if !(10..=90).contains(&n) {
            return Err(at(
                d,
                tok,
                format!("percentage should fall in range [10, 90]: {n}"),
            ));
        }
        p.percentage = n as u8;
    }
    Ok(p)
}

/// `serve_stale [DURATION [immediate [RESPONSE_TTL [FAILURE_RECHECK]] | verify [VERIFY_TIMEOUT [RESPONSE_TTL [FAILURE_RECHECK]]]]]`.
fn serve_stale(d: &mut Dispenser<'_>) -> Result<ServeStale, Diagnostics> {
    let args = d.remaining_args();
    if args.len() > 5 {
        return Err(d.arg_err().into());
    }
    let mut s = ServeStale {
        up_to: Duration::from_secs(3600),
        mode: StaleMode::Immediate,
        response_ttl: 0,
        failure_recheck: Duration::ZERO,
    };
    if let Some(tok) = args.first() {
        let n = duration(&tok.text).map_err(|m| at(d, tok, m))?;
        if n < 0 {
            return Err(at(d, tok, "invalid negative duration for serve_stale"));
        }
        s.up_to = nanos(n);
    }
    let Some(mode) = args.get(1) else {
        return Ok(s);
    };
    let rest = match mode.text.to_ascii_lowercase().as_str() {
        "immediate" => {
            if args.len() > 4 {
                return Err(d.arg_err().into());
            }
            &args[2..]
        }
        "verify" => {
            let mut timeout = Duration::ZERO;
            if let Some(tok) = args.get(2) {
                let n = duration(&tok.text)
                    .map_err(|m| at(d, tok, format!("invalid serve_stale verify timeout: {m}")))?;
                if n < 0 {
                    return Err(at(
                        d,
                        tok,
                        "invalid negative timeout for serve_stale verify",
                    ));
                }
                timeout = nanos(n);
            }
            s.mode = StaleMode::Verify { timeout };
            args.get(3..).unwrap_or_default()
        }
        other => {
            return Err(at(
                d,
                mode,
                format!("invalid value for serve_stale refresh mode: {other}"),
            ));
        }
    };
    if let Some(tok) = rest.first() {
        s.response_ttl = response_ttl(&tok.text).map_err(|m| at(d, tok, m))?;
    }
    if let Some(tok) = rest.get(1) {
        s.failure_recheck = failure_recheck(&tok.text).map_err(|m| at(d, tok, m))?;
    }
    Ok(s)
}

/// RESPONSE_TTL: a duration of whole seconds within a TTL's range.
fn response_ttl(text: &str) -> Result<u32, String> {
    let n = duration(text).map_err(|m| format!("invalid serve_stale response TTL: {m}"))?;
    if n < 0 {
        return Err("invalid negative response TTL for serve_stale".into());
    }
    if n % 1_000_000_000 != 0 {
        return Err("serve_stale response TTL must be a whole number of seconds".into());
    }
    u32::try_from(n / 1_000_000_000)
        .map_err(|_| "serve_stale response TTL exceeds the DNS TTL range".to_string())
}

/// FAILURE_RECHECK: at most five minutes.
fn failure_recheck(text: &str) -> Result<Duration, String> {
    let n = duration(text).map_err(|m| format!("invalid serve_stale failure recheck: {m}"))?;
    if n < 0 {
        return Err("invalid negative failure recheck for serve_stale".into());
    }
    let d = nanos(n);
    if d > FIVE_MINUTES {
        return Err("serve_stale failure recheck cannot exceed 5 minutes".into());
    }
    Ok(d)
}
