use crate::dns::{RecordType, ResponseCode};
use crate::testing::{Case, TestSite, parse_err};

#[test]
fn syntax() {
    assert!(
        parse_err("example.org {\n secondary\n}")
            .contains("secondary zones require a transfer from property")
    );
    assert!(
        parse_err("example.org {\n secondary {\n  transfer to 192.0.2.1\n }\n}")
            .contains("use the transfer plugin")
    );
    assert!(
        parse_err("example.org {\n secondary {\n  transfer from nowhere\n }\n}")
            .contains("'nowhere' is not an IP address")
    );
    assert!(
        parse_err("example.org {\n secondary {\n  transfer from\n }\n}")
            .contains("Wrong argument count")
    );
    assert!(
        parse_err("example.org {\n secondary {\n  fallthru\n }\n}")
            .contains("did you mean 'fallthrough'?")
    );
}

#[tokio::test]
async fn servfail_until_the_first_transfer() {
    // Port 9 on loopback: nothing answers there.
    let t = TestSite::new("example.org:0 {\n secondary {\n  transfer from 127.0.0.1:9\n }\n}");
    let r = t.query(Case::new("www.example.org.", RecordType::A)).await;
    assert_eq!(r.rcode(), ResponseCode::ServFail);
    let r = t.query(Case::new("example.com.", RecordType::A)).await;
    assert_eq!(
        r.rcode(),
        ResponseCode::Refused,
        "outside its zones, with nothing after it"
    );
}
