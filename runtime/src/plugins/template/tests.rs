use super::rr;
use super::setup::{ANY, TemplateConfig};
use super::tmpl::{Data, MessageData, QuestionData, Template};
use crate::dns::{DNSClass, RData, RecordType, ResponseCode};
use crate::plugin::Parse;
use crate::testing::{Case, TestReply, TestSite, load, parse_err};
use corec_compiler::Dispenser;
use std::collections::BTreeMap;

// ---------------------------------------------------------------- syntax

/// The parsed configuration of the `template`s of the first block.
fn config(corefile: &str) -> TemplateConfig {
    let model = load(corefile);
    assert!(model.is_ok(), "{}", model.render_diagnostics());
    let block = &model.blocks[0];
    let used = block.plugin("template").expect("a template directive");
    let zones = block.zones();
    let mut d = Dispenser::new("template", &used.tokens, &zones);
    TemplateConfig::parse(&mut d).expect("parses")
}

#[test]
fn defaults_and_options() {
    let c =
        config("example.org {\n template IN A {\n  answer \"{{ .Name }} 60 IN A 10.0.0.1\"\n }\n}");
    assert_eq!(c.templates.len(), 1);
    let t = &c.templates[0];
    assert_eq!((t.class, t.qtype), (1, 1));
    assert_eq!(t.zones, ["example.org."]);
    assert_eq!(t.regexes.len(), 1);
    assert_eq!(t.regexes[0].as_str(), ".*");
    assert_eq!(t.answer.len(), 1);
    assert_eq!(t.rcode, 0);
    assert!(t.fallthrough.is_none());
    assert!(t.ederror.is_none());

    let c = config(
        ". {\n template ANY ANY Example.ORG 10.0.0.0/8 {\n  match ^a[.] ^b[.]\n  match ^c\n  answer \"{{ .Name }} 60 IN A 10.0.0.1\" \"{{ .Name }} 60 IN A 10.0.0.2\"\n  additional \"x. 60 IN A 10.0.0.3\"\n  authority \"example.org. 60 IN NS ns.example.org.\"\n  rcode NXDOMAIN\n  ederror 21 \"Blocked for a reason\"\n  fallthrough sub.example.org\n  upstream 8.8.8.8\n }\n template CH TXT {\n  rcode REFUSED\n  fallthrough\n }\n}",
    );
    assert_eq!(c.templates.len(), 2);
    let t = &c.templates[0];
    assert_eq!((t.class, t.qtype), (ANY, ANY));
    assert_eq!(t.zones, ["example.org.", "10.in-addr.arpa."]);
    let regexes: Vec<&str> = t.regexes.iter().map(|r| r.as_str()).collect();
    assert_eq!(regexes, ["^a[.]", "^b[.]", "^c"]);
    assert_eq!(t.answer.len(), 2);
    assert_eq!(t.answer[1].text, "{{ .Name }} 60 IN A 10.0.0.2");
    assert_eq!((t.additional.len(), t.authority.len()), (1, 1));
    assert_eq!(t.rcode, 3);
    assert_eq!(t.ederror, Some((21, "Blocked for a reason".to_string())));
    assert_eq!(
        t.fallthrough.as_deref(),
        Some(&["sub.example.org.".to_string()][..])
    );
    let t = &c.templates[1];
    assert_eq!((t.class, t.qtype, t.rcode), (3, 16, 5));
    assert_eq!(t.zones, ["."]);
    assert_eq!(t.fallthrough.as_deref(), Some(&[".".to_string()][..]));
}

#[test]
fn valid_snippets() {
    for body in [
        "template IN A {\n rcode NXDOMAIN\n}",
        "template IN ANY {\n}",
        "template HS NSAP-PTR {\n rcode NOTIMP\n}",
        "template IN TXT {\n answer \"{{ .Name }} 60 IN TXT \\\"{{ .Remote }}\\\"\"\n}",
        "template IN A {\n match \"^ip-(?P<a>[0-9]*)-(?P<b>[0-9]*)-(?P<c>[0-9]*)-(?P<d>[0-9]*)[.]example[.]$\"\n answer \"{{ .Name }} 60 IN A {{ .Group.a }}.{{ .Group.b }}.{{ .Group.c }}.{{ .Group.d }}\"\n}",
        "template IN A {\n match \"^ip0a(?P<b>[a-f0-9]{2})[.]\"\n answer \"{{ .Name }} 60 IN A 10.{{ parseInt .Group.b 16 8 }}.0.1\"\n}",
        "template IN SOA {\n answer \"{{ .Zone }} 3600 IN SOA ns1.{{ .Zone }} admin.{{ .Zone }} (1 60 120 86400 3600)\"\n}",
        "template IN MX {\n answer \"{{ .Name }} 60 IN MX 10 mail.{{ .Zone }}\"\n additional \"mail.{{ .Zone }} 60 IN A 10.0.0.1\"\n}",
        "template IN A {\n answer \"{{ if eq .Type `A` }}{{ .Name }} 60 IN A 10.0.0.1{{ else }}{{ .Name }} 60 IN AAAA ::1{{ end }}\"\n}",
        "template IN A {\n answer \"{{/* a comment */}}{{ $n := .Name }}{{ $n }} 60 IN A 10.0.0.1\"\n}",
        "template IN A {\n answer \"{{ .Name }} 60 IN A 10.0.0.1 ; {{ .Meta \\\"view/name\\\" }}\"\n}",
        "template IN ANY {\n answer \"{{ if false }}never{{ end }}\"\n}",
    ] {
        let corefile = format!("example.org {{\n{body}\n}}");
        let c = config(&corefile);
        assert_eq!(c.templates.len(), 1, "{corefile}");
    }
}

