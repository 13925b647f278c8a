//! Every access form `#[race_check]` checks, each raced by two threads.
//!
//! The last pair races on a local of main's stack (`Location is stack of`).
//!
//! `forms racy`: for each form, thread A accesses, then thread B accesses
//! the same bytes with nothing ordering them (a Relaxed flag only decides who
//! goes first, and A stays alive until B is done, so the report is the same
//! every run): one report per form.
//! `forms ordered`: the same accesses with A joined before B starts: silent.
use forms::*;
use std::cell::{Cell, UnsafeCell};
use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::thread;

/// Discard a value on purpose.
fn ignore<T>(_: T) {}

fn pair(ordered: bool, a: impl FnOnce() + Send + 'static, b: impl FnOnce() + Send + 'static) {
    if ordered {
        thread::spawn(a).join().unwrap();
        thread::spawn(b).join().unwrap();
        return;
    }
    let (done, release) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicBool::new(false)));
    let (flag, hold) = (Arc::clone(&done), Arc::clone(&release));
    let ta = thread::spawn(move || {
        a();
        flag.store(true, Relaxed);
        // Still running when B's report is printed, in every run (whether A
        // had exited yet was a matter of timing).
        while !hold.load(Relaxed) {
            thread::yield_now();
        }
    });
    while !done.load(Relaxed) {
        std::hint::spin_loop();
    }
    let tb = thread::spawn(b);
    tb.join().unwrap();
    release.store(true, Relaxed);
    ta.join().unwrap();
}

