//! *forward*: proxies queries to upstream resolvers over UDP, TCP or TLS.
#![doc = include_str!("README.md")]

#[cfg(feature = "serve")]
mod handler;
#[cfg(feature = "serve")]
mod metrics;
#[cfg(feature = "serve")]
mod proxy;
pub mod setup;
#[cfg(feature = "serve")]
mod tls;
#[cfg(feature = "serve")]
pub use handler::Forward;
#[cfg(all(test, feature = "serve"))]
mod tests;
