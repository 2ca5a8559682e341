//! Every Corefile syntax rule CoreDNS accepts (reference §1.1–1.6, §1.11),
//! checked on the loaded `Model`: block keys, zones, directive names and
//! their token texts.

mod common;

use common::{ORDER, TempDir, plugins};
use corec_compiler::{
    Block, EmbeddedFs, FileSystem, LoadOptions, Model, RealFs, Transport, load, load_str,
};
use std::path::{Path, PathBuf};

// ---------------------------------------------------------------- helpers

/// Loads `text` as `Corefile` from `fs` with the given environment and port.
fn load_full(text: &str, fs: &dyn FileSystem, vars: &[(&str, &str)], dns_port: &str) -> Model {
    let env = |name: &str| {
        vars.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    };
    let plugins = plugins();
    let opts = LoadOptions {
        fs,
        env: &env,
        plugins: &plugins,
        dns_port,
    };
    load_str(text, "Corefile", &opts)
}

/// Loads a file from disk with RealFs and an empty environment.
fn load_path(path: &Path, vars: &[(&str, &str)]) -> Model {
    let env = |name: &str| {
        vars.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    };
    let plugins = plugins();
    let opts = LoadOptions {
        fs: &RealFs,
        env: &env,
        plugins: &plugins,
        dns_port: "53",
    };
    load(path, "Corefile", &opts)
}

fn assert_ok(m: &Model) {
    assert!(
        m.diagnostics.is_empty(),
        "unexpected diagnostics:\n{}",
        m.render_diagnostics()
    );
}

/// Loads `text` (no files, no environment, port 53) and requires no diagnostics.
fn ok(text: &str) -> Model {
    ok_env(text, &[])
}

fn ok_env(text: &str, vars: &[(&str, &str)]) -> Model {
    let m = load_full(text, &EmbeddedFs::default(), vars, "53");
    assert_ok(&m);
    m
}

fn keys(b: &Block) -> Vec<&str> {
    b.keys.iter().map(|t| t.text.as_str()).collect()
}

fn addrs(b: &Block) -> Vec<String> {
    b.addrs.iter().map(ToString::to_string).collect()
}

/// Token texts of directive `name` in block `b` (panics if absent).
fn toks<'a>(b: &'a Block, name: &str) -> Vec<&'a str> {
    b.plugin(name)
        .unwrap_or_else(|| panic!("no directive {name} in block {:?}", keys(b)))
        .tokens
        .iter()
        .map(|t| t.text.as_str())
        .collect()
}

/// Token lines of directive `name` in block `b`.
fn lines(b: &Block, name: &str) -> Vec<u32> {
    b.plugin(name)
        .unwrap()
        .tokens
        .iter()
        .map(|t| t.line)
        .collect()
}

fn names(b: &Block) -> Vec<&'static str> {
    b.plugins.iter().map(|p| p.name).collect()
}

/// Everything a back end sees of a model, for comparing two loads.
/// A block as (keys, zones, [(directive, [(token, line)])]).
type BlockSummary = (Vec<String>, Vec<String>, Vec<(String, Vec<(String, u32)>)>);

fn summary(m: &Model) -> Vec<BlockSummary> {
    m.blocks
        .iter()
        .map(|b| {
            (
                keys(b).into_iter().map(String::from).collect(),
                addrs(b),
                b.plugins
                    .iter()
                    .map(|p| {
                        (
                            p.name.to_string(),
                            p.tokens.iter().map(|t| (t.text.clone(), t.line)).collect(),
                        )
                    })
                    .collect(),
            )
        })
        .collect()
}

/// The path `load_str` gives the main Corefile, so EmbeddedFs imports
/// relative to it resolve.
fn main_dir() -> PathBuf {
    std::env::current_dir().unwrap()
}

fn embedded(files: &[(&str, &str)]) -> EmbeddedFs {
    let dir = main_dir();
    let owned: Vec<(String, String)> = files
        .iter()
        .map(|(p, t)| (dir.join(p).to_string_lossy().into_owned(), t.to_string()))
        .collect();
    EmbeddedFs::new(owned.iter().map(|(p, t)| (p.as_str(), t.as_str())))
}

// ---------------------------------------------------------------- lexing

#[test]
fn tokens_are_separated_by_any_unicode_whitespace() {
    let m =
        ok(". {\n    chaos\tCoreDNS-001 \u{a0}a@b.org\u{2003}x\u{3000}y\u{b}z\u{c}w\u{85}v\n}\n");
    assert_eq!(
        toks(&m.blocks[0], "chaos"),
        ["chaos", "CoreDNS-001", "a@b.org", "x", "y", "z", "w", "v"]
    );
}

