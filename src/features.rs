//! Sentences to sparse TF-IDF vectors.
//!
//! The featurizer tokenizes with a regular expression, lower-cases, folds
//! spelling variants of names ("Lukashenka" → "lukashenko") and numbers, marks
//! negation scope (`not_` before every word after "not", "never", "no",
//! "without", ... up to the next clause punctuation) and the clause after a
//! contrast ("but", "however", ...: an extra `but:` copy of each word), then
//! counts word n-grams and, optionally, character n-grams. Weights are TF-IDF
//! with the IDF **frozen at training time**, so a sentence gets the same
//! vector alone or in any batch.

use std::collections::BTreeMap;

use regex::Regex;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// How sentences become features. Recorded in every model file.
///
/// | Field | Default | Meaning |
/// |---|---|---|
/// | `token_pattern` | `[\p{L}\p{N}]+(?:['’]\p{L}+)*` | what a word is |
/// | `word_ngrams` | `[1, 2]` | shortest and longest word n-gram |
/// | `char_ngrams` | `null` | shortest and longest character n-gram within words, or none |
/// | `fold_numbers` | `true` | every number becomes the token `<num>` |
/// | `name_folding` | see [`default_name_folding`] | spelling variants mapped to one form |
/// | `negation` | `false` | mark words in the scope of a negation (off: it did not raise macro-F1 under leave-one-article-out, see `eval/report.md`) |
/// | `contrast` | `false` | add marked copies of words after a contrast (off, likewise) |
/// | `sublinear_tf` | `true` | term frequency `1 + ln(tf)` instead of `tf` |
/// | `idf` | `true` | multiply by smooth IDF `ln((1 + n) / (1 + df)) + 1` |
/// | `l2_norm` | `true` | scale each vector to unit length |
/// | `min_df` | `2` | drop terms seen in fewer training sentences |
/// | `max_features` | `20000` | keep at most this many terms (most frequent first) |
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeatureConfig {
    /// Regular expression for one word.
    pub token_pattern: String,
    /// Shortest and longest word n-gram, e.g. `[1, 2]` for unigrams and bigrams.
    pub word_ngrams: [usize; 2],
    /// Shortest and longest character n-gram inside words (padded with a space), if any.
    pub char_ngrams: Option<[usize; 2]>,
    /// Map every number to `<num>`.
    pub fold_numbers: bool,
    /// Lower-case spelling variants and the form they are folded to.
    pub name_folding: BTreeMap<String, String>,
    /// Mark words in negation scope with `not_`.
    pub negation: bool,
    /// Add `but:`-marked copies of words after a contrast word.
    pub contrast: bool,
    /// Use `1 + ln(tf)` as term frequency.
    pub sublinear_tf: bool,
    /// Weight terms by inverse document frequency.
    pub idf: bool,
    /// Scale vectors to unit Euclidean length.
    pub l2_norm: bool,
    /// Minimum number of training sentences a term must occur in.
    pub min_df: usize,
    /// Maximum vocabulary size.
    pub max_features: usize,
}

/// The spelling variants folded by default: transliterations of Belarusian
/// and Russian names and British/American spellings.
pub fn default_name_folding() -> BTreeMap<String, String> {
    [
        ("lukashenka", "lukashenko"),
        ("lukashenko", "lukashenko"),
        ("alyaksandr", "alexander"),
        ("aleksandr", "alexander"),
        ("alexandr", "alexander"),
        ("belarussian", "belarusian"),
        ("byelorussian", "belarusian"),
        ("belorussian", "belarusian"),
        ("byelorussia", "belarus"),
        ("belorussia", "belarus"),
        ("belarussia", "belarus"),
        ("tsikhanouskaya", "tikhanovskaya"),
        ("tsikhanovskaya", "tikhanovskaya"),
        ("tikhanovskaya", "tikhanovskaya"),
        ("svyatlana", "svetlana"),
        ("sviatlana", "svetlana"),
        ("hrodna", "grodno"),
        ("mahilyou", "mogilev"),
        ("homel", "gomel"),
        ("vitsebsk", "vitebsk"),
        ("makei", "makey"),
        ("programmes", "programs"),
        ("programme", "program"),
        ("defence", "defense"),
        ("favour", "favor"),
        ("neighbours", "neighbors"),
        ("neighbour", "neighbor"),
    ]
    .into_iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect()
}

