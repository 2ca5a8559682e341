//! The plugin model: what a query is, what a plugin returns, and how a
//! plugin is built from its Corefile syntax.

use crate::dns::{DNSClass, Edns, Message, MessageType, Name, Query, RecordType, ResponseCode};
use crate::wire::WireQuery;
use corec_compiler::{Diagnostics, Dispenser};
use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

/// A plugin's configuration, parsed from its directive: the plugin's
/// Corefile syntax, written once in its `setup.rs` and used by `corec
/// check`, `corec build`, `corefile!`, the interpreter and reload.
pub trait Parse: Sized + Send + 'static {
    /// Parses every occurrence of the directive in one server block.
    fn parse(d: &mut Dispenser<'_>) -> Result<Self, Diagnostics>;
}

/// Transport a query arrived on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Proto {
    /// UDP.
    Udp,
    /// TCP.
    Tcp,
}

impl Proto {
    /// `udp` or `tcp`, as CoreDNS's `{proto}` prints.
    pub fn as_str(self) -> &'static str {
        match self {
            Proto::Udp => "udp",
            Proto::Tcp => "tcp",
        }
    }
}

/// One query on its way through a chain.
#[derive(Debug)]
pub struct Request {
    /// The decoded query (exactly one question: the server checks it).
    pub message: Message,
    /// Size of the query on the wire, in bytes.
    pub wire_len: usize,
    /// The client's address (IPv4-mapped addresses unmapped).
    pub client: SocketAddr,
    /// The address the query arrived at.
    pub local: SocketAddr,
    /// UDP or TCP.
    pub proto: Proto,
    /// The listener, as CoreDNS names it (`dns://:53`).
    pub server: Arc<str>,
    /// [`name`](Self::name), computed once: routing and most plugins need it.
    pub name_cache: std::sync::OnceLock<Arc<str>>,
    /// How many times this query re-entered the server (0 for a client's
    /// query; see `upstream`).
    pub depth: u8,
    /// Sent by the *cache* plugin to refresh one of its entries (prefetch,
    /// serve_stale): the cache passes it on without looking it up and
    /// stores what comes back. False for every other query.
    pub refresh: bool,
    /// The query's metadata: `None` unless its block has the *metadata*
    /// plugin, so a query in any other block carries nothing (and plugins
    /// setting a label do nothing, as in CoreDNS).
    pub meta: Option<Meta>,
}

/// Labels (`plugin/name`) and their values that plugins attach to a query
/// for others to read: the query log's `{/label}`, *view*'s `metadata()`,
/// *template*'s `.Meta`, *rewrite*'s `{plugin/label}`.
///
/// CoreDNS stores a function per label and calls it on read. Here a value
/// is stored: every value corec's plugins provide is already at hand when
/// they set it (a name the plugin holds, the type of a reply), so deferring
/// it would cost a boxed closure per label and query and save nothing. A
/// query has a handful of labels, so a vector beats a map.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Meta {
    entries: Vec<(Cow<'static, str>, MetaValue)>,
}

impl Meta {
    /// The value of `label`, if a plugin set it.
    pub fn get(&self, label: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(l, _)| l == label)
            .map(|(_, v)| v.as_str())
    }

    /// Sets `label`, replacing an earlier value.
    pub fn set(&mut self, label: impl Into<Cow<'static, str>>, value: impl Into<MetaValue>) {
        let (label, value) = (label.into(), value.into());
        match self.entries.iter_mut().find(|(l, _)| *l == label) {
            Some(slot) => slot.1 = value,
            None => self.entries.push((label, value)),
        }
    }

    /// Every label and its value, in the order they were first set.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|(l, v)| (l.as_ref(), v.as_str()))
    }

    /// No label is set.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// A metadata value: a constant, or text shared with the plugin that set it
/// (so setting one per query copies a pointer, not the text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MetaValue {
    /// Fixed text (`NOERROR`, `success`).
    Static(&'static str),
    /// Text the plugin keeps, or computed for this query.
    Shared(Arc<str>),
}

