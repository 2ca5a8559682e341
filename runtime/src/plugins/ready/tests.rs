use super::ReadyState;
use super::setup::{Monitor, ReadyConfig};
use crate::plugin::Parse;
use crate::server::http::HttpAddr;
use crate::site::{NoCompiled, Readiness, Site};
use crate::testing::{load, parse_err};
use corec_compiler::Dispenser;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

fn config(corefile: &str) -> ReadyConfig {
    let model = load(corefile);
    assert!(model.is_ok(), "{}", model.render_diagnostics());
    let used = model.blocks[0].plugin("ready").expect("a ready directive");
    let zones = model.blocks[0].zones();
    ReadyConfig::parse(&mut Dispenser::new("ready", &used.tokens, &zones)).expect("parses")
}

fn site(corefile: &str) -> Site<NoCompiled> {
    let model = load(corefile);
    assert!(model.is_ok(), "{}", model.render_diagnostics());
    let sources = model.sources.clone();
    Site::interpreted(model).unwrap_or_else(|d| panic!("{}", d.render(&sources)))
}

fn local(port: u16) -> HttpAddr {
    HttpAddr {
        host: Some(IpAddr::from([127, 0, 0, 1])),
        port,
    }
}

#[test]
fn address_and_monitor() {
    let c = config(". {\n ready\n}");
    assert_eq!(c.address.text, ":8181");
    assert_eq!(c.monitor, Monitor::UntilReady);
    let c = config(". {\n ready localhost:1234\n}");
    assert_eq!(
        (c.address.host.as_str(), c.address.port),
        ("localhost", 1234)
    );
    let c = config(". {\n ready {\n  monitor until-ready\n }\n}");
    assert_eq!((c.address.port, c.monitor), (8181, Monitor::UntilReady));
    let c = config(". {\n ready {\n  monitor continuously\n }\n}");
    assert_eq!(c.monitor, Monitor::Continuously);
    let c = config(". {\n ready localhost:1234 {\n  monitor continuously\n }\n}");
    assert_eq!((c.address.port, c.monitor), (1234, Monitor::Continuously));
}

#[test]
fn parse_errors() {
    for (corefile, want) in [
        (
            ". {\n ready localhost:1234 {\n  monitor 404\n }\n}",
            "plugin/ready: monitor type '404' not supported",
        ),
        (
            ". {\n ready {\n  monitor\n }\n}",
            "Wrong argument count or unexpected line ending after 'monitor'",
        ),
        (
            ". {\n ready {\n  monitor until-ready continuously\n }\n}",
            "Wrong argument count or unexpected line ending after 'continuously'",
        ),
        (
            ". {\n ready {\n  monitro continuously\n }\n}",
            "plugin/ready: unknown property 'monitro'",
        ),
        (
            ". {\n ready localhost:1234 b\n}",
            "Wrong argument count or unexpected line ending after 'b'",
        ),
        (
            ". {\n ready bla\n}",
            "plugin/ready: address bla: missing port in address",
        ),
        (
            ". {\n ready bla bla\n}",
            "Wrong argument count or unexpected line ending after 'bla'",
        ),
        (". {\n ready :99999\n}", "address :99999: invalid port"),
        (
            ". {\n ready\n ready :8182\n}",
            "plugin/ready: this plugin can only be used once per Server Block",
        ),
    ] {
        let got = parse_err(corefile);
        assert!(got.contains(want), "{corefile}\n--- got:\n{got}");
    }
    let got = parse_err(". {\n ready {\n  monitro continuously\n }\n}");
    assert!(got.contains("did you mean 'monitor'?"), "{got}");
}

/// A readiness check the test flips, counting how often it is asked.
fn check(plugin: &'static str) -> (Readiness, Arc<AtomicBool>, Arc<AtomicUsize>) {
    let ready = Arc::new(AtomicBool::new(false));
    let asked = Arc::new(AtomicUsize::new(0));
    let (r, a) = (ready.clone(), asked.clone());
    let readiness = Readiness {
        plugin,
        check: Arc::new(move || {
            a.fetch_add(1, Ordering::Relaxed);
            r.load(Ordering::Relaxed)
        }),
    };
    (readiness, ready, asked)
}

