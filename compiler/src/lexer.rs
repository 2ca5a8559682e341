//! Tokens, produced by the pest grammar in `corefile.pest`.

use crate::diag::Diagnostic;
use crate::source::{FileId, SourceFile, Span};
use pest::Parser as _;

mod grammar {
    #![allow(missing_docs)]
    #[derive(pest_derive::Parser)]
    #[grammar = "corefile.pest"]
    pub(super) struct CorefileLexer;
}
use grammar::{CorefileLexer, Rule};

/// One Corefile token: its text after unquoting (and, once parsed, after
/// environment substitution) and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// Text of the token.
    pub text: String,
    /// Source range (for a quoted token, including the quotes).
    pub span: Span,
    /// 1-based line the token starts on.
    pub line: u32,
    /// Newlines inside the token (only quoted tokens have any); CoreDNS
    /// counts them when deciding whether the next token is on the same line.
    pub breaks: u32,
}

/// Splits a file into tokens exactly as CoreDNS's lexer does. The only
/// diagnostic is a warning for an unterminated quote.
pub fn lex(file: FileId, source: &SourceFile) -> (Vec<Token>, Vec<Diagnostic>) {
    let mut tokens = Vec::new();
    let mut warnings = Vec::new();
    // The grammar accepts every input (any character is part of a bare token
    // or a separator), so parsing cannot fail.
    let Ok(pairs) = CorefileLexer::parse(Rule::corefile, &source.text) else {
        return (tokens, warnings);
    };
    for pair in pairs {
        let span = Span {
            file,
            start: pair.as_span().start(),
            end: pair.as_span().end(),
        };
        let raw = pair.as_str();
        let text = match pair.as_rule() {
            Rule::bare => raw.replace('\r', ""),
            Rule::quoted => {
                let mut inner = pair.into_inner();
                let body = inner.next().map(|p| p.as_str()).unwrap_or("");
                if !inner.any(|p| p.as_rule() == Rule::quote_end) {
                    if body.is_empty() {
                        continue; // a lone `"` at the end of the file yields nothing
                    }
                    warnings.push(Diagnostic::warning("unterminated quoted token", Some(span)));
                }
                unescape(body)
            }
            _ => continue,
        };
        tokens.push(Token {
            text,
            span,
            line: source.line_col(span.start).0 as u32,
            breaks: raw.matches('\n').count() as u32,
        });
    }
    (tokens, warnings)
}

/// `\"` becomes `"`; every other backslash is kept as written.
fn unescape(body: &str) -> String {
    let mut out = String::with_capacity(body.len());
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('"') => out.push('"'),
                Some(other) => {
                    out.push('\\');
                    out.push(other);
                }
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceMap;

    fn texts(input: &str) -> Vec<(String, u32)> {
        let mut map = SourceMap::default();
        let id = map.add("C".into(), "C".into(), input.into(), None);
        lex(id, map.file(id))
            .0
            .into_iter()
            .map(|t| (t.text, t.line))
            .collect()
    }

    fn words(input: &str) -> Vec<String> {
        texts(input).into_iter().map(|t| t.0).collect()
    }

    #[test]
    fn whitespace_separates_and_braces_are_ordinary() {
        assert_eq!(words("a.org{ b }"), ["a.org{", "b", "}"]);
        assert_eq!(words("{}"), ["{}"]);
        assert_eq!(words("x\t\r\ny\u{a0}z"), ["x", "y", "z"]);
    }

    #[test]
    fn comments_start_anywhere() {
        assert_eq!(words("foo#bar baz\nqux"), ["foo", "qux"]);
        assert_eq!(words("# all\n  a # b"), ["a"]);
        assert_eq!(words("\"a#b\""), ["a#b"]);
    }

    #[test]
    fn quotes_only_at_token_start() {
        assert_eq!(words("a\"b\""), ["a\"b\""]);
        assert_eq!(words("\"a\"b"), ["a", "b"]);
        assert_eq!(words("\"a b\" c"), ["a b", "c"]);
        assert_eq!(words("\"\""), [""]);
        assert_eq!(words("\""), Vec::<String>::new());
    }

    #[test]
    fn only_quote_is_escaped() {
        assert_eq!(words(r#""a\"b""#), ["a\"b"]);
        assert_eq!(words(r#""a\\b""#), ["a\\\\b"]);
        assert_eq!(words(r#""a\nb""#), ["a\\nb"]);
        assert_eq!(words(r"a\ b"), ["a\\", "b"]);
    }

    #[test]
    fn quoted_tokens_span_lines() {
        assert_eq!(
            texts("\"a\nb\" c\nd"),
            [
                ("a\nb".to_string(), 1),
                ("c".to_string(), 2),
                ("d".to_string(), 3)
            ]
        );
    }

    #[test]
    fn bom_is_dropped() {
        assert_eq!(words("\u{feff}. {\n}"), [".", "{", "}"]);
    }
}
