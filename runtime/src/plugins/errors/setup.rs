//! `errors [stdout] { stacktrace; consolidate DURATION REGEXP [LEVEL] [show_first] }`

use crate::plugin::Parse;
use corec_compiler::diag::did_you_mean;
use corec_compiler::duration::parse_go_duration;
use corec_compiler::{Diagnostics, Dispenser};
use regex::Regex;

/// Longest REGEXP accepted, in bytes: compiling huge patterns costs memory.
pub const MAX_REGEXP_LEN: usize = 10_000;

/// The level a consolidated summary is logged at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// `warning`.
    Warning,
    /// `error` (the default).
    Error,
    /// `info`.
    Info,
    /// `debug`.
    Debug,
}

impl Level {
    /// The accepted spellings.
    pub const NAMES: [&'static str; 4] = ["warning", "error", "info", "debug"];

    /// Parses a level name.
    pub fn from_name(s: &str) -> Option<Level> {
        match s {
            "warning" => Some(Level::Warning),
            "error" => Some(Level::Error),
            "info" => Some(Level::Info),
            "debug" => Some(Level::Debug),
            _ => None,
        }
    }
}

/// One `consolidate` line.
#[derive(Debug, Clone)]
pub struct Consolidate {
    /// How long to count after the first match, in nanoseconds (Go semantics:
    /// may be zero or negative, which reports at once).
    pub period: i64,
    /// Errors whose text matches (anywhere) are counted.
    pub pattern: Regex,
    /// Level of the summary (and of the first error with `show_first`).
    pub level: Level,
    /// Log the first match at once; summarise only if more followed.
    pub show_first: bool,
}

/// The configuration of `errors`.
#[derive(Debug, Clone, Default)]
pub struct ErrorsConfig {
    /// `stacktrace` was given (accepted; corec prints no Go-style stacks).
    pub stacktrace: bool,
    /// The `consolidate` lines in order; the first matching one counts an error.
    pub consolidate: Vec<Consolidate>,
}

impl Parse for ErrorsConfig {
    fn parse(d: &mut Dispenser<'_>) -> Result<Self, Diagnostics> {
        d.once()?;
        let mut cfg = ErrorsConfig::default();
        while d.next() {
            match d.remaining_args().as_slice() {
                [] => {}
                [out] if out.text == "stdout" => {}
                [out] => {
                    return Err(d
                        .err_at(out, format!("invalid log file: {}", out.text))
                        .into());
                }
                _ => return Err(d.arg_err().into()),
            }
            while d.next_block() {
                match d.val() {
                    "stacktrace" => {
                        d.end_of_line()?;
                        cfg.stacktrace = true;
                    }
                    "consolidate" => cfg.consolidate.push(parse_consolidate(d)?),
                    _ => return Err(d.unknown_property(&["stacktrace", "consolidate"]).into()),
                }
            }
        }
        Ok(cfg)
    }
}

fn parse_consolidate(d: &mut Dispenser<'_>) -> Result<Consolidate, Diagnostics> {
    let args = d.remaining_args();
    if !(2..=4).contains(&args.len()) {
        return Err(d.arg_err().into());
    }
    let period = parse_go_duration(&args[0].text).map_err(|e| d.err_at(args[0], e))?;
    let text = &args[1].text;
    if text.len() > MAX_REGEXP_LEN {
        return Err(d
            .err_at(
                args[1],
                format!("regex pattern too long: {} > {MAX_REGEXP_LEN}", text.len()),
            )
            .into());
    }
    let pattern = Regex::new(text).map_err(|e| {
        let why = match e {
            regex::Error::Syntax(s) => s
                .lines()
                .last()
                .unwrap_or_default()
                .trim()
                .trim_start_matches("error: ")
                .to_string(),
            other => other.to_string(),
        };
        d.err_at(args[1], format!("error parsing regexp: {why}"))
    })?;
    let mut level = None;
    let mut show_first = false;
    for t in &args[2..] {
        if let Some(l) = Level::from_name(&t.text) {
            if level.is_some() {
                return Err(d
                    .err_at(t, "multiple log levels specified in consolidate")
                    .into());
            }
            if show_first {
                return Err(d
                    .err_at(t, "log level must come before show_first in consolidate")
                    .into());
            }
            level = Some(l);
        } else if t.text == "show_first" {
            show_first = true;
        } else {
            let mut diag = d.err_at(t, format!("unknown option in consolidate: {}", t.text));
            let known = Level::NAMES.iter().copied().chain(["show_first"]);
            if let Some(s) = did_you_mean(&t.text, known) {
                diag = diag.with_label(format!("did you mean '{s}'?"));
            }
            return Err(diag
                .with_note(
                    "consolidate accepts a level (warning, error, info, debug), then show_first",
                )
                .into());
        }
    }
    Ok(Consolidate {
        period,
        pattern,
        level: level.unwrap_or(Level::Error),
        show_first,
    })
}