fn main() {
    use access::*;
    let ordered = match std::env::args().nth(1).as_deref() {
        Some("racy") => false,
        Some("ordered") => true,
        _ => {
            eprintln!("usage: forms racy|ordered");
            std::process::exit(2);
        }
    };
    let o = |a: Box<dyn FnOnce() + Send>, b: Box<dyn FnOnce() + Send>| pair(ordered, a, b);

    let p = P::new(0u64);
    o(Box::new(move || deref_write(p)), Box::new(move || ignore(deref_read(p))));
    let p = P::new(0u64);
    o(Box::new(move || reference_write(p)), Box::new(move || reference_write(p)));
    let p = P::new(Box::new(0u64));
    o(Box::new(move || boxed_write(p)), Box::new(move || ignore(boxed_read(p))));
    let p = P::new(Outer::default());
    o(Box::new(move || field_write(p)), Box::new(move || ignore(field_read(p))));
    let p = P::new((0u8, 0u64));
    o(Box::new(move || tuple_write(p)), Box::new(move || tuple_write(p)));
    let p = P::new([0u64; 4]);
    o(Box::new(move || index_write(p)), Box::new(move || ignore(slice_read(p))));
    let p = P::new(Outer::default());
    o(Box::new(move || nested_write(p, 1)), Box::new(move || ignore(nested_read(p, 1))));
    let p = P::new(0u64);
    o(Box::new(move || compound(p)), Box::new(move || compound(p)));
    o(Box::new(static_write), Box::new(|| ignore(static_read_via_raw())));
    let p = P::new(0u64);
    o(Box::new(move || ptr_write(p)), Box::new(move || ignore(ptr_read(p))));
    let p = P::new([0u64; 4]);
    o(Box::new(move || method_write(p, 3)), Box::new(move || ignore(method_read(p, 3))));
    let p = P::new(0u64);
    o(Box::new(move || volatile_write(p)), Box::new(move || ignore(volatile_read(p))));
    let p = P::new([0u8; 16]);
    o(Box::new(move || unaligned_write(p)), Box::new(move || ignore(unaligned_read(p))));
    let p = P::new([0u64; 4]);
    o(Box::new(move || copy_into(p)), Box::new(move || ignore(copy_out(p))));
    let p = P::new(0u64);
    o(Box::new(move || swap_with(p)), Box::new(move || ignore(replace_in(p))));
    let p = P::new([0u64; 4]);
    o(Box::new(move || zero(p)), Box::new(move || ignore(slice_read(p))));
    let c: &'static Shared<Cell<u64>> = Box::leak(Box::new(Shared(Cell::new(0))));
    o(Box::new(move || cell_set(c)), Box::new(move || ignore(cell_get(c))));
    let c: &'static Shared<Cell<u64>> = Box::leak(Box::new(Shared(Cell::new(0))));
    o(Box::new(move || ignore(cell_replace(c))), Box::new(move || ignore(cell_take(c))));
    let c: &'static Shared<UnsafeCell<u64>> = Box::leak(Box::new(Shared(UnsafeCell::new(0))));
    o(Box::new(move || unsafe_cell_write(c)), Box::new(move || ignore(unsafe_cell_read(c))));
    let p = P::new(MaybeUninit::<u64>::uninit());
    o(Box::new(move || uninit_write(p)), Box::new(move || ignore(uninit_read(p))));
    let p = P::new(0u64);
    o(Box::new(move || deref_write(p)), Box::new(move || ignore(in_macro(p))));
    let p = P::new(0u64);
    o(Box::new(move || nested::write(p)), Box::new(move || in_assert(p)));
    let p = P::new(0u64);
    o(Box::new(move || in_closure(p)), Box::new(move || ignore(in_match(p))));
    let p = P::new(Outer::default());
    o(Box::new(move || field_b_write(p)), Box::new(move || ignore(scrutinee(p))));
    let p = P::new(0u64);
    o(Box::new(move || generic_write(p, 23u64)), Box::new(move || Counter(p).bump()));
    let p = P::new(0u64);
    o(Box::new(move || Bump::bump(&Counter(p))), Box::new(move || Slot(p).bump_twice()));
    // Precision: neighbouring fields written by both threads, never a race.
    let p = P::new(Outer::default());
    o(Box::new(move || own_field_a(p)), Box::new(move || own_field_b(p)));
    let p = P::new(None::<u64>);
    o(Box::new(move || option_write(p)), Box::new(move || ignore(while_let_read(p))));
    o(Box::new(static_write_via_addr_of), Box::new(static_write));
    let p = P::new([0u64; 4]);
    o(Box::new(move || slice_write(p, 1)), Box::new(move || ignore(method_read(p, 1))));
    let p = P::new(0u64);
    o(Box::new(move || block_on(async_write(p))), Box::new(move || ignore(deref_read(p))));
    // Method receivers, `&mut` borrows and fields of calls' results.
    let p = P::new(Some(Box::new(1u64)));
    o(Box::new(move || ignore(option_take(p))), Box::new(move || ignore(option_take(p))));
    let p = P::new(Vec::<u64>::with_capacity(8));
    o(Box::new(move || vec_push(p)), Box::new(move || vec_push(p)));
    let p = P::new(std::collections::HashMap::<u64, u64>::with_capacity(8));
    o(Box::new(move || map_insert(p)), Box::new(move || ignore(map_get(p))));
    let p = P::new(String::with_capacity(8));
    o(Box::new(move || string_push(p)), Box::new(move || ignore(string_len(p))));
    let p = P::new([0u64; 4]);
    o(Box::new(move || slice_copy(p)), Box::new(move || ignore(slice_read(p))));
    let p = P::new([0u64; 4]);
    o(Box::new(move || slice_fill(p)), Box::new(move || ignore(slice_read(p))));
    let p = P::new(vec![3u64, 1, 2]);
    o(Box::new(move || vec_sort(p)), Box::new(move || ignore(vec_elem_read(p))));
    let p = P::new(Vec::<u64>::with_capacity(8));
    o(Box::new(move || ignore(mem_take(p))), Box::new(move || vec_push(p)));
    let p = P::new([0u64; 4]);
    o(Box::new(move || mut_arg(p)), Box::new(move || ignore(slice_read(p))));
    let s: &'static Stats = Box::leak(Box::default());
    o(Box::new(move || accessor_write(s)), Box::new(move || ignore(accessor_read(s))));
    let s: &'static Stats = Box::leak(Box::default());
    s.inner().log.reserve(8);
    o(Box::new(move || accessor_push(s)), Box::new(move || ignore(accessor_len(s))));
    let c: &'static SyncArc = Box::leak(Box::new(SyncArc(Arc::new(Cell::new(0)))));
    o(Box::new(move || arc_cell_set(c)), Box::new(move || ignore(arc_cell_get(c))));
    let c: &'static Shared<Cell<u64>> = Box::leak(Box::new(Shared(Cell::new(0))));
    o(Box::new(move || cell_update(c)), Box::new(move || ignore(cell_get(c))));
    let c: &'static Shared<UnsafeCell<MaybeUninit<u64>>> = Box::leak(Box::new(Shared(UnsafeCell::new(MaybeUninit::new(0)))));
    o(Box::new(move || chain_write(c)), Box::new(move || ignore(chain_read(c))));
    // Precision: a user's `push(&self)` on a lock-free type, never a race.
    let q = P::new(CountingQueue::default());
    o(Box::new(move || user_push(q)), Box::new(move || user_push(q)));
    // Reads another check covers: the race is still reported, at the write
    // (read then write of one place), or at the first read.
    let p = P::new(0u64);
    o(Box::new(move || rmw_covered(p, 1)), Box::new(move || rmw_covered(p, 2)));
    let p = P::new(0u64);
    o(Box::new(move || ignore(deref_read(p))), Box::new(move || rmw_covered(p, 3)));
    let p = P::new(Outer::default());
    o(Box::new(move || field_write(p)), Box::new(move || ignore(read_twice(p))));
    let p = P::new(0u64);
    o(Box::new(move || ignore(deref_read(p))), Box::new(move || ignore(read_after_write(p))));
    // Main's copy of a thread-local, written by two other threads.
    let p = PER_THREAD.with(|c| P(c.as_ptr()));
    o(Box::new(move || thread_local_write(p)), Box::new(move || thread_local_write(p)));
    // A local on main's stack, written by a scoped thread and by main.
    let mut local = 0u64;
    let lp = P(&raw mut local);
    let done = AtomicBool::new(false);
    thread::scope(|sc| {
        let done = &done;
        let h = sc.spawn(move || {
            stack_write(lp, 1);
            done.store(true, Relaxed);
        });
        if ordered {
            h.join().unwrap();
        }
        while !done.load(Relaxed) {
            std::hint::spin_loop();
        }
        stack_write(lp, 2);
    });
    println!("forms done ({})", if ordered { "ordered" } else { "racy" });
}
