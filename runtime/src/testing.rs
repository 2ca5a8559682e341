//! Helpers for plugin unit tests: load a Corefile, build an interpreted
#![allow(unreachable_pub, dead_code)] // a toolbox for tests; not every test uses every tool
//! site, and run queries through the same path the listeners use.

use crate::dns::{
    DNSClass, Edns, Message, MessageType, Name, OpCode, Query, RData, RecordType, ResponseCode,
};
use crate::plugin::{Answer, PluginError, Proto, Request};
use crate::server::respond;
use crate::site::{ListenAddr, NoCompiled, Site};
use corec_compiler::{LoadOptions, Model, RealFs};
use std::net::SocketAddr;

/// Loads Corefile text with the full registry and the process environment.
pub(crate) fn load(corefile: &str) -> Model {
    let env = |k: &str| std::env::var(k).ok();
    corec_compiler::load_str(
        corefile,
        "Corefile",
        &LoadOptions {
            fs: &RealFs,
            env: &env,
            plugins: &crate::registry::PLUGINS,
            dns_port: "53",
        },
    )
}

/// The rendered diagnostics of a Corefile that must fail to load or build.
pub(crate) fn parse_err(corefile: &str) -> String {
    let model = load(corefile);
    if !model.is_ok() {
        return model.render_diagnostics();
    }
    let sources = model.sources.clone();
    match Site::<NoCompiled>::interpreted(model) {
        Ok(_) => panic!("Corefile unexpectedly loaded:\n{corefile}"),
        Err(d) => d.render(&sources),
    }
}

/// One test query.
#[derive(Debug, Clone)]
pub(crate) struct Case {
    pub name: String,
    pub qtype: RecordType,
    pub qclass: DNSClass,
    pub proto: Proto,
    pub client: SocketAddr,
    pub edns: Option<u16>,
    pub dnssec: bool,
}

impl Case {
    pub fn new(name: &str, qtype: RecordType) -> Self {
        Case {
            name: name.to_string(),
            qtype,
            qclass: DNSClass::IN,
            proto: Proto::Udp,
            client: "127.0.0.1:5353".parse().unwrap(),
            edns: None,
            dnssec: false,
        }
    }

    pub fn ch_txt(name: &str) -> Self {
        Case {
            qclass: DNSClass::CH,
            ..Self::new(name, RecordType::TXT)
        }
    }

    pub fn tcp(mut self) -> Self {
        self.proto = Proto::Tcp;
        self
    }

    pub fn from(mut self, client: &str) -> Self {
        self.client = client.parse().unwrap();
        self
    }

    pub fn edns(mut self, size: u16) -> Self {
        self.edns = Some(size);
        self
    }

    /// EDNS with the DO bit (and a 1232-byte payload unless set).
    pub fn dnssec(mut self) -> Self {
        self.edns.get_or_insert(1232);
        self.dnssec = true;
        self
    }

    pub fn request(&self) -> Request {
        let mut m = Message::new(4242, MessageType::Query, OpCode::Query);
        m.metadata.recursion_desired = true;
        let mut q = Query::query(Name::from_ascii(&self.name).unwrap(), self.qtype);
        q.set_query_class(self.qclass);
        m.queries.push(q);
        if let Some(size) = self.edns {
            let mut e = Edns::new();
            e.set_max_payload(size);
            e.set_dnssec_ok(self.dnssec);
            m.edns = Some(e);
        }
        let wire_len = m.to_vec().unwrap().len();
        Request {
            message: m,
            wire_len,
            client: self.client,
            local: "127.0.0.1:53".parse().unwrap(),
            proto: self.proto,
            server: "dns://:53".into(),
            name_cache: Default::default(),
            depth: 0,
            refresh: false,
            meta: None,
        }
    }
}

/// What a test query produced.
#[derive(Debug)]
pub(crate) struct TestReply {
    /// The plugin that wrote the reply, if one did.
    pub written_by: Option<&'static str>,
    /// The chain's error, if any.
    pub error: Option<PluginError>,
    /// The reply as the client would decode it (`None`: nothing sent).
    pub reply: Option<Message>,
}

impl TestReply {
    pub fn message(&self) -> &Message {
        self.reply.as_ref().expect("a reply was sent")
    }

