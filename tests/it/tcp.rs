//! TCP limits: idle connections are closed, connections beyond the cap are
//! refused at once, and a half-sent query is not lost when an answer is
//! written in between.

use corec_runtime::cli;
use corec_runtime::server::Server;
use corec_runtime::server::tcp::TcpLimits;
use corec_runtime::site::NoCompiled;
use corec_tests::*;
use hickory_proto::op::Message;
use hickory_proto::rr::RecordType;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn start(limits: TcpLimits) -> (std::sync::Arc<Server<NoCompiled>>, SocketAddr) {
    let model = cli::load_text(".:0 {\n    whoami\n}\n", "Corefile", "53");
    let site = cli::build_site::<NoCompiled>(model, false).unwrap();
    let server = Server::start_with(site, limits).unwrap();
    let port = server.bound()[0].1.tcp.port();
    (server, SocketAddr::from(([127, 0, 0, 1], port)))
}

async fn closed(s: &mut TcpStream) -> bool {
    let mut b = [0u8; 1];
    matches!(
        tokio::time::timeout(Duration::from_secs(3), s.read(&mut b)).await,
        Ok(Ok(0) | Err(_))
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn idle_connections_are_closed() {
    let (_server, addr) = start(TcpLimits {
        idle: Duration::from_millis(200),
        ..TcpLimits::default()
    });
    let mut c = TcpStream::connect(addr).await.unwrap();
    assert!(
        closed(&mut c).await,
        "an idle connection is closed after the idle timeout"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn connections_beyond_the_cap_are_closed() {
    let (_server, addr) = start(TcpLimits {
        max_connections: 2,
        ..TcpLimits::default()
    });
    let q = query("a.example.", RecordType::A).to_vec().unwrap();
    let mut held = Vec::new();
    for _ in 0..2 {
        let c = TcpStream::connect(addr).await.unwrap();
        held.push(c);
    }
    // Make sure both are accepted before the third arrives.
    for c in &mut held {
        c.write_all(&[0, q.len() as u8]).await.unwrap();
        c.write_all(&q).await.unwrap();
        let mut len = [0u8; 2];
        c.read_exact(&mut len).await.unwrap();
        let mut buf = vec![0u8; u16::from_be_bytes(len).into()];
        c.read_exact(&mut buf).await.unwrap();
    }
    let mut third = TcpStream::connect(addr).await.unwrap();
    assert!(closed(&mut third).await, "the third connection is closed");
    drop(held);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let r = tcp(addr, &query("a.example.", RecordType::A)).await;
    assert_eq!(r.additionals.len(), 2, "a slot is free again");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_query_split_across_writes_is_answered() {
    let (_server, addr) = start(TcpLimits::default());
    let q = query("a.example.", RecordType::A).to_vec().unwrap();
    let mut c = TcpStream::connect(addr).await.unwrap();
    let mut framed = (q.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(&q);
    for chunk in framed.chunks(5) {
        c.write_all(chunk).await.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut len = [0u8; 2];
    c.read_exact(&mut len).await.unwrap();
    let mut buf = vec![0u8; u16::from_be_bytes(len).into()];
    c.read_exact(&mut buf).await.unwrap();
    assert_eq!(Message::from_vec(&buf).unwrap().metadata.id, 0x1234);
}
