//! `corec build Corefile -o site-dns`: validates the Corefile, fills the
//! `templates/site` crate with the plugins it uses, and builds one optimised
//! binary with the Corefile baked in. Site builds share one target directory,
//! so after the first only the site crate itself is compiled.

use crate::cli::load_with;
use corec_compiler::{PluginKind, RealFs};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;
use toml_edit::{DocumentMut, Item, Table, value};

/// The corec source tree this binary was built from (`COREC_SOURCE` overrides).
pub fn source_root() -> PathBuf {
    std::env::var_os("COREC_SOURCE").map_or_else(
        || {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .parent()
                .expect("runtime/ has a parent")
                .to_path_buf()
        },
        PathBuf::from,
    )
}

/// Options of one build.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// The Corefile.
    pub corefile: PathBuf,
    /// Where the binary goes.
    pub output: PathBuf,
    /// Cargo profile (`release` unless `--profile` says otherwise).
    pub profile: String,
}

/// Parses `FILE -o OUT [--profile P]`.
pub fn parse_args(args: &[String]) -> Result<BuildOptions, String> {
    let mut corefile = None;
    let mut output = None;
    let mut profile = "release".to_string();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "-o" | "--output" => output = it.next().cloned(),
            "--profile" => profile = it.next().cloned().ok_or("--profile needs a value")?,
            f if f.starts_with('-') => return Err(format!("unknown flag {f}")),
            f if corefile.is_none() => corefile = Some(f.to_string()),
            f => return Err(format!("unexpected argument {f}")),
        }
    }
    let corefile = PathBuf::from(corefile.unwrap_or_else(|| "Corefile".into()));
    let output = PathBuf::from(output.ok_or("missing -o OUTPUT")?);
    Ok(BuildOptions {
        corefile,
        output,
        profile,
    })
}

/// `corec build`.
pub fn build_main(args: &[String]) -> ExitCode {
    let opts = match parse_args(args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!(
                "corec build: {e}\nusage: corec build FILE -o OUTPUT [--profile release|dev]"
            );
            return ExitCode::from(2);
        }
    };
    match build(&opts) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprint!("{e}");
            ExitCode::FAILURE
        }
    }
}

