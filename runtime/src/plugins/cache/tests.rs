use super::handler::{Cache, MAX_REFRESHES};
use super::setup::{CacheConfig, Prefetch, ServeStale, StaleMode};
use crate::chain::{BoxFuture, Chain, End};
use crate::dns::{A, AAAA, DNSClass, Message, Name, RData, Record, RecordType, ResponseCode, TXT};
use crate::plugin::{Answer, Handler, Outcome, Parse, Plugin, PluginError, Request};
use crate::server::respond;
use crate::testing::{Case, TestSite, load, parse_err};
use crate::upstream::{Reenter, Upstream};
use crate::wire::WireQuery;
use corec_compiler::Dispenser;
use hickory_proto::rr::rdata::{CNAME, SOA};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;
use tokio::time::advance;
use tokio_util::sync::CancellationToken;

// ---------------------------------------------------------------- syntax

/// The parsed configuration of the only `cache` in `corefile`.
fn config(corefile: &str) -> CacheConfig {
    let model = load(corefile);
    assert!(model.is_ok(), "{}", model.render_diagnostics());
    let block = &model.blocks[0];
    let used = block.plugin("cache").expect("a cache directive");
    let zones = block.zones();
    let mut d = Dispenser::new("cache", &used.tokens, &zones);
    CacheConfig::parse(&mut d).expect("parses")
}

fn block(lines: &str) -> String {
    format!("example.org {{\n cache {{\n{lines}\n }}\n whoami\n}}")
}

#[test]
fn defaults() {
    let c = config("example.org {\n cache\n}");
    assert_eq!(c.zones, ["example.org."]);
    assert_eq!(c.success.capacity, 10_000);
    assert_eq!(c.success.per_shard(), 39, "9984 in all");
    assert_eq!((c.success.max_ttl, c.success.min_ttl), (3600, 5));
    assert_eq!((c.denial.max_ttl, c.denial.min_ttl), (1800, 5));
    assert_eq!(c.denial.per_shard(), 39);
    assert_eq!(c.servfail, Duration::from_secs(5));
    assert_eq!(c.prefetch, None);
    assert_eq!(c.serve_stale, None);
    assert!(!c.prefer_positive && !c.keepttl);
    assert!(c.disable_success.is_empty() && c.disable_denial.is_empty());
}

#[test]
fn ttl_and_zones() {
    let c = config(". {\n cache 300 Example.ORG example.net\n}");
    assert_eq!(c.success.max_ttl, 300);
    assert_eq!(c.denial.max_ttl, 300, "TTL caps both caches");
    assert_eq!(c.zones, ["example.org.", "example.net."]);
    // A first argument that is not a number is a zone.
    let c = config(". {\n cache example.org\n}");
    assert_eq!(c.zones, ["example.org."]);
    assert_eq!(c.success.max_ttl, 3600);
    let c = config("example.org example.net {\n cache +30\n}");
    assert_eq!(c.success.max_ttl, 30);
    assert_eq!(c.zones, ["example.org.", "example.net."]);
}

#[test]
fn every_option() {
    let c = config(&block(
        "  success 5000 100 10
  denial 2500 50 0
  prefetch 10 2m 20%
  serve_stale 30m verify 100ms 30s 1m
  serve_stale_policy PREFER_POSITIVE
  servfail 10s
  disable success sub.Example.org other.org
  disable denial
  keepttl",
    ));
    assert_eq!(
        (c.success.capacity, c.success.max_ttl, c.success.min_ttl),
        (5000, 100, 10)
    );
    assert_eq!(c.success.per_shard(), 19);
    assert_eq!(
        (c.denial.capacity, c.denial.max_ttl, c.denial.min_ttl),
        (2500, 50, 0)
    );
    assert_eq!(
        c.prefetch,
        Some(Prefetch {
            amount: 10,
            window: Duration::from_secs(120),
            percentage: 20
        })
    );
    assert_eq!(
        c.serve_stale,
        Some(ServeStale {
            up_to: Duration::from_secs(1800),
            mode: StaleMode::Verify {
                timeout: Duration::from_millis(100)
            },
            response_ttl: 30,
            failure_recheck: Duration::from_secs(60),
        })
    );
    assert!(c.prefer_positive);
    assert_eq!(c.servfail, Duration::from_secs(10));
    assert_eq!(c.disable_success, ["sub.example.org.", "other.org."]);
    assert_eq!(c.disable_denial, ["."]);
    assert!(c.keepttl);
}

#[test]
fn option_variants() {
    let stale = |line: &str| config(&block(line)).serve_stale.unwrap();
    let s = stale("serve_stale");
    assert_eq!(s.up_to, Duration::from_secs(3600));
    assert_eq!(s.mode, StaleMode::Immediate);
    assert_eq!((s.response_ttl, s.failure_recheck), (0, Duration::ZERO));
    let s = stale("serve_stale 10m");
    assert_eq!(s.up_to, Duration::from_secs(600));
    let s = stale("serve_stale 1h Immediate 30s 30s");
    assert_eq!(s.mode, StaleMode::Immediate);
    assert_eq!(
        (s.response_ttl, s.failure_recheck),
        (30, Duration::from_secs(30))
    );
    let s = stale("serve_stale 1h verify");
    assert_eq!(
        s.mode,
        StaleMode::Verify {
            timeout: Duration::ZERO
        }
    );
    let s = stale("serve_stale 1h verify 0 30s");
    assert_eq!(s.response_ttl, 30);
    // The last serve_stale wins, as in CoreDNS.
    let s = stale("serve_stale 1h verify 1s 5s\n serve_stale 2h");
    assert_eq!(s.up_to, Duration::from_secs(7200));
    assert_eq!((s.mode, s.response_ttl), (StaleMode::Immediate, 0));

    let p = config(&block("prefetch 3")).prefetch.unwrap();
    assert_eq!(
        (p.amount, p.window, p.percentage),
        (3, Duration::from_secs(60), 10)
    );
    let p = config(&block("prefetch 0 10s 90%")).prefetch.unwrap();
    assert_eq!((p.amount, p.percentage), (0, 90));

    // Any capacity is accepted; a shard holds at least 4 entries.
    for (cap, per) in [
        ("0", 4),
        ("-5", 4),
        ("1024", 4),
        ("1279", 4),
        ("100000", 390),
    ] {
        assert_eq!(
            config(&block(&format!("success {cap}")))
                .success
                .per_shard(),
            per,
            "{cap}"
        );
    }
    assert_eq!(config(&block("servfail 0")).servfail, Duration::ZERO);
    assert_eq!(
        config(&block("servfail 5m")).servfail,
        Duration::from_secs(300)
    );
}

