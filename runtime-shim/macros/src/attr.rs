//! Arguments of `#[race_check(...)]`.

use syn::parse::{Parse, ParseStream};

mod kw {
    syn::custom_keyword!(skip);
}

/// Parsed arguments.
#[derive(Default, Debug)]
pub struct Args {
    /// `skip`: leave this item uninstrumented.
    pub skip: bool,
}

impl Parse for Args {
    fn parse(input: ParseStream<'_>) -> syn::Result<Args> {
        let mut args = Args::default();
        let mut seen_skip: Option<kw::skip> = None;
        while !input.is_empty() {
            let lookahead = input.lookahead1();
            if lookahead.peek(kw::skip) {
                let k: kw::skip = input.parse()?;
                if seen_skip.is_some() {
                    return Err(syn::Error::new(k.span, "duplicate `skip` argument"));
                }
                seen_skip = Some(k);
                args.skip = true;
            } else {
                return Err(lookahead.error());
            }
            if !input.is_empty() {
                input.parse::<syn::Token![,]>()?;
            }
        }
        Ok(args)
    }
}
