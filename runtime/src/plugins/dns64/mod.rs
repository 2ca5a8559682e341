//! *dns64*: synthesizes AAAA records from A records (RFC 6147).
#![doc = include_str!("README.md")]

#[cfg(feature = "serve")]
mod handler;
#[cfg(feature = "serve")]
mod metrics;
pub mod setup;
#[cfg(feature = "serve")]
pub use handler::Dns64;
#[cfg(all(test, feature = "serve"))]
mod tests;
