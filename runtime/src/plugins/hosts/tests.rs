use super::setup::HostsConfig;
use crate::dns::{RecordType, ResponseCode};
use crate::plugin::Parse;
use crate::testing::{Case, TestReply, TestSite, load, parse_err};
use corec_compiler::Dispenser;
use corec_compiler::duration::parse_go_duration;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------- syntax

/// The parsed configuration of the only `hosts` in `corefile`.
fn config(corefile: &str) -> HostsConfig {
    let model = load(corefile);
    assert!(model.is_ok(), "{}", model.render_diagnostics());
    let block = &model.blocks[0];
    let used = block.plugin("hosts").expect("a hosts directive");
    let zones = block.zones();
    let mut d = Dispenser::new("hosts", &used.tokens, &zones);
    HostsConfig::parse(&mut d).expect("parses")
}

#[test]
fn defaults() {
    let c = config("example.org {\n hosts\n}");
    assert_eq!(c.path, "/etc/hosts");
    assert_eq!(c.zones, ["example.org."]);
    assert!(c.inline.is_empty());
    assert_eq!(c.ttl, 3600);
    assert!(c.reverse);
    assert_eq!(c.reload, Duration::from_secs(5));
    assert_eq!(c.fallthrough, None);
    assert!(!c.fallthrough_unsupported);
}

#[test]
fn file_and_zones() {
    let c = config(". {\n hosts my.hosts Example.ORG example.net 10.0.0.0/8\n}");
    assert_eq!(c.path, "my.hosts");
    assert!(c.path_span.is_some());
    assert_eq!(
        c.zones,
        ["example.org.", "example.net.", "10.in-addr.arpa."]
    );
    // A file without zones keeps the block's zones.
    let c = config("example.org example.net {\n hosts my.hosts\n}");
    assert_eq!(c.zones, ["example.org.", "example.net."]);
}

#[test]
fn options_and_inline_lines() {
    let c = config(
        "example.org {\n hosts {\n  10.0.0.1 a.example.org b.example.org\n  ::1 c.example.org\n  ttl 60\n  no_reverse\n  reload 1m30s\n  fallthrough sub.example.org 192.168.0.0/16\n  fallthrough_unsupported\n }\n}",
    );
    assert_eq!(
        c.inline,
        ["10.0.0.1 a.example.org b.example.org", "::1 c.example.org"]
    );
    assert_eq!(c.ttl, 60);
    assert!(!c.reverse);
    assert_eq!(c.reload, Duration::from_secs(90));
    assert_eq!(
        c.fallthrough.as_deref(),
        Some(
            &[
                "sub.example.org.".to_string(),
                "168.192.in-addr.arpa.".to_string()
            ][..]
        )
    );
    assert!(c.fallthrough_unsupported);
}

#[test]
fn bare_fallthrough_covers_everything_and_order_of_unsupported_is_free() {
    let c = config("example.org {\n hosts {\n  fallthrough_unsupported\n  fallthrough\n }\n}");
    assert_eq!(c.fallthrough.as_deref(), Some(&[".".to_string()][..]));
    assert!(c.fallthrough_unsupported);
}

#[test]
fn reload_durations() {
    for (text, want) in [
        ("0", Duration::ZERO),
        ("300ms", Duration::from_millis(300)),
        ("1.5h", Duration::from_secs(5400)),
        ("2h45m", Duration::from_secs(9900)),
    ] {
        let c = config(&format!(
            "example.org {{\n hosts {{\n  reload {text}\n }}\n}}"
        ));
        assert_eq!(c.reload, want, "reload {text}");
    }
}

