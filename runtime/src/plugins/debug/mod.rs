//! *debug*: turns on debug logging.
#![doc = include_str!("README.md")]

pub mod setup;
#[cfg(feature = "serve")]
mod handler;
#[cfg(feature = "serve")]
pub use handler::Debug;
