//! Reload: re-read the Corefile, validate it, build the new site and swap
//! it in; on any error log the rendered diagnostics and keep serving the
//! old site. Triggered by SIGUSR1 (and later the `reload` plugin).

use crate::cli::load_for;
use crate::server::Server;
use crate::site::CompiledBlocks;
use corec_compiler::RealFs;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

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
}

impl<C: CompiledBlocks> Reloader<C> {
    /// A reloader for `server`, re-reading `source`.
    pub fn new(server: Arc<Server<C>>, source: ConfigSource, port: String) -> Self {
        Reloader {
            server,
            source,
            port,
            lock: tokio::sync::Mutex::new(()),
        }
    }

    /// Reloads now.
    pub async fn reload(&self) -> Reloaded {
        let _one_at_a_time = self.lock.lock().await;
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

/// Waits for signals: SIGUSR1 reloads, SIGTERM and SIGINT shut down, SIGHUP
/// is ignored (as in CoreDNS). Returns the exit code.
pub async fn signals<C: CompiledBlocks>(handlers: Signals, reloader: Arc<Reloader<C>>) -> ExitCode {
    let Signals {
        mut usr1,
        mut term,
        mut int,
        mut hup,
    } = handlers;
    loop {
        tokio::select! {
            _ = usr1.recv() => {
                let r = reloader.clone();
                // A reload must not hold up signal handling (a second SIGUSR1 queues behind it).
                tokio::spawn(async move { r.reload_logged("SIGUSR1").await; });
            }
            _ = term.recv() => {
                tracing::info!("SIGTERM: Shutting down servers then terminating");
                return ExitCode::SUCCESS;
            }
            _ = int.recv() => {
                tracing::info!("SIGINT: Shutting down servers then terminating");
                return ExitCode::SUCCESS;
            }
            _ = hup.recv() => {}
        }
    }
}
