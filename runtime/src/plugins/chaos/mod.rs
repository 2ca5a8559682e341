//! *chaos*: answers CH-class TXT queries about the server.
#![doc = include_str!("README.md")]

#[cfg(feature = "serve")]
mod handler;
pub mod setup;
#[cfg(feature = "serve")]
pub use handler::Chaos;
#[cfg(feature = "serve")]
pub(crate) use handler::hostname;
#[cfg(all(test, feature = "serve"))]
mod tests;
