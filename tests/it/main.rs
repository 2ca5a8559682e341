//! corec's integration tests: one binary (fast to link), one module per area.

mod cache;
mod conformance;
mod differential;
mod malformed;
mod reload;
mod tcp;
mod transfer;
