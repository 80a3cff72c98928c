//! Percentile bootstrap intervals for figures computed from predictions.
//!
//! Two kinds of resampling are offered. Resampling **sentences** treats every
//! held-out sentence as independent; it is the usual interval but too narrow
//! when sentences of one article resemble each other. Resampling **articles**
//! (a cluster bootstrap: draw whole articles with replacement) respects that
//! dependence, but with a handful of articles it can only take a few distinct
//! values, so it is coarse. Reports show both and say which is which.

use serde::{Deserialize, Serialize};

use super::{Metrics, SplitMix64};

/// A two-sided interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    /// Lower bound.
    pub low: f64,
    /// Upper bound.
    pub high: f64,
}

impl Interval {
    /// Whether `x` lies inside the interval (bounds included).
    pub fn contains(&self, x: f64) -> bool {
        self.low <= x && x <= self.high
    }
}

/// Bootstrap intervals of accuracy and macro-F1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Intervals {
    /// Coverage, e.g. `0.95`.
    pub level: f64,
    /// Number of bootstrap resamples.
    pub resamples: usize,
    /// Seed of the resampling.
    pub seed: u64,
    /// Accuracy, resampling sentences.
    pub accuracy: Interval,
    /// Macro-F1, resampling sentences.
    pub macro_f1: Interval,
    /// Number of articles (clusters) the article-level intervals resample.
    pub articles: usize,
    /// Accuracy, resampling whole articles (absent with fewer than two).
    pub accuracy_by_article: Option<Interval>,
    /// Macro-F1, resampling whole articles (absent with fewer than two).
    pub macro_f1_by_article: Option<Interval>,
}

/// Percentile bootstrap interval of `statistic` over `items`.
///
/// With `groups` (one group id per item), whole groups are drawn with
/// replacement (a cluster bootstrap); otherwise single items are. The same
/// seed always gives the same interval.
///
/// ```
/// use stance::eval::bootstrap::percentile_interval;
/// let xs: Vec<f64> = (0..50).map(|i| (i % 7) as f64).collect();
/// let mean = |s: &[&f64]| s.iter().copied().sum::<f64>() / s.len() as f64;
/// let i = percentile_interval(&xs, None, mean, 1000, 0.95, 7);
/// assert!(i.low < 3.0 && 3.0 < i.high);
/// ```
pub fn percentile_interval<T, F>(
    items: &[T],
    groups: Option<&[usize]>,
    statistic: F,
    resamples: usize,
    level: f64,
    seed: u64,
) -> Interval
where
    F: Fn(&[&T]) -> f64,
{
    if items.is_empty() || resamples == 0 {
        return Interval {
            low: f64::NAN,
            high: f64::NAN,
        };
    }
    // Members of each cluster (every item its own cluster without groups).
    let clusters: Vec<Vec<usize>> = match groups {
        Some(g) => {
            let mut ids: Vec<usize> = g.to_vec();
            ids.sort_unstable();
            ids.dedup();
            ids.iter()
                .map(|id| (0..items.len()).filter(|&i| g[i] == *id).collect())
                .collect()
        }
        None => (0..items.len()).map(|i| vec![i]).collect(),
    };
    let mut rng = SplitMix64(seed);
    let mut values: Vec<f64> = Vec::with_capacity(resamples);
    let mut sample: Vec<&T> = Vec::with_capacity(items.len());
    for _ in 0..resamples {
        sample.clear();
        for _ in 0..clusters.len() {
            let c = (rng.next_u64() % clusters.len() as u64) as usize;
            sample.extend(clusters[c].iter().map(|&i| &items[i]));
        }
        values.push(statistic(&sample));
    }
    values.sort_by(f64::total_cmp);
    let tail = (1.0 - level) / 2.0;
    Interval {
        low: quantile(&values, tail),
        high: quantile(&values, 1.0 - tail),
    }
}

/// The `q` quantile of sorted values, by linear interpolation.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let pos = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

