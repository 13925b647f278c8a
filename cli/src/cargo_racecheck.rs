//! `cargo racecheck …`: cargo runs `cargo-racecheck racecheck …`.
fn main() {
    let mut args: Vec<_> = std::env::args_os().collect();
    if args.get(1).is_some_and(|a| a == "racecheck") {
        args.remove(1);
    }
    racecheck_cli::main_impl(args)
}
