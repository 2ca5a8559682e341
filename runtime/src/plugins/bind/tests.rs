use super::setup::{BindConfig, BindLine, Host};
use crate::plugin::Parse;
use crate::testing::{TestSite, parse_err};
use corec_compiler::Dispenser;

fn parse(corefile: &str) -> BindConfig {
    let model = crate::testing::load(corefile);
    assert!(model.is_ok(), "{}", model.render_diagnostics());
    let used = model.blocks[0].plugin("bind").unwrap();
    let zones = model.blocks[0].zones();
    BindConfig::parse(&mut Dispenser::new("bind", &used.tokens, &zones)).unwrap()
}

#[test]
fn lines_hosts_and_except() {
    let cfg = parse(". {\n bind 127.0.0.1 [::1] lo\n bind 10.0.0.1 {\n  except 10.0.0.1\n }\n}");
    assert_eq!(
        cfg.lines,
        [
            BindLine {
                hosts: vec![
                    Host::Ip("127.0.0.1".parse().unwrap()),
                    Host::Ip("::1".parse().unwrap()),
                    Host::Interface("lo".into()),
                ],
                except: vec![],
            },
            BindLine {
                hosts: vec![Host::Ip("10.0.0.1".parse().unwrap())],
                except: vec![Host::Ip("10.0.0.1".parse().unwrap())],
            },
        ]
    );
}

#[test]
fn errors() {
    assert!(parse_err(". {\n bind\n}").contains("Wrong argument count"));
    assert!(
        parse_err(". {\n bind 127.0.0.1 {\n  exept ::1\n }\n}").contains("did you mean 'except'?")
    );
    assert!(
        parse_err(". {\n bind no-such-interface-x\n}")
            .contains("failed to get interface addresses of 'no-such-interface-x'")
    );
    assert!(
        parse_err(". {\n bind 127.0.0.1 {\n  except 127.0.0.1\n }\n}")
            .contains("nothing to listen on")
    );
}

#[tokio::test]
async fn listeners_follow_the_bound_addresses() {
    let t = TestSite::new(
        "example.org:53 {\n bind lo {\n  except ::1\n }\n whoami\n}\nexample.net:53 {\n whoami\n}",
    );
    let mut names: Vec<String> = t
        .site
        .listeners
        .values()
        .map(|l| l.name.to_string())
        .collect();
    names.sort();
    assert_eq!(names, ["dns://127.0.0.1:53", "dns://:53"]);
}
