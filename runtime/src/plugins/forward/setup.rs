//! Syntax of `forward` (every occurrence in a block, in Corefile order):
//!
//! ```text
//! forward FROM TO... {
//!     except IGNORED_NAMES...
//!     force_tcp
//!     prefer_udp
//!     expire DURATION
//!     max_age DURATION
//!     max_idle_conns N
//!     read_timeout DURATION
//!     max_fails N
//!     max_connect_attempts N
//!     tls [CERT KEY [CA]] | [CA]
//!     tls_servername NAME
//!     policy random|round_robin|sequential
//!     health_check DURATION [no_rec] [domain FQDN]
//!     max_concurrent N
//!     next RCODE...
//!     next_on_nodata
//!     failfast_all_unhealthy_upstreams
//!     failover RCODE...
//!     source_address IP
//!     resolver IP[:PORT]...
//! }
//! ```
//!
//! Upstreams written as addresses are checked here; one that is not an
//! address (a resolv.conf-style file or a host name) is read or resolved
//! when the plugin is built, as CoreDNS does at startup.

use crate::plugin::Parse;
use corec_compiler::duration::{format_go_duration, parse_go_duration};
use corec_compiler::keys;
use corec_compiler::{Diagnostic, Diagnostics, Dispenser, Span, Token};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// Most upstreams one `forward` may have.
pub const MAX_UPSTREAMS: usize = 15;
/// Idle time after which a cached connection is closed, unless `expire` says otherwise.
pub const DEFAULT_EXPIRE: Duration = Duration::from_secs(10);
/// How long to wait for an upstream's answer, unless `read_timeout` says otherwise.
pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(2);
/// Interval between health checks of a failing upstream, unless `health_check` says otherwise.
pub const DEFAULT_HEALTH_CHECK: Duration = Duration::from_millis(500);
/// Failed health checks an upstream survives before it is down, unless `max_fails` says otherwise.
pub const DEFAULT_MAX_FAILS: u32 = 2;
/// Connect attempts per upstream and query when `max_connect_attempts` is not set.
pub const CONNECT_ATTEMPTS_PER_UPSTREAM: u32 = 2;

/// The block's keywords.
const PROPERTIES: [&str; 21] = [
    "except",
    "force_tcp",
    "prefer_udp",
    "expire",
    "max_age",
    "max_idle_conns",
    "read_timeout",
    "max_fails",
    "max_connect_attempts",
    "tls",
    "tls_servername",
    "policy",
    "health_check",
    "max_concurrent",
    "next",
    "next_on_nodata",
    "failfast_all_unhealthy_upstreams",
    "failover",
    "source_address",
    "doh_method",
    "resolver",
];

/// Configuration of every `forward` of a block, in Corefile order.
#[derive(Debug, Clone)]
pub struct ForwardConfig {
    /// The stanzas; a query goes to the first whose names match it.
    pub stanzas: Vec<Stanza>,
}

/// How a query's upstreams are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// A random order for every query.
    Random,
    /// A rotating first upstream.
    RoundRobin,
    /// Corefile order.
    Sequential,
}

/// One upstream as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum To {
    /// An address.
    Addr {
        /// Over TLS (`tls://`).
        tls: bool,
        /// Where.
        addr: SocketAddr,
        /// The server name given with `%NAME` (TLS only).
        server_name: Option<String>,
    },
    /// Not an address: a resolv.conf-style file, or else a host name,
    /// looked at when the plugin is built.
    FileOrHost {
        /// Over TLS (`tls://`).
        tls: bool,
        /// The text without scheme and server name (`file`, `host`, `host:port`).
        text: String,
        /// The server name given with `%NAME` (TLS only).
        server_name: Option<String>,
    },
}

/// `tls` arguments: files, as written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsFiles {
    /// Client certificate and key (PEM).
    pub cert_key: Option<(String, String)>,
    /// CA bundle (PEM) to verify the upstream with; system roots without it.
    pub ca: Option<String>,
}

