//! The command line shared by `corec` and every compiled site binary:
//! CoreDNS's flags (`-conf`, `-dns.port`/`-p`, `-pidfile`, `-plugins`,
//! `-version`, `-quiet`) and corec's `-log-format`, startup, signals and
//! reload.

use crate::reload::{ConfigSource, Reloader};
use crate::server::Server;
use crate::site::{CompiledBlocks, NoCompiled, Site, plugins_of};
use corec_compiler::{EmbeddedFs, LoadOptions, Model, RealFs};
use std::io::Read as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

/// corec's version as CoreDNS prints its own (`CoreDNS-1.14.7`).
pub const VERSION: &str = concat!("corec-", env!("CARGO_PKG_VERSION"));

/// The Corefile a compiled binary was built from, embedded with its imports.
#[derive(Debug)]
pub struct CompiledSite<C> {
    /// Absolute path of the Corefile at build time (reload re-reads it).
    pub corefile: &'static str,
    /// Every file read at build time, `(absolute path, contents)`.
    pub files: &'static [(&'static str, &'static str)],
    _blocks: std::marker::PhantomData<fn() -> C>,
}

impl<C: CompiledBlocks> CompiledSite<C> {
    /// Used by `corefile!`.
    pub const fn new(
        corefile: &'static str,
        files: &'static [(&'static str, &'static str)],
    ) -> Self {
        CompiledSite {
            corefile,
            files,
            _blocks: std::marker::PhantomData,
        }
    }

    /// Loads the embedded Corefile (environment substituted now, as CoreDNS does at startup).
    pub fn load(&self, dns_port: &str) -> Model {
        let fs = EmbeddedFs::new(self.files.iter().copied());
        let name = std::path::Path::new(self.corefile).file_name().map_or_else(
            || self.corefile.to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        load_for::<C>(&fs, std::path::Path::new(self.corefile), &name, dns_port)
    }
}

/// Parsed command-line flags.
#[derive(Debug, Clone, Default)]
pub struct Flags {
    /// `-conf FILE` (or `stdin`).
    pub conf: Option<String>,
    /// `-dns.port`/`-p`: port for keys without one.
    pub port: String,
    /// `-pidfile FILE`.
    pub pidfile: Option<PathBuf>,
    /// `-plugins`: list plugins and exit.
    pub plugins: bool,
    /// `-version`: print version and exit.
    pub version: bool,
    /// `-quiet`: no startup banner.
    pub quiet: bool,
    /// `-log-format text|json`.
    pub log_format: crate::logging::LogFormat,
}

/// Parses Go-style flags: `-name value`, `-name=value`, `--name value`.
pub fn parse_flags(args: &[String]) -> Result<Flags, String> {
    let mut f = Flags {
        port: "53".into(),
        ..Flags::default()
    };
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        let Some(flag) = arg.strip_prefix("--").or_else(|| arg.strip_prefix('-')) else {
            return Err(format!("extra command line arguments: {arg}"));
        };
        let (name, inline) = match flag.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (flag, None),
        };
        let mut value = || -> Result<String, String> {
            if let Some(v) = inline.clone() {
                return Ok(v);
            }
            i += 1;
            args.get(i)
                .cloned()
                .ok_or_else(|| format!("flag needs an argument: -{name}"))
        };
        let boolean = |v: Option<String>| -> Result<bool, String> {
            match v.as_deref() {
                None | Some("true" | "1" | "t" | "T" | "TRUE" | "True") => Ok(true),
                Some("false" | "0" | "f" | "F" | "FALSE" | "False") => Ok(false),
                Some(o) => Err(format!("invalid boolean value {o:?} for -{name}")),
            }
        };
        match name {
            "conf" => f.conf = Some(value()?),
            "dns.port" | "p" => f.port = value()?,
            "pidfile" => f.pidfile = Some(PathBuf::from(value()?)),
            "plugins" => f.plugins = boolean(inline.clone())?,
            "version" => f.version = boolean(inline.clone())?,
            "quiet" => f.quiet = boolean(inline.clone())?,
            "log-format" => f.log_format = value()?.parse()?,
            other => return Err(format!("flag provided but not defined: -{other}")),
        }
        i += 1;
    }
    if f.port.parse::<u16>().is_err() {
        return Err(format!("invalid port {:?} for -dns.port", f.port));
    }
    Ok(f)
}

/// Loads a Corefile from a file system for a binary with compiled blocks
/// `C` (plugins it does not link are errors).
pub fn load_for<C: CompiledBlocks>(
    fs: &dyn corec_compiler::FileSystem,
    path: &std::path::Path,
    name: &str,
    port: &str,
) -> Model {
    let env = |k: &str| std::env::var(k).ok();
    corec_compiler::load(
        path,
        name,
        &LoadOptions {
            fs,
            env: &env,
            plugins: &plugins_of::<C>(),
            dns_port: port,
        },
    )
}

/// Loads a Corefile with every plugin corec implements.
pub fn load_with(
    fs: &dyn corec_compiler::FileSystem,
    path: &std::path::Path,
    name: &str,
    port: &str,
) -> Model {
    load_for::<NoCompiled>(fs, path, name, port)
}

