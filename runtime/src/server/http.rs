//! A small HTTP/1.1 server for the side listeners (*health*, *ready*, and
//! later *prometheus*): a handful of fixed paths answered from memory.
//!
//! It is bounded the way CoreDNS bounds its side servers: at most
//! [`HttpLimits::max_connections`] connections per listener (more are closed
//! at once), 5 seconds to send a request's headers and 5 seconds of idleness
//! between requests, request headers of at most 16 KiB, and every
//! connection closed after [`HttpLimits::lifetime`] whatever it does.

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use socket2::{Domain, Protocol, Socket, Type};
use std::convert::Infallible;
use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio::task::{JoinHandle, JoinSet};

/// Where a side listener binds: an address (`None` = every address) and a
/// TCP port, as written `HOST:PORT` in a Corefile (`:8080`, `127.0.0.1:8181`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HttpAddr {
    /// The address; `None` listens on all of them (IPv6 and IPv4).
    pub host: Option<IpAddr>,
    /// The port (0: the kernel picks one).
    pub port: u16,
}

impl fmt::Display for HttpAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.host {
            None => write!(f, ":{}", self.port),
            Some(IpAddr::V6(ip)) => write!(f, "[{ip}]:{}", self.port),
            Some(ip) => write!(f, "{ip}:{}", self.port),
        }
    }
}

/// What a handler answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// The status code.
    pub status: u16,
    /// The `Content-Type` header.
    pub content_type: &'static str,
    /// The body.
    pub body: Bytes,
}

impl HttpResponse {
    /// A plain-text response.
    pub fn text(status: u16, body: impl Into<Bytes>) -> Self {
        HttpResponse {
            status,
            content_type: "text/plain; charset=utf-8",
            body: body.into(),
        }
    }

    /// 404, as Go's default mux says it.
    pub fn not_found() -> Self {
        Self::text(404, "404 page not found\n")
    }

    fn into_hyper(self) -> Response<Full<Bytes>> {
        let mut r = Response::new(Full::new(self.body));
        *r.status_mut() = StatusCode::from_u16(self.status).unwrap_or(StatusCode::OK);
        if let Ok(v) = hyper::header::HeaderValue::from_str(self.content_type) {
            r.headers_mut().insert(hyper::header::CONTENT_TYPE, v);
        }
        r
    }
}

/// Answers a request from its method and path. Called for every request, so
/// it must be quick and must not block.
pub type HttpHandler = Arc<dyn Fn(&Method, &str) -> HttpResponse + Send + Sync>;

/// Bounds of one listener.
#[derive(Debug, Clone, Copy)]
pub struct HttpLimits {
    /// Open connections; more are closed as soon as they are accepted.
    pub max_connections: usize,
    /// Time allowed to send a request's headers, and to stay idle between requests.
    pub read: Duration,
    /// Longest life of one connection.
    pub lifetime: Duration,
    /// Largest request head (request line and headers), in bytes.
    pub max_header_bytes: usize,
}

impl Default for HttpLimits {
    fn default() -> Self {
        HttpLimits {
            max_connections: 64,
            read: Duration::from_secs(5),
            lifetime: Duration::from_secs(30),
            max_header_bytes: 16 * 1024,
        }
    }
}

/// Binds a listening TCP socket for `at`. SO_REUSEPORT lets a reload bind
/// a side listener's new address before the old one (which may overlap it,
/// `:8080` and `127.0.0.1:8080`) is closed.
pub fn bind(at: HttpAddr) -> io::Result<std::net::TcpListener> {
    match at.host {
        Some(ip) => listener(SocketAddr::new(ip, at.port)),
        None => listener(SocketAddr::new(Ipv6Addr::UNSPECIFIED.into(), at.port))
            // No IPv6 on this host: IPv4 only.
            .or_else(|_| listener(SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), at.port))),
    }
}

fn listener(addr: SocketAddr) -> io::Result<std::net::TcpListener> {
    let s = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    if addr.is_ipv6() {
        s.set_only_v6(false)?;
    }
    s.set_reuse_address(true)?;
    s.set_reuse_port(true)?;
    s.set_nonblocking(true)?;
    s.bind(&addr.into())?;
    s.listen(128)?;
    Ok(s.into())
}

/// A running HTTP listener; dropping it closes the socket and every
/// connection it has open.
#[derive(Debug)]
pub struct HttpServer {
    local: SocketAddr,
    task: JoinHandle<()>,
}

impl HttpServer {
    /// Serves `listener` with `handler` until dropped. Must run inside a tokio runtime.
    pub fn start(
        listener: std::net::TcpListener,
        handler: HttpHandler,
        limits: HttpLimits,
    ) -> io::Result<HttpServer> {
        let local = listener.local_addr()?;
        let listener = tokio::net::TcpListener::from_std(listener)?;
        let task = tokio::spawn(accept_loop(listener, handler, limits));
        Ok(HttpServer { local, task })
    }

    /// The address actually bound (the port the kernel picked for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        // The connections live in the task's JoinSet, so they go with it.
        self.task.abort();
    }
}

