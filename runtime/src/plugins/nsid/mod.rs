//! *nsid*: adds the server's identifier (RFC 5001) to replies that ask for it.
#![doc = include_str!("README.md")]

#[cfg(feature = "serve")]
mod handler;
pub mod setup;
#[cfg(feature = "serve")]
pub use handler::Nsid;
#[cfg(all(test, feature = "serve"))]
mod tests;
