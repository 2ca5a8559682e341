use super::Rewrite;
use super::setup::{
    AnswerRule, Edns0Action, Edns0Option, Edns0Rule, Kind, LocalData, Matcher, Mode, RewriteConfig,
    Variable,
};
use crate::chain::{Chain, End};
use crate::dns::{DNSClass, Edns, Message, RecordType, ResponseCode};
use crate::plugin::{Answer, Handler, Outcome, Parse, Plugin, Request};
use crate::testing::{Case, TestSite, assert_same, load, parse_err};
use crate::upstream::Upstream;
use corec_compiler::Dispenser;
use hickory_proto::rr::rdata::opt::{ClientSubnet, EdnsCode, EdnsOption};
use std::sync::{Arc, Mutex};

// ---------------------------------------------------------------- syntax

fn config(corefile: &str) -> RewriteConfig {
    let model = load(corefile);
    assert!(model.is_ok(), "{}", model.render_diagnostics());
    let used = model.blocks[0]
        .plugin("rewrite")
        .expect("a rewrite directive");
    let zones = model.blocks[0].zones();
    RewriteConfig::parse(&mut Dispenser::new("rewrite", &used.tokens, &zones)).expect("parses")
}

/// The one rule of `rewrite LINE`.
fn one(line: &str) -> (Mode, Kind) {
    let mut c = config(&format!(". {{\n rewrite {line}\n}}"));
    assert_eq!(c.rules.len(), 1);
    let r = c.rules.remove(0);
    (r.mode, r.kind)
}

fn matcher_text(m: &Matcher) -> String {
    match m {
        Matcher::Exact(s) => format!("exact {s}"),
        Matcher::Prefix(s) => format!("prefix {s}"),
        Matcher::Suffix(s) => format!("suffix {s}"),
        Matcher::Substring(s) => format!("substring {s}"),
        Matcher::Regex(r) => format!("regex {}", r.as_str()),
    }
}

/// A name rule as `MATCH PATTERN -> TO (auto) [answers]`.
fn name_rule(line: &str) -> (Mode, String) {
    let (mode, kind) = one(line);
    let Kind::Name(n) = kind else {
        panic!("{line}: not a name rule")
    };
    let answers: Vec<String> = n
        .answers
        .iter()
        .map(|a| match a {
            AnswerRule::Name(re, to) => format!("name {} {to}", re.as_str()),
            AnswerRule::Value(re, to) => format!("value {} {to}", re.as_str()),
        })
        .collect();
    (
        mode,
        format!(
            "{} -> {} {:?} {answers:?}",
            matcher_text(&n.matcher),
            n.to,
            n.auto
        ),
    )
}

#[test]
fn name_rules() {
    for (line, mode, want) in [
        (
            "name a.com b.com",
            Mode::Stop,
            "exact a.com. -> b.com. Remap []",
        ),
        (
            "name Exact A.COM. B.com",
            Mode::Stop,
            "exact a.com. -> b.com. Remap []",
        ),
        (
            "continue name prefix foo bar",
            Mode::Continue,
            "prefix foo. -> bar. Off []",
        ),
        (
            "STOP name suffix .example.net .example.org answer auto",
            Mode::Stop,
            "suffix .example.net. -> .example.org. ReverseSuffix []",
        ),
        (
            "name substring a.com b.com answer auto",
            Mode::Stop,
            "substring a.com. -> b.com. Remap []",
        ),
        (
            r"name regex (.*)-(us-west-1)\.example\.org {1}.service.{2}.consul",
            Mode::Stop,
            r"regex (.*)-(us-west-1)\.example\.org -> {1}.service.{2}.consul. Off []",
        ),
        (
            r"name regex (.*)\.a\.org {1}.b.org answer name (.*)\.b\.org {1}.a.org value (.*)\.b\.org {1}.a.org",
            Mode::Stop,
            r#"regex (.*)\.a\.org -> {1}.b.org. Off ["name (.*)\\.b\\.org {1}.a.org.", "value (.*)\\.b\\.org {1}.a.org."]"#,
        ),
        (
            r"name regex (.*)\.a\.org {1}.b.org answer auto answer value (.*)\.b\.org {1}.A.org",
            Mode::Stop,
            r#"regex (.*)\.a\.org -> {1}.b.org. Remap ["value (.*)\\.b\\.org {1}.a.org."]"#,
        ),
    ] {
        assert_eq!(name_rule(line), (mode, want.to_string()), "{line}");
    }
}

#[test]
fn the_block_form_is_one_rule() {
    let c = config(
        ". {\n rewrite stop {\n  name regex (.*)-(us-west-1)\\.coredns\\.rocks {1}.service.{2}.consul\n  answer name (.*)\\.service\\.(us-west-1)\\.consul {1}-{2}.coredns.rocks\n }\n rewrite continue {\n  ttl example.com 30-300\n }\n rewrite {\n  type ANY HINFO\n }\n}",
    );
    assert_eq!(c.rules.len(), 3);
    assert_eq!(c.rules[0].mode, Mode::Stop);
    let Kind::Name(n) = &c.rules[0].kind else {
        panic!()
    };
    assert_eq!(n.answers.len(), 1);
    assert_eq!(c.rules[1].mode, Mode::Continue);
    assert!(matches!(
        &c.rules[1].kind,
        Kind::Ttl { min: 30, max: 300, matcher: Matcher::Exact(s) } if s == "example.com."
    ));
    assert!(matches!(c.rules[2].kind, Kind::Type { from: 255, to: 13 }));
}

