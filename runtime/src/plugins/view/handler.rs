use super::expr::{Expr, QueryFacts};
use super::facts::WithMeta;
use super::setup::ViewConfig;
use crate::plugin::{Handler, Meta, Outcome, Plugin, Request, Setup};
use crate::plugins::metadata::{MetadataHub, Provider};
use crate::site::BuildEnv;
use crate::wire::WireQuery;
use corec_compiler::Diagnostic;
use std::sync::Arc;

/// A block's filter: a query uses the block only if every expression holds.
#[derive(Debug)]
pub struct ViewFilter {
    /// The view's name.
    pub name: String,
    exprs: Vec<Expr>,
    /// The block's metadata, for expressions that call `metadata()`.
    metadata: Option<MetadataHub>,
}

impl ViewFilter {
    /// Does the query pass?
    pub fn admits(&self, q: &dyn QueryFacts) -> bool {
        // As in CoreDNS, the block's providers run before its filter, so
        // `metadata()` sees their labels (the query log's come later).
        if let Some(hub) = self.metadata.as_ref().filter(|h| h.enabled()) {
            let meta = hub.collect(&q.qname(), q);
            let q = WithMeta {
                facts: q,
                meta: meta.as_ref(),
            };
            return self.exprs.iter().all(|e| e.holds(&q));
        }
        self.exprs.iter().all(|e| e.holds(q))
    }
}

/// Sets `view/name` to the view's name.
struct ViewName(Arc<str>);

impl Provider for ViewName {
    fn provide(&self, _: &dyn QueryFacts, meta: &mut Meta) {
        meta.set("view/name", self.0.clone());
    }
}

/// Marker for the config-only `view` directive: the filter is applied when
/// a query is routed to a block, before any plugin runs.
#[derive(Debug, Clone, Copy)]
pub struct View;

impl Plugin for View {
    const NAME: &'static str = "view";

    async fn serve<'a, N: Handler>(&'a self, req: &'a mut Request, next: &'a N) -> Outcome {
        next.handle(req).await
    }

    fn serve_wire<N: Handler>(&self, q: &WireQuery<'_>, out: &mut Vec<u8>, next: &N) -> bool {
        next.handle_wire(q, out)
    }
}

impl Setup for View {
    type Config = ViewConfig;

    fn build(cfg: ViewConfig, env: &mut BuildEnv<'_>) -> Result<Self, Diagnostic> {
        let hub = &env.config.metadata;
        hub.provide(ViewName(cfg.name.as_str().into()));
        let reads_metadata = cfg.exprs.iter().any(Expr::uses_metadata);
        env.config.view = Some(Arc::new(ViewFilter {
            metadata: reads_metadata.then(|| hub.clone()),
            name: cfg.name,
            exprs: cfg.exprs,
        }));
        Ok(View)
    }
}
