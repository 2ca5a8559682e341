//! Server block keys: `[SCHEME://]ZONE[:PORT]`, reverse CIDR expansion.

use std::fmt;
use std::net::IpAddr;

/// The transport a server block key asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Transport {
    /// Plain DNS over UDP and TCP.
    Dns,
    /// DNS over TLS.
    Tls,
    /// DNS over QUIC.
    Quic,
    /// DNS over gRPC.
    Grpc,
    /// DNS over HTTPS/3.
    Https3,
    /// DNS over HTTPS.
    Https,
    /// Recognised but never served, as in CoreDNS.
    Unix,
}

impl Transport {
    /// Scheme prefixes in CoreDNS's matching order (`https3://` before `https://`).
    const SCHEMES: [(&'static str, Transport); 7] = [
        ("tls://", Transport::Tls),
        ("dns://", Transport::Dns),
        ("quic://", Transport::Quic),
        ("grpc://", Transport::Grpc),
        ("https3://", Transport::Https3),
        ("https://", Transport::Https),
        ("unix://", Transport::Unix),
    ];

    /// The scheme name as in `dns://`.
    pub fn scheme(self) -> &'static str {
        match self {
            Transport::Dns => "dns",
            Transport::Tls => "tls",
            Transport::Quic => "quic",
            Transport::Grpc => "grpc",
            Transport::Https3 => "https3",
            Transport::Https => "https",
            Transport::Unix => "unix",
        }
    }

    /// Default port for this transport; `dns` uses the `-dns.port` value.
    pub fn default_port(self, dns_port: &str) -> String {
        match self {
            Transport::Dns => dns_port.to_string(),
            Transport::Tls | Transport::Quic => "853".into(),
            Transport::Grpc | Transport::Https | Transport::Https3 => "443".into(),
            Transport::Unix => String::new(),
        }
    }
}

/// One zone a server block serves, on one transport and port.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ZoneAddr {
    /// Transport.
    pub transport: Transport,
    /// Lowercased, fully qualified zone.
    pub zone: String,
    /// Port as text (CoreDNS keeps it as a string).
    pub port: String,
}

impl fmt::Display for ZoneAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}://{}:{}",
            self.transport.scheme(),
            self.zone,
            self.port
        )
    }
}

/// Parses one key into the zone addresses it stands for (several for a
/// CIDR that is not on an octet or nibble boundary).
pub fn parse_key(key: &str, dns_port: &str) -> Result<Vec<ZoneAddr>, String> {
    // Schemes match case-sensitively, as in CoreDNS; the zone is lowercased.
    let (transport, rest) = Transport::SCHEMES
        .iter()
        .find_map(|(prefix, t)| key.strip_prefix(prefix).map(|r| (*t, r)))
        .unwrap_or((Transport::Dns, key));
    let lower = rest.to_ascii_lowercase();
    let rest = lower.as_str();
    let (hosts, port) = split_host_port(rest)?;
    let port = port.unwrap_or_else(|| transport.default_port(dns_port));
    Ok(hosts
        .into_iter()
        .map(|zone| ZoneAddr {
            transport,
            zone,
            port: port.clone(),
        })
        .collect())
}

/// Zone(s) and optional port of `ZONE[:PORT]`; a CIDR becomes reverse zones.
pub fn split_host_port(s: &str) -> Result<(Vec<String>, Option<String>), String> {
    let mut host = s;
    let mut port = None;
    if let Some(colon) = s.rfind(':') {
        if colon == s.len() - 1 {
            return Err(format!("expecting data after last colon: {s:?}"));
        }
        if let Ok(p) = s[colon + 1..].parse::<i64>() {
            if !(0..=65535).contains(&p) {
                return Err(format!("invalid port {p} in {s:?}"));
            }
            port = Some(p.to_string());
            host = &s[..colon];
        }
    }
    if host.len() > 255 {
        return Err(format!("specified zone is too long: {} > 255", host.len()));
    }
    if !is_domain_name(host) {
        return Err(format!("zone is not a valid domain name: {host}"));
    }
    match parse_cidr(host) {
        None => Ok((vec![fqdn(host)], port)),
        Some(_) if host.starts_with(':') || (host.starts_with('0') && host.contains(':')) => {
            Err(format!("invalid CIDR {host}"))
        }
        Some((ip, bits)) => Ok((reverse_zones(ip, bits), port)),
    }
}

/// Lowercased with a trailing dot.
pub fn fqdn(name: &str) -> String {
    let mut n = name.to_ascii_lowercase();
    if !n.ends_with('.') {
        n.push('.');
    }
    n
}

/// Like miekg/dns `IsDomainName`: labels of 1..=63 octets; any characters
/// are allowed. miekg counts the labels' length octets plus contents of the
/// fully qualified name (without the root's zero octet) against 256.
pub fn is_domain_name(s: &str) -> bool {
    if s.is_empty() {
        return false;
    }
    if s == "." {
        return true;
    }
    let trimmed = s.strip_suffix('.').unwrap_or(s);
    let mut wire = 1;
    for label in trimmed.split('.') {
        let len = label_len(label);
        if len == 0 || len > 63 {
            return false;
        }
        wire += len + 1;
    }
    wire - 1 <= 256
}

