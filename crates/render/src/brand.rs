//! A firm's brand on exported reports: its name, logo, accent colour,
//! footer and confidentiality line, read from a TOML file and checked once,
//! so that rendering never meets a bad value.

use base64::Engine as _;
use council_core::variant::Audience;
use std::path::{Path, PathBuf};

/// The largest logo accepted: a report is sent by mail, and a logo larger
/// than this is almost always an unscaled original.
pub const MAX_LOGO_BYTES: u64 = 1024 * 1024;

/// The keys a brand file may hold.
const KEYS: [&str; 9] = [
    "name",
    "logo",
    "accent",
    "footer",
    "confidentiality",
    "title",
    "subtitle",
    "external",
    "appendix",
];

/// A brand, validated: every field is ready to render.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Brand {
    /// The firm's name, shown in the header.
    pub name: String,
    /// The logo, read and checked.
    pub logo: Option<Logo>,
    /// Accent colour for headings and rules, as `#rrggbb` (lower case).
    pub accent: Option<String>,
    /// Text at the foot of the report (and of every PDF page).
    pub footer: Option<String>,
    /// A confidentiality line, shown at the top and the bottom.
    pub confidentiality: Option<String>,
    /// The report's title, instead of "Advisory board report".
    pub title: Option<String>,
    /// A line under the title (e.g. "Prepared for Acme Ltd").
    pub subtitle: Option<String>,
    /// Audiences outside the firm besides `client`, whose reports leave
    /// out the internal parts.
    pub external: Vec<Audience>,
    /// The internal parts an external audience's report keeps, in an
    /// appendix, unless `--appendix` says otherwise.
    pub appendix: Appendix,
}

/// The internal parts of a report: where it came from (the source run,
/// the variant's instructions), what it cost, and what was flagged. Shown
/// in place in an internal report; left out of an external audience's,
/// or gathered there in an appendix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Appendix {
    /// The origin line (source run, changes) and the variant's instructions.
    pub origin: bool,
    /// The cost table.
    pub cost: bool,
    /// The list of what was flagged.
    pub flags: bool,
}

impl Appendix {
    /// The part names, as `--appendix` and the brand file take them.
    pub const PARTS: [&'static str; 3] = ["origin", "cost", "flags"];

    /// Every part.
    pub const ALL: Appendix = Appendix {
        origin: true,
        cost: true,
        flags: true,
    };

    /// Whether any part is asked for.
    pub fn any(self) -> bool {
        self.origin || self.cost || self.flags
    }

    /// Reads part names (`origin`, `cost`, `flags`, or `none` alone); the
    /// error names the unknown part and the ones there are.
    pub fn from_parts<'a>(parts: impl IntoIterator<Item = &'a str>) -> Result<Appendix, String> {
        let mut out = Appendix::default();
        for part in parts {
            match part.trim() {
                "origin" => out.origin = true,
                "cost" => out.cost = true,
                "flags" => out.flags = true,
                "none" | "" => {}
                other => {
                    return Err(format!(
                        "{other:?} is not a part of the appendix; use origin, cost, flags (comma-separated) or none"
                    ))
                }
            }
        }
        Ok(out)
    }
}

impl std::str::FromStr for Appendix {
    type Err = String;

    fn from_str(s: &str) -> Result<Appendix, String> {
        Appendix::from_parts(s.split(','))
    }
}

/// A logo's bytes and kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logo {
    /// Where it was read from.
    pub path: PathBuf,
    /// PNG or SVG.
    pub kind: LogoKind,
    /// The file's bytes.
    pub bytes: Vec<u8>,
}

/// The image formats a logo may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogoKind {
    /// A PNG image.
    Png,
    /// An SVG drawing (embedded only as an image, never inline).
    Svg,
}

impl Logo {
    /// The MIME type of the logo.
    pub fn mime(&self) -> &'static str {
        match self.kind {
            LogoKind::Png => "image/png",
            LogoKind::Svg => "image/svg+xml",
        }
    }

    /// The logo as a `data:` URI (only base64 characters after the comma).
    pub fn data_uri(&self) -> String {
        format!(
            "data:{};base64,{}",
            self.mime(),
            base64::engine::general_purpose::STANDARD.encode(&self.bytes)
        )
    }
}

