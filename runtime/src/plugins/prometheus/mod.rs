//! *prometheus*: CoreDNS's `coredns_*` metrics over HTTP at `/metrics`.
#![doc = include_str!("README.md")]

#[cfg(feature = "serve")]
mod handler;
pub mod setup;
#[cfg(feature = "serve")]
pub use handler::Prometheus;
#[cfg(all(test, feature = "serve"))]
mod tests;