#[test]
fn parse_errors() {
    let block = |body: &str| format!("example.org {{\n hosts {{\n{body}\n }}\n}}");
    for (corefile, want) in [
        (
            "example.org {\n hosts\n hosts\n}".to_string(),
            "can only be used once per Server Block",
        ),
        (block("  ttl"), "ttl needs a time in seconds"),
        (
            block("  ttl abc"),
            "ttl needs a number of seconds, not 'abc'",
        ),
        (block("  ttl 0"), "ttl provided is invalid"),
        (block("  ttl -5"), "ttl provided is invalid"),
        (block("  ttl 65536"), "ttl provided is invalid"),
        (block("  ttl 60 seconds"), "unexpected argument 'seconds'"),
        (
            block("  reload"),
            "reload needs a duration (zero seconds to disable)",
        ),
        (
            block("  reload 1s 2s"),
            "reload needs a duration (zero seconds to disable)",
        ),
        (block("  reload soon"), "invalid duration for reload 'soon'"),
        (block("  reload 5"), "invalid duration for reload '5'"),
        (
            block("  reload -5s"),
            "invalid negative duration for reload '-5s'",
        ),
        (block("  no_reverse please"), "unexpected argument 'please'"),
        (
            block("  fallthrough\n  10.0.0.1 a.example.org"),
            "unknown property '10.0.0.1'",
        ),
        (block("  fallthrough\n  tll 5"), "did you mean 'ttl'?"),
        (
            block("  fallthrough_unsupported"),
            "fallthrough_unsupported requires fallthrough",
        ),
        (
            block("  fallthrough\n  fallthrough_unsupported now"),
            "unexpected argument 'now'",
        ),
    ] {
        let err = parse_err(&corefile);
        assert!(err.contains(want), "{corefile}\nwanted {want:?} in:\n{err}");
        assert!(err.contains("plugin/hosts: "), "{err}");
    }
}

#[test]
fn errors_point_at_the_option() {
    let err = parse_err(
        "example.org {\n hosts {\n  10.0.0.1 a.example.org\n  fallthrough_unsupported\n }\n}",
    );
    assert!(err.contains("Corefile:4:3"), "{err}");
    let err = parse_err("example.org {\n hosts {\n  reload 1s\n  ttl 99999\n }\n}");
    assert!(err.contains("Corefile:4:7"), "{err}");
}

#[test]
fn go_durations() {
    let s = 1_000_000_000i64;
    for (text, want) in [
        ("0", Some(0)),
        ("-0", Some(0)),
        ("5s", Some(5 * s)),
        ("+5s", Some(5 * s)),
        ("300ms", Some(300_000_000)),
        ("1m30s", Some(90 * s)),
        ("1.5h", Some(5400 * s)),
        ("2h45m", Some(9900 * s)),
        (".5s", Some(s / 2)),
        ("1.s", Some(s)),
        ("1.000000001s", Some(s + 1)),
        ("10us", Some(10_000)),
        ("10\u{b5}s", Some(10_000)),
        ("10\u{3bc}s", Some(10_000)),
        ("7ns", Some(7)),
        ("-3s", Some(-3 * s)),
        ("9223372036854775807ns", Some(i64::MAX)),
        ("-9223372036854775808ns", Some(i64::MIN)),
        ("9223372036854775808ns", None),
        ("3000000h", None),
        ("", None),
        ("-", None),
        ("5", None),
        ("00", None),
        (".s", None),
        ("5x", None),
        ("s", None),
        ("1m 30s", None),
    ] {
        assert_eq!(parse_go_duration(text).ok(), want, "{text:?}");
    }
}

// ---------------------------------------------------------------- serving

const MISSING: &str = "/nonexistent/corec-hosts-test";

fn hosts_file(content: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(content.as_bytes()).unwrap();
    f.flush().unwrap();
    f
}

async fn ask(site: &TestSite, name: &str, qtype: RecordType) -> TestReply {
    site.query(Case::new(name, qtype)).await
}

/// Rdata of the answers, sorted (owner, TTL and class checked elsewhere).
fn rdata(r: &TestReply) -> Vec<String> {
    let mut v: Vec<String> = r
        .message()
        .answers
        .iter()
        .map(|a| a.data.to_string())
        .collect();
    v.sort();
    v
}

fn assert_answered(r: &TestReply) {
    assert_eq!(r.written_by, Some("hosts"), "{r:?}");
    assert_eq!(r.rcode(), ResponseCode::NoError);
    assert!(r.message().metadata.authoritative);
    assert!(r.message().authorities.is_empty());
}

fn assert_servfail(r: &TestReply) {
    assert_eq!(r.written_by, None, "{r:?}");
    assert!(r.error.is_none(), "{r:?}");
    assert_eq!(r.rcode(), ResponseCode::ServFail);
}

