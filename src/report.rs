//! Rendering summaries: terminal table, JSON, CSV, Markdown and one
//! self-contained HTML page.
//!
//! The JSON document (`"schema": "stance-summary/1"`) is the stable,
//! documented form (see `docs/summarize.md`); the other formats are views of it.

use std::fmt::Write as _;

use comfy_table::{presets, Cell, ContentArrangement, Table, TableComponent};
use html_escape::{encode_double_quoted_attribute as attr, encode_text as text};
use serde::Serialize;

use crate::model::ModelSource;
use crate::summary::{ArticleSummary, GroupBy, Profile, SummaryOptions, Totals};

/// The JSON schema name and version.
pub const SCHEMA: &str = "stance-summary/1";

/// A file that could not be summarised.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InputError {
    /// The input as given or found.
    pub input: String,
    /// What went wrong.
    pub message: String,
}

/// Everything one run reports.
#[derive(Debug, Serialize)]
pub struct Report<'a> {
    /// Always [`SCHEMA`].
    pub schema: &'static str,
    /// The model used.
    pub model: &'a ModelSource,
    /// Labels in display order (the axis first).
    pub labels: Vec<String>,
    /// The axis labels `[positive, negative]`, or `null` without an index.
    pub axis: Option<[String; 2]>,
    /// The options.
    pub options: &'a SummaryOptions,
    /// The grouping asked for, if any.
    pub group_by: Option<GroupBy>,
    /// One summary per article, in input order.
    pub articles: &'a [ArticleSummary],
    /// Totals over all articles.
    pub totals: &'a Totals,
    /// One entry per group (empty without `--group-by`).
    pub groups: &'a [Totals],
    /// Inputs that could not be summarised.
    pub errors: &'a [InputError],
}

fn pct(share: f64) -> String {
    format!("{:.0}%", share * 100.0)
}

fn signed(x: f64) -> String {
    if x.abs() < 0.005 {
        "0.00".to_string()
    } else {
        format!("{x:+.2}")
    }
}

/// The index with its interval: `+0.33 [-0.20, +0.75]`, or `–`.
pub fn index_text(p: &Profile) -> String {
    match (p.stance_index, p.interval) {
        (Some(i), Some([lo, hi])) => format!("{} [{}, {}]", signed(i), signed(lo), signed(hi)),
        (Some(i), None) => signed(i),
        _ => "–".to_string(),
    }
}

fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let cut: String = s.chars().take(max.saturating_sub(1)).collect();
        format!("{}…", cut.trim_end())
    }
}

/// A short column name for a label: `pro-integration` → `pro`,
/// `sovereignty-preserving` → `sov`.
fn short_label(label: &str) -> String {
    label
        .split(['-', '_', ' '])
        .next()
        .filter(|s| !s.is_empty())
        .unwrap_or(label)
        .chars()
        .take(3)
        .collect()
}

fn unique_short_labels(labels: &[String]) -> Vec<String> {
    let short: Vec<String> = labels.iter().map(|l| short_label(l)).collect();
    let distinct: std::collections::HashSet<&String> = short.iter().collect();
    if distinct.len() == short.len() {
        short
    } else {
        labels.to_vec()
    }
}

fn share_cells(p: &Profile) -> Vec<Cell> {
    p.labels.iter().map(|l| Cell::new(pct(l.share))).collect()
}

