use super::setup::HealthConfig;
use crate::plugin::Parse;
use crate::server::http::HttpAddr;
use crate::site::{NoCompiled, Site};
use crate::testing::{load, parse_err};
use corec_compiler::Dispenser;
use std::net::IpAddr;
use std::time::Duration;

fn config(corefile: &str) -> HealthConfig {
    let model = load(corefile);
    assert!(model.is_ok(), "{}", model.render_diagnostics());
    let used = model.blocks[0]
        .plugin("health")
        .expect("a health directive");
    let zones = model.blocks[0].zones();
    HealthConfig::parse(&mut Dispenser::new("health", &used.tokens, &zones)).expect("parses")
}

fn site(corefile: &str) -> Site<NoCompiled> {
    let model = load(corefile);
    assert!(model.is_ok(), "{}", model.render_diagnostics());
    let sources = model.sources.clone();
    Site::interpreted(model).unwrap_or_else(|d| panic!("{}", d.render(&sources)))
}

fn any(port: u16) -> HttpAddr {
    HttpAddr { host: None, port }
}

#[test]
fn address_and_lameduck() {
    let c = config(". {\n health\n}");
    assert_eq!(c.address.text, ":8080");
    assert_eq!((c.address.host.as_str(), c.address.port), ("", 8080));
    assert_eq!(c.lameduck, Duration::ZERO);

    let c = config(". {\n health localhost:8091\n}");
    assert_eq!(
        (c.address.host.as_str(), c.address.port),
        ("localhost", 8091)
    );
    let c = config(". {\n health [::1]:8080\n}");
    assert_eq!((c.address.host.as_str(), c.address.port), ("::1", 8080));

    let c = config(". {\n health :8081 {\n  lameduck 5s\n }\n}");
    assert_eq!(c.address.port, 8081);
    assert_eq!(c.lameduck, Duration::from_secs(5));
    let c = config(". {\n health {\n  lameduck 1m30s\n }\n}");
    assert_eq!(c.address.text, ":8080");
    assert_eq!(c.lameduck, Duration::from_secs(90));
    // As in CoreDNS, a negative lameduck is none.
    assert_eq!(
        config(". {\n health {\n  lameduck -1s\n }\n}").lameduck,
        Duration::ZERO
    );
    // Repeated, the last address and lameduck count.
    let c = config(". {\n health :1\n health :2 {\n  lameduck 2s\n }\n}");
    assert_eq!(c.address.port, 2);
    assert_eq!(c.lameduck, Duration::from_secs(2));
}

#[test]
fn parse_errors() {
    for (corefile, want) in [
        (
            ". {\n health bla\n}",
            "plugin/health: address bla: missing port in address",
        ),
        (
            ". {\n health ::1:8080\n}",
            "address ::1:8080: too many colons in address",
        ),
        (
            ". {\n health localhost:http\n}",
            "address localhost:http: invalid port",
        ),
        (
            ". {\n health :8080 :8081\n}",
            "Wrong argument count or unexpected line ending after ':8081'",
        ),
        (
            ". {\n health {\n  lameduck\n }\n}",
            "Wrong argument count or unexpected line ending after 'lameduck'",
        ),
        (
            ". {\n health {\n  lameduck 1s 2s\n }\n}",
            "Wrong argument count or unexpected line ending after '2s'",
        ),
        (
            ". {\n health {\n  lameduck 5\n }\n}",
            "plugin/health: unable to parse lameduck duration value: '5' : time: missing unit in duration \"5\"",
        ),
        (
            ". {\n health {\n  lameduck soon\n }\n}",
            "unable to parse lameduck duration value: 'soon' : time: invalid duration \"soon\"",
        ),
        (
            ". {\n health {\n  lamedock 5s\n }\n}",
            "plugin/health: unknown property 'lamedock'",
        ),
    ] {
        let got = parse_err(corefile);
        assert!(got.contains(want), "{corefile}\n--- got:\n{got}");
    }
    let got = parse_err(". {\n health {\n  lamedock 5s\n }\n}");
    assert!(got.contains("did you mean 'lameduck'?"), "{got}");
}

#[test]
fn the_site_serves_health_on_its_address() {
    let s = site(". {\n health 127.0.0.1:0\n whoami\n}");
    let at = HttpAddr {
        host: Some(IpAddr::from([127, 0, 0, 1])),
        port: 0,
    };
    let e = s.side.http.get(&at).expect("a side listener");
    assert!(e.health && e.ready.is_none());
    let ok = e.respond("/health", false);
    assert_eq!((ok.status, &ok.body[..]), (200, &b"OK"[..]));
    assert_eq!(ok.content_type, "text/plain; charset=utf-8");
    // Still OK while the lameduck runs.
    assert_eq!(e.respond("/health", true).status, 200);
    assert_eq!(e.respond("/ready", false).status, 404);
    assert_eq!(e.respond("/health/", false).status, 404);
    assert_eq!(e.respond("/", false).status, 404);
    assert_eq!(s.side.lameduck, Duration::ZERO);
    // health is not in the chain: whoami answers.
    assert!(!s.empty_blocks[0]);
}

#[test]
fn blocks_share_an_address_and_the_longest_lameduck_wins() {
    let s = site(
        "example.org {\n health :8080 {\n  lameduck 2s\n }\n whoami\n}\n\
         example.net {\n health {\n  lameduck 5s\n }\n whoami\n}\n\
         example.com {\n health :8082\n whoami\n}\n",
    );
    let addrs: Vec<HttpAddr> = s.side.http.keys().copied().collect();
    assert_eq!(addrs, [any(8080), any(8082)]);
    assert_eq!(s.side.lameduck, Duration::from_secs(5));
    assert_eq!(any(8080).to_string(), ":8080");
}

#[test]
fn a_name_is_resolved_when_the_site_is_built() {
    let s = site(". {\n health localhost:8091\n whoami\n}");
    let (at, _) = s.side.http.iter().next().expect("one listener");
    assert_eq!(at.port, 8091);
    assert!(at.host.is_some_and(|ip| ip.is_loopback()), "{at}");
}