#[test]
fn errors() {
    let cases: &[(&str, &str)] = &[
        (
            "example.org {\n cache 0\n}",
            "cache TTL can not be zero or negative: 0",
        ),
        (
            "example.org {\n cache -1\n}",
            "cache TTL can not be zero or negative: -1",
        ),
        (
            "example.org {\n cache\n cache 10\n}",
            "this plugin can only be used once per Server Block",
        ),
        (
            &block("success"),
            "Wrong argument count or unexpected line ending after 'success'",
        ),
        (
            &block("success 1 2 3 4"),
            "Wrong argument count or unexpected line ending after '4'",
        ),
        (
            &block("success abc"),
            "strconv.Atoi: parsing \"abc\": invalid syntax",
        ),
        (
            &block("success 99999999999999999999"),
            "strconv.Atoi: parsing \"99999999999999999999\": value out of range",
        ),
        (
            &block("success 10 0"),
            "cache TTL can not be zero or negative: 0",
        ),
        (
            &block("success 10 10 -1"),
            "cache min TTL can not be negative: -1",
        ),
        (
            &block("success 10 1.5"),
            "strconv.Atoi: parsing \"1.5\": invalid syntax",
        ),
        (
            &block("denial"),
            "Wrong argument count or unexpected line ending after 'denial'",
        ),
        (
            &block("denial x"),
            "strconv.Atoi: parsing \"x\": invalid syntax",
        ),
        (
            &block("denial 10 -5"),
            "cache TTL can not be zero or negative: -5",
        ),
        (
            &block("denial 10 10 -2"),
            "cache min TTL can not be negative: -2",
        ),
        (
            &block("prefetch"),
            "Wrong argument count or unexpected line ending after 'prefetch'",
        ),
        (
            &block("prefetch 1 1m 10% 4"),
            "Wrong argument count or unexpected line ending after '4'",
        ),
        (
            &block("prefetch -1"),
            "prefetch amount should be positive: -1",
        ),
        (
            &block("prefetch x"),
            "strconv.Atoi: parsing \"x\": invalid syntax",
        ),
        (&block("prefetch 1 abc"), "time: invalid duration \"abc\""),
        (
            &block("prefetch 1 1m 50"),
            "last character of percentage should be `%`, but is: '0'",
        ),
        (
            &block("prefetch 1 1m 5%"),
            "percentage should fall in range [10, 90]: 5",
        ),
        (
            &block("prefetch 1 1m 91%"),
            "percentage should fall in range [10, 90]: 91",
        ),
        (
            &block("prefetch 1 1m x%"),
            "strconv.Atoi: parsing \"x\": invalid syntax",
        ),
        (
            &block("serve_stale 1h verify 1s 1s 1s 1s"),
            "Wrong argument count or unexpected line ending after '1s'",
        ),
        (
            &block("serve_stale 1h immediate 1s 1s 1s"),
            "Wrong argument count or unexpected line ending after '1s'",
        ),
        (&block("serve_stale abc"), "time: invalid duration \"abc\""),
        (
            &block("serve_stale -1h"),
            "invalid negative duration for serve_stale",
        ),
        (
            &block("serve_stale 1h Later"),
            "invalid value for serve_stale refresh mode: later",
        ),
        (
            &block("serve_stale 1h verify x"),
            "invalid serve_stale verify timeout: time: invalid duration \"x\"",
        ),
        (
            &block("serve_stale 1h verify -1s"),
            "invalid negative timeout for serve_stale verify",
        ),
        (
            &block("serve_stale 1h immediate x"),
            "invalid serve_stale response TTL: time: invalid duration \"x\"",
        ),
        (
            &block("serve_stale 1h immediate -1s"),
            "invalid negative response TTL for serve_stale",
        ),
        (
            &block("serve_stale 1h immediate 1500ms"),
            "serve_stale response TTL must be a whole number of seconds",
        ),
        (
            &block("serve_stale 1h verify 0 1193047h"),
            "serve_stale response TTL exceeds the DNS TTL range",
        ),
        (
            &block("serve_stale 1h immediate 30s x"),
            "invalid serve_stale failure recheck: time: invalid duration \"x\"",
        ),
        (
            &block("serve_stale 1h immediate 30s -1s"),
            "invalid negative failure recheck for serve_stale",
        ),
        (
            &block("serve_stale 1h verify 0 30s 5m1s"),
            "serve_stale failure recheck cannot exceed 5 minutes",
        ),
        (
            &block("serve_stale_policy prefer_positive"),
            "serve_stale_policy requires serve_stale",
        ),
        (
            &block(
                "serve_stale\n serve_stale_policy prefer_positive\n serve_stale_policy prefer_positive",
            ),
            "serve_stale_policy can only be specified once",
        ),
        (
            &block("serve_stale\n serve_stale_policy"),
            "Wrong argument count or unexpected line ending after 'serve_stale_policy'",
        ),
        (
            &block("serve_stale\n serve_stale_policy Newest"),
            "invalid serve_stale_policy: Newest",
        ),
        (
            &block("servfail"),
            "Wrong argument count or unexpected line ending after 'servfail'",
        ),
        (
            &block("servfail 1s 2s"),
            "Wrong argument count or unexpected line ending after '2s'",
        ),
        (&block("servfail x"), "time: invalid duration \"x\""),
        (&block("servfail -1s"), "invalid negative ttl for servfail"),
        (
            &block("servfail 5m1s"),
            "caching SERVFAIL responses over 5 minutes is not permitted",
        ),
        (
            &block("disable"),
            "Wrong argument count or unexpected line ending after 'disable'",
        ),
        (
            &block("disable both"),
            "cache type for disable must be \"success\" or \"denial\"",
        ),
        (&block("disable success \"\""), "invalid disabled zone: "),
        (
            &block("keepttl 1"),
            "Wrong argument count or unexpected line ending after '1'",
        ),
        (&block("sucess 10"), "unknown property 'sucess'"),
    ];
    for (corefile, want) in cases {
        let got = parse_err(corefile);
        assert!(
            got.contains(&format!("plugin/cache: {want}")),
            "{corefile}\nwant: {want}\ngot: {got}"
        );
    }
    assert!(parse_err(&block("sucess 10")).contains("did you mean 'success'?"));
}

// ---------------------------------------------------------------- a scripted backend

/// What the backend does for a query.
#[derive(Debug, Clone)]
enum Script {
    /// Writes a reply with this rcode, flags and records.
    Reply {
        rcode: ResponseCode,
        answers: Vec<Record>,
        authority: Vec<Record>,
        additional: Vec<Record>,
        ad: bool,
        tc: bool,
    },
    /// Answers the question with one A, AAAA or TXT record, TTL 300.
    Echo,
    /// Writes nothing; the server answers with this rcode.
    Rcode(ResponseCode),
    /// Fails (the client gets SERVFAIL).
    Error,
    /// Answers another question than the one asked.
    OtherQuestion,
}

#[derive(Debug)]
struct State {
    calls: usize,
    script: Script,
    delay: Duration,
    /// The AD bit and the refresh flag of every query seen.
    seen: Vec<(bool, bool)>,
}

/// A plugin that answers what it is told and counts the queries it sees.
#[derive(Debug, Clone)]
struct Backend(Arc<Mutex<State>>);

impl Plugin for Backend {
    const NAME: &'static str = "backend";

    async fn serve<'a, N: Handler>(&'a self, req: &'a mut Request, _next: &'a N) -> Outcome {
        let (script, delay) = {
            let mut s = self.0.lock().unwrap();
            s.calls += 1;
            s.seen
                .push((req.message.metadata.authentic_data, req.refresh));
            (s.script.clone(), s.delay)
        };
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        match script {
            Script::Reply {
                rcode,
                answers,
                authority,
                additional,
                ad,
                tc,
            } => {
                let mut m = req.reply();
                m.metadata.response_code = rcode;
                m.metadata.authentic_data = ad;
                m.metadata.truncation = tc;
                m.metadata.recursion_available = true;
                m.answers = answers;
                m.authorities = authority;
                m.additionals = additional;
                Ok(Answer::reply(Self::NAME, m))
            }
            Script::Echo => {
                let mut m = req.reply();
                let owner = req.qname().clone();
                let data = match req.qtype() {
                    RecordType::AAAA => RData::AAAA(AAAA("2001:db8::1".parse().unwrap())),
                    RecordType::TXT => RData::TXT(TXT::new(vec!["echo".to_string()])),
                    _ => RData::A(A([192, 0, 2, 1].into())),
                };
                m.answers.push(Record::from_rdata(owner, 300, data));
                Ok(Answer::reply(Self::NAME, m))
            }
            Script::Rcode(rc) => Ok(Answer::Rcode(rc)),
            Script::Error => Err(PluginError::servfail(Self::NAME, "backend down")),
            Script::OtherQuestion => {
                let mut m = req.reply();
                let other = format!("other.{}", req.qname());
                m.queries[0].set_name(n(&other));
                m.answers.push(a(&other, 300, 1));
                Ok(Answer::reply(Self::NAME, m))
            }
        }
    }
}

fn n(s: &str) -> Name {
    Name::from_ascii(s).unwrap()
}

fn a(name: &str, ttl: u32, last: u8) -> Record {
    Record::from_rdata(n(name), ttl, RData::A(A([192, 0, 2, last].into())))
}

fn txt(name: &str, ttl: u32, text: &str) -> Record {
    Record::from_rdata(n(name), ttl, RData::TXT(TXT::new(vec![text.to_string()])))
}

fn cname(name: &str, ttl: u32, target: &str) -> Record {
    Record::from_rdata(n(name), ttl, RData::CNAME(CNAME(n(target))))
}

