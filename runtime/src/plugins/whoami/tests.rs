use crate::dns::{RData, RecordType};
use crate::testing::{Case, parse_err, query_interpreted};

#[test]
fn takes_no_arguments() {
    assert!(parse_err(". {\n whoami x\n}").contains("Wrong argument count"));
}

#[tokio::test]
async fn answers_every_type_with_client_address_and_port() {
    for qtype in [RecordType::A, RecordType::MX, RecordType::TXT] {
        let r = query_interpreted(
            "example.org {\n whoami\n}",
            Case::new("www.example.org.", qtype),
        )
        .await;
        let m = r.message();
        assert!(m.metadata.authoritative);
        assert!(m.answers.is_empty());
        assert_eq!(m.additionals.len(), 2);
        assert!(matches!(m.additionals[0].data, RData::A(a) if a.0.is_loopback()));
        assert_eq!(m.additionals[1].name.to_ascii(), "_udp.www.example.org.");
        assert!(matches!(&m.additionals[1].data, RData::SRV(s) if s.port == 5353));
    }
}

/// The fast lane writes the very bytes the full path does: IPv4 and IPv6
/// clients (mapped ones too), UDP and TCP, with and without EDNS, and a
/// name too long for the SRV record.
#[tokio::test]
async fn fast_lane_matches_the_full_path() {
    let site = crate::testing::TestSite::new(". {\n whoami\n}");
    let long = format!("{}.", vec!["a".repeat(62); 4].join("."));
    for name in ["www.example.org.", "EXAMPLE.org.", long.as_str()] {
        for client in [
            "192.0.2.1:5353",
            "[2001:db8::1]:53",
            "[::ffff:10.0.0.1]:999",
        ] {
            for case in [
                Case::new(name, RecordType::A).from(client),
                Case::new(name, RecordType::TXT).from(client).edns(1232),
                Case::new(name, RecordType::AAAA).from(client).tcp(),
            ] {
                let (full, fast) = site.both_lanes(&case).await;
                assert_eq!(Some(full), fast, "{name} from {client} {:?}", case.proto);
            }
        }
    }
}