impl MetaValue {
    /// The text.
    pub fn as_str(&self) -> &str {
        match self {
            MetaValue::Static(s) => s,
            MetaValue::Shared(s) => s,
        }
    }
}

impl From<&'static str> for MetaValue {
    fn from(s: &'static str) -> Self {
        MetaValue::Static(s)
    }
}

impl From<Arc<str>> for MetaValue {
    fn from(s: Arc<str>) -> Self {
        MetaValue::Shared(s)
    }
}

impl From<String> for MetaValue {
    fn from(s: String) -> Self {
        MetaValue::Shared(s.into())
    }
}

impl Request {
    /// The value of metadata `label`; `None` if unset or if metadata is
    /// not collected for this query.
    pub fn meta(&self, label: &str) -> Option<&str> {
        self.meta.as_ref()?.get(label)
    }

    /// Sets metadata `label` if metadata is collected for this query (a
    /// no-op otherwise, so providers need not check).
    pub fn set_meta(&mut self, label: impl Into<Cow<'static, str>>, value: impl Into<MetaValue>) {
        if let Some(m) = &mut self.meta {
            m.set(label, value);
        }
    }

    /// The question.
    pub fn query(&self) -> &Query {
        &self.message.queries[0]
    }

    /// The question name as sent (case preserved).
    pub fn qname(&self) -> &Name {
        self.query().name()
    }

    /// The question name lowercased in presentation form with a trailing dot,
    /// as CoreDNS's `state.Name()`.
    pub fn name(&self) -> Arc<str> {
        self.name_cache
            .get_or_init(|| {
                let mut n = self.qname().to_lowercase().to_ascii();
                if !n.ends_with('.') {
                    n.push('.');
                }
                n.into()
            })
            .clone()
    }

    /// The question type.
    pub fn qtype(&self) -> RecordType {
        self.query().query_type()
    }

    /// The question class.
    pub fn qclass(&self) -> DNSClass {
        self.query().query_class()
    }

    /// The query ID.
    pub fn id(&self) -> u16 {
        self.message.metadata.id
    }

    /// The query's EDNS, if any.
    pub fn edns(&self) -> Option<&Edns> {
        self.message.edns.as_ref()
    }

    /// The DNSSEC OK bit.
    pub fn do_bit(&self) -> bool {
        self.edns().is_some_and(|e| e.flags().dnssec_ok)
    }

    /// The reply size the client can take, as CoreDNS's `state.Size()`:
    /// 65535 on TCP, else the EDNS payload size (at least 512), else 512.
    pub fn size(&self) -> u16 {
        match (self.proto, self.edns()) {
            (Proto::Tcp, _) => u16::MAX,
            (Proto::Udp, Some(e)) => e.max_payload().max(512),
            (Proto::Udp, None) => 512,
        }
    }

    /// An empty reply to this query: same ID, opcode, RD and CD, the
    /// question copied, QR set, NOERROR.
    pub fn reply(&self) -> Message {
        let q = &self.message.metadata;
        let mut m = Message::new(q.id, MessageType::Response, q.op_code);
        m.metadata.recursion_desired = q.recursion_desired;
        m.metadata.checking_disabled = q.checking_disabled;
        m.queries = self.message.queries.clone();
        m
    }
}

/// What a chain produced for a query.
#[derive(Debug)]
pub enum Answer {
    /// A reply for the client; the server mirrors EDNS and truncates it.
    Reply(Reply),
    /// Nothing written: the server writes an empty reply with this rcode.
    /// CoreDNS's convention, for SERVFAIL, REFUSED, FORMERR and NOTIMP.
    Rcode(ResponseCode),
    /// Deliberately no reply at all.
    Drop,
    /// A zone transfer: several messages, sent in order on one TCP connection.
    Transfer {
        /// The plugin that produced it.
        plugin: &'static str,
        /// The messages (each a complete response to the query).
        messages: Vec<Message>,
    },
}

/// A reply message and the plugin that wrote it (the `plugin` metric label).
#[derive(Debug)]
pub struct Reply {
    /// The message.
    pub message: Message,
    /// Name of the plugin that wrote it.
    pub plugin: &'static str,
}

