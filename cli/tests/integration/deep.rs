//! Deep mode (`--deep`): the compiler instruments every load and store of
//! the workspace's crates; no dependency on racecheck and no `#[race_check]`.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{assert_snapshot, cli, normalise, racecheck, run, stderr, testdata};

const RACES_FOUND: i32 = 66;

/// The executable `racecheck run --deep -p krate` built.
fn deep_built(krate: &str) -> PathBuf {
    testdata().join("target/racecheck/deep-workspace/x86_64-unknown-linux-gnu/debug").join(krate)
}

/// The report blocks of `text` whose first stack (the current access)
/// holds `needle`.
fn reports_with<'a>(text: &'a str, needle: &str) -> Vec<&'a str> {
    text.split("==================").filter(|r| r.contains("WARNING: DATA RACE") && r.contains(needle)).collect()
}

/// Every scenario of `deep-races racy`, as (scenario, a library frame its
/// report must show).
const SCENARIOS: &[(&str, &str)] = &[
    ("vec_push", "<alloc::vec::Vec<u64>>::push()"),
    ("hashmap_insert_get", "<hashbrown::map::HashMap<u64, u64, std::hash::random::RandomState>>::get::<u64>()"),
    ("string_push_len", "<alloc::string::String>::len()"),
    ("slice_copy_sum", "<[u8]>::copy_from_slice()"),
    ("slice_fill_read", "<[u64]>::fill()"),
    ("sort_read", "core::slice::sort::unstable::sort::<u32"),
    ("option_take", "<core::option::Option<alloc::boxed::Box<u64>>>::take()"),
    ("rc_clone", "<alloc::rc::Rc<u64> as core::clone::Clone>::clone()"),
    ("free_after_read", "deep_races::free_after_read::{closure#1}()"),
    ("vec_growth", "deep_races::vec_growth::{closure#1}()"),
    ("tls_destructor", "<deep_races::WritesOnExit as core::ops::drop::Drop>::drop()"),
    ("sweep_fresh", "deep_races::sweep_fresh::{closure#1}()"),
    ("sweep_taken_over", "deep_races::sweep_taken_over::{closure#1}()"),
    ("sweep_two_runs", "deep_races::sweep_two_runs::{closure#1}()"),
];

/// Races inside library code the program calls (`Vec::push`, `HashMap`,
/// slice methods, `Option::take`, `Rc::clone`), in frees, reallocation and
/// a thread-local's destructor: each reported with both stacks, the library
/// frame above the user's call, on every run.
#[test]
fn library_races_are_reported_with_both_full_stacks() {
    let (code, _, err) = cli(&["run", "--deep", "-p", "deep-races", "--", "racy"]);
    assert_eq!(code, Some(RACES_FOUND), "{err}");
    assert!(err.contains("racecheck: deep mode:"), "deep mode says what it turns on: {err}");
    assert!(!err.contains("failed to restore the stack"), "{err}");
    for (scenario, library_frame) in SCENARIOS {
        let current = format!("deep_races::{scenario}::{{closure#1}}()");
        let previous = format!("deep_races::{scenario}::{{closure#0}}()");
        let reports = reports_with(&err, &current);
        let reports = if reports.is_empty() && *scenario == "tls_destructor" {
            reports_with(&err, "deep_races::tls_destructor::{closure#0}::{closure#1}()")
        } else {
            reports
        };
        assert!(!reports.is_empty(), "{scenario}: no report\n{err}");
        assert!(reports.iter().any(|r| r.contains(library_frame)), "{scenario}: no frame {library_frame}\n{err}");
        if *scenario != "tls_destructor" {
            assert!(reports.iter().all(|r| r.contains(&previous)), "{scenario}: earlier stack\n{err}");
        }
    }
    let report = normalise(&err);
    assert!(!report.contains("racecheck::") && !report.contains("runtime-shim/"), "{report}");
    assert_snapshot("deep-races", &report);
    for i in 0..5 {
        let o = Command::new(deep_built("deep-races")).arg("racy").output().unwrap();
        assert_eq!(o.status.code(), Some(RACES_FOUND), "run {i}: {}", stderr(&o));
        assert_eq!(normalise(&stderr(&o)), report, "run {i}");
    }
}