#[test]
fn parse_errors() {
    let block = |body: &str| format!("example.org {{\n template IN A {{\n{body}\n }}\n}}");
    let long = "a".repeat(10_001);
    for (corefile, want) in [
        (
            "example.org {\n template\n}".to_string(),
            "Wrong argument count",
        ),
        (
            "example.org {\n template IN\n}".to_string(),
            "Wrong argument count",
        ),
        (
            "example.org {\n template XX A\n}".to_string(),
            "invalid query class XX",
        ),
        (
            "example.org {\n template in A\n}".to_string(),
            "did you mean 'IN'?",
        ),
        (
            "example.org {\n template IN AA\n}".to_string(),
            "invalid RR type AA",
        ),
        (
            "example.org {\n template IN aaaa\n}".to_string(),
            "did you mean 'AAAA'?",
        ),
        (block("  match"), "Wrong argument count"),
        (block("  match ^(a"), "could not parse regex: ^(a"),
        (
            block(&format!("  match {long}")),
            "regex pattern too long: 10001 > 10000",
        ),
        (block("  answer"), "Wrong argument count"),
        (
            block("  anwser \"x. A 1.2.3.4\""),
            "unknown property 'anwser'",
        ),
        (block("  anwser \"x. A 1.2.3.4\""), "did you mean 'answer'?"),
        (block("  fallthruogh"), "did you mean 'fallthrough'?"),
        (block("  rcode"), "Wrong argument count"),
        (block("  rcode BOGUS"), "unknown rcode BOGUS"),
        (block("  rcode nxdomain"), "did you mean 'NXDOMAIN'?"),
        (block("  rcode NXDOMAIN now"), "unexpected argument 'now'"),
        (block("  ederror"), "Wrong argument count"),
        (
            block("  ederror abc"),
            "error parsing extended DNS error code abc",
        ),
        (
            block("  ederror 70000"),
            "error parsing extended DNS error code 70000",
        ),
        (
            block("  ederror 1 a b"),
            "ederror takes a code and an optional reason",
        ),
        (
            block("  var x 1"),
            "'var' (expr-lang expressions) is not supported",
        ),
        (
            block("  expr true"),
            "'expr' (expr-lang expressions) is not supported",
        ),
        (
            block("  answer \"{{ .Name \""),
            "could not compile template: unclosed action",
        ),
        (
            block("  answer \"{{ .Nmae }} A 1.2.3.4\""),
            "can't evaluate field Nmae",
        ),
        (
            block("  answer \"{{ foo }}\""),
            "function \"foo\" not defined",
        ),
        (block("  answer \"{{ $x }}\""), "undefined variable \"$x\""),
        (
            block("  answer \"{{ if .Name }}x\""),
            "{{if}} has no {{end}}",
        ),
        (block("  answer \"{{ end }}\""), "unexpected {{end}}"),
        (
            block("  answer \"{{ range .Match }}{{ end }}\""),
            "{{range}} is not supported",
        ),
        (
            block("  answer \"{{ parseInt 1 }}\""),
            "wrong number of args for parseInt: want 3 got 1",
        ),
        (
            block("  answer \"{{ .Meta }}\""),
            "wrong number of args for Meta: want 1 got 0",
        ),
        (
            block("  answer \"{{ .Group.a.b }}\""),
            "can't evaluate field b in type string",
        ),
        (
            block("  answer \"{{ \\\"x\\\" 1 }}\""),
            "can't give argument to non-function",
        ),
        (
            block("  answer \"{{ .Name }} 60 IN A {{ .Group.x }}\""),
            "renders \"example.org. 60 IN A <no value>\"",
        ),
        (
            block("  answer \"{{ .Name }} 60 IN BOGUS x\""),
            "unknown type 'BOGUS'",
        ),
        (
            block("  match ^(a)$\n  answer \"{{ index .Match 2 }}. A 1.2.3.4\""),
            "answer template fails: error calling index: index out of range: 2",
        ),
    ] {
        let err = parse_err(&corefile);
        assert!(err.contains(want), "{corefile}\nwanted {want:?} in:\n{err}");
        assert!(err.contains("plugin/template: "), "{err}");
    }
}

#[test]
fn template_errors_point_into_the_template() {
    // Bare token: `foo` is at column 26 of line 3.
    let err = parse_err("example.org {\n template IN A {\n  answer {{.Name}}.A.{{foo}}\n }\n}");
    assert!(err.contains("Corefile:3:24"), "{err}");
    // Quoted token: the column counts the opening quote.
    let err = parse_err(
        "example.org {\n template IN A {\n  answer \"{{ .Name }} 60 IN A {{ .Nmae }}\"\n }\n}",
    );
    assert!(err.contains("Corefile:3:34"), "{err}");
    assert!(err.contains("^^^^^"), "{err}");
    // An escaped quote before the error shifts it by one.
    let err = parse_err(
        "example.org {\n template IN TXT {\n  answer \"{{ .Name }} TXT \\\"a\\\" {{ nope }}\"\n }\n}",
    );
    assert!(err.contains("Corefile:3:36"), "{err}");
    // The whole token when the record does not parse.
    let err = parse_err(
        "example.org {\n template IN A {\n  rcode NXDOMAIN\n  answer \"x. IN A 300.1.1.1\"\n }\n}",
    );
    assert!(err.contains("Corefile:4:10"), "{err}");
    assert!(err.contains("renders \"x. IN A 300.1.1.1\""), "{err}");
}

#[test]
fn sample_check_tries_other_values() {
    // Groups used as an IPv4 address: a digit in every group works.
    config(
        "example.org {\n template IN A {\n  match ^(?P<a>[0-9]+)[.](?P<b>[0-9]+)[.]\n  answer \"{{ .Name }} IN A 10.0.{{ .Group.a }}.{{ .Group.b }}\"\n }\n}",
    );
    // A group used as a label only works with a letter or digit, not empty.
    config(
        "example.org {\n template IN CNAME {\n  match ^([a-z]+)-x[.]\n  answer \"{{ .Name }} IN CNAME {{ index .Match 1 }}.example.org.\"\n }\n}",
    );
    // With two regexes, one that can fill the template is enough.
    config(
        "example.org {\n template IN A {\n  match ^x[.]\n  match ^(?P<ip>[0-9.]+)[.]ip[.]\n  answer \"{{ .Name }} IN A 10.0.0.{{ .Group.ip }}\"\n }\n}",
    );
}

// ---------------------------------------------------------------- the template language

fn data() -> Data {
    let question = QuestionData {
        name: "Ip-10-1-2-3.Example.".into(),
        qtype: 1,
        qclass: 1,
    };
    Data {
        zone: "example.".into(),
        name: "ip-10-1-2-3.example.".into(),
        regex: "^ip-(?P<a>[0-9]+)-([0-9]+)".into(),
        matches: vec!["ip-10-1".into(), "10".into(), "1".into()],
        groups: BTreeMap::from([
            ("0".to_string(), "ip-10-1".to_string()),
            ("1".to_string(), "10".to_string()),
            ("2".to_string(), "1".to_string()),
            ("a".to_string(), "10".to_string()),
        ]),
        class: "IN".into(),
        qtype: "A".into(),
        remote: "192.0.2.7".into(),
        message: MessageData {
            id: 4242,
            recursion_desired: true,
            questions: vec![question.clone()],
            counts: [0, 0, 1],
            edns: Some((0, true, 1232)),
            ..MessageData::default()
        },
        question: Some(question),
        meta: Default::default(),
    }
}

fn render(src: &str) -> String {
    let t = Template::parse(src).unwrap_or_else(|e| panic!("{src}: {e:?}"));
    t.execute(&data())
        .unwrap_or_else(|e| panic!("{src}: {e:?}"))
}

