//! The pure engine behind racecheck: vector clocks, shadow cells, sync
//! objects, per-thread history and race reports.
//!
//! No I/O, globals, environment or clocks of the wall: events go in with
//! explicit thread slots, verdicts and report values come out. The live
//! runtime (crate `racecheck`, module `__rt`) applies these same rules to real
//! memory; [`engine::Engine`] applies them to scripted events for tests.
//!
//! Layers, lowest first: [`clock`] → [`shadow`] → [`sync`] → [`history`] →
//! [`engine`]; [`report`] and [`options`] stand apart.
//!
//! What it cannot see is decided elsewhere (what gets instrumented); what it
//! knowingly misses is written in each module: evicted shadow cells and lost
//! concurrent cell updates can hide a race, never invent one.
#![forbid(unsafe_code)]

pub mod clock;
pub mod engine;
pub mod history;
pub mod options;
pub mod report;
pub mod shadow;
pub mod sync;

pub use clock::{Epoch, Slot, VClock};
pub use shadow::AccessKind;
