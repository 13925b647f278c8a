//! The forms, their expected events, and the checker.
use forms::access::*;
use forms::*;
use racecheck::__rt::record::{recording, Event};
use std::cell::{Cell, UnsafeCell};
use std::fmt::Debug;
use std::mem::MaybeUninit;

/// A named object whose addresses events are shown relative to.
struct Region {
    name: &'static str,
    start: usize,
    len: usize,
}

fn region<T: ?Sized>(name: &'static str, r: *const T) -> Region {
    // SAFETY: only used for the size of a live object the caller points at.
    let len = unsafe { std::mem::size_of_val(&*r) };
    Region { name, start: r as *const u8 as usize, len }
}

struct Checker {
    instrumented: bool,
    print: bool,
    failures: Vec<String>,
    /// An address on this thread's stack, to recognise accesses to locals.
    stack_mark: usize,
}

impl Checker {
    fn show(&self, e: &Event, regions: &[Region]) -> String {
        match *e {
            Event::Enter(name) => format!("enter {name}"),
            Event::Exit => "exit".into(),
            Event::Access { addr, size, write, site } => {
                let place = regions
                    .iter()
                    .find(|r| addr >= r.start && addr < r.start + r.len.max(1))
                    .map(|r| format!("{}+{}", r.name, addr - r.start))
                    .unwrap_or_else(|| {
                        if addr.abs_diff(self.stack_mark) < 1 << 20 {
                            "stack".into()
                        } else {
                            format!("{addr:#x}")
                        }
                    });
                let file = site.file.rsplit('/').next().unwrap_or(site.file);
                format!("{} {place} {size} {file}:{}:{}", if write { "W" } else { "R" }, site.line, site.col)
            }
        }
    }

    fn check<R: Debug>(&mut self, name: &str, regions: &[Region], expect: &[&str], f: impl FnOnce() -> R) {
        let (value, events) = recording(f);
        println!("{name} = {value:?}");
        let seen: Vec<String> = events.iter().map(|e| self.show(e, regions)).collect();
        if self.print {
            eprintln!("    check!({name}, [{}]);", seen.iter().map(|s| format!("{s:?}")).collect::<Vec<_>>().join(", "));
        }
        let want: Vec<String> = if self.instrumented { expect.iter().map(|s| s.to_string()).collect() } else { vec![] };
        if seen != want {
            self.failures.push(format!("{name}:\n  expected {want:#?}\n  seen     {seen:#?}"));
        }
    }
}

pub fn main() {
    let instrumented = match std::env::args().nth(1).as_deref() {
        Some("instrumented") => true,
        Some("plain") => false,
        _ => {
            eprintln!("usage: record instrumented|plain");
            std::process::exit(2);
        }
    };
    let mark = 0u8;
    let mut c = Checker {
        instrumented,
        print: std::env::var_os("RECORD_PRINT").is_some(),
        failures: vec![],
        stack_mark: &mark as *const u8 as usize,
    };
    run_all(&mut c);
    for line in crate::semantics::run() {
        println!("{line}");
    }
    if !c.failures.is_empty() {
        eprintln!("{} form(s) gave other events than expected:\n{}", c.failures.len(), c.failures.join("\n"));
        std::process::exit(1);
    }
    eprintln!("all forms gave their expected events ({})", if instrumented { "instrumented" } else { "plain" });
}

macro_rules! check {
    ($c:expr, $name:literal, [$($r:expr),*], [$($e:literal),* $(,)?], $f:expr) => {
        $c.check($name, &[$($r),*], &[$($e),*], $f)
    };
}

