//! The Corefile watcher *reload* asks for: every period it re-reads the
//! Corefile (and what it imports), parses it without validating it, and
//! compares a SHA-512 over the parsed server blocks (each token's text,
//! file and line) with the running configuration's. A change triggers the
//! same reload as SIGUSR1; a change that fails to load is remembered and
//! not retried until the file changes again.
//!
//! One watcher runs per process, owned by the [`Reloader`]: it is started
//! for the serving site when the server starts and again after every
//! successful reload (from whatever trigger), with that site's settings and
//! a new jitter; a site without *reload* stops it.

use super::setup::ReloadConfig;
use crate::reload::{Reloaded, Reloader};
use crate::site::CompiledBlocks;
use corec_compiler::parser::{self, ParseInput};
use corec_compiler::source::FileId;
use corec_compiler::{EmbeddedFs, FileSystem, RealFs, SourceMap, Token};
use std::path::{Path, PathBuf};
use std::sync::Weak;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// A SHA-512 of a parsed Corefile.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Digest([u8; 64]);

impl std::fmt::Display for Digest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl std::fmt::Debug for Digest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Digest({self})")
    }
}

/// What a look at the Corefile found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Polled {
    /// It could not be read (being replaced, removed): try again later.
    Unreadable,
    /// It does not parse; the rendered errors.
    Broken(String),
    /// It parses to this.
    Parsed(Digest),
}

/// Parses file `main` of `sources` (imports read from `fs`) and digests the
/// server blocks, or renders the parse errors.
fn digest(sources: &mut SourceMap, main: FileId, fs: &dyn FileSystem) -> Result<Digest, String> {
    let env = |k: &str| std::env::var(k).ok();
    let input = ParseInput {
        fs,
        env: &env,
        directives: &crate::registry::ORDER,
    };
    let (blocks, diags) = parser::parse(sources, main, &input);
    if diags.has_errors() {
        return Err(diags.render(sources));
    }
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA512);
    let mut feed = |bytes: &[u8]| {
        ctx.update(&(bytes.len() as u64).to_be_bytes());
        ctx.update(bytes);
    };
    let token = |feed: &mut dyn FnMut(&[u8]), t: &Token| {
        feed(t.text.as_bytes());
        feed(
            sources
                .file(t.span.file)
                .path
                .as_os_str()
                .as_encoded_bytes(),
        );
        feed(&t.line.to_be_bytes());
    };
    for b in &blocks {
        feed(b"block");
        for k in &b.keys {
            token(&mut feed, k);
        }
        for d in &b.directives {
            feed(b"directive");
            for t in &d.tokens {
                token(&mut feed, t);
            }
        }
    }
    let out = ctx.finish();
    let mut bytes = [0u8; 64];
    bytes.copy_from_slice(out.as_ref());
    Ok(Digest(bytes))
}

/// The Corefile at `path` now.
pub(crate) fn digest_of_file(path: &Path) -> Polled {
    let Ok(text) = RealFs.read(path) else {
        return Polled::Unreadable;
    };
    let mut sources = SourceMap::default();
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let id = sources.add(path.to_string_lossy().into_owned(), abs, text, None);
    match digest(&mut sources, id, &RealFs) {
        Ok(d) => Polled::Parsed(d),
        Err(why) => Polled::Broken(why),
    }
}

/// The configuration a site was loaded from (its files as they were read).
pub(crate) fn digest_of_sources(loaded: &SourceMap) -> Option<Digest> {
    let main = loaded.files().first()?;
    let files = loaded.embedded();
    let fs = EmbeddedFs::new(files.iter().map(|(p, t)| (p.as_str(), t.as_str())));
    let mut sources = SourceMap::default();
    let id = sources.add(
        main.name.clone(),
        main.path.clone(),
        main.text.clone(),
        None,
    );
    digest(&mut sources, id, &fs).ok()
}

/// INTERVAL ± JITTER/2, drawn at random.
pub(crate) fn period(cfg: &ReloadConfig) -> Duration {
    let jitter = cfg.jitter.as_nanos() as i64;
    if jitter <= 0 {
        return cfg.interval;
    }
    let offset = rand::random_range(0..jitter) - jitter / 2;
    let nanos = (cfg.interval.as_nanos() as i64 + offset).max(0);
    Duration::from_nanos(nanos as u64)
}

/// Starts watching `path` for the site loaded from `loaded`, until `stop`.
pub(crate) fn start<C: CompiledBlocks>(
    reloader: Weak<Reloader<C>>,
    path: PathBuf,
    cfg: &ReloadConfig,
    loaded: &SourceMap,
    stop: CancellationToken,
) {
    let running = digest_of_sources(loaded);
    if let Some(d) = running {
        tracing::info!(target: "plugin/reload", "Running configuration SHA512 = {d}");
        let info = &crate::metrics::core().reload_version;
        info.reset();
        info.with_label_values(&["sha512", &d.to_string()]).set(1);
    }
    tokio::spawn(poll(reloader, path, period(cfg), running, stop));
}

async fn poll<C: CompiledBlocks>(
    reloader: Weak<Reloader<C>>,
    path: PathBuf,
    every: Duration,
    mut known: Option<Digest>,
    stop: CancellationToken,
) {
    let mut warned: Option<String> = None;
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
        let p = path.clone();
        let Ok(polled) = tokio::task::spawn_blocking(move || digest_of_file(&p)).await else {
            continue;
        };
        let now = match polled {
            Polled::Unreadable => continue,
            Polled::Broken(why) => {
                // Said once per distinct problem, not at every look.
                if warned.as_deref() != Some(why.as_str()) {
                    tracing::warn!(target: "plugin/reload", "Corefile parse failed: {}", why.trim_end());
                    warned = Some(why);
                }
                continue;
            }
            Polled::Parsed(d) => d,
        };
        warned = None;
        if known == Some(now) {
            continue;
        }
        // Remembered even if the reload fails: a broken Corefile is not
        // tried again until it changes.
        known = Some(now);
        let Some(r) = reloader.upgrade() else { return };
        if stop.is_cancelled() {
            return;
        }
        tracing::info!("Reloading");
        match r.reload().await {
            // The new site started a watcher of its own (or none).
            Reloaded::Swapped => {
                tracing::info!("Reloading complete");
                return;
            }
            Reloaded::Unchanged => {}
            Reloaded::Failed(why) => {
                r.count_watch_failure();
                tracing::error!(
                    target: "plugin/reload",
                    "Corefile changed but reload failed: {}",
                    why.trim_end()
                );
            }
        }
    }
}