#[tokio::test]
async fn inline_a_and_aaaa() {
    let site = TestSite::new(&format!(
        "example.org {{\n hosts {MISSING} {{\n  10.0.0.1 www.example.org\n  10.0.0.2 www.example.org\n  fd00::1 www.example.org\n }}\n}}"
    ));
    let r = ask(&site, "www.example.org.", RecordType::A).await;
    assert_answered(&r);
    assert_eq!(
        r.answers(),
        [
            "www.example.org. 3600 IN A 10.0.0.1",
            "www.example.org. 3600 IN A 10.0.0.2"
        ]
    );
    let r = ask(&site, "www.example.org.", RecordType::AAAA).await;
    assert_answered(&r);
    assert_eq!(r.answers(), ["www.example.org. 3600 IN AAAA fd00::1"]);
}

#[tokio::test]
async fn owner_keeps_the_query_case() {
    let site = TestSite::new(&format!(
        "example.org {{\n hosts {MISSING} {{\n  10.0.0.1 WWW.example.org\n }}\n}}"
    ));
    let r = ask(&site, "wWw.Example.ORG.", RecordType::A).await;
    assert_answered(&r);
    assert_eq!(r.answers(), ["wWw.Example.ORG. 3600 IN A 10.0.0.1"]);
}

#[tokio::test]
async fn file_entries() {
    let file = hosts_file(
        "# a comment\n\n127.0.0.1 localhost\n10.0.0.1   one.example.org  One-Alias.example.org # trailing\n\
         fe80::1%lo0 link.example.org\n::ffff:10.0.0.7 mapped.example.org\nnot-an-ip bad.example.org\n\
         10.0.0.300 bad.example.org\n10.0.0.9\n\t10.0.0.2\tTAB.example.org\r\n",
    );
    let site = TestSite::new(&format!(
        ". {{\n hosts {} example.org {{\n  reload 0\n }}\n whoami\n}}",
        file.path().display()
    ));
    let r = ask(&site, "one.example.org.", RecordType::A).await;
    assert_answered(&r);
    assert_eq!(rdata(&r), ["10.0.0.1"]);
    assert_eq!(
        rdata(&ask(&site, "one-alias.example.org.", RecordType::A).await),
        ["10.0.0.1"]
    );
    assert_eq!(
        rdata(&ask(&site, "tab.example.org.", RecordType::A).await),
        ["10.0.0.2"]
    );
    assert_eq!(
        rdata(&ask(&site, "link.example.org.", RecordType::AAAA).await),
        ["fe80::1"]
    );
    // An IPv4-mapped address is an IPv4 address.
    assert_eq!(
        rdata(&ask(&site, "mapped.example.org.", RecordType::A).await),
        ["10.0.0.7"]
    );
    assert!(rdata(&ask(&site, "mapped.example.org.", RecordType::AAAA).await).is_empty());
    // Lines with a bad address are skipped.
    assert_servfail(&ask(&site, "bad.example.org.", RecordType::A).await);
    // `localhost.` is outside the plugin's zones: next plugin.
    assert_eq!(
        ask(&site, "localhost.", RecordType::A).await.written_by,
        Some("whoami")
    );
}

#[tokio::test]
async fn names_outside_the_zones_are_dropped_from_the_file() {
    let file = hosts_file("10.0.0.5 host.example.net\n10.0.0.6 host.example.org\n");
    let site = TestSite::new(&format!(
        ". {{\n hosts {} example.org\n whoami\n}}",
        file.path().display()
    ));
    assert_eq!(
        ask(&site, "host.example.net.", RecordType::A)
            .await
            .written_by,
        Some("whoami")
    );
    // No PTR data either for the dropped name.
    let r = ask(&site, "5.0.0.10.in-addr.arpa.", RecordType::PTR).await;
    assert_eq!(r.written_by, Some("whoami"));
    let r = ask(&site, "6.0.0.10.in-addr.arpa.", RecordType::PTR).await;
    assert_eq!(r.written_by, Some("hosts"));
}

