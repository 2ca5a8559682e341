fn main() {
    let _site = corec_macros::corefile!("../corefiles/unclosed.Corefile");
}