/// The same library calls, correctly ordered (joins, a `Mutex`): silent,
/// 20 runs of 20.
#[test]
fn library_calls_correctly_ordered_are_silent() {
    let (code, _, err) = cli(&["run", "--deep", "-p", "deep-races", "--", "fixed"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(!err.contains("DATA RACE"), "{err}");
    for i in 0..20 {
        let o = Command::new(deep_built("deep-races")).arg("fixed").output().unwrap();
        let err = stderr(&o);
        assert!(o.status.success() && !err.contains("DATA RACE"), "run {i}: {err}");
    }
}

/// Every annotated demo gives the same verdict in deep mode, where
/// `#[race_check]` adds nothing: racy programs report, fixed twins and
/// correct uses of std's and other crates' synchronisation stay silent.
#[test]
fn annotated_demos_keep_their_verdicts_in_deep_mode() {
    let cases: &[(&str, &[&str], bool)] = &[
        ("counter", &[], true),
        ("counter-fixed", &[], false),
        ("heap-ptr", &[], true),
        ("heap-ptr-fixed", &[], false),
        ("flag-relaxed", &[], true),
        ("flag-release", &[], false),
        ("std-sync", &["racy"], true),
        ("std-sync", &["correct"], false),
        ("ext-sync", &["racy"], true),
        ("ext-sync", &["correct"], false),
        ("forms", &["racy"], true),
        ("forms", &["ordered"], false),
        ("seqcst", &["racy"], true),
        ("seqcst", &["fixed"], false),
        ("use-after-free", &["racy"], true),
        ("use-after-free", &["fixed"], false),
        ("ffi-sync", &["racy"], true),
        ("ffi-sync", &["fixed"], false),
        ("heap-blocks", &["far", "racy"], true),
        ("heap-blocks", &["far", "fixed"], false),
        ("own-allocator", &["racy"], true),
        ("own-allocator", &["fixed"], false),
        ("fd-sync", &["racy"], true),
        ("fd-sync", &["fixed"], false),
        ("stale-sync", &["racy"], true),
        ("stale-sync", &["fixed"], false),
        ("late-reader", &["racy"], true),
        ("late-reader", &["fixed"], false),
    ];
    for (krate, args, racy) in cases {
        let mut all = vec!["run", "--deep", "-p", krate, "--"];
        all.extend_from_slice(args);
        let (code, _, err) = cli(&all);
        if *racy {
            assert_eq!(code, Some(RACES_FOUND), "{krate} {args:?}\n{err}");
            assert!(err.contains("WARNING: DATA RACE") && !err.contains("no #[race_check] code ran"), "{err}");
        } else {
            assert_eq!(code, Some(0), "{krate} {args:?}\n{err}");
            assert!(!err.contains("DATA RACE"), "{krate} {args:?}\n{err}");
            for i in 0..5 {
                let o = Command::new(deep_built(krate)).args(*args).output().unwrap();
                assert!(o.status.success() && !stderr(&o).contains("DATA RACE"), "{krate} {args:?} run {i}: {}", stderr(&o));
            }
        }
    }
}

/// Test binaries in deep mode: the racy test fails (libtest says FAILED),
/// the others pass, and the run says which test raced.
#[test]
fn racy_tests_fail_in_deep_mode() {
    let (code, out, err) = cli(&["test", "--deep", "-p", "testcrate", "--", "--test-threads=2"]);
    assert_eq!(code, Some(RACES_FOUND), "{out}\n{err}");
    assert!(out.contains("test tests::racy_bumps ... FAILED"), "{out}");
    assert!(out.contains("test tests::joined_bumps ... ok"), "{out}");
    assert!(err.contains("race detected during test testcrate: tests::racy_bumps"), "{err}");
}

/// A crate that never heard of racecheck: `racecheck test --deep` builds
/// it with the runtime and reports its race, and the racy test fails, in
/// edition 2021 and 2015 alike; annotated mode says what it needs instead.
///
/// The first pushing thread runs until the second has pushed. It used to
/// end at once, and about one run in a few hundred on a loaded machine was
/// silent, rightly: when a scoped thread has ended before the scope drops
/// its handle, that drop is the last of the packet's `Arc` and ends with
/// an acquire fence, which orders the whole thread before the second spawn.
#[test]
fn deep_mode_needs_no_dependency() {
    for edition in ["2021", "2015"] {
        let dir = tempfile::tempdir().unwrap();
        write_crate(dir.path(), edition);
        let mut c = racecheck();
        c.current_dir(dir.path()).args(["test", "--deep"]);
        let o = run(c);
        let (out, err) = (String::from_utf8_lossy(&o.stdout), stderr(&o));
        assert_eq!(o.status.code(), Some(RACES_FOUND), "edition {edition}: {out}\n{err}");
        assert!(out.contains("test racy_push ... FAILED") && out.contains("test locked_push ... ok"), "{edition}: {out}");
        assert!(err.contains("<alloc::vec::Vec<u64>>::push()"), "{err}");
        assert!(err.contains("src/lib.rs:20:"), "the user's call site: {err}");
        assert!(err.contains("race detected during test plain: racy_push"), "{err}");
        assert!(!err.contains("no #[race_check] code ran"), "{err}");
        if edition == "2021" {
            let mut c = racecheck();
            c.current_dir(dir.path()).args(["test"]);
            let o = run(c);
            assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
            assert!(stderr(&o).contains("depends on the `racecheck` crate"), "{}", stderr(&o));
        }
    }
}

/// A call that records nothing leaves nothing in the history: a thread
/// makes 200,000 calls after its racy write, each releasing (a fence, which
/// records nothing itself, but after which an entry already recorded could
/// no longer be taken back), and with the smallest history (32K events)
/// the report still restores that write's stack. Its twin, the flag
/// published with Release/Acquire, is silent in 10 runs of 10.
#[test]
fn calls_that_record_nothing_keep_the_history() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("src")).unwrap();
    std::fs::write(
        dir.path().join("Cargo.toml"),
        "[package]\nname = \"calls\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("src/main.rs"),
        r#"use std::sync::atomic::{fence, AtomicBool, Ordering::*};

struct P(*mut u64);
unsafe impl Sync for P {}
static DONE: AtomicBool = AtomicBool::new(false);

#[inline(never)]
fn mix(h: u64) -> u64 {
    h.rotate_left(5) ^ 0x9e37_79b9
}

// Instrumented with an entry and an exit, as it makes calls; it releases
// (the fence) after its entry.
#[inline(never)]
fn step(h: u64) -> u64 {
    fence(Release);
    mix(mix(h))
}

#[inline(never)]
fn put(p: &P, v: u64) {
    unsafe { *p.0 = v }
}

fn main() {
    // `fixed`: the flag publishes the first write (its twin, silent).
    let (store, load) = if std::env::args().nth(1).as_deref() == Some("fixed") { (Release, Acquire) } else { (Relaxed, Relaxed) };
    let p = P(Box::into_raw(Box::new(0u64)));
    std::thread::scope(|s| {
        let p = &p;
        s.spawn(move || {
            put(p, 1);
            let mut h = 0;
            for _ in 0..200_000 {
                h = step(h);
            }
            std::hint::black_box(h);
            DONE.store(true, store);
        });
        s.spawn(move || {
            while !DONE.load(load) {
                std::hint::spin_loop();
            }
            put(p, 2);
        });
    });
}
"#,
    )
    .unwrap();
    let mut c = racecheck();
    c.current_dir(dir.path()).args(["run", "--deep", "--release"]).env("RACECHECK_OPTIONS", "history_size=0");
    let o = run(c);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(RACES_FOUND), "{err}");
    assert!(!err.contains("failed to restore the stack"), "{err}");
    let previous = err.split("Previous write").nth(1).unwrap_or_default();
    assert!(previous.contains("calls::put()") && previous.contains("calls::main::{closure#0}::{closure#0}()"), "{err}");
    let exe = dir.path().join("target/racecheck/deep-workspace/x86_64-unknown-linux-gnu/release/calls");
    for i in 0..10 {
        let o = Command::new(&exe).arg("fixed").env("RACECHECK_OPTIONS", "history_size=0").output().unwrap();
        assert!(o.status.success() && !stderr(&o).contains("DATA RACE"), "fixed run {i}: {}", stderr(&o));
    }
}