#[tokio::test]
async fn inline_overrides_file() {
    let file = hosts_file("10.0.0.1 www.example.org\n10.0.0.2 only-file.example.org\n");
    let site = TestSite::new(&format!(
        ". {{\n hosts {} example.org {{\n  10.0.0.9 www.example.org\n }}\n whoami\n}}",
        file.path().display()
    ));
    assert_eq!(
        rdata(&ask(&site, "www.example.org.", RecordType::A).await),
        ["10.0.0.9"]
    );
    assert_eq!(
        rdata(&ask(&site, "only-file.example.org.", RecordType::A).await),
        ["10.0.0.2"]
    );
    // The overridden file address no longer points back at the name.
    let r = ask(&site, "1.0.0.10.in-addr.arpa.", RecordType::PTR).await;
    assert_eq!(r.written_by, Some("whoami"));
    let r = ask(&site, "9.0.0.10.in-addr.arpa.", RecordType::PTR).await;
    assert_eq!(rdata(&r), ["www.example.org."]);
}

#[tokio::test]
async fn wildcard_matches_one_label_only() {
    let site = TestSite::new(&format!(
        ". {{\n hosts {MISSING} example.org {{\n  10.1.1.1 *.example.org\n  10.1.1.2 www.example.org\n  fd00::5 v6.example.org\n }}\n whoami\n}}"
    ));
    let r = ask(&site, "App.example.org.", RecordType::A).await;
    assert_answered(&r);
    assert_eq!(r.answers(), ["App.example.org. 3600 IN A 10.1.1.1"]);
    // Explicit names win over the wildcard, even without an address of the asked family.
    assert_eq!(
        rdata(&ask(&site, "www.example.org.", RecordType::A).await),
        ["10.1.1.2"]
    );
    let r = ask(&site, "v6.example.org.", RecordType::A).await;
    assert_answered(&r);
    assert!(r.message().answers.is_empty());
    // Neither the apex nor two labels down.
    assert_servfail(&ask(&site, "example.org.", RecordType::A).await);
    assert_servfail(&ask(&site, "a.b.example.org.", RecordType::A).await);
    // A wildcard name exists for other types: NODATA.
    let r = ask(&site, "app.example.org.", RecordType::AAAA).await;
    assert_answered(&r);
    assert!(r.message().answers.is_empty());
    // Wildcards make no PTR data.
    let r = ask(&site, "1.1.1.10.in-addr.arpa.", RecordType::PTR).await;
    assert_eq!(r.written_by, Some("whoami"));
}

#[tokio::test]
async fn ptr_generated_outside_the_zones() {
    let site = TestSite::new(&format!(
        ". {{\n hosts {MISSING} example.org {{\n  10.0.0.1 a.example.org B.example.org\n  2001:db8::567:89ab v6.example.org\n  ttl 300\n }}\n whoami\n}}"
    ));
    let r = ask(&site, "1.0.0.10.in-addr.arpa.", RecordType::PTR).await;
    assert_answered(&r);
    assert_eq!(
        r.answers(),
        [
            "1.0.0.10.in-addr.arpa. 300 IN PTR a.example.org.",
            "1.0.0.10.in-addr.arpa. 300 IN PTR b.example.org."
        ]
    );
    let r = ask(
        &site,
        "b.a.9.8.7.6.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.",
        RecordType::PTR,
    )
    .await;
    assert_answered(&r);
    assert_eq!(rdata(&r), ["v6.example.org."]);
    // Unknown addresses and malformed reverse names go on, fallthrough or not.
    assert_eq!(
        ask(&site, "2.0.0.10.in-addr.arpa.", RecordType::PTR)
            .await
            .written_by,
        Some("whoami")
    );
    assert_eq!(
        ask(&site, "0.10.in-addr.arpa.", RecordType::PTR)
            .await
            .written_by,
        Some("whoami")
    );
    // A PTR query for a forward name in the zones has no data either.
    assert_eq!(
        ask(&site, "a.example.org.", RecordType::PTR)
            .await
            .written_by,
        Some("whoami")
    );
}

#[tokio::test]
async fn no_reverse_disables_ptr() {
    let site = TestSite::new(&format!(
        ". {{\n hosts {MISSING} example.org {{\n  10.0.0.1 a.example.org\n  no_reverse\n }}\n whoami\n}}"
    ));
    let r = ask(&site, "1.0.0.10.in-addr.arpa.", RecordType::PTR).await;
    assert_eq!(r.written_by, Some("whoami"));
    assert_eq!(
        rdata(&ask(&site, "a.example.org.", RecordType::A).await),
        ["10.0.0.1"]
    );
}

