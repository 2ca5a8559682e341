//! corec's runtime: the DNS server, the plugin model, the plugins, the
//! interpreter, reload, and the `corec` command line.
//!
//! Without the `serve` feature only the plugins' Corefile syntax and the
//! registry are compiled; `corefile!` links that to validate at compile time.

#![warn(missing_docs)]

pub mod addr;
pub mod dns;
pub mod plugin;
pub mod plugins;
pub mod registry;
pub mod wire;

#[cfg(feature = "serve")]
pub mod chain;
#[cfg(feature = "serve")]
pub mod server;
#[cfg(feature = "serve")]
pub mod site;
#[cfg(feature = "serve")]
pub mod upstream;

#[cfg(feature = "serve")]
pub mod build_cmd;
#[cfg(feature = "serve")]
pub mod cli;
#[cfg(feature = "serve")]
pub mod explain;
#[cfg(feature = "serve")]
pub mod logging;
#[cfg(feature = "serve")]
pub mod metrics;
#[cfg(feature = "serve")]
pub mod reload;
#[cfg(all(test, feature = "serve"))]
pub(crate) mod testing;

#[cfg(feature = "serve")]
pub use cli::{CompiledSite, site_main};

/// Items generated code refers to; not a stable API.
#[cfg(feature = "serve")]
#[doc(hidden)]
pub mod __private {
    pub use crate::chain::{Chain, End};
    pub use crate::cli::CompiledSite;
    pub use crate::plugin::{Handler, Outcome, PluginError, Request};
    pub use crate::registry::{BuildDynFn, build_dyn};
    pub use crate::site::{Blocks, CompiledBlocks, SiteBuilder};
    pub use crate::wire::WireQuery;

    /// The outcome for a block index the generated code does not know (cannot happen).
    pub fn unknown_block() -> Outcome {
        Err(PluginError::servfail("", "no such server block"))
    }
}