#[test]
fn type_class_ttl_rcode_and_cname_rules() {
    assert!(matches!(one("type mx a").1, Kind::Type { from: 15, to: 1 }));
    assert!(matches!(
        one("class CH IN").1,
        Kind::Class { from: 3, to: 1 }
    ));
    assert!(matches!(
        one("continue class hs in"),
        (Mode::Continue, Kind::Class { from: 4, to: 1 })
    ));
    for (line, lo, hi, m) in [
        ("ttl example.com. 30-300", 30, 300, "exact example.com."),
        ("ttl example.com -30", 0, 30, "exact example.com."),
        (
            "ttl example.com 30-",
            30,
            2_147_483_647,
            "exact example.com.",
        ),
        ("ttl example.com 30", 30, 30, "exact example.com."),
        ("ttl prefix foo 0-0", 0, 0, "prefix foo."),
        ("ttl SUFFIX Example.com 5", 5, 5, "suffix example.com."),
        (
            "ttl substring mid 4294967295",
            u32::MAX,
            u32::MAX,
            "substring mid.",
        ),
        (
            r"ttl regex (.*)\.coredns\.rocks 15",
            15,
            15,
            r"regex (.*)\.coredns\.rocks",
        ),
    ] {
        let Kind::Ttl { matcher, min, max } = one(line).1 else {
            panic!("{line}")
        };
        assert_eq!(
            (min, max, matcher_text(&matcher)),
            (lo, hi, m.to_string()),
            "{line}"
        );
    }
    for (line, from, to, m) in [
        (
            "rcode example.org SERVFAIL NOERROR",
            2,
            0,
            "exact example.org.",
        ),
        ("rcode regex (.*)\\.org 2 0", 2, 0, "regex (.*)\\.org"),
        ("rcode suffix org nxdomain refused", 3, 5, "suffix org."),
        ("rcode exact a.org 23 BADCOOKIE", 23, 23, "exact a.org."),
    ] {
        let Kind::Rcode {
            matcher,
            from: f,
            to: t,
        } = one(line).1
        else {
            panic!("{line}")
        };
        assert_eq!(
            (f, t, matcher_text(&matcher)),
            (from, to, m.to_string()),
            "{line}"
        );
    }
    for (line, m, to) in [
        (
            "cname a.example.net b.example.net",
            "exact a.example.net.",
            "b.example.net.",
        ),
        (
            "cname regex (.*).cdn.example.net. {1}.other.cdn.com.",
            "regex (.*).cdn.example.net.",
            "{1}.other.cdn.com.",
        ),
        (
            "cname suffix .CDN.net .other.net",
            "suffix .cdn.net",
            ".other.net",
        ),
    ] {
        let Kind::Cname(c) = one(line).1 else {
            panic!("{line}")
        };
        assert_eq!(
            (matcher_text(&c.matcher), c.to.as_str()),
            (m.to_string(), to),
            "{line}"
        );
    }
}

#[test]
fn edns0_rules() {
    let e = |line: &str| match one(line).1 {
        Kind::Edns0(r) => r,
        _ => panic!("{line}"),
    };
    let local = |code, data: &[u8]| Edns0Option::Local {
        code,
        data: LocalData::Bytes(data.to_vec()),
    };
    for (line, want) in [
        (
            "edns0 local set 0xffee 0x61626364",
            Edns0Rule {
                action: Edns0Action::Set,
                option: local(0xffee, b"abcd"),
                revert: false,
            },
        ),
        (
            "edns0 local APPEND 65518 abcd revert",
            Edns0Rule {
                action: Edns0Action::Append,
                option: local(0xffee, b"abcd"),
                revert: true,
            },
        ),
        (
            "edns0 local replace 0o17 {client_ip}",
            Edns0Rule {
                action: Edns0Action::Replace,
                option: Edns0Option::Local {
                    code: 15,
                    data: LocalData::Var(Variable::ClientIp),
                },
                revert: false,
            },
        ),
        (
            "edns0 local set 0xffee {some-plugin/some-label}",
            Edns0Rule {
                action: Edns0Action::Set,
                option: Edns0Option::Local {
                    code: 0xffee,
                    data: LocalData::Var(Variable::Metadata("some-plugin/some-label".into())),
                },
                revert: false,
            },
        ),
        (
            "edns0 local unset 0xffee",
            Edns0Rule {
                action: Edns0Action::Unset,
                option: local(0xffee, b""),
                revert: false,
            },
        ),
        (
            "edns0 nsid set",
            Edns0Rule {
                action: Edns0Action::Set,
                option: Edns0Option::Nsid,
                revert: false,
            },
        ),
        (
            "edns0 nsid unset",
            Edns0Rule {
                action: Edns0Action::Unset,
                option: Edns0Option::Nsid,
                revert: false,
            },
        ),
        (
            "edns0 subnet set 24 56",
            Edns0Rule {
                action: Edns0Action::Set,
                option: Edns0Option::Subnet { v4: 24, v6: 56 },
                revert: false,
            },
        ),
        (
            "edns0 subnet replace 0x20 0x80 revert",
            Edns0Rule {
                action: Edns0Action::Replace,
                option: Edns0Option::Subnet { v4: 32, v6: 128 },
                revert: true,
            },
        ),
    ] {
        assert_eq!(e(line), want, "{line}");
    }
    for (v, want) in [
        ("{qname}", Variable::QName),
        ("{qtype}", Variable::QType),
        ("{client_port}", Variable::ClientPort),
        ("{protocol}", Variable::Protocol),
        ("{server_ip}", Variable::ServerIp),
        ("{server_port}", Variable::ServerPort),
    ] {
        let r = e(&format!("edns0 local set 1 {v}"));
        assert_eq!(
            r.option,
            Edns0Option::Local {
                code: 1,
                data: LocalData::Var(want)
            }
        );
    }
}

