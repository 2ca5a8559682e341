use crate::dns::RecordType;
use crate::testing::{Case, TestSite, load, parse_err};

#[test]
fn syntax() {
    for ok in [
        "example.org {\n view a {\n  expr type() == 'A'\n }\n whoami\n}",
        "example.org {\n view a {\n  expr incidr(client_ip(), '10.0.0.0/8')\n  expr name() endsWith 'example.org.'\n }\n whoami\n}",
        "example.org {\n view a\n whoami\n}",
    ] {
        let m = load(ok);
        assert!(m.is_ok(), "{ok}: {}", m.render_diagnostics());
    }
    for (bad, msg) in [
        (
            "example.org {\n view a\n view b\n whoami\n}",
            "multiple views defined in server block",
        ),
        ("example.org {\n view\n whoami\n}", "Wrong argument count"),
        (
            "example.org {\n view a b\n whoami\n}",
            "Wrong argument count",
        ),
        (
            "example.org {\n view a {\n  exp type() == 'A'\n }\n}",
            "unknown property 'exp'",
        ),
        (
            "example.org {\n view a {\n  expr tpye() == 'A'\n }\n}",
            "invalid expression: unknown name 'tpye'",
        ),
        (
            "example.org {\n view a {\n  expr\n }\n}",
            "Wrong argument count",
        ),
    ] {
        let e = parse_err(bad);
        assert!(e.contains(msg), "{bad}: {e}");
    }
}

#[test]
fn blocks_without_views_still_conflict() {
    let e = parse_err("example.org {\n whoami\n}\nexample.org {\n whoami\n}");
    assert!(e.contains("already defined"), "{e}");
    let m =
        load("example.org {\n view a {\n  expr true\n }\n whoami\n}\nexample.org {\n whoami\n}");
    assert!(m.is_ok(), "{}", m.render_diagnostics());
}

/// Two blocks for example.org, the first for 10/8 clients only, each with
/// its own zone file (so the fast lane answers too), and a zone whose only
/// block admits nothing.
fn split_site() -> (TestSite, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    for (file, addr) in [("internal", "10.1.1.1"), ("public", "192.0.2.1")] {
        std::fs::write(
            dir.path().join(file),
            format!(
                "$ORIGIN example.org.\n@ 3600 IN SOA ns hostmaster 1 2 3 4 5\nwww 60 IN A {addr}\n"
            ),
        )
        .unwrap();
    }
    let d = dir.path().display();
    let corefile = format!(
        "example.org:0 {{\n view internal {{\n  expr incidr(client_ip(), '10.0.0.0/8')\n }}\n file {d}/internal\n}}\n\
         example.org:0 {{\n file {d}/public\n}}\n\
         example.net:0 {{\n view never {{\n  expr false\n }}\n whoami\n}}\n"
    );
    (TestSite::new(&corefile), dir)
}

#[tokio::test]
async fn the_first_block_whose_view_admits_the_query_answers() {
    let (site, _dir) = split_site();
    for (client, want) in [
        ("10.2.3.4:5353", "10.1.1.1"),
        ("192.168.0.9:5353", "192.0.2.1"),
    ] {
        let case = Case::new("www.example.org.", RecordType::A).from(client);
        let r = site.query(case.clone()).await;
        assert_eq!(r.answers(), [format!("www.example.org. 60 IN A {want}")]);
        // The fast lane routes the same way.
        let (full, fast) = site.both_lanes(&case).await;
        assert_eq!(Some(full), fast, "{client}");
    }
    // A zone whose only block never admits anything is not served here.
    let r = site.query(Case::new("example.net.", RecordType::A)).await;
    assert_eq!(r.rcode(), crate::dns::ResponseCode::Refused);
}

#[tokio::test]
async fn an_earlier_block_without_a_view_shadows_later_views() {
    let site = TestSite::new(
        "example.org:0 {\n template IN A {\n  answer \"{{ .Name }} 60 IN A 192.0.2.1\"\n }\n}\nexample.org:0 {\n view all {\n  expr true\n }\n template IN A {\n  answer \"{{ .Name }} 60 IN A 10.1.1.1\"\n }\n}",
    );
    let r = site
        .query(Case::new("www.example.org.", RecordType::A).from("10.0.0.1:1"))
        .await;
    assert_eq!(r.answers(), ["www.example.org. 60 IN A 192.0.2.1"]);
}
