//! The cursor plugins parse their directive with. It mirrors caddy's
//! Dispenser (`next`, `next_arg`, `next_line`, `next_block`, `val`,
//! `remaining_args`) so each documented CoreDNS option maps onto a familiar
//! call, and adds spans and typed helpers.

use crate::diag::{Diagnostic, did_you_mean};
use crate::keys;
use crate::lexer::Token;
use crate::source::Span;
use std::str::FromStr;

/// A cursor over all occurrences of one directive in one server block.
#[derive(Debug, Clone)]
pub struct Dispenser<'a> {
    plugin: &'a str,
    tokens: &'a [Token],
    cursor: isize,
    nesting: usize,
    zones: &'a [String],
}

impl<'a> Dispenser<'a> {
    /// A dispenser for `plugin`'s tokens in a block serving `zones`.
    pub fn new(plugin: &'a str, tokens: &'a [Token], zones: &'a [String]) -> Self {
        Dispenser {
            plugin,
            tokens,
            cursor: -1,
            nesting: 0,
            zones,
        }
    }

    /// The directive name.
    pub fn plugin(&self) -> &str {
        self.plugin
    }

    /// The zones of the server block (lowercased FQDNs).
    pub fn zones(&self) -> &'a [String] {
        self.zones
    }

    /// Moves to the next token, wherever it is.
    // Named as caddy's `Next`, which every CoreDNS plugin author knows; a
    // cursor that also walks lines and blocks is not an `Iterator`.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> bool {
        if self.cursor < self.tokens.len() as isize - 1 {
            self.cursor += 1;
            true
        } else {
            false
        }
    }

    fn same_line(a: &Token, b: &Token) -> bool {
        a.span.file == b.span.file && a.line + a.breaks == b.line
    }

    /// Moves to the next token only if it is on the same line.
    pub fn next_arg(&mut self) -> bool {
        if self.cursor < 0 {
            self.cursor += 1;
            return !self.tokens.is_empty();
        }
        let i = self.cursor as usize;
        if i + 1 < self.tokens.len() && Self::same_line(&self.tokens[i], &self.tokens[i + 1]) {
            self.cursor += 1;
            return true;
        }
        false
    }

    /// Moves to the next token only if it starts a new line.
    pub fn next_line(&mut self) -> bool {
        if self.cursor < 0 {
            self.cursor += 1;
            return !self.tokens.is_empty();
        }
        let i = self.cursor as usize;
        if i + 1 < self.tokens.len() && !Self::same_line(&self.tokens[i], &self.tokens[i + 1]) {
            self.cursor += 1;
            return true;
        }
        false
    }

    /// Enters a `{` block opened on the current line, then steps through its
    /// tokens; false at the closing `}`. One level per call, as in CoreDNS.
    pub fn next_block(&mut self) -> bool {
        if self.nesting > 0 {
            if !self.next() {
                return false;
            }
            if self.val() == "}" {
                self.nesting -= 1;
                return false;
            }
            return true;
        }
        if !self.next_arg() {
            return false;
        }
        if self.val() != "{" {
            self.cursor -= 1;
            return false;
        }
        if !self.next() || self.val() == "}" {
            return false;
        }
        self.nesting += 1;
        true
    }

    /// Is the cursor inside a block entered by [`next_block`](Self::next_block)?
    pub fn in_block(&self) -> bool {
        self.nesting > 0
    }

    /// The current token's text ("" before the first token).
    pub fn val(&self) -> &'a str {
        self.token().map_or("", |t| t.text.as_str())
    }

    /// The current token.
    pub fn token(&self) -> Option<&'a Token> {
        usize::try_from(self.cursor)
            .ok()
            .and_then(|i| self.tokens.get(i))
    }

    /// Span of the current token, or of the last one after the end.
    pub fn span(&self) -> Option<Span> {
        self.token().or_else(|| self.tokens.last()).map(|t| t.span)
    }

    /// The rest of the line, stopping before a `{`.
    pub fn remaining_args(&mut self) -> Vec<&'a Token> {
        let mut args = Vec::new();
        while self.next_arg() {
            if self.val() == "{" {
                self.cursor -= 1;
                break;
            }
            args.push(self.token().expect("next_arg moved onto a token"));
        }
        args
    }

    /// Takes the next argument on this line or reports it missing.
    pub fn arg(&mut self) -> Result<&'a Token, Diagnostic> {
        if self.next_arg() && self.val() != "{" {
            Ok(self.token().expect("next_arg moved onto a token"))
        } else {
            Err(self.arg_err())
        }
    }

    /// Parses the next argument on this line as `T`, naming `what` on failure.
    pub fn parse_arg<T: FromStr>(&mut self, what: &str) -> Result<T, Diagnostic> {
        let tok = self.arg()?;
        tok.text
            .parse()
            .map_err(|_| self.err_at(tok, format!("invalid {what} '{}'", tok.text)))
    }

    /// Errors unless the line has no more arguments.
    pub fn end_of_line(&mut self) -> Result<(), Diagnostic> {
        if self.next_arg() && self.val() != "{" {
            return Err(self.err(format!("unexpected argument '{}'", self.val())));
        }
        if self.val() == "{" {
            self.cursor -= 1;
        }
        Ok(())
    }

    /// CoreDNS's `ArgErr`.
    pub fn arg_err(&self) -> Diagnostic {
        if self.val() == "{" {
            self.err("Unexpected token '{', expecting argument")
        } else {
            self.err(format!(
                "Wrong argument count or unexpected line ending after '{}'",
                self.val()
            ))
        }
    }

    /// An error at the current token, prefixed `plugin/<name>: ` as CoreDNS does.
    pub fn err(&self, message: impl AsRef<str>) -> Diagnostic {
        Diagnostic::error(
            format!("plugin/{}: {}", self.plugin, message.as_ref()),
            self.span(),
        )
    }

    /// An error at a given token.
    pub fn err_at(&self, token: &Token, message: impl AsRef<str>) -> Diagnostic {
        Diagnostic::error(
            format!("plugin/{}: {}", self.plugin, message.as_ref()),
            Some(token.span),
        )
    }

    /// "unknown property" for the current token, suggesting the nearest of `known`.
    pub fn unknown_property(&self, known: &[&str]) -> Diagnostic {
        let word = self.val();
        let mut d = self.err(format!("unknown property '{word}'"));
        if let Some(s) = did_you_mean(word, known.iter().copied()) {
            d = d.with_label(format!("did you mean '{s}'?"));
        }
        d.with_note(format!("{} accepts: {}", self.plugin, known.join(", ")))
    }

    /// Errors if the directive appears more than once in the block.
    pub fn once(&self) -> Result<(), Diagnostic> {
        let mut starts = self.tokens.iter().enumerate().filter(|(i, t)| {
            t.text == self.plugin && (*i == 0 || !Self::same_line(&self.tokens[i - 1], t))
        });
        starts.next();
        match starts.next() {
            Some((_, second)) => {
                Err(self.err_at(second, "this plugin can only be used once per Server Block"))
            }
            None => Ok(()),
        }
    }

    /// Zones named in `args` (normalised, CIDRs expanded; invalid ones dropped),
    /// or the block's zones when there are none — CoreDNS's
    /// `OriginsFromArgsOrServerBlock`.
    pub fn origins(&self, args: &[&Token]) -> Vec<String> {
        if args.is_empty() {
            return self.zones.to_vec();
        }
        args.iter()
            .filter_map(|t| keys::parse_key(&t.text, "").ok())
            .flatten()
            .map(|z| z.zone)
            .collect()
    }
}
