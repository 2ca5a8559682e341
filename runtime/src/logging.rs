//! Process log lines on stdout, in one of two formats (`-log-format`):
//!
//! - `text` (default): CoreDNS's `[LEVEL] plugin/<name>: message`, no
//!   timestamps, byte for byte;
//! - `json`: one object per line,
//!   `{"ts":"2026-11-27T07:45:01.123456Z","level":"INFO","plugin":"reload","msg":"..."}`
//!   (`plugin` only on plugin lines), followed by the event's other fields.
//!
//! Plugins log with `tracing` and a target of `plugin/<name>`; the query log
//! uses the target `querylog` (no prefix in text, plugin `log` in JSON).

use std::fmt::{self, Write as _};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

static DEBUG: AtomicBool = AtomicBool::new(false);
static JSON: AtomicBool = AtomicBool::new(false);

/// Turns `[DEBUG]` lines on or off (the `debug` plugin, process wide).
pub fn set_debug(on: bool) {
    DEBUG.store(on, Ordering::Relaxed);
}

/// Whether the process logs JSON (for output that bypasses `tracing`, such
/// as the startup banner).
pub fn is_json() -> bool {
    JSON.load(Ordering::Relaxed)
}

/// The name of an event field holding structured data for the JSON format,
/// already rendered: its `Display` writes zero or more `,"key":value`
/// members, spliced into the object as they are. The text format leaves it
/// out, so producers can attach it unconditionally; it is rendered only when
/// a JSON line is written (the query log uses it for its placeholders).
pub const JSON_FIELDS: &str = "json_fields";

/// `-log-format`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// CoreDNS's lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

impl std::str::FromStr for LogFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            _ => Err(format!(
                "invalid value {s:?} for flag -log-format: want text or json"
            )),
        }
    }
}

/// CoreDNS's level names (WARN is `WARNING`), used by both formats.
fn level_name(level: Level) -> &'static str {
    match level {
        Level::ERROR => "ERROR",
        Level::WARN => "WARNING",
        Level::INFO => "INFO",
        _ => "DEBUG",
    }
}

/// Which fields a visit writes: the message alone, or everything else.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Pass {
    Message,
    Rest,
}

/// Writes an event's fields for the text format: the message, then any
/// other field as ` name=value` (no event carries one so far).
struct TextFields<'a> {
    out: &'a mut dyn fmt::Write,
    pass: Pass,
    result: fmt::Result,
}

impl Visit for TextFields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let message = field.name() == "message";
        if self.result.is_err()
            || field.name() == JSON_FIELDS
            || message != (self.pass == Pass::Message)
        {
            return;
        }
        self.result = if message {
            write!(self.out, "{value:?}")
        } else {
            write!(self.out, " {}={value:?}", field.name())
        };
    }
}

pub(crate) struct CorednsFormat;

impl<S, N> FormatEvent<S, N> for CorednsFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut w: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        write!(w, "[{}] ", level_name(*event.metadata().level()))?;
        let target = event.metadata().target();
        if target.starts_with("plugin/") {
            write!(w, "{target}: ")?;
        }
        for pass in [Pass::Message, Pass::Rest] {
            let mut v = TextFields {
                out: &mut w,
                pass,
                result: Ok(()),
            };
            event.record(&mut v);
            v.result?;
        }
        writeln!(w)
    }
}

/// Writes through JSON string escaping; the quotes are the caller's.
pub(crate) struct JsonEscape<'a, W: fmt::Write + ?Sized>(pub(crate) &'a mut W);

impl<W: fmt::Write + ?Sized> fmt::Write for JsonEscape<'_, W> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        // Copy runs of plain text at once. Every escaped byte is ASCII, so
        // the run boundaries are character boundaries.
        let mut start = 0;
        for (i, b) in s.bytes().enumerate() {
            let escaped = match b {
                b'"' => "\\\"",
                b'\\' => "\\\\",
                b'\n' => "\\n",
                b'\r' => "\\r",
                b'\t' => "\\t",
                0..=0x1f => "",
                _ => continue,
            };
            self.0.write_str(&s[start..i])?;
            if escaped.is_empty() {
                write!(self.0, "\\u{b:04x}")?;
            } else {
                self.0.write_str(escaped)?;
            }
            start = i + 1;
        }
        self.0.write_str(&s[start..])
    }
}

/// Writes `s` as a quoted, escaped JSON string.
pub(crate) fn write_json_str(out: &mut (impl fmt::Write + ?Sized), s: &str) -> fmt::Result {
    out.write_char('"')?;
    JsonEscape(out).write_str(s)?;
    out.write_char('"')
}

