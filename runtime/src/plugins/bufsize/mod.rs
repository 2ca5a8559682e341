//! *bufsize*: caps the UDP payload size clients advertise in EDNS.
#![doc = include_str!("README.md")]

#[cfg(feature = "serve")]
mod handler;
pub mod setup;
#[cfg(feature = "serve")]
pub use handler::Bufsize;
#[cfg(all(test, feature = "serve"))]
mod tests;