fn soa(ttl: u32) -> Record {
    let soa = SOA::new(
        n("ns.example.org."),
        n("admin.example.org."),
        1,
        7200,
        3600,
        1209600,
        300,
    );
    Record::from_rdata(n("example.org."), ttl, RData::SOA(soa))
}

fn reply(rcode: ResponseCode, answers: Vec<Record>, authority: Vec<Record>) -> Script {
    Script::Reply {
        rcode,
        answers,
        authority,
        additional: Vec::new(),
        ad: false,
        tc: false,
    }
}

/// `www.example.org. A 192.0.2.<last>` with `ttl`.
fn www(ttl: u32, last: u8) -> Script {
    reply(
        ResponseCode::NoError,
        vec![a("www.example.org.", ttl, last)],
        vec![],
    )
}

fn nxdomain(soa_ttl: u32) -> Script {
    reply(ResponseCode::NXDomain, vec![], vec![soa(soa_ttl)])
}

type Rigged = Chain<Cache, Chain<Backend, End>>;

/// The chain `cache, backend` as a site the cache can refresh through.
struct RigSite(Rigged);

impl Reenter for RigSite {
    fn reenter<'a>(&'a self, req: &'a mut Request) -> BoxFuture<'a, Outcome> {
        Box::pin(self.0.handle(req))
    }
}

struct Rig {
    site: Arc<RigSite>,
    cache: Cache,
    state: Arc<Mutex<State>>,
    _shutdown: CancellationToken,
}

impl Rig {
    /// `cache ARGS` in a block for example.org, in front of the backend.
    fn new(args: &str) -> Rig {
        Self::zoned("example.org", args)
    }

    /// [`new`](Self::new) for a block of `zone`: tests of metrics each use
    /// their own, the registry being process-wide.
    fn zoned(zone: &str, args: &str) -> Rig {
        let cfg = config(&format!("{zone} {{\n cache {args}\n}}"));
        let upstream = Upstream::default();
        let shutdown = CancellationToken::new();
        let labels = crate::metrics::BlockLabels::new(vec!["dns://:53".into()], "");
        let cache = Cache::new(cfg, upstream.clone(), shutdown.clone(), labels);
        let state = Arc::new(Mutex::new(State {
            calls: 0,
            script: www(300, 1),
            delay: Duration::ZERO,
            seen: Vec::new(),
        }));
        let site = Arc::new(RigSite(Chain::new(
            cache.clone(),
            Chain::new(Backend(state.clone()), End),
        )));
        let weak: Weak<dyn Reenter> = Arc::downgrade(&site) as Weak<dyn Reenter>;
        upstream.bind(weak);
        Rig {
            site,
            cache,
            state,
            _shutdown: shutdown,
        }
    }

    fn script(&self, s: Script) {
        self.state.lock().unwrap().script = s;
    }

    fn delay(&self, d: Duration) {
        self.state.lock().unwrap().delay = d;
    }

    fn calls(&self) -> usize {
        self.state.lock().unwrap().calls
    }

    /// The full path, as the server runs it, up to the bytes on the wire.
    async fn full(&self, case: &Case) -> Vec<u8> {
        let mut req = case.request();
        let answer = match self.site.0.handle(&mut req).await {
            Ok(a) => a,
            Err(e) => Answer::Rcode(e.rcode),
        };
        respond::finish(&req, answer)
            .first()
            .expect("a reply")
            .to_vec()
    }

    /// The fast lane's reply, if it answers.
    fn fast(&self, case: &Case) -> Option<Vec<u8>> {
        let req = case.request();
        let bytes = req.message.to_vec().unwrap();
        let q = WireQuery::parse(&bytes, req.proto, req.client, req.local)?;
        let mut out = Vec::new();
        self.site.0.handle_wire(&q, &mut out).then_some(out)
    }

    /// The full path for a query's bytes, from the server's first check on.
    async fn full_raw(&self, bytes: &[u8], proto: crate::plugin::Proto) -> Vec<u8> {
        let (client, local) = (
            "127.0.0.1:5353".parse().unwrap(),
            "127.0.0.1:53".parse().unwrap(),
        );
        let respond::Prepared::Query(mut req) =
            respond::prepare(bytes, client, local, proto, &"dns://:53".into())
        else {
            panic!("not a query")
        };
        let answer = self
            .site
            .0
            .handle(&mut req)
            .await
            .unwrap_or_else(|e| Answer::Rcode(e.rcode));
        respond::finish(&req, answer)
            .first()
            .expect("a reply")
            .to_vec()
    }

    /// The fast lane for a query's bytes.
    fn fast_raw(&self, bytes: &[u8], proto: crate::plugin::Proto) -> Option<Vec<u8>> {
        let (client, local) = (
            "127.0.0.1:5353".parse().unwrap(),
            "127.0.0.1:53".parse().unwrap(),
        );
        let q = WireQuery::parse(bytes, proto, client, local)?;
        let mut out = Vec::new();
        self.site.0.handle_wire(&q, &mut out).then_some(out)
    }

    /// Asks through the fast lane, then (if it declines) the full path,
    /// as the server does.
    async fn ask(&self, case: &Case) -> Message {
        let bytes = match self.fast(case) {
            Some(b) => b,
            None => self.full(case).await,
        };
        Message::from_vec(&bytes).unwrap()
    }

    async fn www(&self) -> Message {
        self.ask(&Case::new("www.example.org.", RecordType::A))
            .await
    }

    /// Lets background refreshes run.
    async fn settle(&self) {
        for _ in 0..64 {
            tokio::task::yield_now().await;
        }
    }
}

fn ttls(m: &Message) -> Vec<u32> {
    m.answers
        .iter()
        .chain(&m.authorities)
        .chain(&m.additionals)
        .map(|r| r.ttl)
        .collect()
}

fn first_a(m: &Message) -> Option<u8> {
    m.answers.iter().find_map(|r| match &r.data {
        RData::A(a) => Some(a.0.octets()[3]),
        _ => None,
    })
}

// ---------------------------------------------------------------- behaviour

#[tokio::test(start_paused = true)]
async fn a_repeated_query_is_a_hit_whose_ttl_counts_down() {
    let rig = Rig::new("");
    let m = rig.www().await;
    assert_eq!(
        (rig.calls(), first_a(&m), ttls(&m)),
        (1, Some(1), vec![300])
    );
    advance(Duration::from_millis(10_500)).await;
    let m = rig.www().await;
    assert_eq!(rig.calls(), 1, "answered from the cache");
    assert_eq!(ttls(&m), [290], "whole seconds of age count");
    assert!(
        m.metadata.authoritative,
        "CoreDNS sets AA on cached replies"
    );
    assert!(m.metadata.recursion_available, "RA as the backend set it");
    // The fast lane answered it.
    assert!(
        rig.fast(&Case::new("www.example.org.", RecordType::A))
            .is_some()
    );
    // Case does not matter; the question comes back as asked.
    let m = rig.ask(&Case::new("WWW.Example.ORG.", RecordType::A)).await;
    assert_eq!(rig.calls(), 1);
    assert_eq!(m.queries[0].name.to_ascii(), "WWW.Example.ORG.");
    // Expired: asked again.
    advance(Duration::from_secs(290)).await;
    let m = rig.www().await;
    assert_eq!((rig.calls(), ttls(&m)), (2, vec![300]));
    let s = rig.cache.stats();
    assert_eq!(
        (s.requests, s.hits_success, s.hits_denial, s.misses),
        (5, 3, 0, 2)
    );
    assert_eq!((s.entries_success, s.entries_denial), (1, 0));
}

