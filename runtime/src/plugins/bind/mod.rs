//! *bind*: the addresses a server block listens on.
#![doc = include_str!("README.md")]

#[cfg(feature = "serve")]
mod handler;
pub mod setup;
#[cfg(feature = "serve")]
pub use handler::{Bind, listen_hosts};
#[cfg(all(test, feature = "serve"))]
mod tests;
