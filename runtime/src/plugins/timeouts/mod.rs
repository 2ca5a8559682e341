//! *timeouts*: the read, write and idle timeouts of TCP connections, and how
//! many queries one connection may send.
#![doc = include_str!("README.md")]

#[cfg(feature = "serve")]
mod handler;
pub mod setup;
#[cfg(feature = "serve")]
pub use handler::Timeouts;
#[cfg(all(test, feature = "serve"))]
mod tests;