fn run_all(c: &mut Checker) {
    let p = P::new(7u64);
    let r = || region("p", p.ptr());
    check!(c, "deref_write", [r()], ["enter forms::access::deref_write", "W p+0 8 lib.rs:96:18", "exit"], || deref_write(p));
    check!(c, "deref_read", [r()], ["enter forms::access::deref_read", "R p+0 8 lib.rs:99:18", "exit"], || deref_read(p));
    check!(c, "reference_write", [r()], ["enter forms::access::reference_write", "W p+0 8 lib.rs:103:9", "exit"], || reference_write(p));
    check!(c, "compound", [r()], ["enter forms::access::compound", "W p+0 8 lib.rs:136:18", "exit"], || compound(p));
    check!(c, "ptr_write", [r()], ["enter forms::access::ptr_write", "W p+0 8 lib.rs:146:18", "exit"], || ptr_write(p));
    check!(c, "ptr_read", [r()], ["enter forms::access::ptr_read", "R p+0 8 lib.rs:149:18", "exit"], || ptr_read(p));
    check!(c, "volatile_write", [r()], ["enter forms::access::volatile_write", "W p+0 8 lib.rs:161:20", "exit"], || volatile_write(p));
    check!(c, "volatile_read", [r()], ["enter forms::access::volatile_read", "R p+0 8 lib.rs:164:18", "exit"], || volatile_read(p));
    check!(c, "swap_with", [r()], ["enter forms::access::swap_with", "W p+0 8 lib.rs:185:18", "W stack 8 lib.rs:185:18", "exit"], || swap_with(p));
    check!(c, "replace_in", [r()], ["enter forms::access::replace_in", "W p+0 8 lib.rs:188:18", "exit"], || replace_in(p));
    check!(c, "in_macro", [r()], ["enter forms::access::in_macro", "R p+0 8 lib.rs:220:32", "exit"], || in_macro(p));
    check!(c, "in_assert", [r()], ["enter forms::access::in_assert", "R p+0 8 lib.rs:223:29", "R p+0 8 lib.rs:223:39", "exit"], || in_assert(p));
    check!(c, "in_match", [r()], ["enter forms::access::in_match", "R p+0 8 lib.rs:226:24", "exit"], || in_match(p));
    check!(c, "in_closure", [r()], ["enter forms::access::in_closure", "enter forms::access::in_closure::{{closure}}", "enter forms::access::in_closure::{{closure}}::{{closure}}", "W p+0 8 lib.rs:243:42", "exit", "exit", "exit"], || in_closure(p));
    check!(c, "generic_write", [r()], ["enter forms::access::generic_write", "W p+0 8 lib.rs:249:18", "exit"], || generic_write(p, 5u64));
    check!(c, "nested::write", [r()], ["enter forms::access::nested::write", "W p+0 8 lib.rs:255:22", "exit"], || nested::write(p));
    check!(c, "Counter::bump", [r()], ["enter forms::access::Counter::bump", "W p+0 8 lib.rs:262:22", "exit"], || Counter(p).bump());
    check!(c, "<Counter as Bump>::bump", [r()], ["enter <forms::access::Counter as Bump>::bump", "enter <forms::access::Counter as Bump>::slot", "exit", "W p+0 8 lib.rs:270:22", "exit"], || Bump::bump(&Counter(p)));
    check!(c, "BumpTwice::bump_twice (default method)", [r()], ["enter forms::BumpTwice::bump_twice", "W p+0 8 lib.rs:68:18", "exit"], || Slot(p).bump_twice());
    check!(c, "stack_write", [r()], ["enter forms::access::stack_write", "W p+0 8 lib.rs:294:18", "exit"], || stack_write(p, 3));
    check!(c, "async_write", [r()], ["W p+0 8 lib.rs:306:18"], || block_on(async_write(p)));

    let b = P::new(Box::new(1u64));
    check!(c, "boxed_write", [region("b", b.ptr()), region("*b", unsafe { &**b.ptr() })], ["enter forms::access::boxed_write", "W *b+0 8 lib.rs:107:9", "exit"], || boxed_write(b));
    check!(c, "boxed_read", [region("b", b.ptr()), region("*b", unsafe { &**b.ptr() })], ["enter forms::access::boxed_read", "R *b+0 8 lib.rs:111:9", "exit"], || boxed_read(b));

    let o = P::new(Outer::default());
    let ro = || region("o", o.ptr());
    check!(c, "field_write", [ro()], ["enter forms::access::field_write", "W o+0 8 lib.rs:114:18", "exit"], || field_write(o));
    check!(c, "field_read", [ro()], ["enter forms::access::field_read", "R o+0 8 lib.rs:117:18", "exit"], || field_read(o));
    check!(c, "nested_write", [ro()], ["enter forms::access::nested_write", "W o+32 4 lib.rs:130:18", "exit"], || nested_write(o, 2));
    check!(c, "nested_read", [ro()], ["enter forms::access::nested_read", "R o+32 4 lib.rs:133:18", "exit"], || nested_read(o, 2));
    check!(c, "scrutinee", [ro()], ["enter forms::access::scrutinee", "R o+8 8 lib.rs:233:15", "exit"], || scrutinee(o));
    check!(c, "field_b_write", [ro()], ["enter forms::access::field_b_write", "W o+8 8 lib.rs:239:18", "exit"], || field_b_write(o));
    check!(c, "own_field_a", [ro()], ["enter forms::access::own_field_a", "W o+16 4 lib.rs:319:18", "exit"], || own_field_a(o));
    check!(c, "own_field_b", [ro()], ["enter forms::access::own_field_b", "W o+20 4 lib.rs:322:18", "exit"], || own_field_b(o));

    let t = P::new((0u8, 0u64));
    check!(c, "tuple_write", [region("t", t.ptr())], ["enter forms::access::tuple_write", "W t+8 8 lib.rs:120:18", "exit"], || tuple_write(t));

    let a = P::new([1u64, 2, 3, 4]);
    let ra = || region("a", a.ptr());
    check!(c, "index_write", [ra()], ["enter forms::access::index_write", "W a+16 8 lib.rs:123:18", "exit"], || index_write(a));
    check!(c, "slice_read", [ra()], ["enter forms::access::slice_read", "R a+16 8 lib.rs:127:9", "exit"], || slice_read(a));
    check!(c, "slice_write", [ra()], ["enter forms::access::slice_write", "W a+24 8 lib.rs:303:9", "exit"], || slice_write(a, 3));
    check!(c, "method_write", [ra()], ["enter forms::access::method_write", "W a+8 8 lib.rs:153:30", "exit"], || method_write(a, 1));
    check!(c, "method_read", [ra()], ["enter forms::access::method_read", "R a+8 8 lib.rs:157:30", "exit"], || method_read(a, 1));
    check!(c, "copy_into", [ra()], ["enter forms::access::copy_into", "R stack 32 lib.rs:176:18", "W a+0 32 lib.rs:176:18", "exit"], || copy_into(a));
    check!(c, "copy_out", [ra()], ["enter forms::access::copy_out", "R a+0 32 lib.rs:180:18", "W stack 32 lib.rs:180:18", "R stack 8 lib.rs:181:9", "exit"], || copy_out(a));
    check!(c, "zero", [ra()], ["enter forms::access::zero", "W a+0 32 lib.rs:191:18", "exit"], || zero(a));

    let u = P::new([0u8; 16]);
    check!(c, "unaligned_write", [region("u", u.ptr())], ["enter forms::access::unaligned_write", "W u+3 4 lib.rs:168:20", "exit"], || unaligned_write(u));
    check!(c, "unaligned_read", [region("u", u.ptr())], ["enter forms::access::unaligned_read", "R u+5 4 lib.rs:172:18", "exit"], || unaligned_read(u));

    let g = || region("GLOBAL", &raw const GLOBAL);
    check!(c, "static_write", [g()], ["enter forms::access::static_write", "W GLOBAL+0 8 lib.rs:139:18", "exit"], static_write);
    check!(c, "static_read_via_raw", [g()], ["enter forms::access::static_read_via_raw", "R GLOBAL+0 8 lib.rs:143:18", "exit"], static_read_via_raw);
    check!(c, "static_write_via_addr_of", [g()], ["enter forms::access::static_write_via_addr_of", "W GLOBAL+0 8 lib.rs:299:18", "exit"], static_write_via_addr_of);

    let cell = Shared(Cell::new(1u64));
    let rc = || region("cell", &cell);
    check!(c, "cell_set", [rc()], ["enter forms::access::cell_set", "W cell+0 8 lib.rs:194:13", "exit"], || cell_set(&cell));
    check!(c, "cell_get", [rc()], ["enter forms::access::cell_get", "R cell+0 8 lib.rs:197:13", "exit"], || cell_get(&cell));
    check!(c, "cell_replace", [rc()], ["enter forms::access::cell_replace", "W cell+0 8 lib.rs:200:13", "exit"], || cell_replace(&cell));
    check!(c, "cell_take", [rc()], ["enter forms::access::cell_take", "W cell+0 8 lib.rs:203:13", "exit"], || cell_take(&cell));

    let uc = Shared(UnsafeCell::new(2u64));
    check!(c, "unsafe_cell_write", [region("uc", &uc)], ["enter forms::access::unsafe_cell_write", "W uc+0 8 lib.rs:206:18", "exit"], || unsafe_cell_write(&uc));
    check!(c, "unsafe_cell_read", [region("uc", &uc)], ["enter forms::access::unsafe_cell_read", "R uc+0 8 lib.rs:209:18", "exit"], || unsafe_cell_read(&uc));

    let mu = P::new(MaybeUninit::<u64>::uninit());
    check!(c, "uninit_write", [region("mu", mu.ptr())], ["enter forms::access::uninit_write", "W mu+0 8 lib.rs:213:11", "exit"], || uninit_write(mu));
    check!(c, "uninit_read", [region("mu", mu.ptr())], ["enter forms::access::uninit_read", "R mu+0 8 lib.rs:217:20", "exit"], || uninit_read(mu));

    let opt = P::new(Some(4u64));
    check!(c, "while_let_read", [region("opt", opt.ptr())], ["enter forms::access::while_let_read", "R opt+0 16 lib.rs:277:36", "exit"], || while_let_read(opt));
    check!(c, "option_write", [region("opt", opt.ptr())], ["enter forms::access::option_write", "W opt+0 16 lib.rs:286:18", "exit"], || option_write(opt));

    let tl = PER_THREAD.with(|c| P(c.as_ptr()));
    check!(c, "thread_local_write", [region("tl", tl.ptr())], ["enter forms::access::thread_local_write", "W tl+0 8 lib.rs:290:18", "exit"], || thread_local_write(tl));

    // Method receivers, `&mut` borrows and fields of calls' results.
    let ot = P::new(Some(Box::new(5u64)));
    check!(c, "option_take", [region("ot", ot.ptr())], ["enter forms::access::option_take", "W ot+0 8 lib.rs:328:29", "exit"], || option_take(ot));
    let v = P::new(vec![3u64, 1, 2]);
    let rv = || region("v", v.ptr());
    let rve = || region("v[..]", unsafe { (*v.ptr()).as_ptr() });
    check!(c, "vec_sort", [rv(), rve()], ["enter forms::access::vec_sort", "R v+0 8 lib.rs:352:29", "W v[..]+0 24 lib.rs:352:29", "exit"], || vec_sort(v));
    check!(c, "vec_elem_read", [rv(), rve()], ["enter forms::access::vec_elem_read", "R v[..]+0 8 lib.rs:355:18", "exit"], || vec_elem_read(v));
    check!(c, "vec_push", [rv()], ["enter forms::access::vec_push", "W v+0 8 lib.rs:331:29", "exit"], || vec_push(v));
    check!(c, "mem_take", [rv()], ["enter forms::access::mem_take", "W v+0 24 lib.rs:358:18", "exit"], || mem_take(v));
    let hm = P::new(std::collections::HashMap::<u64, u64>::new());
    check!(c, "map_insert", [region("m", hm.ptr())], ["enter forms::access::map_insert", "W m+0 8 lib.rs:334:29", "exit"], || map_insert(hm));
    check!(c, "map_get", [region("m", hm.ptr())], ["enter forms::access::map_get", "R m+0 8 lib.rs:337:29", "exit"], || map_get(hm));
    let st = P::new(String::new());
    check!(c, "string_push", [region("s", st.ptr())], ["enter forms::access::string_push", "W s+0 8 lib.rs:340:29", "exit"], || string_push(st));
    check!(c, "string_len", [region("s", st.ptr())], ["enter forms::access::string_len", "R s+0 8 lib.rs:343:32", "exit"], || string_len(st));
    let a4 = P::new([1u64, 2, 3, 4]);
    check!(c, "slice_copy", [region("a", a4.ptr())], ["enter forms::access::slice_copy", "W a+0 32 lib.rs:346:24", "exit"], || slice_copy(a4));
    check!(c, "slice_fill", [region("a", a4.ptr())], ["enter forms::access::slice_fill", "W a+0 32 lib.rs:349:38", "exit"], || slice_fill(a4));
    check!(c, "mut_arg", [region("a", a4.ptr())], ["enter forms::access::mut_arg", "W a+8 24 lib.rs:361:32", "exit"], || mut_arg(a4));
    let stats = Stats::default();
    let rs = || region("stats", &stats);
    check!(c, "accessor_write", [rs()], ["enter forms::access::accessor_write", "W stats+24 8 lib.rs:364:9", "exit"], || accessor_write(&stats));
    check!(c, "accessor_read", [rs()], ["enter forms::access::accessor_read", "R stats+24 8 lib.rs:367:9", "exit"], || accessor_read(&stats));
    check!(c, "accessor_push", [rs()], ["enter forms::access::accessor_push", "W stats+0 8 lib.rs:370:23", "exit"], || accessor_push(&stats));
    check!(c, "accessor_len", [rs()], ["enter forms::access::accessor_len", "R stats+0 8 lib.rs:373:23", "exit"], || accessor_len(&stats));
    let arc = SyncArc(std::sync::Arc::new(Cell::new(1)));
    let ra = || region("arc", &*arc.0);
    check!(c, "arc_cell_set", [ra()], ["enter forms::access::arc_cell_set", "W arc+0 8 lib.rs:377:11", "exit"], || arc_cell_set(&arc));
    check!(c, "arc_cell_get", [ra()], ["enter forms::access::arc_cell_get", "R arc+0 8 lib.rs:380:13", "exit"], || arc_cell_get(&arc));
    let cell2 = Shared(Cell::new(1u64));
    check!(c, "cell_update", [region("cell", &cell2)], ["enter forms::access::cell_update", "W cell+0 8 lib.rs:383:13", "enter forms::access::cell_update::{{closure}}", "exit", "exit"], || cell_update(&cell2));
    let mu2 = Shared(UnsafeCell::new(MaybeUninit::new(0u64)));
    check!(c, "chain_write", [region("mu", &mu2)], ["enter forms::access::chain_write", "W mu+0 8 lib.rs:386:44", "exit"], || chain_write(&mu2));
    check!(c, "chain_read", [region("mu", &mu2)], ["enter forms::access::chain_read", "R mu+0 8 lib.rs:389:40", "exit"], || chain_read(&mu2));
    let q = P::new(CountingQueue::default());
    check!(c, "user_push", [region("q", q.ptr())], ["enter forms::access::user_push", "exit"], || user_push(q));

    // Checks another check covers: one event where the code has two.
    check!(c, "rmw_covered", [r()], ["enter forms::access::rmw_covered", "W p+0 8 lib.rs:404:13", "exit"], || rmw_covered(p, 1));
    check!(c, "rmw_with_call", [r()], ["enter forms::access::rmw_with_call", "R p+0 8 lib.rs:411:21", "W p+0 8 lib.rs:413:13", "exit"], || rmw_with_call(p, 1));
    check!(c, "read_after_write", [r()], ["enter forms::access::read_after_write", "W p+0 8 lib.rs:429:13", "exit"], || read_after_write(p));
    check!(c, "read_twice", [ro()], ["enter forms::access::read_twice", "R o+0 8 lib.rs:420:21", "exit"], || read_twice(o));

    let lock = std::sync::RwLock::new(1u64);
    let mut out = Vec::new();
    let s = [1u64, 2, 3];
    check!(c, "not_pointers", [region("lock", &lock), region("s", &s)], ["enter forms::access::not_pointers", "W lock+16 8 lib.rs:312:9", "exit"], || not_pointers(&lock, &mut out, &s));
}
