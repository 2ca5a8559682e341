fn main() {
    let site = corec_macros::corefile!("../corefiles/good.Corefile");
    assert!(site.corefile.ends_with("good.Corefile"));
    assert_eq!(site.files.len(), 1);
    let model = site.load("53");
    assert!(model.is_ok());
    assert_eq!(model.blocks.len(), 2);
}
