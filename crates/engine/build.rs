//! Embeds the top-level `prompts/*.tera` templates into the binary.

fn main() -> Result<(), council_embed::EmbedError> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../prompts");
    council_embed::embed_dir(&dir, "tera", "prompts.rs")
}