#[test]
fn parse_errors() {
    let long = "a".repeat(10_001);
    for (line, want) in [
        ("", "plugin/rewrite: no rule type specified for rewrite"),
        ("name", "too few arguments for a name rule"),
        ("name a", "too few arguments for a name rule"),
        ("stop", "stop rule must begin with a rule type"),
        ("continue", "continue rule must begin with a rule type"),
        (
            "answer name a b",
            "response rewrites must begin with a name rule",
        ),
        ("foo a b", "invalid rule type \"foo\""),
        ("continue bar a b", "invalid rule type \"bar\""),
        ("type A", "type rules must have exactly two arguments"),
        ("type A B C", "type rules must have exactly two arguments"),
        ("class CH", "class rules must have exactly two arguments"),
        ("type A BOGUS", "invalid type \"BOGUS\""),
        ("class xx IN", "invalid class \"XX\""),
        (
            "name fuzzy a b",
            "name rule supports only exact, prefix, suffix, substring, and regex name matching, received: fuzzy",
        ),
        (
            "name substring a b c",
            "invalid arguments for substring rule",
        ),
        (
            "name regex a b foo bar",
            "exceeded the number of arguments for a non-answer rule argument for regex rule",
        ),
        (
            "name regex a b answer x y",
            "invalid type \"x\" for answer rule for regex rule",
        ),
        (
            "name regex a b x answer",
            "exceeded the number of arguments",
        ),
        (
            "name regex a b answer auto answer",
            "type missing for answer rule for regex rule",
        ),
        (
            "name regex a b answer name x",
            "name answer rule for regex rule: 2 arguments required",
        ),
        (
            "name prefix a b answer value x",
            "value answer rule for prefix rule: 2 arguments required",
        ),
        (
            "name regex a b answer auto name x y",
            "auto name answer rule cannot be combined with explicit name answer rules",
        ),
        (
            "stop name regex [bad[ bar",
            "invalid regex matching pattern: [bad[",
        ),
        (
            "name regex (a) {1}{2}",
            "the rewrite regex pattern ({1}{2}) uses more subexpressions than its corresponding matching regex pattern ((a))",
        ),
        ("name regex a {0}", "uses more subexpressions"),
        (
            "name regex a b answer name [x y",
            "name answer rule for regex rule: invalid regex matching pattern: [x",
        ),
        ("edns0 local", "too few arguments for an EDNS0 rule"),
        ("edns0 local frob 1 2", "invalid action: \"frob\""),
        (
            "edns0 local set 0xffee",
            "EDNS0 local rules require three or four args",
        ),
        (
            "edns0 local set 0xffee a b",
            "EDNS0 local rules require three or four args",
        ),
        (
            "edns0 local set zz abc",
            "strconv.ParseUint: parsing \"zz\": invalid syntax",
        ),
        (
            "edns0 local set 0x10000 a",
            "strconv.ParseUint: parsing \"0x10000\": value out of range",
        ),
        (
            "edns0 local set 1 0xzz",
            "encoding/hex: invalid byte: U+007A 'z'",
        ),
        (
            "edns0 local set 1 0xabc",
            "encoding/hex: odd length hex string",
        ),
        (
            "edns0 local set 1 {bogus}",
            "unsupported variable name \"{bogus}\"",
        ),
        (
            "edns0 local set 1 {/x}",
            "unsupported variable name \"{/x}\"",
        ),
        (
            "edns0 nsid set x",
            "EDNS0 NSID rules can accept no more than one arg",
        ),
        (
            "edns0 subnet set 24",
            "EDNS0 subnet rules require three or four args",
        ),
        ("edns0 subnet set 33 56", "invalid IPv4 bit mask length 33"),
        (
            "edns0 subnet set 24 129",
            "invalid IPv6 bit mask length 129",
        ),
        (
            "edns0 local unset",
            "local unset action requires exactly two arguments",
        ),
        (
            "edns0 local unset 1 revert",
            "local unset action requires exactly two arguments",
        ),
        (
            "edns0 nsid unset x",
            "nsid unset action requires exactly one argument",
        ),
        (
            "edns0 subnet unset 1",
            "subnet unset action requires exactly one argument",
        ),
        ("edns0 foo set 1 2", "invalid rule type \"foo\""),
        ("edns0 foo unset", "invalid rule type \"foo\""),
        ("ttl a", "too few (1) arguments for a ttl rule"),
        ("ttl a b", "invalid TTL 'b' for a ttl rule"),
        ("ttl a 30-20", "invalid TTL '30-20' for a ttl rule"),
        ("ttl a -", "invalid TTL '-' for a ttl rule"),
        ("ttl a 1-2-3", "invalid TTL '1-2-3' for a ttl rule"),
        ("ttl a +5", "invalid TTL '+5' for a ttl rule"),
        (
            "ttl a 4294967296",
            "invalid TTL '4294967296' for a ttl rule",
        ),
        ("ttl regex [x 5", "invalid regex pattern in a ttl rule: [x"),
        (
            "ttl fuzzy a 5",
            "ttl rule supports only exact, prefix, suffix, substring, and regex name matching",
        ),
        ("ttl regex a 5 6", "too many (4) arguments for a ttl rule"),
        ("rcode a b", "too few (2) arguments for a rcode rule"),
        (
            "rcode a FOO NOERROR",
            "invalid matching RCODE 'FOO' for a rcode rule",
        ),
        (
            "rcode a 2 24",
            "invalid replacement RCODE '24' for a rcode rule",
        ),
        (
            "rcode regex [x 2 0",
            "invalid regex pattern in a rcode rule: [x",
        ),
        (
            "rcode fuzzy a 2 0",
            "rcode rule supports only exact, prefix, suffix, substring, and regex name matching",
        ),
        (
            "rcode exact a 2 0 x",
            "too many (5) arguments for a rcode rule",
        ),
        ("cname a", "too few (1) arguments for a cname rule"),
        ("cname fuzzy a b", "unknown cname rewrite type: fuzzy"),
        ("cname regex [x b", "invalid cname rewrite regex pattern"),
        (
            "cname exact a b c",
            "too many (4) arguments for a cname rule",
        ),
    ] {
        let corefile = format!(". {{\n rewrite {line}\n}}");
        let got = parse_err(&corefile);
        assert!(got.contains(want), "{corefile}\n--- got:\n{got}");
    }
    for (line, want) in [
        (
            format!("name regex {long} x"),
            "regex pattern too long: 10001 > 10000",
        ),
        (
            format!("ttl regex {long} 5"),
            "regex pattern too long in a ttl rule: 10001 > 10000",
        ),
        (
            format!("rcode regex {long} 2 0"),
            "regex pattern too long in a rcode rule: 10001 > 10000",
        ),
        (
            format!("cname regex {long} x"),
            "regex pattern too long in a cname rule: 10001 > 10000",
        ),
    ] {
        let got = parse_err(&format!(". {{\n rewrite {line}\n}}"));
        assert!(got.contains(want), "{want}\n--- got:\n{got}");
    }
    let got = parse_err(". {\n rewrite name a b {\n  answer auto\n }\n}");
    assert!(got.contains("cannot also have a block"), "{got}");
    let got = parse_err(
        ". {\n rewrite stop {\n  name regex foo bar\n  answer name bar foo\n  name baz\n }\n}",
    );
    assert!(got.contains("2 arguments required"), "{got}");
    let got = parse_err(". {\n rewrite stop {\n  answer name bar foo\n  name regex foo bar\n }\n}");
    assert!(got.contains("must begin with a name rule"), "{got}");
}