#[tokio::test(start_paused = true)]
async fn every_record_gets_the_capped_minimum_ttl_on_the_miss_path_too() {
    let rig = Rig::new("");
    rig.script(Script::Reply {
        rcode: ResponseCode::NoError,
        answers: vec![a("www.example.org.", 100, 1), a("www.example.org.", 50, 2)],
        authority: vec![soa(700)],
        additional: vec![txt("x.example.org.", 900, "x")],
        ad: false,
        tc: false,
    });
    let m = rig.www().await;
    assert_eq!(ttls(&m), [50, 50, 50, 50]);
    let m = rig.www().await;
    assert_eq!((rig.calls(), ttls(&m)), (1, vec![50, 50, 50, 50]));

    // The TTL argument caps it, MINTTL raises it.
    let rig = Rig::new("30");
    assert_eq!(ttls(&rig.www().await), [30]);
    let rig = Rig::new("");
    rig.script(www(2, 1));
    assert_eq!(ttls(&rig.www().await), [5], "raised to the 5 s minimum");
    let rig = Rig::new("{\n success 100 3600 0\n }");
    rig.script(www(2, 1));
    assert_eq!(ttls(&rig.www().await), [2]);
    let rig = Rig::new("{\n success 100 10 20\n }");
    assert_eq!(
        ttls(&rig.www().await),
        [10],
        "the maximum wins over the minimum"
    );
    // A reply without records is kept 5 seconds.
    let rig = Rig::new("");
    rig.script(reply(ResponseCode::NoError, vec![], vec![]));
    rig.www().await;
    advance(Duration::from_secs(4)).await;
    rig.www().await;
    assert_eq!(rig.calls(), 1);
    advance(Duration::from_secs(1)).await;
    rig.www().await;
    assert_eq!(rig.calls(), 2);
}

#[tokio::test(start_paused = true)]
async fn denials_need_an_soa_and_are_capped_separately() {
    let rig = Rig::new("{\n denial 100 20\n }");
    rig.script(nxdomain(600));
    let nope = Case::new("nope.example.org.", RecordType::A);
    let m = rig.ask(&nope).await;
    assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
    assert_eq!(ttls(&m), [20]);
    let m = rig.ask(&nope).await;
    assert_eq!(rig.calls(), 1);
    assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
    let s = rig.cache.stats();
    assert_eq!((s.hits_denial, s.entries_denial), (1, 1));

    // NODATA with SOA is cached; NXDOMAIN without SOA is not.
    let rig = Rig::new("");
    rig.script(reply(ResponseCode::NoError, vec![], vec![soa(60)]));
    let mx = Case::new("www.example.org.", RecordType::MX);
    rig.ask(&mx).await;
    let m = rig.ask(&mx).await;
    assert_eq!((rig.calls(), ttls(&m)), (1, vec![60]));
    assert_eq!(rig.cache.stats().entries_denial, 1);
    rig.script(reply(ResponseCode::NXDomain, vec![], vec![]));
    rig.ask(&nope).await;
    rig.ask(&nope).await;
    assert_eq!(rig.calls(), 3);

    // A CNAME chain that does not reach the type: without SOA not cached,
    // with SOA cached as a denial.
    let rig = Rig::new("");
    rig.script(reply(
        ResponseCode::NoError,
        vec![cname("www.example.org.", 300, "elsewhere.example.net.")],
        vec![],
    ));
    rig.www().await;
    rig.www().await;
    assert_eq!(rig.calls(), 2);
    rig.script(reply(
        ResponseCode::NoError,
        vec![cname("www.example.org.", 300, "elsewhere.example.net.")],
        vec![soa(30)],
    ));
    rig.www().await;
    let m = rig.www().await;
    assert_eq!((rig.calls(), ttls(&m)), (3, vec![30, 30]));
    assert_eq!(rig.cache.stats().entries_denial, 1);
    // A complete chain is a positive answer.
    let rig = Rig::new("");
    rig.script(reply(
        ResponseCode::NoError,
        vec![
            cname("www.example.org.", 300, "web.example.org."),
            a("web.example.org.", 300, 7),
        ],
        vec![],
    ));
    rig.www().await;
    rig.www().await;
    assert_eq!(rig.calls(), 1);
    assert_eq!(rig.cache.stats().entries_success, 1);
}

#[tokio::test(start_paused = true)]
async fn errors_truncation_and_transfers_are_not_cached() {
    let rig = Rig::new("");
    let q = Case::new("www.example.org.", RecordType::A);
    for script in [
        Script::Rcode(ResponseCode::ServFail),
        Script::Rcode(ResponseCode::Refused),
        Script::Error,
        reply(ResponseCode::Refused, vec![], vec![]),
        reply(ResponseCode::FormErr, vec![], vec![]),
        reply(
            ResponseCode::NXDomain,
            vec![a("www.example.org.", 300, 1)],
            vec![soa(300)],
        ),
        Script::Reply {
            rcode: ResponseCode::NoError,
            answers: vec![a("www.example.org.", 300, 1)],
            authority: vec![],
            additional: vec![],
            ad: false,
            tc: true,
        },
    ] {
        let before = rig.calls();
        rig.script(script.clone());
        rig.ask(&q).await;
        rig.ask(&q).await;
        assert_eq!(rig.calls(), before + 2, "{script:?}");
    }
    rig.script(www(300, 1));
    let axfr = Case::new("example.org.", RecordType::AXFR).tcp();
    rig.full(&axfr).await;
    rig.full(&axfr).await;
    assert_eq!(rig.calls(), 16);
    let s = rig.cache.stats();
    assert_eq!((s.entries_success, s.entries_denial), (0, 0));
}

#[tokio::test(start_paused = true)]
async fn servfail_replies_are_kept_five_seconds_unless_configured() {
    let rig = Rig::new("");
    rig.script(reply(ResponseCode::ServFail, vec![], vec![]));
    let m = rig.www().await;
    assert_eq!(m.metadata.response_code, ResponseCode::ServFail);
    advance(Duration::from_millis(4900)).await;
    let m = rig.www().await;
    assert_eq!(
        (rig.calls(), m.metadata.response_code),
        (1, ResponseCode::ServFail)
    );
    advance(Duration::from_millis(100)).await;
    rig.www().await;
    assert_eq!(rig.calls(), 2);

    let rig = Rig::new("{\n servfail 0\n }");
    rig.script(reply(ResponseCode::ServFail, vec![], vec![]));
    rig.www().await;
    rig.www().await;
    assert_eq!(rig.calls(), 2);

    let rig = Rig::new("{\n servfail 1m\n }");
    rig.script(reply(ResponseCode::NotImp, vec![], vec![]));
    rig.www().await;
    advance(Duration::from_secs(59)).await;
    let m = rig.www().await;
    assert_eq!(
        (rig.calls(), m.metadata.response_code),
        (1, ResponseCode::NotImp)
    );
}

#[tokio::test(start_paused = true)]
async fn do_and_cd_are_part_of_the_key() {
    let rig = Rig::new("");
    rig.script(Script::Echo);
    let plain = Case::new("www.example.org.", RecordType::A);
    let dnssec = plain.clone().dnssec();
    let edns = plain.clone().edns(1232);
    let aaaa = Case::new("www.example.org.", RecordType::AAAA);
    for c in [&plain, &dnssec, &edns, &aaaa] {
        rig.ask(c).await;
    }
    assert_eq!(rig.calls(), 3, "EDNS without DO shares the plain entry");
    // CD: through the full path with the bit set.
    let mut req = plain.request();
    req.message.metadata.checking_disabled = true;
    rig.site.0.handle(&mut req).await.unwrap();
    assert_eq!(rig.calls(), 4);
    let mut req = plain.request();
    req.message.metadata.checking_disabled = true;
    let out = rig.site.0.handle(&mut req).await.unwrap();
    assert_eq!(rig.calls(), 4);
    let Answer::Reply(r) = out else { panic!() };
    assert!(r.message.metadata.checking_disabled, "CD mirrored");
    assert_eq!(r.plugin, "cache");
    for c in [&plain, &dnssec, &edns, &aaaa] {
        rig.ask(c).await;
    }
    assert_eq!(rig.calls(), 4);
    assert_eq!(rig.cache.stats().entries_success, 4);
}

