use super::zone::{Lookup, Zone};
use crate::dns::{Name, RecordType, ResponseCode};
use crate::testing::{Case, TestSite, parse_err};
use std::path::Path;

fn zone() -> Zone {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("src/plugins/file/testdata/example.org.zone");
    let text = std::fs::read_to_string(&path).unwrap();
    Zone::parse(&text, &path, &Name::from_ascii("example.org.").unwrap()).unwrap()
}

fn q(z: &Zone, name: &str, t: RecordType) -> Lookup {
    z.lookup(&Name::from_ascii(name).unwrap(), t, false, true)
}

fn texts(records: &[crate::dns::Record]) -> Vec<String> {
    let mut v: Vec<String> = records.iter().map(|r| r.to_string()).collect();
    v.sort();
    v
}

#[test]
fn existing_name() {
    let r = q(&zone(), "www.example.org.", RecordType::A);
    assert!(r.authoritative && !r.nxdomain);
    assert_eq!(texts(&r.answers), ["www.example.org. 3600 IN A 192.0.2.10"]);
    assert_eq!(r.authority.len(), 2, "apex NS in authority");
    assert_eq!(
        texts(&r.additional),
        ["ns1.example.org. 3600 IN A 192.0.2.53"],
        "glue for the in-zone NS"
    );
}

#[test]
fn nxdomain_and_nodata_carry_the_soa_at_minimum_ttl() {
    let z = zone();
    let r = q(&z, "nope.example.org.", RecordType::A);
    assert!(r.nxdomain && r.answers.is_empty());
    assert_eq!(r.authority.len(), 1);
    assert_eq!(r.authority[0].record_type(), RecordType::SOA);
    assert_eq!(r.authority[0].ttl, 300, "min(SOA TTL 3600, MINIMUM 300)");
    let r = q(&z, "www.example.org.", RecordType::MX);
    assert!(!r.nxdomain && r.answers.is_empty());
    assert_eq!(r.authority[0].record_type(), RecordType::SOA);
    let r = q(&z, "b.ent.example.org.", RecordType::A);
    assert!(
        !r.nxdomain && r.answers.is_empty(),
        "an empty non-terminal exists: NODATA"
    );
}

#[test]
fn cname_chains_inside_the_zone() {
    let z = zone();
    let r = q(&z, "chain.example.org.", RecordType::A);
    assert_eq!(
        texts(&r.answers),
        [
            "alias.example.org. 3600 IN CNAME www.example.org.",
            "chain.example.org. 3600 IN CNAME alias.example.org.",
            "www.example.org. 3600 IN A 192.0.2.10",
        ]
    );
    let r = q(&z, "outside.example.org.", RecordType::A);
    assert_eq!(
        r.answers.len(),
        1,
        "a target outside the zone is left to the client"
    );
    let r = q(&z, "dangling.example.org.", RecordType::A);
    assert!(r.nxdomain, "the rcode describes the last name (RFC 6604)");
    assert_eq!(r.answers.len(), 1);
    let r = q(&z, "loop1.example.org.", RecordType::A);
    assert_eq!(r.answers.len(), 2, "a loop stops");
    let r = q(&z, "alias.example.org.", RecordType::CNAME);
    assert_eq!(
        texts(&r.answers),
        ["alias.example.org. 3600 IN CNAME www.example.org."]
    );
}

#[test]
fn wildcards() {
    let z = zone();
    let r = q(&z, "Any.Wild.example.org.", RecordType::A);
    assert_eq!(
        texts(&r.answers),
        ["Any.Wild.example.org. 3600 IN A 192.0.2.100"],
        "owner is the query name"
    );
    let r = q(&z, "x.y.wild.example.org.", RecordType::TXT);
    assert_eq!(
        r.answers.len(),
        1,
        "several labels below the closest encloser"
    );
    let r = q(&z, "exists.wild.example.org.", RecordType::TXT);
    assert!(
        r.answers.is_empty() && !r.nxdomain,
        "no wildcard at an existing name: NODATA"
    );
    let r = q(&z, "x.exists.wild.example.org.", RecordType::A);
    assert!(r.nxdomain, "no wildcard below an existing name");
    let r = q(&z, "a.wild.example.org.", RecordType::MX);
    assert!(r.answers.is_empty() && !r.nxdomain, "wildcard NODATA");
    let r = q(&z, "q.cwild.example.org.", RecordType::A);
    assert_eq!(r.answers.len(), 2, "wildcard CNAME, then its target");
}

