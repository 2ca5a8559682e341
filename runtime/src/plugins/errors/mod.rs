//! *errors*: logs the errors the rest of the chain returns.
#![doc = include_str!("README.md")]

#[cfg(feature = "serve")]
mod handler;
pub mod setup;
#[cfg(feature = "serve")]
pub use handler::Errors;
#[cfg(all(test, feature = "serve"))]
mod tests;
