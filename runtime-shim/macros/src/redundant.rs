//! Checks that another check in the same straight-line code already covers,
//! found before a block is rewritten (issue 21; ThreadSanitizer's pass does
//! the same on LLVM IR).
//!
//! Within one block's statements (and `unsafe { … }` statements inside it,
//! which run in line), with nothing in between that could synchronise:
//!
//! * a read of a place followed by a write of the same place: the write's
//!   check covers the read (a race on the read is reported at the write,
//!   where the thread's access to that place is then recorded as a write);
//! * a read of a place after a read or a write of the same place: the
//!   earlier check covers it (same bytes, same epoch).
//!
//! "The same place" is the same tokens, built only from locals, literals,
//! fields, indexing, derefs, casts, arithmetic and the methods of integer
//! and pointer arithmetic (`p.add(i)`, `x.wrapping_add(1)`), with no
//! assignment to, and no new binding of, any name in it in between.
//! "Nothing in between" means no other call, macro, closure, `await`,
//! borrow, loop, branch or block: anything that is not such arithmetic ends
//! the stretch (conservatively: a call may lock or unlock). A compound
//! assignment is already one write check.

use std::collections::HashSet;

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::spanned::Spanned;
use syn::{BinOp, Expr, Pat, Stmt, UnOp};

use crate::expand::{classify, is_compound_assign, strip_parens, Kind};

/// Methods taken to be integer or pointer arithmetic: no side effects, no
/// synchronisation (by name: a user's own `add` that locks would be taken
/// for arithmetic too).
const ARITHMETIC: &[&str] = &[
    "add", "sub", "offset", "byte_add", "byte_sub", "byte_offset", "wrapping_add", "wrapping_sub",
    "wrapping_mul", "wrapping_neg", "wrapping_offset", "wrapping_byte_add", "wrapping_byte_sub", "wrapping_shl",
    "wrapping_shr", "saturating_add", "saturating_sub", "saturating_mul", "cast", "cast_mut", "cast_const",
    "min", "max", "abs", "pow", "rotate_left", "rotate_right", "count_ones", "leading_zeros", "trailing_zeros",
    "swap_bytes", "to_le", "to_be", "from_le", "from_be",
];

/// A read site to leave unchecked: the address of its expression node in
/// the item being rewritten, and where it starts (both must match, so an
/// address reused by a new node never matches).
pub type Site = (usize, (usize, usize));

pub fn site_of(e: &Expr) -> Site {
    let start = e.span().start();
    (e as *const Expr as usize, (start.line, start.column))
}

#[derive(Default)]
struct Stretch {
    /// Places accessed since the stretch began, each with the reads of it
    /// that no check covers yet.
    open: Vec<(Key, Vec<Site>)>,
}

impl Stretch {
    fn end(&mut self) {
        self.open.clear();
    }

    /// A name was assigned or bound anew: places that mention it change.
    fn forget_name(&mut self, name: &str) {
        self.open.retain(|(key, _)| !key.names.iter().any(|n| n == name));
    }

    fn read(&mut self, key: Key, site: Site, skip: &mut HashSet<Site>) {
        if self.open.iter().any(|(k, _)| *k == key) {
            skip.insert(site);
        } else {
            self.open.push((key, vec![site]));
        }
    }

    fn write(&mut self, key: Key, skip: &mut HashSet<Site>) {
        match self.open.iter_mut().find(|(k, _)| *k == key) {
            Some((_, reads)) => skip.extend(reads.drain(..)),
            None => self.open.push((key, vec![])),
        }
    }

    /// `e` is evaluated: its reads join the stretch, or, if it is not made
    /// only of stable places and arithmetic, the stretch ends (false).
    fn evaluate(&mut self, e: &Expr, skip: &mut HashSet<Site>) -> bool {
        let mut reads = vec![];
        if !value(e, &mut reads) {
            self.end();
            return false;
        }
        for (key, site) in reads {
            self.read(key, site, skip);
        }
        true
    }
}

/// The reads in `stmts` that other checks cover, added to `skip`.
pub fn find(stmts: &[Stmt], skip: &mut HashSet<Site>) {
    let mut s = Stretch::default();
    statements(stmts, &mut s, skip);
}

fn statements(stmts: &[Stmt], s: &mut Stretch, skip: &mut HashSet<Site>) {
    for stmt in stmts {
        match stmt {
            Stmt::Local(l) if l.init.as_ref().is_some_and(|i| i.diverge.is_none()) => {
                if !s.evaluate(&l.init.as_ref().unwrap().expr, skip) {
                    continue;
                }
                let mut names = vec![];
                if !bound_names(&l.pat, &mut names) {
                    s.end();
                    continue;
                }
                for n in names {
                    s.forget_name(&n);
                }
            }
            Stmt::Expr(e, _) => expression_statement(e, s, skip),
            Stmt::Item(_) => {}
            _ => s.end(),
        }
    }
}

fn expression_statement(e: &Expr, s: &mut Stretch, skip: &mut HashSet<Site>) {
    match e {
        // Runs in line with the statements around it.
        Expr::Unsafe(u) => statements(&u.block.stmts, s, skip),
        Expr::Paren(p) => expression_statement(&p.expr, s, skip),
        Expr::Assign(a) => assignment(&a.left, &a.right, s, skip),
        Expr::Binary(b) if is_compound_assign(&b.op) => assignment(&b.left, &b.right, s, skip),
        e => {
            s.evaluate(e, skip);
        }
    }
}

