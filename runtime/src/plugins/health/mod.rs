//! *health*: an HTTP endpoint saying the process is alive, and a grace
//! period (lameduck) before the listeners close on shutdown.
#![doc = include_str!("README.md")]

#[cfg(feature = "serve")]
mod handler;
pub mod setup;
#[cfg(feature = "serve")]
pub use handler::Health;
#[cfg(all(test, feature = "serve"))]
mod tests;
