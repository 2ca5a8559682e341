//! Chains: statically typed in compiled mode, a slice of trait objects in
//! interpreted mode. The dynamic form is one blanket impl, so no plugin
//! writes dyn code.

use crate::plugin::{Handler, Outcome, Plugin, PluginError, Request};
use crate::wire::WireQuery;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// A plugin followed by the rest of the chain.
#[derive(Debug)]
pub struct Chain<P, R> {
    head: P,
    rest: R,
}

impl<P, R> Chain<P, R> {
    /// `head`, then `rest`.
    pub fn new(head: P, rest: R) -> Self {
        Chain { head, rest }
    }
}

/// The end of every chain: falling off it is CoreDNS's "no next plugin found".
#[derive(Debug, Clone, Copy, Default)]
pub struct End;

impl Handler for End {
    fn handle<'a>(&'a self, _req: &'a mut Request) -> impl Future<Output = Outcome> + Send + 'a {
        std::future::ready(Err(PluginError::no_next()))
    }
}

/// Names the plugin that called past the end of the chain.
fn name_caller(out: Outcome, caller: &'static str) -> Outcome {
    match out {
        Err(mut e) if e.plugin.is_empty() => {
            e.plugin = caller;
            Err(e)
        }
        other => other,
    }
}

impl<P: Plugin, R: Handler> Handler for Chain<P, R> {
    async fn handle<'a>(&'a self, req: &'a mut Request) -> Outcome {
        name_caller(self.head.serve(req, &self.rest).await, P::NAME)
    }

    #[inline]
    fn handle_wire(&self, q: &WireQuery<'_>, out: &mut Vec<u8>) -> bool {
        let done = self.head.serve_wire(q, out, &self.rest);
        note_writer(q, done, P::NAME);
        done
    }
}

/// Names the plugin that answered in the fast lane: the innermost hop
/// that returned true is the first to get here.
#[inline]
fn note_writer(q: &WireQuery<'_>, done: bool, plugin: &'static str) {
    if done && q.writer.get().is_empty() {
        q.writer.set(plugin);
    }
}

/// A boxed, sendable future.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A plugin behind a trait object (interpreted mode).
pub trait DynPlugin: Send + Sync {
    /// The directive name.
    fn name(&self) -> &'static str;
    /// [`Plugin::serve`] with the rest of the chain as a slice.
    fn serve_dyn<'a>(&'a self, req: &'a mut Request, next: DynNext<'a>) -> BoxFuture<'a, Outcome>;
    /// [`Plugin::serve_wire`] with the rest of the chain as a slice.
    fn serve_wire_dyn(&self, q: &WireQuery<'_>, out: &mut Vec<u8>, next: DynNext<'_>) -> bool;
}

impl<P: Plugin> DynPlugin for P {
    fn name(&self) -> &'static str {
        P::NAME
    }

    fn serve_dyn<'a>(&'a self, req: &'a mut Request, next: DynNext<'a>) -> BoxFuture<'a, Outcome> {
        Box::pin(async move { self.serve(req, &next).await })
    }

    fn serve_wire_dyn(&self, q: &WireQuery<'_>, out: &mut Vec<u8>, next: DynNext<'_>) -> bool {
        self.serve_wire(q, out, &next)
    }
}

/// The rest of an interpreted chain.
#[derive(Clone, Copy)]
pub struct DynNext<'a>(pub &'a [Arc<dyn DynPlugin>]);

impl Handler for DynNext<'_> {
    async fn handle<'a>(&'a self, req: &'a mut Request) -> Outcome {
        match self.0.split_first() {
            Some((head, rest)) => {
                name_caller(head.serve_dyn(req, DynNext(rest)).await, head.name())
            }
            None => Err(PluginError::no_next()),
        }
    }

    fn handle_wire(&self, q: &WireQuery<'_>, out: &mut Vec<u8>) -> bool {
        match self.0.split_first() {
            Some((head, rest)) => {
                let done = head.serve_wire_dyn(q, out, DynNext(rest));
                note_writer(q, done, head.name());
                done
            }
            None => false,
        }
    }
}

impl std::fmt::Debug for DynNext<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|p| p.name()))
            .finish()
    }
}
