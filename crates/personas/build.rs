//! Embeds the top-level `personas/*.toml` files into the binary.

fn main() -> Result<(), council_embed::EmbedError> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../personas");
    council_embed::embed_dir(&dir, "toml", "builtin.rs")
}
