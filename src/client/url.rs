//! The URLs and addresses drainit's client accepts, parsed strictly:
//! `http://HOST[:PORT][/PATH][?QUERY]` and `HOST:PORT`, where HOST is a
//! host name, a dotted-quad IPv4 address or a bracketed IPv6 address.
//!
//! Strict on purpose: what passes here is exactly what the client can send
//! unchanged, so a typo fails at start-up with one line instead of at the
//! first probe. No TLS (the static binary carries none), no credentials,
//! no percent-encoding done for the user, no IDNA (write the `xn--` form).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

const EXAMPLE_URL: &str = "use e.g. http://127.0.0.1:8080/health";
const EXAMPLE_ADDR: &str = "e.g. 127.0.0.1:8080, localhost:8080 or [::1]:8080";

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Host {
    Ip(IpAddr),
    Name(String),
}

/// Where to connect: a host and a port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub host: Host,
    pub port: u16,
}

/// A parsed `http://` URL, ready to be sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpUrl {
    pub target: Target,
    /// The Host header: the authority as written (brackets, port and all).
    pub authority: String,
    /// The request target: the path and query, at least "/".
    pub path_and_query: String,
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Ip(IpAddr::V6(ip)) => write!(f, "[{ip}]"),
            Host::Ip(ip) => write!(f, "{ip}"),
            Host::Name(name) => f.write_str(name),
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.host, self.port)
    }
}

/// Parses `http://HOST[:PORT][/PATH][?QUERY][#FRAGMENT]` (the fragment is
/// never sent and is dropped). The scheme is case-insensitive.
pub fn parse_http_url(text: &str) -> Result<HttpUrl, String> {
    let bad = |why: &str| format!("'{text}' is not a usable URL ({why}): {EXAMPLE_URL}");
    let Some((scheme, rest)) = text.split_once("://") else {
        return Err(bad("no scheme"));
    };
    if !scheme.eq_ignore_ascii_case("http") {
        return Err(format!(
            "'{text}' uses {scheme}: only http:// is supported (probes stay inside the container)"
        ));
    }
    let rest = rest.split_once('#').map_or(rest, |(before, _)| before);
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(end);
    if authority.contains('@') {
        return Err(bad("credentials in a URL are not supported"));
    }
    let target = parse_authority(authority, Some(80)).map_err(|why| bad(&why))?;
    let path_and_query = match path {
        "" => "/".to_string(),
        p if p.starts_with('?') => format!("/{p}"),
        p => p.to_string(),
    };
    if let Some(c) = path_and_query.chars().find(|c| !is_path_char(*c)) {
        return Err(bad(&format!("{c:?} must be percent-encoded")));
    }
    Ok(HttpUrl {
        target,
        authority: authority.to_string(),
        path_and_query,
    })
}

/// Parses `HOST:PORT`; the port is required.
pub fn parse_host_port(text: &str) -> Result<Target, String> {
    parse_authority(text, None)
        .map_err(|why| format!("'{text}' is not HOST:PORT ({why}), {EXAMPLE_ADDR}"))
}

/// Visible ASCII that the HTTP request line carries as is (RFC 3986's
/// unreserved, sub-delims, `%`, `:`, `@`, `/`, `?`): no space, no quote,
/// none of `<`, `>`, `\`, `^`, backquote, `{`, `|`, `}`.
fn is_path_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-._~!$&'()*+,;=%:@/?".contains(c)
}

/// `HOST[:PORT]`, with `default` the port when none is written.
fn parse_authority(text: &str, default: Option<u16>) -> Result<Target, String> {
    let (host, port) = if let Some(rest) = text.strip_prefix('[') {
        let (ip, after) = rest
            .split_once(']')
            .ok_or("an IPv6 address needs its closing ']'")?;
        let ip: Ipv6Addr = ip
            .parse()
            .map_err(|_| format!("'{ip}' is not an IPv6 address"))?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':').ok_or("junk after ']'")?),
        };
        (Host::Ip(IpAddr::V6(ip)), port)
    } else {
        let (host, port) = match text.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (text, None),
        };
        if host.contains(':') || port.is_some_and(|p| p.contains(':')) {
            return Err("write an IPv6 address in brackets, e.g. [::1]".into());
        }
        (parse_host(host)?, port)
    };
    let port = match (port, default) {
        (Some(p), _) => parse_port(p)?,
        (None, Some(d)) => d,
        (None, None) => return Err("no port".into()),
    };
    Ok(Target { host, port })
}

fn parse_port(text: &str) -> Result<u16, String> {
    match text.parse::<u16>() {
        Ok(p) if p > 0 && text.bytes().all(|b| b.is_ascii_digit()) => Ok(p),
        _ => Err(format!("'{text}' is not a port (1-65535)")),
    }
}

