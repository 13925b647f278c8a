//! A program with its own `#[global_allocator]` (counting allocations with
//! an atomic, so it is instrumented too). `own-allocator racy` races on a
//! heap buffer; `own-allocator fixed` joins first. racecheck must describe
//! the heap block and never recurse through the allocator.
use racecheck::race_check;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::thread;

struct Counting;
static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

struct SendPtr(*mut u32);
unsafe impl Send for SendPtr {}
impl SendPtr {
    fn get(&self) -> *mut u32 {
        self.0
    }
}

#[race_check]
fn main() {
    let racy = std::env::args().nth(1).as_deref() == Some("racy");
    let buf = Box::into_raw(vec![0u32; 32].into_boxed_slice()) as *mut u32;
    let p = SendPtr(buf);
    let t = thread::spawn(move || unsafe { *p.get().add(5) = 1 });
    if !racy {
        t.join().unwrap();
        unsafe { *buf.add(5) = 2 };
    } else {
        thread::sleep(std::time::Duration::from_millis(50));
        unsafe { *buf.add(5) = 2 };
        t.join().unwrap();
    }
    let n = ALLOCATIONS.load(Relaxed);
    println!("{n} allocations");
}
