//! *loop*: detects a server that forwards queries back to itself.
#![doc = include_str!("README.md")]

#[cfg(feature = "serve")]
mod handler;
pub mod setup;
#[cfg(feature = "serve")]
pub use handler::{Loop, on_loop_detected};
#[cfg(all(test, feature = "serve"))]
mod tests;