#[test]
fn names_are_sorted_once_each() {
    let (file1, f1, _) = check("file");
    let (file2, _, _) = check("file");
    let (secondary, s, _) = check("secondary");
    let state = ReadyState::new(Monitor::UntilReady, vec![secondary, file1, file2]);
    assert_eq!(state.not_ready().as_deref(), Some("file,secondary"));
    s.store(true, Ordering::Relaxed);
    f1.store(true, Ordering::Relaxed);
    // One of the two file plugins is still loading.
    assert_eq!(state.not_ready().as_deref(), Some("file"));
    assert_eq!(
        ReadyState::new(Monitor::UntilReady, Vec::new()).not_ready(),
        None
    );
}

#[test]
fn until_ready_stops_asking_a_plugin_that_was_ready() {
    let (c, ready, asked) = check("file");
    let state = ReadyState::new(Monitor::UntilReady, vec![c]);
    assert_eq!(state.not_ready().as_deref(), Some("file"));
    ready.store(true, Ordering::Relaxed);
    assert_eq!(state.not_ready(), None);
    let n = asked.load(Ordering::Relaxed);
    ready.store(false, Ordering::Relaxed);
    assert_eq!(
        state.not_ready(),
        None,
        "ready once, ready until the next reload"
    );
    assert_eq!(asked.load(Ordering::Relaxed), n, "not asked again");
}

#[test]
fn continuously_asks_every_time() {
    let (c, ready, _) = check("secondary");
    let state = ReadyState::new(Monitor::Continuously, vec![c]);
    ready.store(true, Ordering::Relaxed);
    assert_eq!(state.not_ready(), None);
    ready.store(false, Ordering::Relaxed);
    assert_eq!(state.not_ready().as_deref(), Some("secondary"));
}

#[test]
fn a_missing_zone_file_is_not_ready_and_other_blocks_do_not_count() {
    let dir = tempfile::tempdir().unwrap();
    let zone = dir.path().join("db.example.org");
    let s = site(&format!(
        "example.org {{\n ready 127.0.0.1:0\n health 127.0.0.1:0\n file {} {{\n  reload 1s\n }}\n}}\n\
         example.net {{\n file {} {{\n  reload 1s\n }}\n}}\n\
         example.com {{\n ready 127.0.0.1:1\n whoami\n}}\n",
        zone.display(),
        dir.path().join("db.example.net").display(),
    ));
    let e = s.side.http.get(&local(0)).expect("one listener for both");
    assert!(e.health, "health and ready share the address");
    let r = e.respond("/ready", false);
    assert_eq!((r.status, &r.body[..]), (503, &b"file"[..]));
    assert_eq!(e.respond("/health", false).status, 200);
    // The block naming the other address has nothing that can be unready,
    // and example.net's missing zone is not its business.
    let other = s.side.http.get(&local(1)).expect("a second listener");
    assert!(!other.health);
    let r = other.respond("/ready", false);
    assert_eq!((r.status, &r.body[..]), (200, &b"OK"[..]));
    assert_eq!(other.respond("/health", false).status, 404);
    // While the process waits out its lameduck.
    let r = other.respond("/ready", true);
    assert_eq!((r.status, &r.body[..]), (503, &b"Shutting down"[..]));
}

#[test]
fn a_loaded_zone_is_ready() {
    let s = site(&format!(
        "example.org {{\n ready 127.0.0.1:0\n file {}\n}}",
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/src/plugins/file/testdata/example.org.zone"
        )
    ));
    let e = s.side.http.get(&local(0)).expect("a side listener");
    assert_eq!(e.respond("/ready", false).status, 200);
}

#[test]
fn blocks_on_one_address_are_joined() {
    let dir = tempfile::tempdir().unwrap();
    let s = site(&format!(
        "example.org {{\n ready 127.0.0.1:0\n file {} {{\n  reload 1s\n }}\n}}\n\
         example.net {{\n ready 127.0.0.1:0 {{\n  monitor continuously\n }}\n file {} {{\n  reload 1s\n }}\n}}\n",
        dir.path().join("a").display(),
        dir.path().join("b").display(),
    ));
    assert_eq!(s.side.http.len(), 1);
    let r = s.side.http[&local(0)].respond("/ready", false);
    assert_eq!((r.status, &r.body[..]), (503, &b"file"[..]));
}
