//! One HTTP/1.1 request on one connection, with hyper's client
//! connection (no pool, no redirects, no proxy, no TLS): what a probe and
//! a drain hook need, and nothing that would resolve or spawn.

use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::Empty;
use hyper::header::{CONNECTION, CONTENT_LENGTH, HOST, USER_AGENT};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpSocket, TcpStream};

use super::url::HttpUrl;

const AGENT: &str = concat!("drainit/", env!("CARGO_PKG_VERSION"));

/// Sockets made ahead of time, one per address family, so that the first
/// connection attempt of each family creates nothing.
#[derive(Default)]
pub struct Spares {
    v4: Option<TcpSocket>,
    v6: Option<TcpSocket>,
}

impl Spares {
    /// One socket per family the addresses can need; a family the host
    /// does not support is simply left out.
    pub fn make(v4: bool, v6: bool) -> Spares {
        Spares {
            v4: v4.then(TcpSocket::new_v4).and_then(Result::ok),
            v6: v6.then(TcpSocket::new_v6).and_then(Result::ok),
        }
    }

    fn take(&mut self, addr: &SocketAddr) -> std::io::Result<TcpSocket> {
        let spare = if addr.is_ipv4() {
            self.v4.take()
        } else {
            self.v6.take()
        };
        match spare {
            Some(s) => Ok(s),
            None if addr.is_ipv4() => TcpSocket::new_v4(),
            None => TcpSocket::new_v6(),
        }
    }
}

/// Connects to the first address that accepts, in order.
pub async fn connect(addrs: &[SocketAddr], spares: &mut Spares) -> Result<TcpStream, String> {
    let mut errors = Vec::new();
    for addr in addrs {
        let attempt = match spares.take(addr) {
            Ok(socket) => socket.connect(*addr).await,
            Err(e) => Err(e),
        };
        match attempt {
            Ok(stream) => return Ok(stream),
            Err(e) => errors.push(format!("{addr}: {e}")),
        }
    }
    Err(format!("cannot connect ({})", errors.join("; ")))
}

/// Sends one bodiless request and returns the status code.
pub async fn request(stream: TcpStream, method: Method, url: &HttpUrl) -> Result<u16, String> {
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| e.to_string())?;
    let mut req = Request::builder()
        .method(method.clone())
        .uri(url.path_and_query.as_str())
        .header(HOST, url.authority.as_str())
        .header(USER_AGENT, AGENT)
        .header(CONNECTION, "close");
    if method == Method::POST {
        req = req.header(CONTENT_LENGTH, "0");
    }
    let req = req
        .body(Empty::<Bytes>::new())
        .map_err(|e| format!("cannot build the request: {e}"))?;
    let mut answer = std::pin::pin!(sender.send_request(req));
    let mut conn = std::pin::pin!(conn);
    let closed = tokio::select! {
        resp = &mut answer => return resp.map(|r| r.status().as_u16()).map_err(|e| e.to_string()),
        closed = &mut conn => closed,
    };
    // The connection can finish in the same turn that delivered the
    // answer (`connection: close`): the answer is then ready.
    match answer.await {
        Ok(resp) => Ok(resp.status().as_u16()),
        Err(e) => Err(closed
            .err()
            .map_or_else(|| e.to_string(), |c| c.to_string())),
    }
}