/// One `forward` directive.
#[derive(Debug, Clone)]
pub struct Stanza {
    /// Queries at or below this name are forwarded (lowercased FQDN).
    pub from: String,
    /// ...except those at or below one of these (FROM itself always is).
    pub except: Vec<String>,
    /// The upstreams as written, with where each was written.
    pub to: Vec<(To, Span)>,
    /// Where the directive is (for build-time errors).
    pub span: Option<Span>,
    /// FROM as written when it was a CIDR that expands to several zones.
    pub from_expanded: Option<String>,
    /// `force_tcp`.
    pub force_tcp: bool,
    /// `prefer_udp`.
    pub prefer_udp: bool,
    /// `expire`.
    pub expire: Duration,
    /// `max_age` (zero: no limit).
    pub max_age: Duration,
    /// `max_idle_conns` (zero: no limit of our own beyond corec's cap).
    pub max_idle_conns: usize,
    /// `read_timeout`.
    pub read_timeout: Duration,
    /// `max_fails` (zero: never down, no health checks).
    pub max_fails: u32,
    /// `max_connect_attempts` (`None`: two per upstream; zero: no cap).
    pub max_connect_attempts: Option<u32>,
    /// `tls` (`None`: system roots, no client certificate).
    pub tls: Option<TlsFiles>,
    /// Where `tls` was written.
    pub tls_span: Option<Span>,
    /// `tls_servername`.
    pub tls_servername: Option<String>,
    /// `policy`.
    pub policy: Policy,
    /// `health_check` interval.
    pub health_check: Duration,
    /// RD in health check queries (`no_rec` clears it).
    pub hc_recursion_desired: bool,
    /// The name health checks ask NS for.
    pub hc_domain: String,
    /// `max_concurrent` (zero: no limit).
    pub max_concurrent: u32,
    /// `next` response codes.
    pub next: Vec<u16>,
    /// `next_on_nodata`.
    pub next_on_nodata: bool,
    /// `failfast_all_unhealthy_upstreams`.
    pub failfast_all_unhealthy: bool,
    /// `failover` response codes.
    pub failover: Vec<u16>,
    /// `source_address`.
    pub source_address: Option<IpAddr>,
    /// `resolver`: servers that resolve host names in TO (the system's
    /// resolver when empty).
    pub resolver: Vec<SocketAddr>,
}

impl Stanza {
    fn new(from: String) -> Self {
        Stanza {
            from,
            except: Vec::new(),
            to: Vec::new(),
            span: None,
            from_expanded: None,
            force_tcp: false,
            prefer_udp: false,
            expire: DEFAULT_EXPIRE,
            max_age: Duration::ZERO,
            max_idle_conns: 0,
            read_timeout: DEFAULT_READ_TIMEOUT,
            max_fails: DEFAULT_MAX_FAILS,
            max_connect_attempts: None,
            tls: None,
            tls_span: None,
            tls_servername: None,
            policy: Policy::Random,
            health_check: DEFAULT_HEALTH_CHECK,
            hc_recursion_desired: true,
            hc_domain: ".".into(),
            max_concurrent: 0,
            next: Vec::new(),
            next_on_nodata: false,
            failfast_all_unhealthy: false,
            failover: Vec::new(),
            source_address: None,
            resolver: Vec::new(),
        }
    }
}

impl Parse for ForwardConfig {
    fn parse(d: &mut Dispenser<'_>) -> Result<Self, Diagnostics> {
        let mut stanzas = Vec::new();
        while d.next() {
            stanzas.push(parse_stanza(d)?);
        }
        Ok(ForwardConfig { stanzas })
    }
}

/// The zones of a name as CoreDNS's `Host(..).NormalizeExact()`: scheme and
/// port dropped, a CIDR expanded; empty if it is not a valid name.
pub fn normalize_exact(text: &str) -> Vec<String> {
    keys::parse_key(text, "53")
        .map(|zs| zs.into_iter().map(|z| z.zone).collect())
        .unwrap_or_default()
}

fn parse_stanza(d: &mut Dispenser<'_>) -> Result<Stanza, Diagnostic> {
    let directive_span = d.span();
    let from_tok = d.arg()?;
    let zones = normalize_exact(&from_tok.text);
    let Some(first) = zones.first() else {
        return Err(d.err_at(from_tok, format!("unable to normalize '{}'", from_tok.text)));
    };
    let mut s = Stanza::new(first.clone());
    s.span = directive_span;
    if zones.len() > 1 {
        // CoreDNS goes on with the first zone and logs a warning (at build).
        s.from_expanded = Some(from_tok.text.clone());
    }
    let to = d.remaining_args();
    if to.is_empty() {
        return Err(d.arg_err());
    }
    while d.next_block() {
        parse_property(d, &mut s)?;
    }
    if !s.max_age.is_zero() && s.max_age < s.expire {
        return Err(d.err_at(
            from_tok,
            format!(
                "max_age ({}) must not be less than expire ({})",
                go(s.max_age),
                go(s.expire)
            ),
        ));
    }
    if to.len() > MAX_UPSTREAMS {
        return Err(d.err_at(
            to[MAX_UPSTREAMS],
            format!("more than {MAX_UPSTREAMS} TOs configured: {}", to.len()),
        ));
    }
    for tok in to {
        let parsed = parse_to(&tok.text).map_err(|e| d.err_at(tok, e))?;
        if let To::Addr {
            tls: true,
            server_name: Some(sni),
            ..
        }
        | To::FileOrHost {
            tls: true,
            server_name: Some(sni),
            ..
        } = &parsed
            && let Some(global) = &s.tls_servername
        {
            return Err(d.err_at(
                tok,
                format!(
                    "both forward ('{global}') and proxy level ('{sni}') TLS servernames are set for upstream proxy '{}'",
                    tok.text
                ),
            ));
        }
        s.to.push((parsed, tok.span));
    }
    Ok(s)
}

