//! Source files, spans and the file systems imports are resolved against.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Index of a file in a [`SourceMap`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileId(pub u32);

/// A byte range in one source file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Span {
    /// The file the range is in.
    pub file: FileId,
    /// Start byte offset.
    pub start: usize,
    /// End byte offset (exclusive).
    pub end: usize,
}

/// One loaded file.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// Path as shown in diagnostics: the main Corefile as given, imports absolute.
    pub name: String,
    /// Absolute path used to resolve relative imports and to re-read the file.
    pub path: PathBuf,
    /// File contents.
    pub text: String,
    /// Where this file was imported from, if it was.
    pub imported_from: Option<Span>,
    line_starts: Vec<usize>,
}

impl SourceFile {
    fn new(name: String, path: PathBuf, text: String, imported_from: Option<Span>) -> Self {
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        SourceFile {
            name,
            path,
            text,
            imported_from,
            line_starts,
        }
    }

    /// Byte offset where 0-based line `i` starts; a leading byte-order mark
    /// is not part of the first line.
    fn line_start(&self, i: usize) -> usize {
        let start = self.line_starts[i];
        if i == 0 && self.text.starts_with('\u{feff}') {
            start + '\u{feff}'.len_utf8()
        } else {
            start
        }
    }

    /// 1-based line and character column of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let line = self.line_starts.partition_point(|&s| s <= offset) - 1;
        let start = self.line_start(line);
        let end = offset.min(self.text.len()).max(start);
        let col = self.text[start..end].chars().count() + 1;
        (line + 1, col)
    }

    /// Byte range of a 1-based line, without its line ending.
    pub fn line_span(&self, line: usize) -> (usize, usize) {
        let start = self.line_start(line - 1);
        let end = self
            .line_starts
            .get(line)
            .copied()
            .unwrap_or(self.text.len());
        let text = self.text[start..end].trim_end_matches(['\n', '\r']);
        (start, start + text.len())
    }

    /// The text of a 1-based line, without its line ending.
    pub fn line_text(&self, line: usize) -> &str {
        let (start, end) = self.line_span(line);
        &self.text[start..end]
    }
}

/// All files read while loading one Corefile.
#[derive(Debug, Clone, Default)]
pub struct SourceMap {
    files: Vec<SourceFile>,
}

impl SourceMap {
    /// Adds a file and returns its id.
    pub fn add(
        &mut self,
        name: String,
        path: PathBuf,
        text: String,
        imported_from: Option<Span>,
    ) -> FileId {
        self.files
            .push(SourceFile::new(name, path, text, imported_from));
        FileId(self.files.len() as u32 - 1)
    }

    /// The file with this id.
    pub fn file(&self, id: FileId) -> &SourceFile {
        &self.files[id.0 as usize]
    }

    /// All files, the main Corefile first.
    pub fn files(&self) -> &[SourceFile] {
        &self.files
    }

    /// `file:line:col` of a span's start.
    pub fn location(&self, span: Span) -> String {
        let file = self.file(span.file);
        let (line, col) = file.line_col(span.start);
        format!("{}:{line}:{col}", file.name)
    }

    /// The distinct files by path with their contents, for embedding into a
    /// compiled binary (which then loads them through [`EmbeddedFs`]).
    pub fn embedded(&self) -> Vec<(String, String)> {
        let mut seen = BTreeMap::new();
        for f in &self.files {
            seen.entry(f.path.to_string_lossy().into_owned())
                .or_insert_with(|| f.text.clone());
        }
        seen.into_iter().collect()
    }
}

/// Where the loader reads the Corefile and its imports from.
pub trait FileSystem {
    /// Reads a whole file. `Err` carries the reason ("is a directory", OS error text).
    fn read(&self, path: &Path) -> Result<String, String>;
    /// Paths matching a pattern with at most one `*` and one `?`, sorted.
    fn glob(&self, pattern: &Path) -> Vec<PathBuf>;
}

/// The real file system.
#[derive(Debug, Clone, Copy, Default)]
pub struct RealFs;