// ---------------------------------------------------------------- serving

const ZONE: &str = "$ORIGIN example.org.
@         3600  IN SOA   ns hostmaster 1 7200 3600 1209600 300
@         3600  IN NS    ns
ns        3600  IN A     192.0.2.53
www       3600  IN A     192.0.2.10
www       3600  IN AAAA  2001:db8::10
mx        3600  IN MX    10 mail
mail      3600  IN A     192.0.2.25
alias     3600  IN CNAME www
low       5     IN A     192.0.2.5
high      86400 IN A     192.0.2.6
cdn       3600  IN CNAME app.cdn
app.cdn   3600  IN A     192.0.2.30
app.other 3600  IN A     192.0.2.31
_sip._tcp 3600  IN SRV   10 5 5060 mail
";

/// A site serving example.org, .net and .com with `rewrite` lines in front
/// of a file zone for example.org; keep the dir alive.
fn site(rewrite: &str) -> (tempfile::TempDir, TestSite) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.example.org");
    std::fs::write(&path, ZONE).unwrap();
    let t = TestSite::new(&format!(
        "example.org example.net example.com {{\n{rewrite}\n file {} example.org\n chaos\n}}",
        path.display()
    ));
    (dir, t)
}

fn question(m: &Message) -> String {
    let q = &m.queries[0];
    format!("{} {} {}", q.name(), q.query_class(), q.query_type())
}

#[tokio::test]
async fn exact_name_rewrites_map_the_answer_back() {
    let (_d, t) = site(" rewrite name www.example.net www.example.org");
    let r = t.query(Case::new("www.example.net.", RecordType::A)).await;
    assert_eq!(r.rcode(), ResponseCode::NoError);
    assert_eq!(question(r.message()), "www.example.net. IN A");
    assert_eq!(r.answers(), ["www.example.net. 3600 IN A 192.0.2.10"]);
    // The client's spelling of the question is kept.
    let r = t
        .query(Case::new("WWW.Example.NET.", RecordType::AAAA))
        .await;
    assert_eq!(question(r.message()), "WWW.Example.NET. IN AAAA");
    assert_eq!(r.answers(), ["www.example.net. 3600 IN AAAA 2001:db8::10"]);
    // Other names pass untouched.
    let r = t.query(Case::new("www.example.org.", RecordType::A)).await;
    assert_eq!(r.answers(), ["www.example.org. 3600 IN A 192.0.2.10"]);
}

