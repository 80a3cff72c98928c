//! Article text from web pages saved as HTML.
//!
//! [`extract`] parses the page with an HTML5 parser (`scraper`, built on
//! html5ever), takes the headline from the first `<h1>` (else `<title>`) and
//! the body from `<article>`, else `<main>`, else `[role=main]`, else
//! `<body>`; it drops scripts, styles, navigation, headers, footers, asides,
//! forms and other non-text elements, and keeps block elements as paragraphs
//! (separated by blank lines) for the cleaner. Outlet, date and address come
//! from the usual `<meta>` tags when present.

use scraper::{ElementRef, Html, Node, Selector};

use crate::document::Metadata;

/// Elements whose content is never article text.
const DROPPED: &[&str] = &[
    "script", "style", "noscript", "template", "nav", "header", "footer", "aside", "form",
    "button", "select", "option", "iframe", "svg", "canvas", "figure", "video", "audio", "object",
    "head", "menu", "dialog",
];

/// Elements that start a new paragraph.
const BLOCKS: &[&str] = &[
    "p",
    "div",
    "section",
    "article",
    "main",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "li",
    "ul",
    "ol",
    "blockquote",
    "pre",
    "table",
    "tr",
    "td",
    "th",
    "dd",
    "dt",
    "br",
    "hr",
    "address",
];

/// Whether text looks like an HTML document rather than plain text.
///
/// ```
/// assert!(stance::webpage::looks_like_html("  <!DOCTYPE html><html>..."));
/// assert!(!stance::webpage::looks_like_html("Minsk, <b> is not a page"));
/// ```
pub fn looks_like_html(text: &str) -> bool {
    let head: String = text
        .trim_start_matches('\u{feff}')
        .trim_start()
        .chars()
        .take(15)
        .collect::<String>()
        .to_lowercase();
    head.starts_with("<!doctype html") || head.starts_with("<html") || head.starts_with("<?xml")
}

fn selector(css: &str) -> Option<Selector> {
    Selector::parse(css).ok()
}

/// Extracts metadata and article text (paragraphs separated by blank lines).
///
/// ```
/// let page = r#"<html><head><title>Site | A headline</title>
///   <meta property="og:site_name" content="Daily Example"></head>
///   <body><nav><a href="/">Home</a></nav>
///   <article><h1>Harbour reopens</h1><p>The harbour <b>reopened</b> today.</p>
///   <script>track()</script><p>Ships returned.</p></article>
///   <footer>© Example</footer></body></html>"#;
/// let (meta, text) = stance::webpage::extract(page);
/// assert_eq!(text, "Harbour reopens\n\nThe harbour reopened today.\n\nShips returned.");
/// assert_eq!(meta.outlet.as_deref(), Some("Daily Example"));
/// ```
pub fn extract(html: &str) -> (Metadata, String) {
    let doc = Html::parse_document(html);
    let metadata = page_metadata(&doc);

    let root = ["article", "main", "[role=main]", "body"]
        .iter()
        .filter_map(|css| selector(css))
        .find_map(|sel| doc.select(&sel).next());
    let mut paragraphs: Vec<String> = Vec::new();
    let mut current = String::new();
    if let Some(root) = root {
        collect_text(root, &mut current, &mut paragraphs);
    }
    flush(&mut current, &mut paragraphs);

    let headline = selector("h1")
        .and_then(|sel| {
            doc.select(&sel)
                .next()
                .map(|h| squash(&h.text().collect::<String>()))
        })
        .filter(|h| !h.is_empty())
        .or_else(|| {
            selector("title").and_then(|sel| {
                doc.select(&sel)
                    .next()
                    .map(|t| squash(&t.text().collect::<String>()))
            })
        })
        .filter(|h| !h.is_empty());
    if let Some(headline) = headline {
        if paragraphs.first() != Some(&headline) {
            paragraphs.insert(0, headline);
        }
    }
    (metadata, paragraphs.join("\n\n"))
}

fn collect_text(element: ElementRef, current: &mut String, paragraphs: &mut Vec<String>) {
    for child in element.children() {
        match child.value() {
            Node::Text(text) => current.push_str(text),
            Node::Element(e) => {
                let name = e.name();
                if DROPPED.contains(&name) {
                    continue;
                }
                let block = BLOCKS.contains(&name);
                if block {
                    flush(current, paragraphs);
                }
                if let Some(child) = ElementRef::wrap(child) {
                    collect_text(child, current, paragraphs);
                }
                if block {
                    flush(current, paragraphs);
                }
            }
            _ => {}
        }
    }
}

fn flush(current: &mut String, paragraphs: &mut Vec<String>) {
    let text = squash(current);
    if !text.is_empty() {
        paragraphs.push(text);
    }
    current.clear();
}

/// Collapses white space (including line breaks inside a paragraph) to single spaces.
fn squash(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn page_metadata(doc: &Html) -> Metadata {
    let meta = |names: &[&str]| -> Option<String> {
        names.iter().find_map(|name| {
            let css = format!(r#"meta[property="{name}"], meta[name="{name}"]"#);
            selector(&css).and_then(|sel| {
                doc.select(&sel)
                    .filter_map(|m| m.value().attr("content"))
                    .map(squash)
                    .find(|c| !c.is_empty())
            })
        })
    };
    let canonical = selector(r#"link[rel="canonical"]"#).and_then(|sel| {
        doc.select(&sel)
            .filter_map(|l| l.value().attr("href"))
            .map(squash)
            .find(|h| !h.is_empty())
    });
    Metadata {
        outlet: meta(&["og:site_name", "application-name", "publisher"]),
        date: meta(&[
            "article:published_time",
            "date",
            "pubdate",
            "publish-date",
            "dc.date",
        ]),
        url: canonical.or_else(|| meta(&["og:url"])),
        ..Metadata::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn main_is_used_without_article_and_boilerplate_is_dropped() {
        let page = "<!doctype html><html><body><header><h1>Site name</h1></header>\
            <main><h2>Talks end</h2><p>First line<br>second line.</p><aside>Read more</aside>\
            <form>Subscribe</form><ul><li>One point.</li><li>Two points.</li></ul></main>\
            <footer>About us</footer><style>p{}</style></body></html>";
        let (_, text) = extract(page);
        assert_eq!(
            text,
            "Site name\n\nTalks end\n\nFirst line\n\nsecond line.\n\nOne point.\n\nTwo points."
        );
    }

    #[test]
    fn entities_are_decoded_and_metadata_read() {
        let page = r#"<html><head><link rel="canonical" href="https://news.example/a">
            <meta property="article:published_time" content="2021-11-04T10:00:00Z"></head>
            <body><p>Fish &amp; chips &lt;3 &#8220;quoted&#8221;.</p></body></html>"#;
        let (meta, text) = extract(page);
        assert_eq!(text, "Fish & chips <3 “quoted”.");
        assert_eq!(meta.url.as_deref(), Some("https://news.example/a"));
        assert_eq!(meta.date.as_deref(), Some("2021-11-04T10:00:00Z"));
    }

    proptest::proptest! {
        #[test]
        fn any_markup_extracts_without_leftover_tags_from_dropped_elements(
            body in "[a-z <>/=\"&;]{0,200}"
        ) {
            let page = format!("<html><body><script>secret()</script>{body}</body></html>");
            let (_, text) = extract(&page);
            proptest::prop_assert!(!text.contains("secret()"));
        }
    }
}