fn exec_err(src: &str) -> String {
    let t = Template::parse(src).unwrap_or_else(|e| panic!("{src}: {e:?}"));
    t.execute(&data()).expect_err(src).message
}

#[test]
fn meta_reads_the_querys_labels() {
    let mut d = data();
    d.meta.set("view/name", "inside");
    let run = |src: &str| Template::parse(src).unwrap().execute(&d);
    assert_eq!(run("{{ .Meta \"view/name\" }}").unwrap(), "inside");
    assert_eq!(run("{{ \"view/name\" | .Meta }}").unwrap(), "inside");
    assert_eq!(run("[{{ .Meta \"no/such\" }}]").unwrap(), "[]");
    assert_eq!(
        run("{{ .Meta 1 }}").unwrap_err().message,
        "wrong type for value; expected string; got int"
    );
}

fn parse_error(src: &str) -> (String, std::ops::Range<usize>) {
    let e = Template::parse(src).expect_err(src);
    (e.message, e.pos)
}

#[test]
fn fields_and_index() {
    for (src, want) in [
        (
            "{{ .Name }}|{{ .Zone }}|{{ .Class }}|{{ .Type }}|{{ .Remote }}",
            "ip-10-1-2-3.example.|example.|IN|A|192.0.2.7",
        ),
        ("{{ index .Match 0 }} {{ index .Match 2 }}", "ip-10-1 1"),
        (
            "{{ .Group.a }} {{ index .Group \"a\" }} {{ index .Group \"1\" }}",
            "10 10 10",
        ),
        // A missing key: `<no value>` as a field, empty through index.
        (
            "[{{ .Group.zz }}] [{{ index .Group \"zz\" }}]",
            "[<no value>] []",
        ),
        ("{{ .Match }}", "[ip-10-1 10 1]"),
        ("{{ .Group }}", "map[0:ip-10-1 1:10 2:1 a:10]"),
        ("{{ .Regex }}", "^ip-(?P<a>[0-9]+)-([0-9]+)"),
        ("{{ .Question }}", ";Ip-10-1-2-3.Example.\tIN\t A"),
        (
            "{{ .Question.Name }} {{ .Question.Qtype }} {{ .Question.Qclass }}",
            "Ip-10-1-2-3.Example. 1 1",
        ),
        (
            "{{ .Message.Id }} {{ .Message.RecursionDesired }} {{ len .Message.Question }}",
            "4242 true 1",
        ),
        (
            "{{ (index .Message.Question 0).Name }}",
            "Ip-10-1-2-3.Example.",
        ),
        ("{{ .Meta \"kubernetes/client-namespace\" }}|", "|"),
        ("{{ $.Name }}", "ip-10-1-2-3.example."),
        ("{{ index \"abc\" 1 }}", "98"),
        ("{{ len .Name }} {{ len .Match }}", "20 3"),
    ] {
        assert_eq!(render(src), want, "{src}");
    }
    let msg = render("{{ .Message }}");
    assert!(
        msg.starts_with(";; opcode: QUERY, status: NOERROR, id: 4242\n;; flags: rd; QUERY: 1, ANSWER: 0, AUTHORITY: 0, ADDITIONAL: 1\n"),
        "{msg}"
    );
    assert!(
        msg.contains("; EDNS: version 0; flags: do; udp: 1232"),
        "{msg}"
    );
    assert!(
        msg.ends_with(";; QUESTION SECTION:\n;Ip-10-1-2-3.Example.\tIN\t A\n"),
        "{msg}"
    );
}

#[test]
fn conditionals_and_comparisons() {
    for (src, want) in [
        ("{{ if eq .Type \"A\" }}yes{{ else }}no{{ end }}", "yes"),
        ("{{ if eq .Type \"AAAA\" }}yes{{ else }}no{{ end }}", "no"),
        (
            "{{ if eq .Type \"MX\" }}1{{ else if eq .Type \"A\" }}2{{ else }}3{{ end }}",
            "2",
        ),
        ("{{ if eq .Type \"MX\" \"TXT\" \"A\" }}any{{ end }}", "any"),
        ("{{ if .Group.zz }}t{{ else }}f{{ end }}", "f"),
        ("{{ if and .Name (not .Group.zz) }}t{{ end }}", "t"),
        ("{{ or .Group.zz \"fallback\" }}", "fallback"),
        ("{{ and 1 0 2 }} {{ or 0 \"\" }}", "0 "),
        ("{{ if ne .Class \"CH\" }}in{{ end }}", "in"),
        (
            "{{ lt 1 2 }} {{ le 2 2 }} {{ gt \"b\" \"a\" }} {{ ge 1 2 }}",
            "true true true false",
        ),
        ("{{ eq .Question.Qtype 1 }}", "true"),
        ("{{ if $x := .Group.a }}{{ $x }}{{ end }}", "10"),
        (
            "{{ $v := \"a\" }}{{ if true }}{{ $v = \"b\" }}{{ end }}{{ $v }}",
            "b",
        ),
    ] {
        assert_eq!(render(src), want, "{src}");
    }
    assert_eq!(
        exec_err("{{ eq .Name 1 }}"),
        "error calling eq: incompatible types for comparison"
    );
    assert_eq!(
        exec_err("{{ lt true false }}"),
        "error calling lt: invalid type for comparison"
    );
    // Variables do not leak out of their branch.
    assert!(
        parse_error("{{ if true }}{{ $x := 1 }}{{ end }}{{ $x }}")
            .0
            .contains("undefined variable")
    );
}

