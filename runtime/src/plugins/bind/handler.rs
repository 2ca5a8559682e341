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

impl Setup for Bind {
    type Config = BindConfig;

    fn build(cfg: BindConfig, env: &mut BuildEnv<'_>) -> Result<Self, Diagnostic> {
        let span = env
            .block
            .plugin("bind")
            .and_then(|p| p.tokens.first())
            .map(|t| t.span);
        let err = |m: String| Diagnostic::error(format!("plugin/bind: {m}"), span);
        for line in &cfg.lines {
            let mut ips = Vec::new();
            for h in &line.hosts {
                ips.extend(expand(h).map_err(err)?);
            }
            let mut except = Vec::new();
            for h in &line.except {
                except.extend(expand(h).map_err(err)?);
            }
            for ip in ips {
                if !except.contains(&ip) && !env.config.listen_hosts.contains(&ip) {
                    env.config.listen_hosts.push(ip);
                }
            }
        }
        if env.config.listen_hosts.is_empty() {
            return Err(err("every address is excluded: nothing to listen on".into()));
        }
        Ok(Bind)
    }
}
