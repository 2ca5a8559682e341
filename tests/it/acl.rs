//! acl with real clients: dig from 127.0.0.1 is answered, other loopback
//! source addresses are refused, filtered or ignored, in both modes.

use corec_tests::*;
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::RecordType;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;
use tokio::net::UdpSocket;

/// The reply to `m` sent over UDP from `source`, if one comes within a second.
async fn from(source: &str, server: SocketAddr, m: &Message) -> Option<Message> {
    let sock = UdpSocket::bind((source, 0))
        .await
        .expect("bind a loopback address");
    sock.send_to(&m.to_vec().unwrap(), server).await.unwrap();
    let mut buf = vec![0u8; 65535];
    let (n, _) = tokio::time::timeout(Duration::from_secs(1), sock.recv_from(&mut buf))
        .await
        .ok()?
        .ok()?;
    Some(Message::from_vec(&buf[..n]).expect("decodable"))
}

async fn check(mode: &str, udp: SocketAddr, tcp: SocketAddr) {
    // dig from 127.0.0.1: answered, over UDP and TCP.
    for transport in ["+notcp", "+tcp"] {
        let at = if transport == "+tcp" { tcp } else { udp };
        let out = dig(at, &[transport, "www.example.org", "A"]);
        assert!(out.contains("status: NOERROR"), "{mode} {transport}: {out}");
        assert!(out.contains("192.0.2.10"), "{mode} {transport}: {out}");
    }
    // dig from 127.0.0.2: refused, with the extended error.
    for transport in ["+notcp", "+tcp"] {
        let at = if transport == "+tcp" { tcp } else { udp };
        let out = dig(at, &["-b", "127.0.0.2", transport, "www.example.org", "A"]);
        assert!(out.contains("status: REFUSED"), "{mode} {transport}: {out}");
        assert!(
            out.contains("EDE: 15 (Blocked)"),
            "{mode} {transport}: {out}"
        );
        assert!(!out.contains("192.0.2.10"), "{mode} {transport}: {out}");
    }
    // From 127.0.0.3: TXT is answered empty, A normally.
    let out = dig(udp, &["-b", "127.0.0.3", "www.example.org", "TXT"]);
    assert!(out.contains("status: NOERROR"), "{mode}: {out}");
    assert!(out.contains("ANSWER: 0"), "{mode}: {out}");
    assert!(out.contains("EDE: 17 (Filtered)"), "{mode}: {out}");
    let m = from("127.0.0.3", udp, &query("www.example.org.", RecordType::A))
        .await
        .expect("a reply");
    assert_eq!(
        answers(&m),
        ["www.example.org. 3600 IN A 192.0.2.10"],
        "{mode}"
    );
    let m = from(
        "127.0.0.1",
        udp,
        &query("www.example.org.", RecordType::TXT),
    )
    .await
    .expect("a reply");
    assert_eq!(m.answers.len(), 1, "{mode}: only 127.0.0.3 is filtered");
    // From 127.0.0.4: nothing at all.
    assert!(
        from("127.0.0.4", udp, &query("www.example.org.", RecordType::A))
            .await
            .is_none(),
        "{mode}: a dropped query gets no reply"
    );
    // Without EDNS a refusal carries no OPT.
    let m = from("127.0.0.2", udp, &query("www.example.org.", RecordType::A))
        .await
        .expect("a reply");
    assert_eq!(m.metadata.response_code, ResponseCode::Refused, "{mode}");
    assert!(m.edns.is_none(), "{mode}");
}

#[tokio::test(flavor = "multi_thread")]
async fn clients_are_answered_refused_filtered_or_ignored_by_address() {
    let compiled = start_compiled(corec_macros::corefile!("../fixtures/acl/Corefile"), None);
    let interpreted = start_interpreted_file(Path::new("fixtures/acl/Corefile"));
    check("compiled", compiled.udp, compiled.tcp).await;
    check("interpreted", interpreted.udp, interpreted.tcp).await;
}