#[test]
fn functions() {
    for (src, want) in [
        ("{{ parseInt \"7b\" 16 8 }}", "123"),
        ("{{ parseInt .Group.a 10 64 }}", "10"),
        (
            "{{ parseInt \"0x1F\" 0 64 }} {{ parseInt \"017\" 0 64 }} {{ parseInt \"1_000\" 0 64 }}",
            "31 15 1000",
        ),
        (
            "{{ printf \"%s-%d-%03d-%x-%X-%q\" .Type 5 7 255 255 \"a\" }}",
            "A-5-007-ff-FF-\"a\"",
        ),
        (
            "{{ printf \"%-4s|%4s|%v|%t\" \"ab\" \"cd\" .Match true }}",
            "ab  |  cd|[ip-10-1 10 1]|true",
        ),
        ("{{ printf \"%d %d\" 1 }}", "1 %!d(MISSING)"),
        ("{{ printf \"%d\" \"x\" }}", "%!d(string=x)"),
        ("{{ printf \"%d\" 1 2 }}", "1%!(EXTRA int=2)"),
        ("{{ print \"a\" 1 2 \"b\" }}", "a1 2b"),
        ("{{ println \"a\" 1 }}", "a 1\n"),
        ("{{ .Type | printf \"%s!\" }}", "A!"),
        ("{{ .Group.a | len }}", "2"),
        (
            "{{ 0x10 }} {{ 1_000 }} {{ -3 }} {{ 'a' }} {{ 1.5 }} {{ 1e6 }} {{ 0.0001 }}",
            "16 1000 -3 97 1.5 1e+06 0.0001",
        ),
        ("{{ \"a\\tb\" }}{{ `c\\d` }}", "a\tbc\\d"),
    ] {
        assert_eq!(render(src), want, "{src}");
    }
    assert_eq!(
        exec_err("{{ parseInt \"zz\" 16 8 }}"),
        "error calling parseInt: strconv.ParseUint: parsing \"zz\": invalid syntax"
    );
    assert_eq!(
        exec_err("{{ parseInt \"1ff\" 16 8 }}"),
        "error calling parseInt: strconv.ParseUint: parsing \"1ff\": value out of range"
    );
    assert_eq!(
        exec_err("{{ parseInt \"1\" 1 8 }}"),
        "error calling parseInt: strconv.ParseUint: parsing \"1\": invalid base 1"
    );
    assert_eq!(
        exec_err("{{ parseInt \"1\" \"16\" 8 }}"),
        "wrong type for value; expected int; got string"
    );
    assert_eq!(
        exec_err("{{ index .Match 3 }}"),
        "error calling index: index out of range: 3"
    );
}

#[test]
fn whitespace_trimming_and_comments() {
    assert_eq!(render("a  {{- .Type -}}  \n b"), "aAb");
    assert_eq!(render("a {{- .Type }} b"), "aA b");
    assert_eq!(render("a {{ .Type -}} b"), "a Ab");
    assert_eq!(render("x {{- /* gone */ -}} y"), "xy");
    assert_eq!(render("x {{/* gone */}} y"), "x  y");
    // `{{-3}}` is the number -3, not a trim marker.
    assert_eq!(render("a {{-3}}"), "a -3");
    assert_eq!(render("{{ if true -}}\n  yes\n{{- end }}"), "yes");
}

#[test]
fn syntax_errors_have_positions() {
    for (src, want, at) in [
        ("{{ .Name", "unclosed action", 0),
        ("ab{{ foo }}", "function \"foo\" not defined", 5),
        ("{{ .Name }}{{ else }}", "unexpected {{else}}", 11),
        ("{{ 1x }}", "bad number syntax: \"1x\"", 3),
        ("{{ \"abc }}", "unterminated quoted string", 3),
        ("{{ ( .Name }}", "unclosed left paren", 3),
        ("{{ .Name | }}", "missing command", 9),
        ("{{ }}", "missing value for command", 0),
        ("{{ if }}x{{ end }}", "missing value for if", 0),
        ("{{ $x = 1 }}", "undefined variable \"$x\"", 3),
        ("{{ nil }}", "nil is not a command", 3),
        ("{{ html .Name }}", "function \"html\" is not supported", 3),
        (
            "{{ .Match.x }}",
            "can't evaluate field x in type []string",
            9,
        ),
        (
            "{{ .Question.Qname }}",
            "can't evaluate field Qname in type *dns.Question",
            12,
        ),
        (
            "{{ eq 1 }}",
            "wrong number of args for eq: want at least 2 got 1",
            3,
        ),
        ("{{/* x }}", "unclosed comment", 0),
        ("{{ 'ab' }}", "unterminated character constant", 3),
        ("{{ # }}", "unrecognized character in action: '#'", 3),
    ] {
        let (msg, pos) = parse_error(src);
        assert!(msg.contains(want), "{src}: {msg}");
        assert_eq!(pos.start, at, "{src}: {msg}");
    }
}

// ---------------------------------------------------------------- records

fn one_rr(text: &str) -> String {
    rr::parse(text)
        .unwrap_or_else(|e| panic!("{text}: {e}"))
        .unwrap_or_else(|| panic!("{text}: no record"))
        .to_string()
}

#[test]
fn records_in_zone_file_form() {
    for (text, want) in [
        ("a.example. 60 IN A 10.0.0.1", "a.example. 60 IN A 10.0.0.1"),
        ("a.example. A 10.0.0.1", "a.example. 3600 IN A 10.0.0.1"),
        (
            "a.example IN 60 AAAA fd00::1",
            "a.example. 60 IN AAAA fd00::1",
        ),
        ("@ 1h ch txt \"a b\" c", ". 3600 CH TXT a bc"),
        (
            "foogle.com 60 IN CNAME google.com",
            "foogle.com. 60 IN CNAME google.com.",
        ),
        (
            "1.0.0.10.in-addr.arpa. 60 IN PTR Host.Example.",
            "1.0.0.10.in-addr.arpa. 60 IN PTR Host.Example.",
        ),
        ("x. 60 IN MX 10 mail.x.", "x. 60 IN MX 10 mail.x."),
        (
            "_sip._udp.x. 60 IN SRV 10 20 5060 sip.x.",
            "_sip._udp.x. 60 IN SRV 10 20 5060 sip.x.",
        ),
        ("x. 60 IN NS ns1.x.", "x. 60 IN NS ns1.x."),
        (
            "x. 3600 IN SOA ns1.x. admin.x. (1 60 120 86400 3600)",
            "x. 3600 IN SOA ns1.x. admin.x. 1 60 120 86400 3600",
        ),
        (
            "x. 3600 IN SOA ns1.x. admin.x. (\n  2024 ; serial\n  1h 10m 1w 1d )",
            "x. 3600 IN SOA ns1.x. admin.x. 2024 3600 600 604800 86400",
        ),
        (
            "\n; comment\n\nx. 60 IN A 10.0.0.1 ; trailing\ny. 60 IN A 10.0.0.2",
            "x. 60 IN A 10.0.0.1",
        ),
        (
            "a\\.b.x. 60 IN TXT \"q\\\"uote\" \\065",
            "a\\.b.x. 60 IN TXT q\"uoteA",
        ),
        (
            "x. 60 IN CAA 0 issue \"ca.example.net\"",
            "x. 60 IN CAA 0 issue \"ca.example.net\"",
        ),
        ("x. 60 IN TYPE1 \\# 4 0a000001", "x. 60 IN A 10.0.0.1"),
    ] {
        assert_eq!(one_rr(text), want, "{text}");
    }
    // TXT strings stay apart (hickory prints them run together).
    let r = rr::parse("x. TXT \"a b\" c \"\" \"d\\\\e\" f\\;g")
        .unwrap()
        .unwrap();
    let RData::TXT(txt) = &r.data else { panic!() };
    let strings: Vec<&[u8]> = txt.txt_data.iter().map(|s| &s[..]).collect();
    assert_eq!(strings, [&b"a b"[..], b"c", b"", b"d\\e", b"f;g"]);
    for (text, rtype) in [
        ("x. 60 IN TLSA 3 1 1 abcdef", RecordType::TLSA),
        ("x. 60 IN SSHFP 1 1 abcdef", RecordType::SSHFP),
        ("x. 60 IN HINFO \"pc\" \"linux\"", RecordType::HINFO),
    ] {
        let r = rr::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(r.map(|r| r.record_type()), Some(rtype), "{text}");
    }
    let e = rr::parse("x. 60 IN CAA 0 issue \"a\nb\"").unwrap_err();
    assert!(e.contains("line break"), "{e}");
    assert_eq!(rr::parse("  ; only a comment\n\n").unwrap(), None);
    assert_eq!(rr::parse("").unwrap(), None);
    let long = "x".repeat(300);
    let r = rr::parse(&format!("x. TXT \"{long}\"")).unwrap().unwrap();
    let RData::TXT(txt) = &r.data else { panic!() };
    assert_eq!(
        txt.txt_data.iter().map(|s| s.len()).collect::<Vec<_>>(),
        [255, 45]
    );
    for (text, want) in [
        ("x. 60 IN A 10.0.0.300", "invalid IPv4 address '10.0.0.300'"),
        ("x. 60 IN A", "A record has no data"),
        ("x. 60 IN A 1.2.3.4 5.6.7.8", "more data than one field"),
        ("x. 60 IN", "the record has no type"),
        ("x. 60 IN FOO bar", "unknown type 'FOO'"),
        ("  60 IN A 1.2.3.4", "no owner name"),
        ("x. 60 IN MX mail.x.", "MX record needs 2 fields"),
        ("x. 60 IN SOA a. b. 1 2 3", "SOA record needs 7 fields"),
        ("x. 60 IN TXT \"open", "unterminated quoted string"),
        ("x. 60 IN SOA a. b. (1 2 3 4 5", "unbalanced parentheses"),
        ("x..y. 60 IN A 1.2.3.4", "empty label"),
        ("$TTL 60", "directive $TTL is not supported"),
        // Too short for an A record: hickory's own message.
        ("x. 60 IN TYPE1 \\# 3 0a0000", ""),
    ] {
        let e = rr::parse(text).expect_err(text);
        assert!(e.contains(want), "{text}: {e}");
    }
}

