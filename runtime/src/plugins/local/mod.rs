//! *local*: answers `localhost.` names and the loopback reverse zones itself.
#![doc = include_str!("README.md")]

#[cfg(feature = "serve")]
mod handler;
#[cfg(feature = "serve")]
mod metrics;
pub mod setup;
#[cfg(feature = "serve")]
pub use handler::Local;
#[cfg(all(test, feature = "serve"))]
mod tests;
