use crate::dns::{RecordType, ResponseCode};
use crate::testing::{Case, TestSite, parse_err};
use std::sync::{Arc, Mutex};

#[test]
fn syntax() {
    // (A Corefile that loads is in the test below: building one here would
    // race with it for the last probe name.)
    let got = parse_err(". {\n loop now\n}");
    assert!(
        got.contains("plugin/loop: Wrong argument count or unexpected line ending after 'now'"),
        "{got}"
    );
    let got = parse_err(". {\n loop\n loop\n}");
    assert!(
        got.contains("this plugin can only be used once per Server Block"),
        "{got}"
    );
}

#[tokio::test]
async fn the_probe_seen_three_times_is_a_loop() {
    let detected: Arc<Mutex<Vec<String>>> = Arc::default();
    let d = detected.clone();
    super::on_loop_detected(move |m| d.lock().unwrap().push(m.to_string()));
    // (whoami comes after loop in the chain.) Port 53 is not bound here: the probe never leaves, the plugin stays on.
    let site = TestSite::new("example.org:53 {\n loop\n whoami\n}");
    let qname = super::handler::LAST_PROBE.lock().unwrap().clone();
    assert!(qname.ends_with(".example.org."), "{qname}");
    let labels: Vec<&str> = qname.split('.').collect();
    assert!(
        labels[0].parse::<u64>().is_ok_and(|n| n < 1 << 62),
        "{qname}"
    );
    assert!(labels[1].parse::<u64>().is_ok(), "{qname}");
    // Other names and types pass.
    let r = site
        .query(Case::new("www.example.org.", RecordType::HINFO))
        .await;
    assert_eq!(r.plugin(), Some("whoami"));
    for _ in 0..2 {
        let r = site.query(Case::new(&qname, RecordType::HINFO)).await;
        assert_eq!(r.plugin(), Some("whoami"));
        site.query(Case::new(&qname, RecordType::A)).await;
    }
    assert!(detected.lock().unwrap().is_empty());
    let r = site.query(Case::new(&qname, RecordType::HINFO)).await;
    assert_eq!(r.rcode(), ResponseCode::ServFail);
    let got = detected.lock().unwrap().clone();
    assert_eq!(got.len(), 1);
    assert_eq!(
        got[0],
        format!(
            "Loop (127.0.0.1:5353 -> :53) detected for zone \"example.org.\", see https://coredns.io/plugins/loop#troubleshooting. Query: \"HINFO {qname}\""
        )
    );
    // Then the plugin is off.
    let r = site.query(Case::new(&qname, RecordType::HINFO)).await;
    assert_eq!(r.plugin(), Some("whoami"));
}

#[test]
fn readme_example_parses() {
    let example = include_str!("README.md")
        .split("~~~ corefile\n")
        .nth(1)
        .and_then(|b| b.split("~~~").next())
        .unwrap();
    let model = crate::testing::load(example);
    assert!(model.is_ok(), "{}", model.render_diagnostics());
}