// ---------------------------------------------------------------- serving

async fn ask(site: &TestSite, name: &str, qtype: RecordType) -> TestReply {
    site.query(Case::new(name, qtype)).await
}

fn assert_written(r: &TestReply, rcode: ResponseCode) {
    assert_eq!(r.written_by, Some("template"), "{r:?}");
    assert_eq!(r.rcode(), rcode, "{r:?}");
    assert!(r.message().metadata.authoritative, "{r:?}");
}

fn assert_unwritten_servfail(r: &TestReply) {
    assert_eq!(r.written_by, None, "{r:?}");
    assert!(r.error.is_none(), "{r:?}");
    assert_eq!(r.rcode(), ResponseCode::ServFail);
}

fn section(records: &[crate::dns::Record]) -> Vec<String> {
    records.iter().map(ToString::to_string).collect()
}

#[tokio::test]
async fn answers_every_name_with_one_address() {
    let site = TestSite::new(
        ". {\n template IN A {\n  answer \"{{ .Name }} 60 IN A 10.0.0.1\"\n }\n whoami\n}",
    );
    let r = ask(&site, "Foo.Example.ORG.", RecordType::A).await;
    assert_written(&r, ResponseCode::NoError);
    // `.Name` is lowercased.
    assert_eq!(r.answers(), ["foo.example.org. 60 IN A 10.0.0.1"]);
    assert!(r.message().authorities.is_empty());
    // Another type is not this template's: the next plugin answers.
    let r = ask(&site, "foo.example.org.", RecordType::AAAA).await;
    assert_eq!(r.written_by, Some("whoami"));
}

#[tokio::test]
async fn ip_from_named_groups() {
    let site = TestSite::new(
        ". {\n template IN A example {\n  match \"^ip-(?P<a>[0-9]*)-(?P<b>[0-9]*)-(?P<c>[0-9]*)-(?P<d>[0-9]*)[.]example[.]$\"\n  answer \"{{ .Name }} 60 IN A {{ .Group.a }}.{{ .Group.b }}.{{ .Group.c }}.{{ .Group.d }}\"\n  fallthrough\n }\n template IN PTR in-addr.arpa {\n  match ^(?P<d>[0-9]*)[.](?P<c>[0-9]*)[.](?P<b>[0-9]*)[.](?P<a>[0-9]*)[.]in-addr[.]arpa[.]$\n  answer \"{{ .Name }} 60 IN PTR ip-{{ .Group.a }}-{{ .Group.b }}-{{ .Group.c }}-{{ .Group.d }}.example.\"\n }\n whoami\n}",
    );
    let r = ask(&site, "ip-10-64-1-2.example.", RecordType::A).await;
    assert_written(&r, ResponseCode::NoError);
    assert_eq!(r.answers(), ["ip-10-64-1-2.example. 60 IN A 10.64.1.2"]);
    let r = ask(&site, "2.1.64.10.in-addr.arpa.", RecordType::PTR).await;
    assert_written(&r, ResponseCode::NoError);
    assert_eq!(
        r.answers(),
        ["2.1.64.10.in-addr.arpa. 60 IN PTR ip-10-64-1-2.example."]
    );
    // No match and fallthrough: the next plugin.
    let r = ask(&site, "www.example.", RecordType::A).await;
    assert_eq!(r.written_by, Some("whoami"));
    // A name the regex matches but whose groups make no address: an error.
    let r = ask(&site, "ip-10-64-1-999.example.", RecordType::A).await;
    assert_eq!(r.written_by, None);
    let e = r.error.as_ref().expect("an error");
    assert_eq!(e.rcode, ResponseCode::ServFail);
    assert!(
        e.to_string().starts_with("plugin/template: answer record")
            && e.to_string().contains("invalid IPv4 address '10.64.1.999'"),
        "{e}"
    );
    assert_eq!(r.rcode(), ResponseCode::ServFail);
}

