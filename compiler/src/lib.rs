//! The corec Corefile front end.
//!
//! A Corefile is lexed by a pest grammar that mirrors CoreDNS's caddy v1
//! lexer, parsed into server blocks (imports, snippets and `{$ENV}` handled
//! at token level as CoreDNS does), its keys turned into zone addresses, and
//! each directive checked by its plugin's own syntax function. The result is
//! a [`Model`] plus every [`Diagnostic`] found, which the interpreter, the
//! `corec build` code generator and the `corefile!` macro all consume.
//!
//! The compiler knows plugins only through the [`PluginSpec`] slice it is
//! given, so it does not depend on the runtime.

#![warn(missing_docs)]

pub mod diag;
pub mod dispenser;
pub mod duration;
pub mod keys;
pub mod lexer;
pub mod model;
pub mod parser;
pub mod source;

#[cfg(feature = "codegen")]
pub mod codegen;

pub use diag::{Diagnostic, Diagnostics, Severity};
pub use dispenser::Dispenser;
pub use keys::{Transport, ZoneAddr};
pub use lexer::Token;
pub use model::{Block, LoadOptions, Model, PluginKind, PluginSpec, PluginUse, load, load_str};
pub use source::{EmbeddedFs, FileSystem, RealFs, SourceMap, Span};
