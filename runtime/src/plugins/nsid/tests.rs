use super::handler::Nsid;
use super::setup::NsidConfig;
use crate::chain::{Chain, End};
use crate::dns::{Edns, Message, RecordType, ResponseCode};
use crate::plugin::{Answer, Handler, Outcome, Parse, Plugin, Request};
use crate::plugins::chaos::hostname;
use crate::server::respond::{self, Prepared};
use crate::testing::{Case, TestSite, load, parse_err};
use corec_compiler::Dispenser;
use hickory_proto::rr::rdata::opt::{EdnsCode, EdnsOption, NSIDPayload};

// ---------------------------------------------------------------- syntax

/// The parsed configuration of the `nsid` in `corefile`.
fn config(corefile: &str) -> NsidConfig {
    let model = load(corefile);
    assert!(model.is_ok(), "{}", model.render_diagnostics());
    let block = &model.blocks[0];
    let used = block.plugin("nsid").expect("an nsid directive");
    let zones = block.zones();
    let mut d = Dispenser::new("nsid", &used.tokens, &zones);
    NsidConfig::parse(&mut d).expect("parses")
}

#[test]
fn parse_table() {
    for (corefile, data) in [
        (". {\n nsid\n}", None),
        (". {\n nsid ps0\n}", Some("ps0")),
        (". {\n nsid Use The Force\n}", Some("Use The Force")),
        (". {\n nsid \"tf 2\"\n}", Some("tf 2")),
        (". {\n nsid a   \"b  c\"\n}", Some("a b  c")),
    ] {
        assert_eq!(config(corefile).data.as_deref(), data, "{corefile}");
    }
    for (bad, expected) in [
        (
            ". {\n nsid\n nsid other\n}",
            "plugin/nsid: this plugin can only be used once per Server Block",
        ),
        (
            ". {\n nsid id {\n  x\n }\n}",
            "plugin/nsid: unexpected block: nsid takes no options",
        ),
        (
            ". {\n nsid {\n }\n}",
            "plugin/nsid: unexpected block: nsid takes no options",
        ),
    ] {
        let err = parse_err(bad);
        assert!(err.contains(expected), "{bad}:\n{err}");
    }
}

// ---------------------------------------------------------------- helpers

/// An A query for `www.example.org.` as it arrives on the wire, with an
/// OPT advertising 1232 bytes and, if `options` is not empty, those options.
fn query_bytes(edns: bool, options: Vec<EdnsOption>) -> Vec<u8> {
    let mut req = Case::new("www.example.org.", RecordType::A).request();
    if edns {
        let mut e = Edns::new();
        e.set_max_payload(1232);
        for o in options {
            e.options_mut().insert(o);
        }
        req.message.edns = Some(e);
    }
    req.message.to_vec().unwrap()
}

fn nsid_option(data: &[u8]) -> EdnsOption {
    EdnsOption::NSID(NSIDPayload::new(data.to_vec()).unwrap())
}

/// Runs `bytes` through `site` exactly as a listener does; the reply's wire bytes.
async fn serve_bytes(site: &TestSite, bytes: &[u8]) -> Vec<u8> {
    let at = *site.site.listeners.keys().next().expect("a listener");
    let name = site.site.listeners[&at].name.clone();
    let Prepared::Query(mut req) = respond::prepare(
        bytes,
        "127.0.0.1:5353".parse().unwrap(),
        "127.0.0.1:53".parse().unwrap(),
        crate::plugin::Proto::Udp,
        &name,
    ) else {
        panic!("the query was not accepted");
    };
    let answer = respond::run(&site.site, at, &mut req)
        .await
        .unwrap_or_else(|e| Answer::Rcode(e.rcode));
    respond::finish(&req, answer)
        .first()
        .expect("a reply")
        .to_vec()
}

/// The `(code, value)` pairs of the OPT in wire message `bytes`, read by
/// hand (12-byte header, one question, then the records).
fn wire_options(bytes: &[u8]) -> Option<Vec<(u16, Vec<u8>)>> {
    let u16_at = |i: usize| u16::from_be_bytes([bytes[i], bytes[i + 1]]);
    let skip_name = |mut i: usize| {
        loop {
            let len = bytes[i];
            if len == 0 {
                return i + 1;
            }
            if len & 0xc0 == 0xc0 {
                return i + 2;
            }
            i += 1 + usize::from(len);
        }
    };
    assert_eq!(u16_at(4), 1, "one question");
    let records = usize::from(u16_at(6)) + usize::from(u16_at(8)) + usize::from(u16_at(10));
    let mut i = skip_name(12) + 4;
    for _ in 0..records {
        i = skip_name(i);
        let rtype = u16_at(i);
        let rdlen = usize::from(u16_at(i + 8));
        let rdata = &bytes[i + 10..i + 10 + rdlen];
        i += 10 + rdlen;
        if rtype == 41 {
            let mut out = Vec::new();
            let mut j = 0;
            while j < rdata.len() {
                let code = u16::from_be_bytes([rdata[j], rdata[j + 1]]);
                let len = usize::from(u16::from_be_bytes([rdata[j + 2], rdata[j + 3]]));
                out.push((code, rdata[j + 4..j + 4 + len].to_vec()));
                j += 4 + len;
            }
            return Some(out);
        }
    }
    None
}