fn go(d: Duration) -> String {
    format_go_duration(i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

/// A Go duration argument in nanoseconds; negative ones are returned as such.
fn duration_arg(d: &mut Dispenser<'_>) -> Result<i64, Diagnostic> {
    let tok = d.arg()?;
    parse_go_duration(&tok.text).map_err(|e| d.err_at(tok, e))
}

fn parse_property(d: &mut Dispenser<'_>, s: &mut Stanza) -> Result<(), Diagnostic> {
    match d.val() {
        "except" => {
            let names = d.remaining_args();
            if names.is_empty() {
                return Err(d.arg_err());
            }
            for n in names {
                s.except.extend(normalize_exact(&n.text));
            }
        }
        "max_fails" => {
            let tok = d.arg()?;
            s.max_fails = parse_uint32(&tok.text).map_err(|e| d.err_at(tok, e))?;
        }
        "max_connect_attempts" => {
            let tok = d.arg()?;
            s.max_connect_attempts = Some(parse_uint32(&tok.text).map_err(|e| d.err_at(tok, e))?);
        }
        "health_check" => {
            let n = duration_arg(d)?;
            if n < 0 {
                return Err(d.err(format!("health_check can't be negative: {n}")));
            }
            s.health_check = Duration::from_nanos(n as u64);
            s.hc_domain = ".".into();
            while d.next_arg() {
                match d.val() {
                    "{" => {
                        // A block opened on this line: not an option.
                        return Err(d.err("Unexpected token '{', expecting argument"));
                    }
                    "no_rec" => s.hc_recursion_desired = false,
                    "domain" => {
                        let tok = d.arg()?;
                        if !keys::is_domain_name(&tok.text) {
                            return Err(d.err_at(
                                tok,
                                format!("health_check: invalid domain name {}", tok.text),
                            ));
                        }
                        s.hc_domain = keys::fqdn(&tok.text);
                    }
                    other => {
                        return Err(d.err(format!("health_check: unknown option {other}")));
                    }
                }
            }
        }
        "force_tcp" => {
            no_args(d)?;
            s.force_tcp = true;
        }
        "prefer_udp" => {
            no_args(d)?;
            s.prefer_udp = true;
        }
        "tls" => {
            let span = d.span();
            let args = d.remaining_args();
            let text = |i: usize| args[i].text.clone();
            s.tls = Some(match args.len() {
                0 => TlsFiles::default(),
                1 => TlsFiles {
                    cert_key: None,
                    ca: Some(text(0)),
                },
                2 => TlsFiles {
                    cert_key: Some((text(0), text(1))),
                    ca: None,
                },
                3 => TlsFiles {
                    cert_key: Some((text(0), text(1))),
                    ca: Some(text(2)),
                },
                _ => {
                    let last = args[args.len() - 1];
                    return Err(d.err_at(
                        last,
                        format!(
                            "Wrong argument count or unexpected line ending after '{}'",
                            last.text
                        ),
                    ));
                }
            });
            s.tls_span = span;
        }
        "tls_servername" => {
            s.tls_servername = Some(d.arg()?.text.clone());
        }
        "expire" => {
            let n = duration_arg(d)?;
            if n < 0 {
                return Err(d.err(format!(
                    "expire can't be negative: {}",
                    format_go_duration(n)
                )));
            }
            s.expire = Duration::from_nanos(n as u64);
        }
        "max_age" => {
            let n = duration_arg(d)?;
            if n < 0 {
                return Err(d.err(format!(
                    "max_age can't be negative: {}",
                    format_go_duration(n)
                )));
            }
            s.max_age = Duration::from_nanos(n as u64);
        }
        "max_idle_conns" => {
            let tok = d.arg()?;
            let n = parse_atoi(&tok.text).map_err(|e| d.err_at(tok, e))?;
            if n < 0 {
                return Err(d.err_at(tok, format!("max_idle_conns can't be negative: {n}")));
            }
            s.max_idle_conns = usize::try_from(n).unwrap_or(usize::MAX);
        }
        "read_timeout" => {
            let n = duration_arg(d)?;
            if n <= 0 {
                return Err(d.err(format!(
                    "read_timeout must be positive: {}",
                    format_go_duration(n)
                )));
            }
            s.read_timeout = Duration::from_nanos(n as u64);
        }
        "policy" => {
            let tok = d.arg()?;
            s.policy = match tok.text.as_str() {
                "random" => Policy::Random,
                "round_robin" => Policy::RoundRobin,
                "sequential" => Policy::Sequential,
                other => {
                    let mut e = d.err_at(tok, format!("unknown policy '{other}'"));
                    if let Some(m) = corec_compiler::diag::did_you_mean(
                        other,
                        ["random", "round_robin", "sequential"],
                    ) {
                        e = e.with_label(format!("did you mean '{m}'?"));
                    }
                    return Err(e);
                }
            };
        }
        "max_concurrent" => {
            let tok = d.arg()?;
            let n = parse_atoi(&tok.text).map_err(|e| d.err_at(tok, e))?;
            if n < 0 {
                return Err(d.err_at(tok, format!("max_concurrent can't be negative: {n}")));
            }
            s.max_concurrent = u32::try_from(n).unwrap_or(u32::MAX);
        }
        "next" => {
            let args = d.remaining_args();
            if args.is_empty() {
                return Err(d.arg_err());
            }
            for tok in args {
                s.next.push(rcode(d, tok)?);
            }
        }
        "next_on_nodata" => {
            no_args(d)?;
            s.next_on_nodata = true;
        }
        "failfast_all_unhealthy_upstreams" => {
            no_args(d)?;
            s.failfast_all_unhealthy = true;
        }
        "failover" => {
            let args = d.remaining_args();
            if args.is_empty() {
                return Err(d.arg_err());
            }
            for tok in args {
                let rc = rcode(d, tok)?;
                if rc == 0 {
                    return Err(d.err_at(tok, "NoError cannot be used in failover"));
                }
                s.failover.push(rc);
            }
        }
        "source_address" => {
            let tok = d.arg()?;
            s.source_address = Some(
                tok.text
                    .parse()
                    .map_err(|_| d.err_at(tok, format!("invalid IP address: {}", tok.text)))?,
            );
        }
        "doh_method" => {
            let tok = d.arg()?;
            if tok.text != "GET" && tok.text != "POST" {
                return Err(d.err_at(tok, "doh_method must be either POST or GET"));
            }
            // Only DNS over HTTPS uses it, and corec has none: accepted and ignored.
        }
        "resolver" => {
            let args = d.remaining_args();
            if args.is_empty() {
                return Err(d.arg_err());
            }
            for tok in args {
                let addr = match split_host_port(&tok.text) {
                    Some((host, port)) => parse_ip(host)
                        .zip(port.parse::<u16>().ok())
                        .map(|(ip, port)| SocketAddr::new(ip, port)),
                    None => parse_ip(&tok.text).map(|ip| SocketAddr::new(ip, 53)),
                };
                match addr {
                    Some(a) => s.resolver.push(a),
                    None => {
                        return Err(d.err_at(
                            tok,
                            format!("resolver must be an IP address or IP:port: {:?}", tok.text),
                        ));
                    }
                }
            }
        }
        _ => return Err(d.unknown_property(&PROPERTIES)),
    }
    Ok(())
}

fn no_args(d: &mut Dispenser<'_>) -> Result<(), Diagnostic> {
    if d.next_arg() {
        if d.val() == "{" {
            return Err(d.err("Unexpected token '{', expecting argument"));
        }
        return Err(d.err(format!(
            "Wrong argument count or unexpected line ending after '{}'",
            d.val()
        )));
    }
    Ok(())
}

fn rcode(d: &Dispenser<'_>, tok: &Token) -> Result<u16, Diagnostic> {
    let upper = tok.text.to_ascii_uppercase();
    crate::plugins::template::names::RCODES
        .iter()
        .find(|(n, _)| *n == upper)
        .map(|(_, c)| *c)
        .ok_or_else(|| {
            let mut e = d.err_at(tok, format!("{} is not a valid rcode", tok.text));
            if let Some(m) = corec_compiler::diag::did_you_mean(
                &upper,
                crate::plugins::template::names::RCODES
                    .iter()
                    .map(|(n, _)| *n),
            ) {
                e = e.with_label(format!("did you mean '{m}'?"));
            }
            e
        })
}

/// Go's `strconv.ParseUint(s, 10, 32)`, with its error text.
pub fn parse_uint32(s: &str) -> Result<u32, String> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("strconv.ParseUint: parsing {s:?}: invalid syntax"));
    }
    s.parse::<u32>()
        .map_err(|_| format!("strconv.ParseUint: parsing {s:?}: value out of range"))
}

