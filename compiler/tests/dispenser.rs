//! The Dispenser plugins parse their tokens with, on tokens produced by the
//! real loader: caddy's `Next`/`NextArg`/`NextLine`/`NextBlock`/
//! `RemainingArgs` semantics and the CoreDNS-worded errors.

mod common;

use common::plugins;
use corec_compiler::{Dispenser, EmbeddedFs, LoadOptions, Model, load_str};

fn model(text: &str) -> Model {
    let plugins = plugins();
    let env = |_: &str| None;
    let opts = LoadOptions {
        fs: &EmbeddedFs::default(),
        env: &env,
        plugins: &plugins,
        dns_port: "53",
    };
    let m = load_str(text, "Corefile", &opts);
    assert!(m.is_ok(), "{}", m.render_diagnostics());
    m
}

/// Runs `f` on a dispenser over directive `name` of the first block.
fn with<R>(text: &str, name: &str, f: impl FnOnce(&mut Dispenser<'_>, &Model) -> R) -> R {
    let m = model(text);
    let b = &m.blocks[0];
    let zones = b.zones();
    let p = b.plugin(name).expect("directive present");
    let mut d = Dispenser::new(p.name, &p.tokens, &zones);
    f(&mut d, &m)
}

fn texts<'a>(tokens: impl IntoIterator<Item = &'a corec_compiler::Token>) -> Vec<&'a str> {
    tokens.into_iter().map(|t| t.text.as_str()).collect()
}

#[test]
fn next_walks_every_occurrence_and_remaining_args_stays_on_its_line() {
    let text =
        ". {\n    forward . 1.1.1.1 8.8.8.8\n    whoami\n    forward example.org 9.9.9.9\n}\n";
    with(text, "forward", |d, _| {
        assert_eq!(d.val(), "");
        assert!(d.next());
        assert_eq!(d.val(), "forward");
        assert_eq!(texts(d.remaining_args()), [".", "1.1.1.1", "8.8.8.8"]);
        assert!(!d.next_arg());
        assert!(d.next());
        assert_eq!(d.val(), "forward");
        assert_eq!(texts(d.remaining_args()), ["example.org", "9.9.9.9"]);
        assert!(!d.next());
    });
}

#[test]
fn next_line_moves_only_to_a_new_line() {
    let text = ". {\n    log a b\n    log c\n}\n";
    with(text, "log", |d, _| {
        assert!(d.next_line()); // the first token starts a line
        assert_eq!(d.val(), "log");
        assert!(!d.next_line());
        assert!(d.next_arg());
        assert!(d.next_arg());
        assert_eq!(d.val(), "b");
        assert!(d.next_line());
        assert_eq!(d.val(), "log");
        assert!(d.next_arg());
        assert_eq!(d.val(), "c");
        assert!(!d.next_line());
        assert!(!d.next_arg());
    });
}

#[test]
fn next_block_walks_one_level_of_a_block() {
    let text = concat!(
        ". {\n",
        "    forward . 1.1.1.1 {\n",
        "        policy random\n",
        "        max_fails 3\n",
        "    }\n",
        "    forward example.org 9.9.9.9\n",
        "}\n"
    );
    with(text, "forward", |d, _| {
        assert!(d.next());
        assert_eq!(texts(d.remaining_args()), [".", "1.1.1.1"]);
        let mut props = Vec::new();
        while d.next_block() {
            assert!(d.in_block());
            let name = d.val().to_string();
            let args: Vec<String> = d
                .remaining_args()
                .into_iter()
                .map(|t| t.text.clone())
                .collect();
            props.push((name, args));
        }
        assert_eq!(
            props,
            [
                ("policy".to_string(), vec!["random".to_string()]),
                ("max_fails".to_string(), vec!["3".to_string()])
            ]
        );
        assert_eq!(d.val(), "}");
        assert!(!d.in_block());
        assert!(d.next());
        assert_eq!(d.val(), "forward");
        assert!(!d.next_block());
        assert_eq!(d.val(), "forward", "no block: the cursor stays put");
    });
}

#[test]
fn next_block_without_a_brace_does_not_move() {
    with(". {\n    cache 30\n}\n", "cache", |d, _| {
        assert!(d.next());
        assert!(d.next_arg());
        assert_eq!(d.val(), "30");
        assert!(!d.next_block());
        assert_eq!(d.val(), "30");
        assert!(!d.in_block());
    });
}

#[test]
fn an_empty_block_is_entered_and_left_at_once() {
    with(
        ". {\n    cache {\n    }\n    whoami\n}\n",
        "cache",
        |d, _| {
            assert!(d.next());
            assert!(!d.next_block());
            assert_eq!(d.val(), "}");
            assert!(!d.in_block());
            assert!(!d.next());
        },
    );
}