/// A host name (RFC 1123 labels, `_` allowed as Docker names use it, one
/// trailing dot allowed) or a dotted-quad IPv4 address. A host of digits
/// and dots only must be a valid dotted quad: `127.1` or `999.0.0.1` are
/// refused rather than guessed at.
fn parse_host(host: &str) -> Result<Host, String> {
    if host.is_empty() {
        return Err("no host".into());
    }
    if host.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return host
            .parse::<Ipv4Addr>()
            .map(|ip| Host::Ip(IpAddr::V4(ip)))
            .map_err(|_| format!("'{host}' is not an IPv4 address"));
    }
    let name = host.strip_suffix('.').unwrap_or(host);
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && l.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    if name.len() > 253 || !name.split('.').all(label_ok) {
        return Err(format!(
            "'{host}' is not a host name (letters, digits, '-', '_' and dots; IDNA names in their xn-- form)"
        ));
    }
    Ok(Host::Name(host.to_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(n: &str, port: u16) -> Target {
        Target {
            host: Host::Name(n.into()),
            port,
        }
    }

    fn ip(ip: &str, port: u16) -> Target {
        Target {
            host: Host::Ip(ip.parse().unwrap()),
            port,
        }
    }

    #[test]
    fn accepts_what_the_cli_documents() {
        for (text, target, authority, pq) in [
            (
                "http://127.0.0.1:8080/health",
                ip("127.0.0.1", 8080),
                "127.0.0.1:8080",
                "/health",
            ),
            ("http://localhost/", name("localhost", 80), "localhost", "/"),
            ("http://localhost", name("localhost", 80), "localhost", "/"),
            (
                "HTTP://Web.Example.:81/a/b?x=1&y=%20",
                name("web.example.", 81),
                "Web.Example.:81",
                "/a/b?x=1&y=%20",
            ),
            ("http://[::1]:9/drain", ip("::1", 9), "[::1]:9", "/drain"),
            ("http://[fe80::1]/", ip("fe80::1", 80), "[fe80::1]", "/"),
            (
                "http://app_web_1:8080?ready",
                name("app_web_1", 8080),
                "app_web_1:8080",
                "/?ready",
            ),
            ("http://h:1/p#frag", name("h", 1), "h:1", "/p"),
            (
                "http://xn--bcher-kva.example/",
                name("xn--bcher-kva.example", 80),
                "xn--bcher-kva.example",
                "/",
            ),
        ] {
            let url = parse_http_url(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(url.target, target, "{text}");
            assert_eq!(url.authority, authority, "{text}");
            assert_eq!(url.path_and_query, pq, "{text}");
        }
    }

    #[test]
    fn refuses_with_one_line_naming_the_input() {
        for (text, needle) in [
            ("nope", "no scheme"),
            ("https://x/", "only http://"),
            ("ftp://x/", "only http://"),
            ("http://", "no host"),
            ("http:///path", "no host"),
            ("http://:80/", "no host"),
            ("http://user:pw@host/", "credentials"),
            ("http://host:0/", "not a port"),
            ("http://host:65536/", "not a port"),
            ("http://host:/", "not a port"),
            ("http://host:+80/", "not a port"),
            ("http://host:80:81/", "brackets"),
            ("http://::1/", "brackets"),
            ("http://[::1/", "closing"),
            ("http://[::1]x/", "junk"),
            ("http://[127.0.0.1]/", "IPv6"),
            ("http://127.1/", "IPv4"),
            ("http://999.0.0.1/", "IPv4"),
            ("http://-bad/", "host name"),
            ("http://a..b/", "host name"),
            ("http://bücher.example/", "xn--"),
            ("http://h/a b", "percent-encoded"),
            ("http://h/a\"b", "percent-encoded"),
            ("http://h/é", "percent-encoded"),
        ] {
            let e = parse_http_url(text).expect_err(text);
            assert!(e.contains(needle), "{text}: {e}");
            assert!(e.contains(&format!("'{text}'")), "{text}: {e}");
            assert_eq!(e.lines().count(), 1, "{e}");
        }
        let long = format!("http://{}.example/", "a".repeat(64));
        assert!(parse_http_url(&long).is_err());
    }

    #[test]
    fn host_port() {
        assert_eq!(
            parse_host_port("localhost:8080").unwrap(),
            name("localhost", 8080)
        );
        assert_eq!(parse_host_port("10.0.0.1:1").unwrap(), ip("10.0.0.1", 1));
        assert_eq!(parse_host_port("[::1]:8080").unwrap(), ip("::1", 8080));
        for text in [
            "localhost",
            ":80",
            "::1:8080",
            "[::1]",
            "h:0",
            "h:x",
            "h/p:80",
            "",
        ] {
            let e = parse_host_port(text).expect_err(text);
            assert!(e.contains("HOST:PORT"), "{text}: {e}");
        }
    }

    #[test]
    fn display_round_trips() {
        for text in ["localhost:8080", "10.0.0.1:1", "[::1]:8080"] {
            assert_eq!(parse_host_port(text).unwrap().to_string(), text);
        }
    }
}