#[test]
fn delegations_and_ds() {
    let z = zone();
    let r = q(&z, "www.sub.example.org.", RecordType::A);
    assert!(!r.authoritative && !r.nxdomain && r.answers.is_empty());
    assert_eq!(
        texts(&r.authority),
        ["sub.example.org. 3600 IN NS ns.sub.example.org."]
    );
    assert_eq!(
        texts(&r.additional),
        ["ns.sub.example.org. 3600 IN A 192.0.2.54"],
        "glue"
    );
    let r = q(&z, "sub.example.org.", RecordType::NS);
    assert!(!r.authoritative, "NS at the cut is a referral too");
    let r = q(&z, "sub.example.org.", RecordType::DS);
    assert!(r.authoritative);
    assert_eq!(r.answers.len(), 1, "DS answered from the parent side");
}

#[test]
fn any_and_additional() {
    let z = zone();
    let r = z.lookup(
        &Name::from_ascii("www.example.org.").unwrap(),
        RecordType::ANY,
        false,
        true,
    );
    assert_eq!(r.answers.len(), 1, "one RRset over UDP");
    let r = z.lookup(
        &Name::from_ascii("www.example.org.").unwrap(),
        RecordType::ANY,
        false,
        false,
    );
    assert_eq!(r.answers.len(), 2, "all over TCP");
    let r = q(&z, "example.org.", RecordType::MX);
    assert!(texts(&r.additional).contains(&"mail.example.org. 3600 IN A 192.0.2.25".to_string()));
    let r = q(&z, "_sip._tcp.example.org.", RecordType::SRV);
    assert!(texts(&r.additional).contains(&"mail.example.org. 3600 IN A 192.0.2.25".to_string()));
}

/// The zone keeps records in wire form: each type the parser knows must
/// decode to what was parsed (names inside rdata keep their case).
#[test]
fn stored_records_decode_as_parsed() {
    let data = [
        "A 192.0.2.1",
        "AAAA 2001:db8::1",
        "NS Ns1.Example.ORG.",
        "CNAME www",
        "PTR host.example.net.",
        "MX 10 Mail.example.org.",
        "TXT \"hello world\" unquoted \"\\255\\000\"",
        "SPF \"v=spf1 -all\"",
        "SRV 10 5 5060 sip",
        "NAPTR 100 10 \"U\" \"E2U+sip\" \"!^.*$!sip:info@example.org!\" .",
        "HINFO \"Intel\" Linux",
        "CAA 0 issue \"ca.example.net\"",
        "CAA 128 tbs \"Unknown\"",
        "TLSA 3 1 1 abcdef01",
        "SMIMEA 3 0 1 abcd",
        "SSHFP 1 1 0123456789abcdef0123456789abcdef01234567",
        "OPENPGPKEY aGVsbG8=",
        "CERT PGP 0 0 aGVsbG8=",
        "DS 12345 8 2 0123456789ABCDEF0123",
        "CDS 0 0 0 00",
        "DNSKEY 256 3 13 aGVsbG8=",
        "CDNSKEY 0 3 0 AA==",
        "RRSIG A 13 3 3600 20361124025200 20261127025200 5573 example.org. aGVsbG8=",
        "NSEC host A MX RRSIG NSEC TYPE1234",
        "NSEC3 1 1 10 AABBCCDD 2T7B4G4VSA5SMI47K61MV5BV1A22BOJR A RRSIG",
        "NSEC3PARAM 1 0 10 -",
        "CSYNC 66 3 A NS AAAA",
        "ZONEMD 2026 1 1 abcdef",
        "URI 10 1 \"https://example.org/\"",
        "RP admin txt",
        "AFSDB 1 afs",
        "KX 10 kx",
        "SVCB 1 svc alpn=h2,h3 port=8443",
        "HTTPS 1 . alpn=h3",
        "DNAME Target.example.net.",
        "TYPE65280 \\# 3 abcdef",
        "NULL \\# 0",
    ];
    let mut text = String::from("$TTL 300\n@ SOA ns hm 1 2 3 4 5\n");
    for (i, d) in data.iter().enumerate() {
        text.push_str(&format!("t{i} {d}\n"));
    }
    let origin = Name::from_ascii("example.org.").unwrap();
    let path = Path::new("types.zone");
    let parsed = super::master::parse_zone(&text, path, &origin).unwrap();
    let zone = Zone::parse(&text, path, &origin).unwrap();
    let stored: Vec<_> = zone.records().collect();
    assert_eq!(texts(&stored), texts(&parsed));
    for r in &parsed {
        assert!(
            stored.iter().any(|s| s.data == r.data && s.ttl == r.ttl),
            "{r}"
        );
    }
}