#[test]
fn braces_inside_tokens_are_ordinary_characters() {
    let m = ok(". {\n    log {}\n    chaos a{b} c}d {x }y\n}\n");
    let b = &m.blocks[0];
    assert_eq!(toks(b, "log"), ["log", "{}"]);
    assert_eq!(toks(b, "chaos"), ["chaos", "a{b}", "c}d", "{x", "}y"]);
}

#[test]
fn a_brace_glued_to_a_key_is_part_of_the_key() {
    // `example.org{` is one key; the block is then brace-less and the `}`
    // on the last line just ends it.
    let m = ok("example.org{\n    whoami\n}\n");
    assert_eq!(m.blocks.len(), 1);
    assert_eq!(keys(&m.blocks[0]), ["example.org{"]);
    assert_eq!(addrs(&m.blocks[0]), ["dns://example.org{.:53"]);
    assert_eq!(names(&m.blocks[0]), ["whoami"]);
}

#[test]
fn a_quote_opens_a_token_only_at_its_start() {
    let m = ok(". {\n    chaos a\"b c\" \"d e\"f \"\" g\n}\n");
    assert_eq!(
        toks(&m.blocks[0], "chaos"),
        ["chaos", "a\"b", "c\"", "d e", "f", "", "g"]
    );
}

#[test]
fn only_a_quote_can_be_escaped() {
    let m = ok(". {\n    chaos \"a\\\"b\" \"c\\d\" \"e\\\\\" f\\\"g \"h\\nk\"\n}\n");
    assert_eq!(
        toks(&m.blocks[0], "chaos"),
        ["chaos", "a\"b", "c\\d", "e\\\\", "f\\\"g", "h\\nk"]
    );
}

#[test]
fn backslash_is_not_a_line_continuation() {
    let m = ok(". {\n    chaos a \\\n    log b\n}\n");
    let b = &m.blocks[0];
    assert_eq!(toks(b, "chaos"), ["chaos", "a", "\\"]);
    assert_eq!(toks(b, "log"), ["log", "b"]);
}

#[test]
fn quoting_does_not_make_braces_literal() {
    let m = ok(". {\n    log \"{\"\n        class all\n    \"}\"\n    whoami\n}\n");
    let b = &m.blocks[0];
    assert_eq!(toks(b, "log"), ["log", "{", "class", "all", "}"]);
    assert_eq!(names(b), ["log", "whoami"]);
}

#[test]
fn a_quoted_token_may_span_lines() {
    let m = ok(". {\n    chaos \"first\nsecond\" after\n    whoami\n}\n");
    let b = &m.blocks[0];
    // `after` is on line 3 but on the quoted token's closing line, so it is
    // still an argument of chaos; `whoami` on the next line is a directive.
    assert_eq!(toks(b, "chaos"), ["chaos", "first\nsecond", "after"]);
    assert_eq!(lines(b, "chaos"), [2, 2, 3]);
    assert_eq!(toks(b, "whoami"), ["whoami"]);
    assert_eq!(lines(b, "whoami"), [4]);
}

#[test]
fn a_multi_line_quoted_key_does_not_end_the_key_line() {
    let m = ok("\"a.\norg\" b.org {\n    whoami\n}\n");
    assert_eq!(keys(&m.blocks[0]), ["a.\norg", "b.org"]);
    assert_eq!(names(&m.blocks[0]), ["whoami"]);
}

#[test]
fn comments_start_at_any_unquoted_hash() {
    let m = ok(concat!(
        "# leading comment\n",
        ". { # after the brace\n",
        "    chaos a#b c\n",
        "    log \"x#y\" # } is not a brace here\n",
        "    # a whole line\n",
        "    whoami#glued\n",
        "}\n",
        "# trailing comment without newline"
    ));
    assert_eq!(m.blocks.len(), 1);
    let b = &m.blocks[0];
    assert_eq!(toks(b, "chaos"), ["chaos", "a"]);
    assert_eq!(toks(b, "log"), ["log", "x#y"]);
    assert_eq!(toks(b, "whoami"), ["whoami"]);
}

#[test]
fn a_comment_can_hide_a_key() {
    // `#b.org c.org {` is a comment: `a.org` starts a brace-less block that
    // the lone `}` on the next line ends.
    let m = ok("a.org#b.org c.org {\n}\n");
    assert_eq!(m.blocks.len(), 1);
    assert_eq!(keys(&m.blocks[0]), ["a.org"]);
    assert!(m.blocks[0].plugins.is_empty());
}

