//! *transfer*: zone transfers (AXFR, IXFR) out of zones other plugins serve.
#![doc = include_str!("README.md")]

#[cfg(feature = "serve")]
mod handler;
pub mod setup;
#[cfg(feature = "serve")]
pub use handler::Transfer;
#[cfg(all(test, feature = "serve"))]
mod tests;