#[tokio::test]
async fn nxdomain_with_soa_for_a_whole_zone() {
    let site = TestSite::new(
        ". {\n template ANY ANY invalid {\n  rcode NXDOMAIN\n  authority \"invalid. 60 {{ .Class }} SOA ns.invalid. hostmaster.invalid. (1 60 60 60 60)\"\n  ederror 21 \"Blocked according to RFC2606\"\n }\n whoami\n}",
    );
    let r = ask(&site, "host.invalid.", RecordType::MX).await;
    assert_written(&r, ResponseCode::NXDomain);
    assert!(r.message().answers.is_empty());
    assert_eq!(
        section(&r.message().authorities),
        ["invalid. 60 IN SOA ns.invalid. hostmaster.invalid. 1 60 60 60 60"]
    );
    // No EDNS in the query: no EDE in the reply.
    assert!(r.message().edns.is_none());
    // With EDNS the reply carries the extended error.
    let r = site
        .query(Case::new("x.invalid.", RecordType::A).edns(1232))
        .await;
    assert_written(&r, ResponseCode::NXDomain);
    let edns = r.message().edns.as_ref().expect("an OPT record");
    let ede = edns
        .options()
        .as_ref()
        .iter()
        .find_map(|(code, opt)| (u16::from(*code) == 15).then_some(opt.clone()))
        .expect("an EDE option");
    let bytes = match ede {
        hickory_proto::rr::rdata::opt::EdnsOption::Unknown(_, b) => b,
        other => panic!("{other:?}"),
    };
    assert_eq!(&bytes[..2], &[0, 21]);
    assert_eq!(&bytes[2..], b"Blocked according to RFC2606");
    // CH queries are let in for class ANY templates, and `.Class` follows the query.
    let r = site.query(Case::ch_txt("version.invalid.")).await;
    assert_written(&r, ResponseCode::NXDomain);
    assert_eq!(
        section(&r.message().authorities),
        ["invalid. 60 CH SOA ns.invalid. hostmaster.invalid. 1 60 60 60 60"]
    );
    // Other zones go on.
    let r = ask(&site, "example.org.", RecordType::A).await;
    assert_eq!(r.written_by, Some("whoami"));
}

#[tokio::test]
async fn txt_echoes_the_client_address() {
    let site = TestSite::new(
        ". {\n template IN TXT whoami.example {\n  answer \"{{ .Name }} 0 IN TXT \\\"{{ .Remote }}\\\" {{ .Type }} {{ .Class }}\"\n }\n}",
    );
    let r = site
        .query(Case::new("whoami.example.", RecordType::TXT).from("192.0.2.44:3000"))
        .await;
    assert_written(&r, ResponseCode::NoError);
    assert_eq!(r.answers(), ["whoami.example. 0 IN TXT 192.0.2.44TXTIN"]);
    let RData::TXT(txt) = &r.message().answers[0].data else {
        panic!("{r:?}")
    };
    assert_eq!(txt.txt_data.len(), 3);
    assert_eq!(&txt.txt_data[0][..], b"192.0.2.44");
    let r = site
        .query(Case::new("whoami.example.", RecordType::TXT).from("[2001:db8::7]:3000"))
        .await;
    assert_eq!(r.txt(), ["2001:db8::7TXTIN"]);
}

#[tokio::test]
async fn templates_are_tried_in_order() {
    let site = TestSite::new(
        "example.org {\n template IN A {\n  match ^a[.]\n  answer \"{{ .Name }} 60 IN A 10.0.0.1\"\n  fallthrough\n }\n template IN A {\n  match ^(a|b)[.]\n  answer \"{{ .Name }} 60 IN A 10.0.0.2\"\n  fallthrough\n }\n template IN ANY {\n  answer \"{{ .Name }} 60 IN TXT last\"\n }\n}",
    );
    let r = ask(&site, "a.example.org.", RecordType::A).await;
    assert_eq!(r.answers(), ["a.example.org. 60 IN A 10.0.0.1"]);
    let r = ask(&site, "b.example.org.", RecordType::A).await;
    assert_eq!(r.answers(), ["b.example.org. 60 IN A 10.0.0.2"]);
    let r = ask(&site, "c.example.org.", RecordType::A).await;
    assert_eq!(r.answers(), ["c.example.org. 60 IN TXT last"]);
    let r = ask(&site, "a.example.org.", RecordType::MX).await;
    assert_eq!(r.answers(), ["a.example.org. 60 IN TXT last"]);
}

#[tokio::test]
async fn mismatch_goes_to_the_next_plugin() {
    let site = TestSite::new(
        ". {\n template IN AAAA example.org {\n  answer \"{{ .Name }} 60 IN AAAA fd00::1\"\n }\n template CH TXT example.org {\n  answer \"{{ .Name }} 60 CH TXT chaos\"\n }\n whoami\n}",
    );
    // Type mismatch.
    let r = ask(&site, "x.example.org.", RecordType::A).await;
    assert_eq!(r.written_by, Some("whoami"));
    // Class mismatch: an IN TXT query is not the CH template's.
    let r = ask(&site, "x.example.org.", RecordType::TXT).await;
    assert_eq!(r.written_by, Some("whoami"));
    // Zone mismatch.
    let r = ask(&site, "x.example.net.", RecordType::AAAA).await;
    assert_eq!(r.written_by, Some("whoami"));
    // All match.
    let r = ask(&site, "x.example.org.", RecordType::AAAA).await;
    assert_eq!(r.answers(), ["x.example.org. 60 IN AAAA fd00::1"]);
    let r = site.query(Case::ch_txt("x.example.org.")).await;
    assert_written(&r, ResponseCode::NoError);
    assert_eq!(r.answers(), ["x.example.org. 60 CH TXT chaos"]);
    // A query of type ANY matches a template of any type (the first here).
    let r = ask(&site, "x.example.org.", RecordType::ANY).await;
    assert_eq!(r.answers(), ["x.example.org. 60 IN AAAA fd00::1"]);
}

#[tokio::test]
async fn no_match_is_servfail_unless_fallthrough_covers_the_name() {
    let site = TestSite::new(
        ". {\n template IN A example.org {\n  match ^www[.]\n  answer \"{{ .Name }} 60 IN A 10.0.0.1\"\n  fallthrough sub.example.org\n }\n whoami\n}",
    );
    let r = ask(&site, "www.example.org.", RecordType::A).await;
    assert_eq!(r.answers(), ["www.example.org. 60 IN A 10.0.0.1"]);
    // Inside the fallthrough zone: next plugin.
    let r = ask(&site, "x.sub.example.org.", RecordType::A).await;
    assert_eq!(r.written_by, Some("whoami"));
    // Outside it: SERVFAIL, not written.
    let r = ask(&site, "mail.example.org.", RecordType::A).await;
    assert_unwritten_servfail(&r);
    assert!(r.message().answers.is_empty());
}