#[tokio::test]
async fn suffix_rewrites_map_back_only_with_answer_auto() {
    let (_d, t) = site(" rewrite name suffix .example.net. .example.org.");
    let r = t.query(Case::new("www.example.net.", RecordType::A)).await;
    assert_eq!(question(r.message()), "www.example.net. IN A");
    assert_eq!(r.answers(), ["www.example.org. 3600 IN A 192.0.2.10"]);

    let (_d, t) = site(" rewrite name suffix .example.net .example.org answer auto");
    let r = t
        .query(Case::new("alias.example.net.", RecordType::A))
        .await;
    assert_eq!(question(r.message()), "alias.example.net. IN A");
    // Owner names and the CNAME target are both mapped back.
    assert_eq!(
        r.answers(),
        [
            "alias.example.net. 3600 IN CNAME www.example.net.",
            "www.example.net. 3600 IN A 192.0.2.10"
        ]
    );
    let r = t.query(Case::new("nope.example.net.", RecordType::A)).await;
    assert_eq!(r.rcode(), ResponseCode::NXDomain);
    let soa = r.message().authorities[0].to_string();
    assert!(
        soa.starts_with("example.org. "),
        "the apex is not under the suffix: {soa}"
    );
}

#[tokio::test]
async fn prefix_and_substring_rewrites() {
    let (_d, t) = site(" rewrite name prefix web www answer auto");
    let r = t.query(Case::new("web.example.org.", RecordType::A)).await;
    assert_eq!(r.answers(), ["web.example.org. 3600 IN A 192.0.2.10"]);
    // A prefix is a whole label: `webx` does not start with `web.`.
    let r = t.query(Case::new("webx.example.org.", RecordType::A)).await;
    assert_eq!(r.rcode(), ResponseCode::NXDomain);

    let (_d, t) = site(" rewrite name substring example.com example.org answer auto");
    let r = t.query(Case::new("mail.example.com.", RecordType::A)).await;
    assert_eq!(question(r.message()), "mail.example.com. IN A");
    assert_eq!(r.answers(), ["mail.example.com. 3600 IN A 192.0.2.25"]);
}

#[tokio::test]
async fn regex_rewrites_with_groups_and_explicit_answer_rules() {
    let (_d, t) = site(
        " rewrite stop {\n  name regex (.*)-(us)\\.example\\.net {1}.example.org\n  answer name (.*)\\.example\\.org {1}-us.example.net\n }",
    );
    let r = t
        .query(Case::new("www-us.example.net.", RecordType::A))
        .await;
    assert_eq!(question(r.message()), "www-us.example.net. IN A");
    assert_eq!(r.answers(), ["www-us.example.net. 3600 IN A 192.0.2.10"]);

    // `answer value` rewrites what records point to.
    let (_d, t) = site(
        " rewrite stop {\n  name exact mx.example.net mx.example.org\n  answer value (.*)\\.example\\.org {1}.example.net\n }",
    );
    let r = t.query(Case::new("mx.example.net.", RecordType::MX)).await;
    assert_eq!(
        r.answers(),
        ["mx.example.net. 3600 IN MX 10 mail.example.net."]
    );
    let (_d, t) = site(
        " rewrite name regex _sip\\._tcp\\.example\\.com _sip._tcp.example.org answer auto answer value mail\\.example\\.org mail.example.com",
    );
    let r = t
        .query(Case::new("_sip._tcp.example.com.", RecordType::SRV))
        .await;
    assert_eq!(
        r.answers(),
        ["_sip._tcp.example.com. 3600 IN SRV 10 5 5060 mail.example.com."]
    );
}

#[tokio::test]
async fn continue_chains_rules_and_stop_ends_them() {
    let rules = " rewrite continue name suffix .example.com. .example.net. answer auto\n rewrite name suffix .example.net. .example.org. answer auto";
    let (_d, t) = site(rules);
    let r = t.query(Case::new("www.example.com.", RecordType::A)).await;
    assert_eq!(question(r.message()), "www.example.com. IN A");
    assert_eq!(r.answers(), ["www.example.com. 3600 IN A 192.0.2.10"]);

    let (_d, t) = site(&rules.replacen("continue ", "", 1));
    let r = t.query(Case::new("www.example.com.", RecordType::A)).await;
    // Stopped at example.net, which no plugin serves (file: REFUSED).
    assert_eq!(r.rcode(), ResponseCode::Refused);
    assert_eq!(question(r.message()), "www.example.com. IN A");
}

#[tokio::test]
async fn type_and_class_rewrites() {
    let (_d, t) = site(" rewrite type TXT A");
    let r = t
        .query(Case::new("www.example.org.", RecordType::TXT))
        .await;
    assert_eq!(question(r.message()), "www.example.org. IN TXT");
    assert_eq!(r.answers(), ["www.example.org. 3600 IN A 192.0.2.10"]);

    // CH reaches the chain because chaos is loaded; IN answers it.
    let (_d, t) = site(" rewrite class CH IN");
    let mut case = Case::new("www.example.org.", RecordType::A);
    case.qclass = DNSClass::CH;
    let r = t.query(case).await;
    assert_eq!(question(r.message()), "www.example.org. CH A");
    assert_eq!(r.answers(), ["www.example.org. 3600 IN A 192.0.2.10"]);
}

