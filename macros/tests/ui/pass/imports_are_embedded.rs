fn main() {
    let site = corec_macros::corefile!("../corefiles/with_import.Corefile");
    // The Corefile and the file it imports are both baked in.
    assert_eq!(site.files.len(), 2);
    assert!(site.files.iter().any(|(p, _)| p.ends_with("snippets.conf")));
    assert_eq!(site.load("53").blocks.len(), 2);
}