/// Go's `strconv.Atoi`, with its error text.
pub fn parse_atoi(s: &str) -> Result<i64, String> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("strconv.Atoi: parsing {s:?}: invalid syntax"));
    }
    s.parse::<i64>()
        .map_err(|_| format!("strconv.Atoi: parsing {s:?}: value out of range"))
}

/// Go's `net.SplitHostPort`: `host:port` or `[host]:port`.
fn split_host_port(s: &str) -> Option<(&str, &str)> {
    if let Some(rest) = s.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        let port = after.strip_prefix(':')?;
        return Some((host, port));
    }
    let (host, port) = s.rsplit_once(':')?;
    if host.contains(':') {
        return None; // too many colons
    }
    Some((host, port))
}

/// CoreDNS's `splitZone`: `HOST%NAME[:PORT]` into `HOST[:PORT]` and NAME.
fn split_server_name(s: &str) -> (String, Option<String>) {
    let Some(pct) = s.rfind('%') else {
        return (s.to_string(), None);
    };
    let mut host = s[..pct].to_string();
    if host.starts_with('[') {
        host.push(']');
    }
    let mut name = &s[pct + 1..];
    if let Some(colon) = name.rfind(':') {
        host.push_str(&name[colon..]);
        name = name[..colon].trim_end_matches(']');
    }
    (host, Some(name.to_string()))
}

