//! Rebuild when a migration changes: they are embedded into the binary
//! (`embed_migrations!` in src/db.rs), and cargo does not see files read by
//! a macro.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