#[test]
fn crlf_line_endings_load_like_lf() {
    let lf = ". {\n    log a \"b\nc\" d\n    whoami\n}\nexample.org\n{\n    errors\n}\n";
    let crlf = lf.replace('\n', "\r\n");
    let a = ok(lf);
    let b = ok(&crlf);
    let mut expected = summary(&a);
    // A quoted token keeps the `\r` it contains, as CoreDNS's lexer does.
    expected[0].2[0].1[2].0 = "b\r\nc".into();
    assert_eq!(summary(&b), expected);
    assert_eq!(names(&b.blocks[0]), ["log", "whoami"]);
}

#[test]
fn a_leading_bom_is_dropped() {
    let m = ok("\u{feff}. {\n    whoami\n}\n");
    assert_eq!(keys(&m.blocks[0]), ["."]);
    assert_eq!(addrs(&m.blocks[0]), ["dns://.:53"]);
    let m = ok("\u{feff}example.org\r\n{\r\n    whoami\r\n}\r\n");
    assert_eq!(keys(&m.blocks[0]), ["example.org"]);
}

/// CoreDNS's lexer skips `\r` entirely outside quotes: it neither ends nor
/// appears in a token, so `a\rb` is the single token `ab`.
#[test]
fn a_lone_carriage_return_is_skipped_not_a_separator() {
    let m = ok(". {\n    chaos a\rb\r c\n}\n");
    assert_eq!(toks(&m.blocks[0], "chaos"), ["chaos", "ab", "c"]);
}

// ---------------------------------------------------------------- structure

#[test]
fn arguments_end_at_the_newline() {
    let m = ok(". {\n    chaos a b\n    log c\n    errors\n}\n");
    let b = &m.blocks[0];
    assert_eq!(toks(b, "chaos"), ["chaos", "a", "b"]);
    assert_eq!(toks(b, "log"), ["log", "c"]);
    assert_eq!(toks(b, "errors"), ["errors"]);
}

#[test]
fn directive_blocks_keep_all_their_tokens_at_any_depth() {
    let m = ok(concat!(
        ". {\n",
        "    forward . 1.1.1.1 {\n",
        "        policy sequential\n",
        "        health_check 5s {\n",
        "            domain x.org\n",
        "        }\n",
        "    }\n",
        "    whoami\n",
        "}\n"
    ));
    let b = &m.blocks[0];
    assert_eq!(
        toks(b, "forward"),
        [
            "forward",
            ".",
            "1.1.1.1",
            "{",
            "policy",
            "sequential",
            "health_check",
            "5s",
            "{",
            "domain",
            "x.org",
            "}",
            "}"
        ]
    );
    assert_eq!(names(b), ["forward", "whoami"]);
}

#[test]
fn a_brace_starting_the_next_line_still_opens_the_directive_block() {
    // caddy checks for `{` before it checks for a new line.
    let m = ok(". {\n    log\n    {\n        class all\n    }\n    whoami\n}\n");
    let b = &m.blocks[0];
    assert_eq!(toks(b, "log"), ["log", "{", "class", "all", "}"]);
    assert_eq!(names(b), ["log", "whoami"]);
}

#[test]
fn server_block_brace_may_be_on_the_key_line_or_the_next() {
    let same = ok("example.org {\n    whoami\n}\n");
    let next = ok("example.org\n{\n    whoami\n}\n");
    let later = ok("example.org # comment\n\n# another\n{\n    whoami\n}\n");
    for m in [&same, &next, &later] {
        assert_eq!(m.blocks.len(), 1);
        assert_eq!(keys(&m.blocks[0]), ["example.org"]);
        assert_eq!(names(&m.blocks[0]), ["whoami"]);
    }
}

#[test]
fn a_single_block_may_omit_its_braces() {
    let m = ok(".:1053\nwhoami\nlog\nchaos CoreDNS-001 info@example.org\n");
    assert_eq!(m.blocks.len(), 1);
    let b = &m.blocks[0];
    assert_eq!(keys(b), [".:1053"]);
    assert_eq!(addrs(b), ["dns://.:1053"]);
    assert_eq!(names(b), ["log", "chaos", "whoami"]);
    assert_eq!(
        toks(b, "chaos"),
        ["chaos", "CoreDNS-001", "info@example.org"]
    );
}