/// Loads Corefile text for a binary with compiled blocks `C`.
pub fn load_text_for<C: CompiledBlocks>(text: &str, name: &str, port: &str) -> Model {
    let env = |k: &str| std::env::var(k).ok();
    corec_compiler::load_str(
        text,
        name,
        &LoadOptions {
            fs: &RealFs,
            env: &env,
            plugins: &plugins_of::<C>(),
            dns_port: port,
        },
    )
}

/// Loads Corefile text with every plugin corec implements.
pub fn load_text(text: &str, name: &str, port: &str) -> Model {
    load_text_for::<NoCompiled>(text, name, port)
}

/// CoreDNS's built-in configuration when there is no Corefile.
pub fn default_corefile(port: &str) -> String {
    format!(".:{port} {{\n    whoami\n    log\n}}\n")
}

fn print_version() {
    for line in version_lines() {
        println!("{line}");
    }
}

fn version_lines() -> [String; 2] {
    [
        VERSION.to_string(),
        format!(
            "{}/{}, rustc, {}",
            std::env::consts::OS,
            std::env::consts::ARCH,
            option_env!("COREC_COMMIT").unwrap_or("unknown")
        ),
    ]
}

/// A startup line: as is in text, a log object with `-log-format json` (so
/// that every line on stdout parses).
fn banner_line(line: &str) {
    if crate::logging::is_json() {
        tracing::info!("{line}");
    } else {
        println!("{line}");
    }
}

fn print_plugins<C: CompiledBlocks>() {
    println!("Server types:\n  dns\n\nCaddyfile loaders:\n  flag\n  default\n\nOther plugins:");
    for p in crate::registry::linked(|n| C::builder(n).is_some()) {
        println!("  dns.{p}");
    }
}

/// Entry point of a compiled site binary (called by the code `corec build` generates).
pub fn site_main<C: CompiledBlocks>(site: CompiledSite<C>) -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match parse_flags(&args) {
        Ok(flags) => serve(flags, Some(site)),
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(2)
        }
    }
}

/// `corec run`/`corec` with flags: serve interpreted.
pub fn run_main(args: &[String]) -> ExitCode {
    match parse_flags(args) {
        Ok(flags) => serve::<crate::site::NoCompiled>(flags, None),
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(2)
        }
    }
}

/// Loads what the flags point at: `-conf`, else the compiled-in Corefile,
/// else `./Corefile`, else the built-in default. A Corefile with no server
/// blocks also gets the default, as in CoreDNS.
fn initial_model<C: CompiledBlocks>(
    flags: &Flags,
    compiled: Option<&CompiledSite<C>>,
) -> (Model, ConfigSource) {
    let (model, source) = match (&flags.conf, compiled) {
        (Some(c), _) if c == "stdin" => {
            let mut text = String::new();
            let _ = std::io::stdin().read_to_string(&mut text);
            (
                load_text_for::<C>(&text, "stdin", &flags.port),
                ConfigSource::Stdin,
            )
        }
        (Some(c), _) => {
            let p = PathBuf::from(c);
            (
                load_for::<C>(&RealFs, &p, c, &flags.port),
                ConfigSource::File(p),
            )
        }
        (None, Some(site)) => (
            site.load(&flags.port),
            ConfigSource::File(PathBuf::from(site.corefile)),
        ),
        (None, None) => {
            let p = PathBuf::from("Corefile");
            if p.exists() {
                (
                    load_for::<C>(&RealFs, &p, "Corefile", &flags.port),
                    ConfigSource::File(p),
                )
            } else {
                (
                    load_text_for::<C>(&default_corefile(&flags.port), "Corefile", &flags.port),
                    ConfigSource::Default,
                )
            }
        }
    };
    if model.is_ok() && model.blocks.is_empty() {
        return (
            load_text_for::<C>(&default_corefile(&flags.port), "Corefile", &flags.port),
            source,
        );
    }
    (model, source)
}

/// Builds the site for a freshly loaded model: compiled chains when this
/// binary has them and the model has their shape, interpreted otherwise.
pub fn build_site<C: CompiledBlocks>(
    model: Model,
    prefer_compiled: bool,
) -> Result<Site<C>, String> {
    let sources = model.sources.clone();
    let shape = model.shape();
    let same_shape =
        shape.len() == C::SHAPE.len() && shape.iter().zip(C::SHAPE).all(|(a, b)| a == b);
    let result = if prefer_compiled && same_shape {
        Site::compiled(model)
    } else {
        Site::interpreted(model)
    };
    result.map_err(|d| d.render(&sources))
}

