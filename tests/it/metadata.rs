//! `metadata`: the query log shows the view that answered and the kind of
//! reply, for real queries from dig, in both modes; a block without
//! metadata shows `-`.

use corec_tests::*;
use std::net::SocketAddr;
use std::path::Path;

/// Asks `name` from `source` and returns the one query log line for it.
async fn logged(at: SocketAddr, source: &str, tcp: &str, name: &str) -> String {
    let out = dig(at, &["-b", source, tcp, "+short", name, "A"]);
    let want_answer = if name.contains(".a.") {
        "192.0.2.1"
    } else {
        ""
    };
    assert_eq!(out.trim(), want_answer, "{name} from {source}");
    let lines = query_log().wait_for(&format!(" {name}. "), 1).await;
    assert_eq!(lines.len(), 1, "{name} from {source}: {lines:?}");
    lines[0].clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_query_log_shows_labels_only_with_metadata() {
    // Capture before the servers start.
    query_log();
    let compiled = start_compiled(
        corec_macros::corefile!("../fixtures/metadata/Corefile"),
        None,
    );
    let interpreted = start_interpreted_file(Path::new("fixtures/metadata/Corefile"));
    for (mode, udp, tcp) in [
        ("compiled", compiled.udp, compiled.tcp),
        ("interpreted", interpreted.udp, interpreted.tcp),
    ] {
        // Names only this test and mode ask for, to find their lines.
        let name = |label: &str, zone: &str, proto: &str| {
            format!("{label}-{mode}-{}.{zone}.example.org", &proto[1..])
        };
        for (proto, at) in [("+notcp", udp), ("+tcp", tcp)] {
            let n = name("in", "a", proto);
            assert_eq!(
                logged(at, "127.0.0.2", proto, &n).await,
                format!("META {n}. inside NOERROR success"),
                "{mode} {proto}"
            );
            let n = name("in", "b", proto);
            assert_eq!(
                logged(at, "127.0.0.2", proto, &n).await,
                format!("META {n}. inside NXDOMAIN denial"),
                "{mode} {proto}"
            );
            let n = name("out", "a", proto);
            assert_eq!(
                logged(at, "127.0.0.1", proto, &n).await,
                format!("META {n}. - - -"),
                "{mode} {proto}: no metadata in the second block"
            );
        }
    }
}