fn write_crate(dir: &Path, edition: &str) {
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(
        dir.join("Cargo.toml"),
        format!("[package]\nname = \"plain\"\nversion = \"0.1.0\"\nedition = \"{edition}\"\n\n[workspace]\n"),
    )
    .unwrap();
    std::fs::write(
        dir.join("src/lib.rs"),
        r#"use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

pub struct Shared(pub *mut Vec<u64>);
unsafe impl Sync for Shared {}

pub fn push_twice(v: &mut Vec<u64>) {
    let p = Shared(v);
    let second_done = AtomicBool::new(false);
    std::thread::scope(|s| {
        let (p, done) = (&p, &second_done);
        s.spawn(move || {
            unsafe { (*p.0).push(1) };
            // Still running at the second push (see below).
            while !done.load(Relaxed) {
                std::thread::yield_now();
            }
        });
        std::thread::sleep(std::time::Duration::from_millis(20));
        s.spawn(move || {
            unsafe { (*p.0).push(2) };
            done.store(true, Relaxed);
        });
    });
}

#[test]
fn racy_push() {
    push_twice(&mut Vec::with_capacity(8));
}

#[test]
fn locked_push() {
    let m = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for i in 0..4 {
            let m = &m;
            s.spawn(move || m.lock().unwrap().push(i));
        }
    });
    assert_eq!(m.lock().unwrap().len(), 4);
}
"#,
    )
    .unwrap();
}