#[test]
fn empty_blocks() {
    for text in [". { }\n", ". {\n}\n", ". {\n\n    # nothing\n}\n", ". {}"] {
        let m = load_full(text, &EmbeddedFs::default(), &[], "53");
        if text == ". {}" {
            // `{}` is one token: a second key, not an empty block.
            assert_eq!(keys(&m.blocks[0]), [".", "{}"], "{text:?}");
            continue;
        }
        assert_ok(&m);
        assert_eq!(m.blocks.len(), 1, "{text:?}");
        assert_eq!(keys(&m.blocks[0]), ["."]);
        assert!(m.blocks[0].plugins.is_empty(), "{text:?}");
    }
    let m = ok("a.org { }\nb.org {\n    whoami\n}\n");
    assert_eq!(m.blocks.len(), 2);
    assert!(m.blocks[0].plugins.is_empty());
    assert_eq!(names(&m.blocks[1]), ["whoami"]);
}

#[test]
fn a_corefile_of_keys_only() {
    let m = ok("example.org example.net:1053\n");
    assert_eq!(m.blocks.len(), 1);
    assert_eq!(
        addrs(&m.blocks[0]),
        ["dns://example.org.:53", "dns://example.net.:1053"]
    );
    assert!(m.blocks[0].plugins.is_empty());
    let m = ok("example.org");
    assert_eq!(keys(&m.blocks[0]), ["example.org"]);
}

#[test]
fn corefiles_without_blocks() {
    for text in [
        "",
        "\n\n",
        "# only a comment\n",
        "(snippet) {\n    log\n}\n",
    ] {
        let m = ok(text);
        assert!(m.blocks.is_empty(), "{text:?}");
    }
}

#[test]
fn several_blocks_keep_corefile_order() {
    let m = ok("b.org {\n    log\n}\na.org {\n    whoami\n}\n. {\n}\n");
    let k: Vec<Vec<&str>> = m.blocks.iter().map(keys).collect();
    assert_eq!(k, [["b.org"], ["a.org"], ["."]]);
}

#[test]
fn key_lists_with_spaces_and_trailing_commas() {
    let m = ok("a.org b.org,\n    c.org, d.org,\n\n# comment\n    e.org {\n    whoami\n}\n");
    assert_eq!(
        keys(&m.blocks[0]),
        ["a.org", "b.org", "c.org", "d.org", "e.org"]
    );
    assert_eq!(m.blocks[0].addrs.len(), 5);
    assert_eq!(m.blocks[0].zones()[4], "e.org.");
    // The brace may also follow on its own line after a continued list.
    let m = ok("a.org,\nb.org\n{\n    whoami\n}\n");
    assert_eq!(keys(&m.blocks[0]), ["a.org", "b.org"]);
    assert_eq!(names(&m.blocks[0]), ["whoami"]);
}

#[test]
fn a_comma_inside_a_token_does_not_separate_keys() {
    let m = ok("a.org,b.org {\n}\n");
    assert_eq!(keys(&m.blocks[0]), ["a.org,b.org"]);
    assert_eq!(m.blocks[0].zones(), ["a.org,b.org."]);
}

#[test]
fn an_empty_quoted_key_is_skipped() {
    let m = ok("\"\" example.org {\n}\n");
    assert_eq!(keys(&m.blocks[0]), ["example.org"]);
}

#[test]
fn a_repeated_directive_is_merged_in_corefile_order() {
    let m = ok(concat!(
        ". {\n",
        "    log a\n",
        "    whoami\n",
        "    log b {\n",
        "        class all\n",
        "    }\n",
        "    errors\n",
        "    log\n",
        "}\n"
    ));
    let b = &m.blocks[0];
    assert_eq!(
        toks(b, "log"),
        ["log", "a", "log", "b", "{", "class", "all", "}", "log"]
    );
    assert_eq!(lines(b, "log"), [2, 2, 4, 4, 4, 5, 5, 6, 8]);
    assert_eq!(b.plugins.iter().filter(|p| p.name == "log").count(), 1);
}

#[test]
fn directives_follow_the_plugin_list_order() {
    let m = ok(concat!(
        ". {\n",
        "    whoami\n",
        "    forward . 8.8.8.8\n",
        "    cache 30\n",
        "    log\n",
        "    errors\n",
        "    root /etc/coredns\n",
        "    rewrite name a b\n",
        "    acl\n",
        "}\n"
    ));
    let b = &m.blocks[0];
    assert_eq!(
        names(b),
        [
            "root", "errors", "log", "rewrite", "acl", "cache", "forward", "whoami"
        ]
    );
    for p in &b.plugins {
        assert_eq!(ORDER[p.registry_index], p.name);
    }
    assert_eq!(m.shape(), [names(b)]);
    // The written order is kept beside the chain order.
    let mut written: Vec<_> = b.plugins.iter().map(|p| (p.written, p.name)).collect();
    written.sort();
    assert_eq!(
        written.iter().map(|w| w.1).collect::<Vec<_>>(),
        [
            "whoami", "forward", "cache", "log", "errors", "root", "rewrite", "acl"
        ]
    );
}

