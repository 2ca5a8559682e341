use crate::dns::{RecordType, ResponseCode};
use crate::plugin::{Answer, Proto};
use crate::server::respond;
use crate::testing::{Case, TestSite, parse_err};
use std::path::Path;

fn corefile(to: &str) -> String {
    let zone =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("src/plugins/file/testdata/example.org.zone");
    format!(
        "example.org:0 {{\n    file {}\n    transfer {{\n        to {to}\n    }}\n}}\n",
        zone.display()
    )
}

async fn transfer(t: &TestSite, case: Case) -> Result<Answer, crate::plugin::PluginError> {
    let mut req = case.request();
    let at = *t.site.listeners.keys().next().unwrap();
    respond::run(&t.site, at, &mut req).await
}

#[tokio::test]
async fn axfr_over_tcp_sends_the_zone_between_two_soas() {
    let t = TestSite::new(&corefile("*"));
    let Ok(Answer::Transfer { messages, .. }) =
        transfer(&t, Case::new("example.org.", RecordType::AXFR).tcp()).await
    else {
        panic!("a transfer");
    };
    let records: Vec<_> = messages.iter().flat_map(|m| m.answers.iter()).collect();
    assert_eq!(records.first().unwrap().record_type(), RecordType::SOA);
    assert_eq!(records.last().unwrap().record_type(), RecordType::SOA);
    assert_eq!(
        records.len(),
        2 + 23,
        "the SOA twice and the 23 other records"
    );
    assert!(messages.iter().all(|m| m.metadata.authoritative));
}

#[tokio::test]
async fn refused_over_udp_to_strangers_and_for_non_apex_names() {
    let t = TestSite::new(&corefile("192.0.2.1"));
    let r = t
        .query(Case::new("example.org.", RecordType::AXFR).tcp())
        .await;
    assert_eq!(r.rcode(), ResponseCode::Refused, "127.0.0.1 is not listed");
    let t = TestSite::new(&corefile("*"));
    let r = t.query(Case::new("example.org.", RecordType::AXFR)).await;
    assert_eq!(r.rcode(), ResponseCode::Refused, "UDP");
    let r = t
        .query(Case::new("www.example.org.", RecordType::AXFR).tcp())
        .await;
    assert_eq!(r.rcode(), ResponseCode::Refused, "not a zone apex");
    let r = t.query(Case::new("www.example.org.", RecordType::A)).await;
    assert_eq!(r.plugin(), Some("file"), "other queries pass through");
}

#[tokio::test]
async fn ixfr_needs_the_client_soa_and_answers_current_clients_with_the_soa() {
    let t = TestSite::new(&corefile("*"));
    let case = Case::new("example.org.", RecordType::IXFR).tcp();
    assert!(matches!(
        transfer(&t, case.clone()).await,
        Ok(Answer::Rcode(ResponseCode::ServFail))
    ));
    let with_serial = |serial: u32| {
        let mut req = case.request();
        let soa = crate::dns::Record::from_rdata(
            crate::dns::Name::from_ascii("example.org.").unwrap(),
            60,
            crate::dns::RData::SOA(hickory_proto::rr::rdata::SOA::new(
                crate::dns::Name::root(),
                crate::dns::Name::root(),
                serial,
                1,
                1,
                1,
                1,
            )),
        );
        req.message.authorities.push(soa);
        req
    };
    let at = *t.site.listeners.keys().next().unwrap();
    let mut current = with_serial(2026112701);
    match respond::run(&t.site, at, &mut current).await {
        Ok(Answer::Reply(r)) => assert_eq!(r.message.answers.len(), 1, "just the SOA"),
        other => panic!("{other:?}"),
    }
    let mut old = with_serial(2026010100);
    assert!(matches!(
        respond::run(&t.site, at, &mut old).await,
        Ok(Answer::Transfer { .. })
    ));
    assert_eq!(current.proto, Proto::Tcp);
}

#[test]
fn syntax() {
    assert!(parse_err("example.org {\n transfer\n}").contains("'to' is required"));
    assert!(parse_err("example.org {\n transfer {\n  to\n }\n}").contains("Wrong argument count"));
    assert!(
        parse_err("example.org {\n transfer {\n  to nowhere\n }\n}")
            .contains("'nowhere' is not an IP address")
    );
    assert!(parse_err("example.org {\n transfer {\n  too *\n }\n}").contains("did you mean 'to'?"));
}
