//! *minimal*: drops the authority and additional sections of positive replies.
#![doc = include_str!("README.md")]

#[cfg(feature = "serve")]
mod handler;
pub mod setup;
#[cfg(feature = "serve")]
pub use handler::Minimal;
#[cfg(all(test, feature = "serve"))]
mod tests;