#[test]
fn each_block_orders_its_own_directives() {
    let m = ok("a.org {\n    whoami\n    log\n}\nb.org {\n    errors\n    whoami\n}\n");
    assert_eq!(m.shape(), [vec!["log", "whoami"], vec!["errors", "whoami"]]);
}

// ---------------------------------------------------------------- keys

#[test]
fn keys_are_lowercased_into_fully_qualified_zones() {
    let m = ok("EXAMPLE.ORG:1053 Example.Net. dns://MiXeD.org {\n}\n");
    let b = &m.blocks[0];
    // Keys stay as written; zones are normalised.
    assert_eq!(
        keys(b),
        ["EXAMPLE.ORG:1053", "Example.Net.", "dns://MiXeD.org"]
    );
    assert_eq!(
        addrs(b),
        [
            "dns://example.org.:1053",
            "dns://example.net.:53",
            "dns://mixed.org.:53"
        ]
    );
    assert_eq!(b.zones(), ["example.org.", "example.net.", "mixed.org."]);
}

#[test]
fn the_default_port_comes_from_dns_port() {
    let m = load_full(
        ". example.org:53 dns://example.net {\n}\n",
        &EmbeddedFs::default(),
        &[],
        "1053",
    );
    assert_ok(&m);
    let ports: Vec<&str> = m.blocks[0].addrs.iter().map(|a| a.port.as_str()).collect();
    assert_eq!(ports, ["1053", "53", "1053"]);
    assert!(
        m.blocks[0]
            .addrs
            .iter()
            .all(|a| a.transport == Transport::Dns)
    );
    // Port 0 is accepted (the kernel picks one).
    let m = ok(".:0 {\n}\n");
    assert_eq!(addrs(&m.blocks[0]), ["dns://.:0"]);
}

#[test]
fn reverse_cidr_keys_become_reverse_zones() {
    let m = ok(concat!(
        "10.0.0.0/8 192.168.1.0/24:1053 {\n}\n",
        "172.16.0.0/15 {\n}\n",
        "fd00::/8 2001:db8::/32:5353 {\n}\n",
        "192.0.2.0/24. {\n}\n"
    ));
    assert_eq!(
        addrs(&m.blocks[0]),
        [
            "dns://10.in-addr.arpa.:53",
            "dns://1.168.192.in-addr.arpa.:1053"
        ]
    );
    // Off an octet boundary: one zone per covering /16.
    assert_eq!(
        addrs(&m.blocks[1]),
        [
            "dns://16.172.in-addr.arpa.:53",
            "dns://17.172.in-addr.arpa.:53"
        ]
    );
    assert_eq!(m.blocks[1].keys.len(), 1, "keys stay as written");
    assert_eq!(
        addrs(&m.blocks[2]),
        [
            "dns://d.f.ip6.arpa.:53",
            "dns://8.b.d.0.1.0.0.2.ip6.arpa.:5353"
        ]
    );
    // A trailing dot turns conversion off.
    assert_eq!(addrs(&m.blocks[3]), ["dns://192.0.2.0/24.:53"]);
}

#[test]
fn a_classless_reverse_key_expands_to_every_address() {
    let m = ok("192.168.1.128/25 {\n    whoami\n}\n");
    let zones = m.blocks[0].zones();
    assert_eq!(zones.len(), 128);
    assert_eq!(zones[0], "128.1.168.192.in-addr.arpa.");
    assert_eq!(zones[127], "255.1.168.192.in-addr.arpa.");
}

/// miekg/dns's `IsDomainName` (used by CoreDNS for keys) accepts a name of
/// up to 255 characters, which is what the 255-character length check lets
/// through; a key of 254 characters loads in CoreDNS.
#[test]
fn a_key_of_254_characters_is_a_valid_zone() {
    let label = |n: usize| "a".repeat(n);
    let key = format!("{}.{}.{}.{}", label(63), label(63), label(63), label(62));
    assert_eq!(key.len(), 254);
    let m = ok(&format!("{key} {{\n}}\n"));
    assert_eq!(m.blocks[0].zones(), [format!("{key}.")]);
}