/// The readable terminal report: one table row per article with its outlet
/// and speaker lines beneath, totals, groups, evidence and a legend.
/// `width` fixes the table width; `None` lets the table fit the terminal.
pub fn render_table(report: &Report, width: Option<u16>) -> String {
    let short = unique_short_labels(&report.labels);
    let mut table = Table::new();
    table.load_preset(presets::UTF8_HORIZONTAL_ONLY);
    table.remove_style(TableComponent::HorizontalLines);
    table.remove_style(TableComponent::MiddleIntersections);
    table.remove_style(TableComponent::LeftBorderIntersections);
    table.remove_style(TableComponent::RightBorderIntersections);
    table.set_content_arrangement(ContentArrangement::Dynamic);
    if let Some(width) = width {
        table.set_width(width);
    }
    let mut header = vec![Cell::new("article / voice"), Cell::new("sent.")];
    header.extend(short.iter().map(Cell::new));
    header.extend(["index [95% CI]", "conf.", "unc.", "quotes"].map(Cell::new));
    table.set_header(header);
    let voice_row = |name: String, p: &Profile| {
        let mut row = vec![Cell::new(name), Cell::new(p.sentences)];
        row.extend(share_cells(p));
        row.push(Cell::new(index_text(p)));
        row
    };
    let blank = || vec![Cell::new(""); 6 + report.labels.len()];
    for (n, a) in report.articles.iter().enumerate() {
        if n > 0 {
            table.add_row(blank());
        }
        let mut row = vec![
            Cell::new(format!("{}. {}", n + 1, shorten(&a.title, 56))),
            Cell::new(a.overall.sentences),
        ];
        row.extend(share_cells(&a.overall));
        row.push(Cell::new(index_text(&a.overall)));
        row.push(Cell::new(format!("{:.2}", a.mean_confidence)));
        row.push(Cell::new(a.uncertain));
        row.push(Cell::new(a.quotes));
        table.add_row(row);
        table.add_row(voice_row("   outlet's own voice".into(), &a.outlet));
        for s in &a.speakers {
            table.add_row(voice_row(format!("   ↳ {}", s.voice), s));
        }
    }
    let mut totals_rows = vec![report.totals];
    totals_rows.extend(report.groups.iter());
    for t in totals_rows {
        table.add_row(blank());
        let name = if t.key == "all" {
            format!("ALL ({} articles)", t.articles)
        } else {
            format!("group {} ({} articles)", t.key, t.articles)
        };
        let mut row = vec![Cell::new(name), Cell::new(t.overall.sentences)];
        row.extend(share_cells(&t.overall));
        row.push(Cell::new(index_text(&t.overall)));
        row.push(Cell::new(format!("{:.2}", t.mean_confidence)));
        row.push(Cell::new(t.uncertain));
        row.push(Cell::new(t.quotes));
        table.add_row(row);
        if t.key == "all" {
            table.add_row(voice_row("   outlets' own voice".into(), &t.outlet));
            for s in t.speakers.iter().take(6) {
                table.add_row(voice_row(format!("   ↳ {}", s.voice), s));
            }
        }
    }

    let mut out = String::new();
    for line in table.to_string().lines() {
        let _ = writeln!(out, "{}", line.trim_end());
    }
    let any_evidence = report
        .articles
        .iter()
        .any(|a| a.evidence.iter().any(|e| !e.sentences.is_empty()));
    if any_evidence {
        let _ = writeln!(
            out,
            "\nStrongest evidence per article (label, probability, deciding terms):"
        );
        for (n, a) in report.articles.iter().enumerate() {
            let _ = writeln!(out, "{}. {}", n + 1, shorten(&a.title, 90));
            for e in &a.evidence {
                for s in &e.sentences {
                    let who = s
                        .speaker
                        .as_deref()
                        .map(|w| format!(" [{w}]"))
                        .unwrap_or_default();
                    let terms: Vec<&str> = s.terms.iter().map(|t| t.term.as_str()).collect();
                    let _ = writeln!(
                        out,
                        "   {} {:.2}{who}: {}\n      terms: {}",
                        e.label,
                        s.probability,
                        shorten(&s.text, 110),
                        terms.join(", ")
                    );
                }
            }
        }
    }
    let _ = writeln!(out);
    match &report.axis {
        Some([pos, neg]) => {
            let _ = writeln!(
                out,
                "index = ({pos} − {neg}) / ({pos} + {neg}) over sentences, other labels left out: +1 all {pos}, −1 all {neg}.\ncolumns {}: share of sentences per label ({}).",
                short.join(", "),
                report.labels.join(", ")
            );
            let _ = writeln!(
                out,
                "[..] = {:.0}% bootstrap interval (over sentences for an article or voice, over articles for totals).",
                report.options.level * 100.0
            );
        }
        None => {
            let _ = writeln!(
                out,
                "no stance index: the model lacks the axis labels (see --axis)."
            );
        }
    }
    let _ = writeln!(
        out,
        "conf. = mean probability of the chosen label; unc. = sentences below {}; quotes = quoted or reported speech.",
        report.options.min_confidence
    );
    let _ = writeln!(
        out,
        "model: {} ({}); more: --format json|csv|md|html",
        report.model.origin, report.model.hash
    );
    out
}

