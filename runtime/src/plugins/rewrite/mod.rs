//! *rewrite*: rewrites queries before the rest of the chain sees them, and
//! the replies back so the client sees its own question.
#![doc = include_str!("README.md")]

#[cfg(feature = "serve")]
mod handler;
pub mod setup;
#[cfg(feature = "serve")]
pub use handler::Rewrite;
#[cfg(all(test, feature = "serve"))]
mod tests;
