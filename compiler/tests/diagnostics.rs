//! Golden tests of the rendered diagnostics.
//!
//! Every `tests/diagnostics/NAME.corefile` is loaded from disk (imports are
//! resolved next to it, under `tests/diagnostics/imports/`), its diagnostics
//! are rendered and compared with `NAME.stderr`. The absolute path of the
//! `tests/diagnostics` directory is written `$DIR` in the golden files.
//!
//! `BLESS=1 cargo test -p corec-compiler --test diagnostics` rewrites the
//! golden files from the current output.

mod common;

use common::{env, plugins};
use corec_compiler::source::FileId;
use corec_compiler::{
    EmbeddedFs, LoadOptions, Model, PluginSpec, RealFs, Severity, load, load_str,
};
use std::path::{Path, PathBuf};

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/diagnostics")
}

fn load_case(path: &Path, plugins: &[PluginSpec]) -> Model {
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let opts = LoadOptions {
        fs: &RealFs,
        env: &env,
        plugins,
        dns_port: "53",
    };
    load(path, &name, &opts)
}

fn normalise(rendered: &str, dir: &Path) -> String {
    rendered.replace(dir.to_str().expect("UTF-8 test path"), "$DIR")
}

fn cases(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("tests/diagnostics exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    out.sort();
    out
}

/// A line diff (longest common subsequence) that is readable in test output.
fn diff(expected: &str, actual: &str) -> String {
    let e: Vec<&str> = expected.lines().collect();
    let a: Vec<&str> = actual.lines().collect();
    // lcs[i][j]: length of the longest common subsequence of e[i..] and a[j..].
    let mut lcs = vec![vec![0usize; a.len() + 1]; e.len() + 1];
    for i in (0..e.len()).rev() {
        for j in (0..a.len()).rev() {
            lcs[i][j] = if e[i] == a[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut out = String::new();
    while i < e.len() || j < a.len() {
        if i < e.len() && j < a.len() && e[i] == a[j] {
            out.push_str(&format!("   {}\n", e[i]));
            i += 1;
            j += 1;
        } else if j < a.len() && (i == e.len() || lcs[i][j + 1] >= lcs[i + 1][j]) {
            out.push_str(&format!(" + {}\n", a[j]));
            j += 1;
        } else {
            out.push_str(&format!(" - {}\n", e[i]));
            i += 1;
        }
    }
    out
}

#[test]
fn golden_stderr() {
    let dir = cases_dir();
    let bless = std::env::var_os("BLESS").is_some_and(|v| v != "0" && !v.is_empty());
    let plugins = plugins();
    let corefiles = cases(&dir, "corefile");
    assert!(
        corefiles.len() >= 30,
        "only {} cases found",
        corefiles.len()
    );
    let mut failures = Vec::new();
    for path in &corefiles {
        let model = load_case(path, &plugins);
        let actual = normalise(&model.render_diagnostics(), &dir);
        let golden = path.with_extension("stderr");
        if bless {
            std::fs::write(&golden, &actual).unwrap();
            continue;
        }
        match std::fs::read_to_string(&golden) {
            Ok(expected) if expected == actual => {}
            Ok(expected) => failures.push(format!(
                "{}: output differs from {} (- expected, + actual):\n{}",
                path.display(),
                golden.display(),
                diff(&expected, &actual)
            )),
            Err(e) => failures.push(format!(
                "{}: cannot read {}: {e}; actual output:\n{actual}",
                path.display(),
                golden.display()
            )),
        }
    }
    // A golden file without its Corefile is a renamed or deleted case.
    for golden in cases(&dir, "stderr") {
        if !golden.with_extension("corefile").exists() {
            failures.push(format!("{}: no matching .corefile", golden.display()));
        }
    }
    assert!(
        failures.is_empty(),
        "{} golden mismatch(es); rerun with BLESS=1 to accept:\n\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The golden files must not be vacuous: every case named `ok_*` or
/// `warning_*` loads, every other case is rejected.
#[test]
fn case_names_match_outcome() {
    let dir = cases_dir();
    let plugins = plugins();
    for path in cases(&dir, "corefile") {
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        let model = load_case(&path, &plugins);
        if stem.starts_with("warning_") {
            assert!(
                model.is_ok(),
                "{stem} should load:\n{}",
                model.render_diagnostics()
            );
            assert!(
                model
                    .diagnostics
                    .0
                    .iter()
                    .any(|d| d.severity == Severity::Warning),
                "{stem} should warn"
            );
        } else {
            assert!(!model.is_ok(), "{stem} should be rejected");
        }
    }
}

/// Every error is reported at once: each broken block of the multi-error
/// case contributes its diagnostic, at its own line.
#[test]
fn all_errors_are_reported_at_once() {
    let dir = cases_dir();
    let model = load_case(&dir.join("many_errors.corefile"), &plugins());
    let errors: Vec<(usize, &str)> = model
        .diagnostics
        .0
        .iter()
        .filter(|d| d.is_error())
        .map(|d| {
            let span = d.span.expect("every error here has a place");
            assert_eq!(span.file, FileId(0), "{}", d.message);
            (
                model.sources.file(span.file).line_col(span.start).0,
                d.message.as_str(),
            )
        })
        .collect();
    for expected in [
        (2, "Unknown directive 'whoam'"),
        (3, "File to import not found: missing.conf"),
        (
            7,
            "error inspecting server blocks: zone is not a valid domain name: bad..zone",
        ),
        (
            11,
            "cannot serve dns://example.org.:53 - it is already defined",
        ),
        (12, "plugin 'sign' is not built into corec yet"),
        (15, "transport 'tls://' is not built into corec yet"),
        (17, "Unknown directive 'frobnicate'"),
        (23, "redeclaration of previously declared snippet snip"),
        (28, "Unexpected '}' because no matching opening brace"),
        (30, "Import takes only one argument (glob pattern or file)"),
        (31, "Unexpected EOF"),
    ] {
        assert!(
            errors.contains(&expected),
            "missing {expected:?} in {errors:#?}"
        );
    }
    // The valid directives of the broken blocks still reach the model.
    let shapes = model.shape();
    assert_eq!(shapes[0], ["log"], "{shapes:?}");
    assert!(shapes.contains(&vec!["cache"]), "{shapes:?}");
}

#[test]
fn missing_corefile_is_an_error_without_a_span() {
    let dir = cases_dir();
    let model = load_case(&dir.join("does-not-exist.corefile"), &plugins());
    assert!(!model.is_ok());
    assert_eq!(model.diagnostics.0.len(), 1);
    let d = &model.diagnostics.0[0];
    assert!(d.span.is_none());
    assert!(
        d.message.starts_with("could not read Corefile ")
            && d.message.contains("does-not-exist.corefile"),
        "{}",
        d.message
    );
    let rendered = normalise(&model.render_diagnostics(), &dir);
    assert!(
        rendered.starts_with("error: could not read Corefile $DIR/does-not-exist.corefile: "),
        "{rendered}"
    );
    assert!(
        rendered.ends_with("error: could not load the Corefile due to 1 previous error\n"),
        "{rendered}"
    );
}

fn load_text(text: &str, fs: &EmbeddedFs) -> Model {
    let plugins = plugins();
    let opts = LoadOptions {
        fs,
        env: &env,
        plugins: &plugins,
        dns_port: "53",
    };
    load_str(text, "Corefile", &opts)
}

fn error_messages(m: &Model) -> Vec<&str> {
    m.diagnostics
        .0
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.message.as_str())
        .collect()
}

/// A byte-order mark is not a column: an error on the first line of a file
/// that starts with one renders exactly as without it.
#[test]
fn a_bom_does_not_shift_the_first_line() {
    let fs = EmbeddedFs::default();
    let plain = load_text("example.org: {\n}\n", &fs).render_diagnostics();
    let bom = load_text("\u{feff}example.org: {\n}\n", &fs).render_diagnostics();
    assert!(plain.contains(" --> Corefile:1:1\n"), "{plain}");
    assert_eq!(bom, plain);
}

/// An unclosed directive block at the end of the file is one problem
/// (CoreDNS: `Unexpected EOF`), not two.
#[test]
fn an_unclosed_directive_block_is_reported_once() {
    let m = load_text(
        "example.org {\n    forward . 1.1.1.1 {\n        policy sequential\n",
        &EmbeddedFs::default(),
    );
    assert_eq!(error_messages(&m), ["Unexpected EOF"]);
}

/// A self-importing snippet is one problem; its later use must not add a
/// second, misleading "File to import not found".
#[test]
fn a_recursive_snippet_is_reported_once() {
    let m = load_text(
        "(loop) {\n    log\n    import loop\n}\n. {\n    import loop\n}\n",
        &EmbeddedFs::default(),
    );
    assert_eq!(
        error_messages(&m),
        ["maximum snippet import depth (10000) exceeded"]
    );
}

/// A file that imports itself hits the file import limit; the report stays
/// readable instead of listing one `imported from` note per expansion.
#[test]
fn a_self_importing_file_is_reported_briefly() {
    let dir = std::env::current_dir().unwrap();
    let path = dir.join("self.conf");
    let path = path.to_str().unwrap();
    let fs = EmbeddedFs::new([(path, "import self.conf\n")]);
    let m = load_text(". {\n    import self.conf\n}\n", &fs);
    assert_eq!(
        error_messages(&m),
        ["maximum file import depth (100000) exceeded"]
    );
    let rendered = m.render_diagnostics();
    assert!(
        rendered.len() < 16 * 1024,
        "{} bytes, {} lines of diagnostics",
        rendered.len(),
        rendered.lines().count()
    );
}
