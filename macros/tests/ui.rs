//! `corefile!` at compile time: valid Corefiles expand to a site; each kind
//! of Corefile error is reported by rustc at the macro call with the
//! Corefile's own file:line:col, line and caret.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
    t.compile_fail("tests/ui/fail/*.rs");
}
