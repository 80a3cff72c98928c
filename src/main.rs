use std::process::ExitCode;

fn main() -> ExitCode {
    stance::cli::main()
}
