//! *whoami*: answers every query with the client's address and port.
#![doc = include_str!("README.md")]

#[cfg(feature = "serve")]
mod handler;
pub mod setup;
#[cfg(feature = "serve")]
pub use handler::Whoami;
#[cfg(all(test, feature = "serve"))]
mod tests;
