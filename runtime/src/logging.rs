//! Process log lines in CoreDNS's format: `[LEVEL] plugin/<name>: message`
//! on stdout, no timestamps. Plugins log with `tracing` and a target of
//! `plugin/<name>`; the query log uses the target `querylog` (no prefix).

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

static DEBUG: AtomicBool = AtomicBool::new(false);

/// Turns `[DEBUG]` lines on or off (the `debug` plugin, process wide).
pub fn set_debug(on: bool) {
    DEBUG.store(on, Ordering::Relaxed);
}

pub(crate) struct CorednsFormat;

impl<S, N> FormatEvent<S, N> for CorednsFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut w: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let level = match *event.metadata().level() {
            Level::ERROR => "ERROR",
            Level::WARN => "WARNING",
            Level::INFO => "INFO",
            _ => "DEBUG",
        };
        write!(w, "[{level}] ")?;
        let target = event.metadata().target();
        if target.starts_with("plugin/") {
            write!(w, "{target}: ")?;
        }
        ctx.field_format().format_fields(w.by_ref(), event)?;
        writeln!(w)
    }
}

/// Installs the process logger. Our own crates log at INFO and above
/// (DEBUG with the `debug` plugin); dependencies only at WARNING and above.
pub fn init() {
    use tracing_subscriber::prelude::*;
    let filter = tracing_subscriber::filter::filter_fn(|m| {
        let ours = m.target().starts_with("plugin/")
            || m.target() == "querylog"
            || m.target().starts_with("corec");
        match *m.level() {
            Level::ERROR | Level::WARN => true,
            Level::INFO => ours,
            _ => ours && DEBUG.load(Ordering::Relaxed),
        }
    });
    let layer = tracing_subscriber::fmt::layer()
        .event_format(CorednsFormat)
        .with_writer(std::io::stdout)
        .with_filter(filter);
    let _ = tracing_subscriber::registry().with(layer).try_init();
}
