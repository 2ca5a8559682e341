//! Code generation: a validated [`Model`] becomes one static chain type per
//! server block, a `match` over blocks, and the embedded Corefile sources.
//! The generated code re-parses the embedded Corefile at startup and builds
//! each plugin through its own `parse`, so both modes share one syntax path.

use crate::model::{Model, PluginKind, PluginSpec};
use proc_macro2::{Ident, Span, TokenStream};
use quote::{format_ident, quote};

/// Paths for the generated code.
#[derive(Debug, Clone)]
pub struct Options {
    /// Path of the runtime crate (`::corec_runtime`).
    pub runtime: TokenStream,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            runtime: quote!(::corec_runtime),
        }
    }
}

/// The expression `corefile!` expands to: a `CompiledSite<Generated>` value.
/// `corefile` is the Corefile's absolute path. The model must be free of errors.
pub fn expand(
    model: &Model,
    plugins: &[PluginSpec],
    corefile: &str,
    opts: &Options,
) -> TokenStream {
    let rt = &opts.runtime;
    let private = quote!(#rt::__private);
    let mut fields = Vec::new();
    let mut builds = Vec::new();
    let mut arms = Vec::new();
    let mut wire_arms = Vec::new();
    let mut shape = Vec::new();
    let mut field_names = Vec::new();
    // One interpreter builder per distinct plugin, so a reload can rebuild
    // chains from exactly the plugins this binary links.
    let mut builders: Vec<(&str, TokenStream)> = Vec::new();
    for (i, block) in model.blocks.iter().enumerate() {
        let field = format_ident!("b{}", i);
        let mut lets = Vec::new();
        let mut vars = Vec::new();
        let mut chain_vars = Vec::new();
        let mut chain_types = Vec::new();
        let names: Vec<&str> = block.plugins.iter().map(|p| p.name).collect();
        for (k, used) in block.plugins.iter().enumerate() {
            let PluginKind::Available {
                rust_type,
                config_only,
                ..
            } = plugins[used.registry_index].kind
            else {
                continue; // the model would carry an error; expand is not called then
            };
            let ty = rust_path(rt, rust_type);
            if !builders.iter().any(|(n, _)| *n == used.name) {
                builders.push((used.name, ty.clone()));
            }
            let var = format_ident!("p{}", k);
            lets.push(quote!(let #var = b.build::<#ty>();));
            vars.push(var.clone());
            if !config_only {
                chain_vars.push(var);
                chain_types.push(ty);
            }
        }
        let mut ty = quote!(#private::End);
        let mut value = quote!(#private::End);
        for (t, v) in chain_types.iter().zip(&chain_vars).rev() {
            ty = quote!(#private::Chain<#t, #ty>);
            value = quote!(#private::Chain::new(#v, #value));
        }
        fields.push(quote!(#field: #ty));
        builds.push(quote! {
            let #field = {
                let mut b = site.block(#i);
                #(#lets)*
                match (#(#vars,)*) {
                    (#(Some(#vars),)*) => Some(#value),
                    _ => None,
                }
            };
        });
        arms.push(quote!(#i => #private::Handler::handle(&self.#field, req).await,));
        wire_arms.push(quote!(#i => #private::Handler::handle_wire(&self.#field, q, out),));
        shape.push(quote!(&[#(#names),*]));
        field_names.push(field);
    }
    let files: Vec<TokenStream> = model
        .sources
        .embedded()
        .into_iter()
        .map(|(path, _)| quote!((#path, include_str!(#path))))
        .collect();
    let blocks = Ident::new("__CorecBlocks", Span::call_site());
    let builder_names = builders.iter().map(|(n, _)| *n);
    let builder_types = builders.iter().map(|(_, t)| t);
    quote! {
        {
            #[allow(non_camel_case_types, unused_variables, clippy::all)]
            struct #blocks { #(#fields,)* }

            #[allow(clippy::all)]
            impl #private::Blocks for #blocks {
                fn serve<'a>(
                    &'a self,
                    block: usize,
                    req: &'a mut #private::Request,
                ) -> impl ::core::future::Future<Output = #private::Outcome> + Send + 'a {
                    async move {
                        match block {
                            #(#arms)*
                            _ => #private::unknown_block(),
                        }
                    }
                }

                #[inline]
                fn serve_wire(
                    &self,
                    block: usize,
                    q: &#private::WireQuery<'_>,
                    out: &mut ::std::vec::Vec<u8>,
                ) -> bool {
                    match block {
                        #(#wire_arms)*
                        _ => false,
                    }
                }
            }

            #[allow(clippy::all, unused_mut)]
            impl #private::CompiledBlocks for #blocks {
                const SHAPE: &'static [&'static [&'static str]] = &[#(#shape),*];
                fn build(site: &mut #private::SiteBuilder<'_>) -> ::core::option::Option<Self> {
                    #(#builds)*
                    Some(#blocks { #(#field_names: #field_names?,)* })
                }
                fn builder(name: &str) -> ::core::option::Option<#private::BuildDynFn> {
                    match name {
                        #(#builder_names => Some(#private::build_dyn::<#builder_types>),)*
                        _ => None,
                    }
                }
            }

            #private::CompiledSite::<#blocks>::new(#corefile, &[#(#files),*])
        }
    }
}

/// The expression emitted when the Corefile has errors: `compile_error!`s
/// plus a value of the expected type, so the caller's code adds no errors.
pub fn expand_errors(messages: &[String], span: Span, opts: &Options) -> TokenStream {
    let rt = &opts.runtime;
    let errors = messages
        .iter()
        .map(|m| quote::quote_spanned!(span=> ::core::compile_error!(#m);));
    quote! {
        {
            #(#errors)*
            #rt::__private::CompiledSite::<#rt::site::NoCompiled>::new("", &[])
        }
    }
}

fn rust_path(rt: &TokenStream, rust_type: &str) -> TokenStream {
    let segs = rust_type
        .split("::")
        .map(|s| Ident::new(s, Span::call_site()));
    quote!(#rt #(::#segs)*)
}
