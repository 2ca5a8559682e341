//! Server blocks from tokens, with CoreDNS's caddy v1 rules: key lines,
//! optional braces, line-terminated directives, `import` of files, globs and
//! snippets spliced at token level, and `{$VAR}` substitution per token.
//!
//! Unlike CoreDNS, parsing goes on after an error where the structure allows
//! it, so one run reports every problem.

use crate::diag::{Diagnostic, Diagnostics, did_you_mean};
use crate::lexer::{Token, lex};
use crate::source::{FileSystem, SourceMap, Span};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Snippet imports allowed in one parse (CoreDNS's limit).
pub const MAX_SNIPPET_EXPANSIONS: usize = 10_000;
/// File and glob imports allowed in one parse (CoreDNS's limit).
pub const MAX_FILE_EXPANSIONS: usize = 100_000;

/// A server block as written: keys and directive occurrences in Corefile order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerBlock {
    /// Keys after substitution, trailing commas stripped, empty keys dropped.
    pub keys: Vec<Token>,
    /// Each directive line (with its block) in Corefile order.
    pub directives: Vec<Directive>,
}

/// One occurrence of a directive: its name and all its tokens (the first is the name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directive {
    /// The directive name after substitution.
    pub name: String,
    /// The name token followed by arguments and any `{ ... }` block.
    pub tokens: Vec<Token>,
}

/// Environment lookup used for `{$NAME}` and `{%NAME%}`.
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Inputs of one parse.
pub struct ParseInput<'a> {
    /// Where files are read from.
    pub fs: &'a dyn FileSystem,
    /// Environment for substitution.
    pub env: EnvLookup<'a>,
    /// Every directive name the language knows, in any order.
    pub directives: &'a [&'a str],
}

/// Parses the file `main` (already added to `sources`).
pub fn parse(
    sources: &mut SourceMap,
    main: crate::source::FileId,
    input: &ParseInput<'_>,
) -> (Vec<ServerBlock>, Diagnostics) {
    let (tokens, warnings) = lex(main, sources.file(main));
    let mut p = Parser {
        tokens,
        cursor: -1,
        sources,
        input,
        snippets: HashMap::new(),
        snippet_expansions: 0,
        file_expansions: 0,
        diags: Diagnostics(warnings),
        eof: false,
        eof_in_directive: false,
    };
    let mut blocks = Vec::new();
    while p.next() {
        if let Some(block) = p.parse_one() {
            blocks.push(block);
        }
    }
    (blocks, p.diags)
}

/// Applies `{%NAME%}` then `{$NAME}` substitution to one token's text.
pub fn substitute_env(text: &str, env: EnvLookup<'_>) -> String {
    let s = replace_refs(text, "{%", "%}", env);
    replace_refs(&s, "{$", "}", env)
}

fn replace_refs(text: &str, open: &str, close: &str, env: EnvLookup<'_>) -> String {
    let mut s = text.to_string();
    // CoreDNS rescans from the start after each replacement, so a value that
    // contains a reference is expanded too; bound the rounds so a value that
    // refers to itself cannot loop forever.
    for _ in 0..64 {
        let Some(start) = s.find(open) else { break };
        let Some(rel_end) = s[start..].find(close) else {
            break;
        };
        let end = start + rel_end;
        if end <= start + open.len() {
            break; // `{$}`: an empty name stops substitution in this token
        }
        let reference = s[start..end + close.len()].to_string();
        let name = &s[start + open.len()..end];
        let value = env(name).unwrap_or_default();
        s = s.replace(&reference, &value);
    }
    s
}

struct Parser<'a, 'i> {
    tokens: Vec<Token>,
    cursor: isize,
    sources: &'a mut SourceMap,
    input: &'a ParseInput<'i>,
    snippets: HashMap<String, Vec<Token>>,
    snippet_expansions: usize,
    file_expansions: usize,
    diags: Diagnostics,
    eof: bool,
    /// A directive block ran into the end of the input (already reported).
    eof_in_directive: bool,
}

impl Parser<'_, '_> {
    fn next(&mut self) -> bool {
        if self.cursor < self.tokens.len() as isize - 1 {
            self.cursor += 1;
            true
        } else {
            false
        }
    }

    fn tok(&self) -> Option<&Token> {
        usize::try_from(self.cursor)
            .ok()
            .and_then(|i| self.tokens.get(i))
    }

    fn val(&self) -> &str {
        self.tok().map_or("", |t| t.text.as_str())
    }

    fn span(&self) -> Option<Span> {
        self.tok().or_else(|| self.tokens.last()).map(|t| t.span)
    }

    fn same_line(a: &Token, b: &Token) -> bool {
        a.span.file == b.span.file && a.line + a.breaks == b.line
    }

    /// CoreDNS's `isNewLine`: the current token starts a line (or a file).
    fn is_new_line(&self) -> bool {
        if self.cursor < 1 {
            return true;
        }
        let i = self.cursor as usize;
        if i >= self.tokens.len() {
            return false;
        }
        let (prev, cur) = (&self.tokens[i - 1], &self.tokens[i]);
        prev.span.file != cur.span.file || prev.line + prev.breaks < cur.line
    }

