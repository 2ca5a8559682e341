//! *cache*: keeps replies of the plugins after it and answers repeated
//! queries from memory, in wire form.
#![doc = include_str!("README.md")]

#[cfg(feature = "serve")]
pub(crate) mod classify;
#[cfg(feature = "serve")]
mod entry;
#[cfg(feature = "serve")]
mod handler;
#[cfg(feature = "serve")]
mod metrics;
pub mod setup;
#[cfg(feature = "serve")]
mod store;
#[cfg(feature = "serve")]
pub use handler::{Cache, CacheStats};
#[cfg(all(test, feature = "serve"))]
mod tests;
