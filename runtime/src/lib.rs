//! corec's runtime: the DNS server, the plugin model, the plugins, the
//! interpreter, reload, and the `corec` command line.
//!
//! Without the `serve` feature only the plugins' Corefile syntax and the
//! registry are compiled; `corefile!` links that to validate at compile time.

#![warn(missing_docs)]

pub mod dns;
pub mod plugin;
pub mod plugins;
pub mod registry;

#[cfg(feature = "serve")]
pub mod chain;
#[cfg(feature = "serve")]
pub mod server;
#[cfg(feature = "serve")]
pub mod site;

#[cfg(all(test, feature = "serve"))]
pub(crate) mod testing;
