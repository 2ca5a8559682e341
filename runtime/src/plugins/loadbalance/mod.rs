//! *loadbalance*: randomizes the order of A, AAAA and MX records in replies.
#![doc = include_str!("README.md")]

#[cfg(feature = "serve")]
mod handler;
pub mod setup;
#[cfg(feature = "serve")]
pub use handler::Loadbalance;
#[cfg(all(test, feature = "serve"))]
mod tests;
