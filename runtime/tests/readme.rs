//! Docs are tests: every `~~~ corefile` example in a plugin README must load
//! and build, and every plugin README has CoreDNS's sections.

use corec_runtime::cli::{build_site, load_text};
use corec_runtime::site::NoCompiled;
use std::path::Path;

fn corefile_blocks(readme: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    for line in readme.lines() {
        match (&mut current, line.trim()) {
            (None, "~~~ corefile") => current = Some(String::new()),
            (Some(_), "~~~") => out.push(current.take().expect("inside a block")),
            (Some(text), _) => {
                text.push_str(line);
                text.push('\n');
            }
            (None, _) => {}
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn plugin_readme_examples_load_and_build() {
    let plugins = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/plugins");
    let mut checked = 0;
    for entry in std::fs::read_dir(&plugins).unwrap() {
        let dir = entry.unwrap().path();
        if !dir.is_dir() {
            continue;
        }
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let readme = std::fs::read_to_string(dir.join("README.md"))
            .unwrap_or_else(|_| panic!("{name} has no README.md"));
        for section in ["## Name", "## Description", "## Syntax", "## Examples"] {
            assert!(readme.contains(section), "{name}/README.md lacks {section}");
        }
        let examples = corefile_blocks(&readme);
        assert!(
            !examples.is_empty(),
            "{name}/README.md has no ~~~ corefile example"
        );
        for text in examples {
            let model = load_text(&text, &format!("{name}/README.md"), "0");
            assert!(
                model.is_ok(),
                "{name}: {}\n{text}",
                model.render_diagnostics()
            );
            if let Err(e) = build_site::<NoCompiled>(model, false) {
                panic!("{name}: {e}\n{text}");
            }
            checked += 1;
        }
    }
    assert!(checked >= 7, "only {checked} examples found");
}
