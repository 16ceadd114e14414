//! The URLs and addresses drainit's client accepts: `http::Uri` parses
//! them, and a short policy on top keeps what the client can send
//! unchanged: `http://HOST[:PORT][/PATH][?QUERY]` and `HOST:PORT`, where
//! HOST is a host name, a dotted-quad IPv4 address or a bracketed IPv6
//! address.
//!
//! Strict on purpose, so that a typo fails at start-up with one line
//! instead of at the first probe: no TLS (the static binary carries none),
//! no credentials, no percent-encoding done for the user, no IDNA (write
//! the `xn--` form), no port 0, no guessed IPv4 forms such as `127.1`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use hyper::http::uri::{Authority, Uri};

const EXAMPLE_URL: &str = "use e.g. http://127.0.0.1:8080/health or http://[::1]:8080/health";
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

/// Parses `http://HOST[:PORT][/PATH][?QUERY][#FRAGMENT]` (the fragment is
/// never sent and is dropped). The scheme is case-insensitive.
pub fn parse_http_url(text: &str) -> Result<HttpUrl, String> {
    let bad = |why: &str| format!("'{text}' is not a usable URL ({why}): {EXAMPLE_URL}");
    let uri: Uri = text.parse().map_err(|e| bad(&uri_error(text, e)))?;
    let (Some(scheme), Some(authority)) = (uri.scheme_str(), uri.authority()) else {
        return Err(bad("no scheme"));
    };
    if !scheme.eq_ignore_ascii_case("http") {
        return Err(format!(
            "'{text}' uses {scheme}: only http:// is supported (probes stay inside the container)"
        ));
    }
    let target = check_authority(authority, Some(80)).map_err(|why| bad(&why))?;
    let path_and_query = match uri.query() {
        Some(query) => format!("{}?{query}", uri.path()),
        None => uri.path().to_string(),
    };
    if let Some(c) = path_and_query.chars().find(|c| !is_path_char(*c)) {
        return Err(bad(&format!("{c:?} must be percent-encoded")));
    }
    Ok(HttpUrl {
        target,
        authority: authority.as_str().to_string(),
        path_and_query,
    })
}

/// Parses `HOST:PORT`; the port is required.
pub fn parse_host_port(text: &str) -> Result<Target, String> {
    let bad = |why: &str| format!("'{text}' is not HOST:PORT ({why}), {EXAMPLE_ADDR}");
    let authority: Authority = text.parse().map_err(|e| bad(&uri_error(text, e)))?;
    check_authority(&authority, None).map_err(|why| bad(&why))
}

/// http's own reason, with the usual cause of a non-ASCII input named.
fn uri_error(text: &str, e: hyper::http::uri::InvalidUri) -> String {
    if text.is_ascii() {
        e.to_string()
    } else {
        format!("{e}: percent-encode a path, write a host name in its xn-- form")
    }
}

/// Visible ASCII that the HTTP request line carries as is (RFC 3986's
/// unreserved, sub-delims, `%`, `:`, `@`, `/`, `?`): no space, no quote,
/// none of `<`, `>`, `\`, `^`, backquote, `{`, `|`, `}`, nothing
/// non-ASCII (http::Uri lets some of these through).
fn is_path_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-._~!$&'()*+,;=%:@/?".contains(c)
}

/// The policy on an authority http::Uri accepted: no credentials, a host
/// drainit can connect to, a port 1-65535 (`default` when none is written).
fn check_authority(authority: &Authority, default: Option<u16>) -> Result<Target, String> {
    let text = authority.as_str();
    if text.contains('@') {
        return Err("credentials in a URL are not supported".into());
    }
    let host = authority.host();
    let port = match text.get(host.len()..).unwrap_or_default() {
        "" => default.ok_or("no port")?,
        rest => parse_port(rest.strip_prefix(':').ok_or("junk after the host")?)?,
    };
    Ok(Target {
        host: parse_host(host)?,
        port,
    })
}

fn parse_port(text: &str) -> Result<u16, String> {
    match text.parse::<u16>() {
        Ok(p) if p > 0 && text.bytes().all(|b| b.is_ascii_digit()) => Ok(p),
        _ => Err(format!("'{text}' is not a port (1-65535)")),
    }
}

/// A bracketed IPv6 address, a dotted-quad IPv4 address or a host name
/// (RFC 1123 labels, `_` allowed as Docker names use it, one trailing dot
/// allowed). A host of digits and dots only must be a valid dotted quad:
/// `127.1` or `999.0.0.1` are refused rather than guessed at.
fn parse_host(host: &str) -> Result<Host, String> {
    if host.is_empty() {
        return Err("no host".into());
    }
    if let Some(ip) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return ip
            .parse::<Ipv6Addr>()
            .map(|ip| Host::Ip(IpAddr::V6(ip)))
            .map_err(|_| format!("'{ip}' is not an IPv6 address"));
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
        // The needle is the policy's reason, or http::Uri's where it refuses
        // first; the example of a good URL follows either.
        for (text, needle) in [
            ("nope", "no scheme"),
            ("https://x/", "only http://"),
            ("ftp://x/", "only http://"),
            ("http://", "empty string"),
            ("http:///path", "invalid format"),
            ("http://:80/", "no host"),
            ("http://user:pw@host/", "credentials"),
            ("http://host:0/", "not a port"),
            ("http://host:65536/", "not a port"),
            ("http://host:/", "not a port"),
            ("http://host:+80/", "not a port"),
            ("http://host:80:81/", "invalid authority"),
            ("http://::1/", "invalid authority"),
            ("http://[::1/", "invalid authority"),
            ("http://[::1]x/", "junk"),
            ("http://[127.0.0.1]/", "IPv6"),
            ("http://127.1/", "IPv4"),
            ("http://999.0.0.1/", "IPv4"),
            ("http://-bad/", "host name"),
            ("http://a..b/", "host name"),
            ("http://bücher.example/", "xn--"),
            ("http://h/a b", "invalid uri character"),
            ("http://h/a\"b", "percent-encoded"),
            ("http://h/é", "percent-encoded"),
        ] {
            let e = parse_http_url(text).expect_err(text);
            assert!(e.contains(needle), "{text}: {e}");
            assert!(e.contains(&format!("'{text}'")), "{text}: {e}");
            assert_eq!(e.lines().count(), 1, "{e}");
            let example = e.contains("http://127.0.0.1:8080/health");
            assert!(example || needle == "only http://", "{e}");
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
}
