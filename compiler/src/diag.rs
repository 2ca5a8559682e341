//! Diagnostics: values with spans, collected, rendered one way everywhere
//! (CLI, macro, reload log).

use crate::source::{SourceMap, Span};
use std::fmt::Write as _;

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// The Corefile is rejected.
    Error,
    /// Reported, but the Corefile loads.
    Warning,
}

/// One problem found in a Corefile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// The headline, worded like CoreDNS's message for the same problem.
    pub message: String,
    /// Where; `None` for problems with no place in a file (e.g. a missing Corefile).
    pub span: Option<Span>,
    /// Text printed beside the caret.
    pub label: Option<String>,
    /// `= note:` lines.
    pub notes: Vec<String>,
}

impl Diagnostic {
    /// An error at a span.
    pub fn error(message: impl Into<String>, span: Option<Span>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            message: message.into(),
            span,
            label: None,
            notes: Vec::new(),
        }
    }

    /// A warning at a span.
    pub fn warning(message: impl Into<String>, span: Option<Span>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Self::error(message, span)
        }
    }

    /// Adds the caret label.
    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    /// Adds a note.
    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    /// Is this an error?
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// Renders rustc-style:
    ///
    /// ```text
    /// error: Unknown directive 'whoam'
    ///  --> Corefile:2:5
    ///   |
    /// 2 |     whoam
    ///   |     ^^^^^ did you mean 'whoami'?
    /// ```
    pub fn render(&self, sources: &SourceMap) -> String {
        let mut out = String::new();
        let kind = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let _ = writeln!(out, "{kind}: {}", self.message);
        if let Some(span) = self.span {
            let file = sources.file(span.file);
            let (line, col) = file.line_col(span.start);
            let text = file.line_text(line);
            let gutter = " ".repeat(line.to_string().len());
            let _ = writeln!(out, "{gutter}--> {}:{line}:{col}", file.name);
            let _ = writeln!(out, "{gutter} |");
            let _ = writeln!(out, "{line} | {}", text.replace('\t', " "));
            let start = span.start;
            let end = span.end.min(file.line_span(line).1).max(start);
            let width = file.text[start..end].chars().count().max(1);
            let _ = write!(
                out,
                "{gutter} | {}{}",
                " ".repeat(col - 1),
                "^".repeat(width)
            );
            if let Some(label) = &self.label {
                let _ = write!(out, " {label}");
            }
            out.push('\n');
            let mut chain = Vec::new();
            let mut from = file.imported_from;
            while let Some(site) = from {
                chain.push(site);
                from = sources.file(site.file).imported_from;
            }
            // A self-importing file nests up to the import limit: show both
            // ends of a long chain only.
            const ENDS: usize = 4;
            for (i, site) in chain.iter().enumerate() {
                if chain.len() > 2 * ENDS && i == ENDS {
                    let skipped = chain.len() - 2 * ENDS;
                    let _ = writeln!(
                        out,
                        "{gutter} = note: ... {skipped} more nested imports ..."
                    );
                }
                if chain.len() <= 2 * ENDS || i < ENDS || i >= chain.len() - ENDS {
                    let _ = writeln!(
                        out,
                        "{gutter} = note: imported from {}",
                        sources.location(*site)
                    );
                }
            }
        }
        for note in &self.notes {
            let pad = self
                .span
                .map(|s| " ".repeat(sources.file(s.file).line_col(s.start).0.to_string().len()))
                .unwrap_or_default();
            let _ = writeln!(out, "{pad} = note: {note}");
        }
        out
    }

    /// One line in CoreDNS's format: `Corefile:3 - Error during parsing: <message>`.
    pub fn one_line(&self, sources: &SourceMap) -> String {
        match self.span {
            Some(span) => {
                let file = sources.file(span.file);
                let (line, _) = file.line_col(span.start);
                format!("{}:{line} - {}", file.name, self.message)
            }
            None => self.message.clone(),
        }
    }
}

/// An accumulator of diagnostics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    /// Adds one.
    pub fn push(&mut self, d: Diagnostic) {
        self.0.push(d);
    }

    /// True if any is an error.
    pub fn has_errors(&self) -> bool {
        self.0.iter().any(Diagnostic::is_error)
    }

    /// Renders all, separated by blank lines, with a summary line when there are errors.
    pub fn render(&self, sources: &SourceMap) -> String {
        let mut out: Vec<String> = self.0.iter().map(|d| d.render(sources)).collect();
        let errors = self.0.iter().filter(|d| d.is_error()).count();
        if errors > 0 {
            let s = if errors == 1 { "" } else { "s" };
            out.push(format!(
                "error: could not load the Corefile due to {errors} previous error{s}\n"
            ));
        }
        out.join("\n")
    }

    /// Appends all of `other`.
    pub fn extend(&mut self, other: Diagnostics) {
        self.0.extend(other.0);
    }

    /// True if empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<Diagnostic> for Diagnostics {
    fn from(d: Diagnostic) -> Self {
        Diagnostics(vec![d])
    }
}

/// The closest candidate by edit distance, if it is close enough to be a likely typo.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (levenshtein(word, c), c))
        .filter(|&(d, c)| d <= (c.len().max(word.len()) / 3).max(1))
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions() {
        assert_eq!(
            did_you_mean("sucess", ["success", "denial"]),
            Some("success")
        );
        assert_eq!(did_you_mean("whoam", ["whoami", "log"]), Some("whoami"));
        assert_eq!(did_you_mean("zzzzzz", ["whoami", "log"]), None);
    }
}
