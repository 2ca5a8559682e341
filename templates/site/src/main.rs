//! A corec site: the Corefile below, compiled into this binary.

fn main() -> std::process::ExitCode {
    corec_runtime::site_main(corec_macros::corefile!("../../../Corefile.example"))
}
