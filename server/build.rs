//! `sqlx::migrate!` embeds the migrations at compile time; cargo does not
//! know that, so without this a new migration file would not rebuild the
//! server.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
