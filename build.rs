//! Build script: hashes the model embedded in the binary once, at build
//! time, so that `stance` need not hash 1.8 MB at every start.

use std::path::Path;

fn main() {
    println!("cargo:rerun-if-changed=models/stance.json");
    let manifest_dir =
        std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let model = std::fs::read(Path::new(&manifest_dir).join("models/stance.json"))
        .expect("models/stance.json is readable");
    let hash = blake3::hash(&model).to_hex();
    let out_dir = std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR");
    let code = format!(
        "/// The first 16 hex digits of the BLAKE3 hash of [`EMBEDDED_MODEL`],\n\
         /// as [`short_hash`] gives them, computed at build time.\n\
         pub const EMBEDDED_MODEL_HASH: &str = \"{}\";\n",
        &hash[..16]
    );
    std::fs::write(Path::new(&out_dir).join("embedded_model_hash.rs"), code)
        .expect("OUT_DIR is writable");
}