#[tokio::test(start_paused = true)]
async fn ad_is_asked_for_and_kept_only_for_clients_that_want_it() {
    let rig = Rig::new("");
    rig.script(Script::Reply {
        rcode: ResponseCode::NoError,
        answers: vec![a("www.example.org.", 300, 1)],
        authority: vec![],
        additional: vec![],
        ad: true,
        tc: false,
    });
    let plain = Case::new("www.example.org.", RecordType::A);
    let m = rig.ask(&plain).await;
    assert!(!m.metadata.authentic_data, "cleared on the miss path");
    assert_eq!(
        rig.state.lock().unwrap().seen,
        [(true, false)],
        "the cache asks with AD set"
    );
    let m = rig.ask(&plain).await;
    assert!(!m.metadata.authentic_data, "cleared on a hit");
    let dnssec = plain.clone().dnssec();
    assert!(rig.ask(&dnssec).await.metadata.authentic_data);
    assert!(rig.ask(&dnssec).await.metadata.authentic_data, "hit");
    // A query with AD set gets it (RFC 6840 §5.7), in both lanes.
    let mut req = plain.request();
    req.message.metadata.authentic_data = true;
    let Answer::Reply(r) = rig.site.0.handle(&mut req).await.unwrap() else {
        panic!()
    };
    assert!(r.message.metadata.authentic_data);
    assert!(req.message.metadata.authentic_data, "restored");
    let mut bytes = req.message.to_vec().unwrap();
    bytes[3] |= 0x20;
    let q = WireQuery::parse(&bytes, req.proto, req.client, req.local).unwrap();
    let mut out = Vec::new();
    assert!(rig.site.0.handle_wire(&q, &mut out));
    assert!(Message::from_vec(&out).unwrap().metadata.authentic_data);
    assert_eq!(rig.calls(), 2);
}

#[tokio::test(start_paused = true)]
async fn queries_outside_the_zones_and_other_opcodes_pass_through() {
    let rig = Rig::new("sub.example.org");
    rig.script(Script::Echo);
    rig.www().await;
    rig.www().await;
    assert_eq!(rig.calls(), 2);
    let sub = Case::new("a.sub.example.org.", RecordType::A);
    rig.ask(&sub).await;
    rig.ask(&sub).await;
    assert_eq!(rig.calls(), 3);
    let s = rig.cache.stats();
    assert_eq!(
        (s.requests, s.hits_success),
        (2, 1),
        "only in-zone queries are looked up"
    );
    // A NOTIFY is never answered from the cache.
    let mut req = sub.request();
    req.message.metadata.op_code = crate::dns::OpCode::Notify;
    rig.site.0.handle(&mut req).await.unwrap();
    assert_eq!(rig.calls(), 4);
}

#[tokio::test(start_paused = true)]
async fn disable_keeps_a_class_out_of_the_cache() {
    let rig = Rig::new("{\n disable success sub.example.org\n disable denial\n }");
    rig.www().await;
    rig.www().await;
    assert_eq!(rig.calls(), 1);
    let sub = Case::new("a.sub.example.org.", RecordType::A);
    rig.ask(&sub).await;
    rig.ask(&sub).await;
    assert_eq!(rig.calls(), 3);
    rig.script(nxdomain(60));
    let nope = Case::new("nope.example.org.", RecordType::A);
    rig.ask(&nope).await;
    rig.ask(&nope).await;
    assert_eq!(rig.calls(), 5);
    assert_eq!(rig.cache.stats().entries_denial, 0);
}

#[tokio::test(start_paused = true)]
async fn keepttl_serves_the_stored_ttl_until_expiry() {
    let rig = Rig::new("{\n keepttl\n }");
    rig.script(www(60, 1));
    rig.www().await;
    advance(Duration::from_secs(59)).await;
    let m = rig.www().await;
    assert_eq!((rig.calls(), ttls(&m)), (1, vec![60]));
    advance(Duration::from_secs(1)).await;
    rig.www().await;
    assert_eq!(rig.calls(), 2);
}

#[tokio::test(start_paused = true)]
async fn memory_stays_bounded_under_a_flood_of_misses() {
    // success 2048: 8 entries per shard.
    let rig = Rig::new("{\n success 2048\n denial 1\n }");
    for i in 0..6000 {
        let name = format!("n{i}.example.org.");
        rig.script(reply(ResponseCode::NoError, vec![a(&name, 300, 1)], vec![]));
        rig.full(&Case::new(&name, RecordType::A)).await;
    }
    rig.script(nxdomain(60));
    for i in 0..3000 {
        rig.full(&Case::new(&format!("x{i}.example.org."), RecordType::A))
            .await;
    }
    let s = rig.cache.stats();
    let (cap_success, cap_denial) = rig.cache.capacity();
    assert_eq!((cap_success, cap_denial), (2048, 1024));
    assert!(s.entries_success <= 2048, "{s:?}");
    assert!(s.entries_success > 1500, "shards fill up: {s:?}");
    assert!(s.entries_denial <= 1024, "{s:?}");
    assert_eq!(
        s.evictions_success as usize + s.entries_success,
        6000,
        "every entry is held or was evicted"
    );
    // Large replies meet the byte budget before the entry limit.
    let rig = Rig::new("{\n success 2560\n }");
    let big = "x".repeat(250);
    for i in 0..2000 {
        let name = format!("b{i}.example.org.");
        let answers = (0..60).map(|_| txt(&name, 300, &big)).collect();
        rig.script(Script::Reply {
            rcode: ResponseCode::NoError,
            answers,
            authority: vec![],
            additional: vec![],
            ad: false,
            tc: false,
        });
        rig.full(&Case::new(&name, RecordType::TXT).tcp()).await;
    }
    let (bytes, _) = rig.cache.bytes();
    // 10 entries per shard, but at least 72 KiB per shard.
    let budget = 256 * (10 * super::store::BYTES_PER_ENTRY).max(72 * 1024);
    assert!(bytes <= budget, "{bytes} > {budget}");
    assert!(
        rig.cache.stats().entries_success <= 4 * 256,
        "held back by bytes, not entries"
    );
}

