//! `file DBFILE [ZONES...] { reload DURATION; reload_by_mtime; fallthrough [ZONES...] }`

use crate::plugin::Parse;
use corec_compiler::duration::parse_go_duration;
use corec_compiler::{Diagnostics, Dispenser, Span};
use std::time::Duration;

/// One `file` line.
#[derive(Debug, Clone)]
pub struct FileSource {
    /// The zone file as written (relative to `root`).
    pub path: String,
    /// Where the path was written, for errors found when loading.
    pub span: Option<Span>,
    /// Origins served from it (the block's zones by default).
    pub zones: Vec<String>,
    /// How often to check the file; zero: never.
    pub reload: Duration,
    /// Reload when the modification time changes, even if the serial does not.
    pub reload_by_mtime: bool,
    /// Zones whose NXDOMAIN answers go to the next plugin instead.
    pub fallthrough: Option<Vec<String>>,
}

/// The configuration of `file`: every line of the block.
#[derive(Debug, Clone, Default)]
pub struct FileConfig {
    /// One entry per `file` line.
    pub sources: Vec<FileSource>,
}

const PROPERTIES: &[&str] = &["reload", "reload_by_mtime", "fallthrough"];

impl Parse for FileConfig {
    fn parse(d: &mut Dispenser<'_>) -> Result<Self, Diagnostics> {
        let mut cfg = FileConfig::default();
        while d.next() {
            let args = d.remaining_args();
            let Some((file, zones)) = args.split_first() else {
                return Err(d.arg_err().into());
            };
            let mut src = FileSource {
                path: file.text.clone(),
                span: Some(file.span),
                zones: d.origins(zones),
                reload: Duration::from_secs(60),
                reload_by_mtime: false,
                fallthrough: None,
            };
            while d.next_block() {
                match d.val() {
                    "reload" => {
                        let tok = d.arg()?;
                        src.reload = match parse_go_duration(&tok.text) {
                            Ok(n) if n >= 0 => Duration::from_nanos(n as u64),
                            Ok(_) => {
                                return Err(d
                                    .err_at(tok, "reload interval can not be negative")
                                    .into());
                            }
                            Err(e) => return Err(d.err_at(tok, e).into()),
                        };
                        d.end_of_line()?;
                    }
                    "reload_by_mtime" => {
                        src.reload_by_mtime = true;
                        d.end_of_line()?;
                    }
                    "fallthrough" => {
                        let zones = d.remaining_args();
                        src.fallthrough = Some(if zones.is_empty() {
                            vec![".".to_string()]
                        } else {
                            d.origins(&zones)
                        });
                    }
                    _ => return Err(d.unknown_property(PROPERTIES).into()),
                }
            }
            cfg.sources.push(src);
        }
        Ok(cfg)
    }
}
