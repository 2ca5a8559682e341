//! *file*: authoritative answers from zone files.
#![doc = include_str!("README.md")]

#[cfg(feature = "serve")]
mod handler;
pub mod setup;
#[cfg(feature = "serve")]
pub use handler::File;
#[cfg(feature = "serve")]
pub(crate) use handler::{Slot, in_zone, offer_for_transfer, serve_zones, serve_zones_wire};
#[cfg(feature = "serve")]
pub mod master;
#[cfg(all(test, feature = "serve"))]
mod tests;
#[cfg(feature = "serve")]
pub mod zone;
