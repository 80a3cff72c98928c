//! Articles as they come from the web: reading, cleaning and sentence splitting.
//!
//! [`clean`] turns raw scraped text into paragraphs of running prose: it
//! normalises Unicode (NFC), drops navigation and share-widget strings, bylines,
//! bare URLs, repeated captions and everything after a page footer ("Leave a
//! Reply", "With reporting by ...", "Original url:"), and joins hard-wrapped
//! lines. [`Article::from_text`] then splits the cleaned text into
//! [`Sentence`]s with character offsets.

use std::collections::HashSet;
use std::path::Path;
use std::sync::OnceLock;

use regex::Regex;
use serde::Serialize;
use unicode_normalization::UnicodeNormalization;

use crate::error::{Error, Result};
use crate::sentences::split_sentences;

/// One sentence of a cleaned article.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Sentence {
    /// 0-based position of the sentence in its article.
    pub index: usize,
    /// The sentence text, exactly as it stands in the cleaned article text.
    pub text: String,
    /// Offset of the first character in the cleaned text (in Unicode scalar values).
    pub start: usize,
    /// Offset one past the last character in the cleaned text (in Unicode scalar values).
    pub end: usize,
}

/// A cleaned article and its sentences.
#[derive(Debug, Clone, Serialize)]
pub struct Article {
    /// Where the article came from: a file name, or `<stdin>`.
    pub name: String,
    /// The first real line of the article (its headline, in most cases).
    pub title: String,
    /// The cleaned text: paragraphs separated by blank lines.
    pub text: String,
    /// The sentences of [`Article::text`], in order.
    pub sentences: Vec<Sentence>,
}

impl Article {
    /// Cleans raw text and splits it into sentences.
    ///
    /// ```
    /// let raw = "Breaking News\n\nMinsk and Moscow met on Feb. 3. They talked.\n\nLeave a Reply\nspam";
    /// let article = stance::Article::from_text("example.txt", raw);
    /// let texts: Vec<_> = article.sentences.iter().map(|s| s.text.as_str()).collect();
    /// assert_eq!(texts, ["Minsk and Moscow met on Feb. 3.", "They talked."]);
    /// ```
    pub fn from_text(name: &str, raw: &str) -> Article {
        let text = clean(raw);
        let sentences = split_sentences(&text);
        let title = text.lines().next().unwrap_or_default().to_string();
        Article {
            name: name.to_string(),
            title,
            text,
            sentences,
        }
    }

    /// Reads an article from a file. Invalid UTF-8 is replaced (U+FFFD) and
    /// reported through `warn` with the byte offset of the first bad byte.
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be read (missing, no permission), and
    /// [`Error::Input`] for a directory or a binary file (one with a NUL byte).
    pub fn read(path: &Path, warn: &mut dyn FnMut(String)) -> Result<Article> {
        if path.is_dir() {
            return Err(Error::Input {
                origin: path.display().to_string(),
                message: "is a directory, not an article file; pass the files inside it".into(),
            });
        }
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, "read", e))?;
        if let Some(offset) = bytes.iter().position(|&b| b == 0) {
            return Err(Error::Input {
                origin: path.display().to_string(),
                message: format!(
                    "looks like a binary file (NUL byte at byte {offset}); pass a plain-text article"
                ),
            });
        }
        let text = decode_lossy(&bytes, &path.display().to_string(), warn);
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string());
        Ok(Article::from_text(&name, &text))
    }
}

/// Decodes bytes as UTF-8, replacing invalid sequences and warning once with
/// the byte offset of the first one.
pub fn decode_lossy(bytes: &[u8], origin: &str, warn: &mut dyn FnMut(String)) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(e) => {
            warn(format!(
                "{origin}: invalid UTF-8 at byte {}; bad bytes were replaced with U+FFFD (convert the file to UTF-8 to silence this)",
                e.valid_up_to()
            ));
            String::from_utf8_lossy(bytes).into_owned()
        }
    }
}

