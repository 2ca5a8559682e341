//! *log*: the query log.
#![doc = include_str!("README.md")]

#[cfg(feature = "serve")]
pub(crate) mod format;
#[cfg(feature = "serve")]
mod handler;
pub mod setup;
#[cfg(feature = "serve")]
pub use handler::Log;
#[cfg(all(test, feature = "serve"))]
mod tests;
