//! corec's integration tests: one binary (fast to link), one module per area.

mod acl;
mod cache;
mod conformance;
mod differential;
mod forward;
mod malformed;
mod metrics;
mod ops;
mod reload;
mod rewrite;
mod tcp;
mod timeouts;
mod transfer;
mod view;
