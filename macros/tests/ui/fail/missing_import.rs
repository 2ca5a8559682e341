fn main() {
    let _site = corec_macros::corefile!("../corefiles/missing_import.Corefile");
}
