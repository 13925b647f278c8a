//! racecheck finds data races in Rust programs at run time, on stable Rust.
//!
//! Put [`race_check`] on the functions, impls, traits or inline modules whose
//! memory accesses should be checked, and run your program or tests through
//! the `racecheck` CLI (`racecheck test`, `racecheck run`). Each data race is
//! printed as a Go-style `WARNING: DATA RACE` report with both stacks; the run
//! ends with `Found N data race(s)` and exit status 66.
//!
//! ```
//! use racecheck::race_check;
//!
//! static mut COUNTER: u32 = 0;
//!
//! #[race_check]
//! fn bump() {
//!     unsafe { COUNTER += 1 }
//! }
//! # bump();
//! ```
//!
//! Without the CLI, `#[race_check]` returns its item unchanged and this crate
//! adds nothing to the program. Under the CLI, this crate holds only the
//! hooks the attribute calls and their inline checks; the runtime behind them
//! (crate `racecheck-rt`) is built by the CLI once per toolchain and linked
//! into the program.
//!
//! # Limitations
//!
//! Only accesses written in annotated code are checked (synchronisation is
//! tracked in the whole program); accesses inside macro invocations are not
//! seen; `fetch_min`/`fetch_max` and inline-asm atomics are invisible; C code
//! is not instrumented. See the README for the full list.

pub use racecheck_macros::race_check;

#[doc(hidden)]
pub mod __rt;

mod abi;
