//! Behaviour tests of `#[race_check]` against a recording hook.
//!
//! Runs every access form of `forms::access` alone, with racecheck's
//! `__record` feature logging each hook call, and asserts the exact event
//! sequence: frames entered and left, and each access's kind, address (as
//! an offset into a named object), size and site (`line:column` in
//! forms/src/lib.rs). Each form's result is printed on stdout.
//!
//! `record instrumented`: built with the expansion on (as the CLI builds);
//! every form must give exactly its expected events.
//! `record plain`: an ordinary build; the attribute is the identity, so no
//! form may give any event. The integration test runs both and compares
//! their stdout: instrumentation never changes what the code computes.
//!
//! `semantics.rs` holds code whose meaning the expansion must keep (drop
//! order, `?`, labelled breaks, patterns, `#[track_caller]`…); what each
//! case observes is printed too, so the comparison covers it.
//!
//! Under the racecheck CLI itself (`racecheck test --workspace` on
//! testdata/) there is no recording hook, and the program is empty.
//!
//! `RECORD_PRINT=1` prints the events seen, for writing new expectations
//! (review them line by line against the source before pasting).
#[cfg(racecheck)]
fn main() {}

#[cfg(not(racecheck))]
mod behaviour;
#[cfg(not(racecheck))]
mod semantics;

#[cfg(not(racecheck))]
fn main() {
    behaviour::main()
}