fn serve<C: CompiledBlocks>(flags: Flags, compiled: Option<CompiledSite<C>>) -> ExitCode {
    if flags.version {
        print_version();
        return ExitCode::SUCCESS;
    }
    if flags.plugins {
        print_plugins::<C>();
        return ExitCode::SUCCESS;
    }
    crate::logging::init(flags.log_format);
    let (model, source) = initial_model(&flags, compiled.as_ref());
    if !model.is_ok() {
        eprint!("{}", model.render_diagnostics());
        return ExitCode::FAILURE;
    }
    if !model.diagnostics.is_empty() {
        eprint!("{}", model.render_diagnostics());
    }
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    let code = runtime.block_on(async move {
        let from_build = compiled.is_some() && flags.conf.is_none();
        let debug = model.blocks.iter().any(|b| b.plugin("debug").is_some());
        crate::logging::set_debug(debug);
        let site = match build_site::<C>(model, from_build) {
            Ok(site) => site,
            Err(e) => {
                eprint!("{e}");
                return ExitCode::FAILURE;
            }
        };
        if compiled.is_some() {
            if site.is_compiled() {
                tracing::info!(
                    "running compiled site built from {}",
                    compiled.as_ref().map_or("", |c| c.corefile)
                );
            } else if flags.conf.is_some() {
                tracing::info!("running interpreted: -conf given");
            } else {
                tracing::info!(
                    "running interpreted: Corefile no longer matches the compiled chains"
                );
            }
        }
        let mut handlers = match crate::reload::Signals::install() {
            Ok(h) => h,
            Err(e) => {
                eprintln!("cannot install signal handlers: {e}");
                return ExitCode::FAILURE;
            }
        };
        let server = match Server::start(site) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("Listen: {e}");
                return ExitCode::FAILURE;
            }
        };
        if let Some(p) = &flags.pidfile
            && let Err(e) = std::fs::write(p, format!("{}\n", std::process::id()))
        {
            eprintln!("Could not write pidfile: {e}");
            return ExitCode::FAILURE;
        }
        if !flags.quiet {
            banner(&server);
        }
        let reloader = Arc::new(Reloader::new(server.clone(), source, flags.port.clone()));
        reloader.watch();
        let mut code = crate::reload::signals(&mut handlers, reloader.clone()).await;
        reloader.stop_watching();
        // *health*'s lameduck: DNS keeps being served for a while; a second
        // SIGINT cuts it short.
        let graceful = tokio::select! {
            _ = server.shutdown() => true,
            _ = handlers.interrupted() => {
                tracing::info!("SIGINT: Terminating now");
                server.stop();
                code = ExitCode::from(2);
                false
            }
        };
        // Queries already being answered (an upstream still to reply) get
        // their answer, within a bound.
        if graceful && !server.drain(SHUTDOWN_GRACE).await {
            tracing::warn!(
                "queries still unanswered after {SHUTDOWN_GRACE:?}: shutting down anyway"
            );
        }
        if let Some(p) = &flags.pidfile {
            let _ = std::fs::remove_file(p);
        }
        code
    });
    runtime.shutdown_timeout(std::time::Duration::from_secs(5));
    code
}

/// How long shutdown waits for queries in flight (CoreDNS gives its
/// servers 5 seconds too).
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// CoreDNS's startup lines: each zone with its port, then the version.
pub fn banner<C: CompiledBlocks>(server: &Server<C>) {
    let site = server.current();
    for (at, bound) in server.bound() {
        if let Some(l) = site.listeners.get(&at) {
            for (zone, _) in &l.zone_list {
                banner_line(&format!("{zone}:{}", bound.udp.port()));
            }
        }
    }
    for line in version_lines() {
        banner_line(&line);
    }
}

/// The `corec` command: subcommands, or CoreDNS's flags alone to serve.
pub fn corec_main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("run") => run_main(&args[1..]),
        Some("check") => check_main(&args[1..]),
        Some("explain") => crate::explain::explain_main(&args[1..]),
        Some("build") => crate::build_cmd::build_main(&args[1..]),
        Some("help" | "-h" | "--help" | "-help") => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        _ => run_main(&args),
    }
}

const USAGE: &str = "usage:
  corec run [-conf FILE] [-dns.port PORT] [-pidfile FILE] [-quiet] [-log-format text|json]
                                                                      serve a Corefile (interpreted)
  corec check [FILE]                                                  validate a Corefile, print every error
  corec explain [--json] [FILE]                                       listeners, zones and each block's plugins in execution order
  corec build FILE -o OUTPUT                                          compile a Corefile into a site binary
  corec [-plugins] [-version]                                         as CoreDNS";

/// `corec check [FILE]`: prints every diagnostic, exit 0 if there is no error.
pub fn check_main(args: &[String]) -> ExitCode {
    let (path, port) = match args {
        [] => ("Corefile".to_string(), "53".to_string()),
        [p] => (p.clone(), "53".to_string()),
        _ => {
            eprintln!("usage: corec check [FILE]");
            return ExitCode::from(2);
        }
    };
    let model = load_with(&RealFs, std::path::Path::new(&path), &path, &port);
    eprint!("{}", model.render_diagnostics());
    if model.is_ok() {
        let zones: usize = model.blocks.iter().map(|b| b.addrs.len()).sum();
        println!(
            "{path}: ok ({} server blocks, {zones} zones)",
            model.blocks.len()
        );
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
