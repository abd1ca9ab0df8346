//! Text from Word (.docx) and PowerPoint (.pptx) files: the Office Open
//! XML package (a zip of XML parts) read with zip and quick-xml.
//!
//! A document's text keeps its structure for the passages cut from it:
//! each heading of a Word document, and each slide of a presentation
//! ("Slide 3: Pricing", then its text, tables and speaker notes), starts a
//! section, marked by [`SECTION`] before its heading line. Table rows are
//! one line each, cells joined by " | "; a long table is cut into blocks
//! that repeat its header row.

use quick_xml::events::{BytesStart, Event};
use quick_xml::{Decoder, Reader, XmlVersion};
use std::cell::Cell;
use std::io::{BufReader, Cursor, Read};

/// Starts a section of a document's text; the line after it is the
/// section's heading (see [`crate::search`]).
pub(crate) const SECTION: char = '\u{c}';

/// Most bytes a package's parts may unpack to, all read parts together: a
/// 20 MB file that unpacks past this is a zip bomb or not worth reading.
pub(crate) const MAX_UNPACKED_BYTES: u64 = 200 * 1024 * 1024;

/// The first bytes of a zip file (every .docx and .pptx is one).
const ZIP_MAGIC: &[u8] = b"PK\x03\x04";
/// The first bytes of an OLE compound file: a password-protected Office
/// file, or an Office 97–2003 one.
const CFB_MAGIC: &[u8] = &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];

/// Which Office program a file is from, by its extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Word: .docx (or .doc).
    Word,
    /// PowerPoint: .pptx (or .ppt).
    PowerPoint,
}

impl Kind {
    fn document(self) -> &'static str {
        match self {
            Kind::Word => "Word document",
            Kind::PowerPoint => "PowerPoint presentation",
        }
    }

    fn app(self) -> &'static str {
        match self {
            Kind::Word => "Word",
            Kind::PowerPoint => "PowerPoint",
        }
    }

    fn ext(self) -> &'static str {
        match self {
            Kind::Word => "docx",
            Kind::PowerPoint => "pptx",
        }
    }

    /// What to do with a file that cannot be read.
    fn fix(self) -> String {
        format!(
            "open it in {} and save it again as .{}, or export it as PDF or text",
            self.app(),
            self.ext()
        )
    }
}

/// A document's title (from its properties, when set) and text.
#[derive(Debug)]
pub(crate) struct Office {
    /// dc:title of docProps/core.xml; `None` when absent or blank.
    pub(crate) title: Option<String>,
    /// The text, in sections (see the module's doc).
    pub(crate) text: String,
}

/// The problem message for an Office 97–2003 file (.doc, .ppt).
pub(crate) fn legacy_message(kind: Kind) -> String {
    let old = match kind {
        Kind::Word => ".doc",
        Kind::PowerPoint => ".ppt",
    };
    format!(
        "an old {} 97–2003 file ({old}), which the library does not read; open it in {} and save it as .{} (or export it as PDF)",
        kind.app(),
        kind.app(),
        kind.ext()
    )
}

/// The title and text of a .docx or .pptx file's `bytes`, read as what the
/// package holds (a presentation named .docx is read as one); `Err` holds
/// the problem's message.
pub(crate) fn read(bytes: &[u8], kind: Kind) -> Result<Office, String> {
    read_limited(bytes, kind, MAX_UNPACKED_BYTES)
}

/// [`read`], its parts unpacking to at most `limit` bytes.
fn read_limited(bytes: &[u8], kind: Kind, limit: u64) -> Result<Office, String> {
    if bytes.starts_with(CFB_MAGIC) {
        return Err(compound_file_message(bytes, kind));
    }
    if !bytes.starts_with(ZIP_MAGIC) {
        return Err(format!(
            "not a {} (a .{} file is a zip package, and this is not one: it may be damaged or misnamed); {}",
            kind.document(),
            kind.ext(),
            kind.fix()
        ));
    }
    let mut package = Package::open(bytes, limit).map_err(|e| broken(kind, &e))?;
    let main = package
        .main_part()
        .ok_or_else(|| broken(kind, "it has no main document part"))?;
    let root = package
        .root_name(&main)
        .map_err(|e| package.failure(kind, &main, &e))?;
    let text = match root.as_str() {
        "document" => word_text(&mut package, &main),
        "presentation" => slides_text(&mut package, &main),
        "workbook" => {
            return Err(format!(
                "an Excel workbook, which the library does not read; export the sheets it needs as PDF or text (a {} is read from .{})",
                kind.document(),
                kind.ext()
            ))
        }
        other => {
            return Err(broken(
                kind,
                &format!("its main part is <{other}>, not a document or presentation"),
            ))
        }
    }
    .map_err(|(part, e)| package.failure(kind, &part, &e))?;
    let title = package.title();
    Ok(Office { title, text })
}

/// A zip or XML failure, in words, with the fix.
fn broken(kind: Kind, why: &str) -> String {
    format!("not a readable {} ({why}); {}", kind.document(), kind.fix())
}

/// Why an OLE compound file is not read: encrypted, or an old format.
fn compound_file_message(bytes: &[u8], kind: Kind) -> String {
    let streams: Vec<String> = match cfb::CompoundFile::open(Cursor::new(bytes)) {
        Ok(file) => file.walk().map(|e| e.name().to_string()).collect(),
        Err(e) => return broken(kind, &format!("a damaged Office compound file: {e}")),
    };
    let has = |name: &str| streams.iter().any(|s| s == name);
    if has("EncryptedPackage") {
        format!(
            "it is password-protected (encrypted), so its text cannot be read; in {} remove the password (File > Info > Protect, Encrypt with Password, cleared) and save it, or export it as PDF or text",
            kind.app()
        )
    } else if has("WordDocument") {
        legacy_message(Kind::Word)
    } else if has("PowerPoint Document") {
        legacy_message(Kind::PowerPoint)
    } else {
        format!(
            "an Office compound file, not a .{} (which is a zip package); {}",
            kind.ext(),
            kind.fix()
        )
    }
}

