use super::setup::{Monitor, ReadyConfig};
use crate::plugin::{Handler, Outcome, Plugin, Request, Setup};
use crate::server::side::{Endpoint, resolve};
use crate::site::{BuildEnv, Readiness};
use crate::wire::WireQuery;
use corec_compiler::Diagnostic;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

/// Marker for the config-only `ready` directive; never part of a chain.
#[derive(Debug, Clone, Copy)]
pub struct Ready;

impl Plugin for Ready {
    const NAME: &'static str = "ready";

    async fn serve<'a, N: Handler>(&'a self, req: &'a mut Request, next: &'a N) -> Outcome {
        next.handle(req).await
    }

    fn serve_wire<N: Handler>(&self, q: &WireQuery<'_>, out: &mut Vec<u8>, next: &N) -> bool {
        next.handle_wire(q, out)
    }
}

impl Setup for Ready {
    type Config = ReadyConfig;

    fn build(cfg: ReadyConfig, env: &mut BuildEnv<'_>) -> Result<Self, Diagnostic> {
        let at = resolve(&cfg.address)
            .map_err(|e| Diagnostic::error(format!("plugin/ready: {e}"), cfg.span))?;
        env.config
            .side
            .http
            .push((at, Endpoint::Ready(cfg.monitor)));
        Ok(Ready)
    }
}

/// The readiness `/ready` reports on one address: the plugins of every
/// block naming that address that can tell. Built with each site, so a
/// reload starts over.
#[derive(Debug)]
pub struct ReadyState {
    monitor: Monitor,
    checks: Vec<Check>,
    /// What was last logged, so a probe every second does not repeat it.
    logged: Mutex<Option<String>>,
}

#[derive(Debug)]
struct Check {
    readiness: Readiness,
    /// Reported ready once (only consulted with `until-ready`).
    seen_ready: AtomicBool,
}

impl ReadyState {
    /// Readiness over `checks`, polled as `monitor` says.
    pub fn new(monitor: Monitor, checks: Vec<Readiness>) -> Self {
        ReadyState {
            monitor,
            checks: checks
                .into_iter()
                .map(|readiness| Check {
                    readiness,
                    seen_ready: AtomicBool::new(false),
                })
                .collect(),
            logged: Mutex::new(None),
        }
    }

    /// `None` when every plugin is ready, else the names of those that are
    /// not, sorted, each once, comma-separated.
    pub fn not_ready(&self) -> Option<String> {
        let mut waiting: Vec<&'static str> = Vec::new();
        for c in &self.checks {
            let latch = self.monitor == Monitor::UntilReady;
            if latch && c.seen_ready.load(Ordering::Relaxed) {
                continue;
            }
            if (c.readiness.check)() {
                if latch {
                    c.seen_ready.store(true, Ordering::Relaxed);
                }
            } else {
                waiting.push(c.readiness.plugin);
            }
        }
        waiting.sort_unstable();
        waiting.dedup();
        let now = (!waiting.is_empty()).then(|| waiting.join(","));
        if let Ok(mut last) = self.logged.lock()
            && *last != now
        {
            if let Some(names) = &now {
                tracing::info!(target: "plugin/ready", "Plugins not ready: {names:?}");
            }
            *last = now.clone();
        }
        now
    }
}