#[tokio::test]
async fn ttl_rewrites_clamp_every_section() {
    let (_d, t) = site(" rewrite ttl low.example.org 30-300");
    let r = t.query(Case::new("low.example.org.", RecordType::A)).await;
    assert_eq!(r.answers(), ["low.example.org. 30 IN A 192.0.2.5"]);
    let (_d, t) = site(" rewrite ttl high.example.org -3600");
    let r = t.query(Case::new("high.example.org.", RecordType::A)).await;
    assert_eq!(r.answers(), ["high.example.org. 3600 IN A 192.0.2.6"]);
    let (_d, t) = site(" rewrite ttl regex .*\\.example\\.org 100-");
    let r = t.query(Case::new("www.example.org.", RecordType::A)).await;
    assert_eq!(
        r.answers(),
        ["www.example.org. 3600 IN A 192.0.2.10"],
        "inside the range"
    );
    let (_d, t) = site(" rewrite ttl suffix example.org 10");
    let r = t.query(Case::new("nope.example.org.", RecordType::A)).await;
    assert_eq!(r.rcode(), ResponseCode::NXDomain);
    assert!(r.message().authorities.iter().all(|rr| rr.ttl == 10));
}

#[tokio::test]
async fn rcode_rewrites_written_and_unwritten_replies() {
    let (_d, t) = site(" rewrite rcode nope.example.org NXDOMAIN NOERROR");
    let r = t.query(Case::new("nope.example.org.", RecordType::A)).await;
    assert_eq!(r.rcode(), ResponseCode::NoError);
    assert!(
        !r.message().authorities.is_empty(),
        "the rest of the reply stays"
    );
    // An unwritten rcode (file refuses names outside its zone) is rewritten too.
    let (_d, t) = site(" rewrite rcode www.example.net REFUSED NXDOMAIN");
    let r = t.query(Case::new("www.example.net.", RecordType::A)).await;
    assert_eq!(r.rcode(), ResponseCode::NXDomain);
    assert_eq!(question(r.message()), "www.example.net. IN A");
    // So is a failure, which stays a failure for the log.
    let cfg = config(". {\n rewrite rcode example.org SERVFAIL REFUSED\n}");
    let chain = Chain::new(Rewrite::new(cfg, Upstream::default()), End);
    let mut req = Case::new("example.org.", RecordType::A).request();
    let e = chain
        .handle(&mut req)
        .await
        .expect_err("nothing after rewrite");
    assert_eq!(e.rcode, ResponseCode::Refused);
    assert_eq!(e.to_string(), "plugin/rewrite: no next plugin found");
}

#[tokio::test]
async fn an_invalid_name_after_rewrite_is_servfail_for_the_original_question() {
    let (_d, t) = site(" rewrite name regex (.*)\\.example\\.org {1}..example.org");
    let r = t.query(Case::new("www.example.org.", RecordType::A)).await;
    assert_eq!(r.rcode(), ResponseCode::ServFail);
    assert_eq!(question(r.message()), "www.example.org. IN A");
    let e = r.error.expect("an error");
    assert_eq!(
        e.to_string(),
        "plugin/rewrite: invalid name after rewrite: www..example.org."
    );
    let long = "x".repeat(64);
    let (_d, t) = site(&format!(
        " rewrite name regex (.*)\\.example\\.org {long}.example.org"
    ));
    let r = t.query(Case::new("www.example.org.", RecordType::A)).await;
    assert_eq!(r.rcode(), ResponseCode::ServFail);
}

#[tokio::test]
async fn cname_rules_resolve_the_new_target() {
    let (_d, t) = site(" rewrite cname app.cdn.example.org app.other.example.org");
    let r = t.query(Case::new("cdn.example.org.", RecordType::A)).await;
    assert_eq!(
        r.answers(),
        [
            "app.other.example.org. 3600 IN A 192.0.2.31",
            "cdn.example.org. 3600 IN CNAME app.other.example.org."
        ]
    );
    let (_d, t) = site(" rewrite cname regex (.*)\\.cdn\\.example\\.org\\. {1}.other.example.org.");
    let r = t.query(Case::new("cdn.example.org.", RecordType::A)).await;
    assert_eq!(
        r.answers(),
        [
            "app.other.example.org. 3600 IN A 192.0.2.31",
            "cdn.example.org. 3600 IN CNAME app.other.example.org."
        ]
    );
    // No matching CNAME: the reply is untouched.
    let r = t
        .query(Case::new("alias.example.org.", RecordType::A))
        .await;
    assert_eq!(r.answers().len(), 2);
    // A cname rule always applies, so with `stop` later rules never do.
    let (_d, t) = site(
        " rewrite cname app.cdn.example.org app.other.example.org\n rewrite name www.example.net www.example.org",
    );
    let r = t.query(Case::new("www.example.net.", RecordType::A)).await;
    assert_eq!(
        r.rcode(),
        ResponseCode::Refused,
        "not rewritten, so not served"
    );
}

// ---------------------------------------------------------------- EDNS0

/// What the plugin after *rewrite* saw.
#[derive(Debug, Default, Clone)]
struct Seen {
    question: String,
    edns: Option<Edns>,
}

/// A plugin that records the query it gets and answers an empty NOERROR.
#[derive(Debug, Default)]
struct Probe(Arc<Mutex<Option<Seen>>>);

impl Plugin for Probe {
    const NAME: &'static str = "probe";

    async fn serve<'a, N: Handler>(&'a self, req: &'a mut Request, _next: &'a N) -> Outcome {
        *self.0.lock().unwrap() = Some(Seen {
            question: format!("{} {}", req.name(), req.qtype()),
            edns: req.message.edns.clone(),
        });
        Ok(Answer::reply(Self::NAME, req.reply()))
    }
}

