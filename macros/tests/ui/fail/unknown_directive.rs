fn main() {
    let _site = corec_macros::corefile!("../corefiles/unknown_directive.Corefile");
}