/// A reader that fails once the parts read so far pass `limit`.
struct Limited<'a, R> {
    inner: R,
    used: &'a Cell<u64>,
    over: &'a Cell<bool>,
    limit: u64,
}

impl<R: Read> Read for Limited<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.used.set(self.used.get() + n as u64);
        if self.used.get() > self.limit {
            self.over.set(true);
            return Err(std::io::Error::other("unpacked size limit"));
        }
        Ok(n)
    }
}

/// One relationship of a part: its type and the part it points to.
struct Relation {
    id: String,
    kind: String,
    target: String,
}

/// An open package, its parts read under one size budget.
struct Package<'b> {
    zip: zip::ZipArchive<Cursor<&'b [u8]>>,
    used: Cell<u64>,
    over: Cell<bool>,
    /// Most bytes all parts read may unpack to.
    limit: u64,
}

impl<'b> Package<'b> {
    fn open(bytes: &'b [u8], limit: u64) -> Result<Package<'b>, String> {
        let zip = zip::ZipArchive::new(Cursor::new(bytes))
            .map_err(|e| format!("the zip package is damaged: {e}"))?;
        Ok(Package {
            zip,
            used: Cell::new(0),
            over: Cell::new(false),
            limit,
        })
    }

    /// The problem for a part that failed to read.
    fn failure(&self, kind: Kind, part: &str, why: &str) -> String {
        if self.over.get() {
            format!(
                "its parts unpack to more than {} MB; split it, or export the part you need as PDF or text",
                self.limit / 1024 / 1024
            )
        } else {
            broken(kind, &format!("{part}: {why}"))
        }
    }

    /// Every XML event of `part`, given to `each` with the decoder (for
    /// attributes); `Ok(false)` when there is no such part.
    fn walk(
        &mut self,
        part: &str,
        mut each: impl FnMut(&Event<'_>, Decoder),
    ) -> Result<bool, String> {
        self.walk_while(part, |e, d| {
            each(e, d);
            true
        })
    }

    /// [`Package::walk`], stopping early once `each` returns false.
    fn walk_while(
        &mut self,
        part: &str,
        mut each: impl FnMut(&Event<'_>, Decoder) -> bool,
    ) -> Result<bool, String> {
        let file = match self.zip.by_name(part) {
            Ok(f) => f,
            Err(zip::result::ZipError::FileNotFound) => return Ok(false),
            Err(e) => return Err(e.to_string()),
        };
        let limited = Limited {
            inner: file,
            used: &self.used,
            over: &self.over,
            limit: self.limit,
        };
        let mut reader = Reader::from_reader(BufReader::new(limited));
        let mut buf = Vec::new();
        loop {
            let event = reader
                .read_event_into(&mut buf)
                .map_err(|e| e.to_string())?;
            if matches!(event, Event::Eof) || !each(&event, reader.decoder()) {
                return Ok(true);
            }
            buf.clear();
        }
    }

    /// The local name of `part`'s root element.
    fn root_name(&mut self, part: &str) -> Result<String, String> {
        let mut root = None;
        let found = self.walk_while(part, |e, _| {
            if let Event::Start(s) | Event::Empty(s) = e {
                root = Some(local(s));
            }
            root.is_none()
        })?;
        if !found {
            return Err("the part is missing".into());
        }
        root.ok_or_else(|| "the part holds no XML element".into())
    }

    /// The relationships of `part` (from its `_rels/NAME.rels`), targets
    /// resolved to part names; internal ones only.
    fn relations(&mut self, part: &str) -> Result<Vec<Relation>, String> {
        let (dir, name) = match part.rfind('/') {
            Some(i) => (&part[..i], &part[i + 1..]),
            None => ("", part),
        };
        let rels = if dir.is_empty() {
            format!("_rels/{name}.rels")
        } else {
            format!("{dir}/_rels/{name}.rels")
        };
        let mut out = Vec::new();
        self.walk(&rels, |e, r| {
            if let Event::Start(s) | Event::Empty(s) = e {
                if local(s) == "Relationship"
                    && attr(s, r, "TargetMode").as_deref() != Some("External")
                {
                    if let (Some(id), Some(kind), Some(target)) =
                        (attr(s, r, "Id"), attr(s, r, "Type"), attr(s, r, "Target"))
                    {
                        out.push(Relation {
                            id,
                            kind,
                            target: resolve(dir, &target),
                        });
                    }
                }
            }
        })?;
        Ok(out)
    }

    /// The package's main part (word/document.xml, ppt/presentation.xml).
    fn main_part(&mut self) -> Option<String> {
        self.relations("")
            .ok()?
            .into_iter()
            .find(|r| r.kind.ends_with("/officeDocument"))
            .map(|r| r.target)
    }

    /// dc:title from the core properties, when set.
    fn title(&mut self) -> Option<String> {
        let core = self
            .relations("")
            .ok()?
            .into_iter()
            .find(|r| r.kind.ends_with("/core-properties"))
            .map_or_else(|| "docProps/core.xml".to_string(), |r| r.target);
        let mut title = String::new();
        let mut inside = false;
        self.walk(&core, |e, _| match e {
            Event::Start(s) if local(s) == "title" => inside = true,
            Event::End(s) if s.local_name().as_ref() == b"title" => inside = false,
            _ if inside => push_text(e, &mut title),
            _ => {}
        })
        .ok()?;
        let title = title.split_whitespace().collect::<Vec<_>>().join(" ");
        Some(title).filter(|t| !t.is_empty())
    }
}

/// An element's local name (its prefix dropped).
fn local(s: &BytesStart<'_>) -> String {
    String::from_utf8_lossy(s.local_name().as_ref()).into_owned()
}

/// The value of the attribute whose local name is `name`, decoded.
fn attr(s: &BytesStart<'_>, decoder: Decoder, name: &str) -> Option<String> {
    attr_where(s, decoder, |key| {
        key.local_name().as_ref() == name.as_bytes()
    })
}

/// The value of the first attribute whose name passes `which`, decoded.
fn attr_where(
    s: &BytesStart<'_>,
    decoder: Decoder,
    which: impl Fn(&quick_xml::name::QName<'_>) -> bool,
) -> Option<String> {
    s.attributes()
        .with_checks(false)
        .flatten()
        .find(|a| which(&a.key))?
        .decoded_and_normalized_value(XmlVersion::Implicit1_0, decoder)
        .ok()
        .map(|v| v.into_owned())
}

/// Appends the characters of a text, CDATA or reference event to `out`.
fn push_text(e: &Event<'_>, out: &mut String) {
    match e {
        Event::Text(t) => {
            if let Ok(s) = t.xml10_content() {
                out.push_str(&s);
            }
        }
        Event::CData(c) => {
            if let Ok(s) = c.decode() {
                out.push_str(&s);
            }
        }
        Event::GeneralRef(r) => {
            if let Ok(Some(c)) = r.resolve_char_ref() {
                out.push(c);
            } else if let Ok(name) = r.decode() {
                if let Some(s) = quick_xml::escape::resolve_predefined_entity(&name) {
                    out.push_str(s);
                }
            }
        }
        _ => {}
    }
}

/// A relationship target as a part name: relative to `dir`, or absolute.
fn resolve(dir: &str, target: &str) -> String {
    let mut parts: Vec<&str> = if target.starts_with('/') {
        Vec::new()
    } else {
        dir.split('/').filter(|p| !p.is_empty()).collect()
    };
    for p in target.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    parts.join("/")
}

/// A table's rows (cells already in words) as blocks of lines, each at
/// most about [`crate::search::PASSAGE_CHARS`] long, every block after the
/// first starting with the header row again.
fn table_blocks(rows: &[Vec<String>]) -> Vec<String> {
    let lines: Vec<String> = rows
        .iter()
        .map(|cells| {
            cells
                .iter()
                .map(|c| c.split_whitespace().collect::<Vec<_>>().join(" "))
                .collect::<Vec<_>>()
                .join(" | ")
        })
        .filter(|l| l.chars().any(|c| c != '|' && !c.is_whitespace()))
        .collect();
    let Some(header) = lines.first() else {
        return Vec::new();
    };
    let mut blocks = Vec::new();
    let mut cur = header.clone();
    let mut rows_in = 0;
    for line in &lines[1..] {
        if rows_in > 0 && cur.len() + line.len() + 1 > crate::search::PASSAGE_CHARS {
            blocks.push(std::mem::replace(&mut cur, header.clone()));
            rows_in = 0;
        }
        cur.push('\n');
        cur.push_str(line);
        rows_in += 1;
    }
    blocks.push(cur);
    blocks
}

/// Joins blocks of text with blank lines, and sections with [`SECTION`].
#[derive(Default)]
struct Text {
    out: String,
}

impl Text {
    /// A paragraph (or table block).
    fn block(&mut self, s: &str) {
        let s = s.trim();
        if s.is_empty() {
            return;
        }
        if !self.out.is_empty() {
            self.out.push_str("\n\n");
        }
        self.out.push_str(s);
    }

    /// A new section headed by `heading`.
    fn section(&mut self, heading: &str) {
        if !self.out.is_empty() {
            self.out.push_str("\n\n");
        }
        self.out.push(SECTION);
        self.out.push_str(heading.trim());
    }
}

/// Heading level by paragraph style id, from word/styles.xml: a style
/// named "heading N" or "Title", or with an outline level, and the styles
/// based on one.
fn heading_styles(package: &mut Package<'_>, main: &str) -> std::collections::HashMap<String, u8> {
    let styles_part = package
        .relations(main)
        .ok()
        .and_then(|rs| rs.into_iter().find(|r| r.kind.ends_with("/styles")))
        .map_or_else(|| "word/styles.xml".to_string(), |r| r.target);
    // Every style (character and table styles too, so that their names
    // never land on the paragraph style before them): id, own level,
    // based on, whether a paragraph style.
    let mut styles: Vec<(String, Option<u8>, Option<String>, bool)> = Vec::new();
    let _ = package.walk(&styles_part, |e, r| {
        if let Event::Start(s) | Event::Empty(s) = e {
            match local(s).as_str() {
                "style" => styles.push((
                    attr(s, r, "styleId").unwrap_or_default(),
                    None,
                    None,
                    attr(s, r, "type").as_deref() == Some("paragraph"),
                )),
                "name" => {
                    if let (Some(last), Some(v)) = (styles.last_mut(), attr(s, r, "val")) {
                        let v = v.to_ascii_lowercase();
                        if v == "title" {
                            last.1 = Some(1);
                        } else if let Some(n) = v.strip_prefix("heading ") {
                            last.1 = n.trim().parse::<u8>().ok().filter(|n| (1..=9).contains(n));
                        }
                    }
                }
                "basedOn" => {
                    if let Some(last) = styles.last_mut() {
                        last.2 = attr(s, r, "val");
                    }
                }
                "outlineLvl" => {
                    if let (Some(last), Some(v)) = (styles.last_mut(), attr(s, r, "val")) {
                        if last.1.is_none() {
                            last.1 = v.parse::<u8>().ok().filter(|n| *n < 9).map(|n| n + 1);
                        }
                    }
                }
                _ => {}
            }
        }
    });
    styles.retain(|s| s.3);
    let mut levels = std::collections::HashMap::new();
    for (id, ..) in &styles {
        // Follow basedOn a few steps for styles derived from a heading.
        let mut at = Some(id.clone());
        for _ in 0..8 {
            let Some(cur) = at.take() else { break };
            let Some((_, level, base, _)) = styles.iter().find(|s| s.0 == cur) else {
                break;
            };
            if let Some(l) = level {
                levels.insert(id.clone(), *l);
                break;
            }
            at = base.clone();
        }
    }
    levels
}

/// The heading level a style id means when styles.xml does not say:
/// "Heading2", "heading 2", "Title".
fn heading_by_id(id: &str) -> Option<u8> {
    let id = id.to_ascii_lowercase().replace(' ', "");
    if id == "title" {
        return Some(1);
    }
    id.strip_prefix("heading")?
        .parse::<u8>()
        .ok()
        .filter(|n| (1..=9).contains(n))
}

/// The text of a Word document: paragraphs, headings starting sections,
/// tables as rows. `Err` names the part that failed.
fn word_text(package: &mut Package<'_>, main: &str) -> Result<String, (String, String)> {
    let styles = heading_styles(package, main);
    let mut text = Text::default();
    // Open paragraphs (a text box's paragraphs sit inside another's run):
    // their text and whether they are headings.
    let mut paras: Vec<(String, bool)> = Vec::new();
    let mut in_text = false;
    let mut in_run = 0usize;
    let mut in_ppr = false;
    // The outermost table's rows, and nesting depth.
    let mut tables = 0usize;
    let mut rows: Vec<Vec<String>> = Vec::new();
    // Depth inside a skipped subtree (a fallback copy, moved-away text).
    let mut skip = 0usize;
    let found = package
        .walk(main, |e, r| {
            if skip > 0 {
                match e {
                    Event::Start(_) => skip += 1,
                    Event::End(_) => skip -= 1,
                    _ => {}
                }
                return;
            }
            match e {
                Event::Start(s) | Event::Empty(s) => {
                    let empty = matches!(e, Event::Empty(_));
                    match local(s).as_str() {
                        // A drawing's fallback copy, and text a tracked
                        // move took away (its copy is where it went).
                        "Fallback" | "moveFrom" if !empty => skip = 1,
                        "p" if !empty => paras.push((String::new(), false)),
                        "pPr" if !empty => in_ppr = true,
                        "pStyle" if in_ppr => {
                            if let (Some(p), Some(id)) = (paras.last_mut(), attr(s, r, "val")) {
                                p.1 |= styles
                                    .get(&id)
                                    .copied()
                                    .or_else(|| heading_by_id(&id))
                                    .is_some();
                            }
                        }
                        "outlineLvl" if in_ppr => {
                            if let (Some(p), Some(v)) = (paras.last_mut(), attr(s, r, "val")) {
                                p.1 |= v.parse::<u8>().is_ok_and(|n| n < 9);
                            }
                        }
                        "r" if !empty => in_run += 1,
                        "t" if !empty && in_run > 0 => in_text = true,
                        "tab" if in_run > 0 => push_to(&mut paras, "\t"),
                        "br" | "cr" if in_run > 0 => push_to(&mut paras, "\n"),
                        "noBreakHyphen" if in_run > 0 => push_to(&mut paras, "-"),
                        "tbl" if !empty => {
                            tables += 1;
                            if tables == 1 {
                                rows.clear();
                            }
                        }
                        "tr" if !empty && tables == 1 => rows.push(Vec::new()),
                        "tc" if !empty && tables == 1 => {
                            if let Some(row) = rows.last_mut() {
                                row.push(String::new());
                            }
                        }
                        _ => {}
                    }
                }
                Event::End(s) => match s.local_name().as_ref() {
                    b"t" => in_text = false,
                    b"r" => in_run = in_run.saturating_sub(1),
                    b"pPr" => in_ppr = false,
                    b"p" => {
                        let Some((para, heading)) = paras.pop() else {
                            return;
                        };
                        if let Some(outer) = paras.last_mut() {
                            // A text box's paragraph: part of the one around it.
                            outer.0.push(' ');
                            outer.0.push_str(para.trim());
                            outer.0.push(' ');
                        } else if tables > 0 {
                            if let Some(cell) = rows.last_mut().and_then(|r| r.last_mut()) {
                                cell.push(' ');
                                cell.push_str(&para);
                            }
                        } else if heading && !para.trim().is_empty() {
                            text.section(&para.split_whitespace().collect::<Vec<_>>().join(" "));
                        } else {
                            text.block(&para);
                        }
                    }
                    b"tbl" => {
                        tables = tables.saturating_sub(1);
                        if tables == 0 {
                            for b in table_blocks(&rows) {
                                text.block(&b);
                            }
                        }
                    }
                    _ => {}
                },
                _ if in_text => {
                    if let Some(p) = paras.last_mut() {
                        push_text(e, &mut p.0);
                    }
                }
                _ => {}
            }
        })
        .map_err(|e| (main.to_string(), e))?;
    if !found {
        return Err((main.to_string(), "the part is missing".into()));
    }
    Ok(text.out)
}

fn push_to(paras: &mut [(String, bool)], s: &str) {
    if let Some(p) = paras.last_mut() {
        p.0.push_str(s);
    }
}

/// What a shape is, by its placeholder type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Title,
    Body,
    /// Slide number, date, footer, header, a notes page's slide image.
    Skip,
}

/// A slide's (or notes page's) text: its title, and its shapes' text and
/// tables as blocks, in order.
#[derive(Debug, Default)]
struct SlideText {
    hidden: bool,
    title: String,
    /// Blocks, each with the role of the shape it came from.
    blocks: Vec<(Role, String)>,
}

/// The text of one slide or notes part.
fn slide_text(package: &mut Package<'_>, part: &str) -> Result<SlideText, String> {
    let mut slide = SlideText::default();
    // The shape being read: its role and paragraphs.
    let mut role = Role::Body;
    let mut paras: Vec<String> = Vec::new();
    let mut para: Option<String> = None;
    let mut in_text = false;
    let mut in_field = false;
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut in_table = false;
    let mut root = true;
    let found = package.walk(part, |e, r| match e {
        Event::Start(s) | Event::Empty(s) => {
            let empty = matches!(e, Event::Empty(_));
            let name = local(s);
            if root {
                root = false;
                slide.hidden = attr(s, r, "show").as_deref() == Some("0");
            }
            match name.as_str() {
                "sp" | "graphicFrame" if !empty => {
                    role = Role::Body;
                    paras.clear();
                }
                "ph" => {
                    role = match attr(s, r, "type").as_deref() {
                        Some("title" | "ctrTitle") => Role::Title,
                        Some("sldNum" | "dt" | "ftr" | "hdr" | "sldImg") => Role::Skip,
                        _ => Role::Body,
                    }
                }
                "p" if !empty => para = Some(String::new()),
                "t" if !empty && para.is_some() && !in_field => in_text = true,
                "br" => {
                    if let Some(p) = para.as_mut() {
                        p.push('\n');
                    }
                }
                "fld" if !empty => in_field = true,
                "tbl" if !empty => {
                    in_table = true;
                    rows.clear();
                }
                "tr" if !empty && in_table => rows.push(Vec::new()),
                "tc" if !empty && in_table => {
                    if let Some(row) = rows.last_mut() {
                        row.push(String::new());
                    }
                }
                _ => {}
            }
        }
        Event::End(s) => match s.local_name().as_ref() {
            b"t" => in_text = false,
            b"fld" => in_field = false,
            b"p" => {
                let Some(p) = para.take() else { return };
                if in_table {
                    if let Some(cell) = rows.last_mut().and_then(|r| r.last_mut()) {
                        cell.push(' ');
                        cell.push_str(&p);
                    }
                } else if !p.trim().is_empty() {
                    paras.push(p.trim().to_string());
                }
            }
            b"tbl" => {
                in_table = false;
                for b in table_blocks(&rows) {
                    slide.blocks.push((role, b));
                }
            }
            b"sp" | b"graphicFrame" => {
                let joined = paras.join("\n");
                paras.clear();
                match role {
                    Role::Title if slide.title.is_empty() => {
                        slide.title = joined.split_whitespace().collect::<Vec<_>>().join(" ");
                    }
                    _ if !joined.is_empty() => slide.blocks.push((role, joined)),
                    _ => {}
                }
                role = Role::Body;
            }
            _ => {}
        },
        _ if in_text => {
            if let Some(p) = para.as_mut() {
                push_text(e, p);
            }
        }
        _ => {}
    })?;
    if !found {
        return Err("the part is missing".into());
    }
    Ok(slide)
}

/// The text of a presentation: a section per slide, in the order the
/// presentation lists them, with its speaker notes. `Err` names the part.
fn slides_text(package: &mut Package<'_>, main: &str) -> Result<String, (String, String)> {
    let rels = package.relations(main).map_err(|e| (main.to_string(), e))?;
    let mut ids: Vec<String> = Vec::new();
    package
        .walk(main, |e, r| {
            if let Event::Start(s) | Event::Empty(s) = e {
                // r:id names the slide's relationship (the plain id is a number).
                if local(s) == "sldId" {
                    if let Some(id) = attr_where(s, r, |key| {
                        key.prefix().is_some() && key.local_name().as_ref() == b"id"
                    }) {
                        ids.push(id);
                    }
                }
            }
        })
        .map_err(|e| (main.to_string(), e))?;
    let mut text = Text::default();
    for (n, id) in ids.iter().enumerate() {
        let Some(part) = rels.iter().find(|r| &r.id == id).map(|r| r.target.clone()) else {
            continue;
        };
        let slide = slide_text(package, &part).map_err(|e| (part.clone(), e))?;
        let mut heading = format!("Slide {}", n + 1);
        if slide.hidden {
            heading.push_str(" (hidden)");
        }
        if !slide.title.is_empty() {
            heading.push_str(": ");
            heading.push_str(&slide.title);
        }
        text.section(&heading);
        for (role, b) in &slide.blocks {
            if *role != Role::Skip {
                text.block(b);
            }
        }
        let notes_part = package
            .relations(&part)
            .map_err(|e| (part.clone(), e))?
            .into_iter()
            .find(|r| r.kind.ends_with("/notesSlide"))
            .map(|r| r.target);
        if let Some(notes_part) = notes_part {
            let notes = slide_text(package, &notes_part).map_err(|e| (notes_part.clone(), e))?;
            let said: Vec<&str> = notes
                .blocks
                .iter()
                .filter(|(role, _)| *role == Role::Body)
                .map(|(_, b)| b.as_str())
                .collect();
            if !said.is_empty() {
                text.block(&format!("Speaker notes: {}", said.join("\n")));
            }
        }
    }
    Ok(text.out)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::io::Write;

    /// A zip of `parts` (name, content), as Office writes a package.
    pub(crate) fn package(parts: &[(&str, &str)]) -> Vec<u8> {
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for (name, content) in parts {
            zip.start_file(*name, zip::write::SimpleFileOptions::default())
                .unwrap();
            zip.write_all(content.as_bytes()).unwrap();
        }
        zip.finish().unwrap().into_inner()
    }

    const W: &str = r#"xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006""#;
    const P: &str = r#"xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main" xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships""#;
    const RELS: &str = r#"xmlns="http://schemas.openxmlformats.org/package/2006/relationships""#;
    const REL: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";

    fn root_rels(main: &str) -> String {
        format!(
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships {RELS}><Relationship Id="rId1" Type="{REL}/officeDocument" Target="{main}"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" Target="docProps/core.xml"/></Relationships>"#
        )
    }

    fn core(title: &str) -> String {
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>{title}</dc:title><dc:creator>A. Consultant</dc:creator></cp:coreProperties>"#
        )
    }

    fn para(style: Option<&str>, runs: &str) -> String {
        let ppr = style.map_or(String::new(), |s| {
            format!(r#"<w:pPr><w:pStyle w:val="{s}"/><w:tabs><w:tab w:val="left" w:pos="720"/></w:tabs></w:pPr>"#)
        });
        format!("<w:p>{ppr}{runs}</w:p>")
    }

    fn run(text: &str) -> String {
        format!(r#"<w:r><w:t xml:space="preserve">{text}</w:t></w:r>"#)
    }

    /// A memo: a localised heading style (its id German, its name the
    /// built-in "heading 1"), a style based on it, a table, a text box
    /// with its fallback copy, tracked deletions and moves, field codes,
    /// entities.
    pub(crate) fn memo_docx() -> Vec<u8> {
        let styles = format!(
            r#"<w:styles {W}><w:style w:type="paragraph" w:styleId="berschrift1"><w:name w:val="heading 1"/></w:style><w:style w:type="character" w:styleId="berschrift1Zchn"><w:name w:val="Heading 1 Char"/><w:basedOn w:val="Absatz"/></w:style><w:style w:type="paragraph" w:styleId="Custom"><w:name w:val="Board heading"/><w:basedOn w:val="berschrift1"/></w:style><w:style w:type="paragraph" w:styleId="Quote"><w:name w:val="Quote"/></w:style></w:styles>"#
        );
        let body = [
            para(None, &run("Prepared for the board &amp; the CFO.")),
            para(Some("berschrift1"), &run("Pricing")),
            para(
                Some("Quote"),
                &format!(
                    "{}<w:r><w:tab/></w:r>{}<w:del><w:r><w:delText>withdrawn words</w:delText></w:r></w:del><w:r><w:instrText> PAGE </w:instrText></w:r><w:moveFrom><w:r><w:t>moved away</w:t></w:r></w:moveFrom>{}",
                    run("List prices rise"),
                    run("15% in Q3."),
                    run(" Churn&#x2019;s risk is low.")
                ),
            ),
            format!(
                r#"<w:tbl><w:tr><w:tc>{}</w:tc><w:tc>{}</w:tc></w:tr><w:tr><w:tc>{}</w:tc><w:tc>{}{}</w:tc></w:tr></w:tbl>"#,
                para(None, &run("Segment")),
                para(None, &run("Churn")),
                para(None, &run("SMB")),
                para(None, &run("4%")),
                para(None, &run("(was 3%)"))
            ),
            para(Some("Custom"), &run("Risks")),
            para(
                None,
                &format!(
                    r#"<w:r><mc:AlternateContent><mc:Choice Requires="wps"><w:drawing><w:txbxContent>{}</w:txbxContent></w:drawing></mc:Choice><mc:Fallback><w:pict><w:txbxContent>{}</w:txbxContent></w:pict></mc:Fallback></mc:AlternateContent></w:r>{}"#,
                    para(None, &run("Boxed note")),
                    para(None, &run("Boxed note")),
                    run("Competitors may follow.")
                ),
            ),
        ]
        .concat();
        package(&[
            ("_rels/.rels", &root_rels("word/document.xml")),
            ("docProps/core.xml", &core(" Pricing  memo &amp; risks ")),
            (
                "word/_rels/document.xml.rels",
                &format!(
                    r#"<Relationships {RELS}><Relationship Id="rId1" Type="{REL}/styles" Target="styles.xml"/></Relationships>"#
                ),
            ),
            ("word/styles.xml", &styles),
            (
                "word/document.xml",
                &format!(
                    r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document {W}><w:body>{body}<w:sectPr/></w:body></w:document>"#
                ),
            ),
        ])
    }

    #[test]
    fn a_word_document_gives_its_title_headings_tables_and_text() {
        let doc = read(&memo_docx(), Kind::Word).unwrap();
        assert_eq!(doc.title.as_deref(), Some("Pricing memo & risks"));
        assert_eq!(
            doc.text,
            "Prepared for the board & the CFO.\n\n\u{c}Pricing\n\nList prices rise\t15% in Q3. Churn\u{2019}s risk is low.\n\nSegment | Churn\nSMB | 4% (was 3%)\n\n\u{c}Risks\n\nBoxed note Competitors may follow."
        );
    }

    /// A deck: slides listed out of file order, a title slide, bullets, a
    /// table, a slide number, a hidden slide, speaker notes.
    pub(crate) fn deck_pptx(notes: &str) -> Vec<u8> {
        let shape = |ph: Option<&str>, paras: &[&str]| {
            let ph = ph.map_or(String::new(), |t| format!(r#"<p:ph type="{t}"/>"#));
            let ps: String = paras
                .iter()
                .map(|p| format!("<a:p><a:r><a:rPr lang=\"en-GB\"/><a:t>{p}</a:t></a:r></a:p>"))
                .collect();
            format!(
                r#"<p:sp><p:nvSpPr><p:cNvPr id="2" name="x"/><p:cNvSpPr/><p:nvPr>{ph}</p:nvPr></p:nvSpPr><p:txBody><a:bodyPr/>{ps}</p:txBody></p:sp>"#
            )
        };
        let slide = |show: &str, shapes: String| {
            format!(
                r#"<?xml version="1.0" encoding="UTF-8"?><p:sld {P}{show}><p:cSld><p:spTree>{shapes}</p:spTree></p:cSld></p:sld>"#
            )
        };
        let table = r#"<p:graphicFrame><p:nvGraphicFramePr><p:cNvPr id="4" name="t"/><p:cNvGraphicFramePr/><p:nvPr/></p:nvGraphicFramePr><a:graphic><a:graphicData><a:tbl><a:tr><a:tc><a:txBody><a:p><a:r><a:t>Option</a:t></a:r></a:p></a:txBody></a:tc><a:tc><a:txBody><a:p><a:r><a:t>Margin</a:t></a:r></a:p></a:txBody></a:tc></a:tr><a:tr><a:tc><a:txBody><a:p><a:r><a:t>Raise 15%</a:t></a:r></a:p></a:txBody></a:tc><a:tc><a:txBody><a:p><a:r><a:t>+6 pts</a:t></a:r></a:p></a:txBody></a:tc></a:tr></a:tbl></a:graphicData></a:graphic></p:graphicFrame>"#;
        let num = r#"<p:sp><p:nvSpPr><p:cNvPr id="9" name="n"/><p:cNvSpPr/><p:nvPr><p:ph type="sldNum"/></p:nvPr></p:nvSpPr><p:txBody><a:p><a:fld type="slidenum"><a:t>2</a:t></a:fld></a:p></p:txBody></p:sp>"#;
        let first = slide(
            "",
            shape(Some("ctrTitle"), &["Pricing review"])
                + &shape(Some("subTitle"), &["Board, March"]),
        );
        let second = slide(
            "",
            shape(Some("title"), &["Options"])
                + &shape(None, &["Raise list prices", "Hold &amp; discount less"])
                + table
                + num,
        );
        let hidden = slide(
            r#" show="0""#,
            shape(Some("title"), &["Backup"]) + &shape(None, &["Raw survey data"]),
        );
        let notes_xml = format!(
            r#"<p:notes {P}><p:cSld><p:spTree>{}{}{}</p:spTree></p:cSld></p:notes>"#,
            shape(Some("sldImg"), &[]),
            shape(Some("body"), &[notes]),
            num
        );
        let slide_rels = |notes: bool| {
            let n = if notes {
                format!(
                    r#"<Relationship Id="rId2" Type="{REL}/notesSlide" Target="../notesSlides/notesSlide1.xml"/>"#
                )
            } else {
                String::new()
            };
            format!(
                r#"<Relationships {RELS}><Relationship Id="rId1" Type="{REL}/slideLayout" Target="../slideLayouts/slideLayout1.xml"/>{n}</Relationships>"#
            )
        };
        package(&[
            ("_rels/.rels", &root_rels("ppt/presentation.xml")),
            ("docProps/core.xml", &core("")),
            (
                "ppt/presentation.xml",
                &format!(
                    r#"<p:presentation {P}><p:sldIdLst><p:sldId id="256" r:id="rId7"/><p:sldId id="257" r:id="rId3"/><p:sldId id="258" r:id="rId4"/></p:sldIdLst></p:presentation>"#
                ),
            ),
            (
                "ppt/_rels/presentation.xml.rels",
                &format!(
                    r#"<Relationships {RELS}><Relationship Id="rId3" Type="{REL}/slide" Target="slides/slide1.xml"/><Relationship Id="rId4" Type="{REL}/slide" Target="/ppt/slides/slide3.xml"/><Relationship Id="rId7" Type="{REL}/slide" Target="slides/slide2.xml"/></Relationships>"#
                ),
            ),
            ("ppt/slides/slide2.xml", &first),
            ("ppt/slides/slide1.xml", &second),
            ("ppt/slides/slide3.xml", &hidden),
            ("ppt/slides/_rels/slide1.xml.rels", &slide_rels(true)),
            ("ppt/slides/_rels/slide2.xml.rels", &slide_rels(false)),
            ("ppt/notesSlides/notesSlide1.xml", &notes_xml),
        ])
    }

    #[test]
    fn a_presentation_gives_a_section_per_slide_in_order_with_tables_and_notes() {
        let doc = read(&deck_pptx("Say the margin gain twice."), Kind::PowerPoint).unwrap();
        assert_eq!(doc.title, None, "a blank title is no title");
        assert_eq!(
            doc.text,
            "\u{c}Slide 1: Pricing review\n\nBoard, March\n\n\u{c}Slide 2: Options\n\nRaise list prices\nHold & discount less\n\nOption | Margin\nRaise 15% | +6 pts\n\nSpeaker notes: Say the margin gain twice.\n\n\u{c}Slide 3 (hidden): Backup\n\nRaw survey data"
        );
        // What the package holds decides, not its name.
        let misnamed = read(&deck_pptx("x"), Kind::Word).unwrap();
        assert!(misnamed.text.starts_with("\u{c}Slide 1: Pricing review"));
    }

    #[test]
    fn long_tables_are_cut_into_blocks_that_repeat_the_header() {
        let mut rows = vec![vec!["Region".to_string(), "Note".to_string()]];
        for i in 0..40 {
            rows.push(vec![format!("R{i}"), "x".repeat(60)]);
        }
        let blocks = table_blocks(&rows);
        assert!(blocks.len() > 2, "{}", blocks.len());
        for b in &blocks {
            assert!(b.starts_with("Region | Note\nR"), "{b}");
            assert!(b.len() <= crate::search::PASSAGE_CHARS, "{}", b.len());
        }
        let all: Vec<&str> = blocks.iter().flat_map(|b| b.lines().skip(1)).collect();
        assert_eq!(all.len(), 40);
        assert_eq!(all[39], format!("R39 | {}", "x".repeat(60)));
    }

    /// An OLE compound file holding `streams`.
    fn compound(streams: &[&str]) -> Vec<u8> {
        let mut file = cfb::CompoundFile::create(Cursor::new(Vec::new())).unwrap();
        for s in streams {
            file.create_stream(format!("/{s}"))
                .unwrap()
                .write_all(b"\x01\x02")
                .unwrap();
        }
        file.flush().unwrap();
        file.into_inner().into_inner()
    }

    #[test]
    fn broken_protected_and_old_files_are_named_with_the_fix() {
        let said = |bytes: &[u8], kind| read(bytes, kind).unwrap_err();
        assert_eq!(
            said(&compound(&["EncryptionInfo", "EncryptedPackage"]), Kind::Word),
            "it is password-protected (encrypted), so its text cannot be read; in Word remove the password (File > Info > Protect, Encrypt with Password, cleared) and save it, or export it as PDF or text"
        );
        assert_eq!(
            said(&compound(&["EncryptionInfo", "EncryptedPackage"]), Kind::PowerPoint),
            "it is password-protected (encrypted), so its text cannot be read; in PowerPoint remove the password (File > Info > Protect, Encrypt with Password, cleared) and save it, or export it as PDF or text"
        );
        assert_eq!(
            said(&compound(&["WordDocument", "1Table"]), Kind::Word),
            "an old Word 97–2003 file (.doc), which the library does not read; open it in Word and save it as .docx (or export it as PDF)"
        );
        assert_eq!(
            said(&compound(&["PowerPoint Document"]), Kind::PowerPoint),
            "an old PowerPoint 97–2003 file (.ppt), which the library does not read; open it in PowerPoint and save it as .pptx (or export it as PDF)"
        );
        let mut damaged = compound(&["x"]);
        damaged.truncate(600);
        assert!(said(&damaged, Kind::Word)
            .starts_with("not a readable Word document (a damaged Office compound file: "));
        assert_eq!(
            said(b"Dear board,\nprices rise.", Kind::Word),
            "not a Word document (a .docx file is a zip package, and this is not one: it may be damaged or misnamed); open it in Word and save it again as .docx, or export it as PDF or text"
        );
        let mut cut = memo_docx();
        cut.truncate(cut.len() / 2);
        let m = said(&cut, Kind::Word);
        assert!(
            m.starts_with("not a readable Word document (the zip package is damaged: ")
                && m.ends_with(
                    "); open it in Word and save it again as .docx, or export it as PDF or text"
                ),
            "{m}"
        );
        assert_eq!(
            said(&package(&[("notes.txt", "hello")]), Kind::PowerPoint),
            "not a readable PowerPoint presentation (it has no main document part); open it in PowerPoint and save it again as .pptx, or export it as PDF or text"
        );
        let bad_xml = package(&[
            ("_rels/.rels", &root_rels("word/document.xml")),
            ("word/document.xml", &format!("<w:document {W}><w:body><w:p><w:r><w:t>Hi</w:x></w:r></w:p></w:body></w:document>")),
        ]);
        let m = said(&bad_xml, Kind::Word);
        assert!(
            m.starts_with("not a readable Word document (word/document.xml: "),
            "{m}"
        );
        let book = package(&[
            ("_rels/.rels", &root_rels("xl/workbook.xml")),
            ("xl/workbook.xml", "<workbook/>"),
        ]);
        assert_eq!(
            said(&book, Kind::Word),
            "an Excel workbook, which the library does not read; export the sheets it needs as PDF or text (a Word document is read from .docx)"
        );
    }

    #[test]
    fn a_package_that_unpacks_past_the_limit_is_refused() {
        // Highly compressible: 300 MB of spaces inside a paragraph would
        // take seconds; the limit is what is tested, at 1 MB.
        let body = format!(
            "<w:document {W}><w:body><w:p><w:r><w:t>{}</w:t></w:r></w:p></w:body></w:document>",
            " ".repeat(2 * 1024 * 1024)
        );
        let bytes = package(&[
            ("_rels/.rels", &root_rels("word/document.xml")),
            ("word/document.xml", &body),
        ]);
        assert_eq!(
            read_limited(&bytes, Kind::Word, 1024 * 1024).unwrap_err(),
            "its parts unpack to more than 1 MB; split it, or export the part you need as PDF or text"
        );
        // The root element is read once, the whole part once more.
        assert!(read_limited(&bytes, Kind::Word, 3 * 1024 * 1024).is_ok());
    }

    #[test]
    fn a_document_written_by_docx_rs_reads_back() {
        use docx_rs::{Docx, Paragraph, Run, Style, StyleType, Table, TableCell, TableRow};
        let cell = |t: &str| {
            TableCell::new().add_paragraph(Paragraph::new().add_run(Run::new().add_text(t)))
        };
        let mut out = Cursor::new(Vec::new());
        Docx::new()
            .add_style(Style::new("Heading1", StyleType::Paragraph).name("Heading 1"))
            .add_paragraph(
                Paragraph::new()
                    .style("Heading1")
                    .add_run(Run::new().add_text("Market")),
            )
            .add_paragraph(Paragraph::new().add_run(Run::new().add_text("Demand grew 8% & held.")))
            .add_table(Table::new(vec![
                TableRow::new(vec![cell("Year"), cell("Growth")]),
                TableRow::new(vec![cell("2026"), cell("8%")]),
            ]))
            .build()
            .pack(&mut out)
            .unwrap();
        let doc = read(&out.into_inner(), Kind::Word).unwrap();
        assert_eq!(doc.title, None);
        assert_eq!(
            doc.text,
            "\u{c}Market\n\nDemand grew 8% & held.\n\nYear | Growth\n2026 | 8%"
        );
    }

    #[test]
    fn relationship_targets_resolve_to_part_names() {
        assert_eq!(
            resolve("ppt/slides", "../notesSlides/n1.xml"),
            "ppt/notesSlides/n1.xml"
        );
        assert_eq!(resolve("ppt", "slides/slide1.xml"), "ppt/slides/slide1.xml");
        assert_eq!(
            resolve("ppt", "/ppt/slides/slide3.xml"),
            "ppt/slides/slide3.xml"
        );
        assert_eq!(resolve("", "word/document.xml"), "word/document.xml");
    }
}
