use super::setup::MetadataConfig;
use crate::dns::{RecordType, ResponseCode};
use crate::plugin::{Meta, Parse};
use crate::testing::{Case, TestSite, assert_same, capture_logs, load, parse_err};
use corec_compiler::Dispenser;

/// The zones `metadata ...` in a block for `block_zones` selects.
fn zones(line: &str, block_zones: &[&str]) -> Vec<String> {
    let model = load(&format!(". {{\n {line}\n whoami\n}}"));
    assert!(model.is_ok(), "{line}: {}", model.render_diagnostics());
    let used = model.blocks[0].plugin("metadata").expect("metadata");
    let block_zones: Vec<String> = block_zones.iter().map(|z| z.to_string()).collect();
    let mut d = Dispenser::new("metadata", &used.tokens, &block_zones);
    MetadataConfig::parse(&mut d).expect(line).zones
}

#[test]
fn syntax() {
    for (line, want) in [
        ("metadata", vec!["example.org."]),
        ("metadata example.com.", vec!["example.com."]),
        ("metadata example.com net.", vec!["example.com.", "net."]),
        ("metadata EXAMPLE.com", vec!["example.com."]),
        ("metadata 10.0.0.0/24", vec!["0.0.10.in-addr.arpa."]),
        ("metadata {\n }", vec!["example.org."]),
    ] {
        assert_eq!(zones(line, &["example.org."]), want, "{line}");
    }
    for (corefile, msg) in [
        (
            ". {\n metadata example.com. {\n  some_param\n }\n}",
            "plugin/metadata: Wrong argument count or unexpected line ending after 'some_param'",
        ),
        (
            ". {\n metadata\n metadata\n}",
            "plugin/metadata: Wrong argument count or unexpected line ending after 'metadata'",
        ),
        (
            ". {\n metadata a.org\n metadata b.org\n}",
            "unexpected line ending after 'metadata'",
        ),
    ] {
        let e = parse_err(corefile);
        assert!(e.contains(msg), "{corefile}: {e}");
    }
    // The second `metadata` is the one pointed at.
    let e = parse_err(". {\n metadata\n metadata\n}");
    assert!(e.contains(":3:"), "{e}");
}

#[test]
fn the_store_keeps_one_value_per_label() {
    let mut m = Meta::default();
    assert!(m.is_empty());
    m.set("a/b", "1");
    m.set("c/d", String::from("2"));
    m.set("a/b", "3");
    assert_eq!(m.get("a/b"), Some("3"));
    assert_eq!(m.get("c/d"), Some("2"));
    assert_eq!(m.get("x/y"), None);
    assert_eq!(m.iter().collect::<Vec<_>>(), [("a/b", "3"), ("c/d", "2")]);
    // A query without metadata ignores labels set on it.
    let mut req = Case::new("example.org.", RecordType::A).request();
    req.set_meta("a/b", "1");
    assert_eq!(req.meta("a/b"), None);
    req.meta = Some(Meta::default());
    req.set_meta("a/b", "1");
    assert_eq!(req.meta("a/b"), Some("1"));
}

/// Runs `queries` through `corefile` and returns the query log's lines.
async fn log_lines(corefile: &str, queries: &[&str]) -> Vec<String> {
    let site = TestSite::new(corefile);
    let (logs, _guard) = capture_logs();
    for name in queries {
        site.query(Case::new(name, RecordType::A)).await;
    }
    logs.lines()
}

#[tokio::test]
async fn the_log_shows_the_view_name_only_with_metadata() {
    let block = |metadata: &str| {
        format!(
            "example.org {{\n {metadata}\n view inside {{\n  expr true\n }}\n log . \"{{name}} {{/view/name}} {{/log/type}}/{{/log/class}} {{/no/such}}\"\n whoami\n}}"
        )
    };
    let lines = log_lines(&block("metadata"), &["www.example.org."]).await;
    assert_eq!(
        lines,
        ["[INFO] www.example.org. inside NOERROR/success -"],
        "labels with metadata; an unknown one is '-'"
    );
    let lines = log_lines(&block(""), &["www.example.org."]).await;
    assert_eq!(lines, ["[INFO] www.example.org. - -/- -"], "no metadata");
}

#[tokio::test]
async fn providers_run_only_in_the_zones_given() {
    let corefile = ". {\n metadata example.org\n view all {\n  expr true\n }\n log . \"{name} {/view/name} {/log/type}\"\n template IN A example.org {\n  answer \"{{ .Name }} 60 IN A 192.0.2.1\"\n }\n}";
    let lines = log_lines(corefile, &["www.example.org.", "www.example.net."]).await;
    // Outside the zones the providers are not asked, but the query still
    // has a store: the log's own labels are there (template has no answer
    // for example.net, so the chain ends in SERVFAIL).
    assert_eq!(
        lines,
        [
            "[INFO] www.example.org. all NOERROR",
            "[INFO] www.example.net. - SERVERERROR",
        ]
    );
}

