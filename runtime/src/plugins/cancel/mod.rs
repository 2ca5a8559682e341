//! *cancel*: bounds how long the rest of the chain may take for a query.
#![doc = include_str!("README.md")]

#[cfg(feature = "serve")]
mod handler;
pub mod setup;
#[cfg(feature = "serve")]
pub use handler::Cancel;
#[cfg(all(test, feature = "serve"))]
mod tests;
