//! *ready*: an HTTP endpoint saying whether every plugin that can tell is
//! ready to serve (zones loaded, transfers done).
#![doc = include_str!("README.md")]

#[cfg(feature = "serve")]
mod handler;
pub mod setup;
#[cfg(feature = "serve")]
pub use handler::{Ready, ReadyState};
#[cfg(all(test, feature = "serve"))]
mod tests;