/// 95% (or `level`) intervals of accuracy and macro-F1 for `(truth,
/// predicted)` pairs, resampling sentences and, when `articles` (one name per
/// pair) covers at least two articles, whole articles.
pub fn metric_intervals<S: AsRef<str> + Sync>(
    pairs: &[(S, S)],
    articles: Option<&[&str]>,
    resamples: usize,
    level: f64,
    seed: u64,
) -> Intervals {
    let accuracy = |s: &[&(S, S)]| {
        let correct = s.iter().filter(|(t, p)| t.as_ref() == p.as_ref()).count();
        correct as f64 / s.len().max(1) as f64
    };
    let macro_f1 = |s: &[&(S, S)]| {
        let pairs: Vec<(&str, &str)> = s.iter().map(|(t, p)| (t.as_ref(), p.as_ref())).collect();
        Metrics::from_pairs(&pairs).macro_f1
    };
    let groups: Option<Vec<usize>> = articles.map(|names| {
        let mut distinct: Vec<&str> = names.to_vec();
        distinct.sort_unstable();
        distinct.dedup();
        names
            .iter()
            .map(|n| distinct.binary_search(n).unwrap_or(0))
            .collect()
    });
    let n_articles = groups
        .as_ref()
        .map_or(0, |g| g.iter().max().map_or(0, |m| m + 1));
    type Statistic<'a, S> = dyn Fn(&[&(S, S)]) -> f64 + 'a;
    let by_article = |f: &Statistic<'_, S>| {
        groups
            .as_deref()
            .filter(|_| n_articles >= 2)
            .map(|g| percentile_interval(pairs, Some(g), f, resamples, level, seed ^ 0xA57))
    };
    Intervals {
        level,
        resamples,
        seed,
        accuracy: percentile_interval(pairs, None, accuracy, resamples, level, seed),
        macro_f1: percentile_interval(pairs, None, macro_f1, resamples, level, seed),
        articles: n_articles,
        accuracy_by_article: by_article(&accuracy),
        macro_f1_by_article: by_article(&macro_f1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs() -> Vec<(String, String)> {
        let mut v = Vec::new();
        for i in 0..60 {
            let truth = ["a", "b", "c"][i % 3];
            let predicted = if i % 4 == 0 {
                ["a", "b", "c"][(i + 1) % 3]
            } else {
                truth
            };
            v.push((truth.to_string(), predicted.to_string()));
        }
        v
    }

    #[test]
    fn intervals_are_deterministic_and_contain_the_estimate() {
        let p = pairs();
        let names: Vec<String> = (0..p.len()).map(|i| format!("art{}", i % 5)).collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let a = metric_intervals(&p, Some(&names), 500, 0.95, 3);
        let b = metric_intervals(&p, Some(&names), 500, 0.95, 3);
        assert_eq!(a, b);
        let m = Metrics::from_pairs(&p);
        assert!(a.accuracy.contains(m.accuracy), "{a:?} {}", m.accuracy);
        assert!(a.macro_f1.contains(m.macro_f1), "{a:?} {}", m.macro_f1);
        let by_article = a.macro_f1_by_article.unwrap();
        assert!(by_article.contains(m.macro_f1));
        assert_eq!(a.articles, 5);
        assert!(a.accuracy.low < a.accuracy.high);
        let c = metric_intervals(&p, Some(&names), 500, 0.95, 4);
        assert_ne!(a.accuracy, c.accuracy, "another seed, another resampling");
    }

    #[test]
    fn a_wider_level_gives_a_wider_interval() {
        let p = pairs();
        let narrow = metric_intervals(&p, None, 800, 0.5, 1).accuracy;
        let wide = metric_intervals(&p, None, 800, 0.99, 1).accuracy;
        assert!(wide.low <= narrow.low && narrow.high <= wide.high);
    }

    #[test]
    fn one_article_gives_no_article_interval() {
        let p = pairs();
        let names = vec!["only"; p.len()];
        let i = metric_intervals(&p, Some(&names), 100, 0.95, 1);
        assert_eq!(i.macro_f1_by_article, None);
    }

    #[test]
    fn perfect_predictions_give_a_point_interval() {
        let p: Vec<(&str, &str)> = vec![("a", "a"), ("b", "b"), ("a", "a")];
        let i = metric_intervals(&p, None, 100, 0.95, 9);
        assert_eq!(
            i.accuracy,
            Interval {
                low: 1.0,
                high: 1.0
            }
        );
    }
}
