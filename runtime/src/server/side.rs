//! Side listeners: the HTTP endpoints a site serves next to DNS (*health*'s
//! `/health`, *ready*'s `/ready`, *prometheus*'s `/metrics`), and the other process-wide settings its
//! blocks make (*health*'s lameduck, *reload*'s interval).
//!
//! Blocks record what they ask for in their [`BlockConfig`]; the site
//! gathers that into one [`SideConfig`]: one listener per address, shared
//! by every block (and both plugins) naming it. The [`Server`](super::Server)
//! binds the listeners and keeps them across reloads: an address that stays
//! keeps its socket, a new one is bound before the new site is swapped in,
//! and one the new site no longer has is closed only after the swap. Each
//! request is answered from the site serving at that moment.

use super::http::{HttpAddr, HttpResponse};
use crate::addr::HostPort;
use crate::plugins::ready::ReadyState;
use crate::plugins::ready::setup::Monitor;
use crate::plugins::reload::setup::ReloadConfig;
use crate::site::{BlockConfig, Readiness};
use std::collections::BTreeMap;
use std::net::{IpAddr, ToSocketAddrs};
use std::time::Duration;

/// An endpoint a block asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `/health` (*health*).
    Health,
    /// `/ready` (*ready*), polling the block's plugins this way.
    Ready(Monitor),
    /// `/metrics` (*prometheus*).
    Metrics,
}

/// What one block asks of the process.
#[derive(Debug, Clone, Default)]
pub struct BlockSide {
    /// Endpoints and where to serve them.
    pub http: Vec<(HttpAddr, Endpoint)>,
    /// *health*'s lameduck.
    pub lameduck: Option<Duration>,
    /// *reload*'s settings.
    pub reload: Option<ReloadConfig>,
}

/// The endpoints served on one address.
#[derive(Debug, Default)]
pub struct Endpoints {
    /// `/health` is served.
    pub health: bool,
    /// `/ready` is served, over the readiness of the blocks naming this address.
    pub ready: Option<ReadyState>,
    /// `/metrics` is served.
    pub metrics: bool,
}

impl Endpoints {
    /// The answer to a request for `path`; `draining` while the process
    /// waits out its lameduck before stopping.
    pub fn respond(&self, path: &str, draining: bool) -> HttpResponse {
        match path {
            "/health" if self.health => HttpResponse::text(200, "OK"),
            "/metrics" if self.metrics => HttpResponse {
                status: 200,
                content_type: crate::metrics::CONTENT_TYPE,
                body: crate::metrics::render().into(),
            },
            "/ready" => match &self.ready {
                Some(_) if draining => HttpResponse::text(503, "Shutting down"),
                Some(r) => match r.not_ready() {
                    None => HttpResponse::text(200, "OK"),
                    Some(names) => HttpResponse::text(503, names),
                },
                None => HttpResponse::not_found(),
            },
            _ => HttpResponse::not_found(),
        }
    }
}

/// A site's side listeners and process-wide settings.
#[derive(Debug, Default)]
pub struct SideConfig {
    /// HTTP listeners by address.
    pub http: BTreeMap<HttpAddr, Endpoints>,
    /// How long to keep serving after SIGTERM/SIGINT before stopping (the
    /// longest any block's *health* asks for).
    pub lameduck: Duration,
    /// *reload*: the last block (in Corefile order) that has it decides.
    pub reload: Option<ReloadConfig>,
}

impl SideConfig {
    /// Gathers what the blocks asked for.
    pub(crate) fn gather(configs: &[BlockConfig]) -> SideConfig {
        let mut side = SideConfig::default();
        let mut ready: BTreeMap<HttpAddr, (Monitor, Vec<Readiness>)> = BTreeMap::new();
        for cfg in configs {
            for &(at, endpoint) in &cfg.side.http {
                let e = side.http.entry(at).or_default();
                match endpoint {
                    Endpoint::Health => e.health = true,
                    Endpoint::Metrics => e.metrics = true,
                    Endpoint::Ready(monitor) => {
                        let (m, checks) = ready.entry(at).or_default();
                        // Several blocks on one address: the last one's mode.
                        *m = monitor;
                        checks.extend(cfg.readiness.iter().cloned());
                    }
                }
            }
            if let Some(l) = cfg.side.lameduck {
                side.lameduck = side.lameduck.max(l);
            }
            if let Some(r) = cfg.side.reload {
                side.reload = Some(r);
            }
        }
        for (at, (monitor, checks)) in ready {
            if let Some(e) = side.http.get_mut(&at) {
                e.ready = Some(ReadyState::new(monitor, checks));
            }
        }
        side
    }
}

/// The address to bind for `hp`: every address for an empty host, the IP
/// itself, or a name's first address (IPv4 first, as Go listens).
pub fn resolve(hp: &HostPort) -> Result<HttpAddr, String> {
    if hp.host.is_empty() {
        return Ok(HttpAddr {
            host: None,
            port: hp.port,
        });
    }
    if let Ok(ip) = hp.host.parse::<IpAddr>() {
        return Ok(HttpAddr {
            host: Some(ip),
            port: hp.port,
        });
    }
    let found: Vec<IpAddr> = (hp.host.as_str(), hp.port)
        .to_socket_addrs()
        .map_err(|e| format!("listen tcp {}: {e}", hp.text))?
        .map(|a| a.ip())
        .collect();
    found
        .iter()
        .find(|ip| ip.is_ipv4())
        .or(found.first())
        .map(|&ip| HttpAddr {
            host: Some(ip),
            port: hp.port,
        })
        .ok_or_else(|| format!("listen tcp {}: no address found", hp.text))
}
