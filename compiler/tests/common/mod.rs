//! Shared by the integration tests: CoreDNS's directive list and a fixed
//! environment.

#![allow(dead_code, unreachable_pub)]

use corec_compiler::{Diagnostics, Dispenser, PluginKind, PluginSpec};

/// CoreDNS v1.14.7's plugin.cfg, in chain order.
pub const ORDER: [&str; 60] = [
    "root",
    "metadata",
    "geoip",
    "cancel",
    "proxyproto",
    "quic",
    "grpc_server",
    "https",
    "https3",
    "timeouts",
    "multisocket",
    "reload",
    "nsid",
    "bufsize",
    "bind",
    "debug",
    "trace",
    "ready",
    "health",
    "pprof",
    "shed",
    "prometheus",
    "errors",
    "log",
    "dnstap",
    "local",
    "dns64",
    "any",
    "chaos",
    "loadbalance",
    "tsig",
    "rewrite",
    "autopath",
    "acl",
    "cache",
    "header",
    "dnssec",
    "tls",
    "minimal",
    "template",
    "transfer",
    "hosts",
    "route53",
    "azure",
    "clouddns",
    "k8s_external",
    "kubernetes",
    "file",
    "auto",
    "secondary",
    "etcd",
    "loop",
    "forward",
    "grpc",
    "erratic",
    "whoami",
    "on",
    "sign",
    "view",
    "nomad",
];

pub fn accept_all(_: &mut Dispenser<'_>) -> Result<(), Diagnostics> {
    Ok(())
}

/// Every directive available with a permissive syntax check, except `sign`,
/// which is "not built" so that message is covered.
pub fn plugins() -> Vec<PluginSpec> {
    ORDER
        .iter()
        .map(|&name| PluginSpec {
            name,
            kind: if name == "sign" {
                PluginKind::NotBuilt
            } else {
                PluginKind::Available {
                    rust_type: "x",
                    config_only: false,
                    validate: accept_all,
                }
            },
        })
        .collect()
}

pub fn env(name: &str) -> Option<String> {
    match name {
        "SERVER_ZONE" => Some("example.org".into()),
        "EMPTY" => Some(String::new()),
        _ => None,
    }
}

/// A directory under the system temp dir, removed when dropped (also when
/// the test panics).
pub struct TempDir(pub std::path::PathBuf);

impl TempDir {
    /// A fresh, empty directory whose name includes `tag`, the process id
    /// and a per-process counter.
    pub fn new(tag: &str) -> Self {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("corec-test-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    /// Writes `text` to `rel` (creating parent directories) and returns its path.
    pub fn write(&self, rel: &str, text: &str) -> std::path::PathBuf {
        let path = self.0.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).expect("create parent dir");
        std::fs::write(&path, text).expect("write temp file");
        path
    }

    pub fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
