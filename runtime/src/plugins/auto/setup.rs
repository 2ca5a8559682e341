//! `auto [ZONES...] { directory DIR [REGEXP TEMPLATE]; reload DURATION; fallthrough [ZONES...] }`

use crate::plugin::Parse;
use corec_compiler::duration::parse_go_duration;
use corec_compiler::{Diagnostics, Dispenser};
use std::time::Duration;

/// The configuration of `auto`.
#[derive(Debug, Clone)]
pub struct AutoConfig {
    /// Zones it may serve (the block's zones by default).
    pub zones: Vec<String>,
    /// The directory, as written (relative to `root`).
    pub directory: String,
    /// Which file names are zone files; its groups feed `template`.
    pub regexp: regex::Regex,
    /// The origin made from a file name: `{1}` is the first group, and so on.
    pub template: String,
    /// How often to scan; zero: only at startup.
    pub reload: Duration,
    /// Zones whose NXDOMAIN answers go to the next plugin instead.
    pub fallthrough: Option<Vec<String>>,
}

const PROPERTIES: &[&str] = &["directory", "reload", "fallthrough"];

impl Parse for AutoConfig {
    fn parse(d: &mut Dispenser<'_>) -> Result<Self, Diagnostics> {
        d.once()?;
        d.next();
        let zones = d.remaining_args();
        let mut cfg = AutoConfig {
            zones: d.origins(&zones),
            directory: String::new(),
            regexp: regex::Regex::new(r"db\.(.*)").expect("valid"),
            template: "{1}".into(),
            reload: Duration::from_secs(60),
            fallthrough: None,
        };
        while d.next_block() {
            match d.val() {
                "directory" => {
                    cfg.directory = d.arg()?.text.clone();
                    let rest = d.remaining_args();
                    match rest.as_slice() {
                        [] => {}
                        [re, template] => {
                            if re.text.len() > 10_000 {
                                return Err(d.err_at(re, "regexp too large").into());
                            }
                            cfg.regexp = regex::Regex::new(&re.text)
                                .map_err(|e| d.err_at(re, e.to_string()))?;
                            if cfg.regexp.captures_len() < 2 {
                                return Err(d
                                    .err_at(re, "the regexp needs a group for the origin")
                                    .into());
                            }
                            cfg.template = template.text.clone();
                        }
                        _ => return Err(d.arg_err().into()),
                    }
                }
                "reload" => {
                    let tok = d.arg()?;
                    cfg.reload = match parse_go_duration(&tok.text) {
                        Ok(n) if n >= 0 => Duration::from_nanos(n as u64),
                        Ok(_) => {
                            return Err(d
                                .err_at(tok, "reload interval can not be negative")
                                .into());
                        }
                        Err(e) => return Err(d.err_at(tok, e).into()),
                    };
                }
                "fallthrough" => {
                    let zones = d.remaining_args();
                    cfg.fallthrough = Some(if zones.is_empty() {
                        vec![".".to_string()]
                    } else {
                        d.origins(&zones)
                    });
                }
                _ => return Err(d.unknown_property(PROPERTIES).into()),
            }
        }
        if cfg.directory.is_empty() {
            return Err(d.err("a directory is required").into());
        }
        Ok(cfg)
    }
}