impl Answer {
    /// A reply written by `plugin`.
    pub fn reply(plugin: &'static str, message: Message) -> Self {
        Answer::Reply(Reply { message, plugin })
    }

    /// The plugin that wrote the reply, as the `plugin` label of
    /// `coredns_dns_responses_total` names it ("" when the server writes it).
    pub fn writer(&self) -> &'static str {
        match self {
            Answer::Reply(r) => r.plugin,
            Answer::Transfer { plugin, .. } => plugin,
            Answer::Rcode(_) | Answer::Drop => "",
        }
    }

    /// The response code the client will see.
    pub fn rcode(&self) -> Option<ResponseCode> {
        match self {
            Answer::Reply(r) => Some(r.message.metadata.response_code),
            Answer::Rcode(rc) => Some(*rc),
            Answer::Drop => None,
            Answer::Transfer { messages, .. } => messages.first().map(|m| m.metadata.response_code),
        }
    }
}

/// A failed query: the rcode the client gets and an error for the log.
#[derive(Debug, Clone)]
pub struct PluginError {
    /// The plugin that failed ("" until the chain names it).
    pub plugin: &'static str,
    /// What the server writes to the client.
    pub rcode: ResponseCode,
    /// The cause, as the `errors` plugin prints it.
    pub message: String,
}

impl PluginError {
    /// A SERVFAIL caused by `plugin`.
    pub fn servfail(plugin: &'static str, message: impl Into<String>) -> Self {
        PluginError {
            plugin,
            rcode: ResponseCode::ServFail,
            message: message.into(),
        }
    }

    /// CoreDNS's "no next plugin found": the chain fell off its end. The
    /// plugin name is filled in by the hop that called the end.
    pub fn no_next() -> Self {
        Self::servfail("", "no next plugin found")
    }
}

impl fmt::Display for PluginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.plugin.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "plugin/{}: {}", self.plugin, self.message)
        }
    }
}

impl std::error::Error for PluginError {}

/// The result of handling a query.
pub type Outcome = Result<Answer, PluginError>;

/// A whole chain, or the rest of one.
pub trait Handler: Send + Sync {
    /// Handles one query.
    fn handle<'a>(&'a self, req: &'a mut Request) -> impl Future<Output = Outcome> + Send + 'a;

    /// Answers a query in the fast lane by writing the reply into `out`;
    /// false declines, and the query takes [`handle`](Self::handle).
    fn handle_wire(&self, _q: &WireQuery<'_>, _out: &mut Vec<u8>) -> bool {
        false
    }
}

/// A plugin: one hop of a chain, generic over what comes next so a
/// compiled chain is one inlined type.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a corec plugin",
    note = "implement `Plugin` and `Setup` for it and list it in registry.rs"
)]
pub trait Plugin: Send + Sync + 'static {
    /// The directive name (and the plugin's folder name).
    const NAME: &'static str;

    /// Handles a query, calling `next` to pass it on.
    fn serve<'a, N: Handler>(
        &'a self,
        req: &'a mut Request,
        next: &'a N,
    ) -> impl Future<Output = Outcome> + Send + 'a;

    /// The fast lane: answer from the query's bytes into `out`, or pass it
    /// on with `next.handle_wire`, or return false to send the query down
    /// the full path. The default declines, so a plugin is only in the fast
    /// lane when it says so; its fast answer must equal its full one.
    fn serve_wire<N: Handler>(&self, _q: &WireQuery<'_>, _out: &mut Vec<u8>, _next: &N) -> bool {
        false
    }
}

/// Building a plugin from its parsed configuration.
#[cfg(feature = "serve")]
pub trait Setup: Plugin + Sized {
    /// The parsed directive.
    type Config: Parse;

    /// Builds the plugin: reads files, starts background tasks. Config-only
    /// plugins change `env` and return a marker value.
    fn build(
        cfg: Self::Config,
        env: &mut crate::site::BuildEnv<'_>,
    ) -> Result<Self, corec_compiler::Diagnostic>;
}
