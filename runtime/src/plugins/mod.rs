//! One folder per directive, named as the directive: `setup.rs` holds the
//! Corefile syntax (always compiled, so `corefile!` can validate it),
//! `handler.rs` the query path, `README.md` the user documentation.

pub mod acl;
pub mod any;
pub mod auto;
pub mod bind;
pub mod bufsize;
pub mod cache;
pub mod cancel;
pub mod chaos;
pub mod debug;
pub mod dns64;
pub mod errors;
pub mod file;
pub mod forward;
pub mod header;
pub mod health;
pub mod hosts;
pub mod loadbalance;
pub mod local;
pub mod log;
#[path = "loop/mod.rs"]
pub mod loop_;
pub mod metadata;
pub mod minimal;
pub mod nsid;
pub mod prometheus;
pub mod ready;
pub mod reload;
pub mod rewrite;
pub mod root;
pub mod secondary;
pub mod template;
pub mod timeouts;
pub mod transfer;
pub mod view;
pub mod whoami;
