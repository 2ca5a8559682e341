//! `corec explain [--json] [FILE]`: what a Corefile means to the server.
//!
//! Everything here is computed from the loaded [`Model`] alone: no plugin is
//! built, so nothing starts (no zone file is read, no upstream is health
//! checked). Listeners are grouped exactly as `Site::assemble` groups them:
//! one per transport, address and port, where a block's `bind` addresses
//! replace "every address".
//!
//! The point is the things Corefile authors most often get wrong: plugins
//! run in the registry's order (CoreDNS's plugin.cfg), not in the order a
//! block lists them; some directives only configure the server and never see
//! a query; a block with nothing that answers gets REFUSED; and blocks with
//! `view` sharing a zone are tried in Corefile order.
//!
//! The JSON document (`--json`) has these fields, all always present:
//!
//! - `schema`: 1; bumped if a field changes meaning or goes away.
//! - `file`: the Corefile as named on the command line.
//! - `notes`: remarks about the whole file (strings).
//! - `listeners[]`: `address` (`dns://127.0.0.1:53`, as the server names
//!   it), `transport`, `host` (null: every address), `port`, and `zones[]`:
//!   `zone`, `blocks` (block numbers serving it, in the order they are
//!   tried), `unreachable` (those of `blocks` that never get a query for it
//!   because a block without a view comes first).
//! - `blocks[]`: `block` (1-based, Corefile order), `keys` (as written),
//!   `location` (`file:line:col` of the first key), `zones`, `bind` (the
//!   addresses `bind` resolves to, or null without `bind`), `bind_error`
//!   (why those could not be resolved, or null), `view` (has a `view`
//!   filter), `chain[]` in execution order: `plugin`, `config_only`,
//!   `location`; `written_order` (directive names as written), `reordered[]`:
//!   `plugin`, `runs_after` (query-handling plugins written after `plugin`
//!   that run before it); `refused` (no plugin handles queries: every query
//!   routed to the block is answered REFUSED).

use crate::cli::{default_corefile, load_text, load_with};
use crate::plugin::Parse;
use crate::plugins::bind::{listen_hosts, setup::BindConfig};
use crate::registry;
use crate::site::ListenAddr;
use corec_compiler::{Block, Dispenser, Model, RealFs};
use serde_json::{Value, json};
use std::fmt::Write as _;
use std::net::IpAddr;
use std::process::ExitCode;

/// What `corec explain` reports about one Corefile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explanation {
    /// The Corefile, as named on the command line.
    pub file: String,
    /// Remarks about the whole file.
    pub notes: Vec<String>,
    /// Listeners, in the order their first zone appears in the Corefile.
    pub listeners: Vec<ListenerInfo>,
    /// Server blocks, in Corefile order.
    pub blocks: Vec<BlockInfo>,
}

/// One address the server listens on and what it routes where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerInfo {
    /// Transport, host and port.
    pub addr: ListenAddr,
    /// Zones served here, in Corefile order.
    pub zones: Vec<ZoneRoute>,
}

/// The blocks serving one zone on one listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneRoute {
    /// Lowercase, fully qualified.
    pub zone: String,
    /// Block numbers in the order they are tried: the first whose view
    /// admits the query (or that has none) serves it.
    pub blocks: Vec<usize>,
    /// The blocks of `blocks` that never see a query for this zone here,
    /// because a block without a view is tried before them.
    pub unreachable: Vec<usize>,
}

/// One server block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockInfo {
    /// 1-based, in Corefile order.
    pub number: usize,
    /// Keys as written.
    pub keys: Vec<String>,
    /// `file:line:col` of the first key.
    pub location: String,
    /// Distinct zones, in key order.
    pub zones: Vec<String>,
    /// What `bind` resolves to: `None` without `bind` (every address),
    /// `Some(Err)` when it cannot be resolved (`corec run` would fail).
    pub bind: Option<Result<Vec<IpAddr>, String>>,
    /// Has a `view` filter.
    pub view: bool,
    /// Every directive of the block, in execution (registry) order.
    pub chain: Vec<ChainEntry>,
    /// The directives as written (first occurrence of each).
    pub written_order: Vec<&'static str>,
    /// Query-handling plugins written before others that run before them.
    pub reordered: Vec<Reordered>,
    /// No plugin of the block handles queries: the server answers REFUSED.
    pub refused: bool,
}

