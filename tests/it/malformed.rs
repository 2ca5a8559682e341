//! Bad packets never crash the server: FORMERR when the header parses,
//! nothing otherwise, and the server keeps answering.

use corec_tests::*;
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::RecordType;
use std::path::Path;

fn header(id: u16, flags: u16, qd: u16, an: u16, ns: u16, ar: u16) -> Vec<u8> {
    [id, flags, qd, an, ns, ar]
        .iter()
        .flat_map(|x| x.to_be_bytes())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_queries() {
    let s = start_interpreted_file(Path::new("fixtures/conformance/Corefile"));
    // Too short for a header: dropped.
    assert_eq!(udp_raw(s.udp, &[1, 2, 3], None).await, None);
    // A response: never answered.
    assert_eq!(
        udp_raw(s.udp, &header(7, 0x8000, 1, 0, 0, 0), None).await,
        None
    );
    // Header says one question, none follows: FORMERR with the same ID.
    let r = udp_raw(s.udp, &header(7, 0x0100, 1, 0, 0, 0), None)
        .await
        .expect("FORMERR");
    let m = Message::from_vec(&r).unwrap();
    assert_eq!(
        (m.metadata.id, m.metadata.response_code),
        (7, ResponseCode::FormErr)
    );
    assert!(m.metadata.recursion_desired);
    // Two questions: FORMERR.
    let r = udp_raw(s.udp, &header(8, 0, 2, 0, 0, 0), None)
        .await
        .expect("FORMERR");
    assert_eq!(
        Message::from_vec(&r).unwrap().metadata.response_code,
        ResponseCode::FormErr
    );
    // An UPDATE (opcode 5): NOTIMP.
    let r = udp_raw(s.udp, &header(9, 5 << 11, 1, 0, 0, 0), None)
        .await
        .expect("NOTIMP");
    assert_eq!(
        Message::from_vec(&r).unwrap().metadata.response_code,
        ResponseCode::NotImp
    );
    // A name with a compression loop.
    let mut bytes = header(10, 0, 1, 0, 0, 0);
    bytes.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1]);
    let r = udp_raw(s.udp, &bytes, None).await.expect("FORMERR");
    assert_eq!(
        Message::from_vec(&r).unwrap().metadata.response_code,
        ResponseCode::FormErr
    );
    // Random junk of many lengths, over UDP and TCP, sent without waiting.
    let sock = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for len in 0..200usize {
        let junk: Vec<u8> = (0..len)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed as u8
            })
            .collect();
        sock.send_to(&junk, s.udp).await.unwrap();
        if len % 20 == 0 {
            use tokio::io::AsyncWriteExt;
            let mut c = tokio::net::TcpStream::connect(s.tcp).await.unwrap();
            let _ = c.write_all(&junk).await;
        }
    }
    // Still serving.
    let m = udp(s.udp, &query("www.example.org.", RecordType::A)).await;
    assert_eq!(answers(&m), ["www.example.org. 300 IN A 192.0.2.10"]);
}
