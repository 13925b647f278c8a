//! `#[race_check]`: the attribute of [racecheck](https://docs.rs/racecheck).
//!
//! Without the racecheck CLI this attribute returns its item token for token.
//! Under the CLI (which sets `--cfg racecheck` and tells this macro through
//! the `__RACECHECK_INSTRUMENT` variable of the compiler's environment), it
//! rewrites the memory accesses of the item's code into calls of
//! `racecheck::__rt` (a path every edition resolves through the extern prelude) and gives each function and closure a frame.
//! See `expand.rs` for the rewriting rules.

use proc_macro::TokenStream;

mod attr;
mod expand;
mod redundant;

/// Check the memory accesses of a fn, an impl, a trait or an inline mod for
/// data races when run under `racecheck`. Arguments: `skip` (leave this item
/// alone inside an annotated impl or mod).
#[proc_macro_attribute]
pub fn race_check(args: TokenStream, item: TokenStream) -> TokenStream {
    let config = expand::Config {
        instrument: std::env::var_os("__RACECHECK_INSTRUMENT").is_some(),
        file: source_file(),
    };
    expand::expand(args.into(), item.into(), &config).into()
}

/// The absolute path of the file being expanded, when the compiler knows it.
fn source_file() -> Option<String> {
    let file = proc_macro::Span::call_site().local_file()?;
    let abs = if file.is_absolute() { file } else { std::env::current_dir().ok()?.join(file) };
    Some(abs.to_string_lossy().into_owned())
}