#[tokio::test(start_paused = true)]
async fn prefetch_refreshes_popular_entries_once_before_they_expire() {
    let rig = Rig::new("{\n prefetch 2 1m 50%\n }");
    rig.script(www(100, 1));
    rig.www().await; // stored
    advance(Duration::from_secs(10)).await;
    rig.www().await; // hit 1
    rig.script(www(100, 2));
    advance(Duration::from_secs(45)).await; // TTL 45 <= 50, hits 2
    let q = Case::new("www.example.org.", RecordType::A);
    assert!(
        rig.fast(&q).is_none(),
        "a hit due for prefetch takes the full path"
    );
    let m = rig.full(&q).await;
    assert_eq!(
        first_a(&Message::from_vec(&m).unwrap()),
        Some(1),
        "served from the cache"
    );
    // Many more hits while the refresh is under way start no other.
    for _ in 0..5 {
        rig.full(&q).await;
    }
    rig.settle().await;
    assert_eq!(rig.calls(), 2, "one refresh");
    let seen = rig.state.lock().unwrap().seen.clone();
    assert_eq!(seen[1], (true, true), "a refresh request, with AD");
    let m = rig.www().await;
    assert_eq!((first_a(&m), ttls(&m)), (Some(2), vec![100]));
    assert_eq!(rig.cache.stats().prefetches, 1);
    // The new entry kept the popularity: it is prefetched again at 50%.
    rig.script(www(100, 3));
    advance(Duration::from_secs(51)).await;
    rig.www().await;
    rig.settle().await;
    assert_eq!(rig.calls(), 3);
    assert_eq!(first_a(&rig.www().await), Some(3));

    // Below the amount nothing is prefetched.
    let rig = Rig::new("{\n prefetch 5\n }");
    rig.script(www(100, 1));
    rig.www().await;
    advance(Duration::from_secs(95)).await;
    rig.www().await;
    rig.settle().await;
    assert_eq!(rig.calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_prefetched_servfail_does_not_hide_the_positive_answer() {
    let rig = Rig::new("{\n prefetch 1 1m 90%\n }");
    rig.script(www(100, 1));
    rig.www().await;
    rig.script(reply(ResponseCode::ServFail, vec![], vec![]));
    advance(Duration::from_secs(20)).await;
    rig.www().await;
    rig.settle().await;
    assert_eq!(rig.calls(), 2);
    assert_eq!(
        rig.cache.stats().entries_denial,
        1,
        "the SERVFAIL is stored"
    );
    let m = rig.www().await;
    assert_eq!(
        (m.metadata.response_code, first_a(&m)),
        (ResponseCode::NoError, Some(1))
    );
}

#[tokio::test(start_paused = true)]
async fn serve_stale_immediate_answers_stale_then_refreshes() {
    let rig = Rig::new("{\n serve_stale 1h\n }");
    rig.script(www(10, 1));
    rig.www().await;
    rig.script(www(10, 2));
    advance(Duration::from_secs(15)).await;
    let q = Case::new("www.example.org.", RecordType::A);
    assert!(rig.fast(&q).is_none(), "stale entries take the full path");
    let m = rig.www().await;
    assert_eq!((first_a(&m), ttls(&m)), (Some(1), vec![0]), "stale, TTL 0");
    rig.settle().await;
    assert_eq!(rig.calls(), 2);
    let m = rig.www().await;
    assert_eq!((first_a(&m), ttls(&m)), (Some(2), vec![10]));
    assert_eq!(rig.cache.stats().served_stale, 1);
    // Older than DURATION: a plain miss.
    advance(Duration::from_secs(3700)).await;
    rig.script(www(10, 3));
    let m = rig.www().await;
    assert_eq!((rig.calls(), first_a(&m)), (3, Some(3)));

    // RESPONSE_TTL.
    let rig = Rig::new("{\n serve_stale 1h immediate 30s\n }");
    rig.script(www(10, 1));
    rig.www().await;
    advance(Duration::from_secs(11)).await;
    assert_eq!(ttls(&rig.www().await), [30]);
}

#[tokio::test(start_paused = true)]
async fn a_failed_stale_refresh_keeps_the_entry_and_waits_for_the_recheck() {
    let rig = Rig::new("{\n serve_stale 1h immediate 0 30s\n }");
    rig.script(www(10, 1));
    rig.www().await;
    rig.script(reply(ResponseCode::ServFail, vec![], vec![]));
    advance(Duration::from_secs(11)).await;
    assert_eq!(first_a(&rig.www().await), Some(1));
    rig.settle().await;
    assert_eq!(rig.calls(), 2, "refreshed once, and it failed");
    // The SERVFAIL did not replace the stale answer, and no refresh for 30 s.
    for _ in 0..3 {
        assert_eq!(first_a(&rig.www().await), Some(1));
        rig.settle().await;
    }
    assert_eq!(rig.calls(), 2);
    assert_eq!(rig.cache.stats().entries_denial, 0);
    advance(Duration::from_secs(30)).await;
    rig.script(www(10, 2));
    assert_eq!(first_a(&rig.www().await), Some(1));
    rig.settle().await;
    assert_eq!(rig.calls(), 3);
    assert_eq!(first_a(&rig.www().await), Some(2));

    // Without FAILURE_RECHECK every stale answer tries again.
    let rig = Rig::new("{\n serve_stale\n }");
    rig.script(www(10, 1));
    rig.www().await;
    rig.script(Script::Error);
    advance(Duration::from_secs(11)).await;
    for _ in 0..3 {
        rig.www().await;
        rig.settle().await;
    }
    assert_eq!(rig.calls(), 4);
}

#[tokio::test(start_paused = true)]
async fn serve_stale_verify_asks_first() {
    let rig = Rig::new("{\n serve_stale 1h verify\n }");
    rig.script(www(10, 1));
    rig.www().await;
    advance(Duration::from_secs(11)).await;
    rig.script(www(10, 2));
    let m = rig.www().await;
    assert_eq!((rig.calls(), first_a(&m), ttls(&m)), (2, Some(2), vec![10]));
    advance(Duration::from_secs(11)).await;
    // A failure: the stale entry, each time.
    for script in [
        Script::Error,
        Script::Rcode(ResponseCode::ServFail),
        reply(ResponseCode::ServFail, vec![], vec![]),
        reply(ResponseCode::Refused, vec![], vec![]),
    ] {
        rig.script(script);
        let m = rig.www().await;
        assert_eq!((first_a(&m), ttls(&m)), (Some(2), vec![0]));
    }
    assert_eq!(rig.calls(), 6);
    // NXDOMAIN is a real answer.
    rig.script(nxdomain(60));
    let m = rig.www().await;
    assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);

    // With a timeout, a slow backend gets the stale answer, and the entry
    // is refreshed in the background.
    let rig = Rig::new("{\n serve_stale 1h verify 100ms 30s\n }");
    rig.script(www(10, 1));
    rig.www().await;
    advance(Duration::from_secs(11)).await;
    rig.script(www(10, 2));
    rig.delay(Duration::from_secs(2));
    let started = tokio::time::Instant::now();
    let m = rig.www().await;
    assert_eq!((first_a(&m), ttls(&m)), (Some(1), vec![30]));
    assert!(started.elapsed() < Duration::from_secs(1));
    rig.delay(Duration::ZERO);
    tokio::time::sleep(Duration::from_secs(3)).await;
    rig.settle().await;
    let m = rig.www().await;
    assert_eq!(first_a(&m), Some(2));
}

#[tokio::test(start_paused = true)]
async fn a_stale_denial_does_not_hide_a_new_positive_answer() {
    // CoreDNS #3586: the name starts to exist while its NXDOMAIN is stale.
    let rig = Rig::new("{\n serve_stale 1h verify\n }");
    rig.script(nxdomain(10));
    rig.www().await;
    advance(Duration::from_secs(11)).await;
    rig.script(www(100, 1));
    assert_eq!(first_a(&rig.www().await), Some(1));
    assert_eq!(first_a(&rig.www().await), Some(1));
    assert_eq!(
        rig.calls(),
        2,
        "the positive entry is used, not the stale NXDOMAIN"
    );
    assert_eq!(rig.cache.stats().entries_denial, 0);
}

#[tokio::test(start_paused = true)]
async fn prefer_positive_keeps_serving_the_last_good_answer() {
    let rig = Rig::new("{\n serve_stale 1h\n serve_stale_policy prefer_positive\n }");
    rig.script(www(10, 1));
    rig.www().await;
    advance(Duration::from_secs(11)).await;
    rig.script(nxdomain(60));
    assert_eq!(first_a(&rig.www().await), Some(1), "stale positive");
    rig.settle().await;
    assert_eq!(rig.calls(), 2);
    assert_eq!(
        rig.cache.stats().entries_denial,
        1,
        "the NXDOMAIN is stored"
    );
    assert_eq!(
        first_a(&rig.www().await),
        Some(1),
        "but the positive answer wins"
    );
    // A NOERROR that answers nothing keeps the last good answer too.
    let rig = Rig::new("{\n serve_stale 1h\n serve_stale_policy prefer_positive\n }");
    rig.script(www(10, 1));
    rig.www().await;
    advance(Duration::from_secs(11)).await;
    rig.script(reply(ResponseCode::NoError, vec![], vec![]));
    rig.www().await;
    rig.settle().await;
    assert_eq!(first_a(&rig.www().await), Some(1));
    // Without the policy the NXDOMAIN replaces it.
    let rig = Rig::new("{\n serve_stale 1h\n }");
    rig.script(www(10, 1));
    rig.www().await;
    advance(Duration::from_secs(11)).await;
    rig.script(nxdomain(60));
    rig.www().await;
    rig.settle().await;
    let m = rig.www().await;
    assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
}

#[tokio::test(start_paused = true)]
async fn refresh_requests_bypass_the_lookup() {
    let rig = Rig::new("");
    rig.www().await;
    let mut req = Case::new("www.example.org.", RecordType::A).request();
    req.refresh = true;
    rig.site.0.handle(&mut req).await.unwrap();
    assert_eq!(rig.calls(), 2);
    assert_eq!(rig.cache.stats().requests, 1, "not counted as a lookup");
}

#[tokio::test(start_paused = true)]
async fn refreshes_are_bounded() {
    const { assert!(MAX_REFRESHES >= 16) };
    let rig = Rig::new("{\n serve_stale 1h\n }");
    rig.delay(Duration::from_secs(3600));
    for i in 0..(MAX_REFRESHES + 50) {
        let name = format!("n{i}.example.org.");
        rig.script(reply(ResponseCode::NoError, vec![a(&name, 10, 1)], vec![]));
        rig.delay(Duration::ZERO);
        rig.full(&Case::new(&name, RecordType::A)).await;
    }
    rig.delay(Duration::from_secs(3600));
    advance(Duration::from_secs(11)).await;
    for i in 0..(MAX_REFRESHES + 50) {
        rig.full(&Case::new(&format!("n{i}.example.org."), RecordType::A))
            .await;
    }
    rig.settle().await;
    let calls = rig.calls();
    assert_eq!(
        calls,
        2 * (MAX_REFRESHES + 50) - 50,
        "at most {MAX_REFRESHES} in flight"
    );
}

// ---------------------------------------------------------------- both lanes

/// The fast lane answers a hit with exactly the bytes the full path sends.
#[tokio::test(start_paused = true)]
async fn fast_lane_matches_the_full_path() {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/differential");
    let types = crate::testing::LANE_TYPES;
    let names = [
        "example.org.",
        "www.example.org.",
        "mail.example.org.",
        "alias.example.org.",
        "chain.example.org.",
        "outside.example.org.",
        "dangling.example.org.",
        "x.wild.example.org.",
        "x.cwild.example.org.",
        "b.ent.example.org.",
        "_sip._tcp.example.org.",
        "deep.sub.example.org.",
        "nope.example.org.",
        "big.example.org.",
        "txt.example.org.",
    ];
    // Mixed case: each letter flipped by a pattern.
    let recase = |name: &str, pattern: usize| -> String {
        name.chars()
            .enumerate()
            .map(|(i, c)| match pattern {
                0 => c,
                1 => c.to_ascii_uppercase(),
                _ if (i * 7 + pattern).is_multiple_of(3) => c.to_ascii_uppercase(),
                _ => c,
            })
            .collect()
    };
    for file in ["example.org.zone", "example.org.signed"] {
        let site = TestSite::new(&format!(
            "example.org:0 {{\n cache\n file {}\n}}",
            dir.join(file).display()
        ));
        let (mut fast, mut fast_upper) = (0, 0);
        for name in names {
            for t in types {
                for variant in 0..5 {
                    for pattern in [0, 1, 2, 3, 0, 4] {
                        let asked = recase(name, pattern);
                        let mut case = Case::new(&asked, t);
                        case = match variant {
                            0 => case,
                            1 => case.edns(1232),
                            2 => case.dnssec(),
                            3 => case.edns(512),
                            _ => case.dnssec().tcp(),
                        };
                        let (full, quick) = site.both_lanes(&case).await;
                        let Some(quick) = quick else { continue };
                        assert_eq!(full, quick, "{file}: {asked} {t} variant {variant}");
                        fast += 1;
                        if pattern != 0 {
                            fast_upper += 1;
                        }
                    }
                }
            }
        }
        let total = names.len() * types.len() * 5;
        assert!(
            fast > total * 3,
            "{file}: {fast} fast answers of {}",
            total * 6
        );
        assert!(
            fast_upper > total * 2,
            "{file}: {fast_upper} in other cases"
        );
    }
}

/// The same over the scripted backend: denials, SERVFAIL, AD, odd cases.
#[tokio::test(start_paused = true)]
async fn fast_lane_matches_the_full_path_for_scripted_replies() {
    let scripts = [
        www(300, 1),
        nxdomain(60),
        reply(ResponseCode::NoError, vec![], vec![soa(60)]),
        reply(ResponseCode::ServFail, vec![], vec![]),
        Script::Reply {
            rcode: ResponseCode::NoError,
            answers: vec![
                cname("www.example.org.", 300, "WEB.Example.ORG."),
                a("WEB.example.org.", 300, 9),
            ],
            authority: vec![],
            additional: vec![txt("Www.EXAMPLE.org.", 60, "extra")],
            ad: true,
            tc: false,
        },
        Script::Reply {
            rcode: ResponseCode::NoError,
            answers: vec![a("WWW.EXAMPLE.ORG.", 300, 4)],
            authority: vec![],
            additional: vec![],
            ad: true,
            tc: false,
        },
    ];
    for (i, script) in scripts.into_iter().enumerate() {
        let rig = Rig::new("{\n keepttl\n }");
        rig.script(script);
        let mut answered = 0;
        for asked in ["www.example.org.", "WWW.EXAMPLE.ORG.", "wWw.ExAmPlE.oRg."] {
            for case in [
                Case::new(asked, RecordType::A),
                Case::new(asked, RecordType::A).dnssec(),
                Case::new(asked, RecordType::A).edns(4096).tcp(),
            ] {
                let plain = case.request().message.to_vec().unwrap();
                // As sent, with CD, with AD, without RD.
                for (byte, set, clear) in [(3, 0, 0), (3, 0x10, 0), (3, 0x20, 0), (2, 0, 0x01)] {
                    let mut bytes = plain.clone();
                    bytes[byte] = (bytes[byte] | set) & !clear;
                    rig.full_raw(&bytes, case.proto).await;
                    let Some(fast) = rig.fast_raw(&bytes, case.proto) else {
                        continue;
                    };
                    let full = rig.full_raw(&bytes, case.proto).await;
                    assert_eq!(fast, full, "script {i}: {asked} {bytes:?}");
                    answered += 1;
                }
            }
        }
        // Script 4 has a CNAME target in another case than the question's
        // labels: only queries in lowercase can be copied as they are.
        let want = if i == 4 { 12 } else { 36 };
        assert_eq!(answered, want, "script {i}");
    }
}

#[test]
fn an_entry_records_every_ttl_offset() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap();
    rt.block_on(async {
        let rig = Rig::new("");
        rig.script(Script::Reply {
            rcode: ResponseCode::NoError,
            answers: vec![a("www.example.org.", 300, 1), a("www.example.org.", 300, 2)],
            authority: vec![soa(300)],
            additional: vec![txt("t.example.org.", 300, "x")],
            ad: false,
            tc: false,
        });
        rig.www().await;
        let e = rig
            .cache
            .peek("www.example.org.", RecordType::A, false)
            .unwrap();
        assert_eq!(e.records(), 4);
        assert!(e.fast && e.any_case);
        assert_eq!(e.qclass, u16::from(DNSClass::IN));
    });
}