impl Default for FeatureConfig {
    fn default() -> Self {
        FeatureConfig {
            token_pattern: r"[\p{L}\p{N}]+(?:['’]\p{L}+)*".to_string(),
            word_ngrams: [1, 2],
            char_ngrams: None,
            fold_numbers: true,
            name_folding: default_name_folding(),
            negation: false,
            contrast: false,
            sublinear_tf: true,
            idf: true,
            l2_norm: true,
            min_df: 2,
            max_features: 20000,
        }
    }
}

impl FeatureConfig {
    /// Checks the options and compiles the token pattern.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] for an empty or inverted n-gram range, a zero
    /// `min_df` or `max_features`, or a pattern that does not compile.
    pub fn check(&self) -> Result<Regex> {
        let [lo, hi] = self.word_ngrams;
        if lo == 0 || lo > hi || hi > 4 {
            return Err(Error::InvalidOption(format!(
                "word n-gram range {lo}..{hi} must satisfy 1 <= min <= max <= 4"
            )));
        }
        if let Some([lo, hi]) = self.char_ngrams {
            if lo == 0 || lo > hi || hi > 8 {
                return Err(Error::InvalidOption(format!(
                    "character n-gram range {lo}..{hi} must satisfy 1 <= min <= max <= 8"
                )));
            }
        }
        if self.min_df == 0 || self.max_features == 0 {
            return Err(Error::InvalidOption(
                "min_df and max_features must be at least 1".into(),
            ));
        }
        Regex::new(&self.token_pattern).map_err(|e| {
            Error::InvalidOption(format!("token pattern {:?}: {e}", self.token_pattern))
        })
    }
}

/// Words that open a negation scope (besides any word ending in "n't").
const NEGATORS: &[&str] = &[
    "not", "no", "never", "without", "nor", "neither", "cannot", "none", "nobody", "nothing",
    "nowhere",
];
/// Words after which the rest of the sentence carries the emphasis.
const CONTRASTS: &[&str] = &[
    "but",
    "however",
    "though",
    "although",
    "yet",
    "nevertheless",
    "nonetheless",
    "whereas",
];

/// A sparse feature vector: sorted column indices and their values.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SparseVector {
    /// Column indices, strictly increasing.
    pub indices: Vec<u32>,
    /// Values, one per index.
    pub values: Vec<f64>,
}

/// Reusable buffers for featurizing many sentences without allocating.
#[derive(Debug, Default)]
pub struct Scratch {
    words: String,
    spans: Vec<(u32, u32, bool)>,
    key: String,
    counts: Vec<(u32, f64)>,
}

/// A fitted featurizer: configuration, vocabulary (sorted) and frozen IDF.
#[derive(Debug, Clone)]
pub struct Featurizer {
    config: FeatureConfig,
    pattern: Regex,
    vocabulary: Vec<String>,
    idf: Vec<f64>,
    index: FxHashMap<String, u32>,
}