fn parse_ip(s: &str) -> Option<IpAddr> {
    s.parse().ok()
}

/// One TO argument.
pub fn parse_to(text: &str) -> Result<To, String> {
    const SCHEMES: [&str; 7] = ["tls", "dns", "quic", "grpc", "https3", "https", "unix"];
    let (scheme, rest) = SCHEMES
        .iter()
        .find_map(|s| {
            text.strip_prefix(s)
                .and_then(|r| r.strip_prefix("://"))
                .map(|r| (*s, r))
        })
        .unwrap_or(("dns", text));
    if rest.is_empty() {
        return Err(format!("invalid address: {text:?}"));
    }
    match scheme {
        "dns" | "tls" => {}
        "https" => {
            return Err(format!(
                "'https' (DNS over HTTPS) is not supported by corec: {text}"
            ));
        }
        other => {
            return Err(format!(
                "'{other}' is not supported as a destination protocol in forward: {text}"
            ));
        }
    }
    let tls = scheme == "tls";
    let default_port = if tls { 853 } else { 53 };
    let (hostport, server_name) = split_server_name(rest);
    let server_name = server_name.filter(|_| tls);
    if let Some((host, port)) = split_host_port(&hostport) {
        if let Some(ip) = parse_ip(host) {
            let port: u16 = port
                .parse()
                .map_err(|_| format!("invalid port in address {text:?}"))?;
            return Ok(To::Addr {
                tls,
                addr: SocketAddr::new(ip, port),
                server_name,
            });
        }
    } else if let Some(ip) = parse_ip(hostport.trim_matches(['[', ']'])) {
        return Ok(To::Addr {
            tls,
            addr: SocketAddr::new(ip, default_port),
            server_name,
        });
    }
    Ok(To::FileOrHost {
        tls,
        text: hostport,
        server_name,
    })
}

/// A host name TO (`host` or `host:port`) as name and port, if it is one.
pub fn host_name(text: &str, tls: bool) -> Option<(String, u16)> {
    let (host, port) = match split_host_port(text) {
        Some((h, p)) => (h, p.parse().ok()?),
        None => (text, if tls { 853 } else { 53 }),
    };
    let host = host.trim_matches(['[', ']']);
    if host.is_empty() || !keys::is_domain_name(host) || parse_ip(host).is_some() {
        return None;
    }
    Some((host.to_string(), port))
}

/// The nameservers of a resolv.conf-style file (port 53), as miekg/dns reads
/// them: every `nameserver` line; entries that are not addresses are skipped.
pub fn resolv_conf_servers(text: &str) -> Vec<SocketAddr> {
    text.lines()
        .filter_map(|line| {
            let mut f = line.split_whitespace();
            if f.next()? != "nameserver" {
                return None;
            }
            let ip = f.next()?;
            let ip = ip.split('%').next().unwrap_or(ip);
            parse_ip(ip).map(|ip| SocketAddr::new(ip, 53))
        })
        .collect()
}