/// `left = right` (or `left op= right`, already one write check): `right`
/// is evaluated first.
fn assignment(left: &Expr, right: &Expr, s: &mut Stretch, skip: &mut HashSet<Site>) {
    if !s.evaluate(right, skip) {
        return;
    }
    let left = strip_parens(left);
    if let Expr::Path(p) = left {
        // A local assigned: places that mention it are other places now.
        match p.path.get_ident() {
            Some(name) if classify(left).is_none() => s.forget_name(&name.to_string()),
            _ => s.end(),
        }
        return;
    }
    if classify(left) != Some(Kind::Memory) || !stable(left) {
        s.end();
        return;
    }
    s.write(key_of(left), skip);
}

/// Collect the checked reads of `e`, a value expression, if it is made
/// only of stable places and arithmetic; false if it contains anything
/// else (which ends the stretch).
fn value(e: &Expr, reads: &mut Vec<(Key, Site)>) -> bool {
    match e {
        Expr::Lit(_) => true,
        Expr::Paren(p) => value(&p.expr, reads),
        Expr::Group(g) => value(&g.expr, reads),
        Expr::Cast(c) => value(&c.expr, reads),
        Expr::Unary(u) if !matches!(u.op, UnOp::Deref(_)) => value(&u.expr, reads),
        Expr::Binary(b) if !is_compound_assign(&b.op) && !matches!(b.op, BinOp::And(_) | BinOp::Or(_)) => {
            value(&b.left, reads) && value(&b.right, reads)
        }
        // The receiver is not a checked read (the macro checks receivers by
        // type, not as reads): a place there ends the stretch.
        Expr::MethodCall(m) if is_arithmetic(m) && classify(&m.receiver).is_none() => {
            value(&m.receiver, reads) && m.args.iter().all(|a| value(a, reads))
        }
        // A `{ expr }` or `unsafe { expr }` with no statements.
        Expr::Unsafe(u) if u.block.stmts.len() == 1 => match &u.block.stmts[0] {
            Stmt::Expr(inner, None) => value(inner, reads),
            _ => false,
        },
        Expr::Path(p) if classify(e).is_none() => p.path.get_ident().is_some() || p.qself.is_none(),
        _ if classify(e) == Some(Kind::Memory) && stable(e) => {
            // The place's own operands (indexes, pointers) are read first.
            if !operands(e, reads) {
                return false;
            }
            reads.push((key_of(e), site_of(e)));
            true
        }
        _ => false,
    }
}

/// The checked reads a stable place's evaluation makes first: its index
/// expressions (the macro checks those as reads; the pointer operand of a
/// `*` it does not).
fn operands(e: &Expr, reads: &mut Vec<(Key, Site)>) -> bool {
    match e {
        Expr::Paren(p) => operands(&p.expr, reads),
        Expr::Group(g) => operands(&g.expr, reads),
        Expr::Field(f) => operands(&f.base, reads),
        Expr::Index(i) => operands(&i.expr, reads) && value(&i.index, reads),
        _ => true,
    }
}

fn is_arithmetic(m: &syn::ExprMethodCall) -> bool {
    let name = m.method.to_string();
    ARITHMETIC.contains(&name.as_str()) && (m.turbofish.is_none() || name == "cast")
}

/// A place that denotes the same memory each time it is evaluated while no
/// name in it changes: locals, fields, indexes, derefs and arithmetic.
fn stable(e: &Expr) -> bool {
    match e {
        Expr::Path(p) => p.qself.is_none(),
        Expr::Lit(_) => true,
        Expr::Paren(p) => stable(&p.expr),
        Expr::Group(g) => stable(&g.expr),
        Expr::Field(f) => stable(&f.base),
        Expr::Index(i) => stable(&i.expr) && stable(&i.index),
        Expr::Unary(u) => stable(&u.expr),
        Expr::Cast(c) => stable(&c.expr),
        Expr::Binary(b) if !is_compound_assign(&b.op) => stable(&b.left) && stable(&b.right),
        Expr::MethodCall(m) => is_arithmetic(m) && stable(&m.receiver) && m.args.iter().all(stable),
        _ => false,
    }
}

/// What two accesses to one place share: the place's tokens, and the
/// names of the locals it reads (not its fields or methods).
#[derive(PartialEq)]
struct Key {
    tokens: String,
    names: Vec<String>,
}

fn key_of(e: &Expr) -> Key {
    fn names(e: &Expr, out: &mut Vec<String>) {
        match e {
            Expr::Path(p) => out.extend(p.path.segments.first().map(|s| s.ident.to_string())),
            Expr::Paren(p) => names(&p.expr, out),
            Expr::Group(g) => names(&g.expr, out),
            Expr::Field(f) => names(&f.base, out),
            Expr::Index(i) => {
                names(&i.expr, out);
                names(&i.index, out);
            }
            Expr::Unary(u) => names(&u.expr, out),
            Expr::Cast(c) => names(&c.expr, out),
            Expr::Binary(b) => {
                names(&b.left, out);
                names(&b.right, out);
            }
            Expr::MethodCall(m) => {
                names(&m.receiver, out);
                m.args.iter().for_each(|a| names(a, out));
            }
            _ => {}
        }
    }
    let tokens: TokenStream = strip_parens(e).to_token_stream();
    let mut n = vec![];
    names(e, &mut n);
    Key { tokens: tokens.to_string(), names: n }
}

/// The names a `let` pattern binds; false for patterns this does not follow.
fn bound_names(p: &Pat, out: &mut Vec<String>) -> bool {
    match p {
        Pat::Ident(i) => {
            out.push(i.ident.to_string());
            i.subpat.as_ref().is_none_or(|(_, sub)| bound_names(sub, out))
        }
        Pat::Type(t) => bound_names(&t.pat, out),
        Pat::Tuple(t) => t.elems.iter().all(|e| bound_names(e, out)),
        Pat::Wild(_) => true,
        _ => false,
    }
}