/// The cache's own refresh queries are neither logged nor reported as errors.
#[tokio::test]
async fn refresh_requests_are_not_logged() {
    let (logs, _guard) = crate::testing::capture_logs();
    let site = TestSite::new("example.org:0 {\n errors\n log\n cache\n}");
    let at = *site.site.listeners.keys().next().unwrap();
    let case = Case::new("www.example.org.", RecordType::A);
    let mut req = case.request();
    req.refresh = true;
    let out = respond::run(&site.site, at, &mut req).await;
    assert!(out.is_err(), "nothing after the cache");
    let mut req = case.request();
    respond::run(&site.site, at, &mut req).await.unwrap_err();
    let lines = logs.wait_for(2).await;
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(
        lines.iter().any(|l| l.contains("plugin/errors")),
        "{lines:?}"
    );
}

// ---------------------------------------------------------------- no allocation on a hit

/// Counts this thread's heap allocations (the test binary's allocator).
struct Counting;

thread_local! {
    static ALLOCATIONS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

// SAFETY: every call is passed to the system allocator unchanged; the
// counter is a const-initialised thread-local without destructor, so
// touching it never allocates.
#[allow(unsafe_code)]
unsafe impl std::alloc::GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
        // SAFETY: the caller's contract is passed on unchanged.
        unsafe { std::alloc::System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        // SAFETY: as above.
        unsafe { std::alloc::System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, new: usize) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
        // SAFETY: as above.
        unsafe { std::alloc::System.realloc(ptr, layout, new) }
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

fn allocations() -> usize {
    ALLOCATIONS.with(|c| c.get())
}

#[tokio::test(start_paused = true)]
async fn a_hit_in_the_fast_lane_does_not_allocate() {
    let rig = Rig::new("{\n prefetch 100\n }");
    rig.script(Script::Reply {
        rcode: ResponseCode::NoError,
        answers: vec![a("www.example.org.", 300, 1), a("www.example.org.", 300, 2)],
        authority: vec![soa(300)],
        additional: vec![txt("t.example.org.", 300, "x")],
        ad: true,
        tc: false,
    });
    for case in [
        Case::new("www.example.org.", RecordType::A),
        Case::new("WWW.example.org.", RecordType::A).dnssec(),
        Case::new("www.example.org.", RecordType::A)
            .edns(1232)
            .tcp(),
    ] {
        rig.full(&case).await;
        let req = case.request();
        let bytes = req.message.to_vec().unwrap();
        let mut out = Vec::with_capacity(4096);
        let q = WireQuery::parse(&bytes, req.proto, req.client, req.local).unwrap();
        let before = allocations();
        for _ in 0..100 {
            assert!(rig.site.0.handle_wire(&q, &mut out));
        }
        assert_eq!(allocations() - before, 0, "{case:?}");
    }
    // The counter does count.
    let before = allocations();
    drop(std::hint::black_box(vec![1u8; 10]));
    assert_eq!(allocations() - before, 1);
}

// ---------------------------------------------------------------- metrics

/// `coredns_cache_<name>` of the rig for `zone` (server `dns://:53`, no
/// view), with `type` if given.
fn metric(name: &str, zone: &str, ty: Option<&str>) -> u64 {
    let mut labels = vec![("server", "dns://:53"), ("zones", zone), ("view", "")];
    if let Some(t) = ty {
        labels.push(("type", t));
    }
    crate::testing::metric_value(&format!("coredns_cache_{name}"), &labels) as u64
}

#[tokio::test]
async fn metrics_count_lookups_hits_misses_and_entries_in_both_lanes() {
    let (rig, zone) = (Rig::zoned("m1.cache.test", ""), "m1.cache.test.");
    rig.script(Script::Echo);
    let www = Case::new("www.m1.cache.test.", RecordType::A);
    let _ = rig.full(&www).await;
    assert_eq!(metric("requests_total", zone, None), 1);
    assert_eq!(metric("misses_total", zone, None), 1);
    assert_eq!(metric("hits_total", zone, Some("success")), 0);
    assert_eq!(metric("entries", zone, Some("success")), 1);
    assert_eq!(metric("entries", zone, Some("denial")), 0);
    // A hit in each lane.
    assert!(rig.fast(&www).is_some());
    let _ = rig.full(&www).await;
    assert_eq!(metric("requests_total", zone, None), 3);
    assert_eq!(metric("hits_total", zone, Some("success")), 2);
    assert_eq!(metric("misses_total", zone, None), 1);
    // A denial: stored, then hit.
    rig.script(nxdomain(300));
    let nx = Case::new("nx.m1.cache.test.", RecordType::A);
    let _ = rig.full(&nx).await;
    let _ = rig.full(&nx).await;
    assert_eq!(metric("hits_total", zone, Some("denial")), 1);
    assert_eq!(metric("entries", zone, Some("denial")), 1);
    assert_eq!(metric("requests_total", zone, None), 5);
    assert_eq!(metric("misses_total", zone, None), 2);
    // A reply to another question is not stored, but counted.
    rig.script(Script::OtherQuestion);
    let _ = rig
        .full(&Case::new("odd.m1.cache.test.", RecordType::A))
        .await;
    assert_eq!(metric("drops_total", zone, None), 1);
    assert_eq!(metric("entries", zone, Some("success")), 1);
    // The per-cache counts are the same atomics.
    let s = rig.cache.stats();
    assert_eq!(
        (s.requests, s.hits_success, s.hits_denial, s.misses, s.drops),
        (6, 2, 1, 3, 1)
    );
    assert_eq!(metric("evictions_total", zone, Some("success")), 0);
}

#[tokio::test]
async fn metrics_count_every_eviction() {
    // 4 entries a shard: 1100 names cannot all stay.
    let (rig, zone) = (
        Rig::zoned("m2.cache.test", "{\n success 1024\n }"),
        "m2.cache.test.",
    );
    rig.script(Script::Echo);
    for i in 0..1100 {
        let _ = rig
            .full(&Case::new(&format!("n{i}.m2.cache.test."), RecordType::A))
            .await;
    }
    let s = rig.cache.stats();
    let evicted = 1100 - s.entries_success as u64;
    assert!(evicted >= 76, "{evicted}");
    assert_eq!(metric("evictions_total", zone, Some("success")), evicted);
    assert_eq!(s.evictions_success, evicted);
    assert_eq!(metric("evictions_total", zone, Some("denial")), 0);
    assert_eq!(
        metric("entries", zone, Some("success")),
        s.entries_success as u64
    );
}

#[tokio::test(start_paused = true)]
async fn metrics_count_stale_answers_and_refreshes() {
    let (rig, zone) = (
        Rig::zoned(
            "m3.cache.test",
            "{\n serve_stale 1h\n prefetch 2 1m 50%\n }",
        ),
        "m3.cache.test.",
    );
    rig.script(Script::Echo);
    let www = Case::new("www.m3.cache.test.", RecordType::A);
    let _ = rig.ask(&www).await;
    // Expired: served stale, refreshed in the background.
    advance(Duration::from_secs(301)).await;
    let _ = rig.ask(&www).await;
    rig.settle().await;
    assert_eq!(metric("served_stale_total", zone, None), 1);
    assert_eq!(metric("prefetch_total", zone, None), 1);
    // Two hits late in the TTL: a prefetch.
    advance(Duration::from_secs(200)).await;
    let _ = rig.ask(&www).await;
    let _ = rig.ask(&www).await;
    rig.settle().await;
    assert_eq!(metric("prefetch_total", zone, None), 2);
    assert_eq!(metric("served_stale_total", zone, None), 1);
    assert_eq!(rig.cache.stats().prefetches, 2);
}

#[tokio::test]
async fn metrics_outlive_a_dropped_cache_whose_entries_go_with_it() {
    let zone = "m4.cache.test.";
    let www = Case::new("www.m4.cache.test.", RecordType::A);
    let rig = Rig::zoned("m4.cache.test", "");
    rig.script(Script::Echo);
    let _ = rig.full(&www).await;
    assert_eq!(metric("entries", zone, Some("success")), 1);
    // A reload: the new cache is built before the old one goes.
    let new = Rig::zoned("m4.cache.test", "");
    new.script(Script::Echo);
    let _ = new.full(&www).await;
    assert_eq!(metric("entries", zone, Some("success")), 2, "both live");
    drop(rig);
    assert_eq!(metric("entries", zone, Some("success")), 1);
    assert_eq!(metric("requests_total", zone, None), 2, "kept");
    assert_eq!(metric("misses_total", zone, None), 2);
    let _ = new.full(&www).await;
    assert_eq!(metric("requests_total", zone, None), 3);
    assert_eq!(new.cache.stats().requests, 2);
}

#[tokio::test]
async fn metrics_carry_the_blocks_listener_zones_and_view() {
    let t = TestSite::new(
        "m5.cache.test:1053 m5b.cache.test:1053 {\n view v5 {\n  expr type() == 'A'\n }\n cache\n template IN A {\n  answer \"{{ .Name }} 60 IN A 192.0.2.1\"\n }\n}",
    );
    let case = Case::new("a.m5b.cache.test.", RecordType::A);
    let _ = t.query(case.clone()).await;
    let r = t.query(case.clone()).await;
    assert_eq!(r.answers().len(), 1, "{r:?}");
    let labels = |ty: Option<&'static str>| {
        let mut l = vec![
            ("server", "dns://:1053"),
            ("zones", "m5.cache.test.,m5b.cache.test."),
            ("view", "v5"),
        ];
        l.extend(ty.map(|t| ("type", t)));
        l
    };
    let value = crate::testing::metric_value;
    assert_eq!(value("coredns_cache_requests_total", &labels(None)), 2.0);
    assert_eq!(value("coredns_cache_misses_total", &labels(None)), 1.0);
    assert_eq!(
        value("coredns_cache_hits_total", &labels(Some("success"))),
        1.0
    );
    assert_eq!(
        value("coredns_cache_entries", &labels(Some("success"))),
        1.0
    );
}