    pub fn rcode(&self) -> ResponseCode {
        self.message().metadata.response_code
    }

    pub fn plugin(&self) -> Option<&'static str> {
        self.written_by
    }

    pub fn txt(&self) -> Vec<String> {
        self.message()
            .answers
            .iter()
            .filter_map(|r| match &r.data {
                RData::TXT(t) => Some(t.to_string()),
                _ => None,
            })
            .collect()
    }

    /// Answer records in presentation form, sorted.
    pub fn answers(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .message()
            .answers
            .iter()
            .map(|r| r.to_string())
            .collect();
        v.sort();
        v
    }
}

/// An interpreted site for tests, shared as a running server's is, so its
/// plugins can resolve names through it (`upstream`).
pub(crate) struct TestSite {
    pub site: std::sync::Arc<Site<NoCompiled>>,
}

impl TestSite {
    pub fn new(corefile: &str) -> Self {
        let model = load(corefile);
        assert!(model.is_ok(), "{}", model.render_diagnostics());
        let sources = model.sources.clone();
        let site = Site::<NoCompiled>::interpreted(model)
            .unwrap_or_else(|d| panic!("{}", d.render(&sources)));
        TestSite {
            site: site.into_shared(),
        }
    }

    pub async fn query(&self, case: Case) -> TestReply {
        let mut req = case.request();
        let at = *self.site.listeners.keys().next().expect("a listener");
        let outcome = respond::run(&self.site, ListenAddr { ..at }, &mut req).await;
        let (written_by, error, answer) = match outcome {
            Ok(Answer::Reply(r)) => (Some(r.plugin), None, Answer::Reply(r)),
            Ok(other) => (None, None, other),
            Err(e) => (None, Some(e.clone()), Answer::Rcode(e.rcode)),
        };
        let reply = respond::finish(&req, answer)
            .first()
            .map(|b| Message::from_vec(b).unwrap());
        TestReply {
            written_by,
            error,
            reply,
        }
    }
}

/// Question types the lane-equality tests ask for.
pub(crate) const LANE_TYPES: [RecordType; 12] = [
    RecordType::A,
    RecordType::AAAA,
    RecordType::MX,
    RecordType::NS,
    RecordType::SOA,
    RecordType::TXT,
    RecordType::CNAME,
    RecordType::DS,
    RecordType::ANY,
    RecordType::SRV,
    RecordType::DNSKEY,
    RecordType::NSEC,
];

impl TestSite {
    /// The reply on the wire from the full path and, if it answered, from
    /// the fast lane.
    pub async fn both_lanes(&self, case: &Case) -> (Vec<u8>, Option<Vec<u8>>) {
        let req = case.request();
        let bytes = req.message.to_vec().unwrap();
        let at = *self.site.listeners.keys().next().expect("a listener");
        let listener = &self.site.listeners[&at];
        let mut out = Vec::new();
        let fast = crate::wire::WireQuery::parse(&bytes, req.proto, req.client, req.local)
            .map(|q| q.at_server(&req.server))
            .is_some_and(|q| respond::fast(&self.site, listener, &q, &mut out))
            .then_some(out);
        // The full path from the same bytes, as the server reads them.
        let respond::Prepared::Query(full_req) =
            respond::prepare(&bytes, req.client, req.local, req.proto, &req.server)
        else {
            panic!("not a query");
        };
        let full = respond::handle(&self.site, at, *full_req).await;
        (full.first().expect("a reply").to_vec(), fast)
    }
}

/// Asserts two wire replies say the same (they may differ in name
/// compression and in the case of names the server copied).
pub(crate) fn assert_same(a: &[u8], b: &[u8], what: &str) {
    let (a, b) = (Message::from_vec(a).unwrap(), Message::from_vec(b).unwrap());
    let lowered = |rs: &[crate::dns::Record]| -> Vec<String> {
        rs.iter()
            .map(|r| r.to_string().to_ascii_lowercase())
            .collect()
    };
    assert_eq!(a.metadata, b.metadata, "{what}");
    assert_eq!(a.queries, b.queries, "{what}");
    assert_eq!(a.edns, b.edns, "{what}");
    assert_eq!(lowered(&a.answers), lowered(&b.answers), "{what}");
    assert_eq!(lowered(&a.authorities), lowered(&b.authorities), "{what}");
    assert_eq!(lowered(&a.additionals), lowered(&b.additionals), "{what}");
}