    fn next_arg(&mut self) -> bool {
        if self.cursor < 0 {
            self.cursor += 1;
            return true;
        }
        let i = self.cursor as usize;
        if i + 1 < self.tokens.len() && Self::same_line(&self.tokens[i], &self.tokens[i + 1]) {
            self.cursor += 1;
            return true;
        }
        false
    }

    fn error(&mut self, message: impl Into<String>) {
        let span = self.span();
        self.diags.push(Diagnostic::error(message, span));
    }

    fn env(&self, text: &str) -> String {
        substitute_env(text, self.input.env)
    }

    /// Parses one server block (or snippet definition) starting at the cursor.
    fn parse_one(&mut self) -> Option<ServerBlock> {
        let keys = self.addresses()?;
        if self.eof {
            return (!keys.is_empty()).then_some(ServerBlock {
                keys,
                directives: Vec::new(),
            });
        }
        if keys.len() == 1 && keys[0].text.starts_with('(') && keys[0].text.ends_with(')') {
            let name = keys[0].text[1..keys[0].text.len() - 1].to_string();
            self.define_snippet(name, keys[0].span);
            return None;
        }
        let directives = self.block_contents();
        (!keys.is_empty()).then_some(ServerBlock { keys, directives })
    }

    /// The key line(s). Returns `None` when a structural error makes the rest
    /// of the file unusable.
    fn addresses(&mut self) -> Option<Vec<Token>> {
        let mut keys: Vec<Token> = Vec::new();
        let mut expecting_another = false;
        loop {
            let text = self.env(self.val());
            if text == "import" && self.is_new_line() {
                self.do_import();
                continue;
            }
            if text == "{" {
                if expecting_another {
                    self.error("Expected another address but had '{' - check for extra comma");
                }
                break;
            }
            if !text.is_empty() {
                let mut tok = self.tok().cloned()?;
                expecting_another = text.ends_with(',');
                tok.text = text.strip_suffix(',').unwrap_or(&text).to_string();
                if !tok.text.is_empty() || !expecting_another {
                    keys.push(tok);
                }
            }
            let has_next = self.next();
            if expecting_another && !has_next {
                self.error("Unexpected EOF");
                return None;
            }
            if !has_next {
                self.eof = true;
                break;
            }
            if !expecting_another && self.is_new_line() {
                break;
            }
        }
        Some(keys)
    }

    fn block_contents(&mut self) -> Vec<Directive> {
        let braced = self.val() == "{";
        if !braced {
            // A single server block may omit its braces.
            self.cursor -= 1;
        }
        let directives = self.directives();
        if braced && self.val() != "}" && !self.eof_in_directive {
            let last = self.val().to_string();
            self.error(format!(
                "Syntax error: Unexpected token '{last}', expecting '}}'"
            ));
        }
        directives
    }

    fn directives(&mut self) -> Vec<Directive> {
        let mut out = Vec::new();
        while self.next() {
            if self.val() == "}" {
                break;
            }
            if self.val() == "import" {
                self.do_import();
                self.cursor -= 1;
                continue;
            }
            match self.directive() {
                Ok(Some(d)) => out.push(d),
                Ok(None) => {}
                Err(StrayBrace) => break, // treat the stray `}` as the block's end
            }
        }
        out
    }

    /// One directive line with its nested blocks. `Ok(None)` for an unknown
    /// directive (reported, tokens skipped).
    fn directive(&mut self) -> Result<Option<Directive>, StrayBrace> {
        let name = self.env(self.val());
        let known = self.input.directives.contains(&name.as_str());
        if !known {
            let mut d = Diagnostic::error(format!("Unknown directive '{name}'"), self.span());
            if let Some(s) = did_you_mean(&name, self.input.directives.iter().copied()) {
                d = d.with_label(format!("did you mean '{s}'?"));
            }
            self.diags.push(d);
        }
        let mut first = self.tok().cloned().expect("cursor is on the directive");
        first.text = name.clone();
        let mut tokens = vec![first];
        let mut nesting = 0usize;
        while self.next() {
            let val = self.val();
            if val == "{" {
                nesting += 1;
            } else if self.is_new_line() && nesting == 0 {
                self.cursor -= 1;
                break;
            } else if val == "}" && nesting > 0 {
                nesting -= 1;
            } else if val == "}" {
                self.error("Unexpected '}' because no matching opening brace");
                return Err(StrayBrace);
            } else if val == "import" && self.is_new_line() {
                self.do_import();
                self.cursor -= 1;
                continue;
            }
            let mut tok = self.tok().cloned().expect("cursor is on a token");
            tok.text = self.env(&tok.text);
            tokens.push(tok);
        }
        if nesting > 0 {
            self.error("Unexpected EOF");
            self.eof_in_directive = true;
        }
        Ok(known.then_some(Directive { name, tokens }))
    }

