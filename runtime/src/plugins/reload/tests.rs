use super::setup::ReloadConfig;
use super::watch::{Polled, digest_of_file, digest_of_sources, period};
use crate::plugin::Parse;
use crate::site::{NoCompiled, Site};
use crate::testing::{load, parse_err};
use corec_compiler::{Dispenser, RealFs};
use std::path::Path;
use std::time::Duration;

fn config(corefile: &str) -> ReloadConfig {
    let model = load(corefile);
    assert!(model.is_ok(), "{}", model.render_diagnostics());
    let used = model.blocks[0]
        .plugin("reload")
        .expect("a reload directive");
    let zones = model.blocks[0].zones();
    ReloadConfig::parse(&mut Dispenser::new("reload", &used.tokens, &zones)).expect("parses")
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

#[test]
fn interval_and_jitter() {
    for (line, interval, jitter) in [
        ("reload", secs(30), secs(15)),
        // JITTER is at most half of INTERVAL.
        ("reload 10s", secs(10), secs(5)),
        ("reload 2s", secs(2), secs(1)),
        ("reload 1m 20s", secs(60), secs(20)),
        ("reload 10s 9s", secs(10), secs(5)),
        ("reload 10s 1s", secs(10), secs(1)),
        ("reload 2s 0s", secs(2), Duration::ZERO),
        ("reload 5s 0", secs(5), Duration::ZERO),
        ("reload 1.5m", secs(90), secs(15)),
    ] {
        let c = config(&format!(". {{\n {line}\n}}"));
        assert_eq!((c.interval, c.jitter), (interval, jitter), "{line}");
    }
    assert_eq!(ReloadConfig::default(), config(". {\n reload\n}"));
}

#[test]
fn parse_errors() {
    for (corefile, want) in [
        (
            ". {\n reload 1s\n}",
            "plugin/reload: interval value must be greater or equal to 2s",
        ),
        (
            ". {\n reload -30s\n}",
            "interval value must be greater or equal to 2s",
        ),
        (
            ". {\n reload 10s 500ms\n}",
            "plugin/reload: jitter value must be 0 or greater or equal to 1s",
        ),
        (
            ". {\n reload 10s -1s\n}",
            "jitter value must be 0 or greater or equal to 1s",
        ),
        (
            ". {\n reload abc\n}",
            "plugin/reload: time: invalid duration \"abc\"",
        ),
        (
            ". {\n reload 30\n}",
            "time: missing unit in duration \"30\"",
        ),
        (
            ". {\n reload 30s 5x\n}",
            "time: unknown unit \"x\" in duration \"5x\"",
        ),
        (
            ". {\n reload 10s 2s 3s\n}",
            "Wrong argument count or unexpected line ending after '3s'",
        ),
        (
            ". {\n reload\n reload 10s\n}",
            "plugin/reload: this plugin can only be used once per Server Block",
        ),
        (
            ". {\n reload 10s {\n  every 5s\n }\n}",
            "plugin/reload: unknown property 'every'",
        ),
    ] {
        let got = parse_err(corefile);
        assert!(got.contains(want), "{corefile}\n--- got:\n{got}");
    }
}

#[test]
fn the_period_is_interval_plus_or_minus_half_the_jitter() {
    let cfg = ReloadConfig {
        interval: secs(10),
        jitter: secs(4),
    };
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..200 {
        let p = period(&cfg);
        assert!(p >= secs(8) && p < secs(12), "{p:?}");
        seen.insert(p);
    }
    assert!(seen.len() > 1, "jitter varies the period");
    let none = ReloadConfig {
        interval: secs(2),
        jitter: Duration::ZERO,
    };
    assert_eq!(period(&none), secs(2));
}

#[test]
fn the_last_block_with_reload_decides() {
    let model = load(
        "example.org {\n reload 10s\n whoami\n}\nexample.net {\n whoami\n}\nexample.com {\n reload 20s 0s\n whoami\n}\n",
    );
    let site = Site::<NoCompiled>::interpreted(model).expect("builds");
    assert_eq!(
        site.side.reload,
        Some(ReloadConfig {
            interval: secs(20),
            jitter: Duration::ZERO
        })
    );
    let none = Site::<NoCompiled>::interpreted(load(". {\n whoami\n}")).expect("builds");
    assert_eq!(none.side.reload, None);
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
}

fn parsed(path: &Path) -> super::watch::Digest {
    match digest_of_file(path) {
        Polled::Parsed(d) => d,
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_digest_follows_tokens_files_and_lines() {
    let dir = tempfile::tempdir().unwrap();
    let corefile = dir.path().join("Corefile");
    let snippet = dir.path().join("extra.conf");
    write(&snippet, "log\n");
    write(&corefile, ". {\n    whoami\n    import extra.conf\n}\n");
    let first = parsed(&corefile);
    assert_eq!(parsed(&corefile), first, "stable");
    assert_eq!(first.to_string().len(), 128, "SHA-512 in hex");

    // Comments and spacing within a line change nothing.
    write(
        &corefile,
        ". {   # the root\n    whoami   # hello\n    import   extra.conf\n}\n",
    );
    assert_eq!(parsed(&corefile), first);
    // Moving a token to another line does.
    write(&corefile, "\n. {\n    whoami\n    import extra.conf\n}\n");
    assert_ne!(parsed(&corefile), first);
    write(&corefile, ". {\n    whoami\n    import extra.conf\n}\n");
    assert_eq!(parsed(&corefile), first);
    // So does a change in an imported file.
    write(&snippet, "errors\n");
    assert_ne!(parsed(&corefile), first);
    write(&snippet, "log\n");
    assert_eq!(parsed(&corefile), first);

    // What the site was loaded from digests the same as the file.
    let model = crate::cli::load_with(&RealFs, &corefile, "Corefile", "53");
    assert!(model.is_ok(), "{}", model.render_diagnostics());
    assert_eq!(digest_of_sources(&model.sources), Some(first));

    // A Corefile that does not parse, and one that is not there.
    write(&corefile, ". {\n    whoami\n");
    match digest_of_file(&corefile) {
        Polled::Broken(why) => assert!(why.contains("expecting '}'"), "{why}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        digest_of_file(&dir.path().join("nothing")),
        Polled::Unreadable
    );
}

#[test]
fn the_digest_is_taken_before_validation() {
    // A directive with bad arguments parses: the reload it triggers fails
    // (and that failure is remembered), as in CoreDNS.
    let dir = tempfile::tempdir().unwrap();
    let corefile = dir.path().join("Corefile");
    write(&corefile, ". {\n    whoami extra\n}\n");
    assert!(matches!(digest_of_file(&corefile), Polled::Parsed(_)));
}
