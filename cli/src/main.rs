fn main() {
    racecheck_cli::main_impl(std::env::args_os().collect())
}
