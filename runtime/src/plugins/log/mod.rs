//! *log*: the query log.
#![doc = include_str!("README.md")]

#[cfg(feature = "serve")]
pub(crate) mod format;
#[cfg(feature = "serve")]
mod handler;
pub mod setup;
#[cfg(feature = "serve")]
pub use handler::Log;
#[cfg(feature = "serve")]
pub(crate) use handler::in_scope;
#[cfg(all(test, feature = "serve"))]
mod tests;