/// On a toolchain that refuses the compiler's sanitizer flags, deep mode
/// says so, names the toolchain and what to do, and exits 5 before
/// building anything.
#[test]
fn a_toolchain_without_the_instrumentation_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("rustc");
    std::fs::write(
        &fake,
        "#!/bin/sh\nfor a in \"$@\"; do case \"$a\" in -Zsanitizer=*) \
         echo 'error: the option `Z` is only accepted on the nightly compiler' >&2; exit 1;; esac; done\n\
         exec rustc \"$@\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let mut c = racecheck();
    c.args(["run", "--deep", "-p", "counter"]).env("RUSTC", &fake);
    let o = run(c);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(5), "{err}");
    assert!(err.contains("deep mode needs rustc's ThreadSanitizer instrumentation, which rustc 1."), "{err}");
    assert!(err.contains("only accepted on the nightly compiler") && err.contains("run without --deep"), "{err}");
    assert!(!err.contains("Compiling"), "nothing built: {err}");
}

/// Every function LLVM's ThreadSanitizer pass can call (its `initialize`,
/// LLVM 22) is defined by the runtime: a missing one would fail some
/// program's link, never silently skip its accesses.
#[test]
fn the_runtime_defines_the_whole_instrumentation_abi() {
    use object::{Object, ObjectSymbol};
    // Any run builds the runtime for this toolchain.
    let (code, _, err) = cli(&["run", "-p", "counter-fixed"]);
    assert_eq!(code, Some(0), "{err}");
    let tc = racecheck_cli::cargo::toolchain().unwrap();
    let list = racecheck_cli::runtime::toolchain_dir(&tc).join("runtime-rlibs");
    let mut defined = std::collections::HashSet::new();
    for rlib in std::fs::read_to_string(&list).unwrap().lines() {
        let data = std::fs::read(rlib).unwrap();
        let archive = object::read::archive::ArchiveFile::parse(&*data).unwrap();
        for member in archive.members() {
            let member = member.unwrap();
            // Members sit at unaligned offsets; the ELF parser needs
            // alignment (as in the CLI's `wrapsyms`).
            let bytes = member.data(&*data).unwrap().to_vec();
            let Ok(file) = object::File::parse(&*bytes) else { continue };
            for s in file.symbols().filter(|s| s.is_definition() && s.is_global()) {
                if let Ok(name) = s.name() {
                    defined.insert(name.to_string());
                }
            }
        }
    }
    let mut wanted: Vec<String> = [
        "__tsan_init", "__tsan_func_entry", "__tsan_func_exit", "__tsan_ignore_thread_begin",
        "__tsan_ignore_thread_end", "__tsan_vptr_read", "__tsan_vptr_update", "__tsan_memcpy", "__tsan_memmove",
        "__tsan_memset", "__tsan_atomic_thread_fence", "__tsan_atomic_signal_fence", "__tsan_read_range",
        "__tsan_write_range",
    ]
    .map(String::from)
    .to_vec();
    for size in [1, 2, 4, 8, 16] {
        for kind in [
            "read", "write", "unaligned_read", "unaligned_write", "volatile_read", "volatile_write",
            "unaligned_volatile_read", "unaligned_volatile_write", "read_write", "unaligned_read_write",
        ] {
            wanted.push(format!("__tsan_{kind}{size}"));
        }
    }
    for bits in [8, 16, 32, 64] {
        for op in ["load", "store", "exchange", "fetch_add", "fetch_sub", "fetch_and", "fetch_or", "fetch_xor", "fetch_nand", "compare_exchange_val"] {
            wanted.push(format!("__tsan_atomic{bits}_{op}"));
        }
    }
    let missing: Vec<_> = wanted.iter().filter(|w| !defined.contains(*w)).collect();
    assert!(missing.is_empty(), "not defined by the runtime: {missing:?}");
}