#[test]
fn rrsets_drop_duplicates_and_take_the_first_ttl() {
    let text = "$TTL 300\n@ SOA ns hm 1 2 3 4 5\n\
                www 60 A 192.0.2.1\n\
                x NS ns1.example.org.\n\
                www 120 A 192.0.2.2\n\
                www A 192.0.2.1\n\
                x NS NS1.Example.Org.\n\
                x NS ns2.example.org.\n\
                www 30 RRSIG A 13 3 60 20361124025200 20261127025200 1 example.org. aGVsbG8=\n\
                www 45 RRSIG A 13 3 60 20361124025200 20261127025200 2 example.org. aGVsbG8=\n";
    let origin = Name::from_ascii("example.org.").unwrap();
    let z = Zone::parse(text, Path::new("dups.zone"), &origin).unwrap();
    let www = Name::from_ascii("www.example.org.").unwrap();
    let r = z.lookup(&www, RecordType::A, true, true);
    let got: Vec<_> = r.answers.iter().map(|r| (r.record_type(), r.ttl)).collect();
    assert_eq!(
        got,
        [
            (RecordType::A, 60),
            (RecordType::A, 60),
            (RecordType::RRSIG, 30),
            (RecordType::RRSIG, 45)
        ],
        "one copy each, the first TTL; signatures keep theirs"
    );
    let r = q(&z, "x.example.org.", RecordType::NS);
    assert_eq!(r.authority.len(), 2, "names in rdata compare without case");
    assert_eq!(z.records().count(), 7);
}

fn bad(text: &str) -> (usize, String) {
    let e = Zone::parse(
        text,
        Path::new("db.test"),
        &Name::from_ascii("example.org.").unwrap(),
    )
    .unwrap_err();
    (e.line, e.message)
}

#[test]
fn bad_zone_files_name_the_line() {
    let soa = "$TTL 60\n@ IN SOA ns hm 1 2 3 4 5\n";
    let (line, msg) = bad(&format!(
        "{soa}www IN A 192.0.2.1\nbad IN A not-an-address\n"
    ));
    assert_eq!(line, 4, "{msg}");
    let (line, msg) = bad("$TTL 60\nwww IN A 192.0.2.1\n");
    assert_eq!((line, msg.contains("no SOA")), (0, true), "{msg}");
    let (line, msg) = bad(&format!("{soa}www.example.net. IN A 192.0.2.1\n"));
    assert_eq!(line, 3, "{msg}");
    assert!(msg.contains("out-of-zone"), "{msg}");
    let (line, msg) = bad(&format!("{soa}x IN CNAME www\nx IN A 192.0.2.1\n"));
    assert_eq!(line, 3, "{msg}");
    assert!(msg.contains("CNAME and other data"), "{msg}");
}

fn corefile(extra: &str) -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/plugins/file/testdata");
    format!(
        "example.org:0 {{\n    file {}/example.org.zone{extra}\n}}\n",
        dir.display()
    )
}

#[tokio::test]
async fn serves_through_the_chain() {
    let t = TestSite::new(&corefile(""));
    let r = t.query(Case::new("www.example.org.", RecordType::A)).await;
    assert_eq!(r.answers(), ["www.example.org. 3600 IN A 192.0.2.10"]);
    assert!(r.message().metadata.authoritative);
    let r = t.query(Case::new("nope.example.org.", RecordType::A)).await;
    assert_eq!(r.rcode(), ResponseCode::NXDomain);
    let r = t
        .query(Case::new("x.example.org.", RecordType::AXFR).tcp())
        .await;
    assert_eq!(r.rcode(), ResponseCode::Refused);
}

#[tokio::test]
async fn fallthrough_passes_nxdomain_on() {
    let t = TestSite::new(&corefile(" {\n        fallthrough\n    }\n    whoami"));
    let r = t.query(Case::new("nope.example.org.", RecordType::A)).await;
    assert_eq!(r.plugin(), Some("whoami"));
    let r = t.query(Case::new("www.example.org.", RecordType::A)).await;
    assert_eq!(r.plugin(), Some("file"));
}

