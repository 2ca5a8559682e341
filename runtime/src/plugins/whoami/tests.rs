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