#[tokio::test]
async fn log_type_and_class_follow_the_reply() {
    let dir = tempfile::tempdir().unwrap();
    let zone = dir.path().join("db");
    std::fs::write(
        &zone,
        "$ORIGIN example.org.\n@ 3600 IN SOA ns hostmaster 1 2 3 4 5\nwww 60 IN A 192.0.2.1\n",
    )
    .unwrap();
    let corefile = format!(
        "example.org {{\n metadata\n log . \"{{name}} {{/log/type}} {{/log/class}}\"\n file {}\n}}",
        zone.display()
    );
    let site = TestSite::new(&corefile);
    let (logs, _guard) = capture_logs();
    site.query(Case::new("www.example.org.", RecordType::A))
        .await;
    site.query(Case::new("www.example.org.", RecordType::MX))
        .await;
    site.query(Case::new("nope.example.org.", RecordType::A))
        .await;
    assert_eq!(
        logs.lines(),
        [
            "[INFO] www.example.org. NOERROR success",
            "[INFO] www.example.org. NODATA denial",
            "[INFO] nope.example.org. NXDOMAIN denial",
        ]
    );
}

/// A block answering from a zone file (so the fast lane can answer) with
/// *metadata* and a log line of `format`.
fn file_site(format: &str) -> (TestSite, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let zone = dir.path().join("db");
    std::fs::write(
        &zone,
        "$ORIGIN example.org.\n@ 3600 IN SOA ns hostmaster 1 2 3 4 5\nwww 60 IN A 192.0.2.1\n",
    )
    .unwrap();
    let corefile = format!(
        "example.org {{\n metadata\n view v {{\n  expr true\n }}\n log . \"{format}\"\n file {}\n}}",
        zone.display()
    );
    (TestSite::new(&corefile), dir)
}

#[tokio::test]
async fn both_lanes_log_the_same_line() {
    let cases = [
        Case::new("www.example.org.", RecordType::A),
        Case::new("nope.example.org.", RecordType::A),
        Case::new("www.example.org.", RecordType::TXT).edns(1232),
    ];
    // A log line without labels: the fast lane may answer, and agrees.
    let (site, _dir) = file_site("{name} {rcode}");
    for case in &cases {
        let (logs, _guard) = capture_logs();
        let (full, fast) = site.both_lanes(case).await;
        let fast = fast.unwrap_or_else(|| panic!("{}: the fast lane declined", case.name));
        assert_same(&full, &fast, &case.name);
        let lines = logs.lines();
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert_eq!(lines[0], lines[1]);
    }
    // A log line with labels: the fast lane would miss them, so it
    // declines and the full path logs the values.
    let (site, _dir) = file_site("{name} {/view/name}");
    for case in &cases {
        let (logs, _guard) = capture_logs();
        let (_, fast) = site.both_lanes(case).await;
        assert_eq!(fast, None, "{}", case.name);
        assert_eq!(logs.lines(), [format!("[INFO] {} v", case.name)]);
    }
}

#[tokio::test]
async fn a_view_filter_reads_its_own_blocks_labels() {
    // Each block's providers run before its filter, as in CoreDNS, so a
    // filter sees its own view's name and nothing else.
    let corefile = "example.org:0 {\n metadata\n view first {\n  expr metadata('view/name') == 'other'\n }\n template IN A {\n  answer \"{{ .Name }} 60 IN A 10.0.0.1\"\n }\n}\n\
         example.org:0 {\n metadata\n view second {\n  expr metadata('view/name') == 'second'\n }\n template IN A {\n  answer \"{{ .Name }} 60 IN A 10.0.0.2\"\n }\n}\n\
         example.org:0 {\n template IN A {\n  answer \"{{ .Name }} 60 IN A 10.0.0.3\"\n }\n}\n\
         example.net:0 {\n view bare {\n  expr metadata('view/name') == ''\n }\n template IN A {\n  answer \"{{ .Name }} 60 IN A 10.0.0.4\"\n }\n}";
    let site = TestSite::new(corefile);
    let r = site
        .query(Case::new("www.example.org.", RecordType::A))
        .await;
    assert_eq!(r.answers(), ["www.example.org. 60 IN A 10.0.0.2"]);
    // Without metadata in the block, every label reads as empty.
    let r = site
        .query(Case::new("www.example.net.", RecordType::A))
        .await;
    assert_eq!(r.answers(), ["www.example.net. 60 IN A 10.0.0.4"]);
}

#[tokio::test]
async fn the_fast_lane_routes_by_labels_as_the_full_path_does() {
    let dir = tempfile::tempdir().unwrap();
    for (file, addr) in [("a", "10.1.1.1"), ("b", "192.0.2.1")] {
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
        "example.org:0 {{\n metadata\n view a {{\n  expr metadata('view/name') == 'b'\n }}\n file {d}/a\n}}\n\
         example.org:0 {{\n metadata\n view b {{\n  expr metadata('view/name') == 'b'\n }}\n file {d}/b\n}}\n"
    );
    let site = TestSite::new(&corefile);
    let case = Case::new("www.example.org.", RecordType::A);
    let r = site.query(case.clone()).await;
    assert_eq!(r.answers(), ["www.example.org. 60 IN A 192.0.2.1"]);
    let (full, fast) = site.both_lanes(&case).await;
    // Nothing in the chain reads labels, so the fast lane stays open.
    assert_same(&full, &fast.expect("a fast answer"), "fast lane");
}

#[tokio::test]
async fn template_meta_shows_a_label() {
    let corefile = "example.org {\n metadata\n view v1 {\n  expr true\n }\n template IN TXT {\n  answer \"{{ .Name }} 60 IN TXT {{ .Meta \\\"view/name\\\" }}{{ .Meta \\\"x/y\\\" }}\"\n }\n}";
    let site = TestSite::new(corefile);
    let r = site
        .query(Case::new("www.example.org.", RecordType::TXT))
        .await;
    assert_eq!(r.rcode(), ResponseCode::NoError);
    assert_eq!(r.txt(), ["v1"]);
}
