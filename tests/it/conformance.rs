//! One suite, two modes: each query goes to the compiled and the
//! interpreted server from the same client socket, the two replies must be
//! byte-identical, and each must be what CoreDNS would answer.

use corec_tests::*;
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::{DNSClass, RecordType};
use std::path::Path;
use tokio::net::UdpSocket;

struct Case {
    what: &'static str,
    query: Message,
    tcp: bool,
    check: fn(&Message),
}

fn case(what: &'static str, query: Message, check: fn(&Message)) -> Case {
    Case {
        what,
        query,
        tcp: false,
        check,
    }
}

fn cases() -> Vec<Case> {
    let mut v = vec![
        case("hosts A", query("www.example.org.", RecordType::A), |m| {
            assert_eq!(m.metadata.response_code, ResponseCode::NoError);
            assert!(m.metadata.authoritative);
            assert_eq!(answers(m), ["www.example.org. 300 IN A 192.0.2.10"]);
            assert!(m.authorities.is_empty(), "hosts puts no SOA in authority");
        }),
        case(
            "question case is preserved",
            query("WwW.ExAmPlE.OrG.", RecordType::A),
            |m| {
                assert_eq!(m.queries[0].name().to_ascii(), "WwW.ExAmPlE.OrG.");
                assert_eq!(m.answers[0].name.to_ascii(), "WwW.ExAmPlE.OrG.");
            },
        ),
        case(
            "hosts AAAA",
            query("www.example.org.", RecordType::AAAA),
            |m| {
                assert_eq!(answers(m), ["www.example.org. 300 IN AAAA 2001:db8::10"]);
            },
        ),
        case(
            "hosts NODATA",
            query("www.example.org.", RecordType::MX),
            |m| {
                assert_eq!(m.metadata.response_code, ResponseCode::NoError);
                assert!(m.metadata.authoritative);
                assert!(m.answers.is_empty() && m.authorities.is_empty());
            },
        ),
        case(
            "hosts unknown name is SERVFAIL",
            query("nope.example.org.", RecordType::A),
            |m| {
                assert_eq!(m.metadata.response_code, ResponseCode::ServFail);
            },
        ),
        case(
            "hosts inline entry",
            query("inline.example.org.", RecordType::A),
            |m| {
                assert_eq!(answers(m), ["inline.example.org. 300 IN A 192.0.2.99"]);
            },
        ),
        case(
            "hosts PTR from a reverse CIDR key",
            query("10.2.0.192.in-addr.arpa.", RecordType::PTR),
            |m| {
                assert_eq!(
                    answers(m),
                    ["10.2.0.192.in-addr.arpa. 300 IN PTR www.example.org."]
                );
            },
        ),
        case(
            "truncated without EDNS",
            query("big.example.org.", RecordType::A),
            |m| {
                assert!(m.metadata.truncation);
                assert!(
                    m.answers.is_empty(),
                    "the one RRset did not fit, so none is sent"
                );
            },
        ),
        case(
            "EDNS 1232 fits 40 records",
            with_edns(query("big.example.org.", RecordType::A), 4096),
            |m| {
                assert!(!m.metadata.truncation);
                assert_eq!(m.answers.len(), 40);
                let e = m.edns.as_ref().expect("OPT mirrored");
                assert_eq!(e.max_payload(), 1232, "payload capped at 1232");
            },
        ),
        case(
            "EDNS 512 truncates",
            with_edns(query("big.example.org.", RecordType::A), 512),
            |m| {
                assert!(m.metadata.truncation);
                assert!(m.edns.is_some(), "OPT kept in a truncated reply");
            },
        ),
        case(
            "no OPT in, no OPT out",
            query("www.example.org.", RecordType::A),
            |m| {
                assert!(m.edns.is_none());
            },
        ),
        case("whoami", query("x.example.net.", RecordType::A), |m| {
            assert!(m.metadata.authoritative);
            assert_eq!(m.additionals.len(), 2);
            assert_eq!(
                m.additionals[0].to_string(),
                "x.example.net. 0 IN A 127.0.0.1"
            );
        }),
        case(
            "chaos version.bind",
            query_class("version.bind.", RecordType::TXT, DNSClass::CH),
            |m| {
                assert_eq!(answers(m), ["version.bind. 0 CH TXT corec-test"]);
            },
        ),
        case(
            "falling off the chain is SERVFAIL",
            query("example.com.", RecordType::A),
            |m| {
                assert_eq!(m.metadata.response_code, ResponseCode::ServFail);
            },
        ),
        case(
            "empty block is REFUSED",
            query("empty.example.", RecordType::A),
            |m| {
                assert_eq!(m.metadata.response_code, ResponseCode::Refused);
            },
        ),
        case(
            "BADVERS for EDNS version 1",
            {
                let mut q = with_edns(query("www.example.org.", RecordType::A), 1232);
                q.edns.as_mut().unwrap().set_version(1);
                q
            },
            |m| {
                // BADVERS and BADSIG share the value 16; hickory decodes it as BADSIG.
                assert_eq!(u16::from(m.metadata.response_code), 16);
                assert_eq!(m.edns.as_ref().map(|e| e.version()), Some(0));
            },
        ),
        case(
            "RD copied, QR set",
            query("www.example.org.", RecordType::A),
            |m| {
                assert!(m.metadata.recursion_desired);
                assert_eq!(
                    m.metadata.message_type,
                    hickory_proto::op::MessageType::Response
                );
                assert_eq!(m.metadata.id, 0x1234);
            },
        ),
    ];
    v.push(Case {
        what: "TCP carries the whole big answer",
        query: query("big.example.org.", RecordType::A),
        tcp: true,
        check: |m| {
            assert!(!m.metadata.truncation);
            assert_eq!(m.answers.len(), 40);
        },
    });
    v
}

