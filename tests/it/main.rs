//! corec's integration tests: one binary (fast to link), one module per area.

mod conformance;
mod differential;
mod forward;
mod malformed;
mod reload;
mod tcp;
mod transfer;
