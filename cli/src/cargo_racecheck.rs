//! `cargo racecheck …`: cargo runs `cargo-racecheck racecheck …`.
fn main() {
    let mut args: Vec<_> = std::env::args_os().collect();
    if args.get(1).is_some_and(|a| a == "racecheck") {
        args.remove(1);
    }
    // Usage lines then read `cargo racecheck …`, as the user typed it.
    if let Some(first) = args.first_mut() {
        *first = "cargo racecheck".into();
    }
    racecheck_cli::main_impl(args)
}
