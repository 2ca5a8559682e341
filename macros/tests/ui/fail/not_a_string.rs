fn main() {
    let _site = corec_macros::corefile!(Corefile);
}