// ---------------------------------------------------------------- environment

const VARS: &[(&str, &str)] = &[
    ("ZONE", "example.org"),
    ("PORT", "1053"),
    ("DIRECTIVE", "log"),
    ("ARGS", "a b  c"),
    ("WIN", "win"),
    ("POLICY", "random"),
    ("INDIRECT", "{$WIN}"),
    ("EMPTY", ""),
];

#[test]
fn env_in_keys() {
    let m = ok_env("{$ZONE}:{$PORT} {%ZONE%} {$UNSET} {\n}\n", VARS);
    let b = &m.blocks[0];
    // The unset variable leaves an empty key, which is skipped.
    assert_eq!(keys(b), ["example.org:1053", "example.org"]);
    assert_eq!(
        addrs(b),
        ["dns://example.org.:1053", "dns://example.org.:53"]
    );
}

#[test]
fn env_in_directive_names_and_arguments() {
    let m = ok_env(
        concat!(
            ". {\n",
            "    {$DIRECTIVE} x\n",
            "    chaos {$ARGS} pre{$WIN}post {%WIN%} \"q {$ZONE}\" {$UNSET} {$WIN}-{$WIN}\n",
            "    forward . 1.1.1.1 {\n",
            "        policy {$POLICY}\n",
            "    }\n",
            "}\n"
        ),
        VARS,
    );
    let b = &m.blocks[0];
    assert_eq!(toks(b, "log"), ["log", "x"]);
    assert_eq!(
        toks(b, "chaos"),
        // A value with spaces stays one token; unset becomes empty.
        [
            "chaos",
            "a b  c",
            "prewinpost",
            "win",
            "q example.org",
            "",
            "win-win"
        ]
    );
    assert_eq!(
        toks(b, "forward"),
        ["forward", ".", "1.1.1.1", "{", "policy", "random", "}"]
    );
}

#[test]
fn env_reference_edge_cases() {
    let m = ok_env(
        ". {\n    chaos {$ZONE {$} {%WIN%}{$WIN} {$INDIRECT} {%INDIRECT%} $ZONE {ZONE}\n}\n",
        VARS,
    );
    assert_eq!(
        toks(&m.blocks[0], "chaos"),
        [
            "chaos", "{$ZONE", // unterminated: literal
            "{$}",    // empty name: literal
            "winwin", "win", // a value holding a reference is expanded again
            "win", // `{%..%}` first, then `{$..}`
            "$ZONE", "{ZONE}"
        ]
    );
}

#[test]
fn env_substitution_is_per_token_after_lexing() {
    // `#` and quotes in a value are not re-lexed.
    let m = ok_env(". {\n    chaos {$V} x\n}\n", &[("V", "a # \"b\" {")]);
    assert_eq!(toks(&m.blocks[0], "chaos"), ["chaos", "a # \"b\" {", "x"]);
}

// ---------------------------------------------------------------- imports

#[test]
fn imports_are_relative_to_the_importing_file() {
    let t = TempDir::new("relative");
    let main = t.write(
        "Corefile",
        ". {\n    import conf/a.conf\n    whoami\n}\nimport blocks/b.conf\n",
    );
    t.write("conf/a.conf", "log\nimport nested/b.conf\n");
    t.write("conf/nested/b.conf", "errors\n");
    t.write(
        "blocks/b.conf",
        "b.org {\n    import ../conf/nested/b.conf\n}\n",
    );
    let m = load_path(&main, &[]);
    assert_ok(&m);
    assert_eq!(m.blocks.len(), 2);
    assert_eq!(names(&m.blocks[0]), ["errors", "log", "whoami"]);
    assert_eq!(keys(&m.blocks[1]), ["b.org"]);
    assert_eq!(names(&m.blocks[1]), ["errors"]);
    // Imported tokens carry their own file.
    let errors = &m.blocks[0].plugin("errors").unwrap().tokens[0];
    let file = m.sources.file(errors.span.file);
    assert_eq!(file.path, t.path().join("conf/nested/b.conf"));
    assert_eq!(file.name, file.path.to_string_lossy());
    assert_eq!(errors.line, 1);
    let importer = file.imported_from.expect("imported");
    assert_eq!(
        m.sources.file(importer.file).path,
        t.path().join("conf/a.conf")
    );
}