#[tokio::test]
async fn outside_zone_goes_to_next_plugin() {
    let site = TestSite::new(&format!(
        ". {{\n hosts {MISSING} example.org {{\n  10.0.0.1 www.example.org\n  10.0.0.1 www.example.net\n }}\n whoami\n}}"
    ));
    let r = ask(&site, "www.example.net.", RecordType::A).await;
    assert_eq!(r.written_by, Some("whoami"));
    assert!(r.message().answers.is_empty());
}

#[tokio::test]
async fn unknown_name_is_servfail_without_fallthrough() {
    let site = TestSite::new(&format!(
        "example.org {{\n hosts {MISSING} {{\n  10.0.0.1 www.example.org\n }}\n whoami\n}}"
    ));
    for qtype in [RecordType::A, RecordType::AAAA, RecordType::MX] {
        let r = ask(&site, "nope.example.org.", qtype).await;
        assert_servfail(&r);
        assert!(r.message().answers.is_empty());
    }
}

#[tokio::test]
async fn unknown_name_falls_through() {
    let site = TestSite::new(&format!(
        "example.org {{\n hosts {MISSING} {{\n  10.0.0.1 www.example.org\n  fallthrough\n }}\n whoami\n}}"
    ));
    assert_eq!(
        ask(&site, "nope.example.org.", RecordType::A)
            .await
            .written_by,
        Some("whoami")
    );
    assert_eq!(
        rdata(&ask(&site, "www.example.org.", RecordType::A).await),
        ["10.0.0.1"]
    );
}

#[tokio::test]
async fn fallthrough_limited_to_its_zones() {
    let site = TestSite::new(&format!(
        "example.org {{\n hosts {MISSING} {{\n  10.0.0.1 www.example.org\n  fallthrough sub.example.org\n }}\n whoami\n}}"
    ));
    assert_eq!(
        ask(&site, "x.sub.example.org.", RecordType::A)
            .await
            .written_by,
        Some("whoami")
    );
    assert_servfail(&ask(&site, "other.example.org.", RecordType::A).await);
}

#[tokio::test]
async fn nodata_for_other_types() {
    let site = TestSite::new(&format!(
        "example.org {{\n hosts {MISSING} {{\n  10.0.0.1 www.example.org\n  fallthrough\n }}\n whoami\n}}"
    ));
    for qtype in [RecordType::MX, RecordType::TXT, RecordType::AAAA] {
        let r = ask(&site, "www.example.org.", qtype).await;
        assert_answered(&r);
        assert!(r.message().answers.is_empty(), "{qtype}");
    }
}

#[tokio::test]
async fn fallthrough_unsupported_passes_other_types() {
    let site = TestSite::new(&format!(
        "example.org {{\n hosts {MISSING} {{\n  10.0.0.1 www.example.org\n  fallthrough\n  fallthrough_unsupported\n }}\n whoami\n}}"
    ));
    assert_eq!(
        ask(&site, "www.example.org.", RecordType::MX)
            .await
            .written_by,
        Some("whoami")
    );
    assert_eq!(
        ask(&site, "www.example.org.", RecordType::TXT)
            .await
            .written_by,
        Some("whoami")
    );
    // A and AAAA still get answers or NODATA.
    assert_eq!(
        rdata(&ask(&site, "www.example.org.", RecordType::A).await),
        ["10.0.0.1"]
    );
    let r = ask(&site, "www.example.org.", RecordType::AAAA).await;
    assert_answered(&r);
    assert!(r.message().answers.is_empty());
}

#[tokio::test]
async fn fallthrough_unsupported_follows_fallthrough_zones() {
    let site = TestSite::new(&format!(
        "example.org {{\n hosts {MISSING} {{\n  10.0.0.1 www.example.org\n  10.0.0.2 www.sub.example.org\n  fallthrough sub.example.org\n  fallthrough_unsupported\n }}\n whoami\n}}"
    ));
    assert_eq!(
        ask(&site, "www.sub.example.org.", RecordType::MX)
            .await
            .written_by,
        Some("whoami")
    );
    let r = ask(&site, "www.example.org.", RecordType::MX).await;
    assert_answered(&r);
    assert!(r.message().answers.is_empty());
}

