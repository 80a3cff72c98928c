//! Documents to summarise: where they come from, their metadata header, and
//! reading them (plain text or HTML) into an [`Article`].
//!
//! A plain-text article may start with a small metadata header: `key: value`
//! lines (`outlet`, `date`, `url`, or any other lower-case key) closed by a
//! line `---`. The header is removed before cleaning, so it never becomes
//! article text:
//!
//! ```text
//! outlet: Daily Example
//! date: 2021-11-04
//! url: https://news.example/harbour
//! ---
//! Harbour reopens
//!
//! The harbour reopened today.
//! ```

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::article::{decode_lossy, Article};
use crate::error::{Error, Result};
use crate::webpage;

/// Metadata of one article (all optional).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Metadata {
    /// The publication.
    pub outlet: Option<String>,
    /// The publication date as written (ISO 8601 recommended).
    pub date: Option<String>,
    /// The article's address.
    pub url: Option<String>,
    /// Any other header fields.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: BTreeMap<String, String>,
}

impl Metadata {
    /// The four-digit year of [`Metadata::date`], if it has one.
    ///
    /// ```
    /// let m = stance::document::Metadata { date: Some("4 Nov 2021".into()), ..Default::default() };
    /// assert_eq!(m.year().as_deref(), Some("2021"));
    /// ```
    pub fn year(&self) -> Option<String> {
        let date = self.date.as_deref()?;
        let bytes = date.as_bytes();
        (0..bytes.len().saturating_sub(3)).find_map(|i| {
            let run = &bytes[i..i + 4];
            let bounded = (i == 0 || !bytes[i - 1].is_ascii_digit())
                && bytes.get(i + 4).is_none_or(|b| !b.is_ascii_digit());
            (bounded && run.iter().all(u8::is_ascii_digit) && (run[0] == b'1' || run[0] == b'2'))
                .then(|| date[i..i + 4].to_string())
        })
    }

    fn merge_missing(&mut self, other: Metadata) {
        self.outlet = self.outlet.take().or(other.outlet);
        self.date = self.date.take().or(other.date);
        self.url = self.url.take().or(other.url);
        for (k, v) in other.extra {
            self.extra.entry(k).or_insert(v);
        }
    }
}

/// Splits a metadata header off the start of `raw`. Without a well-formed
/// header (only `key: value` lines, then `---`, within the first 30 lines),
/// the text is returned unchanged with empty metadata.
///
/// ```
/// let (meta, body) = stance::document::split_header("outlet: Daily Example\ndate: 2021-11-04\n---\nHeadline\n\nBody.");
/// assert_eq!(meta.outlet.as_deref(), Some("Daily Example"));
/// assert_eq!(body, "Headline\n\nBody.");
/// let (meta, body) = stance::document::split_header("Note: not a header\nText.");
/// assert_eq!((meta, body), (Default::default(), "Note: not a header\nText."));
/// ```
pub fn split_header(raw: &str) -> (Metadata, &str) {
    let text = raw.trim_start_matches('\u{feff}');
    let mut meta = Metadata::default();
    let mut offset = 0usize;
    for (n, line) in text.split_inclusive('\n').enumerate() {
        if n >= 30 {
            break;
        }
        offset += line.len();
        let content = line.trim_end_matches(['\n', '\r']).trim();
        if content == "---" {
            if n == 0 {
                break;
            }
            return (meta, &text[offset..]);
        }
        let Some((key, value)) = content.split_once(':') else {
            break;
        };
        let key = key.trim();
        let valid_key = !key.is_empty()
            && key
                .chars()
                .all(|c| c.is_ascii_lowercase() || c == '_' || c == '-');
        if !valid_key {
            break;
        }
        let value = value.trim().to_string();
        match key {
            "outlet" => meta.outlet = Some(value),
            "date" => meta.date = Some(value),
            "url" => meta.url = Some(value),
            _ => {
                meta.extra.insert(key.to_string(), value);
            }
        }
    }
    (Metadata::default(), raw)
}

/// Where a document comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// Standard input (`-`).
    Stdin,
    /// A file.
    File(PathBuf),
}

impl Input {
    /// How the input is named in reports and errors.
    pub fn origin(&self) -> String {
        match self {
            Input::Stdin => "<stdin>".to_string(),
            Input::File(p) => p.display().to_string(),
        }
    }
}

/// File extensions read from folders.
const ARTICLE_EXTENSIONS: &[&str] = &["txt", "html", "htm"];