#[test]
fn absolute_and_env_import_paths() {
    let t = TempDir::new("absolute");
    let abs = t.write("elsewhere/x.conf", "log abs\n");
    t.write("conf/y.conf", "errors\n");
    let main = t.write(
        "Corefile",
        &format!(
            ". {{\n    import {}\n    import {{$CONF}}/y.conf\n}}\n",
            abs.display()
        ),
    );
    let m = load_path(&main, &[("CONF", "conf")]);
    assert_ok(&m);
    assert_eq!(names(&m.blocks[0]), ["errors", "log"]);
    assert_eq!(toks(&m.blocks[0], "log"), ["log", "abs"]);
}

#[test]
fn an_empty_file_imports_nothing() {
    let t = TempDir::new("empty");
    t.write("empty.conf", "");
    t.write("comments.conf", "# nothing here\n");
    let main = t.write(
        "Corefile",
        "import empty.conf\n. {\n    import comments.conf\n    whoami\n}\nimport empty.conf\n",
    );
    let m = load_path(&main, &[]);
    assert_ok(&m);
    assert_eq!(m.blocks.len(), 1);
    assert_eq!(names(&m.blocks[0]), ["whoami"]);
}

#[test]
fn a_glob_with_one_wildcard_imports_matches_in_name_order() {
    let t = TempDir::new("glob");
    t.write("zones/b.conf", "b.org {\n    log\n}\n");
    t.write("zones/a.conf", "a.org {\n    whoami\n}\n");
    t.write("zones/c.txt", "c.org {\n}\n");
    t.write("zones/sub/d.conf", "d.org {\n}\n");
    t.write("plugins/1.conf", "errors\n");
    t.write("plugins/2.conf", "cache 30\n");
    let main = t.write(
        "Corefile",
        "import zones/*.conf\n. {\n    import plugins/?.conf\n}\n",
    );
    let m = load_path(&main, &[]);
    assert_ok(&m);
    let k: Vec<Vec<&str>> = m.blocks.iter().map(keys).collect();
    assert_eq!(k, [["a.org"], ["b.org"], ["."]]);
    assert_eq!(names(&m.blocks[2]), ["errors", "cache"]);
}

#[test]
fn a_wildcard_may_be_in_a_directory_name() {
    let t = TempDir::new("globdir");
    t.write("site-a/zone.conf", "a.org {\n}\n");
    t.write("site-b/zone.conf", "b.org {\n}\n");
    t.write("other/zone.conf", "c.org {\n}\n");
    let main = t.write("Corefile", "import site-*/zone.conf\n");
    let m = load_path(&main, &[]);
    assert_ok(&m);
    let k: Vec<Vec<&str>> = m.blocks.iter().map(keys).collect();
    assert_eq!(k, [["a.org"], ["b.org"]]);
}

#[test]
fn imported_tokens_never_join_a_line_of_the_importing_file() {
    // `log` is on line 5 of its file; the main file's next token is on
    // line 3, which a line-number-only comparison would call the same line.
    let fs = embedded(&[("late.conf", "\n\n\n\nlog\n")]);
    let m = load_full(". {\n    import late.conf\n    whoami\n}\n", &fs, &[], "53");
    assert_ok(&m);
    let b = &m.blocks[0];
    assert_eq!(toks(b, "log"), ["log"]);
    assert_eq!(toks(b, "whoami"), ["whoami"]);
}

#[test]
fn import_is_only_recognised_at_the_start_of_a_line() {
    let fs = embedded(&[("x.conf", "errors\n")]);
    let m = load_full(
        ". {\n    log import x.conf\n    forward . 1.1.1.1 {\n        import x.conf\n    }\n}\n",
        &fs,
        &[],
        "53",
    );
    assert_ok(&m);
    let b = &m.blocks[0];
    assert_eq!(toks(b, "log"), ["log", "import", "x.conf"]);
    // Inside a directive block an import at a line start is expanded.
    assert_eq!(
        toks(b, "forward"),
        ["forward", ".", "1.1.1.1", "{", "errors", "}"]
    );
    assert!(b.plugin("errors").is_none());
}

#[test]
fn a_quoted_import_is_still_an_import() {
    let fs = embedded(&[("x.conf", "errors\n")]);
    let m = load_full(". {\n    \"import\" \"x.conf\"\n}\n", &fs, &[], "53");
    assert_ok(&m);
    assert_eq!(names(&m.blocks[0]), ["errors"]);
}

