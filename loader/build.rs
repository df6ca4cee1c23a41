// `sqlx::migrate!` embeds ../migrations when the crate compiles; without this, adding a
// migration file alone would not rebuild the crate, and MIGRATOR would lack it.
fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}
