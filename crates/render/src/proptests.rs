//! Property tests of the brand file's parser and the logo check: a brand
//! file of any bytes, or the valid file with a few values changed, gives a
//! brand or an error naming the file and the fix; a logo of any bytes is a
//! PNG, an SVG drawn within bounds, or refused. Never a panic.

use crate::brand::{logo_kind, png_size, BrandError, BrandFile, Logo, LogoKind};
use crate::docx::{logo_png, LOGO_MAX_PX};
use proptest::prelude::*;
use serde_json::{json, Value};
use std::path::Path;

#[path = "../../../tests/support/json_mutations.rs"]
mod json_mutations;
use json_mutations::{any_json, mutated};

const PATH: &str = "firm/brand.toml";

fn valid_brand() -> Value {
    json!({
        "name": "Acme Advisors",
        "logo": "logo.svg",
        "accent": "#0a7f6f",
        "footer": "acme.example",
        "confidentiality": "Confidential — prepared for the board",
    })
}

/// A brand file's bytes: anything, any text, TOML-ish lines with the
/// brand's keys, or the valid file with nodes changed (as TOML, or as the
/// JSON text TOML cannot hold).
fn brand_files() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..300),
        "\\PC{0,200}".prop_map(String::into_bytes),
        toml_lines(),
        prop_oneof![mutated(valid_brand()), any_json()].prop_map(|v| toml::to_string(&v)
            .unwrap_or_else(|_| v.to_string())
            .into_bytes()),
    ]
}

/// TOML text with the brand's keys (mostly a name among them, sometimes a
/// stray key), each mostly given a value of its kind (a colour in either
/// case for `accent`), else one of any type: text, blank text, a near-miss
/// colour, a number, a list.
fn toml_lines() -> impl Strategy<Value = Vec<u8>> {
    let any_value = || {
        prop_oneof![
            "\"[^\"\\\\]{0,12}\"",
            Just("\"  \"".to_string()),
            "\"#[0-9a-fA-F]{0,7}\"",
            "[0-9]{1,4}",
            Just("[]".to_string()),
        ]
    };
    let entry = |key: &'static str, good: &'static str| {
        prop_oneof![4 => good.prop_map(String::from).boxed(), 1 => any_value().boxed()]
            .prop_map(move |v| format!("{key} = {v}\n"))
    };
    (
        proptest::option::weighted(0.9, entry("name", "\" ?[A-Za-z&<>]{1,12} ?\"")),
        proptest::option::of(entry("accent", "\"#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})\"")),
        proptest::option::of(entry("footer", "\" ?[a-z.]{0,12}\"")),
        proptest::option::of(entry("confidentiality", "\"[A-Za-z ]{0,12}\"")),
        proptest::option::of(entry("logo", "\"[a-z/.]{0,8}(\\.(svg|png))?\"")),
        proptest::option::weighted(0.1, entry("colour", "\"#fff\"")),
    )
        .prop_map(|(a, b, c, d, e, f)| {
            [a, b, c, d, e, f]
                .into_iter()
                .flatten()
                .collect::<String>()
                .into_bytes()
        })
}

/// The part of each error's message that tells the user what to do.
fn fix_of(e: &BrandError) -> &'static str {
    match e {
        BrandError::NotUtf8 { .. } => "save it as UTF-8",
        BrandError::Toml { .. } => "write TOML such as name = \"Your firm\"",
        BrandError::UnknownKey { .. } => "the keys are name, logo, accent, footer, confidentiality",
        BrandError::MissingName { .. } => "add name = \"Your firm\"",
        BrandError::BadColour { .. } => "write #rrggbb",
        // Reading files: not the parser's job.
        other => panic!("the parser read a file: {other:?}"),
    }
}

/// SVG-ish logos: any size (zero, negative, tiny, huge, not a number),
/// a view box, a few shapes.
fn svg_logos() -> impl Strategy<Value = Vec<u8>> {
    let length = prop_oneof![
        any::<f32>().prop_map(|x| x.to_string()),
        (0..5000u32).prop_map(|x| x.to_string()),
        Just("1e9".to_string()),
        Just("100%".to_string()),
        "\\PC{0,6}",
    ];
    (length.clone(), length, "(0 0 [0-9]{1,7} [0-9]{1,7})?", 0..4usize).prop_map(
        |(w, h, view_box, shapes)| {
            format!(
                r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="{view_box}">{}</svg>"#,
                r#"<rect width="10" height="10" fill="teal"/>"#.repeat(shapes)
            )
            .into_bytes()
        },
    )
}

/// PNG headers with any dimensions, and whatever follows.
fn png_like() -> impl Strategy<Value = Vec<u8>> {
    (
        any::<u32>(),
        any::<u32>(),
        prop::collection::vec(any::<u8>(), 0..40),
    )
        .prop_map(|(w, h, rest)| {
            let mut b = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
            b.extend(w.to_be_bytes());
            b.extend(h.to_be_bytes());
            b.extend(rest);
            b
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    /// A brand file of any bytes: a brand ready to render, or an error
    /// naming the file and saying what to write instead.
    #[test]
    fn a_brand_file_of_any_bytes_is_a_brand_or_names_the_file_and_fix(bytes in brand_files()) {
        match BrandFile::parse(&bytes, Path::new(PATH)) {
            Ok(b) => {
                prop_assert!(!b.name.is_empty() && b.name.trim() == b.name, "{:?}", b.name);
                if let Some(a) = &b.accent {
                    prop_assert!(a.len() == 7 && a.starts_with('#'), "{a}");
                    prop_assert!(a[1..].chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()), "{a}");
                }
                for s in [&b.footer, &b.confidentiality].into_iter().flatten() {
                    prop_assert!(!s.is_empty() && s.trim() == s, "{s:?}");
                }
                if let Some(l) = &b.logo {
                    // A relative path is the brand file's folder's.
                    prop_assert!(l.starts_with("firm") || l.is_absolute(), "{}", l.display());
                }
            }
            Err(e) => {
                let m = e.to_string();
                prop_assert!(m.contains(PATH), "{m}");
                prop_assert!(m.contains(fix_of(&e)), "{m}");
            }
        }
    }

    /// A logo of any bytes is a PNG, an SVG, or neither; an SVG logo is
    /// drawn (or refused with a message) within the largest picture, and a
    /// PNG keeps the size its header states.
    #[test]
    fn a_logo_of_any_bytes_is_classified_and_drawn_within_bounds(
        bytes in prop_oneof![prop::collection::vec(any::<u8>(), 0..200), svg_logos(), png_like()],
    ) {
        let Some(kind) = logo_kind(&bytes) else {
            return Ok(());
        };
        let logo = Logo { path: "logo".into(), kind, bytes: bytes.clone() };
        match (kind, logo_png(&logo)) {
            (LogoKind::Png, Ok((png, w, h))) => {
                prop_assert_eq!(png, bytes.clone());
                prop_assert_eq!(png_size(&bytes), Some((w, h)));
            }
            (LogoKind::Svg, Ok((png, w, h))) => {
                prop_assert!(w <= LOGO_MAX_PX.0 && h <= LOGO_MAX_PX.1, "{w}×{h}");
                prop_assert_eq!(png_size(&png), Some((w, h)));
            }
            (_, Err(e)) => prop_assert!(e.to_string().contains("drawing logo as a PNG"), "{e}"),
        }
    }
}
