//! Listeners and the query path.

pub mod respond;
