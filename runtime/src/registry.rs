//! The plugin registry: CoreDNS v1.14.7's plugin.cfg. Its order is the
//! chain order, whatever order a Corefile lists directives in; every name is
//! known to the parser so an unknown directive is reported exactly.

use crate::plugin::Parse;
use crate::plugins;
use corec_compiler::{Diagnostics, Dispenser, PluginKind, PluginSpec};
use std::sync::LazyLock;

/// CoreDNS v1.14.7 `plugin.cfg`, in order.
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

/// Builds a plugin of a block into a trait object (`None` for config-only plugins).
#[cfg(feature = "serve")]
pub type BuildDynFn =
    fn(&mut crate::site::BlockBuilder<'_>) -> Option<std::sync::Arc<dyn crate::chain::DynPlugin>>;

/// One implemented plugin.
struct Implemented {
    name: &'static str,
    rust_type: &'static str,
    config_only: bool,
    validate: fn(&mut Dispenser<'_>) -> Result<(), Diagnostics>,
}

fn validate<C: Parse>(d: &mut Dispenser<'_>) -> Result<(), Diagnostics> {
    C::parse(d).map(drop)
}

/// The interpreter's builder for plugin `P`.
#[cfg(feature = "serve")]
pub fn build_dyn<P: crate::plugin::Setup>(
    b: &mut crate::site::BlockBuilder<'_>,
) -> Option<std::sync::Arc<dyn crate::chain::DynPlugin>> {
    let plugin = b.build::<P>()?;
    (!b.is_config_only::<P>()).then(|| std::sync::Arc::new(plugin) as _)
}

/// Registers one implemented plugin. Its syntax is always compiled (so the
/// macro can validate every plugin without the server stack).
macro_rules! implemented {
    ($name:literal, $module:ident :: $ty:ident, $config:ident, $config_only:literal) => {
        Implemented {
            name: $name,
            rust_type: concat!("plugins::", stringify!($module), "::", stringify!($ty)),
            config_only: $config_only,
            validate: validate::<plugins::$module::setup::$config>,
        }
    };
}

fn implemented() -> Vec<Implemented> {
    vec![
        implemented!("root", root::Root, RootConfig, true),
        implemented!("metadata", metadata::Metadata, MetadataConfig, false),
        implemented!("cancel", cancel::Cancel, CancelConfig, false),
        implemented!("timeouts", timeouts::Timeouts, TimeoutsConfig, true),
        implemented!("reload", reload::Reload, ReloadConfig, true),
        implemented!("bind", bind::Bind, BindConfig, true),
        implemented!("nsid", nsid::Nsid, NsidConfig, false),
        implemented!("bufsize", bufsize::Bufsize, BufsizeConfig, false),
        implemented!("debug", debug::Debug, DebugConfig, true),
        implemented!("ready", ready::Ready, ReadyConfig, true),
        implemented!("health", health::Health, HealthConfig, true),
        implemented!("prometheus", prometheus::Prometheus, PrometheusConfig, true),
        implemented!("errors", errors::Errors, ErrorsConfig, false),
        implemented!("log", log::Log, LogConfig, false),
        implemented!("local", local::Local, LocalConfig, false),
        implemented!("dns64", dns64::Dns64, Dns64Config, false),
        implemented!("any", any::Any, AnyConfig, false),
        implemented!("chaos", chaos::Chaos, ChaosConfig, false),
        implemented!(
            "loadbalance",
            loadbalance::Loadbalance,
            LoadbalanceConfig,
            false
        ),
        implemented!("cache", cache::Cache, CacheConfig, false),
        implemented!("header", header::Header, HeaderConfig, false),
        implemented!("minimal", minimal::Minimal, MinimalConfig, false),
        implemented!("rewrite", rewrite::Rewrite, RewriteConfig, false),
        implemented!("acl", acl::Acl, AclConfig, false),
        implemented!("template", template::Template, TemplateConfig, false),
        implemented!("transfer", transfer::Transfer, TransferConfig, false),
        implemented!("hosts", hosts::Hosts, HostsConfig, false),
        implemented!("file", file::File, FileConfig, false),
        implemented!("auto", auto::Auto, AutoConfig, false),
        implemented!("secondary", secondary::Secondary, SecondaryConfig, false),
        implemented!("loop", loop_::Loop, LoopConfig, false),
        implemented!("forward", forward::Forward, ForwardConfig, false),
        implemented!("whoami", whoami::Whoami, WhoamiConfig, false),
        implemented!("view", view::View, ViewConfig, true),
    ]
}

static IMPLEMENTED: LazyLock<Vec<Implemented>> = LazyLock::new(implemented);

/// The registry as the compiler sees it: every directive, in chain order.
pub static PLUGINS: LazyLock<Vec<PluginSpec>> = LazyLock::new(|| specs(|_| true));

/// The registry for a binary that links only the plugins `linked` accepts:
/// the others are `NotLinked` (a reload that needs one is rejected).
pub fn specs(linked: impl Fn(&str) -> bool) -> Vec<PluginSpec> {
    ORDER
        .iter()
        .map(|&name| {
            let kind = match IMPLEMENTED.iter().find(|p| p.name == name) {
                Some(p) if linked(name) => PluginKind::Available {
                    rust_type: p.rust_type,
                    config_only: p.config_only,
                    validate: p.validate,
                },
                Some(_) => PluginKind::NotLinked,
                None => PluginKind::NotBuilt,
            };
            PluginSpec { name, kind }
        })
        .collect()
}

/// The interpreter's builder for any implemented directive. Only the
/// `corec` CLI calls this (and so links every plugin); a compiled site has
/// a generated table of its own plugins.
#[cfg(feature = "serve")]
pub fn builder(name: &str) -> Option<BuildDynFn> {
    use plugins::*;
    Some(match name {
        "root" => build_dyn::<root::Root>,
        "metadata" => build_dyn::<metadata::Metadata>,
        "cancel" => build_dyn::<cancel::Cancel>,
        "timeouts" => build_dyn::<timeouts::Timeouts>,
        "reload" => build_dyn::<reload::Reload>,
        "bind" => build_dyn::<bind::Bind>,
        "nsid" => build_dyn::<nsid::Nsid>,
        "bufsize" => build_dyn::<bufsize::Bufsize>,
        "debug" => build_dyn::<debug::Debug>,
        "ready" => build_dyn::<ready::Ready>,
        "health" => build_dyn::<health::Health>,
        "prometheus" => build_dyn::<prometheus::Prometheus>,
        "errors" => build_dyn::<errors::Errors>,
        "log" => build_dyn::<log::Log>,
        "local" => build_dyn::<local::Local>,
        "dns64" => build_dyn::<dns64::Dns64>,
        "any" => build_dyn::<any::Any>,
        "chaos" => build_dyn::<chaos::Chaos>,
        "loadbalance" => build_dyn::<loadbalance::Loadbalance>,
        "cache" => build_dyn::<cache::Cache>,
        "header" => build_dyn::<header::Header>,
        "minimal" => build_dyn::<minimal::Minimal>,
        "rewrite" => build_dyn::<rewrite::Rewrite>,
        "acl" => build_dyn::<acl::Acl>,
        "template" => build_dyn::<template::Template>,
        "transfer" => build_dyn::<transfer::Transfer>,
        "hosts" => build_dyn::<hosts::Hosts>,
        "file" => build_dyn::<file::File>,
        "auto" => build_dyn::<auto::Auto>,
        "secondary" => build_dyn::<secondary::Secondary>,
        "loop" => build_dyn::<loop_::Loop>,
        "forward" => build_dyn::<forward::Forward>,
        "whoami" => build_dyn::<whoami::Whoami>,
        "view" => build_dyn::<view::View>,
        _ => return None,
    })
}

/// Whether a directive only configures the server (never part of a chain).
pub fn is_config_only(name: &str) -> bool {
    IMPLEMENTED.iter().any(|p| p.name == name && p.config_only)
}

/// Names of the directives `linked` accepts, in chain order (for `-plugins`).
pub fn linked(linked: impl Fn(&str) -> bool) -> Vec<&'static str> {
    ORDER.iter().copied().filter(|n| linked(n)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_has_every_coredns_directive_once() {
        let mut names = ORDER.to_vec();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), 60);
        assert_eq!(
            ORDER.iter().position(|&n| n == "rewrite").unwrap() + 2,
            ORDER.iter().position(|&n| n == "acl").unwrap(),
            "v1.14.7: rewrite, autopath, acl, cache"
        );
    }

    #[test]
    fn every_implemented_plugin_is_in_the_order_and_can_be_built() {
        for p in IMPLEMENTED.iter() {
            assert!(ORDER.contains(&p.name), "{}", p.name);
            #[cfg(feature = "serve")]
            assert!(
                builder(p.name).is_some(),
                "{} has no interpreter builder",
                p.name
            );
        }
        #[cfg(feature = "serve")]
        for name in ORDER {
            assert_eq!(
                builder(name).is_some(),
                IMPLEMENTED.iter().any(|p| p.name == name),
                "{name}"
            );
        }
    }
}
