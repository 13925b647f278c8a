//! The expansion of `#[race_check]`: a pure `TokenStream → TokenStream`.
//!
//! # What is rewritten
//!
//! Places reached through memory that another thread could share:
//!
//! * `*E` (raw pointers, references, `Box`, any `Deref`), indexing `E[i]`,
//!   and field projections of those (`(*p).a.b[i].c`);
//! * fields of a path (`self.len`, `s.x`): `self` is usually a reference;
//! * statics: paths whose last segment is SCREAMING_CASE (`COUNTER`,
//!   `crate::BUF[i]`). Writes need a `static mut`; reads of consts are
//!   harmless (read-only memory never races).
//!
//! Each is rewritten by the context it appears in. Replacements of
//! expressions are parenthesised (a block or `match` first in an expression
//! statement would otherwise end the statement, as in `{ … } >= n`);
//! replacements of block-like expressions (`match`, `if let`) stay blocks,
//! so they need a `;` exactly where the original did:
//!
//! | context | rewrite |
//! |---|---|
//! | value, place free of side effects | `{ __rt::read(&raw const P, SITE); P }` (moves still work) |
//! | value, other places; operands of comparisons | `(*{ W; __rt::read_place(&raw const P, SITE) })` |
//! | static in a value context | `{ let _ = __rt::read_val(&P, SITE); P }` |
//! | static compared (`X == 1`) | `{ let _ = __rt::read_val(&X, SITE); X == 1 }` |
//! | `P = v` | `*{ W; __rt::write_place(&raw mut P, SITE) } = v` |
//! | `P op= v` | `*{ W; __rt::update_place(&raw mut P, SITE) } op= v` |
//!
//! `W` is `if false { let _ = &P; }`: it never runs, but keeps the user's
//! `unsafe` block needed, with the compiler's own message when it is
//! missing: `&raw` of a raw deref or of a `static mut` is safe since Rust
//! 1.82, a reference to either is not.
//! The user's tokens keep their spans, so `unsafe` requirements, borrow
//! errors and lints still point at user code; assignment still evaluates the
//! value before the place. Every fn and closure gets a frame
//! (`let __racecheck_frame = __rt::enter(&FN_INFO);`) except async ones,
//! whose bodies run across threads.
//!
//! # What is not (yet) rewritten
//!
//! Places in place contexts (`&P`, method receivers), the pointer operand of
//! `*`, macro invocations other than std's formatting and assertion macros,
//! const contexts (const fns, array lengths, const generics, patterns),
//! plain locals. (`match`, `if let` and `while let` scrutinees are read
//! checks: a note before the evaluation, the scrutinee left a place.)

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::visit_mut::{self, VisitMut};
use syn::{parse_quote, BinOp, Block, Expr, ImplItem, Item, ItemFn, ItemImpl, ItemMod, ItemTrait, Stmt, TraitItem, UnOp};

use std::collections::HashSet;

use crate::attr::Args;
use crate::redundant;

/// What the expansion needs to know about its surroundings.
pub struct Config {
    /// Rewrite accesses (set under the racecheck CLI); otherwise identity.
    pub instrument: bool,
    /// Absolute path of the source file, when known; else `file!()`.
    pub file: Option<String>,
}

/// Expand `#[race_check(args)] item`.
pub fn expand(args: TokenStream, item: TokenStream, config: &Config) -> TokenStream {
    let args: Args = match syn::parse2(args) {
        Ok(a) => a,
        Err(e) => return with_error(e, item),
    };
    let mut parsed: Item = match syn::parse2(item.clone()) {
        Ok(i) => i,
        Err(e) => return with_error(e, item),
    };
    let unsupported = match &parsed {
        Item::Fn(f) if f.sig.constness.is_some() => Some(
            "#[race_check] cannot check a `const fn` (the hooks it would call are not `const`); \
             remove `const`, or leave this fn unannotated"
                .to_string(),
        ),
        Item::Fn(_) | Item::Impl(_) | Item::Trait(_) => None,
        Item::Mod(m) if m.content.is_some() => None,
        Item::Mod(m) => Some(format!(
            "#[race_check] cannot see into a module in another file: put #[race_check] on the items inside `{0}`'s \
             file, or make it an inline `mod {0} {{ … }}`",
            m.ident
        )),
        _ => Some("#[race_check] applies to a fn, an impl, a trait or an inline `mod m { … }`".to_string()),
    };
    if let Some(message) = unsupported {
        return with_error(syn::Error::new_spanned(&parsed, message), item);
    }
    if args.skip || !config.instrument {
        return item;
    }
    let mut ins = Instrumenter { config, names: Vec::new(), covered: HashSet::new() };
    ins.item(&mut parsed, None);
    parsed.into_token_stream()
}

