//! `corefile!("Corefile")`: the Corefile (with its imports) is loaded and
//! validated at compile time by the same front end and plugin parsers as
//! `corec check`, and expands to a `corec_runtime::CompiledSite` whose
//! server blocks are statically typed chains. Errors are reported by rustc
//! at the macro call, rendered with file:line:col, the line and a caret.
//! Editing the Corefile or a file it imports rebuilds the crate.
//!
//! The path is relative to the file containing the call (like
//! `include_str!`), falling back to the crate root. `{$ENV}` references
//! are validated with the build environment and substituted again when the
//! binary starts, as CoreDNS does.

use corec_compiler::codegen::{Options, expand, expand_errors};
use corec_compiler::{LoadOptions, RealFs};
use proc_macro::TokenStream;
use std::path::PathBuf;

/// Compiles a Corefile into a corec site. See the crate docs.
#[proc_macro]
pub fn corefile(input: TokenStream) -> TokenStream {
    let lit = match syn::parse::<syn::LitStr>(input) {
        Ok(l) => l,
        Err(e) => return e.to_compile_error().into(),
    };
    let opts = Options::default();
    let path = normalize(&resolve(&lit.value(), &lit));
    let name = lit.value();
    let env = |k: &str| std::env::var(k).ok();
    let model = corec_compiler::load(
        &path,
        &name,
        &LoadOptions {
            fs: &RealFs,
            env: &env,
            plugins: &corec_runtime::registry::PLUGINS,
            dns_port: "53",
        },
    );
    if !model.is_ok() {
        let messages: Vec<String> = model
            .diagnostics
            .0
            .iter()
            .filter(|d| d.is_error())
            .map(|d| {
                // rustc prints its own "error: " before the message.
                let r = d.render(&model.sources);
                r.strip_prefix("error: ")
                    .unwrap_or(&r)
                    .trim_end()
                    .to_string()
            })
            .collect();
        return expand_errors(&messages, lit.span(), &opts).into();
    }
    let abs = normalize(&std::path::absolute(&path).unwrap_or(path));
    expand(
        &model,
        &corec_runtime::registry::PLUGINS,
        &abs.to_string_lossy(),
        &opts,
    )
    .into()
}

/// Relative to the invoking file's directory when rustc can tell, else to
/// the crate root.
fn resolve(path: &str, lit: &syn::LitStr) -> PathBuf {
    let p = PathBuf::from(path);
    if p.is_absolute() {
        return p;
    }
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default());
    let caller = lit.span().unwrap().local_file();
    match caller.and_then(|f| f.parent().map(|d| d.to_path_buf())) {
        Some(dir) => {
            // rustc reports the file relative to its working directory.
            let dir = if dir.is_absolute() {
                dir
            } else {
                std::env::current_dir().unwrap_or(manifest).join(dir)
            };
            dir.join(&p)
        }
        None => manifest.join(p),
    }
}

/// `a/src/../b` → `a/b`, so messages and reload name the Corefile plainly.
fn normalize(path: &std::path::Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}