/// Runs `case` through `rewrite LINES` and a probe: what the probe saw,
/// and the request afterwards.
async fn probe(lines: &str, case: Case) -> (Option<Seen>, Request, Outcome) {
    probe_request(lines, case.request()).await
}

/// [`probe`] with a request made by the caller.
async fn probe_request(lines: &str, mut req: Request) -> (Option<Seen>, Request, Outcome) {
    let body: String = lines.lines().map(|l| format!(" rewrite {l}\n")).collect();
    let cfg = config(&format!(". {{\n{body}}}"));
    let seen = Arc::new(Mutex::new(None));
    let chain = Chain::new(
        Rewrite::new(cfg, Upstream::default()),
        Chain::new(Probe(seen.clone()), End),
    );
    let out = chain.handle(&mut req).await;
    let seen = seen.lock().unwrap().clone();
    (seen, req, out)
}

fn option(seen: &Seen, code: u16) -> Option<EdnsOption> {
    seen.edns.as_ref()?.option(EdnsCode::from(code)).cloned()
}

fn local(code: u16, data: &[u8]) -> Option<EdnsOption> {
    Some(EdnsOption::Unknown(code, data.to_vec()))
}

#[tokio::test]
async fn edns0_local_options_reach_the_next_plugin() {
    let case = || Case::new("Example.org.", RecordType::A);
    let (seen, req, _) = probe("edns0 local set 0xffee 0x61626364", case()).await;
    let seen = seen.unwrap();
    assert_eq!(option(&seen, 0xffee), local(0xffee, b"abcd"));
    assert_eq!(
        seen.edns.as_ref().unwrap().max_payload(),
        4096,
        "an OPT is added"
    );
    assert!(req.message.edns.is_none(), "the client's query is restored");

    for (var, want) in [
        ("{qname}", b"Example.org.".to_vec()),
        ("{qtype}", vec![0, 1]),
        ("{client_ip}", vec![127, 0, 0, 1]),
        ("{client_port}", 5353u16.to_be_bytes().to_vec()),
        ("{protocol}", b"udp".to_vec()),
        ("{server_ip}", vec![127, 0, 0, 1]),
        ("{server_port}", vec![0, 53]),
    ] {
        let (seen, _, _) = probe(&format!("edns0 local set 0xffee {var}"), case()).await;
        assert_eq!(
            option(&seen.unwrap(), 0xffee),
            local(0xffee, &want),
            "{var}"
        );
    }
    let (seen, _, _) = probe(
        "edns0 local set 1 {client_ip}",
        case().from("[2001:db8::1]:53"),
    )
    .await;
    let mut v6 = vec![0x20, 0x01, 0x0d, 0xb8];
    v6.extend([0; 11]);
    v6.push(1);
    assert_eq!(option(&seen.unwrap(), 1), local(1, &v6));
    // {qname} is the name as rewritten by an earlier rule.
    let (seen, _, _) = probe(
        "continue name example.org example.net\nedns0 local set 1 {qname}",
        case(),
    )
    .await;
    let seen = seen.unwrap();
    assert_eq!(seen.question, "example.net. A");
    assert_eq!(option(&seen, 1), local(1, b"example.net."));
}

#[tokio::test]
async fn edns0_actions() {
    /// Runs with the query carrying `opts`.
    async fn run(line: &str, opts: Vec<EdnsOption>) -> Seen {
        let body = format!(" rewrite {line}\n");
        let cfg = config(&format!(". {{\n{body}}}"));
        let seen = Arc::new(Mutex::new(None));
        let chain = Chain::new(
            Rewrite::new(cfg, Upstream::default()),
            Chain::new(Probe(seen.clone()), End),
        );
        let mut req = Case::new("example.org.", RecordType::A)
            .edns(1232)
            .request();
        for o in opts {
            req.message.edns.as_mut().unwrap().options_mut().insert(o);
        }
        let before = req.message.edns.clone();
        chain.handle(&mut req).await.unwrap();
        assert_eq!(req.message.edns, before, "restored");
        seen.lock().unwrap().clone().unwrap()
    }
    let old = || vec![EdnsOption::Unknown(0xffee, b"old".to_vec())];
    let all = |s: &Seen| s.edns.as_ref().unwrap().options().options.clone();
    // set replaces or adds; replace only replaces; append only adds.
    assert_eq!(
        option(&run("edns0 local set 0xffee new", old()).await, 0xffee),
        local(0xffee, b"new")
    );
    assert_eq!(
        option(&run("edns0 local set 0xffee new", vec![]).await, 0xffee),
        local(0xffee, b"new")
    );
    assert_eq!(
        option(&run("edns0 local replace 0xffee new", old()).await, 0xffee),
        local(0xffee, b"new")
    );
    assert_eq!(
        option(&run("edns0 local replace 0xffee new", vec![]).await, 0xffee),
        None
    );
    assert_eq!(
        all(&run("edns0 local append 0xffee new", old()).await).len(),
        1
    );
    assert_eq!(
        option(&run("edns0 local append 0xffee new", old()).await, 0xffee),
        local(0xffee, b"old")
    );
    assert_eq!(
        option(&run("edns0 local append 0xffee new", vec![]).await, 0xffee),
        local(0xffee, b"new")
    );
    assert_eq!(
        option(&run("edns0 local unset 0xffee", old()).await, 0xffee),
        None
    );
    assert_eq!(
        all(&run("edns0 local set 0xffee new revert", old()).await).len(),
        1
    );
    // NSID: empty.
    let s = run("edns0 nsid set", vec![]).await;
    assert!(matches!(option(&s, 3), Some(EdnsOption::NSID(p)) if p.as_ref().is_empty()));
    let s = run("edns0 nsid unset", vec![]).await;
    assert_eq!(option(&s, 3), None);
    // Subnet from the client's address.
    let s = run("edns0 subnet set 24 56", vec![]).await;
    assert_eq!(
        option(&s, 8),
        Some(EdnsOption::Subnet(ClientSubnet::new(
            "127.0.0.0".parse().unwrap(),
            24,
            0
        )))
    );
    let s = run(
        "edns0 subnet append 24 56",
        vec![EdnsOption::Subnet(ClientSubnet::new(
            "10.0.0.0".parse().unwrap(),
            8,
            0,
        ))],
    )
    .await;
    assert_eq!(
        option(&s, 8),
        Some(EdnsOption::Subnet(ClientSubnet::new(
            "10.0.0.0".parse().unwrap(),
            8,
            0
        ))),
        "append keeps an existing subnet"
    );
    let s = run(
        "edns0 subnet unset",
        vec![EdnsOption::Subnet(ClientSubnet::new(
            "10.0.0.0".parse().unwrap(),
            8,
            0,
        ))],
    )
    .await;
    assert_eq!(option(&s, 8), None);
    // Without *metadata* a label has no value: the rule does not apply.
    let s = run("edns0 local set 0xffee {a/b}", vec![]).await;
    assert_eq!(option(&s, 0xffee), None);
}

