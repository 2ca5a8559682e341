//! timeouts: a TCP connection idle past the configured idle timeout is
//! closed, and one carries no more queries than `maxtcpqueries`, in both
//! modes.

use corec_tests::*;
use hickory_proto::rr::RecordType;
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Waits up to `limit` for the server to close `s`.
async fn closed_within(s: &mut TcpStream, limit: Duration) -> bool {
    let mut b = [0u8; 1];
    matches!(
        tokio::time::timeout(limit, s.read(&mut b)).await,
        Ok(Ok(0) | Err(_))
    )
}

async fn check(mode: &str, tcp: SocketAddr) {
    // Idle: closed well before the 10 s default.
    let mut c = TcpStream::connect(tcp).await.unwrap();
    let start = Instant::now();
    assert!(
        closed_within(&mut c, Duration::from_secs(6)).await,
        "{mode}: an idle connection is closed after the configured 1 s"
    );
    assert!(
        start.elapsed() >= Duration::from_millis(500),
        "{mode}: not closed at once"
    );

    // A connection that is used stays open while queries come.
    let q = query("a.example.", RecordType::A).to_vec().unwrap();
    let replies = tcp_raw(tcp, std::slice::from_ref(&q), 1).await;
    assert_eq!(replies.len(), 1, "{mode}");

    // maxtcpqueries 2: three pipelined queries get two answers, then the
    // connection is closed.
    let mut c = TcpStream::connect(tcp).await.unwrap();
    let mut out = Vec::new();
    for _ in 0..3 {
        out.extend_from_slice(&(q.len() as u16).to_be_bytes());
        out.extend_from_slice(&q);
    }
    c.write_all(&out).await.unwrap();
    let mut answered = 0;
    loop {
        let mut len = [0u8; 2];
        match tokio::time::timeout(Duration::from_secs(3), c.read_exact(&mut len)).await {
            Ok(Ok(_)) => {
                let mut buf = vec![0u8; usize::from(u16::from_be_bytes(len))];
                c.read_exact(&mut buf).await.unwrap();
                answered += 1;
            }
            Ok(Err(_)) => break, // closed
            Err(_) => panic!("{mode}: the connection stayed open"),
        }
    }
    assert_eq!(answered, 2, "{mode}: two queries per connection");
}

#[tokio::test(flavor = "multi_thread")]
async fn idle_tcp_connections_close_and_query_counts_are_capped() {
    let compiled = start_compiled(
        corec_macros::corefile!("../fixtures/timeouts/Corefile"),
        None,
    );
    let interpreted = start_interpreted_file(Path::new("fixtures/timeouts/Corefile"));
    check("compiled", compiled.tcp).await;
    check("interpreted", interpreted.tcp).await;
}
