use crate::dns::{RecordType, ResponseCode};
use crate::testing::{Case, TestSite, parse_err};
use std::time::Duration;

fn zone(serial: u32, ip: &str) -> String {
    format!(
        "$TTL 60\n@ IN SOA ns hm {serial} 2 3 4 5\n@ IN NS ns\nns IN A 192.0.2.53\nwww IN A {ip}\n"
    )
}

async fn until(t: &TestSite, name: &str, want: ResponseCode) -> bool {
    for _ in 0..60 {
        if t.query(Case::new(name, RecordType::A)).await.rcode() == want {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

#[tokio::test]
async fn zones_appear_change_and_disappear_with_their_files() {
    let dir = tempfile::tempdir().unwrap();
    let t = TestSite::new(&format!(
        ". {{\n auto {{\n  directory {}\n  reload 50ms\n }}\n}}\n",
        dir.path().display()
    ));
    let r = t.query(Case::new("www.example.org.", RecordType::A)).await;
    assert_eq!(r.rcode(), ResponseCode::Refused, "no file yet");
    std::fs::write(dir.path().join("db.example.org"), zone(1, "192.0.2.1")).unwrap();
    assert!(
        until(&t, "www.example.org.", ResponseCode::NoError).await,
        "the new file is served"
    );
    assert_eq!(
        t.query(Case::new("www.example.org.", RecordType::A))
            .await
            .answers(),
        ["www.example.org. 60 IN A 192.0.2.1"]
    );
    std::fs::write(dir.path().join("db.example.org"), zone(2, "192.0.2.2")).unwrap();
    let mut switched = false;
    for _ in 0..60 {
        if t.query(Case::new("www.example.org.", RecordType::A))
            .await
            .answers()
            == ["www.example.org. 60 IN A 192.0.2.2"]
        {
            switched = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(switched, "a new serial is reloaded");
    std::fs::remove_file(dir.path().join("db.example.org")).unwrap();
    assert!(
        until(&t, "www.example.org.", ResponseCode::Refused).await,
        "a removed file stops being served"
    );
}

#[tokio::test]
async fn custom_names_and_zone_limits() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("example.org.zone"), zone(1, "192.0.2.1")).unwrap();
    std::fs::write(dir.path().join("example.net.zone"), zone(1, "192.0.2.9")).unwrap();
    let t = TestSite::new(&format!(
        "example.org:0 example.net:0 {{\n auto example.org {{\n  directory {} (.*)\\.zone {{1}}\n  reload 0\n }}\n}}\n",
        dir.path().display()
    ));
    assert_eq!(
        t.query(Case::new("www.example.org.", RecordType::A))
            .await
            .answers(),
        ["www.example.org. 60 IN A 192.0.2.1"]
    );
    assert_eq!(
        t.query(Case::new("www.example.net.", RecordType::A))
            .await
            .rcode(),
        ResponseCode::Refused,
        "outside the plugin's zones"
    );
}

#[test]
fn syntax() {
    assert!(parse_err(". {\n auto\n}").contains("a directory is required"));
    assert!(parse_err(". {\n auto {\n  directory /tmp (\n }\n}").contains("Wrong argument count"));
    assert!(parse_err(". {\n auto {\n  directory /tmp [ x\n }\n}").contains("regex"));
    assert!(parse_err(". {\n auto {\n  directory /tmp abc x\n }\n}").contains("needs a group"));
    assert!(
        parse_err(". {\n auto {\n  directry /tmp\n }\n}").contains("did you mean 'directory'?")
    );
    assert!(parse_err(". {\n auto {\n  directory /tmp\n  reload -1s\n }\n}").contains("negative"));
}
