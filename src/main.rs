//! The `oparl` binary: parse the command line and hand over to `cli`.

fn main() -> std::process::ExitCode {
    oparl::db::tune_sqlite();
    oparl::cli::main()
}
