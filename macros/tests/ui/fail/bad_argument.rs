fn main() {
    let _site = corec_macros::corefile!("../corefiles/bad_argument.Corefile");
}
