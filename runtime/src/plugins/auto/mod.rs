//! *auto*: every zone file in a directory, found and reloaded automatically.
#![doc = include_str!("README.md")]

#[cfg(feature = "serve")]
mod handler;
pub mod setup;
#[cfg(feature = "serve")]
pub use handler::Auto;
#[cfg(all(test, feature = "serve"))]
mod tests;
