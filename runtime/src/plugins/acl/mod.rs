//! *acl*: allows, blocks, filters or drops queries by source network and type.
#![doc = include_str!("README.md")]

#[cfg(feature = "serve")]
mod handler;
#[cfg(feature = "serve")]
mod metrics;
pub mod setup;
#[cfg(feature = "serve")]
pub use handler::Acl;
#[cfg(all(test, feature = "serve"))]
mod tests;