#[test]
fn syntax_errors() {
    assert!(parse_err("example.org {\n file\n}").contains("Wrong argument count"));
    assert!(
        parse_err("example.org {\n file db {\n  reloadd 1s\n }\n}")
            .contains("did you mean 'reload'?")
    );
    assert!(
        parse_err("example.org {\n file db {\n  reload soon\n }\n}").contains("invalid duration")
    );
    let e = parse_err(
        &corefile("")
            .replace("example.org.zone", "missing.zone")
            .replace("\n}", " {\n reload 0\n }\n}"),
    );
    assert!(e.contains("missing.zone"), "{e}");
}

#[tokio::test]
async fn reload_on_serial_change_and_keep_old_on_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let v = |serial: u32, ip: &str| {
        format!("$TTL 60\n@ IN SOA ns hm {serial} 2 3 4 5\nwww IN A {ip}\n")
    };
    std::fs::write(&path, v(1, "192.0.2.1")).unwrap();
    let t = TestSite::new(&format!(
        "example.org:0 {{\n file {} {{\n  reload 50ms\n }}\n}}\n",
        path.display()
    ));
    let ask = || t.query(Case::new("www.example.org.", RecordType::A));
    assert_eq!(
        ask().await.answers(),
        ["www.example.org. 60 IN A 192.0.2.1"]
    );
    std::fs::write(&path, v(2, "192.0.2.2")).unwrap();
    let mut switched = false;
    for _ in 0..60 {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        if ask().await.answers() == ["www.example.org. 60 IN A 192.0.2.2"] {
            switched = true;
            break;
        }
    }
    assert!(switched, "the new serial was picked up");
    std::fs::write(
        &path,
        "$TTL 60\n@ IN SOA ns hm 3 2 3 4 5\nwww IN A broken\n",
    )
    .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(
        ask().await.answers(),
        ["www.example.org. 60 IN A 192.0.2.2"],
        "a broken file keeps the old zone"
    );
}

/// Records in presentation form, lowercased: the lanes may differ in the
/// case of names compressed against the question.
fn lowered(records: &[crate::dns::Record]) -> Vec<String> {
    records
        .iter()
        .map(|r| r.to_string().to_ascii_lowercase())
        .collect()
}

/// The fast lane answers exactly as the full path does, over every owner of
/// the differential zones (plain, NSEC- and NSEC3-signed) and names beside
/// them, many types, with and without EDNS and DO, over UDP and TCP; each query twice (the
/// first renders the answer, the second copies it) in different case.
#[tokio::test]
async fn fast_lane_matches_the_full_path() {
    use crate::dns::Message;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/differential");
    let types: Vec<RecordType> = crate::testing::LANE_TYPES
        .into_iter()
        .chain([RecordType::PTR])
        .collect();
    for file in [
        "example.org.zone",
        "example.org.signed",
        "example.org.nsec3",
    ] {
        let path = dir.join(file);
        let origin = Name::from_ascii("example.org.").unwrap();
        let zone = Zone::parse(&std::fs::read_to_string(&path).unwrap(), &path, &origin).unwrap();
        let mut names: Vec<String> = zone.records().map(|r| r.name.to_ascii()).collect();
        names.dedup();
        for extra in [
            "nope",
            "x.wild",
            "a.b.wild",
            "x.cwild",
            "b.ent",
            "x.redirect",
            "x.away",
            "deep.sub",
            "x.fat",
            "c.b.a.deep",
            "c",
        ] {
            names.push(format!("{extra}.example.org."));
        }
        let site = TestSite::new(&format!("example.org:0 {{\n file {}\n}}", path.display()));
        let mut fast_answers = 0;
        for name in &names {
            for &t in &types {
                for variant in 0..5 {
                    for round in 0..2 {
                        let asked = if round == 0 {
                            name.clone()
                        } else {
                            name.to_ascii_uppercase()
                        };
                        let mut case = Case::new(&asked, t);
                        case = match variant {
                            0 => case,
                            1 => case.edns(1232),
                            2 => case.dnssec(),
                            3 => case.edns(512),
                            _ => case.dnssec().tcp(),
                        };
                        let (full, fast) = site.both_lanes(&case).await;
                        let Some(fast) = fast else { continue };
                        fast_answers += 1;
                        let (a, b) = (
                            Message::from_vec(&full).unwrap(),
                            Message::from_vec(&fast).unwrap(),
                        );
                        let what = format!("{file}: {asked} {t} variant {variant}");
                        assert_eq!(a.metadata, b.metadata, "{what}");
                        assert_eq!(a.queries, b.queries, "{what}");
                        assert_eq!(a.edns, b.edns, "{what}");
                        assert_eq!(lowered(&a.answers), lowered(&b.answers), "{what}");
                        assert_eq!(lowered(&a.authorities), lowered(&b.authorities), "{what}");
                        assert_eq!(lowered(&a.additionals), lowered(&b.additionals), "{what}");
                    }
                }
            }
        }
        assert!(
            fast_answers > names.len() * types.len(),
            "{file}: {fast_answers} fast answers"
        );
    }
    // The common cases do take the fast lane.
    let site = TestSite::new(&format!(
        "example.org:0 {{\n file {}\n}}",
        dir.join("example.org.zone").display()
    ));
    for (name, t) in [
        ("www.example.org.", RecordType::A),
        ("nope.example.org.", RecordType::A),
        ("www.example.org.", RecordType::MX),
        ("chain.example.org.", RecordType::A),
    ] {
        assert!(
            site.both_lanes(&Case::new(name, t)).await.1.is_some(),
            "{name} {t}"
        );
    }
}