/// Lines whose whole text is a known navigation, widget or promotion string.
fn boilerplate_line() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r"(?xi)^(?:
                accessibility\ links | breaking\ news | skip\ to\ (?:main\ )?content
              | support\ \S+ | click\ to\ (?:see|view|enlarge)\ .* | related\ (?:article|articles|stories|news):.*
              | (?:read|see)\ (?:more|also):?.* | share(?:\ this)?(?:\ (?:article|story|post))? | advertisement
              | subscribe\ .* | follow\ us\ .* | sign\ up\ .* | comments? | print | email
              | .*\b\d+x\d+\ image | photo:.* | image:.* | source:.* | posted\ (?:on|by)\ .*
              | .*\((?:file\ )?photo\) | .*\(photo:?\ [^)]*\)
              | by\ [\p{Lu}][\p{L}.'’-]+(?:\s+[\p{Lu}][\p{L}.'’-]+){0,3}
            )$",
        )
        .expect("boilerplate pattern is valid")
    })
}

/// Lines after which nothing belongs to the article any more.
fn footer_line() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r"(?i)^(?:leave a (?:reply|comment)|your email address will not be published.*|with reporting by .*|original url:.*|reporting by .*|\d+ comments?)$",
        )
        .expect("footer pattern is valid")
    })
}

/// Date stamps such as "1 Aug, 2022 16:03" or "Nov. 4, 2021".
fn date_stamp_line() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r"(?i)^(?:\d{1,2}\s+\p{L}{3,9}\.?,?\s+\d{4}|\p{L}{3,9}\.?\s+\d{1,2},?\s+\d{4})(?:,?\s+\d{1,2}:\d{2}(?:\s*[ap]\.?m\.?)?)?(?:\s+\p{Lu}{2,4})?$",
        )
        .expect("date pattern is valid")
    })
}

/// A photo credit ("Mikhail Metzel / TASS") at the end of a paragraph.
fn photo_credit() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"(?:^|\s)[\p{Lu}][\p{L}'’.-]+(?:\s+[\p{Lu}][\p{L}'’.-]+){1,3}\s*/\s*[\p{Lu}][\p{L}.-]*(?:\s*/\s*[\p{Lu}][\p{L}.-]*)?$")
            .expect("photo credit pattern is valid")
    })
}

fn url() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"(?i)\b(?:https?://|www\.)\S+").expect("url pattern is valid"))
}

/// Normalises one raw line: NFC, no control or zero-width characters,
/// non-breaking spaces and tabs as spaces, runs of spaces collapsed, trimmed.
fn normalise_line(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut pending_space = false;
    for c in line.nfc() {
        let c = match c {
            '\u{00A0}' | '\u{2007}' | '\u{202F}' | '\t' | '\u{2000}'..='\u{200A}' | '\u{3000}' => {
                ' '
            }
            _ => c,
        };
        if c == ' ' || c.is_whitespace() {
            pending_space = !out.is_empty();
            continue;
        }
        if c.is_control() || is_invisible(c) {
            continue;
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        out.push(c);
    }
    out
}

/// Zero-width, bidi-control and other invisible format characters.
fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{2069}' | '\u{FEFF}' | '\u{FFF9}'..='\u{FFFB}')
}

/// Whether a line is navigation, a widget string, a byline or a URL rather than prose.
fn is_noise(line: &str) -> bool {
    if boilerplate_line().is_match(line) || date_stamp_line().is_match(line) {
        return true;
    }
    // Icon strip: "icon bookmark-bicon bookmarkicon cameraicon ..."
    let words: Vec<&str> = line.split_whitespace().collect();
    let icon_words = words.iter().filter(|w| w.contains("icon")).count();
    if icon_words >= 5 && icon_words * 3 >= words.len() {
        return true;
    }
    // Bare URLs (possibly wrapped onto a fragment with no letters).
    let without_urls = url().replace_all(line, "");
    if url().is_match(line) && !without_urls.chars().any(char::is_alphabetic) {
        return true;
    }
    if !line.chars().any(char::is_alphabetic) {
        return true;
    }
    // Short fragments with no sentence punctuation: menu items, section
    // names, outlet names ("Politics Regional", "Radio Free Europe").
    let ends_like_sentence = line
        .trim_end_matches(['"', '\'', '”', '’', '»', ')'])
        .ends_with(['.', '!', '?', '…']);
    words.len() <= 4 && !ends_like_sentence
}

