//! A deterministic, always-on miniature of the `corefile_parse` fuzz target:
//! thousands of Corefiles assembled from syntax-heavy fragments must load
//! without panicking, with every span inside its file, and identically twice.

mod common;

use common::{ORDER, plugins};
use corec_compiler::{EmbeddedFs, LoadOptions, Model, Span, load_str};

/// xorshift64*: small, seedable, good enough to pick fragments.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const FRAGMENTS: &[&str] = &[
    "{",
    "}",
    "{",
    "}",
    "\n",
    "\n",
    "\n",
    " ",
    " ",
    "\t",
    "\r\n",
    "\r",
    ".",
    ".:53",
    "example.org",
    "EXAMPLE.ORG:1053",
    "a.org,",
    ",",
    "import",
    "import",
    "(s)",
    "s",
    "x.conf",
    "*.conf",
    "g?.conf",
    "missing.conf",
    "{$V}",
    "{$EMPTY}",
    "{%V%}",
    "{$",
    "log",
    "whoami",
    "forward",
    "errors",
    "sign",
    "whoam",
    "\"",
    "\"a b\"",
    "\"a\nb\"",
    "\\\"",
    "\\",
    "#",
    "# comment\n",
    "\u{feff}",
    "é",
    "ü.example",
    "\u{a0}",
    "\u{2028}",
    ":",
    "53",
    "10.0.0.0/15",
    "fd00::/8",
    "::/0",
    "tls://",
    "dns://",
    "grpc://x",
    "a..b",
    "\0",
];

fn random_corefile(rng: &mut Rng) -> String {
    let len = rng.below(48);
    let mut s = String::new();
    for _ in 0..len {
        s.push_str(FRAGMENTS[rng.below(FRAGMENTS.len())]);
    }
    s
}

fn fs() -> EmbeddedFs {
    let dir = std::env::current_dir().unwrap();
    let files: Vec<(String, &str)> = [
        ("x.conf", "log\n}\nimport s\n"),
        ("g1.conf", ". {\n    whoami\n"),
        ("g2.conf", "\"unterminated"),
        ("y.conf", "(s) {\n    errors\n}\n"),
    ]
    .into_iter()
    .map(|(p, t)| (dir.join(p).to_string_lossy().into_owned(), t))
    .collect();
    EmbeddedFs::new(files.iter().map(|(p, t)| (p.as_str(), *t)))
}

fn load(text: &str, fs: &EmbeddedFs) -> Model {
    let plugins = plugins();
    let env = |name: &str| match name {
        "V" => Some("v a l".to_string()),
        "EMPTY" => Some(String::new()),
        _ => None,
    };
    let opts = LoadOptions {
        fs,
        env: &env,
        plugins: &plugins,
        dns_port: "53",
    };
    load_str(text, "Corefile", &opts)
}

fn check_span(m: &Model, span: Span, what: &str) -> Result<(), String> {
    let files = m.sources.files();
    let Some(file) = files.get(span.file.0 as usize) else {
        return Err(format!("{what}: file {:?} of {}", span.file, files.len()));
    };
    if span.start > span.end || span.end > file.text.len() {
        return Err(format!(
            "{what}: span {}..{} outside {} ({} bytes)",
            span.start,
            span.end,
            file.name,
            file.text.len()
        ));
    }
    if !file.text.is_char_boundary(span.start) || !file.text.is_char_boundary(span.end) {
        return Err(format!(
            "{what}: span {}..{} splits a character",
            span.start, span.end
        ));
    }
    Ok(())
}

fn check(text: &str, fs: &EmbeddedFs) -> Result<(), String> {
    let m = load(text, fs);
    for d in &m.diagnostics.0 {
        if let Some(span) = d.span {
            check_span(&m, span, &d.message)?;
        }
    }
    for f in m.sources.files() {
        if let Some(site) = f.imported_from {
            check_span(&m, site, "imported_from")?;
        }
    }
    for b in &m.blocks {
        if b.keys.is_empty() {
            return Err("a block without keys".into());
        }
        for k in &b.keys {
            check_span(&m, k.span, "key")?;
        }
        let mut last = None;
        for p in &b.plugins {
            if ORDER[p.registry_index] != p.name {
                return Err(format!(
                    "{} has registry index {}",
                    p.name, p.registry_index
                ));
            }
            if last.is_some_and(|l| l >= p.registry_index) {
                return Err(format!("{} out of chain order or repeated", p.name));
            }
            last = Some(p.registry_index);
            if p.tokens.first().map(|t| t.text.as_str()) != Some(p.name) {
                return Err(format!("{}'s first token is not its name", p.name));
            }
            for t in &p.tokens {
                check_span(&m, t.span, &t.text)?;
            }
        }
    }
    let rendered = m.render_diagnostics();
    if m.is_ok() == rendered.contains("could not load the Corefile") {
        return Err(format!("is_ok() = {} but rendered:\n{rendered}", m.is_ok()));
    }
    let again = load(text, fs);
    if again.render_diagnostics() != rendered || again.fingerprint() != m.fingerprint() {
        return Err("two loads of the same text differ".into());
    }
    Ok(())
}

#[test]
fn random_corefiles_load_without_panics_and_with_valid_spans() {
    let fs = fs();
    let mut rng = Rng(0x0c0e_ec00_5eed_0001);
    let mut failures = Vec::new();
    for i in 0..3000 {
        let text = random_corefile(&mut rng);
        let outcome = std::panic::catch_unwind(|| check(&text, &fs));
        match outcome {
            Ok(Ok(())) => {}
            Ok(Err(e)) => failures.push(format!("case {i} {text:?}: {e}")),
            Err(_) => failures.push(format!("case {i} {text:?}: panicked")),
        }
        if failures.len() >= 5 {
            break;
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn arbitrary_bytes_load_without_panics() {
    let fs = fs();
    let mut rng = Rng(0x1234_5678_9abc_def1);
    for i in 0..2000 {
        let len = rng.below(64);
        let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let outcome = std::panic::catch_unwind(|| check(&text, &fs));
        assert!(
            matches!(outcome, Ok(Ok(()))),
            "case {i} {text:?}: {:?}",
            outcome.map_err(|_| "panicked")
        );
    }
}

/// Deep nesting and long inputs stay linear enough to load quickly.
#[test]
fn deep_nesting_and_many_blocks() {
    let fs = fs();
    let deep = format!(
        ". {{\n    log {}\n{}\n}}\n",
        "{ ".repeat(5000),
        "} ".repeat(5000)
    );
    check(&deep, &fs).unwrap();
    assert!(load(&deep, &fs).is_ok());
    let many: String = (0..2000)
        .map(|i| format!("z{i}.example {{\n    whoami\n}}\n"))
        .collect();
    let m = load(&many, &fs);
    assert!(m.is_ok(), "{}", m.render_diagnostics());
    assert_eq!(m.blocks.len(), 2000);
}