#[tokio::test]
async fn ttl_applies_to_every_record() {
    let site = TestSite::new(&format!(
        "example.org 10.0.0.0/8 {{\n hosts {MISSING} example.org {{\n  10.0.0.1 www.example.org\n  fd00::1 www.example.org\n  ttl 42\n }}\n}}"
    ));
    for qtype in [RecordType::A, RecordType::AAAA] {
        let r = ask(&site, "www.example.org.", qtype).await;
        assert_eq!(r.message().answers.len(), 1);
        assert!(r.message().answers.iter().all(|a| a.ttl == 42), "{r:?}");
    }
    let r = ask(&site, "1.0.0.10.in-addr.arpa.", RecordType::PTR).await;
    assert_eq!(
        r.answers(),
        ["1.0.0.10.in-addr.arpa. 42 IN PTR www.example.org."]
    );
}

#[tokio::test]
async fn relative_file_resolves_against_root() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("my.hosts"), "10.0.0.3 rel.example.org\n").unwrap();
    let site = TestSite::new(&format!(
        "example.org {{\n root {}\n hosts my.hosts\n}}",
        dir.path().display()
    ));
    assert_eq!(
        rdata(&ask(&site, "rel.example.org.", RecordType::A).await),
        ["10.0.0.3"]
    );
}

/// Builds a site while capturing what it logs.
fn site_logging(corefile: &str) -> (TestSite, String) {
    let (logs, guard) = crate::testing::capture_logs();
    let site = TestSite::new(corefile);
    drop(guard);
    (site, logs.text())
}

/// Asks until `done` holds for the reply, for at most about 3 seconds.
async fn poll(site: &TestSite, name: &str, done: impl Fn(&TestReply) -> bool) -> TestReply {
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let r = ask(site, name, RecordType::A).await;
        if done(&r) || Instant::now() > deadline {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn missing_file_warns_serves_inline_and_is_picked_up_later() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("later.hosts");
    let (site, logs) = site_logging(&format!(
        "example.org {{\n hosts {} {{\n  10.0.0.1 inline.example.org\n  reload 50ms\n }}\n}}",
        path.display()
    ));
    assert!(logs.contains("file does not exist"), "{logs}");
    assert!(logs.contains(&path.display().to_string()), "{logs}");
    assert_eq!(
        rdata(&ask(&site, "inline.example.org.", RecordType::A).await),
        ["10.0.0.1"]
    );
    assert_servfail(&ask(&site, "file.example.org.", RecordType::A).await);

    std::fs::write(&path, "10.0.0.2 file.example.org\n").unwrap();
    let r = poll(&site, "file.example.org.", |r| {
        r.written_by == Some("hosts")
    })
    .await;
    assert_eq!(rdata(&r), ["10.0.0.2"]);
    assert_eq!(
        rdata(&ask(&site, "inline.example.org.", RecordType::A).await),
        ["10.0.0.1"]
    );
}

fn rewrite(path: &Path, content: &str) {
    // Write a new file and rename it over the old one, as editors do.
    let tmp = path.with_extension("new");
    std::fs::write(&tmp, content).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

#[tokio::test]
async fn reload_picks_up_a_changed_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hosts");
    std::fs::write(&path, "10.0.0.1 www.example.org\n").unwrap();
    let site = TestSite::new(&format!(
        "example.org {{\n hosts {} {{\n  reload 50ms\n }}\n}}",
        path.display()
    ));
    assert_eq!(
        rdata(&ask(&site, "www.example.org.", RecordType::A).await),
        ["10.0.0.1"]
    );

    rewrite(
        &path,
        "10.0.0.2 www.example.org\n10.0.0.3 new.example.org\n",
    );
    let r = poll(&site, "www.example.org.", |r| rdata(r) == ["10.0.0.2"]).await;
    assert_eq!(rdata(&r), ["10.0.0.2"]);
    assert_eq!(
        rdata(&ask(&site, "new.example.org.", RecordType::A).await),
        ["10.0.0.3"]
    );

    // A deleted file keeps its last contents in use.
    std::fs::remove_file(&path).unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        rdata(&ask(&site, "www.example.org.", RecordType::A).await),
        ["10.0.0.2"]
    );
}