#[tokio::test]
async fn edns0_local_inserts_a_metadata_value() {
    let rule = "edns0 local set 0xffee {view/name}";
    let request = |value: Option<&'static str>| {
        let mut req = Case::new("example.org.", RecordType::A).request();
        let mut meta = crate::plugin::Meta::default();
        if let Some(v) = value {
            meta.set("view/name", v);
        }
        req.meta = Some(meta);
        req
    };
    let (seen, _, _) = probe_request(rule, request(Some("inside"))).await;
    assert_eq!(option(&seen.unwrap(), 0xffee), local(0xffee, b"inside"));
    // Unset or empty: nothing to insert, as in CoreDNS.
    for value in [None, Some("")] {
        let (seen, _, _) = probe_request(rule, request(value)).await;
        assert_eq!(option(&seen.unwrap(), 0xffee), None, "{value:?}");
    }
}

#[tokio::test]
async fn edns0_subnet_for_ipv6_clients() {
    let (seen, _, _) = probe(
        "edns0 subnet set 24 56",
        Case::new("example.org.", RecordType::A).from("[2001:db8:aaaa:bbbb::1]:53"),
    )
    .await;
    assert_eq!(
        option(&seen.unwrap(), 8),
        Some(EdnsOption::Subnet(ClientSubnet::new(
            "2001:db8:aaaa:bb00::".parse().unwrap(),
            56,
            0
        )))
    );
}

#[tokio::test]
async fn the_request_is_restored_and_the_reply_has_no_query_options() {
    let (seen, req, out) = probe(
        "continue name example.org example.net\ncontinue type A AAAA\nedns0 local set 0xffee abcd",
        Case::new("Example.ORG.", RecordType::A),
    )
    .await;
    assert_eq!(seen.unwrap().question, "example.net. AAAA");
    assert_eq!(req.message.queries[0].name().to_ascii(), "Example.ORG.");
    assert_eq!(req.qtype(), RecordType::A);
    assert_eq!(
        &*req.name(),
        "example.org.",
        "the cached name is the original's"
    );
    assert!(req.message.edns.is_none());
    let Ok(Answer::Reply(r)) = out else {
        panic!("{out:?}")
    };
    assert_eq!(r.message.queries[0].name().to_ascii(), "Example.ORG.");
    assert_eq!(r.message.queries[0].query_type(), RecordType::A);
    assert!(r.message.edns.is_none());
}

// ---------------------------------------------------------------- fast lane

#[tokio::test]
async fn queries_no_rule_applies_to_keep_the_fast_lane() {
    let (_d, t) = site(
        " rewrite name www.example.net www.example.org\n rewrite ttl regex ^low\\. 60\n rewrite type TXT A",
    );
    for (case, fast) in [
        (Case::new("www.example.org.", RecordType::A), true),
        (
            Case::new("WWW.example.ORG.", RecordType::AAAA).edns(1232),
            true,
        ),
        (Case::new("mail.example.org.", RecordType::A).tcp(), true),
        (Case::new("www.example.net.", RecordType::A), false),
        (Case::new("low.example.org.", RecordType::A), false),
        (Case::new("www.example.org.", RecordType::TXT), false),
    ] {
        let (full, got) = t.both_lanes(&case).await;
        assert_eq!(got.is_some(), fast, "{case:?}");
        if let Some(got) = got {
            assert_same(&full, &got, &format!("{case:?}"));
        }
    }
    // EDNS0 and cname rules need the full path for every query.
    for rule in [
        " rewrite edns0 nsid set",
        " rewrite cname a.example.org b.example.org",
    ] {
        let (_d, t) = site(rule);
        let (_, got) = t
            .both_lanes(&Case::new("www.example.org.", RecordType::A))
            .await;
        assert!(got.is_none(), "{rule}");
    }
}
