//! *header*: sets or clears header flags of queries and replies.
#![doc = include_str!("README.md")]

#[cfg(feature = "serve")]
mod handler;
pub mod setup;
#[cfg(feature = "serve")]
pub use handler::Header;
#[cfg(all(test, feature = "serve"))]
mod tests;
