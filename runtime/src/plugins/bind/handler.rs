use super::setup::{BindConfig, Host};
use crate::plugin::{Handler, Outcome, Plugin, Request, Setup};
use crate::site::BuildEnv;
use crate::wire::WireQuery;
use corec_compiler::Diagnostic;
use std::net::IpAddr;

/// Marker for the config-only `bind` directive; never part of a chain.
#[derive(Debug, Clone, Copy)]
pub struct Bind;

impl Plugin for Bind {
    const NAME: &'static str = "bind";

    async fn serve<'a, N: Handler>(&'a self, req: &'a mut Request, next: &'a N) -> Outcome {
        next.handle(req).await
    }

    fn serve_wire<N: Handler>(&self, q: &WireQuery<'_>, out: &mut Vec<u8>, next: &N) -> bool {
        next.handle_wire(q, out)
    }
}

fn expand(host: &Host) -> Result<Vec<IpAddr>, String> {
    match host {
        Host::Ip(ip) => Ok(vec![*ip]),
        Host::Interface(name) => {
            let ips = crate::server::interface_addrs(name);
            if ips.is_empty() {
                Err(format!("failed to get interface addresses of '{name}'"))
            } else {
                Ok(ips)
            }
        }
    }
}

/// The addresses a block's `bind` lines listen on, interfaces expanded and
/// exclusions removed, in Corefile order. Public so `corec explain` can show
/// listeners without building the site.
pub fn listen_hosts(cfg: &BindConfig) -> Result<Vec<IpAddr>, String> {
    let mut hosts = Vec::new();
    for line in &cfg.lines {
        let mut ips = Vec::new();
        for h in &line.hosts {
            ips.extend(expand(h)?);
        }
        let mut except = Vec::new();
        for h in &line.except {
            except.extend(expand(h)?);
        }
        for ip in ips {
            if !except.contains(&ip) && !hosts.contains(&ip) {
                hosts.push(ip);
            }
        }
    }
    if hosts.is_empty() {
        return Err("every address is excluded: nothing to listen on".into());
    }
    Ok(hosts)
}

impl Setup for Bind {
    type Config = BindConfig;

    fn build(cfg: BindConfig, env: &mut BuildEnv<'_>) -> Result<Self, Diagnostic> {
        let span = env
            .block
            .plugin("bind")
            .and_then(|p| p.tokens.first())
            .map(|t| t.span);
        let hosts =
            listen_hosts(&cfg).map_err(|m| Diagnostic::error(format!("plugin/bind: {m}"), span))?;
        for ip in hosts {
            if !env.config.listen_hosts.contains(&ip) {
                env.config.listen_hosts.push(ip);
            }
        }
        Ok(Bind)
    }
}