#[test]
fn remaining_args_counts_lines_inside_quoted_tokens() {
    with(". {\n    log \"a\nb\" c\n    log d\n}\n", "log", |d, _| {
        assert!(d.next());
        assert_eq!(texts(d.remaining_args()), ["a\nb", "c"]);
        assert!(d.next());
        assert_eq!(texts(d.remaining_args()), ["d"]);
    });
}

#[test]
fn argument_errors_are_worded_like_coredns() {
    with(". {\n    errors\n}\n", "errors", |d, _| {
        assert!(d.next());
        let e = d.arg().unwrap_err();
        assert_eq!(
            e.message,
            "plugin/errors: Wrong argument count or unexpected line ending after 'errors'"
        );
        assert!(e.is_error());
    });
    with(". {\n    errors {\n    }\n}\n", "errors", |d, _| {
        assert!(d.next());
        assert_eq!(
            d.arg().unwrap_err().message,
            "plugin/errors: Unexpected token '{', expecting argument"
        );
    });
    with(". {\n    cache abc\n}\n", "cache", |d, m| {
        assert!(d.next());
        let e = d.parse_arg::<u32>("TTL").unwrap_err();
        assert_eq!(e.message, "plugin/cache: invalid TTL 'abc'");
        let span = e.span.unwrap();
        assert_eq!(&m.sources.file(span.file).text[span.start..span.end], "abc");
    });
    with(". {\n    whoami extra\n}\n", "whoami", |d, _| {
        assert!(d.next());
        assert_eq!(
            d.end_of_line().unwrap_err().message,
            "plugin/whoami: unexpected argument 'extra'"
        );
    });
    with(". {\n    cache 30 {\n    }\n}\n", "cache", |d, _| {
        assert!(d.next());
        assert_eq!(d.parse_arg::<u32>("TTL").unwrap(), 30);
        d.end_of_line().unwrap();
        // end_of_line leaves the block for next_block.
        assert!(!d.next_block());
        assert_eq!(d.val(), "}");
    });
}

#[test]
fn unknown_property_suggests_and_lists() {
    with(
        ". {\n    cache {\n        sucess 10\n    }\n}\n",
        "cache",
        |d, _| {
            assert!(d.next());
            assert!(d.next_block());
            let e = d.unknown_property(&["success", "denial", "prefetch"]);
            assert_eq!(e.message, "plugin/cache: unknown property 'sucess'");
            assert_eq!(e.label.as_deref(), Some("did you mean 'success'?"));
            assert_eq!(e.notes, ["cache accepts: success, denial, prefetch"]);
        },
    );
}

#[test]
fn once_rejects_a_second_occurrence_only() {
    with(". {\n    cache 30\n    cache 60\n}\n", "cache", |d, m| {
        let e = d.once().unwrap_err();
        assert_eq!(
            e.message,
            "plugin/cache: this plugin can only be used once per Server Block"
        );
        assert_eq!(m.sources.location(e.span.unwrap()), "Corefile:3:5");
    });
    // The plugin's name as an argument is not an occurrence.
    with(". {\n    cache 30 cache\n}\n", "cache", |d, _| {
        d.once().unwrap();
    });
}

#[test]
fn origins_default_to_the_block_zones_and_expand_arguments() {
    let text = "example.org EXAMPLE.org:1053 10.0.0.0/15 {\n    file db a..b EXAMPLE.NET. 10.0.0.0/15:53\n}\n";
    with(text, "file", |d, _| {
        assert_eq!(
            d.origins(&[]),
            ["example.org.", "0.10.in-addr.arpa.", "1.10.in-addr.arpa."]
        );
        assert!(d.next());
        let args = d.remaining_args();
        // `db` is a valid name too; `a..b` is dropped.
        assert_eq!(
            d.origins(&args[1..]),
            ["example.net.", "0.10.in-addr.arpa.", "1.10.in-addr.arpa."]
        );
    });
}

/// CoreDNS's `OriginsFromArgsOrServerBlock` strips a transport prefix
/// (`plugin.Host.NormalizeExact` calls `parse.Transport` first).
#[test]
fn origins_strip_a_transport_prefix() {
    with(
        ". {\n    file db dns://example.org tls://example.net:853\n}\n",
        "file",
        |d, _| {
            assert!(d.next());
            let args = d.remaining_args();
            assert_eq!(d.origins(&args[1..]), ["example.org.", "example.net."]);
        },
    );
}

#[test]
fn the_cursor_stops_on_the_last_token() {
    with(". {\n    log a\n}\n", "log", |d, m| {
        while d.next() {}
        let span = d.span().unwrap();
        assert_eq!(&m.sources.file(span.file).text[span.start..span.end], "a");
    });
}