async fn accept_loop(listener: tokio::net::TcpListener, handler: HttpHandler, limits: HttpLimits) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let mut connections = JoinSet::new();
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
        };
        let Ok((stream, _peer)) = accepted else {
            // Out of descriptors or similar: back off instead of spinning.
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            drop(stream); // over the limit: close rather than queue
            continue;
        };
        let handler = handler.clone();
        connections.spawn(async move {
            let _permit = permit;
            let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                let answer = handler(req.method(), req.uri().path()).into_hyper();
                async move { Ok::<_, Infallible>(answer) }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(limits.read)
                .max_buf_size(limits.max_header_bytes.max(8192))
                .max_header_size(limits.max_header_bytes)
                .serve_connection(TokioIo::new(stream), service);
            let _ = tokio::time::timeout(limits.lifetime, conn).await;
        });
    }
}

/// `GET path` on our own listener at `at`: the status code, or `None` if
/// the exchange failed. Used by *health*'s self-probe.
pub async fn probe(at: SocketAddr, path: &str) -> Option<u16> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(at).await.ok()?;
    let req = format!("GET {path} HTTP/1.1\r\nHost: {at}\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.ok()?;
    let mut head = [0u8; 12];
    s.read_exact(&mut head).await.ok()?;
    // "HTTP/1.1 200"
    std::str::from_utf8(head.get(9..12)?).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    fn server(limits: HttpLimits) -> HttpServer {
        let handler: HttpHandler = Arc::new(|method, path| match path {
            "/hello" => HttpResponse::text(200, format!("{method} hello")),
            _ => HttpResponse::not_found(),
        });
        let at = HttpAddr {
            host: Some(IpAddr::from([127, 0, 0, 1])),
            port: 0,
        };
        HttpServer::start(bind(at).unwrap(), handler, limits).unwrap()
    }

    /// Sends `request` and reads until the server closes (at most 5 s).
    async fn exchange(s: &mut TcpStream, request: &str) -> String {
        s.write_all(request.as_bytes()).await.unwrap();
        let mut out = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut out)).await;
        String::from_utf8_lossy(&out).into_owned()
    }

    const GET_HELLO: &str = "GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

    #[tokio::test]
    async fn answers_paths_and_404() {
        let srv = server(HttpLimits::default());
        let mut s = TcpStream::connect(srv.local_addr()).await.unwrap();
        let r = exchange(&mut s, GET_HELLO).await;
        assert!(r.starts_with("HTTP/1.1 200 OK\r\n"), "{r}");
        assert!(
            r.contains("content-type: text/plain; charset=utf-8\r\n"),
            "{r}"
        );
        assert!(r.contains("content-length: 9\r\n"), "{r}");
        assert!(r.ends_with("\r\n\r\nGET hello"), "{r}");
        let mut s = TcpStream::connect(srv.local_addr()).await.unwrap();
        let r = exchange(
            &mut s,
            "GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
        .await;
        assert!(r.starts_with("HTTP/1.1 404 Not Found\r\n"), "{r}");
        assert!(r.ends_with("404 page not found\n"), "{r}");
        // Not HTTP at all: the connection is closed, nothing is served.
        let mut s = TcpStream::connect(srv.local_addr()).await.unwrap();
        let r = exchange(&mut s, "\x16\x03\x01 not http\r\n\r\n").await;
        assert!(!r.contains("200 OK"), "{r}");
    }

    #[tokio::test]
    async fn connections_are_bounded_in_number_and_time() {
        let srv = server(HttpLimits {
            max_connections: 1,
            read: Duration::from_millis(300),
            ..HttpLimits::default()
        });
        // An idle connection holds the only slot...
        let mut idle = TcpStream::connect(srv.local_addr()).await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        // ...so another is closed unanswered.
        let mut second = TcpStream::connect(srv.local_addr()).await.unwrap();
        assert_eq!(exchange(&mut second, GET_HELLO).await, "");
        // The idle one is closed after the read timeout, freeing the slot.
        let mut buf = [0u8; 16];
        let closed = tokio::time::timeout(Duration::from_secs(5), idle.read(&mut buf)).await;
        assert!(matches!(closed, Ok(Ok(0) | Err(_))), "{closed:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
        let mut third = TcpStream::connect(srv.local_addr()).await.unwrap();
        assert!(
            exchange(&mut third, GET_HELLO)
                .await
                .starts_with("HTTP/1.1 200 OK")
        );
        // Oversized request heads are refused.
        let mut big = TcpStream::connect(srv.local_addr()).await.unwrap();
        let huge = format!(
            "GET /hello HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
            "a".repeat(20_000)
        );
        let r = exchange(&mut big, &huge).await;
        assert!(!r.contains("200 OK"), "{r}");
    }

    #[tokio::test]
    async fn dropping_the_server_closes_the_listener() {
        let srv = server(HttpLimits::default());
        let at = srv.local_addr();
        drop(srv);
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(TcpStream::connect(at).await.is_err());
    }
}