fn nsid_of(m: &Message) -> Option<Vec<u8>> {
    match m.edns.as_ref()?.option(EdnsCode::NSID)? {
        EdnsOption::NSID(p) => Some(p.as_ref().to_vec()),
        other => panic!("NSID code with {other:?}"),
    }
}

// ---------------------------------------------------------------- serving

#[tokio::test]
async fn nsid_comes_back_on_the_wire_when_asked_for() {
    let site = TestSite::new("example.org {\n nsid Use The Force\n whoami\n}");
    let query = query_bytes(true, vec![nsid_option(b"")]);
    assert!(
        query.windows(4).any(|w| w == [0, 3, 0, 0]),
        "the query carries an empty NSID option"
    );
    let reply = serve_bytes(&site, &query).await;
    assert_eq!(
        wire_options(&reply),
        Some(vec![(3, b"Use The Force".to_vec())]),
        "option code 3 with the DATA bytes"
    );
    let m = Message::from_vec(&reply).unwrap();
    assert_eq!(nsid_of(&m).as_deref(), Some(&b"Use The Force"[..]));
    assert_eq!(m.additionals.len(), 2, "whoami's reply is otherwise intact");
    assert_eq!(m.edns.unwrap().max_payload(), 1232);
}

#[tokio::test]
async fn default_data_is_the_host_name() {
    let site = TestSite::new("example.org {\n nsid\n whoami\n}");
    let reply = serve_bytes(&site, &query_bytes(true, vec![nsid_option(b"")])).await;
    assert_eq!(
        wire_options(&reply),
        Some(vec![(3, hostname().into_bytes())])
    );
    assert!(!hostname().is_empty());
}

#[tokio::test]
async fn no_nsid_unless_the_query_asks() {
    let site = TestSite::new("example.org {\n nsid id1\n whoami\n}");
    // EDNS without NSID: an OPT, but no option in it.
    let cookie = EdnsOption::Unknown(10, vec![1, 2, 3, 4, 5, 6, 7, 8]);
    let reply = serve_bytes(&site, &query_bytes(true, vec![cookie])).await;
    assert_eq!(wire_options(&reply), Some(vec![]));
    // No EDNS: no OPT at all.
    let reply = serve_bytes(&site, &query_bytes(false, vec![])).await;
    assert_eq!(wire_options(&reply), None);
    let r = site
        .query(Case::new("www.example.org.", RecordType::A).edns(1232))
        .await;
    assert_eq!(nsid_of(r.message()), None);
}

#[tokio::test]
async fn a_reply_the_server_writes_gets_no_nsid() {
    // Nothing after nsid: the chain fails and the server writes SERVFAIL,
    // as in CoreDNS, where such replies bypass the plugin's writer.
    let site = TestSite::new("example.org {\n nsid id1\n}");
    let reply = serve_bytes(&site, &query_bytes(true, vec![nsid_option(b"")])).await;
    let m = Message::from_vec(&reply).unwrap();
    assert_eq!(m.metadata.response_code, ResponseCode::ServFail);
    assert_eq!(wire_options(&reply), Some(vec![]));
}

/// A test plugin replying with a fixed EDNS (or none).
#[derive(Debug)]
struct WithEdns(Option<Edns>);

impl Plugin for WithEdns {
    const NAME: &'static str = "with_edns";

    async fn serve<'a, N: Handler>(&'a self, req: &'a mut Request, _next: &'a N) -> Outcome {
        let mut m = req.reply();
        m.edns = self.0.clone();
        Ok(Answer::reply(Self::NAME, m))
    }
}

fn nsid(data: &str) -> Nsid {
    Nsid::new(data.to_string()).unwrap()
}

fn asking_request() -> Request {
    let mut req = Case::new("www.example.org.", RecordType::A)
        .edns(1232)
        .request();
    let e = req.message.edns.as_mut().unwrap();
    e.options_mut().insert(nsid_option(b""));
    req
}

#[tokio::test]
async fn adds_an_opt_when_the_reply_has_none() {
    let chain = Chain::new(nsid("id1"), Chain::new(WithEdns(None), End));
    let Ok(Answer::Reply(r)) = chain.handle(&mut asking_request()).await else {
        panic!("a reply")
    };
    assert_eq!(nsid_of(&r.message).as_deref(), Some(&b"id1"[..]));
}

#[tokio::test]
async fn replaces_an_nsid_already_there_and_keeps_other_options() {
    let mut e = Edns::new();
    e.options_mut()
        .insert(EdnsOption::Unknown(65001, b"keep".to_vec()));
    e.options_mut().insert(nsid_option(b"inner"));
    let chain = Chain::new(nsid("outer"), Chain::new(WithEdns(Some(e)), End));
    let Ok(Answer::Reply(r)) = chain.handle(&mut asking_request()).await else {
        panic!("a reply")
    };
    let opts = r.message.edns.unwrap().options().options.clone();
    assert_eq!(
        opts,
        [
            (
                EdnsCode::Unknown(65001),
                EdnsOption::Unknown(65001, b"keep".to_vec())
            ),
            (EdnsCode::NSID, nsid_option(b"outer")),
        ]
    );
}
