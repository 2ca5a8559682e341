//! *template*: answers queries with records rendered from Go-style templates.
#![doc = include_str!("README.md")]

#[cfg(feature = "serve")]
mod handler;
#[cfg(feature = "serve")]
mod metrics;
pub(crate) mod names;
mod rr;
pub mod setup;
mod tmpl;
#[cfg(feature = "serve")]
pub use handler::Template;
#[cfg(all(test, feature = "serve"))]
mod tests;