impl Featurizer {
    /// Fits the vocabulary and IDF on training sentences.
    ///
    /// ```
    /// use stance::features::{FeatureConfig, Featurizer};
    /// let config = FeatureConfig { min_df: 1, negation: true, ..FeatureConfig::default() };
    /// let f = Featurizer::fit(config, &["Minsk never agreed.", "Minsk agreed."])?;
    /// assert!(f.vocabulary().contains(&"not_agreed".to_string()));
    /// let v = f.transform("Minsk agreed.");
    /// assert_eq!(v.indices.len(), 3); // "minsk", "agreed", "minsk agreed"
    /// # Ok::<(), stance::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidOption`] if the configuration is invalid, and
    /// [`Error::Training`] if no term survives `min_df`.
    pub fn fit<S: AsRef<str>>(config: FeatureConfig, sentences: &[S]) -> Result<Featurizer> {
        let pattern = config.check()?;
        let mut df: BTreeMap<String, usize> = BTreeMap::new();
        let mut scratch = Scratch::default();
        let mut seen: Vec<String> = Vec::new();
        for sentence in sentences {
            seen.clear();
            for_each_term(&config, &pattern, sentence.as_ref(), &mut scratch, |t| {
                seen.push(t.to_string())
            });
            seen.sort_unstable();
            seen.dedup();
            for t in &seen {
                *df.entry(t.clone()).or_insert(0) += 1;
            }
        }
        let mut terms: Vec<(String, usize)> = df
            .into_iter()
            .filter(|(_, n)| *n >= config.min_df)
            .collect();
        if terms.len() > config.max_features {
            // Most frequent first; ties by term so the choice is deterministic.
            terms.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            terms.truncate(config.max_features);
            terms.sort_by(|a, b| a.0.cmp(&b.0));
        }
        if terms.is_empty() {
            return Err(Error::Training(
                "no feature survives min_df: lower --min-df or add labeled sentences".into(),
            ));
        }
        let n = sentences.len() as f64;
        let idf = terms
            .iter()
            .map(|(_, d)| {
                if config.idf {
                    ((1.0 + n) / (1.0 + *d as f64)).ln() + 1.0
                } else {
                    1.0
                }
            })
            .collect();
        let vocabulary: Vec<String> = terms.into_iter().map(|(t, _)| t).collect();
        Ok(Self::assemble(config, pattern, vocabulary, idf))
    }

    /// Rebuilds a fitted featurizer from its parts (as stored in a model file).
    ///
    /// # Errors
    /// [`Error::InvalidOption`] for a bad configuration; a message if the
    /// vocabulary is not sorted and unique or the IDF does not match it.
    pub fn from_parts(
        config: FeatureConfig,
        vocabulary: Vec<String>,
        idf: Vec<f64>,
    ) -> Result<Featurizer> {
        let pattern = config.check()?;
        if vocabulary.len() != idf.len() {
            return Err(Error::InvalidOption(format!(
                "{} vocabulary terms but {} IDF values",
                vocabulary.len(),
                idf.len()
            )));
        }
        if let Some(w) = vocabulary.windows(2).find(|w| w[0] >= w[1]) {
            return Err(Error::InvalidOption(format!(
                "vocabulary is not sorted and unique near {:?}",
                w[1]
            )));
        }
        if let Some(v) = idf.iter().find(|v| !v.is_finite() || **v < 0.0) {
            return Err(Error::InvalidOption(format!(
                "IDF value {v} is not a finite non-negative number"
            )));
        }
        Ok(Self::assemble(config, pattern, vocabulary, idf))
    }

    fn assemble(
        config: FeatureConfig,
        pattern: Regex,
        vocabulary: Vec<String>,
        idf: Vec<f64>,
    ) -> Self {
        let index = vocabulary
            .iter()
            .enumerate()
            .map(|(i, t)| (t.clone(), i as u32))
            .collect();
        Featurizer {
            config,
            pattern,
            vocabulary,
            idf,
            index,
        }
    }

    /// The configuration this featurizer was fitted with.
    pub fn config(&self) -> &FeatureConfig {
        &self.config
    }

    /// The terms, in column order (sorted).
    pub fn vocabulary(&self) -> &[String] {
        &self.vocabulary
    }

    /// The frozen IDF of each term, in column order.
    pub fn idf(&self) -> &[f64] {
        &self.idf
    }

    /// Number of columns.
    pub fn len(&self) -> usize {
        self.vocabulary.len()
    }

    /// Whether the vocabulary is empty (never true for a fitted featurizer).
    pub fn is_empty(&self) -> bool {
        self.vocabulary.is_empty()
    }

