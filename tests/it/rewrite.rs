//! rewrite as dig sees it: the question section is the client's own and
//! the answers are named as asked, over UDP and TCP, in both modes.

use corec_tests::*;
use std::net::SocketAddr;
use std::path::Path;

/// The question and answer lines dig prints for `name`/`qtype`.
fn ask(at: SocketAddr, tcp: bool, name: &str, qtype: &str) -> (Vec<String>, String) {
    let transport = if tcp { "+tcp" } else { "+notcp" };
    let out = dig(
        at,
        &[
            transport,
            "+noall",
            "+question",
            "+answer",
            "+comments",
            name,
            qtype,
        ],
    );
    let records = out
        .lines()
        .filter(|l| !l.starts_with(';') && !l.trim().is_empty())
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    (records, out)
}

fn check(mode: &str, udp: SocketAddr, tcp: SocketAddr) {
    for over_tcp in [false, true] {
        let at = if over_tcp { tcp } else { udp };
        let what = format!("{mode} tcp={over_tcp}");
        let (answers, out) = ask(at, over_tcp, "www.example.net", "A");
        assert!(out.contains("status: NOERROR"), "{what}: {out}");
        assert!(out.contains(";www.example.net.\t\tIN\tA"), "{what}: {out}");
        assert!(!out.contains("mismatch"), "{what}: {out}");
        assert_eq!(
            answers,
            ["www.example.net. 3600 IN A 192.0.2.10"],
            "{what}: {out}"
        );

        // A CNAME chain is mapped back, target included.
        let (answers, out) = ask(at, over_tcp, "alias.example.net", "A");
        assert_eq!(
            answers,
            [
                "alias.example.net. 3600 IN CNAME www.example.net.",
                "www.example.net. 3600 IN A 192.0.2.10"
            ],
            "{what}: {out}"
        );

        // The client's spelling stays in the question.
        let (_, out) = ask(at, over_tcp, "WWW.Example.NET", "A");
        assert!(out.contains(";WWW.Example.NET.\t\tIN\tA"), "{what}: {out}");
        assert!(!out.contains("mismatch"), "{what}: {out}");

        let (answers, out) = ask(at, over_tcp, "web.example.com", "A");
        assert_eq!(
            answers,
            ["web.example.com. 3600 IN A 192.0.2.10"],
            "{what}: {out}"
        );

        // Not rewritten: as the zone has it (the fast lane, for UDP).
        let (answers, out) = ask(at, over_tcp, "www.example.org", "A");
        assert_eq!(
            answers,
            ["www.example.org. 3600 IN A 192.0.2.10"],
            "{what}: {out}"
        );

        // continue, then a name rule: both apply.
        let (answers, out) = ask(at, over_tcp, "low.example.org", "A");
        assert_eq!(
            answers,
            ["low.example.org. 60 IN A 192.0.2.5"],
            "{what}: {out}"
        );
        let (answers, out) = ask(at, over_tcp, "low.example.net", "A");
        assert_eq!(
            answers,
            ["low.example.net. 5 IN A 192.0.2.5"],
            "{what}: {out}"
        );

        let (_, out) = ask(at, over_tcp, "nope.example.net", "A");
        assert!(out.contains("status: NXDOMAIN"), "{what}: {out}");
        assert!(out.contains(";nope.example.net.\t\tIN\tA"), "{what}: {out}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn dig_sees_its_own_question_and_names() {
    let compiled = start_compiled(
        corec_macros::corefile!("../fixtures/rewrite/Corefile"),
        None,
    );
    let interpreted = start_interpreted_file(Path::new("fixtures/rewrite/Corefile"));
    check("compiled", compiled.udp, compiled.tcp);
    check("interpreted", interpreted.udp, interpreted.tcp);
}