/// Builds a site binary; the error is printable as is.
pub fn build(opts: &BuildOptions) -> Result<(), String> {
    let started = Instant::now();
    let name = opts.corefile.to_string_lossy().into_owned();
    let model = load_with(&RealFs, &opts.corefile, &name, "53");
    if !model.is_ok() {
        return Err(model.render_diagnostics());
    }
    for b in &model.blocks {
        for p in &b.plugins {
            let spec = crate::registry::PLUGINS.iter().find(|s| s.name == p.name);
            if !matches!(spec.map(|s| s.kind), Some(PluginKind::Available { .. })) {
                return Err(format!("plugin '{}' cannot be compiled\n", p.name));
            }
        }
    }
    let corefile = std::path::absolute(&opts.corefile).map_err(|e| format!("{e}\n"))?;
    let root = source_root();
    let package = package_name(&opts.output);
    let work = root.join("target").join("corec-sites").join(&package);
    std::fs::create_dir_all(work.join("src"))
        .map_err(|e| format!("creating {}: {e}\n", work.display()))?;
    let template = root.join("templates").join("site");
    let manifest = manifest(&template, &root, &package)?;
    write(&work.join("Cargo.toml"), &manifest)?;
    let main = std::fs::read_to_string(template.join("src/main.rs"))
        .map_err(|e| format!("reading template: {e}\n"))?;
    let main = retarget_corefile(&main, &corefile.to_string_lossy())?;
    write(&work.join("src/main.rs"), &main)?;
    // The site resolves to exactly the dependency versions corec was tested with.
    let lock = root.join("Cargo.lock");
    if lock.exists() {
        std::fs::copy(&lock, work.join("Cargo.lock"))
            .map_err(|e| format!("copying Cargo.lock: {e}\n"))?;
    }
    let target = root.join("target").join("sites");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    eprintln!("corec build: compiling {} ({})", package, work.display());
    let status = Command::new(cargo)
        .arg("build")
        .arg("--profile")
        .arg(&opts.profile)
        .arg("--manifest-path")
        .arg(work.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", &target)
        .status()
        .map_err(|e| format!("running cargo: {e}\n"))?;
    if !status.success() {
        return Err(format!("cargo build failed ({status})\n"));
    }
    let dir = if opts.profile == "dev" {
        "debug"
    } else {
        opts.profile.as_str()
    };
    let built = target.join(dir).join(&package);
    std::fs::copy(&built, &opts.output)
        .map_err(|e| format!("copying {}: {e}\n", built.display()))?;
    eprintln!(
        "corec build: wrote {} in {:.1}s",
        opts.output.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    // Leave an unchanged file alone so cargo does not rebuild for nothing.
    if std::fs::read_to_string(path).is_ok_and(|old| old == text) {
        return Ok(());
    }
    std::fs::write(path, text).map_err(|e| format!("writing {}: {e}\n", path.display()))
}

/// A crate name from the output file name.
fn package_name(output: &Path) -> String {
    let stem = output
        .file_name()
        .map_or_else(|| "site".into(), |n| n.to_string_lossy().into_owned());
    let name: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    if name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        name
    } else {
        format!("site-{name}")
    }
}

/// The template's manifest made standalone: own name, path dependencies on
/// this source tree, and the workspace's release profile. Every site builds
/// the runtime identically, so a second site compiles only its own crate.
fn manifest(template: &Path, root: &Path, package: &str) -> Result<String, String> {
    let text = std::fs::read_to_string(template.join("Cargo.toml"))
        .map_err(|e| format!("reading template: {e}\n"))?;
    let mut doc: DocumentMut = text
        .parse()
        .map_err(|e| format!("template Cargo.toml: {e}\n"))?;
    let ws: DocumentMut = std::fs::read_to_string(root.join("Cargo.toml"))
        .map_err(|e| format!("reading workspace manifest: {e}\n"))?
        .parse()
        .map_err(|e| format!("workspace Cargo.toml: {e}\n"))?;
    let pkg = doc["package"]
        .as_table_mut()
        .ok_or("template has no [package]\n")?;
    pkg["name"] = value(package);
    for key in ["version", "edition", "rust-version", "license", "publish"] {
        if let Some(v) = ws["workspace"]["package"].get(key) {
            pkg[key] = v.clone();
        }
    }
    let mut deps = Table::new();
    let mut runtime = Table::new();
    runtime.set_implicit(true);
    runtime["path"] = value(root.join("runtime").to_string_lossy().as_ref());
    deps["corec-runtime"] = Item::Table(runtime);
    let mut macros = Table::new();
    macros["path"] = value(root.join("macros").to_string_lossy().as_ref());
    deps["corec-macros"] = Item::Table(macros);
    doc["dependencies"] = Item::Table(deps);
    doc.remove("lints");
    doc["workspace"] = Item::Table(Table::new());
    if let Some(profile) = ws.get("profile") {
        doc["profile"] = profile.clone();
    }
    Ok(doc.to_string())
}

/// Points the template's `corefile!("...")` at the Corefile being built.
fn retarget_corefile(main: &str, corefile: &str) -> Result<String, String> {
    let start = main
        .find("corefile!(\"")
        .ok_or("template main.rs has no corefile!(\"...\")\n")?
        + "corefile!(\"".len();
    let end = start
        + main[start..]
            .find('"')
            .ok_or("unterminated corefile! path\n")?;
    let escaped = corefile.replace('\\', "\\\\").replace('"', "\\\"");
    Ok(format!("{}{}{}", &main[..start], escaped, &main[end..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_and_names() {
        let o = parse_args(&["Corefile".into(), "-o".into(), "out/site-dns".into()]).unwrap();
        assert_eq!(o.output, PathBuf::from("out/site-dns"));
        assert_eq!(o.profile, "release");
        assert!(parse_args(&["Corefile".into()]).unwrap_err().contains("-o"));
        assert_eq!(package_name(Path::new("x/site-dns")), "site-dns");
        assert_eq!(package_name(Path::new("9.bin")), "site-9-bin");
    }

    #[test]
    fn retargets_the_macro_path() {
        let m = "fn main() { x(corefile!(\"../../Corefile.example\")) }";
        assert_eq!(
            retarget_corefile(m, "/a/\"b\"/Corefile").unwrap(),
            "fn main() { x(corefile!(\"/a/\\\"b\\\"/Corefile\")) }"
        );
    }
}