/// One directive in a block's chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainEntry {
    /// Directive name.
    pub plugin: &'static str,
    /// Only configures the server; never sees a query.
    pub config_only: bool,
    /// `file:line:col` of its first occurrence.
    pub location: String,
}

/// A plugin whose written position misleads about when it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reordered {
    /// The plugin written earlier.
    pub plugin: &'static str,
    /// Plugins written after it that run before it, in execution order.
    pub runs_after: Vec<&'static str>,
}

impl Explanation {
    /// Explains a model without errors. `file` is the name to print.
    pub fn of(model: &Model, file: &str) -> Explanation {
        let blocks: Vec<BlockInfo> = model
            .blocks
            .iter()
            .enumerate()
            .map(|(i, b)| block_info(model, i + 1, b))
            .collect();
        let mut listeners: Vec<ListenerInfo> = Vec::new();
        for (b, info) in model.blocks.iter().zip(&blocks) {
            // Grouped as the site groups them; a `bind` that cannot be
            // resolved leaves the block without listeners.
            let hosts: &[IpAddr] = match &info.bind {
                None => &[],
                Some(Ok(ips)) => ips,
                Some(Err(_)) => continue,
            };
            for (la, zone) in crate::site::listen_zones(b, hosts) {
                let at = match listeners.iter().position(|l| l.addr == la) {
                    Some(at) => at,
                    None => {
                        listeners.push(ListenerInfo {
                            addr: la,
                            zones: Vec::new(),
                        });
                        listeners.len() - 1
                    }
                };
                let zones = &mut listeners[at].zones;
                let route = match zones.iter().position(|z| z.zone == zone) {
                    Some(z) => &mut zones[z],
                    None => {
                        zones.push(ZoneRoute {
                            zone: zone.to_string(),
                            blocks: Vec::new(),
                            unreachable: Vec::new(),
                        });
                        zones.last_mut().expect("just pushed")
                    }
                };
                if !route.blocks.contains(&info.number) {
                    route.blocks.push(info.number);
                }
            }
        }
        for route in listeners.iter_mut().flat_map(|l| l.zones.iter_mut()) {
            // `Listener::route` takes the first candidate without a view or
            // whose view admits the query: nothing after a viewless block runs.
            if let Some(first) = route.blocks.iter().position(|&n| !blocks[n - 1].view) {
                route.unreachable = route.blocks[first + 1..].to_vec();
            }
        }
        Explanation {
            file: file.to_string(),
            notes: Vec::new(),
            listeners,
            blocks,
        }
    }

    /// The JSON document (see the module documentation for its fields).
    pub fn to_json(&self) -> Value {
        let listeners: Vec<Value> = self
            .listeners
            .iter()
            .map(|l| {
                let zones: Vec<Value> = l
                    .zones
                    .iter()
                    .map(|z| {
                        json!({
                            "zone": z.zone,
                            "blocks": z.blocks,
                            "unreachable": z.unreachable,
                        })
                    })
                    .collect();
                json!({
                    "address": l.addr.to_string(),
                    "transport": l.addr.transport.scheme(),
                    "host": l.addr.host.map(|h| h.to_string()),
                    "port": l.addr.port,
                    "zones": zones,
                })
            })
            .collect();
        let blocks: Vec<Value> = self
            .blocks
            .iter()
            .map(|b| {
                let (bind, bind_error) = match &b.bind {
                    None => (Value::Null, Value::Null),
                    Some(Ok(ips)) => (
                        ips.iter()
                            .map(|ip| ip.to_string())
                            .collect::<Vec<_>>()
                            .into(),
                        Value::Null,
                    ),
                    Some(Err(e)) => (Value::Null, e.as_str().into()),
                };
                let chain: Vec<Value> = b
                    .chain
                    .iter()
                    .map(|c| {
                        json!({
                            "plugin": c.plugin,
                            "config_only": c.config_only,
                            "location": c.location,
                        })
                    })
                    .collect();
                let reordered: Vec<Value> = b
                    .reordered
                    .iter()
                    .map(|r| json!({"plugin": r.plugin, "runs_after": r.runs_after}))
                    .collect();
                json!({
                    "block": b.number,
                    "keys": b.keys,
                    "location": b.location,
                    "zones": b.zones,
                    "bind": bind,
                    "bind_error": bind_error,
                    "view": b.view,
                    "chain": chain,
                    "written_order": b.written_order,
                    "reordered": reordered,
                    "refused": b.refused,
                })
            })
            .collect();
        json!({
            "schema": 1,
            "file": self.file,
            "notes": self.notes,
            "listeners": listeners,
            "blocks": blocks,
        })
    }

