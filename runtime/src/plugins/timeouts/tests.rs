use super::setup::TimeoutsConfig;
use crate::plugin::Parse;
use crate::server::tcp::TcpLimits;
use crate::site::ConnLimits;
use crate::testing::{TestSite, load, parse_err};
use corec_compiler::Dispenser;
use std::time::Duration;

fn config(corefile: &str) -> TimeoutsConfig {
    let model = load(corefile);
    assert!(model.is_ok(), "{}", model.render_diagnostics());
    let used = model.blocks[0]
        .plugin("timeouts")
        .expect("a timeouts directive");
    let zones = model.blocks[0].zones();
    TimeoutsConfig::parse(&mut Dispenser::new("timeouts", &used.tokens, &zones)).expect("parses")
}

fn secs(n: u64) -> Option<Duration> {
    Some(Duration::from_secs(n))
}

#[test]
fn options() {
    let c = config(". {\n timeouts {\n  read 30s\n }\n}");
    assert_eq!(
        c,
        TimeoutsConfig {
            read: secs(30),
            ..TimeoutsConfig::default()
        }
    );
    let c =
        config(". {\n timeouts {\n  read 1m\n  write 2m\n  idle 1h\n  maxtcpqueries 128\n }\n}");
    assert_eq!(
        c,
        TimeoutsConfig {
            read: secs(60),
            write: secs(120),
            idle: secs(3600),
            max_tcp_queries: Some(Some(128)),
        }
    );
    // Bare numbers are seconds; -1 is unlimited; the bounds are included.
    let c =
        config(". {\n timeouts {\n  read 10\n  write 1s\n  idle 24h\n  maxtcpqueries -1\n }\n}");
    assert_eq!(
        c,
        TimeoutsConfig {
            read: secs(10),
            write: secs(1),
            idle: secs(86400),
            max_tcp_queries: Some(None),
        }
    );
    // Repeated, later values win.
    let c = config(". {\n timeouts {\n  idle 5s\n }\n timeouts {\n  idle 6s\n  read 2s\n }\n}");
    assert_eq!((c.idle, c.read), (secs(6), secs(2)));
}

#[test]
fn parse_errors() {
    let block = |body: &str| format!(". {{\n timeouts {{\n  {body}\n }}\n}}");
    for (corefile, want) in [
        (
            ". {\n timeouts\n}".to_string(),
            "plugin/timeouts: timeouts block with no timeouts specified",
        ),
        (
            ". {\n timeouts {\n }\n}".to_string(),
            "timeouts block with no timeouts specified",
        ),
        (
            ". {\n timeouts 5s\n}".to_string(),
            "Wrong argument count or unexpected line ending after '5s'",
        ),
        (
            block("read 10s\n  giraffe 30s"),
            "unknown option: 'giraffe'",
        ),
        (block("reaad 10s"), "did you mean 'read'?"),
        (
            block("read 10s 20s\n  write 30s"),
            "Wrong argument count or unexpected line ending after '20s'",
        ),
        (
            block("read"),
            "Wrong argument count or unexpected line ending after 'read'",
        ),
        (block("write snake"), "failed to parse duration 'snake'"),
        (block("write 5"), "PASS"),
        (
            block("idle 0s"),
            "timeout provided '0s' needs to be between 1 second and 24 hours",
        ),
        (
            block("idle 0"),
            "timeout provided '0s' needs to be between 1 second and 24 hours",
        ),
        (
            block("read 48h"),
            "timeout provided '48h0m0s' needs to be between 1 second and 24 hours",
        ),
        (
            block("read 999ms"),
            "timeout provided '999ms' needs to be between 1 second and 24 hours",
        ),
        (
            block("maxtcpqueries 0"),
            "maxtcpqueries provided '0' needs to be -1 (unlimited) or a positive integer",
        ),
        (
            block("maxtcpqueries -2"),
            "maxtcpqueries provided '-2' needs to be -1 (unlimited) or a positive integer",
        ),
        (
            block("maxtcpqueries snake"),
            "invalid value for maxtcpqueries 'snake': strconv.Atoi: parsing \"snake\": invalid syntax",
        ),
        (
            block("maxtcpqueries 99999999999999999999"),
            "value out of range",
        ),
    ] {
        if want == "PASS" {
            assert!(load(&corefile).is_ok(), "{corefile}");
            continue;
        }
        let got = parse_err(&corefile);
        assert!(got.contains(want), "{corefile}\n--- got:\n{got}");
    }
}

#[test]
fn the_listener_gets_what_its_blocks_set() {
    let t = TestSite::new(
        "example.org:53 {\n timeouts {\n  idle 20s\n  read 4s\n }\n whoami\n}\nexample.net:53 {\n timeouts {\n  idle 30s\n  maxtcpqueries 5\n }\n whoami\n}\nexample.com:54 {\n whoami\n}",
    );
    let mut by_port: Vec<(u16, ConnLimits)> = t
        .site
        .listeners
        .iter()
        .map(|(at, l)| (at.port, l.conn_limits))
        .collect();
    by_port.sort_by_key(|(p, _)| *p);
    assert_eq!(
        by_port,
        [
            (
                53,
                ConnLimits {
                    read: secs(4),
                    write: None,
                    idle: secs(30),
                    max_queries: Some(Some(5)),
                }
            ),
            (54, ConnLimits::default()),
        ],
        "the later block wins where both set a value"
    );
    let limits = TcpLimits::default().with(&by_port[0].1);
    assert_eq!(limits.idle, Duration::from_secs(30));
    assert_eq!(limits.read, Duration::from_secs(4));
    assert_eq!(limits.write, Duration::from_secs(5), "the default stays");
    assert_eq!(limits.max_queries, Some(5));
    let limits = TcpLimits::default().with(&by_port[1].1);
    assert_eq!(limits.idle, Duration::from_secs(10));
    assert_eq!(limits.max_queries, None);
}

#[test]
fn a_block_with_only_timeouts_serves_nothing() {
    // timeouts is config-only: the block has no plugin that answers.
    let t = TestSite::new("example.org {\n timeouts {\n  idle 20s\n }\n}");
    assert_eq!(t.site.empty_blocks, [true]);
}
