//! `view NAME { expr EXPRESSION... }`, once per block.

use super::expr::Expr;
use crate::plugin::Parse;
use corec_compiler::{Diagnostics, Dispenser};

/// The configuration of `view`: its name and the expressions that must all
/// hold for a query to use the block.
#[derive(Debug, Clone)]
pub struct ViewConfig {
    /// The view's name.
    pub name: String,
    /// Every `expr` line, in Corefile order.
    pub exprs: Vec<Expr>,
}

impl Parse for ViewConfig {
    fn parse(d: &mut Dispenser<'_>) -> Result<Self, Diagnostics> {
        let mut cfg: Option<ViewConfig> = None;
        while d.next() {
            if cfg.is_some() {
                return Err(d.err("multiple views defined in server block").into());
            }
            let args = d.remaining_args();
            if args.len() != 1 {
                return Err(d.arg_err().into());
            }
            let mut view = ViewConfig {
                name: args[0].text.clone(),
                exprs: Vec::new(),
            };
            while d.next_block() {
                if d.val() != "expr" {
                    return Err(d.unknown_property(&["expr"]).into());
                }
                let words = d.remaining_args();
                let Some(first) = words.first() else {
                    return Err(d.arg_err().into());
                };
                // The lexer splits on blanks; the expression is the words rejoined.
                let src: Vec<&str> = words.iter().map(|t| t.text.as_str()).collect();
                let expr = Expr::parse(&src.join(" "))
                    .map_err(|e| d.err_at(first, format!("invalid expression: {e}")))?;
                view.exprs.push(expr);
            }
            cfg = Some(view);
        }
        cfg.ok_or_else(|| d.arg_err().into())
    }
}
