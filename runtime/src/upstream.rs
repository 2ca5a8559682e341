//! Re-entering the server: a plugin resolves a name (a CNAME's target)
//! through the same listener's zones and chains, as if a client had asked,
//! the way CoreDNS's `upstream` package does. The *file* plugin uses it for
//! CNAME targets outside its zone, *template* for templated CNAMEs.

use crate::chain::BoxFuture;
use crate::dns::{Edns, Message, MessageType, Name, OpCode, Query, RecordType, ResponseCode};
use crate::plugin::{Answer, Outcome, Request};
use crate::site::{CompiledBlocks, Site};
use std::sync::{Arc, OnceLock, Weak};

/// How many times one client query may re-enter the server: a CNAME loop
/// across zones stops here.
pub const MAX_DEPTH: u8 = 8;

/// Something a query can be run through: a running site.
pub trait Reenter: Send + Sync {
    /// Routes `req` by its listener and runs it.
    fn reenter<'a>(&'a self, req: &'a mut Request) -> BoxFuture<'a, Outcome>;
}

impl<C: CompiledBlocks> Reenter for Site<C> {
    fn reenter<'a>(&'a self, req: &'a mut Request) -> BoxFuture<'a, Outcome> {
        Box::pin(async move {
            let Some(at) = self
                .listeners
                .iter()
                .find(|(_, l)| *l.name == *req.server)
                .map(|(at, _)| *at)
            else {
                return Ok(Answer::Rcode(ResponseCode::Refused));
            };
            crate::server::respond::run(self, at, req).await
        })
    }
}

/// A plugin's way back into the site it belongs to; bound once the site
/// runs (a site that never runs, as in unit tests, resolves nothing).
#[derive(Clone, Default)]
pub struct Upstream(Arc<OnceLock<Weak<dyn Reenter>>>);

impl std::fmt::Debug for Upstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.get().is_some() {
            "Upstream(bound)"
        } else {
            "Upstream(unbound)"
        })
    }
}

impl Upstream {
    /// Points this handle at its site (weakly: the site owns the plugins
    /// that hold the handle).
    pub(crate) fn bind(&self, site: Weak<dyn Reenter>) {
        let _ = self.0.set(site);
    }

    /// Is the site this handle belongs to running?
    pub fn is_bound(&self) -> bool {
        self.0.get().and_then(Weak::upgrade).is_some()
    }

    /// Asks the server for `name`/`qtype` on behalf of `req` (same client,
    /// listener, transport and DO bit). The reply if it is NOERROR; `None`
    /// otherwise, when unbound, or when the query is already too deep.
    pub async fn lookup(&self, req: &Request, name: Name, qtype: RecordType) -> Option<Message> {
        self.resolve(req, name, qtype)
            .await
            .filter(|m| m.metadata.response_code == ResponseCode::NoError)
    }

    /// [`lookup`](Self::lookup) whatever the reply's rcode, as CoreDNS's
    /// `Upstream.Lookup`: a chain that wrote nothing gives an empty reply
    /// with its rcode. `None` when nothing would be sent, when unbound, or
    /// when the query is already too deep.
    pub async fn resolve(&self, req: &Request, name: Name, qtype: RecordType) -> Option<Message> {
        if req.depth >= MAX_DEPTH {
            return None;
        }
        let mut m = Message::new(req.id(), MessageType::Query, OpCode::Query);
        m.metadata.recursion_desired = req.message.metadata.recursion_desired;
        m.queries.push(Query::query(name, qtype));
        if let Some(e) = req.edns() {
            let mut edns = Edns::new();
            edns.set_max_payload(e.max_payload());
            edns.set_dnssec_ok(e.flags().dnssec_ok);
            m.edns = Some(edns);
        }
        let mut sub = Request {
            wire_len: req.wire_len,
            message: m,
            client: req.client,
            local: req.local,
            proto: req.proto,
            server: req.server.clone(),
            name_cache: Default::default(),
            depth: req.depth + 1,
            refresh: false,
            meta: None,
        };
        let rcode = match self.run(&mut sub).await? {
            Ok(Answer::Reply(r)) => return Some(r.message),
            Ok(Answer::Rcode(rc)) => rc,
            Err(e) => e.rcode,
            Ok(Answer::Drop | Answer::Transfer { .. }) => return None,
        };
        let mut m = sub.reply();
        m.metadata.response_code = rcode;
        Some(m)
    }

    /// Runs a request the caller built through the server, as if a client
    /// had sent it (the *cache* refreshes entries this way). `None` when
    /// unbound or when `req` is deeper than [`MAX_DEPTH`].
    pub async fn run(&self, req: &mut Request) -> Option<Outcome> {
        if req.depth > MAX_DEPTH {
            return None;
        }
        let site = self.0.get()?.upgrade()?;
        Some(site.reenter(req).await)
    }
}