/// Mutated queries never panic either lane, and whenever the fast lane
/// answers one, the full path answers it the same way.
#[tokio::test]
async fn mutated_queries_are_safe_in_both_lanes() {
    use crate::dns::Message;
    use crate::server::respond::{self, Prepared};
    use rand::{Rng, SeedableRng};
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/differential");
    let site = TestSite::new(&format!(
        "example.org:0 {{\n file {}\n}}",
        dir.join("example.org.signed").display()
    ));
    let at = *site.site.listeners.keys().next().unwrap();
    let listener = &site.site.listeners[&at];
    let seeds: Vec<Vec<u8>> = [
        Case::new("www.example.org.", RecordType::A),
        Case::new("nope.example.org.", RecordType::AAAA).edns(1232),
        Case::new("x.wild.example.org.", RecordType::TXT).dnssec(),
    ]
    .iter()
    .map(|c| c.request().message.to_vec().unwrap())
    .collect();
    let mut rng = rand::rngs::StdRng::seed_from_u64(20261127);
    let (mut fast_answers, mut agreed) = (0, 0);
    for i in 0..20_000 {
        let mut p = seeds[i % seeds.len()].clone();
        for _ in 0..rng.random_range(1..4) {
            match rng.random_range(0..3) {
                _ if p.is_empty() => p.push(rng.random()),
                0 => {
                    let at = rng.random_range(0..p.len());
                    p[at] = rng.random();
                }
                1 => p.truncate(rng.random_range(0..p.len())),
                _ => p.push(rng.random()),
            }
        }
        let client = "127.0.0.1:5353".parse().unwrap();
        let mut out = Vec::new();
        let fast = crate::wire::WireQuery::parse(&p, crate::plugin::Proto::Udp, client, client)
            .is_some_and(|q| respond::fast(&site.site, listener, &q, &mut out));
        let full = match respond::prepare(
            &p,
            client,
            client,
            crate::plugin::Proto::Udp,
            &listener.name,
        ) {
            Prepared::Query(req) => respond::handle(&site.site, at, *req)
                .await
                .first()
                .map(<[u8]>::to_vec),
            Prepared::Reply(bytes) => Some(bytes),
            Prepared::Drop => None,
        };
        if fast {
            fast_answers += 1;
            let full = full.expect("the full path answers what the fast lane answers");
            let (a, b) = (
                Message::from_vec(&full).unwrap(),
                Message::from_vec(&out).unwrap(),
            );
            if a.metadata == b.metadata && lowered(&a.answers) == lowered(&b.answers) {
                agreed += 1;
            } else {
                panic!("lanes differ on {p:02x?}:\n{a:?}\n{b:?}");
            }
        }
    }
    assert!(
        fast_answers > 100,
        "{fast_answers} mutated queries took the fast lane"
    );
    assert_eq!(agreed, fast_answers);
}
