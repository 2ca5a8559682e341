//! *secondary*: zones transferred in from primaries and kept up to date.
#![doc = include_str!("README.md")]

#[cfg(feature = "serve")]
mod handler;
pub mod setup;
#[cfg(feature = "serve")]
pub use handler::Secondary;
#[cfg(all(test, feature = "serve"))]
mod tests;
