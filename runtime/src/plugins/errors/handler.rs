use super::setup::{ErrorsConfig, Level};
use crate::plugin::{Handler, Outcome, Plugin, PluginError, Request, Setup};
use crate::plugins::log::format::TypeName;
use crate::site::BuildEnv;
use crate::wire::WireQuery;
use corec_compiler::Diagnostic;
use corec_compiler::duration::format_go_duration;
use regex::Regex;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The errors plugin: logs what the rest of the chain failed with.
#[derive(Debug)]
pub struct Errors {
    patterns: Vec<Arc<Pattern>>,
    shutdown: CancellationToken,
}

/// A `consolidate` line and its running count.
#[derive(Debug)]
struct Pattern {
    regex: Regex,
    period: Duration,
    /// The period as configured, printed Go-style in the summary.
    period_text: String,
    level: Level,
    show_first: bool,
    /// Matches since the window opened; the window opens at 0 → 1.
    count: AtomicU32,
}

impl Pattern {
    /// Closes the window: prints the summary unless the only match was
    /// already printed (`show_first`).
    fn flush(&self) {
        let n = self.count.swap(0, Ordering::AcqRel);
        if n > 1 || (n == 1 && !self.show_first) {
            emit(
                self.level,
                format_args!(
                    "{n} errors like '{}' occurred in last {}",
                    self.regex.as_str(),
                    self.period_text
                ),
            );
        }
    }
}

/// Logs one line at `level` with the `plugin/errors` prefix.
fn emit(level: Level, msg: fmt::Arguments<'_>) {
    match level {
        Level::Error => tracing::error!(target: "plugin/errors", "{msg}"),
        Level::Warning => tracing::warn!(target: "plugin/errors", "{msg}"),
        Level::Info => tracing::info!(target: "plugin/errors", "{msg}"),
        Level::Debug => tracing::debug!(target: "plugin/errors", "{msg}"),
    }
}

impl Errors {
    /// Counts an error against `p`. False when it must be printed now: it
    /// opened a `show_first` window, or the site is shutting down.
    fn consolidate(&self, p: &Arc<Pattern>) -> bool {
        if self.shutdown.is_cancelled() {
            return false;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return false;
        };
        if p.count.fetch_add(1, Ordering::AcqRel) > 0 {
            return true;
        }
        let (window, stop) = (Arc::clone(p), self.shutdown.clone());
        runtime.spawn(async move {
            tokio::select! {
                () = tokio::time::sleep(window.period) => {}
                () = stop.cancelled() => {}
            }
            window.flush();
        });
        !p.show_first
    }

    /// Logs (or counts) one failed query.
    fn report(&self, req: &Request, e: &PluginError) {
        let text = e.to_string();
        let mut level = Level::Error;
        if let Some(p) = self.patterns.iter().find(|p| p.regex.is_match(&text)) {
            if self.consolidate(p) {
                return;
            }
            level = p.level;
        }
        emit(
            level,
            format_args!(
                "{} {} {}: {text}",
                u16::from(e.rcode),
                req.name(),
                TypeName(req.qtype())
            ),
        );
    }
}

impl Plugin for Errors {
    const NAME: &'static str = "errors";

    async fn serve<'a, N: Handler>(&'a self, req: &'a mut Request, next: &'a N) -> Outcome {
        let outcome = next.handle(req).await;
        // A failed cache refresh is nobody's error: the entry stays (CoreDNS
        // does not report it either).
        if let Err(e) = &outcome
            && !req.refresh
        {
            self.report(req, e);
        }
        outcome
    }

    /// A fast answer is never an error: nothing to report.
    fn serve_wire<N: Handler>(&self, q: &WireQuery<'_>, out: &mut Vec<u8>, next: &N) -> bool {
        next.handle_wire(q, out)
    }
}

impl Setup for Errors {
    type Config = ErrorsConfig;

    fn build(cfg: ErrorsConfig, env: &mut BuildEnv<'_>) -> Result<Self, Diagnostic> {
        // `stacktrace` has nothing to switch on: panics are already logged
        // with their message, and Rust has no goroutine dump to add.
        let patterns = cfg
            .consolidate
            .into_iter()
            .map(|c| {
                Arc::new(Pattern {
                    regex: c.pattern,
                    period: Duration::from_nanos(c.period.max(0).unsigned_abs()),
                    period_text: format_go_duration(c.period),
                    level: c.level,
                    show_first: c.show_first,
                    count: AtomicU32::new(0),
                })
            })
            .collect();
        Ok(Errors {
            patterns,
            shutdown: env.shutdown(),
        })
    }
}