#[tokio::test]
async fn rcode_servfail_is_returned_unwritten() {
    let site = TestSite::new(
        "example.org {\n template IN A {\n  rcode SERVFAIL\n  answer \"{{ .Name }} 60 IN A 10.0.0.1\"\n }\n template IN AAAA {\n  rcode REFUSED\n }\n}",
    );
    let r = ask(&site, "a.example.org.", RecordType::A).await;
    assert_unwritten_servfail(&r);
    assert!(r.message().answers.is_empty());
    // Other codes are written with AA.
    let r = ask(&site, "a.example.org.", RecordType::AAAA).await;
    assert_written(&r, ResponseCode::Refused);
}

#[tokio::test]
async fn if_else_parse_int_and_trimming() {
    let site = TestSite::new(
        ". {\n template IN ANY example {\n  match \"^ip0a(?P<b>[a-f0-9]{2})(?P<c>[a-f0-9]{2})(?P<d>[a-f0-9]{2})[.]example[.]$\"\n  answer \"{{ .Name }} 60 IN {{ if eq .Type \\\"AAAA\\\" -}} AAAA ::ffff:10.{{ parseInt .Group.b 16 8 }}.{{ parseInt .Group.c 16 8 }}.{{ parseInt .Group.d 16 8 }} {{- else -}} A 10.{{ parseInt .Group.b 16 8 }}.{{ parseInt .Group.c 16 8 }}.{{ parseInt .Group.d 16 8 }} {{- end }}\"\n }\n}",
    );
    let r = ask(&site, "ip0a7b0cff.example.", RecordType::A).await;
    assert_written(&r, ResponseCode::NoError);
    assert_eq!(r.answers(), ["ip0a7b0cff.example. 60 IN A 10.123.12.255"]);
    // Trimming shows inside a character string.
    let txt = TestSite::new(
        ". {\n template IN TXT {\n  answer \"{{ .Name }} 60 IN TXT \\\"[ {{- .Type -}} ] [ {{ .Class }} ]\\\"\"\n }\n}",
    );
    let r = ask(&txt, "t.example.", RecordType::TXT).await;
    assert_eq!(r.txt(), ["[TXT] [ IN ]"]);
    let r = ask(&site, "ip0a7b0cff.example.", RecordType::AAAA).await;
    assert_eq!(
        r.answers(),
        ["ip0a7b0cff.example. 60 IN AAAA ::ffff:10.123.12.255"]
    );
}

#[tokio::test]
async fn mx_with_additional_and_authority() {
    let site = TestSite::new(
        ". {\n template IN MX example {\n  match ^ip-10-(?P<b>[0-9]*)-(?P<c>[0-9]*)-(?P<d>[0-9]*)[.]example[.]$\n  answer \"{{ .Name }} 60 IN MX 10 {{ .Name }}\"\n  additional \"{{ .Name }} 60 IN A 10.{{ .Group.b }}.{{ .Group.c }}.{{ .Group.d }}\"\n  authority  \"example. 60 IN NS ns0.example.\" \"example. 60 IN NS ns1.example.\"\n }\n}",
    );
    let r = ask(&site, "ip-10-1-2-3.example.", RecordType::MX).await;
    assert_written(&r, ResponseCode::NoError);
    assert_eq!(
        r.answers(),
        ["ip-10-1-2-3.example. 60 IN MX 10 ip-10-1-2-3.example."]
    );
    assert_eq!(
        section(&r.message().additionals),
        ["ip-10-1-2-3.example. 60 IN A 10.1.2.3"]
    );
    assert_eq!(
        section(&r.message().authorities),
        [
            "example. 60 IN NS ns0.example.",
            "example. 60 IN NS ns1.example."
        ]
    );
}

#[tokio::test]
async fn zone_is_the_longest_matching_zone() {
    let site = TestSite::new(
        ". {\n template IN TXT example.org sub.example.org {\n  answer \"{{ .Name }} 60 IN TXT {{ .Zone }}\"\n }\n}",
    );
    let r = ask(&site, "a.sub.example.org.", RecordType::TXT).await;
    assert_eq!(r.txt(), ["sub.example.org."]);
    let r = ask(&site, "a.example.org.", RecordType::TXT).await;
    assert_eq!(r.txt(), ["example.org."]);
}

#[tokio::test]
async fn cname_is_returned_alone_and_empty_renders_add_nothing() {
    let site = TestSite::new(
        ". {\n template IN ANY foogle.com {\n  match \"^foogle\\.com\\.$\"\n  answer \"foogle.com 60 IN CNAME google.com\"\n  answer \"{{ if eq .Type \\\"TXT\\\" }}foogle.com 60 IN TXT hi{{ end }}\"\n }\n}",
    );
    let r = ask(&site, "foogle.com.", RecordType::A).await;
    assert_written(&r, ResponseCode::NoError);
    assert_eq!(r.answers(), ["foogle.com. 60 IN CNAME google.com."]);
    let r = ask(&site, "foogle.com.", RecordType::TXT).await;
    assert_eq!(
        r.answers(),
        [
            "foogle.com. 60 IN CNAME google.com.",
            "foogle.com. 60 IN TXT hi"
        ]
    );
}

#[tokio::test]
async fn execution_errors_are_servfail_with_an_error() {
    let site = TestSite::new(
        ". {\n template IN A {\n  match ^(?P<n>[a-z0-9]+)[.]\n  answer \"{{ .Name }} 60 IN A 10.0.0.{{ parseInt .Group.n 10 8 }}\"\n }\n}",
    );
    let r = ask(&site, "7.example.", RecordType::A).await;
    assert_eq!(r.answers(), ["7.example. 60 IN A 10.0.0.7"]);
    let r = ask(&site, "x.example.", RecordType::A).await;
    assert_eq!(r.rcode(), ResponseCode::ServFail);
    let e = r.error.expect("an error");
    assert!(
        e.to_string()
            .contains("error calling parseInt: strconv.ParseUint: parsing \"x\": invalid syntax"),
        "{e}"
    );
}

#[tokio::test]
async fn question_and_message_data() {
    let site = TestSite::new(
        ". {\n template IN TXT {\n  answer \"{{ .Name }} 60 IN TXT \\\"{{ .Question.Name }}\\\" \\\"{{ .Message.Id }}\\\" \\\"{{ index .Match 0 }}\\\"\"\n }\n}",
    );
    let r = ask(&site, "Mixed.Case.", RecordType::TXT).await;
    assert_eq!(r.txt(), ["Mixed.Case.4242mixed.case."]);
    assert_eq!(r.message().answers[0].dns_class, DNSClass::IN);
}

