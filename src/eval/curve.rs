//! Learning curve: held-out macro-F1 against the number of training sentences.
//!
//! For every size, each fold's training pool is shuffled (seeded, one shuffle
//! per repeat) and cut to that size; the held-out sentences stay the same, so
//! only the amount of training data changes. The SVG chart is written by hand.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::{plan_folds, run_folds, shuffle, Folds};
use crate::error::Result;
use crate::labels::LabeledSentence;
use crate::model::TrainOptions;

/// Macro-F1 at one training size.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CurvePoint {
    /// Training sentences per fold.
    pub size: usize,
    /// Repeats (different subsamples); one at the full pool.
    pub repeats: usize,
    /// Mean pooled macro-F1 over the repeats.
    pub macro_f1: f64,
    /// Lowest repeat.
    pub min: f64,
    /// Highest repeat.
    pub max: f64,
    /// Mean F_avg over the repeats, when defined.
    pub f_avg: Option<f64>,
}

/// A learning curve.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LearningCurve {
    /// Points by increasing size.
    pub points: Vec<CurvePoint>,
    /// The smallest training pool of any fold (the largest size possible).
    pub pool: usize,
    /// Held-out sentences.
    pub n: usize,
    /// Macro-F1 of the majority baseline on the same folds.
    pub majority_macro_f1: f64,
    /// Seed of the subsampling.
    pub seed: u64,
}

/// The default training sizes for a pool: doubling from 50, then the whole pool.
pub fn default_sizes(pool: usize) -> Vec<usize> {
    let mut sizes: Vec<usize> = std::iter::successors(Some(50usize), |s| Some(s * 2))
        .take_while(|&s| s < pool)
        .collect();
    sizes.push(pool);
    sizes
}

/// Runs the curve under leave-one-article-out (or `folds`) on `records`.
/// `sizes` larger than a fold's pool are cut to the pool; `None` uses
/// [`default_sizes`].
///
/// # Errors
/// As [`super::cross_validate`].
pub fn learning_curve(
    records: &[LabeledSentence],
    options: &TrainOptions,
    folds: Folds,
    sizes: Option<&[usize]>,
    repeats: usize,
) -> Result<LearningCurve> {
    let plan = plan_folds(records, folds, options.seed)?;
    let pool = plan.train.iter().map(Vec::len).min().unwrap_or(0);
    let mut sizes: Vec<usize> = sizes.map_or_else(|| default_sizes(pool), <[usize]>::to_vec);
    sizes.iter_mut().for_each(|s| *s = (*s).min(pool));
    sizes.sort_unstable();
    sizes.dedup();
    let mut points = Vec::new();
    let mut majority_macro_f1 = 0.0;
    let mut n = 0;
    for &size in &sizes {
        let runs = if size == pool { 1 } else { repeats.max(1) };
        let mut scores = Vec::new();
        let mut f_avgs = Vec::new();
        for repeat in 0..runs {
            let mut sub = plan.clone();
            for (fold, train) in sub.train.iter_mut().enumerate() {
                let seed = options.seed
                    ^ (size as u64).wrapping_mul(0x9E37_79B9)
                    ^ ((repeat as u64) << 32)
                    ^ fold as u64;
                shuffle(train, seed);
                train.truncate(size);
                train.sort_unstable();
            }
            let cv = run_folds(records, options, &sub)?;
            scores.push(cv.model.macro_f1);
            if let Some(f) = cv.model.f_avg {
                f_avgs.push(f);
            }
            if size == pool {
                majority_macro_f1 = cv.majority.macro_f1;
                n = cv.model.n;
            }
        }
        points.push(CurvePoint {
            size,
            repeats: runs,
            macro_f1: scores.iter().sum::<f64>() / scores.len() as f64,
            min: scores.iter().copied().fold(f64::INFINITY, f64::min),
            max: scores.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            f_avg: (f_avgs.len() == scores.len())
                .then(|| f_avgs.iter().sum::<f64>() / f_avgs.len() as f64),
        });
    }
    Ok(LearningCurve {
        points,
        pool,
        n,
        majority_macro_f1,
        seed: options.seed,
    })
}