#[tokio::test]
async fn reload_zero_reads_the_file_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hosts");
    std::fs::write(&path, "10.0.0.1 www.example.org\n").unwrap();
    let site = TestSite::new(&format!(
        "example.org {{\n hosts {} {{\n  reload 0\n }}\n}}",
        path.display()
    ));
    rewrite(&path, "10.0.0.2 www.example.org # now longer\n");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        rdata(&ask(&site, "www.example.org.", RecordType::A).await),
        ["10.0.0.1"]
    );
}

#[tokio::test]
async fn readme_examples_load() {
    let readme = include_str!("README.md");
    let mut found = 0;
    for block in readme.split("~~~ corefile\n").skip(1) {
        let corefile = block.split("~~~").next().unwrap();
        let _site = TestSite::new(corefile);
        found += 1;
    }
    assert_eq!(found, 4);
}

// ---------------------------------------------------------------- metrics

fn entries(label: &str) -> f64 {
    crate::testing::metric_value("coredns_hosts_entries", &[("hostsfile", label)])
}

#[tokio::test]
async fn metrics_count_entries_as_coredns_does_and_follow_reloads() {
    // Pairs of address and name, repeats included, each with its reverse
    // pair; a wildcard has none; names outside the zones do not count.
    let file = hosts_file(
        "10.0.0.1 a.example.org b.example.org\n10.0.0.1 a.example.org\nfd00::1 a.example.org\n10.0.0.9 *.w.example.org\n10.0.0.5 outside.example.net\n",
    );
    let path = file.path().display().to_string();
    let corefile = |options: &str| {
        format!("example.org {{\n hosts {path} {{\n  10.0.0.7 i.example.org\n{options} }}\n}}")
    };
    let _site = TestSite::new(&corefile(""));
    assert_eq!(entries(&path), 11.0);
    let _site = TestSite::new(&corefile("  no_reverse\n"));
    assert_eq!(entries(&path), 6.0);
    // A reload sets it again.
    let site = TestSite::new(&corefile("  reload 50ms\n"));
    assert_eq!(entries(&path), 11.0);
    std::fs::write(file.path(), "10.0.0.1 a.example.org\n").unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while entries(&path) != 4.0 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(entries(&path), 4.0);
    drop(site);
}

#[tokio::test]
async fn metrics_name_the_file_as_coredns_does() {
    // Relative to `root` when there is one: the joined path.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("my.hosts"), "10.0.0.3 rel.example.org\n").unwrap();
    let _site = TestSite::new(&format!(
        "example.org {{\n root {}\n hosts my.hosts\n}}",
        dir.path().display()
    ));
    assert_eq!(
        entries(&dir.path().join("my.hosts").display().to_string()),
        2.0
    );
    // A file that cannot be read sets nothing.
    let _site = TestSite::new(&format!("example.org {{\n hosts {MISSING}\n}}"));
    assert_eq!(entries(MISSING), 0.0);
    let text = String::from_utf8(crate::metrics::render()).unwrap();
    assert!(!text.contains(MISSING));
}

#[tokio::test]
async fn metrics_reload_timestamp_is_the_files_modification_time() {
    let file = hosts_file("10.0.0.1 ts.example.org\n");
    let mtime = std::time::UNIX_EPOCH + std::time::Duration::from_millis(1_234_567_890_250);
    file.as_file().set_modified(mtime).unwrap();
    let corefile = format!("example.org {{\n hosts {}\n}}", file.path().display());
    // Every hosts plugin built sets this process-wide gauge (tests run in
    // parallel): build until nothing came in between.
    let value = || crate::testing::metric_value("coredns_hosts_reload_timestamp_seconds", &[]);
    let mut seen = 0.0;
    for _ in 0..50 {
        let _site = TestSite::new(&corefile);
        seen = value();
        if seen == 1_234_567_890.25 {
            break;
        }
    }
    assert_eq!(seen, 1_234_567_890.25);
}
