//! `corec`: check, build, and run Corefiles.

fn main() -> std::process::ExitCode {
    corec_runtime::cli::corec_main()
}
