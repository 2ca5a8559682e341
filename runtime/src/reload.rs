//! Reload: re-read the Corefile, validate it, build the new site and swap
//! it in; on any error log the rendered diagnostics and keep serving the
//! old site. Triggered by SIGUSR1 and by the *reload* plugin's watcher
//! (`plugins/reload/watch.rs`), which the reloader runs for the serving site.

use crate::cli::load_for;
use crate::server::Server;
use crate::site::CompiledBlocks;
use corec_compiler::RealFs;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use tokio_util::sync::CancellationToken;

/// Where the configuration came from.
#[derive(Debug, Clone)]
pub enum ConfigSource {
    /// A Corefile on disk (`-conf`, `./Corefile`, or the path a compiled binary was built from).
    File(PathBuf),
    /// `-conf stdin`: cannot be re-read.
    Stdin,
    /// The built-in default (no Corefile found).
    Default,
}

/// What a reload did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reloaded {
    /// The Corefile has not changed; nothing was done.
    Unchanged,
    /// The new site is serving.
    Swapped,
    /// The new Corefile was rejected; the old site keeps serving.
    Failed(String),
}

/// Performs reloads for one server, one at a time.
#[derive(Debug)]
pub struct Reloader<C: CompiledBlocks> {
    server: Arc<Server<C>>,
    source: ConfigSource,
    port: String,
    lock: tokio::sync::Mutex<()>,
    /// Itself, once [`watch`](Self::watch) was called (the watcher holds it weakly).
    me: OnceLock<Weak<Self>>,
    /// Stops the running *reload* watcher.
    watcher: Mutex<Option<CancellationToken>>,
    /// Reloads the watcher triggered that failed (`coredns_reload_failed_total`).
    watch_failures: AtomicU64,
}

impl<C: CompiledBlocks> Reloader<C> {
    /// A reloader for `server`, re-reading `source`.
    pub fn new(server: Arc<Server<C>>, source: ConfigSource, port: String) -> Self {
        Reloader {
            server,
            source,
            port,
            lock: tokio::sync::Mutex::new(()),
            me: OnceLock::new(),
            watcher: Mutex::new(None),
            watch_failures: AtomicU64::new(0),
        }
    }

    /// Starts the *reload* plugin's Corefile watcher if the serving site
    /// has *reload*, and again after every successful reload.
    pub fn watch(self: &Arc<Self>) {
        let _ = self.me.set(Arc::downgrade(self));
        self.arm();
    }

    /// Stops the watcher (shutdown).
    pub fn stop_watching(&self) {
        if let Some(stop) = self.watcher.lock().expect("watcher").take() {
            stop.cancel();
        }
    }

    /// Reloads triggered by the *reload* plugin that failed.
    pub fn reload_failures(&self) -> u64 {
        self.watch_failures.load(Ordering::Relaxed)
    }

    pub(crate) fn count_watch_failure(&self) {
        self.watch_failures.fetch_add(1, Ordering::Relaxed);
        crate::metrics::core().reload_failed.inc();
    }

    /// (Re)starts the watcher for the serving site.
    fn arm(&self) {
        let mut running = self.watcher.lock().expect("watcher");
        if let Some(stop) = running.take() {
            stop.cancel();
        }
        let Some(me) = self.me.get().cloned() else {
            return; // not watching
        };
        let site = self.server.current();
        let Some(cfg) = site.side.reload else {
            return;
        };
        let path = match &self.source {
            ConfigSource::File(p) => p.clone(),
            ConfigSource::Default => PathBuf::from("Corefile"),
            ConfigSource::Stdin => {
                tracing::warn!(target: "plugin/reload", "the Corefile came from stdin: it cannot be watched");
                return;
            }
        };
        let stop = CancellationToken::new();
        *running = Some(stop.clone());
        crate::plugins::reload::watch::start(me, path, &cfg, &site.model.sources, stop);
    }

