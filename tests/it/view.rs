//! `view`: blocks sharing a zone, chosen per query by their filters, seen
//! by dig from two source addresses, in both modes and over UDP and TCP.

use corec_tests::*;
use std::path::Path;

#[tokio::test(flavor = "multi_thread")]
async fn dig_from_two_addresses_sees_two_views() {
    let compiled = start_compiled(corec_macros::corefile!("../fixtures/view/Corefile"), None);
    let interpreted = start_interpreted_file(Path::new("fixtures/view/Corefile"));
    for (mode, udp, tcp) in [
        ("compiled", compiled.udp, compiled.tcp),
        ("interpreted", interpreted.udp, interpreted.tcp),
    ] {
        for (tcp, at) in [("+notcp", udp), ("+tcp", tcp)] {
            for (source, want) in [("127.0.0.2", "10.1.1.1"), ("127.0.0.1", "192.0.2.1")] {
                let out = dig(at, &["-b", source, tcp, "+short", "www.example.org", "A"]);
                assert_eq!(out.trim(), want, "{mode} {tcp} from {source}");
            }
        }
    }
}