/// Builds an interpreted site from `corefile` and runs one query.
pub(crate) async fn query_interpreted(corefile: &str, case: Case) -> TestReply {
    TestSite::new(corefile).query(case).await
}

/// Log lines captured from `tracing` in the process logger's own format
/// (`[LEVEL] plugin/<name>: ...`), for tests of what plugins log.
#[derive(Clone, Default)]
pub(crate) struct CapturedLogs(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl CapturedLogs {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }

    pub fn lines(&self) -> Vec<String> {
        self.text().lines().map(str::to_string).collect()
    }

    /// Waits (at most 5 s) until `n` lines were logged.
    pub async fn wait_for(&self, n: usize) -> Vec<String> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        loop {
            let lines = self.lines();
            if lines.len() >= n || std::time::Instant::now() > deadline {
                return lines;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }
}

impl std::io::Write for CapturedLogs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Captures this thread's plugin and query log lines (every level) until
/// the guard drops.
pub(crate) fn capture_logs() -> (CapturedLogs, tracing::subscriber::DefaultGuard) {
    capture_with(crate::logging::CorednsFormat, false)
}

/// [`capture_logs`] in the JSON format (`-log-format json`); lines of this
/// crate's own targets are kept too.
pub(crate) fn capture_json_logs() -> (CapturedLogs, tracing::subscriber::DefaultGuard) {
    capture_with(crate::logging::JsonFormat, true)
}

fn capture_with<F>(format: F, own: bool) -> (CapturedLogs, tracing::subscriber::DefaultGuard)
where
    F: tracing_subscriber::fmt::FormatEvent<
            tracing_subscriber::Registry,
            tracing_subscriber::fmt::format::DefaultFields,
        > + Send
        + Sync
        + 'static,
{
    use tracing_subscriber::prelude::*;
    let logs = CapturedLogs::default();
    let writer = logs.clone();
    let ours = tracing_subscriber::filter::filter_fn(move |m| {
        m.target() == "querylog"
            || m.target().starts_with("plugin/")
            || (own && m.target().starts_with("corec"))
    });
    let layer = tracing_subscriber::fmt::layer()
        .event_format(format)
        .with_writer(move || writer.clone())
        .with_filter(ours);
    let subscriber = tracing_subscriber::registry().with(layer);
    (logs, tracing::subscriber::set_default(subscriber))
}

/// One sample of the exposition: its metric name, labels and value.
#[derive(Debug)]
pub(crate) struct Sample {
    pub name: String,
    pub labels: std::collections::BTreeMap<String, String>,
    pub value: f64,
}

/// Parses the text exposition format (what `/metrics` serves).
pub(crate) fn samples(text: &str) -> Vec<Sample> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (series, value) = l.rsplit_once(' ').expect("a value");
            let (name, labels) = match series.split_once('{') {
                None => (series, std::collections::BTreeMap::new()),
                Some((n, rest)) => {
                    let body = rest.strip_suffix('}').expect("closing brace");
                    let labels = body
                        .split("\",")
                        .filter(|p| !p.is_empty())
                        .map(|p| {
                            let (k, v) = p.split_once("=\"").expect("label");
                            (k.to_string(), v.trim_end_matches('"').to_string())
                        })
                        .collect();
                    (n, labels)
                }
            };
            Sample {
                name: name.to_string(),
                labels,
                value: value.parse().expect("a number"),
            }
        })
        .collect()
}

/// The value of the one series of `name` having `labels` (0 if absent).
pub(crate) fn metric_value(name: &str, labels: &[(&str, &str)]) -> f64 {
    let text = String::from_utf8(crate::metrics::render()).unwrap();
    let found: Vec<Sample> = samples(&text)
        .into_iter()
        .filter(|s| {
            s.name == name
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .collect();
    assert!(found.len() <= 1, "{name} {labels:?} matches {found:?}");
    found.first().map_or(0.0, |s| s.value)
}