#[test]
fn embedded_files_load_like_real_ones() {
    // What `corec build` does: load from disk, embed the sources, load again
    // from the embedded copy. Both loads must agree.
    let t = TempDir::new("embed");
    t.write("zones/a.conf", "a.org {\n    whoami\n}\n");
    t.write("zones/b.conf", "b.org {\n    log\n}\n");
    t.write("zones/extra/c.conf", "errors\n");
    let main = t.write(
        "Corefile",
        "import zones/*.conf\n. {\n    import zones/extra/c.conf\n}\n",
    );
    let real = load_path(&main, &[]);
    assert_ok(&real);
    assert_eq!(real.blocks.len(), 3);
    let files = real.sources.embedded();
    let fs = EmbeddedFs::new(files.iter().map(|(p, t)| (p.as_str(), t.as_str())));
    let plugins = plugins();
    let env = |_: &str| None;
    let opts = LoadOptions {
        fs: &fs,
        env: &env,
        plugins: &plugins,
        dns_port: "53",
    };
    let again = load(&main, "Corefile", &opts);
    assert_ok(&again);
    assert_eq!(summary(&again), summary(&real));
    assert_eq!(again.fingerprint(), real.fingerprint());
}

// ---------------------------------------------------------------- snippets

#[test]
fn snippets_at_top_level_as_directives_and_inside_blocks() {
    let m = ok(concat!(
        "(common) {\n",
        "    log\n",
        "    errors\n",
        "}\n",
        "(zoneblock) {\n",
        "    b.org {\n",
        "        whoami\n",
        "    }\n",
        "}\n",
        "(opts) {\n",
        "    policy sequential\n",
        "}\n",
        "a.org {\n",
        "    import common\n",
        "    forward . 1.1.1.1 {\n",
        "        import opts\n",
        "    }\n",
        "}\n",
        "import zoneblock\n",
        "c.org {\n",
        "    import common\n",
        "}\n"
    ));
    assert_eq!(m.blocks.len(), 3);
    let [a, b, c] = &m.blocks[..] else {
        unreachable!()
    };
    assert_eq!(keys(a), ["a.org"]);
    assert_eq!(names(a), ["errors", "log", "forward"]);
    assert_eq!(
        toks(a, "forward"),
        ["forward", ".", "1.1.1.1", "{", "policy", "sequential", "}"]
    );
    assert_eq!(keys(b), ["b.org"]);
    assert_eq!(names(b), ["whoami"]);
    assert_eq!(keys(c), ["c.org"]);
    assert_eq!(names(c), ["errors", "log"]);
}

#[test]
fn snippet_bodies_are_substituted_when_imported() {
    let m = ok_env("(s) {\n    chaos {$ZONE}\n}\n. {\n    import s\n}\n", VARS);
    assert_eq!(toks(&m.blocks[0], "chaos"), ["chaos", "example.org"]);
}

#[test]
fn a_snippet_wins_over_a_file_of_the_same_name() {
    let fs = embedded(&[("common", "errors\n")]);
    let m = load_full(
        "(common) {\n    log\n}\n. {\n    import common\n}\n",
        &fs,
        &[],
        "53",
    );
    assert_ok(&m);
    assert_eq!(names(&m.blocks[0]), ["log"]);
}

#[test]
fn snippets_defined_in_an_imported_file() {
    let fs = embedded(&[("snippets.conf", "(common) {\n    log\n    whoami\n}\n")]);
    let m = load_full(
        "import snippets.conf\n. {\n    import common\n}\n",
        &fs,
        &[],
        "53",
    );
    assert_ok(&m);
    assert_eq!(m.blocks.len(), 1);
    assert_eq!(names(&m.blocks[0]), ["log", "whoami"]);
}

#[test]
fn a_snippet_may_import_an_earlier_snippet() {
    let m = ok(concat!(
        "(a) {\n    log\n}\n",
        "(b) {\n    import a\n    errors\n}\n",
        ". {\n    import b\n}\n"
    ));
    assert_eq!(names(&m.blocks[0]), ["errors", "log"]);
}

// ---------------------------------------------------------------- model

#[test]
fn fingerprint_ignores_comments_and_spacing_only() {
    let base = ok(". {\n    log a\n    whoami\n}\n").fingerprint();
    assert_eq!(
        ok(". {   # c\n\tlog   a # c \"x\"\n    whoami#c\n}\n# trailing\n").fingerprint(),
        base
    );
    // A changed argument, or a token moved to another line, is a change.
    assert_ne!(ok(". {\n    log b\n    whoami\n}\n").fingerprint(), base);
    assert_ne!(ok(". {\n    log a\n\n    whoami\n}\n").fingerprint(), base);
    assert_ne!(ok("\n. {\n    log a\n    whoami\n}\n").fingerprint(), base);
}
