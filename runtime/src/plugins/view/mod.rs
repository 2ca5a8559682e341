//! *view*: makes a server block answer only the queries its expressions admit.
#![doc = include_str!("README.md")]

pub mod expr;
mod facts;
#[cfg(feature = "serve")]
mod handler;
pub mod setup;
#[cfg(feature = "serve")]
pub use handler::{View, ViewFilter};
#[cfg(all(test, feature = "serve"))]
mod tests;
