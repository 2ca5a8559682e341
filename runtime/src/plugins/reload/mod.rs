//! *reload*: re-reads the Corefile periodically and reloads the server
//! when its parsed content changed.
#![doc = include_str!("README.md")]

#[cfg(feature = "serve")]
mod handler;
pub mod setup;
#[cfg(feature = "serve")]
pub(crate) mod watch;
#[cfg(feature = "serve")]
pub use handler::Reload;
#[cfg(all(test, feature = "serve"))]
mod tests;