    fn define_snippet(&mut self, name: String, key_span: Span) {
        if self.val() != "{" {
            let v = self.val().to_string();
            self.error(format!(
                "Syntax error: Unexpected token '{v}', expecting '{{'"
            ));
            return;
        }
        let mut depth = 1;
        let mut body = Vec::new();
        while self.next() {
            match self.val() {
                "}" => {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
                "{" => depth += 1,
                _ => {}
            }
            body.push(self.tok().cloned().expect("cursor is on a token"));
        }
        if depth != 0 {
            let v = self.val().to_string();
            self.error(format!(
                "Syntax error: Unexpected token '{v}', expecting '}}'"
            ));
            return;
        }
        if self.snippets.contains_key(&name) {
            self.diags.push(Diagnostic::error(
                format!("redeclaration of previously declared snippet {name}"),
                Some(key_span),
            ));
            return;
        }
        // A snippet importing itself at a line start would expand forever.
        let recursive = body.windows(2).enumerate().any(|(i, w)| {
            w[0].text == "import"
                && (i == 0 || !Self::same_line(&body[i - 1], &w[0]))
                && self.env(&w[1].text) == name
        });
        if recursive {
            self.diags.push(Diagnostic::error(
                format!("maximum snippet import depth ({MAX_SNIPPET_EXPANSIONS}) exceeded"),
                Some(key_span),
            ));
            // Keep the name, empty, so its imports do not fall back to files.
            self.snippets.insert(name, Vec::new());
            return;
        }
        self.snippets.insert(name, body);
    }

    /// Replaces `import PATTERN` (cursor on `import`) by the imported tokens and
    /// leaves the cursor on the first of them, as CoreDNS does.
    fn do_import(&mut self) {
        let import_at = self.cursor as usize;
        let import_span = self.tokens[import_at].span;
        let imported = self.import_tokens(import_span);
        // Splice out `import` and its argument (if it had one on the line).
        let mut end = import_at + 1;
        while end < self.tokens.len() && Self::same_line(&self.tokens[end - 1], &self.tokens[end]) {
            end += 1;
        }
        self.tokens
            .splice(import_at..end, imported.unwrap_or_default());
        self.cursor = import_at as isize;
    }

    fn import_tokens(&mut self, import_span: Span) -> Option<Vec<Token>> {
        if !self.next_arg() {
            self.error("Wrong argument count or unexpected line ending after 'import'");
            return None;
        }
        let pattern = self.env(self.val());
        if pattern.is_empty() {
            self.error("Import requires a non-empty filepath");
            return None;
        }
        if self.next_arg() {
            self.error("Import takes only one argument (glob pattern or file)");
            return None;
        }
        if let Some(body) = self.snippets.get(&pattern) {
            if self.snippet_expansions >= MAX_SNIPPET_EXPANSIONS {
                self.error(format!(
                    "maximum snippet import depth ({MAX_SNIPPET_EXPANSIONS}) exceeded"
                ));
                return None;
            }
            self.snippet_expansions += 1;
            return Some(body.clone());
        }
        if self.file_expansions >= MAX_FILE_EXPANSIONS {
            self.error(format!(
                "maximum file import depth ({MAX_FILE_EXPANSIONS}) exceeded"
            ));
            return None;
        }
        self.file_expansions += 1;
        let base = self.sources.file(import_span.file).path.clone();
        let glob = resolve(&base, &pattern);
        let glob_text = glob.to_string_lossy().into_owned();
        let wildcard = glob_text.matches('*').count() > 1
            || glob_text.matches('?').count() > 1
            || (glob_text.contains('[') && glob_text.contains(']'));
        if wildcard {
            self.error(format!(
                "Glob pattern may only contain one wildcard (*), but has others: {glob_text}"
            ));
            return None;
        }
        let matches = if glob_text.contains(['*', '?']) {
            let m = self.input.fs.glob(&glob);
            if m.is_empty() {
                self.diags.push(Diagnostic::warning(
                    format!("No files matching import glob pattern: {pattern}"),
                    self.span(),
                ));
            }
            m
        } else {
            vec![glob]
        };
        let arg_span = self.span();
        let mut out = Vec::new();
        for path in matches {
            match self.input.fs.read(&path) {
                Ok(text) => {
                    let name = path.to_string_lossy().into_owned();
                    let id = self.sources.add(name, path, text, arg_span);
                    let (tokens, warnings) = lex(id, self.sources.file(id));
                    self.diags.0.extend(warnings);
                    out.extend(tokens);
                }
                Err(e) if e.contains("No such file") || e.contains("not embedded") => {
                    self.error(format!("File to import not found: {pattern}"));
                }
                Err(e) => self.error(format!("Could not import {}: {e}", path.display())),
            }
        }
        Some(out)
    }
}

/// A `}` closed the server block on a directive's line.
struct StrayBrace;

/// An import path relative to the directory of the importing file.
fn resolve(importing_file: &Path, pattern: &str) -> PathBuf {
    let p = Path::new(pattern);
    if p.is_absolute() {
        return p.to_path_buf();
    }
    importing_file
        .parent()
        .map_or_else(|| p.to_path_buf(), |d| d.join(p))
}