/// Cleans raw article text into paragraphs of prose separated by blank lines.
///
/// ```
/// let raw = "Politics Regional\n\nThe talks ended.\nhttps://example.com/x\n\nLeave a Reply\nspam";
/// assert_eq!(stance::article::clean(raw), "The talks ended.");
/// ```
///
/// Hard wrapping is detected per article (several long lines directly followed
/// by another text line); in a wrapped article the lines of a paragraph are
/// joined with a space, elsewhere every line is a paragraph of its own.
pub fn clean(raw: &str) -> String {
    let raw = raw.replace("\r\n", "\n").replace('\r', "\n");
    let lines: Vec<String> = raw.lines().map(normalise_line).collect();

    // Blocks of consecutive non-empty lines.
    let mut blocks: Vec<Vec<String>> = Vec::new();
    let mut current: Vec<String> = Vec::new();
    for line in lines {
        if line.is_empty() {
            if !current.is_empty() {
                blocks.push(std::mem::take(&mut current));
            }
        } else {
            current.push(line);
        }
    }
    if !current.is_empty() {
        blocks.push(current);
    }

    let wrapped = is_hard_wrapped(&blocks);
    let mut paragraphs: Vec<Vec<String>> = Vec::new();
    for block in blocks {
        if wrapped {
            paragraphs.push(block);
        } else {
            paragraphs.extend(block.into_iter().map(|l| vec![l]));
        }
    }

    let mut seen: HashSet<String> = HashSet::new();
    let mut kept: Vec<String> = Vec::new();
    'paragraphs: for paragraph in paragraphs {
        let mut lines_out: Vec<String> = Vec::new();
        for line in paragraph {
            if footer_line().is_match(&line) {
                if !lines_out.is_empty() {
                    kept.push(lines_out.join("\n"));
                }
                break 'paragraphs;
            }
            // Wrapped URLs: a URL line and its continuation fragment.
            if is_noise(&line) && !(wrapped && !lines_out.is_empty() && !url().is_match(&line)) {
                continue;
            }
            lines_out.push(line);
        }
        if lines_out.is_empty() {
            continue;
        }
        let mut joined = join_wrapped(&lines_out);
        if let Some(credit) = photo_credit().find(&joined) {
            joined.truncate(credit.start());
            joined.truncate(joined.trim_end().len());
        }
        // A repeated paragraph is a duplicated caption or headline.
        if joined.is_empty() || is_noise(&joined) || !seen.insert(joined.to_lowercase()) {
            continue;
        }
        kept.push(joined);
    }
    kept.join("\n\n")
}

/// Joins the lines of a wrapped paragraph, re-joining words hyphenated at a
/// line end ("anti-" + "government").
fn join_wrapped(lines: &[String]) -> String {
    let mut out = String::new();
    for (i, line) in lines.iter().enumerate() {
        if i > 0 {
            let hyphenated = out.ends_with('-')
                && out[..out.len() - 1]
                    .chars()
                    .last()
                    .is_some_and(char::is_alphabetic)
                && line.chars().next().is_some_and(char::is_lowercase);
            if !hyphenated {
                out.push(' ');
            }
        }
        out.push_str(line);
    }
    out
}

/// An article is hard-wrapped when at least three long lines (60+ characters)
/// run on into another line of the same block and most long lines do, or when
/// a line of 40+ characters stops mid-sentence and the next line goes on in
/// lower case ("... met the prime" / "minister for talks ...").
fn is_hard_wrapped(blocks: &[Vec<String>]) -> bool {
    let mut running_on = 0usize;
    let mut long = 0usize;
    for block in blocks {
        for (i, line) in block.iter().enumerate() {
            let next = block.get(i + 1);
            let chars = line.chars().count();
            if chars >= 40
                && !line.ends_with(['.', '!', '?', '…', '"', '”', ':'])
                && next
                    .and_then(|n| n.chars().next())
                    .is_some_and(char::is_lowercase)
            {
                return true;
            }
            if chars >= 60 {
                long += 1;
                if next.is_some() {
                    running_on += 1;
                }
            }
        }
    }
    running_on >= 3 && running_on * 2 >= long
}