impl FileSystem for RealFs {
    fn read(&self, path: &Path) -> Result<String, String> {
        if path.is_dir() {
            return Err("is a directory".into());
        }
        std::fs::read(path)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .map_err(|e| e.to_string())
    }

    fn glob(&self, pattern: &Path) -> Vec<PathBuf> {
        let Some(dir) = pattern.parent() else {
            return Vec::new();
        };
        let Some(file_pat) = pattern.file_name().and_then(|n| n.to_str()) else {
            return Vec::new();
        };
        if dir.to_string_lossy().contains(['*', '?']) {
            // A wildcard in a directory component: expand that component.
            return glob_dirs(self, pattern);
        }
        let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| {
                e.file_name()
                    .to_str()
                    .is_some_and(|n| wildcard_match(file_pat, n))
            })
            .map(|e| e.path())
            .collect();
        out.sort();
        out
    }
}

fn glob_dirs(fs: &RealFs, pattern: &Path) -> Vec<PathBuf> {
    let comps: Vec<_> = pattern.components().collect();
    let Some(i) = comps
        .iter()
        .position(|c| c.as_os_str().to_string_lossy().contains(['*', '?']))
    else {
        return Vec::new();
    };
    let base: PathBuf = comps[..i].iter().collect();
    let pat = comps[i].as_os_str().to_string_lossy().into_owned();
    let rest: PathBuf = comps[i + 1..].iter().collect();
    let mut out = Vec::new();
    for e in std::fs::read_dir(&base).into_iter().flatten().flatten() {
        if e.file_name()
            .to_str()
            .is_some_and(|n| wildcard_match(&pat, n))
        {
            let p = e.path().join(&rest);
            if rest.as_os_str().to_string_lossy().contains(['*', '?']) {
                out.extend(fs.glob(&p));
            } else if p.exists() {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Files embedded into a compiled binary, keyed by their absolute path at build time.
#[derive(Debug, Clone, Default)]
pub struct EmbeddedFs {
    files: BTreeMap<PathBuf, String>,
}

impl EmbeddedFs {
    /// Builds the file system from `(path, contents)` pairs.
    pub fn new<'a>(files: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        EmbeddedFs {
            files: files
                .into_iter()
                .map(|(p, t)| (PathBuf::from(p), t.to_string()))
                .collect(),
        }
    }
}

impl FileSystem for EmbeddedFs {
    fn read(&self, path: &Path) -> Result<String, String> {
        self.files
            .get(path)
            .cloned()
            .ok_or_else(|| "not embedded in this binary".into())
    }

    fn glob(&self, pattern: &Path) -> Vec<PathBuf> {
        let pat = pattern.to_string_lossy();
        self.files
            .keys()
            .filter(|p| wildcard_match(&pat, &p.to_string_lossy()))
            .cloned()
            .collect()
    }
}

/// Shell-style match of `*` (any run) and `?` (one character).
pub(crate) fn wildcard_match(pattern: &str, name: &str) -> bool {
    fn go(p: &[char], n: &[char]) -> bool {
        match p.split_first() {
            None => n.is_empty(),
            // Like Go's filepath.Match: wildcards never match a separator.
            Some(('*', rest)) => (0..=n.len())
                .take_while(|&i| i == 0 || !std::path::is_separator(n[i - 1]))
                .any(|i| go(rest, &n[i..])),
            Some(('?', rest)) => {
                n.first().is_some_and(|&c| !std::path::is_separator(c)) && go(rest, &n[1..])
            }
            Some((c, rest)) => n.first() == Some(c) && go(rest, &n[1..]),
        }
    }
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    go(&p, &n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_characters() {
        let f = SourceFile::new("C".into(), "C".into(), "ab\nçd e\n".into(), None);
        assert_eq!(f.line_col(0), (1, 1));
        assert_eq!(f.line_col(3), (2, 1));
        assert_eq!(f.line_col(7), (2, 4)); // 'ç' is two bytes, one column
        assert_eq!(f.line_text(2), "çd e");
    }

    #[test]
    fn wildcards() {
        assert!(wildcard_match("*.conf", "a.conf"));
        assert!(wildcard_match("db.?", "db.x"));
        assert!(!wildcard_match("*.conf", "a.confx"));
    }
}