/// A brand file that cannot be used. Each message names the file, the
/// problem and the fix.
#[derive(Debug, thiserror::Error)]
pub enum BrandError {
    /// The brand file does not exist.
    #[error("brand file {} does not exist: check the path given to --brand, or create it (a TOML file with at least name = \"Your firm\")", path.display())]
    Missing {
        /// The path given.
        path: PathBuf,
    },
    /// The brand file exists but cannot be read.
    #[error("cannot read brand file {}: {source}", path.display())]
    Unreadable {
        /// The path given.
        path: PathBuf,
        /// The IO error.
        source: std::io::Error,
    },
    /// The brand file is not UTF-8 text.
    #[error("brand file {} is not UTF-8 text ({message}); save it as UTF-8", path.display())]
    NotUtf8 {
        /// The brand file.
        path: PathBuf,
        /// Where the first bad byte is.
        message: String,
    },
    /// The brand file is not valid TOML, or a value has the wrong type.
    #[error("brand file {} is not valid: {message}; write TOML such as name = \"Your firm\"", path.display())]
    Toml {
        /// The brand file.
        path: PathBuf,
        /// The parser's message (with line and column).
        message: String,
    },
    /// A key the brand file may not hold.
    #[error("brand file {}: unknown key {key:?}; the keys are {}", path.display(), KEYS.join(", "))]
    UnknownKey {
        /// The brand file.
        path: PathBuf,
        /// The key.
        key: String,
    },
    /// `name` is absent or blank.
    #[error("brand file {}: name is missing; add name = \"Your firm\"", path.display())]
    MissingName {
        /// The brand file.
        path: PathBuf,
    },
    /// `accent` is not a `#rgb` or `#rrggbb` colour.
    #[error("brand file {}: accent {value:?} is not a colour; write #rrggbb, e.g. #0a7f6f", path.display())]
    BadColour {
        /// The brand file.
        path: PathBuf,
        /// The value given.
        value: String,
    },
    /// `external` names an audience there is not.
    #[error("brand file {}: external: {value:?} is not an audience; use any of {}", path.display(), audiences())]
    BadAudience {
        /// The brand file.
        path: PathBuf,
        /// The value given.
        value: String,
    },
    /// `appendix` names a part there is not.
    #[error("brand file {}: appendix: {message}", path.display())]
    BadAppendix {
        /// The brand file.
        path: PathBuf,
        /// Which part, and the parts there are.
        message: String,
    },
    /// The logo file does not exist.
    #[error("brand file {}: logo {} does not exist; give a path relative to the brand file's folder", path.display(), logo.display())]
    LogoMissing {
        /// The brand file.
        path: PathBuf,
        /// The logo's resolved path.
        logo: PathBuf,
    },
    /// The logo cannot be read.
    #[error("brand file {}: cannot read logo {}: {source}", path.display(), logo.display())]
    LogoUnreadable {
        /// The brand file.
        path: PathBuf,
        /// The logo's resolved path.
        logo: PathBuf,
        /// The IO error.
        source: std::io::Error,
    },
    /// The logo is neither a PNG nor an SVG.
    #[error("brand file {}: logo {} is not a PNG or SVG image; give a .png or .svg file", path.display(), logo.display())]
    LogoNotImage {
        /// The brand file.
        path: PathBuf,
        /// The logo's resolved path.
        logo: PathBuf,
    },
    /// The logo is over [`MAX_LOGO_BYTES`].
    #[error("brand file {}: logo {} is {size} bytes, over the 1 MB limit; export it smaller (a 600 px wide PNG or an SVG is plenty)", path.display(), logo.display())]
    LogoTooBig {
        /// The brand file.
        path: PathBuf,
        /// The logo's resolved path.
        logo: PathBuf,
        /// Its size in bytes.
        size: u64,
    },
}

