//! *hosts*: answers from /etc/hosts-style data.
pub mod setup;
#[cfg(feature = "serve")]
mod handler;
#[cfg(feature = "serve")]
pub use handler::Hosts;