    /// The terms of a sentence, in order, before vocabulary lookup.
    pub fn terms(&self, sentence: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut scratch = Scratch::default();
        for_each_term(&self.config, &self.pattern, sentence, &mut scratch, |t| {
            out.push(t.to_string())
        });
        out
    }

    /// The TF-IDF vector of one sentence.
    pub fn transform(&self, sentence: &str) -> SparseVector {
        let mut out = SparseVector::default();
        self.transform_into(sentence, &mut Scratch::default(), &mut out);
        out
    }

    /// The TF-IDF vector of one sentence, reusing buffers.
    pub fn transform_into(&self, sentence: &str, scratch: &mut Scratch, out: &mut SparseVector) {
        out.indices.clear();
        out.values.clear();
        let mut counts = std::mem::take(&mut scratch.counts);
        counts.clear();
        let index = &self.index;
        for_each_term(&self.config, &self.pattern, sentence, scratch, |t| {
            if let Some(&i) = index.get(t) {
                counts.push((i, 1.0));
            }
        });
        counts.sort_unstable_by_key(|&(i, _)| i);
        let mut norm = 0.0;
        let mut k = 0;
        while k < counts.len() {
            let i = counts[k].0;
            let mut tf = 0.0;
            while k < counts.len() && counts[k].0 == i {
                tf += counts[k].1;
                k += 1;
            }
            let tf = if self.config.sublinear_tf {
                1.0 + f64::ln(tf)
            } else {
                tf
            };
            let v = tf * self.idf[i as usize];
            norm += v * v;
            out.indices.push(i);
            out.values.push(v);
        }
        if self.config.l2_norm && norm > 0.0 {
            let scale = 1.0 / norm.sqrt();
            out.values.iter_mut().for_each(|v| *v *= scale);
        }
        scratch.counts = counts;
    }
}

/// Calls `emit` with every term occurrence of `sentence`.
fn for_each_term(
    config: &FeatureConfig,
    pattern: &Regex,
    sentence: &str,
    scratch: &mut Scratch,
    mut emit: impl FnMut(&str),
) {
    let Scratch {
        words, spans, key, ..
    } = scratch;
    words.clear();
    spans.clear();

    // 1. Words: normalised, folded, negation-marked; `spans` hold (start, end, after_contrast).
    let mut last_end = 0usize;
    let mut negated = false;
    let mut contrast = false;
    for m in pattern.find_iter(sentence) {
        let gap = &sentence[last_end..m.start()];
        last_end = m.end();
        if gap.contains([
            '.', ',', ';', ':', '!', '?', '(', ')', '"', '“', '”', '—', '–',
        ]) {
            negated = false;
        }
        let start = words.len();
        push_normalised(words, m.as_str(), config.fold_numbers);
        let mut word_end = words.len();
        if let Some(folded) = config.name_folding.get(&words[start..word_end]) {
            words.truncate(start);
            words.push_str(folded);
            word_end = words.len();
        }
        let word = &words[start..word_end];
        let is_negator = NEGATORS.contains(&word) || word.ends_with("n't");
        let is_contrast = CONTRASTS.contains(&word);
        if config.negation && negated && !is_negator {
            words.insert_str(start, "not_");
        }
        spans.push((start as u32, words.len() as u32, contrast));
        if is_negator {
            negated = true;
        }
        if is_contrast {
            contrast = true;
        }
    }

    // 2. Word n-grams.
    let [lo, hi] = config.word_ngrams;
    for n in lo..=hi {
        if n > spans.len() {
            break;
        }
        for w in spans.windows(n) {
            if n == 1 {
                emit(&words[w[0].0 as usize..w[0].1 as usize]);
                continue;
            }
            key.clear();
            for (k, &(s, e, _)) in w.iter().enumerate() {
                if k > 0 {
                    key.push(' ');
                }
                key.push_str(&words[s as usize..e as usize]);
            }
            emit(key);
        }
    }

    // 3. Contrast copies of the words after "but", "however", ...
    if config.contrast {
        for &(s, e, after) in spans.iter() {
            if after {
                key.clear();
                key.push_str("but:");
                key.push_str(&words[s as usize..e as usize]);
                emit(key);
            }
        }
    }

    // 4. Character n-grams of each word, padded with spaces.
    if let Some([clo, chi]) = config.char_ngrams {
        for &(s, e, _) in spans.iter() {
            let word = words[s as usize..e as usize].trim_start_matches("not_");
            let chars: Vec<(usize, char)> = word.char_indices().collect();
            let len = chars.len() + 2;
            for n in clo..=chi {
                if n > len {
                    break;
                }
                for first in 0..=(len - n) {
                    key.clear();
                    key.push_str("c:");
                    for pos in first..first + n {
                        if pos == 0 || pos == len - 1 {
                            key.push(' ');
                        } else {
                            key.push(chars[pos - 1].1);
                        }
                    }
                    emit(key);
                }
            }
        }
    }
}

