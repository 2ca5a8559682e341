//! One folder per directive, named as the directive: `setup.rs` holds the
//! Corefile syntax (always compiled, so `corefile!` can validate it),
//! `handler.rs` the query path, `README.md` the user documentation.

pub mod any;
pub mod auto;
pub mod bind;
pub mod bufsize;
pub mod chaos;
pub mod debug;
pub mod errors;
pub mod file;
pub mod forward;
pub mod header;
pub mod hosts;
pub mod loadbalance;
pub mod local;
pub mod log;
#[path = "loop/mod.rs"]
pub mod loop_;
pub mod minimal;
pub mod nsid;
pub mod root;
pub mod secondary;
pub mod template;
pub mod transfer;
pub mod whoami;