/// Octets in a presentation-format label (`\DDD` and `\X` count as one).
fn label_len(label: &str) -> usize {
    let b = label.as_bytes();
    let (mut i, mut n) = (0, 0);
    while i < b.len() {
        if b[i] == b'\\' {
            i += if b
                .get(i + 1..i + 4)
                .is_some_and(|d| d.iter().all(u8::is_ascii_digit))
            {
                4
            } else {
                2
            };
        } else {
            i += 1;
        }
        n += 1;
    }
    n
}

/// `IP/BITS` with a valid mask.
pub fn parse_cidr(s: &str) -> Option<(IpAddr, u8)> {
    let (ip, bits) = s.split_once('/')?;
    let ip: IpAddr = ip.parse().ok()?;
    let bits: u8 = bits.parse().ok()?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    (bits <= max && !s.ends_with('.')).then_some((ip, bits))
}

/// Reverse zones covering `ip/bits`: on an octet (IPv4) or nibble (IPv6)
/// boundary one zone, otherwise every boundary subnet inside it.
pub fn reverse_zones(ip: IpAddr, bits: u8) -> Vec<String> {
    let (step, digits, suffix): (u8, Vec<u8>, &str) = match ip {
        IpAddr::V4(v4) => (8, v4.octets().to_vec(), "in-addr.arpa."),
        IpAddr::V6(v6) => (
            4,
            v6.octets().iter().flat_map(|b| [b >> 4, b & 0xf]).collect(),
            "ip6.arpa.",
        ),
    };
    let width = u32::from(step);
    let boundary = bits.div_ceil(step);
    let fixed = usize::from(bits / step);
    // Bits of the partial digit that the mask leaves free.
    let free = u32::from(boundary * step - bits);
    let mut zones = Vec::new();
    let partial = usize::from(boundary) > fixed;
    let variants: u32 = if partial { 1 << free } else { 1 };
    for v in 0..variants {
        let mut d: Vec<u32> = digits[..usize::from(boundary)]
            .iter()
            .map(|&x| u32::from(x))
            .collect();
        if partial {
            let mask = ((1u32 << width) - 1) ^ ((1u32 << free) - 1);
            d[fixed] = (d[fixed] & mask) | v;
        }
        let labels: Vec<String> = d
            .iter()
            .rev()
            .map(|x| {
                if step == 8 {
                    x.to_string()
                } else {
                    format!("{x:x}")
                }
            })
            .collect();
        let mut zone = labels.join(".");
        if !zone.is_empty() {
            zone.push('.');
        }
        zone.push_str(suffix);
        zones.push(zone);
    }
    zones
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zones(key: &str) -> Vec<String> {
        parse_key(key, "53")
            .unwrap()
            .into_iter()
            .map(|z| z.to_string())
            .collect()
    }

    #[test]
    fn schemes_and_default_ports() {
        assert_eq!(zones("example.org"), ["dns://example.org.:53"]);
        assert_eq!(zones("EXAMPLE.ORG.:1053"), ["dns://example.org.:1053"]);
        assert_eq!(zones("tls://example.org"), ["tls://example.org.:853"]);
        assert_eq!(zones("quic://."), ["quic://.:853"]);
        assert_eq!(zones("grpc://."), ["grpc://.:443"]);
        assert_eq!(zones("https://."), ["https://.:443"]);
        assert_eq!(zones("https3://.:8443"), ["https3://.:8443"]);
        assert_eq!(zones(".:0"), ["dns://.:0"]);
        assert_eq!(parse_key(".", "1053").unwrap()[0].port, "1053");
    }

    #[test]
    fn reverse_cidrs() {
        assert_eq!(zones("10.0.0.0/8"), ["dns://10.in-addr.arpa.:53"]);
        assert_eq!(
            zones("10.0.0.0/15"),
            ["dns://0.10.in-addr.arpa.:53", "dns://1.10.in-addr.arpa.:53"]
        );
        let z = zones("192.168.1.0/25");
        assert_eq!(z.len(), 128);
        assert_eq!(z[0], "dns://0.1.168.192.in-addr.arpa.:53");
        assert_eq!(z[127], "dns://127.1.168.192.in-addr.arpa.:53");
        assert_eq!(zones("fd00::/8"), ["dns://d.f.ip6.arpa.:53"]);
        assert_eq!(zones("fd00::/8:1053"), ["dns://d.f.ip6.arpa.:1053"]);
        assert_eq!(zones("10.0.0.0/24."), ["dns://10.0.0.0/24.:53"]);
        assert_eq!(
            zones("2001:db8::/33").len(),
            8,
            "a /33 splits into the eight /36 nibble zones"
        );
    }

    #[test]
    fn errors() {
        assert_eq!(
            parse_key("example.org:", "53").unwrap_err(),
            "expecting data after last colon: \"example.org:\""
        );
        assert_eq!(
            parse_key("a..b", "53").unwrap_err(),
            "zone is not a valid domain name: a..b"
        );
        assert!(
            parse_key(&"a".repeat(300), "53")
                .unwrap_err()
                .starts_with("specified zone is too long: 300")
        );
        assert_eq!(parse_key("::/0", "53").unwrap_err(), "invalid CIDR ::/0");
    }
}