/// Appends the lower-cased word to `out`, with `’` as `'`, a possessive `'s`
/// dropped, and numbers as `<num>` when `fold_numbers` is set.
fn push_normalised(out: &mut String, word: &str, fold_numbers: bool) {
    if fold_numbers && word.chars().all(|c| c.is_numeric()) {
        out.push_str("<num>");
        return;
    }
    let start = out.len();
    for c in word.chars() {
        if c == '’' {
            out.push('\'');
        } else if c.is_ascii() {
            out.push(c.to_ascii_lowercase());
        } else {
            out.extend(c.to_lowercase());
        }
    }
    if out.len() - start > 2 && out.ends_with("'s") {
        out.truncate(out.len() - 2);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(config: FeatureConfig, s: &str) -> Vec<String> {
        let pattern = config.check().unwrap();
        let mut out = Vec::new();
        for_each_term(&config, &pattern, s, &mut Scratch::default(), |t| {
            out.push(t.to_string())
        });
        out
    }

    #[test]
    fn names_are_folded_and_possessives_dropped() {
        let t = terms(FeatureConfig::default(), "Lukashenka’s Belarussian plan");
        assert_eq!(t[..3], ["lukashenko", "belarusian", "plan"]);
    }

    #[test]
    fn negation_scope_ends_at_punctuation() {
        let config = FeatureConfig {
            negation: true,
            ..FeatureConfig::default()
        };
        let t = terms(config, "We will never join Russia, we stay.");
        assert_eq!(
            t[..6],
            ["we", "will", "never", "not_join", "not_russia", "we"]
        );
    }

    #[test]
    fn contrast_adds_marked_copies() {
        let config = FeatureConfig {
            contrast: true,
            ..FeatureConfig::default()
        };
        let t = terms(config, "Good deal, but sovereignty suffers");
        assert!(t.contains(&"but:sovereignty".to_string()));
        assert!(!t.contains(&"but:good".to_string()));
    }

    #[test]
    fn numbers_fold() {
        let t = terms(FeatureConfig::default(), "In 2019 and 2024");
        assert_eq!(t[..4], ["in", "<num>", "and", "<num>"]);
    }

    #[test]
    fn char_ngrams_are_padded() {
        let config = FeatureConfig {
            word_ngrams: [1, 1],
            char_ngrams: Some([3, 3]),
            contrast: false,
            ..FeatureConfig::default()
        };
        assert_eq!(terms(config, "ab"), ["ab", "c: ab", "c:ab "]);
    }

    #[test]
    fn vectors_are_batch_independent_and_unit_length() {
        let f =
            Featurizer::fit(FeatureConfig::default(), &["a b c", "b c d", "union state"]).unwrap();
        let v = f.transform("b c b");
        let norm: f64 = v.values.iter().map(|x| x * x).sum();
        assert!((norm - 1.0).abs() < 1e-12);
        assert_eq!(v, f.transform("b c b"));
    }

    #[test]
    fn invalid_ranges_are_refused() {
        let bad = FeatureConfig {
            word_ngrams: [2, 1],
            ..FeatureConfig::default()
        };
        assert!(bad.check().is_err());
    }
}