/// `--deep=all`: rayon (join, par_iter, scope, par_sort), crossbeam-epoch's
/// deferred frees, tokio's channels, Mutex, RwLock, Semaphore and Notify,
/// parking_lot, crossbeam-channel, a `LazyLock` raced for by many threads
/// and a `Barrier` reused round after round, all instrumented as fully as
/// the program: silent, 10 runs of 10. A race hidden behind rayon's `join`
/// and one between two tokio workers are reported.
#[test]
fn whole_graph_instrumented_stays_silent_on_correct_synchronisation() {
    let (code, _, err) = cli(&["run", "--deep=all", "-p", "deep-ext", "--", "correct"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("every crate but racecheck's own"), "{err}");
    let exe = testdata().join("target/racecheck/deep-all/x86_64-unknown-linux-gnu/debug/deep-ext");
    for i in 0..10 {
        let o = Command::new(&exe).arg("correct").output().unwrap();
        assert!(o.status.success() && !stderr(&o).contains("DATA RACE"), "run {i}: {}", stderr(&o));
    }
    let (code, _, err) = cli(&["run", "--deep=all", "-p", "deep-ext", "--", "racy"]);
    assert_eq!(code, Some(RACES_FOUND), "{err}");
    assert!(!reports_with(&err, "deep_ext::rayon_racy::{closure#0}()").is_empty(), "{err}");
    let tokio = reports_with(&err, "deep_ext::tokio_racy::{closure#0}::{closure#0}");
    assert!(tokio.iter().any(|r| r.contains("<alloc::vec::Vec<u64>>::push()") && r.contains("'tokio-runtime-worker'")), "{err}");
}
