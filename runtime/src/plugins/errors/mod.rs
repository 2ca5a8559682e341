//! *errors*: logs errors returned by the rest of the chain.
pub mod setup;
#[cfg(feature = "serve")]
mod handler;
#[cfg(feature = "serve")]
pub use handler::Errors;
