use super::expr::{Expr, QueryFacts};
use super::setup::ViewConfig;
use crate::plugin::{Handler, Outcome, Plugin, Request, Setup};
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
}

impl ViewFilter {
    /// Does the query pass?
    pub fn admits(&self, q: &dyn QueryFacts) -> bool {
        self.exprs.iter().all(|e| e.holds(q))
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
        env.config.view = Some(Arc::new(ViewFilter {
            name: cfg.name,
            exprs: cfg.exprs,
        }));
        Ok(View)
    }
}
