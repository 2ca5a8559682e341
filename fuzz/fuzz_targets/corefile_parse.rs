//! Arbitrary bytes as a Corefile: loading must never panic, and every
//! diagnostic (and every token of the model) must point inside its file.

#![no_main]

use corec_compiler::{EmbeddedFs, LoadOptions, Model, Span, load_str};
use libfuzzer_sys::fuzz_target;
use std::sync::LazyLock;

/// A few files next to the (virtual) main Corefile, so `import` of a file,
/// a glob and a snippet-defining file are reachable.
static FS: LazyLock<EmbeddedFs> = LazyLock::new(|| {
    let dir = std::env::current_dir().unwrap_or_default();
    let files: Vec<(String, &str)> = [
        ("a.conf", "log\nerrors\n"),
        ("b.conf", ". {\n    whoami\n}\n"),
        ("s.conf", "(s) {\n    cache 30\n}\n"),
        ("q.conf", "\"unterminated\n"),
    ]
    .into_iter()
    .map(|(p, t)| (dir.join(p).to_string_lossy().into_owned(), t))
    .collect();
    EmbeddedFs::new(files.iter().map(|(p, t)| (p.as_str(), *t)))
});

fn env(name: &str) -> Option<String> {
    match name {
        "A" => Some("example.org".into()),
        "B" => Some("a b".into()),
        "EMPTY" => Some(String::new()),
        _ => None,
    }
}

fn assert_inside(model: &Model, span: Span, what: &str) {
    let files = model.sources.files();
    let file = files
        .get(span.file.0 as usize)
        .unwrap_or_else(|| panic!("{what}: unknown file {:?}", span.file));
    assert!(
        span.start <= span.end && span.end <= file.text.len(),
        "{what}: span {}..{} outside {} ({} bytes)",
        span.start,
        span.end,
        file.name,
        file.text.len()
    );
    assert!(
        file.text.is_char_boundary(span.start) && file.text.is_char_boundary(span.end),
        "{what}: span {}..{} splits a character",
        span.start,
        span.end
    );
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let opts = LoadOptions {
        fs: &*FS,
        env: &env,
        // The real registry: every plugin's own syntax check is fuzzed too.
        plugins: &corec_runtime::registry::PLUGINS,
        dns_port: "53",
    };
    let model = load_str(&text, "Corefile", &opts);
    for d in &model.diagnostics.0 {
        if let Some(span) = d.span {
            assert_inside(&model, span, &d.message);
        }
    }
    for f in model.sources.files() {
        if let Some(site) = f.imported_from {
            assert_inside(&model, site, "imported_from");
        }
    }
    for b in &model.blocks {
        for t in b
            .keys
            .iter()
            .chain(b.plugins.iter().flat_map(|p| &p.tokens))
        {
            assert_inside(&model, t.span, &t.text);
        }
    }
    // Rendering slices the source by these spans.
    let _ = model.render_diagnostics();
});
