//! *metadata*: collects the labels plugins attach to a query, for the
//! plugins that read them.
#![doc = include_str!("README.md")]

#[cfg(feature = "serve")]
mod handler;
#[cfg(feature = "serve")]
mod hub;
pub mod setup;
#[cfg(feature = "serve")]
pub use handler::Metadata;
#[cfg(feature = "serve")]
pub use hub::{MetadataHub, Provider};
#[cfg(all(test, feature = "serve"))]
mod tests;