/// Expands the paths given on the command line: `-` is stdin, a folder
/// becomes every `.txt`, `.html` and `.htm` file under it (recursively,
/// sorted), anything else is taken as a file. A folder that cannot be
/// listed is an error in its place; the other inputs are still returned.
pub fn collect_inputs(paths: &[PathBuf]) -> Vec<Result<Input>> {
    let mut out = Vec::new();
    for path in paths {
        if path.as_os_str() == "-" {
            out.push(Ok(Input::Stdin));
        } else if path.is_dir() {
            let mut files = Vec::new();
            match walk(path, &mut files) {
                Ok(()) => {
                    files.sort();
                    out.extend(files.into_iter().map(|f| Ok(Input::File(f))));
                }
                Err(e) => out.push(Err(e)),
            }
        } else {
            out.push(Ok(Input::File(path.clone())));
        }
    }
    out
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>) -> Result<()> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, "list folder", e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir, "list folder", e))?;
        let path = entry.path();
        let file_type = entry
            .file_type()
            .map_err(|e| Error::io(&path, "inspect", e))?;
        if file_type.is_dir() {
            walk(&path, files)?;
        } else if path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| ARTICLE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
        {
            files.push(path);
        }
    }
    Ok(())
}

/// One article with its origin and metadata.
#[derive(Debug, Clone)]
pub struct Document {
    /// The path as given or found (or `<stdin>`).
    pub origin: String,
    /// Metadata from the header or the page's `<meta>` tags.
    pub metadata: Metadata,
    /// The cleaned article.
    pub article: Article,
}

/// Reads and cleans one document. HTML (by extension, or by content for
/// stdin and other files) goes through [`webpage::extract`]; plain text may
/// carry a metadata header (see the module docs).
///
/// # Errors
/// [`Error::Io`] when the file cannot be read, [`Error::Input`] when it is
/// binary or has no sentences left after cleaning.
pub fn read_document(input: &Input, warn: &mut dyn FnMut(String)) -> Result<Document> {
    let origin = input.origin();
    let bytes = match input {
        Input::Stdin => {
            let mut bytes = Vec::new();
            std::io::stdin()
                .read_to_end(&mut bytes)
                .map_err(|e| Error::io("<stdin>", "read", e))?;
            bytes
        }
        Input::File(path) => {
            if path.is_dir() {
                return Err(Error::Input {
                    origin,
                    message: "is a folder; pass it as an input to read the articles inside".into(),
                });
            }
            std::fs::read(path).map_err(|e| Error::io(path, "read", e))?
        }
    };
    if bytes.contains(&0) {
        return Err(Error::Input {
            origin,
            message: "looks like a binary file (it has NUL bytes); pass text or HTML articles"
                .into(),
        });
    }
    let text = decode_lossy(&bytes, &origin, warn);
    let html_by_name = matches!(input, Input::File(p) if p
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("html") || e.eq_ignore_ascii_case("htm")));
    let name = match input {
        Input::Stdin => origin.clone(),
        Input::File(p) => p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| origin.clone()),
    };
    let (metadata, article) = if html_by_name || webpage::looks_like_html(&text) {
        let (mut page_meta, body) = webpage::extract(&text);
        let (header, body) = split_header(&body);
        let mut metadata = header;
        metadata.merge_missing(std::mem::take(&mut page_meta));
        (metadata, Article::from_text(&name, body))
    } else {
        let (metadata, body) = split_header(&text);
        (metadata, Article::from_text(&name, body))
    };
    if article.sentences.is_empty() {
        return Err(Error::Input {
            origin,
            message: "no sentences left after cleaning (empty, or only navigation and boilerplate)"
                .into(),
        });
    }
    Ok(Document {
        origin,
        metadata,
        article,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_needs_its_closing_line() {
        let (meta, body) = split_header("outlet: X\nThe talks ended.\n");
        assert_eq!(meta, Metadata::default());
        assert_eq!(body, "outlet: X\nThe talks ended.\n");
        let (meta, body) = split_header("---\nText");
        assert_eq!(meta, Metadata::default());
        assert_eq!(body, "---\nText");
    }

    #[test]
    fn header_keeps_unknown_keys_and_crlf() {
        let (meta, body) = split_header("outlet: X\r\nsection: world\r\n---\r\nBody.");
        assert_eq!(meta.outlet.as_deref(), Some("X"));
        assert_eq!(meta.extra.get("section").map(String::as_str), Some("world"));
        assert_eq!(body, "Body.");
    }

    #[test]
    fn years_are_found_in_many_date_forms() {
        for (date, year) in [
            ("2021-11-04", Some("2021")),
            ("Nov. 4, 2021", Some("2021")),
            ("04/11/2021 10:00", Some("2021")),
            ("yesterday", None),
            ("12345", None),
        ] {
            let m = Metadata {
                date: Some(date.into()),
                ..Metadata::default()
            };
            assert_eq!(m.year().as_deref(), year, "{date}");
        }
    }

    #[test]
    fn folders_are_walked_recursively_and_sorted() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("b")).unwrap();
        for f in ["b/z.txt", "a.HTML", "c.htm", "skip.md", "b/a.txt"] {
            std::fs::write(dir.path().join(f), "x").unwrap();
        }
        let got: Vec<String> = collect_inputs(&[dir.path().to_path_buf()])
            .into_iter()
            .map(|i| {
                let Input::File(p) = i.unwrap() else { panic!() };
                p.strip_prefix(dir.path()).unwrap().display().to_string()
            })
            .collect();
        assert_eq!(got, ["a.HTML", "b/a.txt", "b/z.txt", "c.htm"]);
    }
}