fn audiences() -> String {
    Audience::ALL
        .iter()
        .map(|a| a.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

#[derive(serde::Deserialize)]
struct RawBrand {
    name: Option<String>,
    logo: Option<PathBuf>,
    accent: Option<String>,
    footer: Option<String>,
    confidentiality: Option<String>,
    title: Option<String>,
    subtitle: Option<String>,
    #[serde(default)]
    external: Vec<String>,
    appendix: Option<Vec<String>>,
}

/// A brand file's text, parsed and checked, before its logo is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BrandFile {
    /// The firm's name, trimmed, not empty.
    pub(crate) name: String,
    /// The logo's path, resolved against the brand file's folder.
    pub(crate) logo: Option<PathBuf>,
    /// `#rrggbb`, lower case.
    pub(crate) accent: Option<String>,
    /// Trimmed, not empty.
    pub(crate) footer: Option<String>,
    /// Trimmed, not empty.
    pub(crate) confidentiality: Option<String>,
    /// Trimmed, not empty.
    pub(crate) title: Option<String>,
    /// Trimmed, not empty.
    pub(crate) subtitle: Option<String>,
    /// Audiences marked external (besides `client`).
    pub(crate) external: Vec<Audience>,
    /// The default appendix of an external audience's report.
    pub(crate) appendix: Appendix,
}

impl BrandFile {
    /// Parses and checks the bytes of the brand file at `path` (named in
    /// every error; its folder resolves the logo's path). Reads nothing.
    pub(crate) fn parse(bytes: &[u8], path: &Path) -> Result<BrandFile, BrandError> {
        let text = std::str::from_utf8(bytes).map_err(|e| BrandError::NotUtf8 {
            path: path.into(),
            message: e.to_string(),
        })?;
        let toml_error = |e: toml::de::Error| BrandError::Toml {
            path: path.into(),
            message: e.message().trim().to_string(),
        };
        let table: toml::Table = toml::from_str(text).map_err(toml_error)?;
        if let Some(key) = table.keys().find(|k| !KEYS.contains(&k.as_str())) {
            return Err(BrandError::UnknownKey {
                path: path.into(),
                key: key.clone(),
            });
        }
        let raw: RawBrand = table.try_into().map_err(toml_error)?;
        let name = raw
            .name
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty())
            .ok_or_else(|| BrandError::MissingName { path: path.into() })?;
        let accent = raw
            .accent
            .map(|a| {
                parse_colour(&a).ok_or(BrandError::BadColour {
                    path: path.into(),
                    value: a,
                })
            })
            .transpose()?;
        let external = raw
            .external
            .iter()
            .map(|a| {
                Audience::ALL
                    .into_iter()
                    .find(|x| x.as_str() == a.trim())
                    .ok_or_else(|| BrandError::BadAudience {
                        path: path.into(),
                        value: a.clone(),
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let appendix = Appendix::from_parts(raw.appendix.iter().flatten().map(String::as_str))
            .map_err(|message| BrandError::BadAppendix {
                path: path.into(),
                message,
            })?;
        let folder = path.parent().unwrap_or(Path::new("."));
        let text = |s: Option<String>| s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
        Ok(BrandFile {
            name,
            logo: raw.logo.map(|l| folder.join(l)),
            accent,
            footer: text(raw.footer),
            confidentiality: text(raw.confidentiality),
            title: text(raw.title),
            subtitle: text(raw.subtitle),
            external,
            appendix,
        })
    }
}

impl Brand {
    /// Reads and checks the brand file at `path`; a logo path is relative
    /// to the brand file's folder.
    pub fn load(path: &Path) -> Result<Brand, BrandError> {
        let bytes = std::fs::read(path).map_err(|source| {
            if source.kind() == std::io::ErrorKind::NotFound {
                BrandError::Missing { path: path.into() }
            } else {
                BrandError::Unreadable {
                    path: path.into(),
                    source,
                }
            }
        })?;
        let file = BrandFile::parse(&bytes, path)?;
        let logo = file.logo.map(|l| read_logo(path, &l)).transpose()?;
        Ok(Brand {
            name: file.name,
            logo,
            accent: file.accent,
            footer: file.footer,
            confidentiality: file.confidentiality,
            title: file.title,
            subtitle: file.subtitle,
            external: file.external,
            appendix: file.appendix,
        })
    }
}

/// `#rgb` or `#rrggbb` as `#rrggbb` in lower case.
fn parse_colour(s: &str) -> Option<String> {
    let hex = s.trim().strip_prefix('#')?;
    if !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let full = match hex.len() {
        3 => hex.chars().flat_map(|c| [c, c]).collect(),
        6 => hex.to_string(),
        _ => return None,
    };
    Some(format!("#{}", full.to_ascii_lowercase()))
}

fn read_logo(brand: &Path, logo: &Path) -> Result<Logo, BrandError> {
    let meta = std::fs::metadata(logo).map_err(|source| {
        if source.kind() == std::io::ErrorKind::NotFound {
            BrandError::LogoMissing {
                path: brand.into(),
                logo: logo.into(),
            }
        } else {
            BrandError::LogoUnreadable {
                path: brand.into(),
                logo: logo.into(),
                source,
            }
        }
    })?;
    if meta.len() > MAX_LOGO_BYTES {
        return Err(BrandError::LogoTooBig {
            path: brand.into(),
            logo: logo.into(),
            size: meta.len(),
        });
    }
    let not_image = || BrandError::LogoNotImage {
        path: brand.into(),
        logo: logo.into(),
    };
    if meta.is_dir() {
        return Err(not_image());
    }
    let bytes = std::fs::read(logo).map_err(|source| BrandError::LogoUnreadable {
        path: brand.into(),
        logo: logo.into(),
        source,
    })?;
    let kind = logo_kind(&bytes).ok_or_else(not_image)?;
    Ok(Logo {
        path: logo.into(),
        kind,
        bytes,
    })
}

/// Whether `bytes` are a PNG or an SVG logo (`None`: neither).
pub(crate) fn logo_kind(bytes: &[u8]) -> Option<LogoKind> {
    if png_size(bytes).is_some() {
        Some(LogoKind::Png)
    } else if is_svg(bytes) {
        Some(LogoKind::Svg)
    } else {
        None
    }
}

/// A PNG's width and height in pixels, from its signature and IHDR chunk;
/// `None` if the bytes are not a PNG.
pub(crate) fn png_size(bytes: &[u8]) -> Option<(u32, u32)> {
    const SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
    if bytes.len() < 24 || !bytes.starts_with(SIGNATURE) || &bytes[12..16] != b"IHDR" {
        return None;
    }
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    let (w, h) = (be(&bytes[16..20]), be(&bytes[20..24]));
    (w > 0 && h > 0).then_some((w, h))
}

/// Whether the bytes are UTF-8 XML whose root element is `<svg`, after an
/// optional BOM, XML declaration, comments and doctype; and whether the
/// SVG parser accepts it.
fn is_svg(bytes: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return false;
    };
    let mut rest = text.trim_start_matches('\u{feff}').trim_start();
    loop {
        if let Some(r) = rest.strip_prefix("<?") {
            match r.find("?>") {
                Some(end) => rest = r[end + 2..].trim_start(),
                None => return false,
            }
        } else if let Some(r) = rest.strip_prefix("<!--") {
            match r.find("-->") {
                Some(end) => rest = r[end + 3..].trim_start(),
                None => return false,
            }
        } else if let Some(r) = rest.strip_prefix("<!") {
            match r.find('>') {
                Some(end) => rest = r[end + 1..].trim_start(),
                None => return false,
            }
        } else {
            break;
        }
    }
    let root = rest
        .strip_prefix("<svg")
        .is_some_and(|r| r.starts_with(|c: char| c.is_whitespace() || c == '>' || c == '/'));
    root && resvg::usvg::Tree::from_str(text, &resvg::usvg::Options::default()).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG_1X1: &[u8] = &[
        0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, b'I', b'H', b'D', b'R', 0, 0,
        0, 1, 0, 0, 0, 1, 8, 6, 0, 0, 0, 0x1f, 0x15, 0xc4, 0x89, 0, 0, 0, 13, b'I', b'D', b'A',
        b'T', 0x78, 0x9c, 0x63, 0xf8, 0xcf, 0xc0, 0xf0, 0x1f, 0, 0x05, 0x00, 0x01, 0xff, 0x89,
        0x99, 0x3d, 0x1d, 0, 0, 0, 0, b'I', b'E', b'N', b'D', 0xae, 0x42, 0x60, 0x82,
    ];

    /// Writes `brand.toml` (and any extra files) into a fresh folder and loads it.
    fn load(toml: &str, files: &[(&str, &[u8])]) -> Result<Brand, BrandError> {
        let dir = tempfile::tempdir().unwrap();
        for (name, bytes) in files {
            std::fs::write(dir.path().join(name), bytes).unwrap();
        }
        let path = dir.path().join("brand.toml");
        std::fs::write(&path, toml).unwrap();
        Brand::load(&path)
    }

    #[test]
    fn a_full_brand_loads_with_its_logo() {
        let b = load(
            "name = \"Acme Advisors\"\nlogo = \"logo.png\"\naccent = \"#0A7\"\nfooter = \"acme.example\"\nconfidentiality = \"Confidential\"\n",
            &[("logo.png", PNG_1X1)],
        )
        .unwrap();
        assert_eq!(b.name, "Acme Advisors");
        assert_eq!(b.accent.as_deref(), Some("#00aa77"));
        let logo = b.logo.unwrap();
        assert_eq!(logo.kind, LogoKind::Png);
        assert!(logo
            .data_uri()
            .starts_with("data:image/png;base64,iVBORw0KGgo"));
        assert_eq!(png_size(&logo.bytes), Some((1, 1)));
        let svg = load(
            "name = \"X\"\nlogo = \"l.svg\"",
            &[(
                "l.svg",
                b"<?xml version=\"1.0\"?>\n<!-- logo -->\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" height=\"10\"><rect width=\"10\" height=\"10\"/></svg>",
            )],
        )
        .unwrap();
        assert_eq!(svg.logo.unwrap().kind, LogoKind::Svg);
    }

    #[test]
    fn each_bad_value_gets_its_error_and_fix() {
        // (brand.toml, files beside it, what the error says)
        type Case = (
            &'static str,
            Vec<(&'static str, Vec<u8>)>,
            &'static [&'static str],
        );
        let cases: Vec<Case> = vec![
            (
                "name = ",
                vec![],
                &["brand.toml", "is not valid", "name = \"Your firm\""],
            ),
            ("name = 3", vec![], &["is not valid", "string"]),
            (
                "name = \"X\"\ncolour = \"#fff\"",
                vec![],
                &["unknown key \"colour\"", "accent"],
            ),
            ("accent = \"#fff\"", vec![], &["name is missing"]),
            ("name = \"  \"", vec![], &["name is missing"]),
            (
                "name = \"X\"\naccent = \"teal\"",
                vec![],
                &["accent \"teal\" is not a colour; write #rrggbb, e.g. #0a7f6f"],
            ),
            (
                "name = \"X\"\naccent = \"#12345\"",
                vec![],
                &["accent \"#12345\" is not a colour"],
            ),
            (
                "name = \"X\"\naccent = \"#ggg\"",
                vec![],
                &["is not a colour"],
            ),
            (
                "name = \"X\"\nlogo = \"nope.png\"",
                vec![],
                &[
                    "logo",
                    "nope.png",
                    "does not exist",
                    "relative to the brand file",
                ],
            ),
            (
                "name = \"X\"\nlogo = \"logo.png\"",
                vec![("logo.png", b"GIF89a not a png".to_vec())],
                &["logo.png", "is not a PNG or SVG image"],
            ),
            (
                "name = \"X\"\nlogo = \"logo.svg\"",
                vec![("logo.svg", b"<html><svg></svg></html>".to_vec())],
                &["is not a PNG or SVG image"],
            ),
            (
                "name = \"X\"\nlogo = \"big.png\"",
                vec![("big.png", [PNG_1X1, &vec![0u8; 1024 * 1024]].concat())],
                &["big.png", "over the 1 MB limit"],
            ),
        ];
        for (toml, files, says) in cases {
            let files: Vec<(&str, &[u8])> = files.iter().map(|(n, b)| (*n, b.as_slice())).collect();
            let err = load(toml, &files).expect_err(toml).to_string();
            for s in says {
                assert!(err.contains(s), "{toml:?}: {err:?} lacks {s:?}");
            }
        }
        for (logo, says) in [
            ("\"\"", "is not a PNG or SVG image"),
            ("\".\"", "is not a PNG or SVG image"),
        ] {
            let err = load(&format!("name = \"X\"\nlogo = {logo}"), &[])
                .expect_err(logo)
                .to_string();
            assert!(err.contains(says), "logo = {logo}: {err}");
        }
        let err = BrandFile::parse(b"name = \"Caf\xe9\"", Path::new("b/brand.toml"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("b/brand.toml")
                && err.contains("not UTF-8")
                && err.contains("save it as UTF-8"),
            "{err}"
        );
        let missing = Brand::load(Path::new("/nonexistent/brand.toml"))
            .unwrap_err()
            .to_string();
        assert!(
            missing.contains("/nonexistent/brand.toml") && missing.contains("does not exist"),
            "{missing}"
        );
    }

    #[test]
    fn colours_are_normalised() {
        assert_eq!(parse_colour("#0a7f6f").as_deref(), Some("#0a7f6f"));
        assert_eq!(parse_colour("#ABC").as_deref(), Some("#aabbcc"));
        for bad in ["0a7f6f", "#0a7f6", "red", "#", "#0a7f6f00", "#ééé"] {
            assert_eq!(parse_colour(bad), None, "{bad}");
        }
    }
}
