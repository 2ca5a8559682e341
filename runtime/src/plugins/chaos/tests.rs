use crate::testing::{Case, parse_err, query_interpreted};

#[test]
fn parse_errors() {
    assert!(parse_err(". {\n chaos\n chaos\n}").contains("can only be used once"));
}

#[tokio::test]
async fn answers_version_and_passes_others() {
    let corefile = ". {\n chaos v1 alice\n whoami\n}";
    let r = query_interpreted(corefile, Case::ch_txt("version.bind.")).await;
    assert_eq!(r.txt(), ["v1"]);
    let r = query_interpreted(corefile, Case::ch_txt("authors.bind.")).await;
    assert_eq!(r.txt(), ["alice"]);
    let r = query_interpreted(corefile, Case::ch_txt("other.bind.")).await;
    assert_eq!(r.plugin(), Some("whoami"));
}

#[tokio::test]
async fn other_classes_are_refused_without_chaos_on_the_listener() {
    use crate::dns::ResponseCode;
    let r = query_interpreted(".:0 {\n whoami\n}", Case::ch_txt("version.bind.")).await;
    assert_eq!(r.rcode(), ResponseCode::Refused);
    let r = query_interpreted(
        ".:0 {\n whoami\n}\nexample.org:0 {\n chaos\n}",
        Case::ch_txt("version.bind."),
    )
    .await;
    assert_eq!(
        r.plugin(),
        Some("whoami"),
        "chaos in any block of the listener lets CH through"
    );
}