#[tokio::test]
async fn readme_examples_build_and_answer() {
    let readme = include_str!("README.md");
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in readme.lines() {
        match (&mut current, line.trim()) {
            (None, "~~~ corefile") => current = Some(String::new()),
            (Some(_), "~~~") => blocks.push(current.take().unwrap()),
            (Some(text), _) => {
                text.push_str(line);
                text.push('\n');
            }
            (None, _) => {}
        }
    }
    assert_eq!(blocks.len(), 7);
    let sites: Vec<TestSite> = blocks.iter().map(|b| TestSite::new(b)).collect();
    let r = ask(&sites[2], "ip-10-1-2-3.example.", RecordType::A).await;
    assert_eq!(r.answers(), ["ip-10-1-2-3.example. 60 IN A 10.1.2.3"]);
    let r = ask(&sites[3], "ip0a010203.example.", RecordType::A).await;
    assert_eq!(r.answers(), ["ip0a010203.example. 60 IN A 10.1.2.3"]);
    let r = ask(&sites[5], "www.engineering.example.org.", RecordType::A).await;
    assert_written(&r, ResponseCode::NoError);
    assert!(r.message().answers.is_empty());
    assert_eq!(r.message().authorities.len(), 1);
    let r = ask(&sites[5], "engineering.example.org.", RecordType::NS).await;
    assert_eq!(r.message().answers.len(), 2);
    let r = site_query_txt(&sites[6]).await;
    assert_eq!(r.txt(), ["127.0.0.1"]);
    let r = ask(&sites[6], "whoami.example.org.", RecordType::A).await;
    assert_eq!(r.answers(), ["whoami.example.org. 0 IN A 127.0.0.1"]);
}

async fn site_query_txt(site: &TestSite) -> TestReply {
    site.query(Case::new("whoami.example.org.", RecordType::TXT))
        .await
}

// ---------------------------------------------------------------- metrics

#[test]
fn templates_are_labelled_as_go_prints_them() {
    for (src, want) in [
        ("{{ .Name }} 60 IN A 10.0.0.1", "{{.Name}} 60 IN A 10.0.0.1"),
        (
            "{{ .Name }} 60 IN A {{ index .Match 1 }}",
            "{{.Name}} 60 IN A {{index .Match 1}}",
        ),
        (
            "x {{- /* gone */ -}} y {{printf \"%s-%d\"  ( .Name )  0x1F|len}}",
            "xy {{printf \"%s-%d\" (.Name) 0x1F | len}}",
        ),
        (
            "{{ $z:=.Zone }}{{if eq $z.Len 1}}a{{ else }}b{{ end }}",
            "{{$z := .Zone}}{{if eq $z.Len 1}}a{{else}}b{{end}}",
        ),
        ("{{ .Meta `a/b` }}", "{{.Meta `a/b`}}"),
        ("no actions", "no actions"),
        ("{{ unclosed", "{{ unclosed"),
    ] {
        assert_eq!(super::tmpl::go_string(src), want, "{src}");
    }
}

fn counted(name: &str, labels: &[(&str, &str)]) -> f64 {
    crate::testing::metric_value(&format!("coredns_template_{name}"), labels)
}

#[tokio::test]
async fn metrics_count_matches_and_failed_templates() {
    let site = TestSite::new(
        "m1.template.test:10651 {\n template IN ANY {\n  match ^(?P<n>[a-z0-9]+)[.]\n  answer \"{{ .Name }} 60 IN A 10.0.0.{{ parseInt .Group.n 10 8 }}\"\n }\n}",
    );
    let base = [
        ("server", "dns://:10651"),
        ("zone", "m1.template.test."),
        ("view", ""),
        ("class", "IN"),
    ];
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut v = base.to_vec();
        v.extend_from_slice(extra);
        v
    };
    assert_written(
        &ask(&site, "7.m1.template.test.", RecordType::A).await,
        ResponseCode::NoError,
    );
    let r = ask(&site, "x.m1.template.test.", RecordType::A).await;
    assert_eq!(r.rcode(), ResponseCode::ServFail);
    ask(&site, "7.m1.template.test.", RecordType::AAAA).await;
    // No match: not counted.
    ask(&site, "_x.m1.template.test.", RecordType::A).await;
    assert_eq!(counted("matches_total", &with(&[("type", "A")])), 2.0);
    assert_eq!(counted("matches_total", &with(&[("type", "AAAA")])), 1.0);
    let failed = with(&[
        ("type", "A"),
        ("section", "answer"),
        (
            "template",
            "{{.Name}} 60 IN A 10.0.0.{{parseInt .Group.n 10 8}}",
        ),
    ]);
    assert_eq!(counted("template_failures_total", &failed), 1.0);
    assert_eq!(counted("rr_failures_total", &failed), 0.0);
}

#[tokio::test]
async fn metrics_count_bad_records_under_their_section_and_zone() {
    let site = TestSite::new(
        "m2.template.test:10652 {\n template IN TXT m2.template.test sub.m2.template.test {\n  answer \"{{ .Name }} 60 IN TXT ok\"\n  additional \"{{ .Name }} 60 IN A 10.0.0.{{ len .Name }}0\"\n }\n}",
    );
    // A name of 17 characters makes 10.0.0.170, one of 30 no address.
    let r = ask(&site, "abcdefgh.sub.m2.template.test.", RecordType::TXT).await;
    assert_eq!(r.rcode(), ResponseCode::ServFail);
    let labels = [
        ("server", "dns://:10652"),
        ("zone", "sub.m2.template.test."),
        ("view", ""),
        ("class", "IN"),
        ("type", "TXT"),
    ];
    assert_eq!(counted("matches_total", &labels), 1.0);
    let mut failed = labels.to_vec();
    failed.extend([
        ("section", "additional"),
        ("template", "{{.Name}} 60 IN A 10.0.0.{{len .Name}}0"),
    ]);
    assert_eq!(counted("rr_failures_total", &failed), 1.0);
    assert_eq!(counted("template_failures_total", &failed), 0.0);
}

/// A type without a mnemonic is "" in the data and the metrics labels, as
/// CoreDNS reads both from miekg's `TypeToString`.
#[tokio::test]
async fn an_unnamed_type_is_empty_in_data_and_labels() {
    let site = TestSite::new(
        "m3.template.test:10653 {\n template IN ANY {\n  answer \"{{ .Name }} 60 IN TXT \\\"[{{ .Type }}] {{ .Class }}\\\"\"\n }\n}",
    );
    let r = ask(&site, "a.m3.template.test.", RecordType::Unknown(65280)).await;
    assert_written(&r, ResponseCode::NoError);
    assert_eq!(r.txt(), ["[] IN"]);
    let labels = [("zone", "m3.template.test."), ("class", "IN"), ("type", "")];
    assert_eq!(counted("matches_total", &labels), 1.0);
}
