//! Loading a Corefile into the validated model both back ends consume.

use crate::diag::{Diagnostic, Diagnostics};
use crate::dispenser::Dispenser;
use crate::keys::{self, Transport, ZoneAddr};
use crate::lexer::Token;
use crate::parser::{self, EnvLookup, ParseInput};
use crate::source::{FileSystem, SourceMap};
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::path::Path;

/// Checks one directive's tokens, returning its diagnostics.
pub type ValidateFn = fn(&mut Dispenser<'_>) -> Result<(), crate::Diagnostics>;

/// What the compiler knows about one directive; the runtime's registry is a
/// slice of these in chain order (CoreDNS's plugin.cfg).
#[derive(Debug, Clone, Copy)]
pub struct PluginSpec {
    /// Directive name.
    pub name: &'static str,
    /// Whether and how it is available.
    pub kind: PluginKind,
}

/// Availability of a directive.
#[derive(Debug, Clone, Copy)]
pub enum PluginKind {
    /// Implemented and linked.
    Available {
        /// Path of the plugin type below the runtime crate root, for code generation.
        rust_type: &'static str,
        /// Sets server configuration only; never part of a chain.
        config_only: bool,
        /// The plugin's syntax check.
        validate: ValidateFn,
    },
    /// CoreDNS has it; corec does not implement it yet.
    NotBuilt,
    /// Implemented, but this binary was built without it.
    NotLinked,
}

/// How to load.
pub struct LoadOptions<'a> {
    /// Where the Corefile and its imports are read from.
    pub fs: &'a dyn FileSystem,
    /// Environment for `{$VAR}`.
    pub env: EnvLookup<'a>,
    /// The plugin registry, in chain order.
    pub plugins: &'a [PluginSpec],
    /// Port for keys without one (`-dns.port`).
    pub dns_port: &'a str,
}

/// A loaded Corefile: its sources, every diagnostic, and the server blocks.
#[derive(Debug, Clone)]
pub struct Model {
    /// Every file read.
    pub sources: SourceMap,
    /// Errors and warnings, in source order of discovery.
    pub diagnostics: Diagnostics,
    /// Server blocks in Corefile order (snippets excluded).
    pub blocks: Vec<Block>,
}

/// One server block, validated.
#[derive(Debug, Clone)]
pub struct Block {
    /// Keys as written (after substitution).
    pub keys: Vec<Token>,
    /// The zone addresses the keys stand for, in key order.
    pub addrs: Vec<ZoneAddr>,
    /// Directives present, in registry (chain) order, occurrences merged.
    pub plugins: Vec<PluginUse>,
}

/// All occurrences of one directive in a block.
#[derive(Debug, Clone)]
pub struct PluginUse {
    /// Directive name.
    pub name: &'static str,
    /// Index in the registry.
    pub registry_index: usize,
    /// Tokens of every occurrence, in Corefile order.
    pub tokens: Vec<Token>,
    /// Where the directive first appears among the block's directives as
    /// written (imports expanded), since `plugins` is in chain order.
    pub written: usize,
}

impl Block {
    /// Distinct zones of the block, in key order.
    pub fn zones(&self) -> Vec<String> {
        let mut zones: Vec<String> = Vec::new();
        for a in &self.addrs {
            if !zones.contains(&a.zone) {
                zones.push(a.zone.clone());
            }
        }
        zones
    }

    /// The tokens of a directive, if present.
    pub fn plugin(&self, name: &str) -> Option<&PluginUse> {
        self.plugins.iter().find(|p| p.name == name)
    }
}

impl Model {
    /// True when there is no error (warnings allowed).
    pub fn is_ok(&self) -> bool {
        !self.diagnostics.has_errors()
    }

    /// All diagnostics rendered.
    pub fn render_diagnostics(&self) -> String {
        self.diagnostics.render(&self.sources)
    }

    /// A fingerprint of the configuration: every token's text, file and line,
    /// as CoreDNS's reload compares. Comment-only edits do not change it.
    pub fn fingerprint(&self) -> u64 {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        for b in &self.blocks {
            for k in &b.keys {
                (
                    &k.text,
                    self.sources.file(k.span.file).path.as_os_str(),
                    k.line,
                )
                    .hash(&mut h);
            }
            for p in &b.plugins {
                p.name.hash(&mut h);
                for t in &p.tokens {
                    (
                        &t.text,
                        self.sources.file(t.span.file).path.as_os_str(),
                        t.line,
                    )
                        .hash(&mut h);
                }
            }
            "}".hash(&mut h);
        }
        h.finish()
    }

    /// For each block, the names of the directives it uses, in chain order:
    /// the shape a compiled site was generated for.
    pub fn shape(&self) -> Vec<Vec<&'static str>> {
        self.blocks
            .iter()
            .map(|b| b.plugins.iter().map(|p| p.name).collect())
            .collect()
    }
}

