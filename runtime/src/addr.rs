//! `HOST:PORT` addresses of side listeners (*health*, *ready*), read the
//! way Go's `net.SplitHostPort` reads them, with its error messages, and
//! with the port checked at load time rather than when listening.

/// A side listener's address as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPort {
    /// The text as written (`:8080`, `localhost:8181`, `[::1]:8080`).
    pub text: String,
    /// The host without brackets; empty for every address.
    pub host: String,
    /// The TCP port (0: the kernel picks one).
    pub port: u16,
}

impl HostPort {
    /// The `HOST:PORT` in `text`, or Go's message for what is wrong with it.
    pub fn parse(text: &str) -> Result<HostPort, String> {
        let (host, port) = split_host_port(text)?;
        let port = port
            .parse::<u16>()
            .ok()
            .filter(|_| port.bytes().all(|b| b.is_ascii_digit()))
            .ok_or_else(|| format!("address {text}: invalid port"))?;
        Ok(HostPort {
            text: text.to_string(),
            host: host.to_string(),
            port,
        })
    }
}

/// Go's `net.SplitHostPort`: host and port of `host:port`, `[host]:port`.
pub fn split_host_port(text: &str) -> Result<(&str, &str), String> {
    let fail = |why: &str| Err(format!("address {text}: {why}"));
    const MISSING_PORT: &str = "missing port in address";
    const TOO_MANY_COLONS: &str = "too many colons in address";
    let Some(colon) = text.rfind(':') else {
        return fail(MISSING_PORT);
    };
    let (host, from_open, from_close) = if text.starts_with('[') {
        let Some(end) = text.find(']') else {
            return fail("missing ']' in address");
        };
        if end + 1 == text.len() {
            return fail(MISSING_PORT);
        }
        if end + 1 != colon {
            return if text.as_bytes()[end + 1] == b':' {
                fail(TOO_MANY_COLONS)
            } else {
                fail(MISSING_PORT)
            };
        }
        (&text[1..end], 1, end + 1)
    } else {
        let host = &text[..colon];
        if host.contains(':') {
            return fail(TOO_MANY_COLONS);
        }
        (host, 0, 0)
    };
    if text[from_open..].contains('[') {
        return fail("unexpected '[' in address");
    }
    if text[from_close..].contains(']') {
        return fail("unexpected ']' in address");
    }
    Ok((host, &text[colon + 1..]))
}

/// The optional ADDRESS argument of a side-listener directive (`health`,
/// `ready`): `None` when the line has none; more than one is an error.
pub fn optional_address(
    d: &mut corec_compiler::Dispenser<'_>,
) -> Result<Option<(HostPort, corec_compiler::Span)>, corec_compiler::Diagnostics> {
    match d.remaining_args().as_slice() {
        [] => Ok(None),
        [addr] => HostPort::parse(&addr.text)
            .map(|hp| Some((hp, addr.span)))
            .map_err(|e| d.err_at(addr, e).into()),
        _ => Err(d.arg_err().into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_like_go() {
        for (text, host, port) in [
            (":8080", "", "8080"),
            ("localhost:8181", "localhost", "8181"),
            ("127.0.0.1:0", "127.0.0.1", "0"),
            ("[::1]:8080", "::1", "8080"),
            ("[fe80::1%eth0]:80", "fe80::1%eth0", "80"),
            ("host:", "host", ""),
        ] {
            assert_eq!(split_host_port(text), Ok((host, port)), "{text}");
        }
        for (text, why) in [
            ("bla", "missing port in address"),
            ("::1:80", "too many colons in address"),
            ("[::1]", "missing port in address"),
            ("[::1]80", "missing port in address"),
            ("[::1]:80:1", "too many colons in address"),
            ("[::1:80", "missing ']' in address"),
            ("a[b:80", "unexpected '[' in address"),
            ("ab]:80", "unexpected ']' in address"),
        ] {
            assert_eq!(
                split_host_port(text),
                Err(format!("address {text}: {why}")),
                "{text}"
            );
        }
    }

    #[test]
    fn ports_are_numbers() {
        assert_eq!(HostPort::parse(":8080").unwrap().port, 8080);
        assert_eq!(HostPort::parse("[::1]:0").unwrap().host, "::1");
        for bad in ["host:", "host:http", "host:65536", "host:+80", "host:-1"] {
            assert_eq!(
                HostPort::parse(bad),
                Err(format!("address {bad}: invalid port")),
                "{bad}"
            );
        }
    }
}