/// Escapes text for XML.
fn xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The curve as a standalone SVG chart: mean macro-F1 with the range over
/// repeats, on a logarithmic size axis, and the majority baseline dashed.
pub fn curve_svg(curve: &LearningCurve, title: &str) -> String {
    let (w, h) = (640.0, 400.0);
    let (left, right, top, bottom) = (64.0, 24.0, 40.0, 56.0);
    let (pw, ph) = (w - left - right, h - top - bottom);
    let sizes: Vec<f64> = curve.points.iter().map(|p| p.size.max(1) as f64).collect();
    let lo = sizes.iter().copied().fold(f64::INFINITY, f64::min).ln();
    let hi = sizes.iter().copied().fold(f64::NEG_INFINITY, f64::max).ln();
    let span = if hi > lo { hi - lo } else { 1.0 };
    let x = |size: f64| left + (size.ln() - lo) / span * pw;
    let y = |f1: f64| top + (1.0 - f1.clamp(0.0, 1.0)) * ph;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, r#"<rect width="{w}" height="{h}" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="{}" y="22" text-anchor="middle" font-size="14">{}</text>"#,
        w / 2.0,
        xml(title)
    );
    for tick in 0..=5 {
        let f = tick as f64 / 5.0;
        let _ = writeln!(
            s,
            r##"<line x1="{left}" y1="{yy:.1}" x2="{x2}" y2="{yy:.1}" stroke="#ddd"/><text x="{tx}" y="{ty:.1}" text-anchor="end">{f:.1}</text>"##,
            yy = y(f),
            x2 = left + pw,
            tx = left - 6.0,
            ty = y(f) + 4.0
        );
    }
    for &size in &sizes {
        let _ = writeln!(
            s,
            r##"<line x1="{xx:.1}" y1="{top}" x2="{xx:.1}" y2="{y2}" stroke="#eee"/><text x="{xx:.1}" y="{ty}" text-anchor="middle">{size}</text>"##,
            xx = x(size),
            y2 = top + ph,
            ty = top + ph + 18.0
        );
    }
    let _ = writeln!(
        s,
        r##"<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="#333"/>"##
    );
    let _ = writeln!(
        s,
        r#"<text x="{}" y="{}" text-anchor="middle">training sentences per fold (log scale)</text>"#,
        left + pw / 2.0,
        h - 12.0
    );
    let _ = writeln!(
        s,
        r#"<text x="16" y="{}" text-anchor="middle" transform="rotate(-90 16 {})">held-out macro-F1</text>"#,
        top + ph / 2.0,
        top + ph / 2.0
    );
    let base = y(curve.majority_macro_f1);
    let _ = writeln!(
        s,
        r##"<line x1="{left}" y1="{base:.1}" x2="{x2}" y2="{base:.1}" stroke="#999" stroke-dasharray="6 4"/><text x="{tx}" y="{ty:.1}" text-anchor="end" fill="#666">majority baseline</text>"##,
        x2 = left + pw,
        tx = left + pw - 4.0,
        ty = base - 4.0
    );
    for p in &curve.points {
        let xx = x(p.size.max(1) as f64);
        let _ = writeln!(
            s,
            r##"<line x1="{xx:.1}" y1="{:.1}" x2="{xx:.1}" y2="{:.1}" stroke="#1f77b4" stroke-width="2"/>"##,
            y(p.min),
            y(p.max)
        );
    }
    let points: Vec<String> = curve
        .points
        .iter()
        .map(|p| format!("{:.1},{:.1}", x(p.size.max(1) as f64), y(p.macro_f1)))
        .collect();
    let _ = writeln!(
        s,
        r##"<polyline points="{}" fill="none" stroke="#1f77b4" stroke-width="2"/>"##,
        points.join(" ")
    );
    for p in &curve.points {
        let _ = writeln!(
            s,
            r##"<circle cx="{:.1}" cy="{:.1}" r="4" fill="#1f77b4"><title>{} sentences: macro-F1 {:.3} (range {:.3}-{:.3})</title></circle>"##,
            x(p.size.max(1) as f64),
            y(p.macro_f1),
            p.size,
            p.macro_f1,
            p.min,
            p.max
        );
    }
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Checks that every tag is closed in order (enough for our own output).
    fn tags_balance(svg: &str) -> bool {
        let mut stack: Vec<String> = Vec::new();
        let mut rest = svg;
        while let Some(start) = rest.find('<') {
            let Some(end) = rest[start..].find('>') else {
                return false;
            };
            let tag = &rest[start + 1..start + end];
            rest = &rest[start + end + 1..];
            if let Some(name) = tag.strip_prefix('/') {
                if stack.pop().as_deref() != Some(name.trim()) {
                    return false;
                }
            } else if !tag.ends_with('/') {
                let name = tag.split_whitespace().next().unwrap_or("").to_string();
                stack.push(name);
            }
        }
        stack.is_empty()
    }

    #[test]
    fn svg_is_well_formed() {
        let curve = LearningCurve {
            points: vec![
                CurvePoint {
                    size: 50,
                    repeats: 3,
                    macro_f1: 0.3,
                    min: 0.25,
                    max: 0.36,
                    f_avg: Some(0.3),
                },
                CurvePoint {
                    size: 400,
                    repeats: 1,
                    macro_f1: 0.5,
                    min: 0.5,
                    max: 0.5,
                    f_avg: None,
                },
            ],
            pool: 400,
            n: 100,
            majority_macro_f1: 0.2,
            seed: 1,
        };
        let svg = curve_svg(&curve, "A & B <curve>");
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.trim_end().ends_with("</svg>"));
        assert!(tags_balance(&svg), "{svg}");
        assert!(svg.contains("A &amp; B &lt;curve&gt;"));
        assert_eq!(svg.matches("<circle").count(), 2);
        assert!(!svg.contains("NaN"));
    }

    #[test]
    fn the_checker_catches_broken_markup() {
        assert!(!tags_balance("<svg><g></svg>"));
        assert!(tags_balance("<svg><g/><text>x</text></svg>"));
    }

    #[test]
    fn default_sizes_double_and_end_at_the_pool() {
        assert_eq!(default_sizes(300), vec![50, 100, 200, 300]);
        assert_eq!(default_sizes(40), vec![40]);
    }

    #[test]
    fn curve_runs_on_a_tiny_grouped_set() {
        let mut records = Vec::new();
        let words = [
            ("pro", "union closer integration merger"),
            ("sov", "independence sovereignty own army"),
        ];
        for article in 0..3 {
            for i in 0..8 {
                let (label, text) = words[i % 2];
                records.push(LabeledSentence {
                    text: format!("{text} item{i}"),
                    label: label.into(),
                    article: Some(format!("a{article}")),
                    sentence: Some(i),
                    source: None,
                    extra: Default::default(),
                });
            }
        }
        let mut options = TrainOptions::default();
        options.features.min_df = 1;
        let curve = learning_curve(
            &records,
            &options,
            Folds::LeaveOneArticleOut,
            Some(&[4, 100]),
            2,
        )
        .unwrap();
        assert_eq!(curve.pool, 16);
        let sizes: Vec<usize> = curve.points.iter().map(|p| p.size).collect();
        assert_eq!(sizes, vec![4, 16]);
        assert_eq!(curve.points[0].repeats, 2);
        assert!(curve.points[1].macro_f1 > 0.9);
        let again = learning_curve(
            &records,
            &options,
            Folds::LeaveOneArticleOut,
            Some(&[4, 100]),
            2,
        )
        .unwrap();
        assert_eq!(curve, again);
    }
}
