//! *log*: the query log.
pub mod setup;
#[cfg(feature = "serve")]
mod handler;
#[cfg(feature = "serve")]
pub use handler::Log;