/// Writes an event's fields for the JSON format: the message's text alone
/// (inside the caller's quotes), or every other field as a member.
struct JsonFields<'a> {
    out: &'a mut dyn fmt::Write,
    pass: Pass,
    result: fmt::Result,
}

impl JsonFields<'_> {
    /// Writes a member whose value `value` writes, unless this pass skips it.
    fn member(&mut self, field: &Field, value: impl FnOnce(&mut dyn fmt::Write) -> fmt::Result) {
        if self.result.is_err() || self.pass != Pass::Rest || field.name() == "message" {
            return;
        }
        self.result = (|| {
            self.out.write_char(',')?;
            write_json_str(self.out, field.name())?;
            self.out.write_char(':')?;
            value(self.out)
        })();
    }
}

impl Visit for JsonFields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if self.result.is_err() {
            return;
        }
        match (self.pass, field.name()) {
            (Pass::Message, "message") => {
                self.result = write!(JsonEscape(self.out), "{value:?}");
            }
            (Pass::Rest, JSON_FIELDS) => self.result = write!(self.out, "{value:?}"),
            _ => self.member(field, |out| {
                out.write_char('"')?;
                write!(JsonEscape(out), "{value:?}")?;
                out.write_char('"')
            }),
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        match self.pass {
            // Unquoted, as the message is when it is format arguments.
            Pass::Message => self.record_debug(field, &format_args!("{value}")),
            Pass::Rest => self.member(field, |out| write_json_str(out, value)),
        }
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.member(field, |out| write!(out, "{value}"));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.member(field, |out| write!(out, "{value}"));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.member(field, |out| write!(out, "{value}"));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        // JSON has no NaN or infinity.
        if value.is_finite() {
            self.member(field, |out| write!(out, "{value}"));
        } else {
            self.member(field, |out| write!(out, "\"{value}\""));
        }
    }
}

pub(crate) struct JsonFormat;

impl<S, N> FormatEvent<S, N> for JsonFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut w: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        w.write_str("{\"ts\":\"")?;
        write_timestamp(&mut w, SystemTime::now())?;
        write!(w, "\",\"level\":\"{}\"", level_name(*meta.level()))?;
        let target = meta.target();
        let plugin = match target.strip_prefix("plugin/") {
            Some(p) => Some(p),
            None => (target == "querylog").then_some("log"),
        };
        if let Some(p) = plugin {
            w.write_str(",\"plugin\":")?;
            write_json_str(&mut w, p)?;
        }
        w.write_str(",\"msg\":\"")?;
        for pass in [Pass::Message, Pass::Rest] {
            let mut v = JsonFields {
                out: &mut w,
                pass,
                result: Ok(()),
            };
            event.record(&mut v);
            v.result?;
            if pass == Pass::Message {
                w.write_char('"')?;
            }
        }
        w.write_str("}\n")
    }
}

/// `t` as RFC 3339 UTC with microseconds, e.g. `2026-11-27T07:45:01.123456Z`.
pub(crate) fn write_timestamp(out: &mut impl fmt::Write, t: SystemTime) -> fmt::Result {
    // A clock before 1970 is printed as the epoch rather than failing a log line.
    let since = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (year, month, day) = civil_from_days((secs / 86_400) as i64);
    let of_day = secs % 86_400;
    write!(
        out,
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:06}Z",
        of_day / 3600,
        of_day / 60 % 60,
        of_day % 60,
        since.subsec_micros()
    )
}

/// The proleptic Gregorian date `days` after 1970-01-01, by Howard Hinnant's
/// `civil_from_days` (eras of 400 years, years starting in March so the
/// leap day is last).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468; // days since 0000-03-01
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // day of era, 0..=146096
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // 0..=399
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // day of March-based year, 0..=365
    let mp = (5 * doy + 2) / 153; // March-based month, 0..=11
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Installs the process logger. Our own crates log at INFO and above
/// (DEBUG with the `debug` plugin); dependencies only at WARNING and above.
pub fn init(format: LogFormat) {
    use tracing_subscriber::prelude::*;
    JSON.store(format == LogFormat::Json, Ordering::Relaxed);
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
    let layer = tracing_subscriber::fmt::layer().with_writer(std::io::stdout);
    let _ = match format {
        LogFormat::Text => tracing_subscriber::registry()
            .with(layer.event_format(CorednsFormat).with_filter(filter))
            .try_init(),
        LogFormat::Json => tracing_subscriber::registry()
            .with(layer.event_format(JsonFormat).with_filter(filter))
            .try_init(),
    };
}

#[cfg(test)]
mod tests;
