//! Syntax of `header`:
//!
//! ```text
//! header {
//!     query|response set|clear FLAGS...
//! }
//! ```

use crate::plugin::Parse;
use corec_compiler::diag::did_you_mean;
use corec_compiler::{Diagnostic, Diagnostics, Dispenser, Token};

/// What a rule applies to.
const SELECTORS: [&str; 2] = ["query", "response"];
/// What a rule does.
const ACTIONS: [&str; 2] = ["set", "clear"];
/// The flags a rule can change.
const FLAGS: [&str; 3] = ["aa", "ra", "rd"];

/// The final state of each flag after a list of rules; `None` = unchanged.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rules {
    /// Authoritative Answer.
    pub aa: Option<bool>,
    /// Recursion Available.
    pub ra: Option<bool>,
    /// Recursion Desired.
    pub rd: Option<bool>,
}

impl Rules {
    /// Does this change nothing?
    pub fn is_empty(&self) -> bool {
        *self == Rules::default()
    }

    fn apply(&mut self, flag: &str, state: bool) {
        match flag {
            "aa" => self.aa = Some(state),
            "ra" => self.ra = Some(state),
            _ => self.rd = Some(state),
        }
    }
}

/// Configuration of `header`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HeaderConfig {
    /// Applied to the query before the next plugin sees it.
    pub query: Rules,
    /// Applied to the reply a later plugin wrote.
    pub response: Rules,
}

impl Parse for HeaderConfig {
    fn parse(d: &mut Dispenser<'_>) -> Result<Self, Diagnostics> {
        let mut errors = Diagnostics::default();
        let mut chosen: Option<HeaderConfig> = None;
        let mut first: Option<&Token> = None;
        while d.next() {
            first.get_or_insert_with(|| d.token().expect("next moved onto a token"));
            if let Some(arg) = d.remaining_args().first() {
                errors.push(
                    d.err_at(arg, format!("unexpected argument '{}'", arg.text))
                        .with_note(
                            "rules go in a block: header { query|response set|clear FLAGS... }",
                        ),
                );
            }
            let mut cfg = HeaderConfig::default();
            let mut lines = 0;
            while d.next_block() {
                lines += 1;
                if let Err(e) = rule(d, &mut cfg) {
                    errors.push(e);
                    // Skip the rest of the broken line.
                    d.remaining_args();
                }
            }
            // As in CoreDNS, the first `header` with rules is the one used.
            if lines > 0 && chosen.is_none() {
                chosen = Some(cfg);
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        chosen.ok_or_else(|| {
            let e = match first {
                Some(t) => d.err_at(t, "at least one rule is required"),
                None => d.err("at least one rule is required"),
            };
            e.with_note("write header { query|response set|clear FLAGS... }")
                .into()
        })
    }
}

/// Parses one `SELECTOR ACTION FLAGS...` line into `cfg`; the cursor is on SELECTOR.
fn rule(d: &mut Dispenser<'_>, cfg: &mut HeaderConfig) -> Result<(), Diagnostic> {
    let selector = d.token().expect("next_block moved onto a token");
    let rules = match selector.text.to_ascii_lowercase().as_str() {
        "query" => &mut cfg.query,
        "response" => &mut cfg.response,
        other => {
            let mut e = d.err(format!(
                "setting up rule: invalid selector={other} should be query or response"
            ));
            if let Some(s) = did_you_mean(other, SELECTORS) {
                e = e.with_label(format!("did you mean '{s}'?"));
            } else if ACTIONS.contains(&other) {
                e = e.with_label(format!("did you mean 'response {other}'?"));
            }
            return Err(e);
        }
    };
    if !d.next_arg() || d.val() == "{" {
        return Err(d.err_at(selector, "setting up rule: no flag action provided"));
    }
    let action = d.token().expect("next_arg moved onto a token");
    let flags = d.remaining_args();
    if flags.is_empty() {
        return Err(d.err_at(
            action,
            "setting up rule: invalid length for flags, at least one should be provided",
        ));
    }
    let state = match action.text.to_ascii_lowercase().as_str() {
        "set" => true,
        "clear" => false,
        other => {
            let mut e = d.err_at(
                action,
                format!("setting up rule: unknown flag action={other}, should be set or clear"),
            );
            if let Some(s) = did_you_mean(other, ACTIONS) {
                e = e.with_label(format!("did you mean '{s}'?"));
            }
            return Err(e);
        }
    };
    for flag in flags {
        let name = flag.text.to_ascii_lowercase();
        if !FLAGS.contains(&name.as_str()) {
            let mut e = d
                .err_at(
                    flag,
                    format!("setting up rule: unknown/unsupported flag={name}"),
                )
                .with_note(format!("supported flags: {}", FLAGS.join(", ")));
            if let Some(s) = did_you_mean(&name, FLAGS) {
                e = e.with_label(format!("did you mean '{s}'?"));
            }
            return Err(e);
        }
        rules.apply(&name, state);
    }
    Ok(())
}
