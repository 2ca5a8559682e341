//! corec's `file` against Knot DNS serving the same zone file: the same
//! query set goes to both over UDP and TCP, and rcode, AA and TC flags,
//! answers, and (for negative answers and referrals) the authority and
//! additional sections must match, compared order- and case-insensitively
//! with TTLs.
//!
//! Deliberate differences, from CoreDNS's *file* semantics:
//! - positive answers carry the apex NS in authority (and its glue in
//!   additional); Knot sends minimal responses, so those two sections are
//!   compared only for negative answers and referrals.

use corec_tests::*;
use hickory_proto::op::Message;
use hickory_proto::rr::{Record, RecordType};
use std::time::{Duration, Instant};

/// Knot serving `zone` as example.org, once it answers.
async fn start_knot(zone: &std::path::Path) -> Knot {
    let knot = Knot::start(
        free_port(),
        &format!(
            "template:\n  - id: default\n    storage: \"{{run}}\"\n    journal-content: none\n    zonefile-sync: -1\n    zonefile-load: whole\n    semantic-checks: off\n\
             zone:\n  - domain: example.org.\n    file: \"{}\"\n",
            zone.display()
        ),
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    let probe = query("example.org.", RecordType::SOA).to_vec().unwrap();
    while Instant::now() < deadline {
        if udp_raw(knot.addr, &probe, None).await.is_some() {
            return knot;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "knotd did not answer on {}; its log:\n{}",
        knot.addr,
        knot.log()
    );
}

/// Names and types covering every lookup rule.
pub(crate) const CASES: &[(&str, RecordType)] = {
    use RecordType::*;
    &[
        ("www.example.org.", A),
        ("WWW.Example.ORG.", AAAA),
        ("www.example.org.", MX),
        ("nope.example.org.", A),
        ("example.org.", SOA),
        ("example.org.", NS),
        ("example.org.", MX),
        ("alias.example.org.", A),
        ("chain.example.org.", A),
        ("chain.example.org.", CNAME),
        ("outside.example.org.", A),
        ("dangling.example.org.", A),
        ("a.wild.example.org.", A),
        ("a.b.wild.example.org.", TXT),
        ("exists.wild.example.org.", A),
        ("exists.wild.example.org.", TXT),
        ("x.exists.wild.example.org.", A),
        ("a.wild.example.org.", MX),
        ("q.cwild.example.org.", A),
        ("b.ent.example.org.", A),
        ("ent.example.org.", A),
        ("a.b.ent.example.org.", A),
        ("www.sub.example.org.", A),
        ("sub.example.org.", NS),
        ("sub.example.org.", DS),
        ("ns.sub.example.org.", A),
        ("_sip._tcp.example.org.", SRV),
        ("txt.example.org.", TXT),
        ("c.example.org.", A),
        ("deep.a.b.c.example.org.", A),
        ("a.b.c.example.org.", A),
        ("redirect.example.org.", DNAME),
        ("x.redirect.example.org.", A),
        ("y.x.redirect.example.org.", TXT),
        ("ns1.away.example.org.", A),
    ]
};

fn set(records: &[Record]) -> Vec<String> {
    let mut v: Vec<String> = records
        .iter()
        .map(|r| r.to_string().to_ascii_lowercase())
        .collect();
    v.sort();
    v
}

fn compare(what: &str, ours: &Message, knot: &Message) {
    let flags = |m: &Message| {
        (
            m.metadata.response_code,
            m.metadata.authoritative,
            m.metadata.truncation,
        )
    };
    assert_eq!(flags(ours), flags(knot), "{what}: rcode/AA/TC");
    assert_eq!(set(&ours.answers), set(&knot.answers), "{what}: answers");
    let positive = !ours.answers.is_empty() && ours.metadata.authoritative;
    if !positive {
        assert_eq!(
            set(&ours.authorities),
            set(&knot.authorities),
            "{what}: authority"
        );
        assert_eq!(
            set(&ours.additionals),
            set(&knot.additionals),
            "{what}: additional"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn file_answers_like_knot() {
    let zone = std::path::absolute("fixtures/differential/example.org.zone").unwrap();
    let knot = start_knot(&zone).await;
    let dir = tempfile::tempdir().unwrap();
    let corefile = dir.path().join("Corefile");
    std::fs::write(
        &corefile,
        format!("example.org:0 {{\n    file {}\n}}\n", zone.display()),
    )
    .unwrap();
    let corec = start_interpreted_file(&corefile);

    for &(name, qtype) in CASES {
        for edns in [None, Some(1232)] {
            let mut q = query(name, qtype);
            q.metadata.recursion_desired = false;
            let q = match edns {
                Some(size) => with_edns(q, size),
                None => q,
            };
            let what = format!("{name} {qtype} edns={edns:?}");
            compare(
                &format!("{what} udp"),
                &udp(corec.udp, &q).await,
                &udp(knot.addr, &q).await,
            );
        }
        let q = query(name, qtype);
        compare(
            &format!("{name} {qtype} tcp"),
            &tcp(corec.tcp, &q).await,
            &tcp(knot.addr, &q).await,
        );
    }
    use RecordType::*;
    // The comparison is meaningful: Knot does serve the zone.
    let m = udp(knot.addr, &query("chain.example.org.", A)).await;
    assert_eq!(m.answers.len(), 3, "Knot follows the CNAME chain");
    let m = udp(knot.addr, &query("nope.example.org.", A)).await;
    assert_eq!(
        m.metadata.response_code,
        hickory_proto::op::ResponseCode::NXDomain
    );
    let m = udp(knot.addr, &query("www.sub.example.org.", A)).await;
    assert!(
        !m.metadata.authoritative && m.authorities.len() == 1 && m.additionals.len() == 1,
        "a referral with glue"
    );

    // RFC 9471: in-domain glue that does not fit sets TC (Knot agrees).
    let mut q = query("www.fat.example.org.", A);
    q.metadata.recursion_desired = false;
    let (ours, theirs) = (udp(corec.udp, &q).await, udp(knot.addr, &q).await);
    assert!(theirs.metadata.truncation, "Knot truncates the referral");
    assert!(ours.metadata.truncation, "corec truncates the referral");
    compare(
        "fat referral tcp",
        &tcp(corec.tcp, &q).await,
        &tcp(knot.addr, &q).await,
    );

    // Truncation: the TXT RRset does not fit 512 bytes.
    let q = query("big.example.org.", TXT);
    let (ours, theirs) = (udp(corec.udp, &q).await, udp(knot.addr, &q).await);
    assert!(ours.metadata.truncation && theirs.metadata.truncation);
    compare(
        "big TXT tcp",
        &tcp(corec.tcp, &q).await,
        &tcp(knot.addr, &q).await,
    );
}
/// A pre-signed zone (NSEC) queried with DO: signatures and denial proofs
/// must be exactly Knot's.
#[tokio::test(flavor = "multi_thread")]
async fn signed_zone_answers_like_knot() {
    signed_zone_like_knot("fixtures/differential/example.org.signed").await;
}

/// The same zone signed with NSEC3 (salt, one iteration): closest encloser
/// proofs must be exactly Knot's.
#[tokio::test(flavor = "multi_thread")]
async fn nsec3_zone_answers_like_knot() {
    signed_zone_like_knot("fixtures/differential/example.org.nsec3").await;
}

async fn signed_zone_like_knot(file: &str) {
    let zone = std::path::absolute(file).unwrap();
    let knot = start_knot(&zone).await;
    let dir = tempfile::tempdir().unwrap();
    let corefile = dir.path().join("Corefile");
    std::fs::write(
        &corefile,
        format!("example.org:0 {{\n    file {}\n}}\n", zone.display()),
    )
    .unwrap();
    let corec = start_interpreted_file(&corefile);
    let mut extra: Vec<(&str, RecordType)> = CASES.to_vec();
    extra.extend([
        ("example.org.", RecordType::DNSKEY),
        ("zzz.example.org.", RecordType::A),
        ("0.example.org.", RecordType::A),
    ]);
    for (name, qtype) in extra {
        let mut q = with_edns(query(name, qtype), 4096);
        q.edns.as_mut().unwrap().set_dnssec_ok(true);
        let what = format!("{name} {qtype} DO tcp");
        let (ours, theirs) = (tcp(corec.tcp, &q).await, tcp(knot.addr, &q).await);
        compare(&what, &ours, &theirs);
        if !ours.answers.is_empty() && ours.metadata.authoritative {
            continue;
        }
        assert!(
            ours.metadata.response_code == hickory_proto::op::ResponseCode::NoError
                && ours.answers.is_empty()
                && ours
                    .authorities
                    .iter()
                    .any(|r| matches!(r.record_type(), RecordType::NSEC | RecordType::NSEC3))
                || ours.metadata.response_code == hickory_proto::op::ResponseCode::NXDomain
                || !ours.metadata.authoritative,
            "{what}: a signed negative answer carries NSEC or NSEC3"
        );
    }
    let mut q = with_edns(query("nope.example.org.", RecordType::A), 4096);
    q.edns.as_mut().unwrap().set_dnssec_ok(true);
    let m = tcp(knot.addr, &q).await;
    assert!(
        m.authorities
            .iter()
            .any(|r| matches!(r.record_type(), RecordType::NSEC | RecordType::NSEC3)),
        "Knot proves NXDOMAIN"
    );
}