    /// Reloads now.
    pub async fn reload(&self) -> Reloaded {
        let _one_at_a_time = self.lock.lock().await;
        if self.server.is_draining() {
            return Reloaded::Failed("the server is shutting down".into());
        }
        let path = match &self.source {
            ConfigSource::File(p) => p.clone(),
            ConfigSource::Stdin => {
                return Reloaded::Failed(
                    "the Corefile came from stdin and cannot be re-read".into(),
                );
            }
            ConfigSource::Default => PathBuf::from("Corefile"),
        };
        let name = path.to_string_lossy().into_owned();
        let model = load_for::<C>(&RealFs, &path, &name, &self.port);
        if !model.is_ok() {
            return Reloaded::Failed(model.render_diagnostics());
        }
        let current = self.server.current();
        if model.fingerprint() == current.fingerprint {
            return Reloaded::Unchanged;
        }
        let was_compiled = current.is_compiled();
        drop(current);
        let debug = model.blocks.iter().any(|b| b.plugin("debug").is_some());
        let site = match crate::cli::build_site::<C>(model, false) {
            Ok(site) => site,
            Err(e) => return Reloaded::Failed(e),
        };
        if let Err(e) = self.server.replace(site) {
            return Reloaded::Failed(format!("Listen: {e}\n"));
        }
        crate::logging::set_debug(debug);
        if was_compiled {
            tracing::info!("running interpreted: Corefile changed since build");
        }
        self.arm();
        Reloaded::Swapped
    }

    /// Reloads and logs the outcome as CoreDNS does for SIGUSR1.
    pub async fn reload_logged(&self, trigger: &str) -> Reloaded {
        tracing::info!("{trigger}: Reloading");
        let r = self.reload().await;
        match &r {
            Reloaded::Unchanged => tracing::info!("{trigger}: Corefile unchanged, nothing to do"),
            Reloaded::Swapped => tracing::info!("Reloading complete"),
            Reloaded::Failed(why) => {
                tracing::error!(
                    "{trigger}: reload failed, still serving the previous configuration:\n{}",
                    why.trim_end()
                )
            }
        }
        r
    }
}

/// The signals corec handles, installed before anything is served: until a
/// handler exists, SIGUSR1 would kill the process (its default action).
#[derive(Debug)]
pub struct Signals {
    usr1: tokio::signal::unix::Signal,
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
}

impl Signals {
    /// Installs the handlers (inside the tokio runtime).
    pub fn install() -> std::io::Result<Signals> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Signals {
            usr1: signal(SignalKind::user_defined1())?,
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
            hup: signal(SignalKind::hangup())?,
        })
    }
}

impl Signals {
    /// Waits for SIGINT during shutdown: a second one quits at once (as in CoreDNS).
    pub async fn interrupted(&mut self) {
        self.int.recv().await;
    }
}

/// Waits for signals: SIGUSR1 reloads, SIGTERM and SIGINT return (the
/// caller then shuts down, see [`Server::shutdown`]), SIGHUP is ignored (as
/// in CoreDNS). Returns the exit code.
pub async fn signals<C: CompiledBlocks>(
    handlers: &mut Signals,
    reloader: Arc<Reloader<C>>,
) -> ExitCode {
    loop {
        tokio::select! {
            _ = handlers.usr1.recv() => {
                let r = reloader.clone();
                // A reload must not hold up signal handling (a second SIGUSR1 queues behind it).
                tokio::spawn(async move { r.reload_logged("SIGUSR1").await; });
            }
            _ = handlers.term.recv() => {
                tracing::info!("SIGTERM: Shutting down servers then terminating");
                return ExitCode::SUCCESS;
            }
            _ = handlers.int.recv() => {
                tracing::info!("SIGINT: Shutting down servers then terminating");
                return ExitCode::SUCCESS;
            }
            _ = handlers.hup.recv() => {}
        }
    }
}
