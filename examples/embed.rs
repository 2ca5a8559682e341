//! A Corefile compiled into your own binary with `corefile!`: the plugin
//! chain is checked when this file compiles (try misspelling a directive in
//! embed.Corefile) and runs as statically typed code. The binary takes
//! CoreDNS's flags, e.g. `-dns.port 1053`.

fn main() -> std::process::ExitCode {
    let site = corec_macros::corefile!("embed.Corefile");
    corec_runtime::site_main(site)
}