/// The JSON document (pretty-printed, with a final newline).
///
/// # Errors
/// Only if serialisation fails, which it does not for these types.
pub fn render_json(report: &Report) -> serde_json::Result<String> {
    let mut s = serde_json::to_string_pretty(report)?;
    s.push('\n');
    Ok(s)
}

fn speakers_cell(a: &ArticleSummary) -> String {
    a.speakers
        .iter()
        .map(|s| {
            format!(
                "{} ({}; {})",
                s.voice,
                s.sentences,
                s.stance_index.map(signed).unwrap_or_else(|| "–".into())
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// One CSV row per article (with a header row).
///
/// # Errors
/// Only if writing to memory fails.
pub fn render_csv(report: &Report) -> Result<String, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header: Vec<String> = ["origin", "title", "outlet", "date", "url", "sentences"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    header.extend(report.labels.iter().map(|l| format!("count_{l}")));
    header.extend(report.labels.iter().map(|l| format!("share_{l}")));
    header.extend(
        [
            "stance_index",
            "index_low",
            "index_high",
            "mean_confidence",
            "uncertain",
            "quotes",
            "outlet_sentences",
            "outlet_index",
            "speakers",
        ]
        .iter()
        .map(|s| s.to_string()),
    );
    w.write_record(&header)?;
    let opt = |x: Option<f64>| x.map(|v| v.to_string()).unwrap_or_default();
    for a in report.articles {
        let mut row = vec![
            a.origin.clone(),
            a.title.clone(),
            a.metadata.outlet.clone().unwrap_or_default(),
            a.metadata.date.clone().unwrap_or_default(),
            a.metadata.url.clone().unwrap_or_default(),
            a.overall.sentences.to_string(),
        ];
        row.extend(a.overall.labels.iter().map(|l| l.count.to_string()));
        row.extend(a.overall.labels.iter().map(|l| l.share.to_string()));
        row.push(opt(a.overall.stance_index));
        row.push(opt(a.overall.interval.map(|i| i[0])));
        row.push(opt(a.overall.interval.map(|i| i[1])));
        row.push(a.mean_confidence.to_string());
        row.push(a.uncertain.to_string());
        row.push(a.quotes.to_string());
        row.push(a.outlet.sentences.to_string());
        row.push(opt(a.outlet.stance_index));
        row.push(speakers_cell(a));
        w.write_record(&row)?;
    }
    let bytes = w.into_inner().map_err(|e| e.into_error())?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

fn md_escape(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// A Markdown report: the table, then evidence per article.
pub fn render_md(report: &Report) -> String {
    let mut out = String::from("# Stance summary\n\n");
    let _ = write!(out, "| Article / voice | Sentences |");
    for l in &report.labels {
        let _ = write!(out, " {} |", md_escape(l));
    }
    out.push_str(" Index [95% CI] | Confidence | Uncertain | Quotes |\n|---|---:|");
    for _ in &report.labels {
        out.push_str("---:|");
    }
    out.push_str("---|---:|---:|---:|\n");
    let voice = |out: &mut String, name: &str, p: &Profile| {
        let _ = write!(out, "| {} | {} |", md_escape(name), p.sentences);
        for l in &p.labels {
            let _ = write!(out, " {} |", pct(l.share));
        }
        let _ = writeln!(out, " {} | | | |", index_text(p));
    };
    for a in report.articles {
        let _ = write!(
            out,
            "| **{}** | {} |",
            md_escape(&a.title),
            a.overall.sentences
        );
        for l in &a.overall.labels {
            let _ = write!(out, " {} |", pct(l.share));
        }
        let _ = writeln!(
            out,
            " {} | {:.2} | {} | {} |",
            index_text(&a.overall),
            a.mean_confidence,
            a.uncertain,
            a.quotes
        );
        voice(&mut out, "↳ outlet's own voice", &a.outlet);
        for s in &a.speakers {
            voice(&mut out, &format!("↳ {}", s.voice), s);
        }
    }
    let mut all = vec![report.totals];
    all.extend(report.groups.iter());
    for t in all {
        let name = if t.key == "all" {
            format!("**All ({} articles)**", t.articles)
        } else {
            format!("**{} ({} articles)**", md_escape(&t.key), t.articles)
        };
        let _ = write!(out, "| {name} | {} |", t.overall.sentences);
        for l in &t.overall.labels {
            let _ = write!(out, " {} |", pct(l.share));
        }
        let _ = writeln!(
            out,
            " {} | {:.2} | {} | {} |",
            index_text(&t.overall),
            t.mean_confidence,
            t.uncertain,
            t.quotes
        );
    }
    out.push_str("\n## Evidence\n");
    for a in report.articles {
        let _ = writeln!(out, "\n### {}\n", md_escape(&a.title));
        for e in &a.evidence {
            for s in &e.sentences {
                let terms: Vec<&str> = s.terms.iter().map(|t| t.term.as_str()).collect();
                let who = s
                    .speaker
                    .as_deref()
                    .map(|w| format!(" ({w})"))
                    .unwrap_or_default();
                let _ = writeln!(
                    out,
                    "- `{}` {:.2}{}: {} — terms: {}",
                    e.label,
                    s.probability,
                    md_escape(&who),
                    md_escape(&s.text),
                    md_escape(&terms.join(", "))
                );
            }
        }
    }
    if !report.errors.is_empty() {
        out.push_str("\n## Not summarised\n\n");
        for e in report.errors {
            let _ = writeln!(out, "- {}: {}", md_escape(&e.input), md_escape(&e.message));
        }
    }
    out
}

/// Strong and light colours for labels in display order.
const COLOURS: &[(&str, &str)] = &[
    ("#2f6db5", "#d6e6fa"),
    ("#d9731a", "#fde3c8"),
    ("#8a8a8a", "#f0f0f0"),
    ("#3d9a4a", "#d9f0dc"),
    ("#9b59b6", "#eadcf2"),
    ("#b5912f", "#f5ecd0"),
];

fn colour(i: usize) -> (&'static str, &'static str) {
    COLOURS[i % COLOURS.len()]
}

fn html_bar(out: &mut String, p: &Profile, labels: &[String]) {
    out.push_str("<div class=\"bar\">");
    for l in &p.labels {
        if l.count == 0 {
            continue;
        }
        let i = labels.iter().position(|x| *x == l.label).unwrap_or(0);
        let _ = write!(
            out,
            "<span class=\"c{}\" style=\"width:{:.2}%\" title=\"{}: {} ({})\">{}</span>",
            i % COLOURS.len(),
            l.share * 100.0,
            attr(&l.label),
            l.count,
            pct(l.share),
            if l.share >= 0.08 {
                pct(l.share)
            } else {
                String::new()
            }
        );
    }
    out.push_str("</div>");
}

/// One self-contained HTML page: legend, totals, and per article a summary
/// bar, voices, and every sentence highlighted by label (probability on
/// hover, quotes marked with their speaker). All text is HTML-escaped.
pub fn render_html(report: &Report) -> String {
    let labels = &report.labels;
    let mut css = String::from(
        "body{font:15px/1.55 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;color:#1d1d1f;background:#fafafa}\
main{max-width:1100px;margin:0 auto;padding:24px}\
h1{font-size:24px;margin:0 0 4px}h2{font-size:19px;margin:0 0 6px}\
.muted{color:#666;font-size:13px}\
.legend{display:flex;flex-wrap:wrap;gap:14px;margin:12px 0 18px;font-size:13px;align-items:center}\
.legend .sw{display:inline-block;width:14px;height:14px;border-radius:3px;vertical-align:-2px;margin-right:5px}\
.bar{display:flex;height:22px;border-radius:4px;overflow:hidden;background:#eee;margin:8px 0;font-size:12px;color:#fff}\
.bar span{display:flex;align-items:center;justify-content:center;white-space:nowrap;overflow:hidden}\
section.article,section.totals{background:#fff;border:1px solid #e2e2e2;border-radius:8px;padding:16px 20px;margin:0 0 18px}\
table{border-collapse:collapse;font-size:13px;margin:8px 0}td,th{padding:3px 10px;text-align:right;border-bottom:1px solid #eee}\
td:first-child,th:first-child{text-align:left}\
.text p{margin:0 0 10px}\
.s{padding:1px 2px;border-radius:3px}\
.s.unc{background:none!important;border-bottom:2px dotted #999}\
.q{box-shadow:inset 0 -2px 0 #444}\
.who{display:inline-block;font-size:11px;font-weight:600;background:#333;color:#fff;border-radius:8px;padding:0 7px;margin-right:4px;vertical-align:1px}\
details{margin-top:8px}summary{cursor:pointer;color:#444}\
.ev{font-size:13px;margin:4px 0}\
",
    );
    for i in 0..labels.len().min(COLOURS.len()) {
        let (strong, light) = colour(i);
        let _ = write!(
            css,
            ".bar .c{i},.sw.c{i}{{background:{strong}}}.s.c{i}{{background:{light}}}"
        );
    }
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>Stance summary</title><style>{css}</style></head><body><main>"
    );
    let _ = write!(
        out,
        "<h1>Stance summary</h1><div class=\"muted\">{} article(s) · model {} ({})</div>",
        report.articles.len(),
        text(&report.model.origin),
        text(&report.model.hash)
    );
    out.push_str("<div class=\"legend\">");
    for (i, l) in labels.iter().enumerate() {
        let _ = write!(
            out,
            "<span><span class=\"sw c{}\"></span>{}</span>",
            i % COLOURS.len(),
            text(l)
        );
    }
    let _ = write!(
        out,
        "<span><span class=\"s unc\">dotted</span> uncertain (below {})</span><span><span class=\"q\">underlined</span> quoted or reported speech</span><span><span class=\"who\">Speaker</span> who speaks</span><span class=\"muted\">hover a sentence for its probability</span></div>",
        report.options.min_confidence
    );
    if let Some([pos, neg]) = &report.axis {
        let _ = write!(
            out,
            "<p class=\"muted\">Stance index = ({p} − {n}) / ({p} + {n}), other labels left out: +1 all {p}, −1 all {n}. Brackets: {lvl:.0}% bootstrap interval.</p>",
            p = text(pos),
            n = text(neg),
            lvl = report.options.level * 100.0
        );
    }

    let voice_table = |out: &mut String, rows: Vec<(String, &Profile)>| {
        out.push_str("<table><tr><th>voice</th><th>sentences</th>");
        for l in labels {
            let _ = write!(out, "<th>{}</th>", text(l));
        }
        out.push_str("<th>index [CI]</th></tr>");
        for (name, p) in rows {
            let _ = write!(out, "<tr><td>{}</td><td>{}</td>", text(&name), p.sentences);
            for l in &p.labels {
                let _ = write!(out, "<td>{}</td>", pct(l.share));
            }
            let _ = write!(out, "<td>{}</td></tr>", text(&index_text(p)));
        }
        out.push_str("</table>");
    };

    out.push_str("<section class=\"totals\"><h2>All articles</h2>");
    html_bar(&mut out, &report.totals.overall, labels);
    let mut rows = vec![
        (
            format!("all ({} articles)", report.totals.articles),
            &report.totals.overall,
        ),
        ("outlets' own voice".to_string(), &report.totals.outlet),
    ];
    rows.extend(report.totals.speakers.iter().map(|s| (s.voice.clone(), s)));
    rows.extend(report.groups.iter().map(|g| {
        (
            format!("group {} ({} articles)", g.key, g.articles),
            &g.overall,
        )
    }));
    voice_table(&mut out, rows);
    out.push_str("</section>");

    for a in report.articles {
        let _ = write!(
            out,
            "<section class=\"article\"><h2>{}</h2>",
            text(&a.title)
        );
        let mut meta = vec![a.origin.clone()];
        meta.extend(a.metadata.outlet.clone());
        meta.extend(a.metadata.date.clone());
        let _ = write!(
            out,
            "<div class=\"muted\">{} · {} sentences · index {} · mean confidence {:.2} · {} uncertain · {} quoted</div>",
            text(&meta.join(" · ")),
            a.overall.sentences,
            text(&index_text(&a.overall)),
            a.mean_confidence,
            a.uncertain,
            a.quotes
        );
        html_bar(&mut out, &a.overall, labels);
        let mut rows = vec![("outlet's own voice".to_string(), &a.outlet)];
        rows.extend(a.speakers.iter().map(|s| (s.voice.clone(), s)));
        voice_table(&mut out, rows);
        out.push_str("<div class=\"text\"><p>");
        let mut paragraph = a.sentences.first().map(|s| s.paragraph).unwrap_or(0);
        let mut last_speaker: Option<&str> = None;
        for s in &a.sentences {
            if s.paragraph != paragraph {
                out.push_str("</p><p>");
                paragraph = s.paragraph;
                last_speaker = None;
            }
            let i = labels.iter().position(|l| *l == s.label).unwrap_or(0);
            if s.quote && s.speaker.as_deref() != last_speaker {
                if let Some(who) = &s.speaker {
                    let _ = write!(out, "<span class=\"who\">{}</span>", text(who));
                }
            }
            last_speaker = if s.quote { s.speaker.as_deref() } else { None };
            let mut hover = format!("{} {:.2}", s.label, s.probability);
            if s.uncertain {
                hover.push_str(" (uncertain)");
            }
            if s.quote {
                let _ = write!(
                    hover,
                    " · quote: {}",
                    s.speaker.as_deref().unwrap_or("unattributed")
                );
            }
            if !s.terms.is_empty() {
                let terms: Vec<&str> = s.terms.iter().map(|t| t.term.as_str()).collect();
                let _ = write!(hover, " · terms: {}", terms.join(", "));
            }
            let _ = write!(
                out,
                "<span class=\"s c{}{}{}\" title=\"{}\">{}</span> ",
                i % COLOURS.len(),
                if s.uncertain { " unc" } else { "" },
                if s.quote { " q" } else { "" },
                attr(&hover),
                text(&s.text)
            );
        }
        out.push_str("</p></div>");
        let evidence: usize = a.evidence.iter().map(|e| e.sentences.len()).sum();
        if evidence > 0 {
            out.push_str("<details><summary>Strongest evidence</summary>");
            for e in &a.evidence {
                for s in &e.sentences {
                    let terms: Vec<&str> = s.terms.iter().map(|t| t.term.as_str()).collect();
                    let _ = write!(
                        out,
                        "<div class=\"ev\"><b>{}</b> {:.2}: {} <span class=\"muted\">({})</span></div>",
                        text(&e.label),
                        s.probability,
                        text(&s.text),
                        text(&terms.join(", "))
                    );
                }
            }
            out.push_str("</details>");
        }
        out.push_str("</section>");
    }
    if !report.errors.is_empty() {
        out.push_str("<section class=\"totals\"><h2>Not summarised</h2><ul>");
        for e in report.errors {
            let _ = write!(out, "<li>{}: {}</li>", text(&e.input), text(&e.message));
        }
        out.push_str("</ul></section>");
    }
    out.push_str("</main></body></html>\n");
    out
}
