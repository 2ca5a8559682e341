//! Arbitrary bytes as a query, through the header checks, routing and a
//! full interpreted chain (log, errors, hosts, chaos, whoami): never a
//! panic, and any reply is a well-formed DNS response no larger than the
//! client may receive over UDP.

#![no_main]

use corec_runtime::cli::{build_site, load_text};
use corec_runtime::plugin::Proto;
use corec_runtime::server::respond::{self, Prepared};
use corec_runtime::site::{NoCompiled, Site};
use libfuzzer_sys::fuzz_target;
use std::sync::{Arc, LazyLock};

const COREFILE: &str = "example.org:0 192.0.2.0/24:0 {
    hosts {
        192.0.2.1 www.example.org
        2001:db8::1 www.example.org
    }
    log
    errors
}
.:0 {
    chaos fuzz
    whoami
}
";

static RUNTIME: LazyLock<tokio::runtime::Runtime> =
    LazyLock::new(|| tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap());

static SITE: LazyLock<Site<NoCompiled>> = LazyLock::new(|| {
    let _guard = RUNTIME.enter();
    build_site(load_text(COREFILE, "Corefile", "0"), false).expect("the fuzz site builds")
});

fuzz_target!(|data: &[u8]| {
    let name: Arc<str> = "dns://:0".into();
    let client = "127.0.0.1:5353".parse().unwrap();
    let local = "127.0.0.1:53".parse().unwrap();
    let at = *SITE.listeners.keys().next().unwrap();
    let reply = match respond::prepare(data, client, local, Proto::Udp, &name) {
        Prepared::Drop => return,
        Prepared::Reply(bytes) => bytes,
        Prepared::Query(req) => match RUNTIME.block_on(respond::handle(&SITE, at, *req)).first() {
            Some(bytes) => bytes.to_vec(),
            None => return,
        },
    };
    assert!(reply.len() <= 1232, "UDP reply of {} bytes", reply.len());
    assert!(reply.len() >= 12);
    assert_eq!(&reply[..2], &data[..2], "reply carries the query ID");
    assert!(reply[2] & 0x80 != 0, "QR set");
});