/// Loads `path` (shown as `name` in diagnostics) and validates it.
pub fn load(path: &Path, name: &str, opts: &LoadOptions<'_>) -> Model {
    let mut sources = SourceMap::default();
    let mut diagnostics = Diagnostics::default();
    match opts.fs.read(path) {
        Ok(text) => {
            let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
            let id = sources.add(name.to_string(), abs, text, None);
            from_file(sources, id, opts)
        }
        Err(e) => {
            diagnostics.push(Diagnostic::error(
                format!("could not read Corefile {}: {e}", path.display()),
                None,
            ));
            Model {
                sources,
                diagnostics,
                blocks: Vec::new(),
            }
        }
    }
}

/// Loads Corefile text that is not in a file (e.g. `-conf stdin`, tests).
pub fn load_str(text: &str, name: &str, opts: &LoadOptions<'_>) -> Model {
    let mut sources = SourceMap::default();
    let dir = std::env::current_dir().unwrap_or_default();
    let id = sources.add(name.to_string(), dir.join(name), text.to_string(), None);
    from_file(sources, id, opts)
}

fn from_file(mut sources: SourceMap, main: crate::source::FileId, opts: &LoadOptions<'_>) -> Model {
    let names: Vec<&str> = opts.plugins.iter().map(|p| p.name).collect();
    let input = ParseInput {
        fs: opts.fs,
        env: opts.env,
        directives: &names,
    };
    let (parsed, mut diagnostics) = parser::parse(&mut sources, main, &input);
    let index: HashMap<&str, usize> = names.iter().enumerate().map(|(i, n)| (*n, i)).collect();
    let mut blocks = Vec::new();
    // A zone and port may repeat only on different `bind` addresses, so
    // those (as written) are part of a key's identity.
    let mut seen: HashMap<(ZoneAddr, Vec<String>), Token> = HashMap::new();
    for sb in parsed {
        let mut binds: Vec<String> = sb
            .directives
            .iter()
            .filter(|d| d.name == "bind")
            .flat_map(|d| d.tokens[1..].iter().map(|t| t.text.clone()))
            .collect();
        binds.sort();
        // Blocks with a `view` filter may share a zone and port with others:
        // each query goes to the first block whose filter admits it.
        let filtered = sb.directives.iter().any(|d| d.name == "view");
        let mut addrs = Vec::new();
        for key in &sb.keys {
            match keys::parse_key(&key.text, opts.dns_port) {
                Ok(zs) => {
                    for z in zs {
                        if z.transport != Transport::Dns {
                            diagnostics.push(
                                Diagnostic::error(
                                    format!(
                                        "transport '{}://' is not built into corec yet",
                                        z.transport.scheme()
                                    ),
                                    Some(key.span),
                                )
                                .with_note("corec serves dns:// (UDP and TCP) keys"),
                            );
                        }
                        let identity = (z.clone(), binds.clone());
                        if filtered {
                            // Never a conflict.
                        } else if let Some(first) = seen.get(&identity) {
                            diagnostics.push(
                                Diagnostic::error(
                                    format!("cannot serve {z} - it is already defined"),
                                    Some(key.span),
                                )
                                .with_note(format!(
                                    "first defined at {}",
                                    sources.location(first.span)
                                )),
                            );
                        } else {
                            seen.insert(identity, key.clone());
                        }
                        addrs.push(z);
                    }
                }
                Err(msg) => diagnostics.push(Diagnostic::error(
                    format!("error inspecting server blocks: {msg}"),
                    Some(key.span),
                )),
            }
        }
        let mut plugins: Vec<PluginUse> = Vec::new();
        for (written, d) in sb.directives.into_iter().enumerate() {
            let Some(&i) = index.get(d.name.as_str()) else {
                continue;
            };
            match plugins.iter_mut().find(|p| p.registry_index == i) {
                Some(p) => p.tokens.extend(d.tokens),
                None => plugins.push(PluginUse {
                    name: opts.plugins[i].name,
                    registry_index: i,
                    tokens: d.tokens,
                    written,
                }),
            }
        }
        plugins.sort_by_key(|p| p.registry_index);
        let block = Block {
            keys: sb.keys,
            addrs,
            plugins,
        };
        let zones = block.zones();
        for p in &block.plugins {
            let span = p.tokens.first().map(|t| t.span);
            match opts.plugins[p.registry_index].kind {
                PluginKind::Available { validate, .. } => {
                    let mut d = Dispenser::new(p.name, &p.tokens, &zones);
                    if let Err(errs) = validate(&mut d) {
                        diagnostics.extend(errs);
                    }
                }
                PluginKind::NotBuilt => diagnostics.push(Diagnostic::error(
                    format!("plugin '{}' is not built into corec yet", p.name),
                    span,
                )),
                PluginKind::NotLinked => diagnostics.push(
                    Diagnostic::error(
                        format!(
                            "no action found for directive '{}' with server type 'dns' (missing a plugin?)",
                            p.name
                        ),
                        span,
                    )
                    .with_note(format!("this binary was built without the '{}' plugin", p.name)),
                ),
            }
        }
        blocks.push(block);
    }
    // Report in source order, whichever stage found the problem.
    diagnostics
        .0
        .sort_by_key(|d| d.span.map(|s| (s.file, s.start)));
    Model {
        sources,
        diagnostics,
        blocks,
    }
}
