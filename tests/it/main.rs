//! corec's integration tests: one binary (fast to link), one module per area.

mod acl;
mod cache;
mod conformance;
mod differential;
mod forward;
mod malformed;
mod metadata;
mod metrics;
mod ops;
mod prometheus;
mod reload;
mod rewrite;
mod tcp;
mod timeouts;
mod transfer;
mod view;
