//! *any*: answers ANY queries with a short HINFO record (RFC 8482).
#![doc = include_str!("README.md")]

#[cfg(feature = "serve")]
mod handler;
pub mod setup;
#[cfg(feature = "serve")]
pub use handler::Any;
#[cfg(all(test, feature = "serve"))]
mod tests;