    /// The human-readable report.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = self.write_text(&mut out);
        out
    }

    fn write_text(&self, out: &mut String) -> std::fmt::Result {
        writeln!(
            out,
            "{}: {} server block{}, {} listener{}",
            self.file,
            self.blocks.len(),
            plural(self.blocks.len()),
            self.listeners.len(),
            plural(self.listeners.len()),
        )?;
        for n in &self.notes {
            writeln!(out, "note: {n}")?;
        }
        for l in &self.listeners {
            writeln!(out, "\n{}", l.addr)?;
            let width = l.zones.iter().map(|z| z.zone.len()).max().unwrap_or(0);
            for z in &l.zones {
                let served: Vec<String> = z
                    .blocks
                    .iter()
                    .map(|&n| {
                        let b = &self.blocks[n - 1];
                        let mut s = format!("block {n}");
                        if b.view {
                            s.push_str(" (view)");
                        }
                        if z.unreachable.contains(&n) {
                            s.push_str(" (never reached)");
                        }
                        s
                    })
                    .collect();
                writeln!(out, "  {:width$}  {}", z.zone, served.join(", "))?;
                if z.blocks.len() > 1 {
                    writeln!(
                        out,
                        "  {:width$}  tried in Corefile order: the first block whose view admits the query serves it;\n\
                           {:width$}  if none admits it, a less specific zone on this listener does (else REFUSED)",
                        "", ""
                    )?;
                }
                if let (Some(&last), Some(&first)) = (z.unreachable.last(), z.unreachable.first()) {
                    let shadow = z
                        .blocks
                        .iter()
                        .find(|&&n| !self.blocks[n - 1].view)
                        .copied()
                        .unwrap_or(first);
                    let which = if first == last {
                        format!("block {first} never gets")
                    } else {
                        format!("blocks {} never get", join_numbers(&z.unreachable))
                    };
                    writeln!(
                        out,
                        "  {:width$}  block {shadow} has no view and comes first, so {which} these queries",
                        ""
                    )?;
                }
            }
        }
        for b in &self.blocks {
            writeln!(
                out,
                "\nblock {}: {} ({})",
                b.number,
                b.keys.join(" "),
                b.location
            )?;
            writeln!(out, "  zones: {}", b.zones.join(" "))?;
            match &b.bind {
                None => {}
                Some(Ok(ips)) => {
                    let ips: Vec<String> = ips.iter().map(IpAddr::to_string).collect();
                    writeln!(out, "  bind: listens on {} only", ips.join(" "))?;
                }
                Some(Err(e)) => writeln!(out, "  bind: {e} (corec run would refuse to start)")?,
            }
            if b.view {
                writeln!(out, "  view: only takes the queries its filter admits")?;
            }
            writeln!(out, "  plugins, in execution order:")?;
            let width = b.chain.iter().map(|c| c.plugin.len()).max().unwrap_or(0);
            let mut step = 0;
            for c in &b.chain {
                if c.config_only {
                    // prometheus is a chain hop in CoreDNS; in corec the server
                    // records each query of the block after the reply is encoded.
                    let role = if c.plugin == "prometheus" {
                        "config only: the server counts every query of the block"
                    } else {
                        "config only: sets up the server, never sees a query"
                    };
                    writeln!(out, "     -  {:width$}  {role}", c.plugin)?;
                } else {
                    step += 1;
                    writeln!(out, "    {step:2}  {:width$}  {}", c.plugin, c.location)?;
                }
            }
            if !b.reordered.is_empty() {
                writeln!(out, "  written order: {}", b.written_order.join(", "))?;
                for r in &b.reordered {
                    let them = if r.runs_after.len() == 1 {
                        "it"
                    } else {
                        "them"
                    };
                    writeln!(
                        out,
                        "  note: {} is written before {} but runs after {them}",
                        r.plugin,
                        r.runs_after.join(", ")
                    )?;
                }
                writeln!(
                    out,
                    "        plugins run in the registry's order (CoreDNS's plugin.cfg), \
                     whatever order the block lists them in"
                )?;
            }
            if b.refused {
                writeln!(
                    out,
                    "  note: no plugin here handles queries: every query routed to this block is answered REFUSED"
                )?;
            }
        }
        Ok(())
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn join_numbers(ns: &[usize]) -> String {
    ns.iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn block_info(model: &Model, number: usize, b: &Block) -> BlockInfo {
    let zones = b.zones();
    let location = |p: &corec_compiler::PluginUse| {
        p.tokens
            .first()
            .map(|t| model.sources.location(t.span))
            .unwrap_or_default()
    };
    let chain: Vec<ChainEntry> = b
        .plugins
        .iter()
        .map(|p| ChainEntry {
            plugin: p.name,
            config_only: registry::is_config_only(p.name),
            location: location(p),
        })
        .collect();
    let mut written: Vec<_> = b.plugins.iter().collect();
    written.sort_by_key(|p| p.written);
    // Only plugins that see queries: the position of a config-only
    // directive changes nothing.
    let reordered = written
        .iter()
        .filter(|p| !registry::is_config_only(p.name))
        .filter_map(|p| {
            let runs_after: Vec<&'static str> = b
                .plugins
                .iter()
                .filter(|q| {
                    !registry::is_config_only(q.name)
                        && q.written > p.written
                        && q.registry_index < p.registry_index
                })
                .map(|q| q.name)
                .collect();
            (!runs_after.is_empty()).then_some(Reordered {
                plugin: p.name,
                runs_after,
            })
        })
        .collect();
    let bind = b.plugin("bind").map(|used| {
        let mut d = Dispenser::new("bind", &used.tokens, &zones);
        // The model is valid, so this parses; if not, say why all the same.
        BindConfig::parse(&mut d)
            .map_err(|_| "cannot parse bind".to_string())
            .and_then(|cfg| listen_hosts(&cfg))
    });
    BlockInfo {
        number,
        keys: b.keys.iter().map(|k| k.text.clone()).collect(),
        location: b
            .keys
            .first()
            .map(|k| model.sources.location(k.span))
            .unwrap_or_default(),
        zones,
        bind,
        view: b.plugin("view").is_some(),
        refused: chain.iter().all(|c| c.config_only),
        chain,
        written_order: written.iter().map(|p| p.name).collect(),
        reordered,
    }
}

const USAGE: &str = "usage: corec explain [--json] [FILE]";

/// `corec explain [--json] [FILE]`: exit 0 with the report on stdout; 1 with
/// the diagnostics on stderr if the Corefile has errors; 2 on bad usage.
pub fn explain_main(args: &[String]) -> ExitCode {
    let mut json = false;
    let mut file = None;
    for a in args {
        match a.as_str() {
            "--json" | "-json" => json = true,
            flag if flag.starts_with('-') => {
                eprintln!("flag provided but not defined: {flag}\n{USAGE}");
                return ExitCode::from(2);
            }
            path if file.is_none() => file = Some(path.to_string()),
            _ => {
                eprintln!("{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    let file = file.unwrap_or_else(|| "Corefile".to_string());
    let model = load_with(&RealFs, std::path::Path::new(&file), &file, "53");
    // Errors and warnings, as `corec check` prints them.
    eprint!("{}", model.render_diagnostics());
    if !model.is_ok() {
        return ExitCode::FAILURE;
    }
    let ex = if model.blocks.is_empty() {
        // `corec run` serves its built-in configuration then; explain that.
        let default = load_text(&default_corefile("53"), "Corefile", "53");
        let mut ex = Explanation::of(&default, &file);
        ex.notes.push(
            "no server blocks: corec run serves its built-in configuration, shown here".into(),
        );
        ex
    } else {
        Explanation::of(&model, &file)
    };
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&ex.to_json()).unwrap_or_default()
        );
    } else {
        print!("{}", ex.to_text());
    }
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::load;

    /// `forward` written before `hosts` and `log`, a config-only `bind`,
    /// a block with nothing that answers, and two ports.
    const ORDER_CASE: &str = "\
example.org:1053 {
    forward . 127.0.0.1:9
    hosts {
        10.0.0.1 www.example.org
        fallthrough
    }
    log
    bind 127.0.0.1
}
example.net:1053 {
    root /tmp
}
.:1054 {
    whoami
}
";

    /// Two views sharing the root zone, a viewless fallback after them,
    /// and on another port a viewless block that shadows a view.
    const VIEW_CASE: &str = "\
.:1053 {
    view local {
        expr client_ip() == '127.0.0.1'
    }
    whoami
}
.:1053 {
    view tcp {
        expr proto() == 'tcp'
    }
    whoami
}
.:1053 {
    whoami
}
example.org:1054 {
    whoami
}
example.org:1054 {
    view late {
        expr true
    }
    whoami
}
";

    fn explain(corefile: &str) -> Explanation {
        let model = load(corefile);
        assert!(model.is_ok(), "{}", model.render_diagnostics());
        Explanation::of(&model, "Corefile")
    }

    fn addresses(ex: &Explanation) -> Vec<String> {
        ex.listeners.iter().map(|l| l.addr.to_string()).collect()
    }

    #[test]
    fn execution_order_is_the_registry_order_not_the_written_one() {
        let ex = explain(ORDER_CASE);
        let b = &ex.blocks[0];
        let chain: Vec<_> = b.chain.iter().map(|c| (c.plugin, c.config_only)).collect();
        assert_eq!(
            chain,
            [
                ("bind", true),
                ("log", false),
                ("hosts", false),
                ("forward", false)
            ]
        );
        assert_eq!(b.written_order, ["forward", "hosts", "log", "bind"]);
        assert_eq!(
            b.reordered,
            [
                Reordered {
                    plugin: "forward",
                    runs_after: vec!["log", "hosts"],
                },
                Reordered {
                    plugin: "hosts",
                    runs_after: vec!["log"],
                },
            ],
            "bind is config only, so its position is not reported"
        );
        assert_eq!(b.chain[3].location, "Corefile:2:5");
        assert!(!b.refused);
        let text = ex.to_text();
        assert!(
            text.contains("note: forward is written before log, hosts but runs after them"),
            "{text}"
        );
        assert!(text.contains("note: hosts is written before log but runs after it"));
        assert!(text.contains("written order: forward, hosts, log, bind"));
        assert!(text.contains("     -  bind     config only"), "{text}");
        assert!(text.contains("     1  log      Corefile:7:5"), "{text}");
    }

    #[test]
    fn config_only_blocks_are_refused() {
        let ex = explain(ORDER_CASE);
        let b = &ex.blocks[1];
        assert_eq!(b.chain.len(), 1);
        assert!(b.chain[0].config_only);
        assert!(b.refused);
        assert!(b.reordered.is_empty());
        assert!(!ex.blocks[2].refused);
        assert!(ex.to_text().contains(
            "note: no plugin here handles queries: every query routed to this block is answered REFUSED"
        ));
    }

    #[test]
    fn listeners_by_port_and_bind_address() {
        let ex = explain(ORDER_CASE);
        assert_eq!(
            addresses(&ex),
            ["dns://127.0.0.1:1053", "dns://:1053", "dns://:1054"]
        );
        assert_eq!(
            ex.blocks[0].bind,
            Some(Ok(vec!["127.0.0.1".parse().unwrap()]))
        );
        assert_eq!(ex.blocks[1].bind, None);
        let zones: Vec<Vec<(&str, &[usize])>> = ex
            .listeners
            .iter()
            .map(|l| {
                l.zones
                    .iter()
                    .map(|z| (z.zone.as_str(), z.blocks.as_slice()))
                    .collect()
            })
            .collect();
        assert_eq!(
            zones,
            [
                vec![("example.org.", &[1][..])],
                vec![("example.net.", &[2][..])],
                vec![(".", &[3][..])],
            ]
        );
        let text = ex.to_text();
        assert!(text.starts_with("Corefile: 3 server blocks, 3 listeners\n"));
        assert!(
            text.contains("\ndns://127.0.0.1:1053\n  example.org.  block 1\n"),
            "{text}"
        );
        assert!(text.contains("  bind: listens on 127.0.0.1 only"));
    }

    #[test]
    fn one_block_on_several_bind_addresses_and_ports() {
        let ex = explain("a.org:1053 b.org:1054 {\n    bind 127.0.0.1 ::1\n    whoami\n}\n");
        assert_eq!(
            addresses(&ex),
            [
                "dns://127.0.0.1:1053",
                "dns://[::1]:1053",
                "dns://127.0.0.1:1054",
                "dns://[::1]:1054"
            ]
        );
        let ex = explain(". {\n    bind 127.0.0.1 {\n        except 127.0.0.1\n    }\n}\n");
        assert!(ex.listeners.is_empty());
        assert!(
            matches!(&ex.blocks[0].bind, Some(Err(e)) if e.contains("every address is excluded"))
        );
        assert!(ex.to_text().contains("corec run would refuse to start"));
    }

    #[test]
    fn views_sharing_a_zone_are_tried_in_corefile_order() {
        let ex = explain(VIEW_CASE);
        assert_eq!(addresses(&ex), ["dns://:1053", "dns://:1054"]);
        let root = &ex.listeners[0].zones[0];
        assert_eq!(root.zone, ".");
        assert_eq!(root.blocks, [1, 2, 3]);
        assert!(root.unreachable.is_empty(), "the viewless block is last");
        let shadowed = &ex.listeners[1].zones[0];
        assert_eq!(shadowed.blocks, [4, 5]);
        assert_eq!(shadowed.unreachable, [5]);
        assert!(ex.blocks[0].view && ex.blocks[1].view && !ex.blocks[2].view);
        let text = ex.to_text();
        assert!(
            text.contains("  .  block 1 (view), block 2 (view), block 3\n"),
            "{text}"
        );
        assert!(text.contains("the first block whose view admits the query serves it"));
        assert!(text.contains("block 5 (view) (never reached)"), "{text}");
        assert!(
            text.contains(
                "block 4 has no view and comes first, so block 5 never gets these queries"
            )
        );
    }

    #[test]
    fn json_carries_the_same_facts() {
        let ex = explain(ORDER_CASE);
        let text = serde_json::to_string_pretty(&ex.to_json()).unwrap();
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["schema"], 1);
        assert_eq!(v["file"], "Corefile");
        assert_eq!(v["notes"], json!([]));

        let l = &v["listeners"];
        assert_eq!(l.as_array().unwrap().len(), 3);
        assert_eq!(l[0]["address"], "dns://127.0.0.1:1053");
        assert_eq!(l[0]["transport"], "dns");
        assert_eq!(l[0]["host"], "127.0.0.1");
        assert_eq!(l[0]["port"], 1053);
        assert_eq!(l[0]["zones"][0]["zone"], "example.org.");
        assert_eq!(l[0]["zones"][0]["blocks"], json!([1]));
        assert_eq!(l[0]["zones"][0]["unreachable"], json!([]));
        assert_eq!(l[1]["host"], Value::Null);
        assert_eq!(l[2]["port"], 1054);

        let b = &v["blocks"][0];
        assert_eq!(b["block"], 1);
        assert_eq!(b["keys"], json!(["example.org:1053"]));
        assert_eq!(b["location"], "Corefile:1:1");
        assert_eq!(b["zones"], json!(["example.org."]));
        assert_eq!(b["bind"], json!(["127.0.0.1"]));
        assert_eq!(b["bind_error"], Value::Null);
        assert_eq!(b["view"], false);
        assert_eq!(b["refused"], false);
        assert_eq!(
            b["written_order"],
            json!(["forward", "hosts", "log", "bind"])
        );
        let chain = b["chain"].as_array().unwrap();
        let names: Vec<&str> = chain
            .iter()
            .map(|c| c["plugin"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["bind", "log", "hosts", "forward"]);
        assert_eq!(chain[0]["config_only"], true);
        assert_eq!(chain[1]["config_only"], false);
        assert_eq!(chain[3]["location"], "Corefile:2:5");
        assert_eq!(
            b["reordered"],
            json!([
                {"plugin": "forward", "runs_after": ["log", "hosts"]},
                {"plugin": "hosts", "runs_after": ["log"]},
            ])
        );
        assert_eq!(v["blocks"][1]["refused"], true);
        assert_eq!(v["blocks"][1]["bind"], Value::Null);

        let views = explain(VIEW_CASE).to_json();
        assert_eq!(views["blocks"][0]["view"], true);
        assert_eq!(views["listeners"][1]["zones"][0]["blocks"], json!([4, 5]));
        assert_eq!(views["listeners"][1]["zones"][0]["unreachable"], json!([5]));
    }
}