fn with_error(e: syn::Error, item: TokenStream) -> TokenStream {
    let err = e.to_compile_error();
    quote!(#err #item)
}

/// Is this attribute a `#[race_check…]` of its own (to be expanded by itself)?
fn is_race_check_attr(a: &syn::Attribute) -> bool {
    a.path().segments.last().is_some_and(|s| s.ident == "race_check")
}

/// The frame an instrumented body gets.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
enum Frame {
    /// None: an `async` body (a frame cannot stay on the stack across an
    /// `.await`).
    None,
    Plain,
    /// A `#[test]` (or `#[tokio::test]`, …) function's own frame.
    Test,
    /// An `async` test (`#[tokio::test] async fn`): no frame, but a guard
    /// that fails the test when its body completes.
    AsyncTest,
}

/// A frame keeps the user's body in a block of its own after the guard
/// (`{ let frame = enter(..); { BODY } }`); when BODY is one expression,
/// rustc's `unused_braces` lint would fire on those braces, which the user
/// never wrote (and `-D warnings` builds would fail). Allowed on the function,
/// so closures inside it are covered too.
fn allow_frame_braces(attrs: &mut Vec<syn::Attribute>, frame: Frame) {
    if matches!(frame, Frame::Plain | Frame::Test | Frame::AsyncTest) {
        attrs.push(parse_quote!(#[allow(unused_braces)]));
    }
}

/// Is this attribute `#[test]` or a test attribute of a crate
/// (`#[tokio::test]`)?
fn is_test_attr(a: &syn::Attribute) -> bool {
    a.path().segments.last().is_some_and(|s| s.ident == "test")
}

#[derive(Copy, Clone, PartialEq, Eq, Debug)]
enum Ctx {
    /// The value is read (copied or moved).
    Value,
    /// The place is only borrowed by reference (comparison operands).
    AutoRef,
}

#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub(crate) enum Kind {
    /// Rooted at a SCREAMING_CASE path: a static or a const.
    Static,
    /// Through `*`, indexing, or fields of a path.
    Memory,
}

struct Instrumenter<'c> {
    config: &'c Config,
    /// Names of the enclosing functions, relative to `module_path!()`.
    names: Vec<String>,
    /// Reads another check covers (see `redundant`): left unchecked.
    covered: HashSet<redundant::Site>,
}

impl Instrumenter<'_> {
    fn item(&mut self, item: &mut Item, prefix: Option<&str>) {
        match item {
            Item::Fn(f) => self.item_fn(f, prefix),
            Item::Impl(i) => self.item_impl(i),
            Item::Mod(m) => self.item_mod(m),
            Item::Trait(t) => self.item_trait(t),
            _ => {}
        }
    }

    fn item_fn(&mut self, f: &mut ItemFn, prefix: Option<&str>) {
        if f.sig.constness.is_some() || f.attrs.iter().any(is_race_check_attr) {
            return;
        }
        let name = join(prefix, &f.sig.ident.to_string());
        let is_test = f.attrs.iter().any(is_test_attr);
        let frame = match f.sig.asyncness {
            // `#[tokio::test] async fn`: no frame, but the test still fails
            // when its body completes.
            Some(_) if is_test => Frame::AsyncTest,
            Some(_) => Frame::None,
            // A test's own frame: a race found during the test fails it
            // when the test returns.
            None if is_test => Frame::Test,
            None => Frame::Plain,
        };
        allow_frame_braces(&mut f.attrs, frame);
        self.body(name, &mut f.block, frame);
    }

    fn item_impl(&mut self, imp: &mut ItemImpl) {
        if imp.attrs.iter().any(is_race_check_attr) {
            return;
        }
        let ty = type_name(&imp.self_ty);
        let owner = match &imp.trait_ {
            Some((_, path, _)) => {
                let tr = path.segments.last().map(|s| s.ident.to_string()).unwrap_or_default();
                format!("<{{self}}{ty} as {tr}>")
            }
            None => ty,
        };
        for it in &mut imp.items {
            if let ImplItem::Fn(m) = it {
                if m.sig.constness.is_some() || m.attrs.iter().any(is_race_check_attr) {
                    continue;
                }
                let name = format!("{owner}::{}", m.sig.ident);
                let frame = if m.sig.asyncness.is_none() { Frame::Plain } else { Frame::None };
                allow_frame_braces(&mut m.attrs, frame);
                self.body(name, &mut m.block, frame);
            }
        }
    }

    fn item_trait(&mut self, tr: &mut ItemTrait) {
        if tr.attrs.iter().any(is_race_check_attr) {
            return;
        }
        let owner = tr.ident.to_string();
        for it in &mut tr.items {
            if let TraitItem::Fn(m) = it {
                if m.sig.constness.is_some() || m.attrs.iter().any(is_race_check_attr) {
                    continue;
                }
                if let Some(block) = &mut m.default {
                    let name = format!("{owner}::{}", m.sig.ident);
                    let frame = if m.sig.asyncness.is_none() { Frame::Plain } else { Frame::None };
                    allow_frame_braces(&mut m.attrs, frame);
                    self.body(name, block, frame);
                }
            }
        }
    }

    fn item_mod(&mut self, m: &mut ItemMod) {
        if m.attrs.iter().any(is_race_check_attr) {
            return;
        }
        if let Some((_, items)) = &mut m.content {
            for it in items {
                self.item(it, None);
            }
        }
    }

    /// Instrument a function body and give it a frame of kind `frame`.
    fn body(&mut self, name: String, block: &mut Block, frame: Frame) {
        self.names.push(name.clone());
        self.visit_block_mut(block);
        self.names.pop();
        let enter = match frame {
            Frame::None => return,
            Frame::AsyncTest => {
                let inner = Block { brace_token: block.brace_token, stmts: std::mem::take(&mut block.stmts) };
                block.stmts = vec![
                    parse_quote!(let __racecheck_test_end = racecheck::__rt::test_end();),
                    Stmt::Expr(Expr::Block(syn::ExprBlock { attrs: vec![], label: None, block: inner }), None),
                ];
                return;
            }
            Frame::Plain => quote!(enter),
            Frame::Test => quote!(enter_test),
        };
        {
            let info = self.fn_info(&name);
            let inner = Block { brace_token: block.brace_token, stmts: std::mem::take(&mut block.stmts) };
            block.stmts = vec![
                parse_quote!(let __racecheck_frame = racecheck::__rt::#enter(#info);),
                Stmt::Expr(Expr::Block(syn::ExprBlock { attrs: vec![], label: None, block: inner }), None),
            ];
        }
    }

    fn current_name(&self) -> String {
        self.names.last().cloned().unwrap_or_else(|| "{{unknown}}".to_string())
    }

    fn fn_info(&self, name: &str) -> TokenStream {
        let name = module_relative(name);
        quote!({
            static __RACECHECK_FN: racecheck::__rt::FnInfo =
                racecheck::__rt::FnInfo { name: #name };
            &__RACECHECK_FN
        })
    }

    /// A `&'static Site` for an access starting at `span`.
    fn site(&self, span: Span) -> TokenStream {
        let start = span.start();
        let (line, col) = (start.line as u32, start.column as u32 + 1);
        let func = module_relative(&self.current_name());
        let file = match &self.config.file {
            Some(f) => quote!(#f),
            None => quote!(file!()),
        };
        quote_spanned!(span=> {
            static __RACECHECK_SITE: racecheck::__rt::Site = racecheck::__rt::Site {
                func: #func,
                file: #file,
                line: #line,
                col: #col,
            };
            &__RACECHECK_SITE
        })
    }

    /// Visit an expression whose value is used in context `ctx`.
    fn expr(&mut self, e: &mut Expr, ctx: Ctx) {
        match e {
            Expr::Paren(p) => self.expr(&mut p.expr, ctx),
            Expr::Group(g) => self.expr(&mut g.expr, ctx),
            Expr::Field(_) | Expr::Index(_) | Expr::Path(_) => self.read(e, ctx),
            Expr::Unary(u) if matches!(u.op, UnOp::Deref(_)) => self.read(e, ctx),
            Expr::Assign(a) => {
                self.expr(&mut a.right, Ctx::Value);
                if impure_root(&a.left).is_some() && hoist(&a.left).is_none() {
                    let site = self.site(a.left.span());
                    let left = (*a.left).clone();
                    *a.left = self.through_root(&left, |p| quote!(racecheck::__rt::note_write(&raw mut #p, #site);), true);
                } else if classify(&a.left).is_some() {
                    self.place_children(&mut a.left);
                    let (left, right) = (a.left.clone(), a.right.clone());
                    *e = self.store(quote!(write_place), &left, quote!(=), &right);
                } else {
                    self.assignee(&mut a.left);
                }
            }
            Expr::Binary(b) if is_compound_assign(&b.op) => {
                self.expr(&mut b.right, Ctx::Value);
                if impure_root(&b.left).is_some() && hoist(&b.left).is_none() {
                    let site = self.site(b.left.span());
                    let left = (*b.left).clone();
                    *b.left = self.through_root(&left, |p| quote!(racecheck::__rt::note_write(&raw mut #p, #site);), true);
                } else if classify(&b.left).is_some() {
                    self.place_children(&mut b.left);
                    let (left, right, op) = (b.left.clone(), b.right.clone(), b.op);
                    *e = self.store(quote!(update_place), &left, op.to_token_stream(), &right);
                } else {
                    self.assignee(&mut b.left);
                }
            }
            Expr::Binary(b) if is_comparison(&b.op) => {
                let mut prefix: Vec<Stmt> = Vec::new();
                for operand in [&mut b.left, &mut b.right] {
                    match classify(operand) {
                        Some(Kind::Static) => {
                            self.place_children(operand);
                            if is_pure(operand) {
                                prefix.push(self.static_read_stmt(operand));
                            }
                        }
                        Some(Kind::Memory) => self.read(operand, Ctx::AutoRef),
                        None => self.expr(operand, Ctx::Value),
                    }
                }
                if !prefix.is_empty() {
                    let cmp = e.clone();
                    *e = parse_quote!(({ #(#prefix)* #cmp }));
                }
            }
            Expr::Reference(r) => self.place_children(&mut r.expr),
            Expr::RawAddr(r) => self.place_children(&mut r.expr),
            Expr::MethodCall(m) => {
                let mut notes: Vec<Stmt> = self.method_probe(m).into_iter().collect();
                notes.extend(self.receiver_probe(m));
                if self.impure_receiver(m) {
                    // The receiver was rewritten around its root.
                } else if let Some(r) = mut_borrow_of_place(&mut m.receiver) {
                    // `(&mut P).m(..)`: the `&mut` is a write of `P`.
                    self.place_children(&mut r.expr);
                    let site = self.site(r.expr.span());
                    // The user's parentheses go: inside the call they would be `unused_parens`.
                    let recv = strip_parens(&m.receiver).clone();
                    *m.receiver = parse_quote!(racecheck::__rt::note_write_ref(#recv, #site));
                } else {
                    self.place_children(&mut m.receiver);
                }
                for a in &mut m.args {
                    self.expr(a, Ctx::Value);
                }
                self.mut_args(&mut m.args);
                if !notes.is_empty() {
                    let call = e.clone();
                    *e = parse_quote!(({ #(#notes)* #call }));
                }
            }
            Expr::Call(c) => {
                self.place_children(&mut c.func);
                for a in &mut c.args {
                    self.expr(a, Ctx::Value);
                }
                if !self.pointer_function(e) {
                    let Expr::Call(c) = e else { unreachable!() };
                    self.mut_args(&mut c.args);
                }
            }
            Expr::Match(m) => {
                let note = self.scrutinee_note(&m.expr);
                self.place_children(&mut m.expr);
                for arm in &mut m.arms {
                    if let Some((_, g)) = &mut arm.guard {
                        self.expr(g, Ctx::Value);
                    }
                    self.expr(&mut arm.body, Ctx::Value);
                }
                if let Some(note) = note {
                    // Block-like stays block-like: parses as the `match` did.
                    let m = e.clone();
                    *e = parse_quote!({ #note #m });
                }
            }
            Expr::If(i) if matches!(&*i.cond, Expr::Let(_)) => {
                let Expr::Let(l) = &*i.cond else { unreachable!() };
                let note = self.scrutinee_note(&l.expr);
                visit_mut::visit_expr_if_mut(self, i);
                if let Some(note) = note {
                    // Block-like stays block-like: parses as the `if` did.
                    let x = e.clone();
                    *e = parse_quote!({ #note #x });
                }
            }
            Expr::While(w) if matches!(&*w.cond, Expr::Let(_)) => {
                let Expr::Let(l) = &*w.cond else { unreachable!() };
                let note = self.scrutinee_note(&l.expr);
                visit_mut::visit_expr_while_mut(self, w);
                if let Some(note) = note {
                    // `'l: while let P = S { B }` → `'l: loop { note; match S { P => B, _ => break } }`:
                    // the read is checked on every iteration; `break`,
                    // `continue` and labels keep their meaning.
                    let Expr::While(w) = e.clone() else { unreachable!() };
                    let Expr::Let(l) = *w.cond else { unreachable!() };
                    let (label, pat, scrutinee, body) = (w.label, l.pat, l.expr, w.body);
                    *e = parse_quote!(#label loop {
                        #note
                        match #scrutinee {
                            #pat => #body,
                            _ => break,
                        }
                    });
                }
            }
            Expr::Let(l) => self.place_children(&mut l.expr),
            Expr::Struct(s) => {
                for f in &mut s.fields {
                    self.expr(&mut f.expr, Ctx::Value);
                }
                if let Some(rest) = &mut s.rest {
                    self.place_children(rest);
                }
            }
            // `[Self::EMPTY; N]`: a constant operand need not be `Copy`, but
            // a block around it would have to be. A path there is left as it
            // is (a `static mut` read there goes unchecked).
            Expr::Repeat(r) if matches!(&*r.expr, Expr::Path(_)) => {}
            Expr::Repeat(r) => self.expr(&mut r.expr, Ctx::Value),
            Expr::Await(a) => self.place_children(&mut a.base),
            Expr::Closure(c) => {
                let name = format!("{}::{{{{closure}}}}", self.current_name());
                self.names.push(name.clone());
                self.expr(&mut c.body, Ctx::Value);
                self.names.pop();
                let is_async = c.asyncness.is_some() || matches!(&*c.body, Expr::Async(_));
                if !is_async {
                    let info = self.fn_info(&name);
                    let body = &c.body;
                    c.body = Box::new(parse_quote!({
                        let __racecheck_frame = racecheck::__rt::enter(#info);
                        #body
                    }));
                }
            }
            Expr::Macro(m) => self.std_macro(&mut m.mac),
            Expr::Const(_) | Expr::Verbatim(_) => {}
            _ => visit_mut::visit_expr_mut(self, e),
        }
    }

    /// The left side of an assignment that is not a checked place: a local,
    /// `_`, or a destructuring pattern. Only nested value expressions count.
    fn assignee(&mut self, e: &mut Expr) {
        match e {
            Expr::Tuple(t) => t.elems.iter_mut().for_each(|x| self.assignee(x)),
            Expr::Array(a) => a.elems.iter_mut().for_each(|x| self.assignee(x)),
            Expr::Paren(p) => self.assignee(&mut p.expr),
            Expr::Path(_) | Expr::Infer(_) | Expr::Range(_) => {}
            Expr::Call(c) => c.args.iter_mut().for_each(|x| self.assignee(x)),
            Expr::Struct(s) => s.fields.iter_mut().for_each(|f| self.assignee(&mut f.expr)),
            _ => self.place_children(e),
        }
    }

    /// A place in a context that neither reads nor writes it as a whole:
    /// instrument only what its evaluation computes (indices, pointer values).
    fn place_children(&mut self, e: &mut Expr) {
        match e {
            Expr::Field(f) => self.place_children(&mut f.base),
            Expr::Index(i) => {
                self.place_children(&mut i.expr);
                self.expr(&mut i.index, Ctx::Value);
            }
            Expr::Paren(p) => self.place_children(&mut p.expr),
            Expr::Group(g) => self.place_children(&mut g.expr),
            Expr::Unary(u) if matches!(u.op, UnOp::Deref(_)) => self.place_children(&mut u.expr),
            Expr::Path(_) => {}
            _ => self.expr(e, Ctx::Value),
        }
    }

    /// A place expression read in context `ctx`.
    fn read(&mut self, e: &mut Expr, ctx: Ctx) {
        if self.covered.remove(&redundant::site_of(e)) {
            // A later write of this place, or an earlier access to it, in
            // the same straight-line code is checked instead.
            self.place_children(e);
            return;
        }
        if impure_root(e).is_some() && hoist(e).is_none() {
            // `R.f` with `R` a call: checked through the call's result,
            // which is then used as it was (see `through_root`).
            let site = self.site(e.span());
            *e = self.through_root(e, |p| quote!(let _ = racecheck::__rt::read_place(&raw const #p, #site);), false);
            return;
        }
        let kind = classify(e);
        self.place_children(e);
        let Some(kind) = kind else { return };
        let pure = is_pure(e);
        let span = e.span();
        let site = self.site(span);
        let place = e.clone();
        *e = match (kind, ctx, pure) {
            (Kind::Static, _, false) => return,
            (Kind::Static, _, true) => {
                let stmt = self.static_read_stmt(&place);
                parse_quote_spanned!(span=> ({ #stmt #place }))
            }
            (Kind::Memory, Ctx::Value, true) => {
                parse_quote_spanned!(span=> ({ racecheck::__rt::read(&raw const #place, #site); #place }))
            }
            (Kind::Memory, Ctx::Value, false) => match hoist(&place) {
                Some(Hoisted { values, names, place: p2 }) => parse_quote_spanned!(span=>
                    (match (#(#values,)*) {
                        (#(#names,)*) => { racecheck::__rt::read(&raw const #p2, #site); #p2 }
                    })
                ),
                None => parse_quote_spanned!(span=> (*racecheck::__rt::read_place(&raw const #place, #site))),
            },
            (Kind::Memory, _, true) => {
                let w = Self::witness(&place);
                parse_quote_spanned!(span=> (*{ #w racecheck::__rt::read_place(&raw const #place, #site) }))
            }
            (Kind::Memory, _, false) => match hoist(&place) {
                Some(Hoisted { values, names, place: p2 }) => {
                    let w = Self::witness(&p2);
                    parse_quote_spanned!(span=>
                        (*match (#(#values,)*) {
                            (#(#names,)*) => { #w racecheck::__rt::read_place(&raw const #p2, #site) }
                        })
                    )
                }
                None => parse_quote_spanned!(span=> (*racecheck::__rt::read_place(&raw const #place, #site))),
            },
        };
    }

    /// For `recv.m(args)` where `m` is a method raw pointers, `NonNull`,
    /// `Cell` or `MaybeUninit` have: a statement noting the access, chosen by
    /// the receiver's type at compile time (see `__rt::Probe`). The receiver
    /// is evaluated twice, so only receivers free of side effects qualify.
    fn method_probe(&self, m: &syn::ExprMethodCall) -> Option<Stmt> {
        let name = m.method.to_string();
        let (write, count) = match name.as_str() {
            "read" | "read_volatile" | "read_unaligned" | "get" | "assume_init_read" => (false, None),
            "write" | "write_volatile" | "write_unaligned" | "set" | "replace" | "swap" | "take" | "update"
            | "drop_in_place" => (true, None),
            "copy_to" | "copy_to_nonoverlapping" => (false, Some(1)),
            "copy_from" | "copy_from_nonoverlapping" | "write_bytes" => (true, Some(1)),
            _ => return None,
        };
        if !is_pure_receiver(&m.receiver) {
            return None;
        }
        let count = match count {
            None => quote!(1usize),
            Some(i) => {
                let arg = m.args.iter().nth(i)?;
                if !is_pure(arg) {
                    return None;
                }
                quote!((#arg) as usize)
            }
        };
        let site = self.site(m.method.span());
        let recv = &m.receiver;
        let note = if write { quote!(note_write) } else { quote!(note_read) };
        Some(parse_quote!(racecheck::__rt::Probe(&#recv).#note(#count, #site);))
    }

    /// For `P.m(args)` where `P` is a checked place free of side effects
    /// and `m` one of [`RECEIVER_METHODS`]: a statement noting what `m`
    /// does to `P`, chosen by `P`'s type at compile time (see `__rt::Recv`:
    /// std's collections and `Option`; nothing for other types).
    fn receiver_probe(&self, m: &syn::ExprMethodCall) -> Option<Stmt> {
        let name = m.method.to_string();
        if !RECEIVER_METHODS.contains(&name.as_str()) {
            return None;
        }
        let recv = shared_borrowed(&m.receiver);
        if classify(recv) != Some(Kind::Memory) || !is_pure(recv) {
            return None;
        }
        let site = self.site(m.method.span());
        let method = &m.method;
        Some(parse_quote!(racecheck::__rt::Recv(&raw const #recv).#method(#site);))
    }

    /// [`Self::receiver_probe`] for a receiver place over an impure root
    /// (`(*p.ptr()).take()`, `self.inner().log.push(x)`): the probe runs on
    /// the root's value (see [`Self::through_root`]). True if the receiver
    /// was rewritten.
    fn impure_receiver(&mut self, m: &mut syn::ExprMethodCall) -> bool {
        let name = m.method.to_string();
        if !RECEIVER_METHODS.contains(&name.as_str()) || impure_root(shared_borrowed(&m.receiver)).is_none() {
            return false;
        }
        let site = self.site(m.method.span());
        let method = m.method.clone();
        let place = shared_borrowed_mut(&mut m.receiver);
        let recv = place.clone();
        *place = self.through_root(&recv, |p| quote!(racecheck::__rt::Recv(&raw const #p).#method(#site);), false);
        true
    }

    /// A place over an impure root `R` (a call, say: `R.f`, `(*R).f`,
    /// `R[i]`): `R`'s children are instrumented, then `R` becomes
    /// `racecheck::__rt::then_ref(R, |__racecheck_r| NOTE)` (`then_mut` for
    /// a write), where `NOTE` is `note` of the place with `(*__racecheck_r)`
    /// for `R`. The place is checked where it is (through a returned
    /// reference or pointer, a guard's `Deref`, or in the temporary itself
    /// when `R` is a value), and `R`'s value is then passed on unchanged, so
    /// moves out of the temporary, its lifetime, its drop order and borrows
    /// of it stay as they were. The closure is inside the user's `unsafe`
    /// block wherever the place needed one.
    fn through_root(&mut self, place: &Expr, note: impl FnOnce(&Expr) -> TokenStream, write: bool) -> Expr {
        let mut root = impure_root(place).expect("a place over an impure root").clone();
        self.expr(&mut root, Ctx::Value);
        let inner = with_root(place, &parse_quote!((*__racecheck_r)));
        let stmt = note(&inner);
        let then = if write { quote!(then_mut) } else { quote!(then_ref) };
        let root: Expr = parse_quote!(racecheck::__rt::#then(#root, |__racecheck_r| { #stmt }));
        with_root(place, &root)
    }

    /// Arguments `&mut P` of a call, with `P` a checked place: the borrow is
    /// a write of `P` (`note_write_ref`, sized as the borrowed value, so a
    /// slice range covers just that range).
    fn mut_args(&mut self, args: &mut syn::punctuated::Punctuated<Expr, syn::Token![,]>) {
        for a in args.iter_mut() {
            if let Some(r) = mut_borrow_of_place(a) {
                let site = self.site(r.expr.span());
                let arg = strip_parens(a).clone();
                *a = parse_quote!(racecheck::__rt::note_write_ref(#arg, #site));
            }
        }
    }

    /// `ptr::read(p)`, `ptr::write(p, v)`, `ptr::copy(src, dst, n)`,
    /// `mem::replace(&mut x, v)` and their kin: note the accesses they make.
    fn pointer_function(&mut self, e: &mut Expr) -> bool {
        let Expr::Call(c) = e else { return false };
        let Expr::Path(p) = &*c.func else { return false };
        let segs: Vec<String> = p.path.segments.iter().map(|s| s.ident.to_string()).collect();
        let (module, name) = match segs.as_slice() {
            [.., m, n] => (m.as_str(), n.as_str()),
            _ => return false,
        };
        let site = self.site(c.func.span());
        let original: Vec<Expr> = c.args.iter().cloned().collect();
        let arg = |i: usize| original.get(i).cloned();
        match (module, name, c.args.len()) {
            ("ptr", "read" | "read_volatile" | "read_unaligned", 1) => {
                let a = arg(0).unwrap();
                c.args[0] = parse_quote!(racecheck::__rt::note_read(#a, #site));
            }
            ("ptr", "write" | "write_volatile" | "write_unaligned" | "replace", 2) | ("ptr", "drop_in_place", 1) => {
                let a = arg(0).unwrap();
                c.args[0] = parse_quote!(racecheck::__rt::note_write(#a, #site));
            }
            ("ptr", "swap", 2) => {
                for i in 0..2 {
                    let a = arg(i).unwrap();
                    c.args[i] = parse_quote!(racecheck::__rt::note_write(#a, #site));
                }
            }
            ("mem", "replace" | "take", _) | ("mem", "swap", 2) => {
                for i in 0..if name == "swap" { 2 } else { 1 } {
                    let a = arg(i).unwrap();
                    c.args[i] = parse_quote!(racecheck::__rt::note_write_ref(#a, #site));
                }
            }
            ("ptr", "copy" | "copy_nonoverlapping", 3) => {
                let (s_, d, n) = (arg(0).unwrap(), arg(1).unwrap(), arg(2).unwrap());
                let f = &c.func;
                *e = parse_quote!((match (#s_, #d, #n) {
                    (__racecheck_s, __racecheck_d, __racecheck_n) => {
                        racecheck::__rt::note_copy(__racecheck_s, __racecheck_d, __racecheck_n, #site);
                        #f(__racecheck_s, __racecheck_d, __racecheck_n)
                    }
                }));
            }
            ("ptr", "write_bytes" | "swap_nonoverlapping", 3) => {
                let (a, b, n) = (arg(0).unwrap(), arg(1).unwrap(), arg(2).unwrap());
                let f = &c.func;
                let second = if name == "swap_nonoverlapping" {
                    quote!(racecheck::__rt::note_write_n(__racecheck_b, __racecheck_n, #site);)
                } else {
                    quote!()
                };
                *e = parse_quote!((match (#a, #b, #n) {
                    (__racecheck_a, __racecheck_b, __racecheck_n) => {
                        racecheck::__rt::note_write_n(__racecheck_a, __racecheck_n, #site);
                        #second
                        #f(__racecheck_a, __racecheck_b, __racecheck_n)
                    }
                }));
            }
            _ => return false,
        }
        true
    }

    /// A read of a `match` or `if let` scrutinee, as a statement to run just
    /// before: the scrutinee stays a place, so `ref` bindings and moves out of
    /// it keep their meaning.
    fn scrutinee_note(&self, scrutinee: &Expr) -> Option<Stmt> {
        let kind = classify(scrutinee)?;
        if !is_pure(scrutinee) {
            return None;
        }
        Some(match kind {
            Kind::Static => self.static_read_stmt(scrutinee),
            Kind::Memory => {
                let site = self.site(scrutinee.span());
                parse_quote!(let _ = racecheck::__rt::read_place(&raw const #scrutinee, #site);)
            }
        })
    }

    /// Instrument the expression arguments of well-known std macros, which
    /// the attribute otherwise sees only as tokens. Formatting and assertion
    /// macros borrow their arguments, so those are read in place, never
    /// moved; `write!`'s destination is a method receiver.
    fn std_macro(&mut self, mac: &mut syn::Macro) {
        #[derive(Copy, Clone, PartialEq)]
        enum Arg {
            Value,
            Borrowed,
            Receiver,
            FormatString,
        }
        let Some(name) = mac.path.segments.last().map(|s| s.ident.to_string()) else { return };
        let role = |i: usize| -> Arg {
            match (name.as_str(), i) {
                ("vec" | "dbg", _) => Arg::Value,
                ("write" | "writeln", 0) => Arg::Receiver,
                ("write" | "writeln", 1) => Arg::FormatString,
                ("assert" | "debug_assert", 0) => Arg::Value,
                ("assert" | "debug_assert", 1) => Arg::FormatString,
                ("assert_eq" | "assert_ne" | "debug_assert_eq" | "debug_assert_ne", 0 | 1) => Arg::Borrowed,
                ("assert_eq" | "assert_ne" | "debug_assert_eq" | "debug_assert_ne", 2) => Arg::FormatString,
                (_, 0) => Arg::FormatString,
                _ => Arg::Borrowed,
            }
        };
        const KNOWN: &[&str] = &[
            "print", "println", "eprint", "eprintln", "format", "format_args", "panic", "unreachable", "todo",
            "unimplemented", "write", "writeln", "assert", "debug_assert", "assert_eq", "assert_ne",
            "debug_assert_eq", "debug_assert_ne", "vec", "dbg",
        ];
        if !KNOWN.contains(&name.as_str()) {
            return;
        }
        if name == "vec" {
            let repeat = mac.parse_body_with(|input: syn::parse::ParseStream<'_>| {
                let elem: Expr = input.parse()?;
                input.parse::<syn::Token![;]>()?;
                let n: Expr = input.parse()?;
                Ok((elem, n))
            });
            if let Ok((mut elem, mut n)) = repeat {
                self.expr(&mut elem, Ctx::Value);
                self.expr(&mut n, Ctx::Value);
                mac.tokens = quote!(#elem; #n);
                return;
            }
        }
        let parser = syn::punctuated::Punctuated::<Expr, syn::Token![,]>::parse_terminated;
        let Ok(mut args) = mac.parse_body_with(parser) else { return };
        for (i, a) in args.iter_mut().enumerate() {
            match (role(i), &mut *a) {
                (Arg::FormatString, _) => {}
                // `name = value` among format arguments
                (Arg::Borrowed, Expr::Assign(x)) if matches!(&*x.left, Expr::Path(_)) => self.borrowed(&mut x.right),
                (Arg::Borrowed, a) => self.borrowed(a),
                (Arg::Receiver, a) => self.place_children(a),
                (Arg::Value, a) => self.expr(a, Ctx::Value),
            }
        }
        mac.tokens = args.to_token_stream();
    }

    /// An expression the macro will only borrow: read places in place.
    fn borrowed(&mut self, e: &mut Expr) {
        match classify(e) {
            Some(Kind::Memory) => self.read(e, Ctx::AutoRef),
            Some(Kind::Static) => {}
            None => self.expr(e, Ctx::Value),
        }
    }

    /// `place op value` (op is `=` or a compound assignment) through the
    /// hook `hook`. Impure places are split first (see [`hoist`]); the value
    /// is then evaluated before the place, as Rust does.
    fn store(&self, hook: TokenStream, place: &Expr, op: TokenStream, value: &Expr) -> Expr {
        let site = self.site(place.span());
        if is_pure(place) {
            let w = Self::witness(place);
            return parse_quote!(*{ #w racecheck::__rt::#hook(&raw mut #place, #site) } #op #value);
        }
        match hoist(place) {
            Some(Hoisted { values, names, place: p2 }) => {
                let w = Self::witness(&p2);
                // `(#value)`: a struct literal is not allowed bare as a scrutinee.
                parse_quote!((match (#value) {
                    __racecheck_value => match (#(#values,)*) {
                        #[allow(unused_mut)]
                        (#(mut #names,)*) => {
                            *{ #w racecheck::__rt::#hook(&raw mut #p2, #site) } #op __racecheck_value
                        }
                    }
                }))
            }
            None => parse_quote!(*racecheck::__rt::#hook(&raw mut #place, #site) #op #value),
        }
    }

    /// `if false { let _ = &B; }`: never runs, but borrows the place the way
    /// the user's code touched it, so an `unsafe` block the user needed for
    /// it (a raw pointer deref, a `static mut`) is still needed, and the user
    /// does not see `unused_unsafe`. `B` is the place without its trailing
    /// fields (`(*h).len` gives `&*h`): a reference to a field of a
    /// `#[repr(packed)]` struct does not compile (E0793), and a raw borrow
    /// (`&raw const (*h).len`) is safe, so it would witness nothing. A field
    /// of a local needs no `unsafe` and gets no witness: borrowing the whole
    /// local could conflict with a live borrow of another of its fields.
    fn witness(place: &Expr) -> TokenStream {
        let mut base = place;
        let mut fields = false;
        loop {
            match base {
                Expr::Field(f) => {
                    fields = true;
                    base = &f.base;
                }
                Expr::Paren(p) => base = &p.expr,
                Expr::Group(g) => base = &g.expr,
                _ => break,
            }
        }
        if fields && matches!(base, Expr::Path(p) if !is_static_path(p)) {
            return TokenStream::new();
        }
        quote!(if false { #[allow(static_mut_refs)] let _ = &#base; })
    }

    /// `#[allow(static_mut_refs)] let _ = read_val(&X, SITE);`
    fn static_read_stmt(&self, place: &Expr) -> Stmt {
        let site = self.site(place.span());
        parse_quote!(#[allow(static_mut_refs)] let _ = racecheck::__rt::read_val(&#place, #site);)
    }
}

macro_rules! parse_quote_spanned {
    ($span:expr=> $($t:tt)*) => {
        syn::parse2(quote_spanned!($span=> $($t)*)).expect("racecheck: generated expression parses")
    };
}
use parse_quote_spanned;

impl VisitMut for Instrumenter<'_> {
    fn visit_expr_mut(&mut self, e: &mut Expr) {
        self.expr(e, Ctx::Value);
    }

    fn visit_block_mut(&mut self, b: &mut Block) {
        redundant::find(&b.stmts, &mut self.covered);
        visit_mut::visit_block_mut(self, b);
    }

    fn visit_item_mut(&mut self, item: &mut Item) {
        let prefix = self.current_name();
        self.item(item, Some(&prefix));
    }

    // Const contexts and non-expressions: nothing to instrument, and a
    // runtime call there would not compile.
    fn visit_pat_mut(&mut self, _: &mut syn::Pat) {}
    fn visit_type_mut(&mut self, _: &mut syn::Type) {}
    fn visit_generic_argument_mut(&mut self, _: &mut syn::GenericArgument) {}
    fn visit_attribute_mut(&mut self, _: &mut syn::Attribute) {}
    fn visit_macro_mut(&mut self, _: &mut syn::Macro) {}

    fn visit_stmt_macro_mut(&mut self, m: &mut syn::StmtMacro) {
        self.std_macro(&mut m.mac);
    }

    /// `let (ref mut a, _) = *p;` binds into the place itself: it must stay a
    /// place (a checked read would make it a copy, and `a` would point into
    /// that). Taking references reads nothing, so only its inner expressions
    /// are checked; later accesses through `a` are.
    fn visit_local_mut(&mut self, l: &mut syn::Local) {
        if let Some(init) = &mut l.init {
            if binds_by_reference(&l.pat) {
                self.place_children(&mut init.expr);
            } else {
                self.expr(&mut init.expr, Ctx::Value);
            }
            if let Some((_, diverge)) = &mut init.diverge {
                self.expr(diverge, Ctx::Value);
            }
        }
    }
}

/// Does the pattern have a `ref` or `ref mut` binding?
fn binds_by_reference(p: &syn::Pat) -> bool {
    use syn::Pat;
    match p {
        Pat::Ident(i) => i.by_ref.is_some() || i.subpat.as_ref().is_some_and(|(_, s)| binds_by_reference(s)),
        Pat::Or(o) => o.cases.iter().any(binds_by_reference),
        Pat::Paren(x) => binds_by_reference(&x.pat),
        Pat::Reference(r) => binds_by_reference(&r.pat),
        Pat::Slice(x) => x.elems.iter().any(binds_by_reference),
        Pat::Struct(x) => x.fields.iter().any(|f| binds_by_reference(&f.pat)),
        Pat::Tuple(x) => x.elems.iter().any(binds_by_reference),
        Pat::TupleStruct(x) => x.elems.iter().any(binds_by_reference),
        Pat::Type(t) => binds_by_reference(&t.pat),
        _ => false,
    }
}

/// A function name relative to `module_path!()`, as a `concat!` expression.
/// `{self}` marks where the module path goes inside `<… as Trait>`.
fn module_relative(name: &str) -> TokenStream {
    match name.strip_prefix("<{self}") {
        Some(rest) => quote!(concat!("<", module_path!(), "::", #rest)),
        None => quote!(concat!(module_path!(), "::", #name)),
    }
}

fn join(prefix: Option<&str>, name: &str) -> String {
    match prefix {
        Some(p) => format!("{p}::{name}"),
        None => name.to_string(),
    }
}

/// `Ring<T>` → `Ring`; other types as written.
fn type_name(ty: &syn::Type) -> String {
    match ty {
        syn::Type::Path(p) if p.qself.is_none() => {
            p.path.segments.iter().map(|s| s.ident.to_string()).collect::<Vec<_>>().join("::")
        }
        other => other.to_token_stream().to_string().replace(' ', ""),
    }
}

pub(crate) fn is_compound_assign(op: &BinOp) -> bool {
    matches!(
        op,
        BinOp::AddAssign(_)
            | BinOp::SubAssign(_)
            | BinOp::MulAssign(_)
            | BinOp::DivAssign(_)
            | BinOp::RemAssign(_)
            | BinOp::BitXorAssign(_)
            | BinOp::BitAndAssign(_)
            | BinOp::BitOrAssign(_)
            | BinOp::ShlAssign(_)
            | BinOp::ShrAssign(_)
    )
}

fn is_comparison(op: &BinOp) -> bool {
    matches!(op, BinOp::Eq(_) | BinOp::Ne(_) | BinOp::Lt(_) | BinOp::Le(_) | BinOp::Gt(_) | BinOp::Ge(_))
}

/// SCREAMING_CASE (a single capital too: `static mut X`): a static or a
/// const by Rust's naming convention (`non_upper_case_globals`). Consts, const
/// generics and capitalised unit variants that match only cost a read of a
/// constant, which never races.
fn is_static_path(p: &syn::ExprPath) -> bool {
    if p.qself.is_some() {
        return false;
    }
    let Some(last) = p.path.segments.last() else { return false };
    if !last.arguments.is_none() {
        return false;
    }
    let s = last.ident.to_string();
    s.chars().any(|c| c.is_ascii_uppercase())
        && s.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// Which kind of checked place `e` is, if any.
pub(crate) fn classify(e: &Expr) -> Option<Kind> {
    let mut cur = e;
    let mut projected = false;
    loop {
        match cur {
            Expr::Paren(p) => cur = &p.expr,
            Expr::Group(g) => cur = &g.expr,
            Expr::Field(f) => {
                projected = true;
                cur = &f.base;
            }
            Expr::Index(i) => return classify_index_base(&i.expr),
            Expr::Unary(u) if matches!(u.op, UnOp::Deref(_)) => return Some(Kind::Memory),
            Expr::Path(p) if is_static_path(p) => return Some(Kind::Static),
            Expr::Path(_) if projected => return Some(Kind::Memory),
            _ => return None,
        }
    }
}

/// Indexing is a checked place whatever its base, but a static base keeps its
/// static treatment (a const array is not addressable with `&raw`).
fn classify_index_base(base: &Expr) -> Option<Kind> {
    match classify(base) {
        Some(Kind::Static) => Some(Kind::Static),
        _ => Some(Kind::Memory),
    }
}

/// Method names whose receivers `__rt::Recv` checks when the receiver is
/// one of std's collections or an `Option` (`__rt::RECEIVER_METHODS`, which
/// a test keeps equal to this list).
pub const RECEIVER_METHODS: &[&str] = &[
    "push", "pop", "insert", "remove", "swap_remove", "clear", "truncate", "resize", "resize_with", "reserve",
    "reserve_exact", "shrink_to_fit", "shrink_to", "append", "extend", "extend_from_slice", "extend_from_within",
    "drain", "retain", "retain_mut", "dedup", "dedup_by", "dedup_by_key", "split_off", "set_len", "splice", "len",
    "is_empty", "capacity", "as_slice", "as_ptr", "get", "first", "last", "iter", "contains", "to_vec",
    "starts_with", "ends_with", "binary_search", "get_mut", "iter_mut", "first_mut", "last_mut", "as_mut_ptr",
    "as_mut_slice", "split_at_mut", "chunks_mut", "windows", "chunks", "split_first", "split_last", "clone", "sort",
    "sort_unstable", "sort_by", "sort_by_key", "sort_unstable_by", "sort_unstable_by_key", "sort_by_cached_key",
    "fill", "fill_with", "copy_from_slice", "clone_from_slice", "reverse", "rotate_left", "rotate_right",
    "push_str", "insert_str", "as_str", "as_bytes", "chars", "bytes", "char_indices", "find", "lines", "trim",
    "push_back", "push_front", "pop_back", "pop_front", "make_contiguous", "swap_remove_back", "swap_remove_front",
    "front", "back", "as_slices", "front_mut", "back_mut", "range", "range_mut", "remove_entry", "entry",
    "get_key_value", "contains_key", "keys", "values", "values_mut", "take", "replace", "pop_first", "pop_last",
    "first_entry", "last_entry", "first_key_value", "last_key_value", "peek", "peek_mut", "get_or_insert",
    "get_or_insert_with", "take_if",
];

/// `e` without parentheses and invisible groups around it.
pub(crate) fn strip_parens(mut e: &Expr) -> &Expr {
    loop {
        match e {
            Expr::Paren(p) => e = &p.expr,
            Expr::Group(g) => e = &g.expr,
            _ => return e,
        }
    }
}

/// A receiver without parentheses and without a shared borrow around it:
/// `(&(*p)).len()` (as the `dangerous_implicit_autorefs` lint asks) calls
/// `len` on the place `*p`.
fn shared_borrowed(e: &Expr) -> &Expr {
    match strip_parens(e) {
        Expr::Reference(r) if r.mutability.is_none() => strip_parens(&r.expr),
        e => e,
    }
}

/// [`shared_borrowed`], mutably.
fn shared_borrowed_mut(e: &mut Expr) -> &mut Expr {
    let e = strip_parens_mut(e);
    if matches!(e, Expr::Reference(r) if r.mutability.is_none()) {
        let Expr::Reference(r) = e else { unreachable!() };
        return strip_parens_mut(&mut r.expr);
    }
    e
}

/// [`strip_parens`], mutably.
fn strip_parens_mut(e: &mut Expr) -> &mut Expr {
    match e {
        Expr::Paren(p) => strip_parens_mut(&mut p.expr),
        Expr::Group(g) => strip_parens_mut(&mut g.expr),
        e => e,
    }
}

/// `&mut P` (in parentheses or not) with `P` a checked place through
/// memory: a borrow that asserts exclusive access to `P`.
fn mut_borrow_of_place(e: &mut Expr) -> Option<&mut syn::ExprReference> {
    let mut e = e;
    loop {
        match e {
            Expr::Paren(p) => e = &mut p.expr,
            Expr::Group(g) => e = &mut g.expr,
            Expr::Reference(r) if r.mutability.is_some() && classify(&r.expr) == Some(Kind::Memory) => return Some(r),
            _ => return None,
        }
    }
}

/// The impure root of a place: `R` in `R.f`, `(*R).f`, `R[i]` (pure
/// indexes only), where `R` is not itself a place (a call, a block, a
/// macro…) and has side effects or is not free to evaluate twice. `None`
/// for places rooted at a path (pure, or handled by [`hoist`]) and for
/// anything that is not a projection.
fn impure_root(e: &Expr) -> Option<&Expr> {
    fn base(b: &Expr) -> Option<&Expr> {
        match b {
            Expr::Path(_) | Expr::Lit(_) => None,
            Expr::Paren(_) | Expr::Group(_) | Expr::Field(_) | Expr::Index(_) | Expr::Reference(_) => projection(b),
            Expr::Unary(u) if matches!(u.op, UnOp::Deref(_)) => projection(b),
            _ => Some(b),
        }
    }
    fn projection(e: &Expr) -> Option<&Expr> {
        match e {
            Expr::Paren(p) => projection(&p.expr),
            Expr::Group(g) => projection(&g.expr),
            // `(&mut *p.ptr())[..]`: indexing a borrow (as `dangerous_implicit_autorefs` asks).
            Expr::Reference(r) => base(&r.expr),
            Expr::Field(f) => base(&f.base),
            Expr::Index(i) if is_pure(&i.index) => base(&i.expr),
            Expr::Unary(u) if matches!(u.op, UnOp::Deref(_)) => base(&u.expr),
            _ => None,
        }
    }
    // A borrow itself is not a place.
    match strip_parens(e) {
        Expr::Reference(_) => None,
        e => projection(e),
    }
}

/// `place` (accepted by [`impure_root`]) with its root replaced by `root`.
fn with_root(place: &Expr, root: &Expr) -> Expr {
    fn base(b: &Expr, root: &Expr) -> Expr {
        match b {
            Expr::Paren(_) | Expr::Group(_) | Expr::Field(_) | Expr::Index(_) | Expr::Reference(_) => with_root(b, root),
            Expr::Unary(u) if matches!(u.op, UnOp::Deref(_)) => with_root(b, root),
            _ => root.clone(),
        }
    }
    match place {
        Expr::Paren(p) => {
            let inner = with_root(&p.expr, root);
            parse_quote!((#inner))
        }
        Expr::Group(g) => {
            let inner = with_root(&g.expr, root);
            parse_quote!((#inner))
        }
        Expr::Field(f) => {
            let (b, member) = (base(&f.base, root), &f.member);
            parse_quote!(#b.#member)
        }
        Expr::Index(i) => {
            let (b, index) = (base(&i.expr, root), &i.index);
            parse_quote!(#b[#index])
        }
        Expr::Unary(u) => {
            let b = base(&u.expr, root);
            parse_quote!(*#b)
        }
        Expr::Reference(r) => {
            let (b, m) = (base(&r.expr, root), &r.mutability);
            parse_quote!(&#m #b)
        }
        _ => root.clone(),
    }
}

/// An impure place split into values computed once (bound to `names`, in
/// evaluation order) and an equivalent pure place over those names.
struct Hoisted {
    values: Vec<Expr>,
    names: Vec<syn::Ident>,
    place: Expr,
}

/// Split `place` so that the pointer operand of each `*` and each index that
/// has side effects (or moves, like `p.ptr()` on a non-Copy `p`) is
/// evaluated once, up front. `None` if the place is not rooted in a deref or
/// a path (a field of a call's result).
fn hoist(place: &Expr) -> Option<Hoisted> {
    fn go(e: &Expr, h: &mut Hoisted) -> Option<Expr> {
        let bind = |h: &mut Hoisted, v: &Expr| {
            let name = quote::format_ident!("__racecheck_h{}", h.names.len());
            h.values.push(v.clone());
            h.names.push(name.clone());
            name
        };
        Some(match e {
            Expr::Paren(p) => {
                let inner = go(&p.expr, h)?;
                parse_quote!((#inner))
            }
            Expr::Group(g) => go(&g.expr, h)?,
            Expr::Field(f) => {
                let base = go(&f.base, h)?;
                let member = &f.member;
                parse_quote!(#base.#member)
            }
            Expr::Index(i) => {
                let base = go(&i.expr, h)?;
                if is_pure(&i.index) {
                    let index = &i.index;
                    parse_quote!(#base[#index])
                } else {
                    let name = bind(h, &i.index);
                    parse_quote!(#base[#name])
                }
            }
            Expr::Unary(u) if matches!(u.op, UnOp::Deref(_)) => {
                if is_pure(&u.expr) {
                    e.clone()
                } else {
                    let name = bind(h, &u.expr);
                    parse_quote!(*#name)
                }
            }
            Expr::Path(_) => e.clone(),
            _ => return None,
        })
    }
    let mut h = Hoisted { values: vec![], names: vec![], place: parse_quote!(_) };
    h.place = go(place, &mut h)?;
    Some(h)
}

/// A method receiver that may be evaluated twice: pure places and pointer
/// arithmetic on them (`p.add(i)`, `cell.get()`, `buf.as_mut_ptr()`).
fn is_pure_receiver(e: &Expr) -> bool {
    match e {
        Expr::MethodCall(m) => {
            const PURE: &[&str] = &[
                "add", "sub", "offset", "wrapping_add", "wrapping_sub", "wrapping_offset", "byte_add",
                "byte_sub", "byte_offset", "cast", "cast_mut", "cast_const", "as_ptr", "as_mut_ptr", "get",
            ];
            PURE.contains(&m.method.to_string().as_str())
                && is_pure_receiver(&m.receiver)
                && m.args.iter().all(is_pure)
        }
        Expr::Paren(p) => is_pure_receiver(&p.expr),
        Expr::Group(g) => is_pure_receiver(&g.expr),
        Expr::Reference(r) => is_pure_receiver(&r.expr),
        // Places reached through pure pointer arithmetic
        // (`(*self.data.get()).as_mut_ptr()`, a method chain).
        Expr::Unary(u) if matches!(u.op, UnOp::Deref(_)) => is_pure_receiver(&u.expr),
        Expr::Field(f) => is_pure_receiver(&f.base),
        Expr::Index(i) => is_pure_receiver(&i.expr) && is_pure(&i.index),
        _ => is_pure(e),
    }
}

/// Free of side effects, so evaluating it twice is harmless: paths,
/// literals, fields, derefs, and indexing by those.
fn is_pure(e: &Expr) -> bool {
    match e {
        Expr::Path(_) | Expr::Lit(_) => true,
        Expr::Paren(p) => is_pure(&p.expr),
        Expr::Group(g) => is_pure(&g.expr),
        Expr::Field(f) => is_pure(&f.base),
        Expr::Index(i) => is_pure(&i.expr) && is_pure(&i.index),
        Expr::Unary(u) if matches!(u.op, UnOp::Deref(_)) => is_pure(&u.expr),
        // Borrowing a pure place again (`(&mut *p)[..]`) is harmless.
        Expr::Reference(r) => is_pure(&r.expr),
        // `a..b`, `..`: building a range again is harmless.
        Expr::Range(r) => r.start.as_deref().is_none_or(is_pure) && r.end.as_deref().is_none_or(is_pure),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(instrument: bool) -> Config {
        Config { instrument, file: Some("/src/lib.rs".into()) }
    }

    fn pretty(ts: TokenStream) -> String {
        let file: syn::File = syn::parse2(ts).expect("expansion parses as a file");
        prettyplease::unparse(&file)
    }

    #[test]
    fn identity_without_instrumentation() {
        let item: TokenStream = "fn f(p: *mut u32) { unsafe { *p += 1; } }".parse().unwrap();
        let out = expand(TokenStream::new(), item.clone(), &cfg(false));
        assert_eq!(out.to_string(), item.to_string());
    }

    #[test]
    fn items_it_cannot_check_say_what_to_do_instead() {
        for instrument in [false, true] {
            let out = expand(TokenStream::new(), "const fn c() -> u32 { 1 }".parse().unwrap(), &cfg(instrument)).to_string();
            assert!(out.contains("compile_error") && out.contains("cannot check a `const fn`"), "{out}");
            assert!(out.contains("const fn c"), "the item is kept: {out}");
            let out = expand(TokenStream::new(), "mod ring;".parse().unwrap(), &cfg(instrument)).to_string();
            assert!(out.contains("cannot see into a module in another file"), "{out}");
            assert!(out.contains("inline `mod ring { … }`"), "{out}");
        }
    }

    #[test]
    fn bad_arguments_and_items_are_errors_with_the_item_kept() {
        let item: TokenStream = "fn f() {}".parse().unwrap();
        let out = expand("bogus".parse().unwrap(), item.clone(), &cfg(true)).to_string();
        assert!(out.contains("compile_error"), "{out}");
        assert!(out.contains("fn f"), "{out}");
        let out = expand("skip, skip".parse().unwrap(), item, &cfg(true)).to_string();
        assert!(out.contains("duplicate `skip` argument"), "{out}");
        let out = expand(TokenStream::new(), "struct S;".parse().unwrap(), &cfg(false)).to_string();
        assert!(out.contains("applies to a fn"), "{out}");
    }

    #[test]
    fn rewrites_reads_writes_and_compound_assignment() {
        let item: TokenStream = r#"
fn f(p: *mut u32, s: &S) {
    unsafe {
        let v = *p;
        sync(); // else the write's check would cover the read
        *p = v + 1;
        (*p) += 2;
        COUNTER = COUNTER + s.n;
        X = 1;
        let w = *p.add(1);
        if s.n == 3 {}
    }
}"#
        .parse()
        .unwrap();
        let out = pretty(expand(TokenStream::new(), item, &cfg(true)));
        let expect = [
            "let __racecheck_frame = racecheck::__rt::enter",
            "racecheck::__rt::read(&raw const *p,",
            "racecheck::__rt::write_place(&raw mut *p,",
            "racecheck::__rt::update_place(&raw mut (*p),",
            "if false { #[allow(static_mut_refs)] let _ = &*p; }",
            "racecheck::__rt::write_place(&raw mut COUNTER,",
            "racecheck::__rt::write_place(&raw mut X,",
            "if false { #[allow(static_mut_refs)] let _ = &COUNTER; }",
            "racecheck::__rt::read_val(&COUNTER,",
            "racecheck::__rt::read(&raw const s.n,",
            "(match (p.add(1),) { (__racecheck_h0,) => {",
            "racecheck::__rt::read(&raw const *__racecheck_h0,",
            "racecheck::__rt::read_place(&raw const s.n,",
            "line: 4u32",
            "col: 17u32",
        ];
        let squeezed: String = out.chars().filter(|c| !c.is_whitespace()).collect();
        for e in expect {
            let e: String = e.chars().filter(|c| !c.is_whitespace()).collect();
            assert!(squeezed.contains(&e), "missing `{e}` in\n{out}");
        }
    }

    #[test]
    fn closures_get_frames_and_skip_is_respected() {
        let item: TokenStream = r#"
mod m {
    fn outer() { let c = || unsafe { X = 1 }; c(); }
    #[race_check(skip)]
    fn skipped(p: *mut u8) { unsafe { *p = 0 } }
    impl T { fn m(&self) -> u8 { self.a } }
    impl Drop for T { fn drop(&mut self) { self.a = 0; } }
    const fn c() -> usize { N + 1 }
}"#
        .parse()
        .unwrap();
        let out = pretty(expand(TokenStream::new(), item, &cfg(true)));
        assert!(out.contains(r#""outer::{{closure}}""#), "{out}");
        assert!(out.contains(r#""T::m""#), "{out}");
        assert!(out.contains(r#"concat!("<", module_path!(), "::", "T as Drop>::drop")"#), "{out}");
        let skipped = out.split("fn skipped").nth(1).unwrap().split("impl T").next().unwrap();
        assert!(!skipped.contains("racecheck::__rt"), "{skipped}");
        let c = out.split("const fn c").nth(1).unwrap();
        assert!(!c.contains("racecheck::__rt"), "{c}");
    }
}

/// Expansion snapshots: each `tests/expand/NAME.rs` (one item) expanded
/// instrumented must equal `tests/expand/NAME.expanded.rs`, pretty-printed.
/// `RACECHECK_BLESS=1` rewrites the snapshots; review their diff.
#[cfg(test)]
mod snapshots {
    use super::*;

    #[test]
    fn expansions_match_their_snapshots() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/expand");
        let bless = std::env::var_os("RACECHECK_BLESS").is_some();
        let mut inputs: Vec<_> = std::fs::read_dir(&dir)
            .expect("tests/expand exists")
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "rs") && !p.to_string_lossy().ends_with(".expanded.rs"))
            .collect();
        inputs.sort();
        assert!(inputs.len() >= 4, "snapshot inputs missing in {}", dir.display());
        let config = Config { instrument: true, file: Some("/src/lib.rs".into()) };
        let mut stale = vec![];
        for input in inputs {
            let text = std::fs::read_to_string(&input).unwrap();
            let file: syn::File = syn::parse_str(&text).unwrap_or_else(|e| panic!("{}: {e}", input.display()));
            let mut out = String::new();
            for item in file.items {
                let expanded = expand(TokenStream::new(), item.to_token_stream(), &config);
                let parsed: syn::File = syn::parse2(expanded).expect("expansion parses");
                out.push_str(&prettyplease::unparse(&parsed));
            }
            let snapshot = input.with_extension("expanded.rs");
            if bless {
                std::fs::write(&snapshot, &out).unwrap();
            } else if std::fs::read_to_string(&snapshot).ok().as_deref() != Some(out.as_str()) {
                stale.push(format!("{}:\n{out}", snapshot.display()));
            }
        }
        assert!(stale.is_empty(), "expansions differ from their snapshots (RACECHECK_BLESS=1 to rewrite):\n{}", stale.join("\n"));
    }
}

/// The expansion on real code: every fn, impl, trait and inline mod of the
/// crates in the local cargo registry (this workspace's dependencies, so
/// always present after a build). The macro must never panic, and its
/// output must parse again as the same kind of item. (Whether the output
/// compiles is checked by the instrumented builds of testdata/ and the UI
/// tests.)
#[cfg(test)]
mod corpus {
    use super::*;
    use std::path::{Path, PathBuf};

    fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                rust_files(&p, out);
            } else if p.extension().is_some_and(|e| e == "rs") {
                out.push(p);
            }
        }
    }

    fn collect(all: &[Item], out: &mut Vec<Item>) {
        for it in all {
            match it {
                // A `const fn` on its own is refused (with a message).
                Item::Fn(f) if f.sig.constness.is_some() => {}
                Item::Fn(_) | Item::Impl(_) | Item::Trait(_) => out.push(it.clone()),
                Item::Mod(m) => {
                    if let Some((_, inner)) = &m.content {
                        out.push(it.clone());
                        collect(inner, out);
                    }
                }
                _ => {}
            }
        }
    }

    #[test]
    fn never_panics_and_always_parses_on_real_code() {
        let home = std::env::var_os("CARGO_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
            .expect("a cargo home");
        let mut files = vec![];
        for index in std::fs::read_dir(home.join("registry/src")).into_iter().flatten().flatten() {
            rust_files(&index.path(), &mut files);
        }
        let config = Config { instrument: true, file: Some("/corpus.rs".into()) };
        let (mut checked, mut parsed_files) = (0usize, 0usize);
        for path in files.iter().take(800) {
            let Ok(text) = std::fs::read_to_string(path) else { continue };
            let Ok(file) = syn::parse_file(&text) else { continue };
            parsed_files += 1;
            let mut found = vec![];
            collect(&file.items, &mut found);
            for item in found {
                let tokens = item.to_token_stream();
                let out = std::panic::catch_unwind(|| expand(TokenStream::new(), tokens.clone(), &config).to_string());
                let out = out.unwrap_or_else(|_| panic!("expansion panicked on an item of {}", path.display()));
                let reparsed: syn::Result<Item> = syn::parse_str(&out);
                if let Err(e) = reparsed {
                    panic!("expansion of an item of {} does not parse: {e}\ninput: {tokens}\noutput: {out}", path.display());
                }
                checked += 1;
            }
        }
        assert!(parsed_files > 100 && checked > 1000, "too small a corpus: {parsed_files} files, {checked} items");
        eprintln!("expanded {checked} items from {parsed_files} files");
    }
}
