//! *hosts*: answers A, AAAA and PTR queries from /etc/hosts-style data.
#![doc = include_str!("README.md")]

#[cfg(feature = "serve")]
mod handler;
#[cfg(feature = "serve")]
mod metrics;
pub mod setup;
#[cfg(feature = "serve")]
pub use handler::Hosts;
#[cfg(all(test, feature = "serve"))]
mod tests;