#[tokio::test(flavor = "multi_thread")]
async fn both_modes_answer_identically_and_correctly() {
    let compiled = start_compiled(
        corec_macros::corefile!("../fixtures/conformance/Corefile"),
        None,
    );
    let interpreted = start_interpreted_file(Path::new("fixtures/conformance/Corefile"));
    // One client socket for both servers, so answers that echo the client
    // (whoami) are identical too.
    let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    for c in cases() {
        let bytes = c.query.to_vec().unwrap();
        let (a, b) = if c.tcp {
            let a = tcp_raw(compiled.tcp, std::slice::from_ref(&bytes), 1).await;
            let b = tcp_raw(interpreted.tcp, std::slice::from_ref(&bytes), 1).await;
            (a.into_iter().next(), b.into_iter().next())
        } else {
            (
                udp_raw(compiled.udp, &bytes, Some(&client)).await,
                udp_raw(interpreted.udp, &bytes, Some(&client)).await,
            )
        };
        let a = a.unwrap_or_else(|| panic!("{}: no reply from the compiled server", c.what));
        let b = b.unwrap_or_else(|| panic!("{}: no reply from the interpreted server", c.what));
        assert_eq!(a, b, "{}: the two modes differ", c.what);
        if !c.tcp {
            assert!(
                a.len() <= 1232,
                "{}: UDP reply of {} bytes",
                c.what,
                a.len()
            );
        }
        let m = Message::from_vec(&a).unwrap();
        (c.check)(&m);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn dig_sees_the_same_as_our_client() {
    let s = start_interpreted_file(Path::new("fixtures/conformance/Corefile"));
    let out = dig(s.udp, &["www.example.org", "A", "+noall", "+answer"]);
    assert!(
        out.contains("www.example.org.\t300\tIN\tA\t192.0.2.10"),
        "{out}"
    );
    let out = dig(s.udp, &["big.example.org", "A", "+noedns", "+ignore"]);
    assert!(out.contains("flags: qr aa tc rd"), "{out}");
    let out = dig(s.udp, &["big.example.org", "A", "+tcp", "+short"]);
    assert_eq!(out.lines().count(), 40, "{out}");
    let out = dig(s.udp, &["CH", "TXT", "version.bind", "+short"]);
    assert_eq!(out.trim(), "\"corec-test\"");
    let out = dig(s.udp, &["empty.example"]);
    assert!(out.contains("status: REFUSED"), "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn tcp_pipelines_several_queries_on_one_connection() {
    let s = start_interpreted_file(Path::new("fixtures/conformance/Corefile"));
    let mut msgs = Vec::new();
    for (i, name) in ["www.example.org.", "mail.example.org.", "x.example.net."]
        .iter()
        .enumerate()
    {
        let mut q = query(name, RecordType::A);
        q.metadata.id = i as u16 + 1;
        msgs.push(q.to_vec().unwrap());
    }
    let replies = tcp_raw(s.tcp, &msgs, 3).await;
    assert_eq!(replies.len(), 3);
    let mut ids: Vec<u16> = replies
        .iter()
        .map(|r| Message::from_vec(r).unwrap().metadata.id)
        .collect();
    ids.sort();
    assert_eq!(ids, [1, 2, 3]);
}

/// A wildcard listener answers from the address the query was sent to
/// (127.0.0.2 is loopback too), or clients would drop the reply: on the full
/// path (hosts with log) and in the fast lane (file, replies sent in batches).
#[tokio::test(flavor = "multi_thread")]
async fn udp_replies_come_from_the_address_queried() {
    for corefile in ["fixtures/conformance/Corefile", "fixtures/file/Corefile"] {
        let s = start_interpreted_file(Path::new(corefile));
        let targets: [std::net::IpAddr; 3] = [
            [127, 0, 0, 1].into(),
            [127, 0, 0, 2].into(),
            std::net::Ipv6Addr::LOCALHOST.into(),
        ];
        for ip in targets {
            let Ok(client) = UdpSocket::bind((ip, 0)).await else {
                continue; // no IPv6 loopback here
            };
            let to = std::net::SocketAddr::from((ip, s.udp.port()));
            let q = query("www.example.org.", RecordType::A).to_vec().unwrap();
            client.send_to(&q, to).await.unwrap();
            let mut buf = [0u8; 1500];
            let (n, from) = tokio::time::timeout(
                std::time::Duration::from_secs(2),
                client.recv_from(&mut buf),
            )
            .await
            .expect("a reply")
            .unwrap();
            assert_eq!(from, to, "{corefile}: reply source");
            let m = Message::from_vec(&buf[..n]).unwrap();
            assert_eq!(m.answers.len(), 1, "{corefile}: {m:?}");
        }
    }
}

/// `bind` limits a block to its addresses; the same zone and port can be
/// served by another block on another address.
#[tokio::test(flavor = "multi_thread")]
async fn bind_selects_the_listening_address() {
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("Corefile");
    std::fs::write(
        &path,
        format!(
            ".:{port} {{\n    bind 127.0.0.1\n    chaos one\n}}\n.:{port} {{\n    bind 127.0.0.2\n    chaos two\n}}\n"
        ),
    )
    .unwrap();
    let _s = start_interpreted_file(&path);
    let q = query_class("version.bind.", RecordType::TXT, DNSClass::CH);
    for (ip, want) in [([127, 0, 0, 1], "one"), ([127, 0, 0, 2], "two")] {
        let m = udp(std::net::SocketAddr::from((ip, port)), &q).await;
        assert_eq!(answers(&m), [format!("version.bind. 0 CH TXT {want}")]);
    }
    let bytes = q.to_vec().unwrap();
    assert_eq!(
        udp_raw(
            std::net::SocketAddr::from(([127, 0, 0, 3], port)),
            &bytes,
            None
        )
        .await,
        None,
        "nothing listens on 127.0.0.3"
    );
}

/// The file and transfer plugins answer byte for byte alike in both modes,
/// over the whole differential query set, with and without DO, and for AXFR.
#[tokio::test(flavor = "multi_thread")]
async fn file_answers_identically_in_both_modes() {
    let compiled = start_compiled(corec_macros::corefile!("../fixtures/file/Corefile"), None);
    let interpreted = start_interpreted_file(Path::new("fixtures/file/Corefile"));
    let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    for &(name, qtype) in crate::differential::CASES {
        for dnssec in [false, true] {
            let mut q = with_edns(query(name, qtype), 1232);
            q.edns.as_mut().unwrap().set_dnssec_ok(dnssec);
            let bytes = q.to_vec().unwrap();
            let a = udp_raw(compiled.udp, &bytes, Some(&client))
                .await
                .expect("compiled reply");
            let b = udp_raw(interpreted.udp, &bytes, Some(&client))
                .await
                .expect("interpreted reply");
            assert_eq!(a, b, "{name} {qtype} DO={dnssec}: the two modes differ");
        }
    }
    let axfr = query("example.org.", RecordType::AXFR).to_vec().unwrap();
    let a = tcp_raw(compiled.tcp, std::slice::from_ref(&axfr), 10).await;
    let b = tcp_raw(interpreted.tcp, std::slice::from_ref(&axfr), 10).await;
    assert!(!a.is_empty(), "the compiled server transfers the zone");
    assert_eq!(a, b, "AXFR differs between the modes");
}

/// A CNAME whose target is in another zone of the same server is followed
/// through the server (file and template), in both modes and over UDP and
/// TCP; a target the server cannot answer leaves the CNAME alone, and a
/// CNAME loop across zones ends.
#[tokio::test(flavor = "multi_thread")]
async fn cname_targets_are_resolved_through_the_server() {
    let compiled = start_compiled(
        corec_macros::corefile!("../fixtures/upstream/Corefile"),
        None,
    );
    let interpreted = start_interpreted_file(Path::new("fixtures/upstream/Corefile"));
    for (mode, udp_at, tcp_at) in [
        ("compiled", compiled.udp, compiled.tcp),
        ("interpreted", interpreted.udp, interpreted.tcp),
    ] {
        for tcp_too in [false, true] {
            let ask = |name: &str| {
                let q = query(name, RecordType::A);
                async move {
                    if tcp_too {
                        tcp(tcp_at, &q).await
                    } else {
                        udp(udp_at, &q).await
                    }
                }
            };
            let m = ask("away.example.org.").await;
            assert_eq!(
                answers(&m),
                [
                    "away.example.org. 3600 IN CNAME www.example.net.",
                    "www.example.net. 3600 IN A 192.0.2.77"
                ],
                "{mode}"
            );
            assert!(m.metadata.authoritative);
            let m = ask("x.example.com.").await;
            assert_eq!(
                answers(&m),
                [
                    "www.example.net. 3600 IN A 192.0.2.77",
                    "x.example.com. 60 IN CNAME www.example.net."
                ],
                "{mode}"
            );
            let m = ask("gone.example.org.").await;
            assert_eq!(m.metadata.response_code, ResponseCode::NoError);
            assert_eq!(
                answers(&m),
                ["gone.example.org. 3600 IN CNAME nothing.example.net."],
                "{mode}"
            );
            let m = ask("loop.example.org.").await;
            assert!(
                (2..=20).contains(&m.answers.len()),
                "{mode}: a bounded loop, got {:?}",
                answers(&m)
            );
        }
    }
}
