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
use std::sync::OnceLock;

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
/// | `negation` | `true` | mark words in the scope of a negation (chosen by the selection in `eval/report.md`) |
/// | `contrast` | `true` | add marked copies of words after a contrast (likewise) |
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

/// The default token pattern: runs of letters and digits, with inner
/// apostrophes followed by letters (`don't`, `Belarus’s`).
pub const DEFAULT_TOKEN_PATTERN: &str = r"[\p{L}\p{N}]+(?:['’]\p{L}+)*";

impl Default for FeatureConfig {
    fn default() -> Self {
        FeatureConfig {
            token_pattern: DEFAULT_TOKEN_PATTERN.to_string(),
            word_ngrams: [1, 2],
            char_ngrams: None,
            fold_numbers: true,
            name_folding: default_name_folding(),
            negation: true,
            contrast: true,
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
        self.check_ranges()?;
        self.compile_pattern()
    }

    /// The checks of [`FeatureConfig::check`] other than compiling the pattern.
    fn check_ranges(&self) -> Result<()> {
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
        Ok(())
    }

    /// Compiles the token pattern.
    fn compile_pattern(&self) -> Result<Regex> {
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
    tally: Tally,
    word_ids: Vec<u32>,
}

/// How often each column occurs in one sentence: a count per column and
/// the columns seen, in order of first occurrence. Every count is zero and
/// the list empty between sentences.
#[derive(Debug, Default)]
struct Tally {
    counts: Vec<u32>,
    seen: Vec<u32>,
}

impl Tally {
    /// Makes room for `columns` columns (all counts stay zero).
    fn fit(&mut self, columns: usize) {
        if self.counts.len() != columns {
            self.counts.resize(columns, 0);
        }
    }

    /// Counts one occurrence of `column` (below the size given to [`Tally::fit`]).
    #[inline]
    fn add(&mut self, column: u32) {
        if let Some(count) = self.counts.get_mut(column as usize) {
            if *count == 0 {
                self.seen.push(column);
            }
            // Saturates only past 4 billion occurrences in one sentence.
            *count = count.saturating_add(1);
        }
    }

    /// Calls `f(column, count)` for every column seen, in order of first
    /// occurrence, and clears the tally.
    #[inline]
    fn drain(&mut self, mut f: impl FnMut(u32, u32)) {
        for &c in &self.seen {
            if let Some(count) = self.counts.get_mut(c as usize) {
                f(c, std::mem::take(count));
            }
        }
        self.seen.clear();
    }

    /// [`Tally::drain`] in increasing column order.
    fn drain_sorted(&mut self, f: impl FnMut(u32, u32)) {
        self.seen.sort_unstable();
        self.drain(f);
    }
}

/// `1 + ln(tf)` for term frequencies below 32 (index 0 unused), computed
/// once with the same function as for larger counts.
static SUBLINEAR_TF: std::sync::LazyLock<[f64; 32]> = std::sync::LazyLock::new(|| {
    let mut table = [0.0; 32];
    for (tf, v) in table.iter_mut().enumerate().skip(1) {
        *v = 1.0 + f64::ln(tf as f64);
    }
    table
});

/// The value of a term that occurs `count` times, before IDF: the count,
/// or `1 + ln(count)` under sublinear scaling.
#[inline]
fn term_frequency(count: u32, sublinear: bool) -> f64 {
    if !sublinear || count == 1 {
        return f64::from(count);
    }
    match SUBLINEAR_TF.get(count as usize) {
        Some(&v) => v,
        None => 1.0 + f64::ln(f64::from(count)),
    }
}

/// A fitted featurizer: configuration, vocabulary (sorted) and frozen IDF.
#[derive(Debug, Clone)]
pub struct Featurizer {
    config: FeatureConfig,
    /// The compiled token pattern. A custom pattern is compiled (and so
    /// checked) when the featurizer is built; the default one, which always
    /// compiles, only when first needed: the fast path does without it.
    pattern: OnceLock<Regex>,
    vocabulary: Vec<String>,
    idf: Vec<f64>,
    /// Term → column, for the general path; built when first needed.
    index: OnceLock<FxHashMap<String, u32>>,
    /// The allocation-free path, when the configuration allows it.
    fast: Option<FastIndex>,
}

/// "No such word or column".
const NONE: u32 = u32::MAX;

/// What the fast path knows about one normalised word (before folding).
#[derive(Debug, Clone, Copy)]
struct LexEntry {
    /// Id of the folded word, or [`NONE`] when no vocabulary term uses it.
    plain: u32,
    /// Id of `not_` + the folded word, or [`NONE`].
    negated: u32,
    /// Whether the folded word opens a negation scope.
    negator: bool,
    /// Whether the folded word opens a contrast clause.
    contrast: bool,
}

/// The vocabulary re-indexed by word ids, so that a sentence costs one hash
/// lookup per word and integer lookups per n-gram instead of building and
/// hashing every n-gram string.
///
/// Used only for the default token pattern without character n-grams, where
/// a word can contain neither a space nor a colon; then every vocabulary
/// term parses unambiguously as an n-gram of words (`a b`) or a contrast
/// copy (`but:a`), and the two paths give identical vectors (tested).
#[derive(Debug, Clone)]
struct FastIndex {
    /// Normalised word (before name folding) of at most 15 bytes, packed
    /// into an integer (see [`pack_short`]) → what it becomes. Keeping short
    /// keys inline saves a pointer chase per word.
    short_words: Table<u128, LexEntry>,
    /// The same for longer words.
    long_words: FxHashMap<Box<str>, LexEntry>,
    /// Word id → its unigram and `but:` copy columns and whether it can
    /// begin or end a bigram: one load for all four.
    single: Vec<WordColumns>,
    /// Word ids of a bigram, first in the high half → column.
    bigrams: Table<u64, u32>,
    /// Word ids of a longer n-gram (3 or 4 words, padded with [`NONE`]) → column.
    ngrams: FxHashMap<[u32; 4], u32>,
}

/// What the fast path needs of one word id.
#[derive(Debug, Clone, Copy)]
struct WordColumns {
    /// Column of the unigram, or [`NONE`].
    unigram: u32,
    /// Column of the `but:` copy, or [`NONE`].
    marked: u32,
    /// Whether some bigram of the vocabulary begins with this word.
    begins_bigram: bool,
    /// Whether some bigram of the vocabulary ends with this word.
    ends_bigram: bool,
}

/// What a word not in [`FastIndex::short_words`] or `long_words` becomes.
const UNKNOWN_WORD: LexEntry = LexEntry {
    plain: NONE,
    negated: NONE,
    negator: false,
    contrast: false,
};

/// A key of a [`Table`].
trait TableKey: Copy + Eq {
    /// The key of an empty slot, which no stored key may equal.
    const EMPTY: Self;
    /// A 64-bit hash whose high bits are well mixed.
    fn hash(self) -> u64;
}

/// Multiplier of Fibonacci hashing (2⁶⁴ divided by the golden ratio).
const FIB: u64 = 0x9E37_79B9_7F4A_7C15;

impl TableKey for u64 {
    // Two word ids of `NONE`: never a bigram.
    const EMPTY: u64 = u64::MAX;
    #[inline]
    fn hash(self) -> u64 {
        (self ^ (self >> 29)).wrapping_mul(FIB)
    }
}

impl TableKey for u128 {
    // A length byte of 255: never a packed word (see `pack_short`).
    const EMPTY: u128 = u128::MAX;
    #[inline]
    fn hash(self) -> u64 {
        let (lo, hi) = (self as u64, (self >> 64) as u64);
        (lo.wrapping_mul(FIB).rotate_left(29) ^ hi).wrapping_mul(FIB)
    }
}

/// A fixed hash map from integer keys, built once: open addressing with
/// linear probing in one array of (key, value) slots, at most half full, so
/// a lookup is one multiplication and usually one cache line.
#[derive(Debug, Clone)]
struct Table<K, V> {
    slots: Vec<(K, V)>,
    /// 64 minus log2 of the slot count: the hash's high bits pick the slot.
    shift: u32,
}

impl<K: TableKey, V: Copy> Table<K, V> {
    /// A table of `entries` (a later duplicate key wins); `empty` fills
    /// the free slots.
    fn new(entries: Vec<(K, V)>, empty: V) -> Self {
        let size = (2 * entries.len()).max(16).next_power_of_two();
        let mut table = Table {
            slots: vec![(K::EMPTY, empty); size],
            shift: 64 - size.trailing_zeros(),
        };
        for (key, value) in entries {
            if key == K::EMPTY {
                continue;
            }
            let mask = size - 1;
            let mut i = table.slot(key);
            while table.slots[i].0 != K::EMPTY && table.slots[i].0 != key {
                i = (i + 1) & mask;
            }
            table.slots[i] = (key, value);
        }
        table
    }

    #[inline]
    fn slot(&self, key: K) -> usize {
        (key.hash() >> self.shift) as usize
    }

    /// The value of `key`. Terminates: at least half the slots are empty.
    #[inline]
    fn get(&self, key: K) -> Option<&V> {
        let mask = self.slots.len() - 1;
        let mut i = self.slot(key);
        loop {
            let (k, v) = self.slots.get(i)?;
            if *k == key {
                return (key != K::EMPTY).then_some(v);
            }
            if *k == K::EMPTY {
                return None;
            }
            i = (i + 1) & mask;
        }
    }
}

/// The packed key (see [`pack_short`]) of the normalised form of an ASCII
/// token `bytes[start..end]` (as [`push_normalised`] writes it), or `None`
/// when that form is longer than 15 bytes or the token is long enough to
/// need the general path.
///
/// A token of the default pattern holds only ASCII letters, digits and `'`
/// here; for all of them setting bit 5 lower-cases (digits and `'` have it
/// already), and after that a byte is a digit exactly when its high nibble
/// is 3.
#[inline]
fn ascii_key(bytes: &[u8], start: usize, end: usize, fold_numbers: bool) -> Option<u128> {
    const LOWER: u64 = 0x2020_2020_2020_2020;
    const HIGH_NIBBLES: u64 = 0xF0F0_F0F0_F0F0_F0F0;
    const DIGITS: u64 = 0x3030_3030_3030_3030;
    let n = end.checked_sub(start)?;
    if n == 0 || n > 17 {
        return None;
    }
    // A possessive `'s` (of a token of more than two bytes) is dropped.
    let possessive = n > 2
        && bytes.get(end - 2) == Some(&b'\'')
        && bytes.get(end - 1).map(|b| b | 0x20) == Some(b's');
    let len = if possessive { n - 2 } else { n };
    if len > 15 {
        return None;
    }
    let (lo, hi) = if len <= 8 {
        let mask = u64::MAX >> (64 - 8 * len);
        (load_le(bytes, start, len) | (LOWER & mask), 0)
    } else {
        let mask = u64::MAX >> (128 - 8 * len);
        (
            load_le(bytes, start, 8) | LOWER,
            load_le(bytes, start + 8, len - 8) | (LOWER & mask),
        )
    };
    // Only a token that starts with a digit can be all digits.
    if fold_numbers && !possessive && (lo as u8).is_ascii_digit() {
        let digits = if len <= 8 {
            lo & HIGH_NIBBLES == DIGITS & (u64::MAX >> (64 - 8 * len))
        } else {
            lo & HIGH_NIBBLES == DIGITS
                && hi & HIGH_NIBBLES == DIGITS & (u64::MAX >> (128 - 8 * len))
        };
        if digits {
            return Some(NUM_KEY);
        }
    }
    Some(u128::from(lo) | (u128::from(hi) << 64) | ((len as u128) << 120))
}

/// The packed key of `<num>`.
const NUM_KEY: u128 = u128::from_le_bytes(*b"<num>\0\0\0\0\0\0\0\0\0\0\x05");

/// `bytes[at..at + n]` (1 ≤ `n` ≤ 8) as a little-endian integer.
#[inline]
fn load_le(bytes: &[u8], at: usize, n: usize) -> u64 {
    match eight_bytes(bytes, at) {
        Some(eight) => eight & (u64::MAX >> (64 - 8 * n)),
        None => bytes
            .iter()
            .skip(at)
            .take(n)
            .rev()
            .fold(0, |v, &b| (v << 8) | u64::from(b)),
    }
}

/// `bytes[at..at + 8]` as a little-endian integer, if all eight are there
/// (one comparison: `at` never exceeds the length here, so `at + 8` cannot
/// overflow).
#[inline]
fn eight_bytes(bytes: &[u8], at: usize) -> Option<u64> {
    let eight: [u8; 8] = bytes.get(at..at.wrapping_add(8))?.try_into().ok()?;
    Some(u64::from_le_bytes(eight))
}

/// Whether a packed word ends with `n't`.
fn packed_ends_with_nt(packed: u128) -> bool {
    let len = (packed >> 120) as usize;
    len >= 3 && (packed >> (8 * (len - 3))) & 0xFF_FFFF == u128::from(u32::from_le_bytes(*b"n't\0"))
}

/// A word of at most 15 bytes as one integer: its bytes, then its length in
/// the last byte, so different words never share a key.
#[inline]
fn pack_short(word: &str) -> Option<u128> {
    let bytes = word.as_bytes();
    if bytes.len() > 15 {
        return None;
    }
    let mut buf = [0u8; 16];
    buf[..bytes.len()].copy_from_slice(bytes);
    buf[15] = bytes.len() as u8;
    Some(u128::from_le_bytes(buf))
}

impl FastIndex {
    /// Builds the index, or `None` when the configuration needs the general path.
    fn build(config: &FeatureConfig, vocabulary: &[String]) -> Option<FastIndex> {
        fn id_of<'v>(w: &'v str, ids: &mut FxHashMap<&'v str, u32>) -> u32 {
            let next = ids.len() as u32;
            *ids.entry(w).or_insert(next)
        }
        let separator_free = |w: &str| !w.is_empty() && !w.bytes().any(|b| b == b' ' || b == b':');
        if config.token_pattern != DEFAULT_TOKEN_PATTERN
            || config.char_ngrams.is_some()
            || config.word_ngrams[1] > 4
            || !config.name_folding.values().all(|v| separator_free(v))
        {
            return None;
        }
        token_classes()?;
        let mut ids: FxHashMap<&str, u32> = FxHashMap::default();
        let mut ngrams = FxHashMap::default();
        let mut bigrams = Vec::new();
        // Terms in column order, each as (column, word ids padded with
        // `NONE`, word count, whether a `but:` copy); the borrowed words live
        // as long as `vocabulary`.
        let mut words_of_terms: Vec<(u32, [u32; 4], usize, bool)> =
            Vec::with_capacity(vocabulary.len());
        for (column, term) in vocabulary.iter().enumerate() {
            if term.starts_with("c:") {
                continue; // character n-grams: not configured here
            }
            if let Some(word) = term.strip_prefix("but:") {
                if separator_free(word) {
                    let id = id_of(word, &mut ids);
                    words_of_terms.push((column as u32, [id, NONE, NONE, NONE], 1, true));
                }
                continue;
            }
            let mut parts: [&str; 4] = [""; 4];
            let mut n = 0;
            for part in term.split(' ') {
                // A fifth word leaves `n` at 5: not an n-gram the fast path counts.
                if let Some(slot) = parts.get_mut(n) {
                    *slot = part;
                }
                n += 1;
            }
            let parts = &parts[..n.min(4)];
            if n > 4 || !parts.iter().all(|p| separator_free(p)) {
                continue;
            }
            let mut word_ids = [NONE; 4];
            for (id, part) in word_ids.iter_mut().zip(parts) {
                *id = id_of(part, &mut ids);
            }
            words_of_terms.push((column as u32, word_ids, n, false));
        }
        let mut single = vec![
            WordColumns {
                unigram: NONE,
                marked: NONE,
                begins_bigram: false,
                ends_bigram: false,
            };
            ids.len()
        ];
        for (column, word_ids, n, is_contrast) in words_of_terms {
            match (&word_ids[..n], is_contrast) {
                ([id], true) => single[*id as usize].marked = column,
                ([id], false) => single[*id as usize].unigram = column,
                ([a, b], _) => {
                    single[*a as usize].begins_bigram = true;
                    single[*b as usize].ends_bigram = true;
                    bigrams.push(((u64::from(*a) << 32) | u64::from(*b), column));
                }
                _ => {
                    ngrams.insert(word_ids, column);
                }
            }
        }
        // Every normalised word whose entry is not the default one: name
        // folding sources, negation and contrast words, and the (unmarked)
        // words of the vocabulary.
        let mut raw: Vec<&str> = config.name_folding.keys().map(String::as_str).collect();
        raw.extend(NEGATORS.iter().chain(CONTRASTS));
        raw.extend(ids.keys().map(|w| w.strip_prefix("not_").unwrap_or(w)));
        let mut short_words = Vec::new();
        let mut long_words = FxHashMap::default();
        let mut negated_form = String::new();
        for word in raw {
            let folded = config.name_folding.get(word).map_or(word, String::as_str);
            negated_form.clear();
            negated_form.push_str("not_");
            negated_form.push_str(folded);
            let entry = LexEntry {
                plain: ids.get(folded).copied().unwrap_or(NONE),
                negated: ids.get(negated_form.as_str()).copied().unwrap_or(NONE),
                negator: is_negator(folded),
                contrast: CONTRASTS.contains(&folded),
            };
            match pack_short(word) {
                Some(key) => short_words.push((key, entry)),
                None => {
                    long_words.insert(Box::from(word), entry);
                }
            };
        }
        Some(FastIndex {
            short_words: Table::new(short_words, UNKNOWN_WORD),
            long_words,
            single,
            bigrams: Table::new(bigrams, NONE),
            ngrams,
        })
    }

    /// Counts the column of every vocabulary term of `sentence` in `tally`.
    fn columns(
        &self,
        config: &FeatureConfig,
        sentence: &str,
        key: &mut String,
        word_ids: &mut Vec<u32>,
        tally: &mut Tally,
    ) {
        word_ids.clear();
        let bytes = sentence.as_bytes();
        let mut last_end = 0usize;
        let mut negated = false;
        let mut contrast = false;
        // Unigrams, bigrams and contrast copies are counted as the words
        // come; longer n-grams from the list of word ids.
        let [lo, hi] = config.word_ngrams;
        let unigrams = lo <= 1 && 1 <= hi;
        let bigrams = lo <= 2 && 2 <= hi;
        let keep_ids = hi >= 3;
        let mut previous = NONE;
        let Some(tokens) = DefaultTokens::new(sentence) else {
            return;
        };
        for (start, end, ascii) in tokens {
            // Only an open scope needs its gap checked for punctuation.
            if negated
                && config.negation
                && has_clause_punctuation(bytes.get(last_end..start).unwrap_or_default())
            {
                negated = false;
            }
            last_end = end;
            let packed = if ascii {
                ascii_key(bytes, start, end, config.fold_numbers)
            } else {
                None
            };
            let entry = match packed {
                Some(packed) => match self.short_words.get(packed) {
                    Some(e) => *e,
                    None => LexEntry {
                        negator: config.negation && packed_ends_with_nt(packed),
                        ..UNKNOWN_WORD
                    },
                },
                None => {
                    key.clear();
                    push_normalised(key, &sentence[start..end], config.fold_numbers);
                    let found = match pack_short(key) {
                        Some(packed) => self.short_words.get(packed),
                        None => self.long_words.get(key.as_str()),
                    };
                    match found {
                        Some(e) => *e,
                        None => LexEntry {
                            negator: key.ends_with("n't"),
                            ..UNKNOWN_WORD
                        },
                    }
                }
            };
            let id = if config.negation && negated && !entry.negator {
                entry.negated
            } else {
                entry.plain
            };
            // The previous word if it can begin a bigram, else `NONE`: a
            // bigram lookup is made only when it can find something.
            let mut begins = NONE;
            if let Some(word) = self.single.get(id as usize) {
                if unigrams && word.unigram != NONE {
                    tally.add(word.unigram);
                }
                // A word after a contrast word (`config.contrast` only).
                if contrast && word.marked != NONE {
                    tally.add(word.marked);
                }
                if bigrams && previous != NONE && word.ends_bigram {
                    let pair = (u64::from(previous) << 32) | u64::from(id);
                    if let Some(&c) = self.bigrams.get(pair) {
                        if c != NONE {
                            tally.add(c);
                        }
                    }
                }
                if word.begins_bigram {
                    begins = id;
                }
            }
            previous = begins;
            if keep_ids {
                word_ids.push(id);
            }
            negated |= entry.negator;
            contrast |= config.contrast && entry.contrast;
        }
        for n in lo.max(3)..=hi.min(word_ids.len()) {
            for window in word_ids.windows(n) {
                if window.contains(&NONE) {
                    continue;
                }
                let mut k = [NONE; 4];
                for (slot, &w) in k.iter_mut().zip(window) {
                    *slot = w;
                }
                if let Some(&c) = self.ngrams.get(&k) {
                    tally.add(c);
                }
            }
        }
    }
}

/// Whether a gap between words ends a negation scope: it holds one of
/// `. , ; : ! ? ( ) "` or a curly quote or dash (`“ ” — –`).
#[inline]
fn has_clause_punctuation(bytes: &[u8]) -> bool {
    // Most gaps are one space: settle them without a search.
    if bytes == b" " {
        return false;
    }
    let mut non_ascii = false;
    for &b in bytes {
        match b {
            b'.' | b',' | b';' | b':' | b'!' | b'?' | b'(' | b')' | b'"' => return true,
            0x80.. => non_ascii = true,
            _ => {}
        }
    }
    // `“ ” — –` are E2 80 9C, E2 80 9D, E2 80 94 and E2 80 93 in UTF-8; in
    // valid UTF-8 such three bytes are always that whole character.
    non_ascii
        && bytes
            .windows(3)
            .any(|w| matches!(w, [0xE2, 0x80, 0x9C | 0x9D | 0x94 | 0x93]))
}

/// Whether a (folded) word opens a negation scope.
fn is_negator(word: &str) -> bool {
    NEGATORS.contains(&word) || word.ends_with("n't")
}

/// Unicode ranges of `\p{L}` and of `[\p{L}\p{N}]`, taken from the regex
/// crate's own tables so the scanner classifies exactly as the regex does,
/// with bitmaps of the same classes over the Basic Multilingual Plane.
struct TokenClasses {
    letters: Vec<(char, char)>,
    word: Vec<(char, char)>,
    /// Bit `c % 64` of word `c / 64`: `c` (below U+10000) is a letter.
    letter_bits: Vec<u64>,
    /// The same for letters and digits.
    word_bits: Vec<u64>,
}

/// Characters below this have their class in the bitmaps.
const BITMAP_END: u32 = 0x1_0000;

impl TokenClasses {
    fn bitmap(ranges: &[(char, char)]) -> Vec<u64> {
        let mut bits = vec![0u64; (BITMAP_END / 64) as usize];
        for &(lo, hi) in ranges {
            for c in u32::from(lo)..=u32::from(hi).min(BITMAP_END - 1) {
                bits[(c / 64) as usize] |= 1 << (c % 64);
            }
        }
        bits
    }

    #[inline]
    fn is_letter(&self, c: char) -> bool {
        Self::lookup(&self.letter_bits, &self.letters, c)
    }

    #[inline]
    fn is_word(&self, c: char) -> bool {
        Self::lookup(&self.word_bits, &self.word, c)
    }

    #[inline]
    fn lookup(bits: &[u64], ranges: &[(char, char)], c: char) -> bool {
        let c32 = u32::from(c);
        match bits.get((c32 / 64) as usize) {
            Some(word) => word & (1 << (c32 % 64)) != 0,
            None => in_ranges(ranges, c),
        }
    }
}

fn token_classes() -> Option<&'static TokenClasses> {
    static CLASSES: std::sync::OnceLock<Option<TokenClasses>> = std::sync::OnceLock::new();
    CLASSES
        .get_or_init(|| {
            let ranges = |pattern: &str| -> Option<Vec<(char, char)>> {
                let hir = regex_syntax::parse(pattern).ok()?;
                match hir.kind() {
                    regex_syntax::hir::HirKind::Class(regex_syntax::hir::Class::Unicode(c)) => {
                        Some(c.ranges().iter().map(|r| (r.start(), r.end())).collect())
                    }
                    _ => None,
                }
            };
            let letters = ranges(r"\p{L}")?;
            let word = ranges(r"[\p{L}\p{N}]")?;
            Some(TokenClasses {
                letter_bits: TokenClasses::bitmap(&letters),
                word_bits: TokenClasses::bitmap(&word),
                letters,
                word,
            })
        })
        .as_ref()
}

fn in_ranges(ranges: &[(char, char)], c: char) -> bool {
    ranges
        .binary_search_by(|&(lo, hi)| {
            if hi < c {
                std::cmp::Ordering::Less
            } else if lo > c {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        })
        .is_ok()
}

/// The character at byte `i` (a character boundary) and its length in bytes.
#[inline]
fn char_at(s: &str, i: usize) -> (char, usize) {
    let b = s.as_bytes()[i];
    if b < 0x80 {
        return (b as char, 1);
    }
    let c = s[i..].chars().next().unwrap_or('\0');
    (c, c.len_utf8())
}

/// The right single quotation mark `’`, an apostrophe of the token pattern.
const CURLY_APOSTROPHE: &[u8] = "’".as_bytes();

/// The matches of [`DEFAULT_TOKEN_PATTERN`] in a string, exactly as
/// `Regex::find_iter` finds them, without the regex engine: each item is
/// `(start, end, ascii)`, where `ascii` tells that the match is all ASCII.
///
/// The pattern is `[\p{L}\p{N}]+(?:['’]\p{L}+)*`: a match starts at the
/// first letter or digit, takes the whole run of letters and digits, then
/// as many groups of an apostrophe followed by a run of letters as follow.
/// Greedy leftmost-first matching never backtracks into a shorter run here,
/// because a longer run can only be followed by what a shorter one could.
/// ASCII bytes are classified directly, other characters by the bitmaps.
/// An iterator rather than a callback, so that the caller's loop state
/// stays in registers.
struct DefaultTokens<'a> {
    s: &'a str,
    classes: &'static TokenClasses,
    /// Where the search for the next match starts.
    i: usize,
}

impl<'a> DefaultTokens<'a> {
    /// The matches in `s`, or `None` if the Unicode tables are unavailable.
    fn new(s: &'a str) -> Option<Self> {
        let classes = token_classes()?;
        Some(DefaultTokens { s, classes, i: 0 })
    }
}

impl Iterator for DefaultTokens<'_> {
    type Item = (usize, usize, bool);

    /// The common case inline: an all-ASCII run of letters and digits ended
    /// by an ASCII byte other than an apostrophe. Anything else (a non-ASCII
    /// byte in the gap, the run or after it, or an apostrophe) goes through
    /// [`DefaultTokens::next_general`] from the start of the match.
    #[inline]
    fn next(&mut self) -> Option<(usize, usize, bool)> {
        let bytes = self.s.as_bytes();
        let len = bytes.len();
        let mut i = self.i;
        while i < len && BYTE_CLASS[usize::from(bytes[i])] == OTHER_ASCII {
            i += 1;
        }
        self.i = i;
        if i >= len {
            return None;
        }
        if BYTE_CLASS[usize::from(bytes[i])] == ALNUM_ASCII {
            let start = i;
            let ended;
            (i, ended) = ascii_alnum_run(bytes, i + 1);
            if ended {
                let b = bytes[i];
                if b < 0x80 && b != b'\'' {
                    self.i = i;
                    return Some((start, i, true));
                }
            }
        }
        self.next_general()
    }
}

impl DefaultTokens<'_> {
    /// The next match from `self.i`, in every case.
    #[inline(never)]
    fn next_general(&mut self) -> Option<(usize, usize, bool)> {
        let s = self.s;
        let classes = self.classes;
        let bytes = s.as_bytes();
        let len = bytes.len();
        let class = |i: usize| BYTE_CLASS[usize::from(bytes[i])];
        // The length of the letter at `i`, if it is one, and whether it is ASCII.
        let letter_at = |i: usize| -> Option<(usize, bool)> {
            let b = bytes[i];
            if b < 0x80 {
                return b.is_ascii_alphabetic().then_some((1, true));
            }
            let (c, w) = char_at(s, i);
            classes.is_letter(c).then_some((w, false))
        };
        let mut i = self.i;
        let (start, mut ascii) = loop {
            while i < len && class(i) == OTHER_ASCII {
                i += 1;
            }
            if i >= len {
                self.i = len;
                return None;
            }
            let start = i;
            if class(i) == NON_ASCII {
                let (c, w) = char_at(s, i);
                i += w;
                if classes.is_word(c) {
                    break (start, false);
                }
            } else {
                i += 1;
                break (start, true);
            }
        };
        // The rest of the run of letters and digits, eight bytes at a time.
        loop {
            let stopped;
            (i, stopped) = ascii_alnum_run(bytes, i);
            // Fewer than eight bytes left: byte by byte.
            while !stopped && i < len && class(i) == ALNUM_ASCII {
                i += 1;
            }
            if i < len && class(i) == NON_ASCII {
                let (c, w) = char_at(s, i);
                if classes.is_word(c) {
                    ascii = false;
                    i += w;
                    continue;
                }
            }
            break;
        }
        // Groups of an apostrophe and a run of letters.
        while i < len {
            let w = if bytes[i] == b'\'' {
                1
            } else if bytes[i] == CURLY_APOSTROPHE[0] && bytes[i..].starts_with(CURLY_APOSTROPHE) {
                CURLY_APOSTROPHE.len()
            } else {
                break;
            };
            if i + w >= len {
                break;
            }
            let Some((nw, next_ascii)) = letter_at(i + w) else {
                break;
            };
            ascii &= w == 1 && next_ascii;
            i += w + nw;
            while i < len {
                let Some((w, letter_ascii)) = letter_at(i) else {
                    break;
                };
                ascii &= letter_ascii;
                i += w;
            }
        }
        self.i = i;
        Some((start, i, ascii))
    }
}

/// Skips ASCII letters and digits from `i`, eight bytes at a time: returns
/// the position of the first other byte and `true`, or, when fewer than
/// eight bytes are left before the run ends, the position where that
/// began and `false` (the caller finishes byte by byte).
#[inline]
fn ascii_alnum_run(bytes: &[u8], mut i: usize) -> (usize, bool) {
    while let Some(eight) = eight_bytes(bytes, i) {
        let stop = !ascii_alnum_bits(eight) & HIGH_BITS;
        if stop != 0 {
            return (i + (stop.trailing_zeros() / 8) as usize, true);
        }
        i += 8;
    }
    (i, false)
}

/// The high bit of every byte of a `u64`.
const HIGH_BITS: u64 = 0x8080_8080_8080_8080;

/// The high bit of each byte of `v` that is an ASCII letter or digit, and
/// no other bit. Every lane stays below 0x100, so no carry crosses lanes.
#[inline]
fn ascii_alnum_bits(v: u64) -> u64 {
    const LANES: u64 = 0x0101_0101_0101_0101;
    let low = v & !HIGH_BITS;
    let folded = low | (0x20 * LANES);
    // Lane by lane: `x + (0x80 - a)` has its high bit set exactly when `x >= a`.
    let letter = (folded + (0x80 - u64::from(b'a')) * LANES)
        & !(folded + (0x80 - u64::from(b'z') - 1) * LANES);
    let digit =
        (low + (0x80 - u64::from(b'0')) * LANES) & !(low + (0x80 - u64::from(b'9') - 1) * LANES);
    (letter | digit) & !v & HIGH_BITS
}

/// [`BYTE_CLASS`]: an ASCII byte that is neither a letter nor a digit.
const OTHER_ASCII: u8 = 0;
/// [`BYTE_CLASS`]: an ASCII letter or digit.
const ALNUM_ASCII: u8 = 1;
/// [`BYTE_CLASS`]: a byte of a multi-byte UTF-8 character.
const NON_ASCII: u8 = 2;

/// The class of every byte, for the scanner's inner loops.
static BYTE_CLASS: [u8; 256] = {
    let mut table = [OTHER_ASCII; 256];
    let mut b = 0;
    while b < 256 {
        let byte = b as u8;
        table[b] = if byte >= 0x80 {
            NON_ASCII
        } else if byte.is_ascii_alphanumeric() {
            ALNUM_ASCII
        } else {
            OTHER_ASCII
        };
        b += 1;
    }
    table
};

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
        Ok(Self::assemble(
            config,
            OnceLock::from(pattern),
            vocabulary,
            idf,
        ))
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
        config.check_ranges()?;
        let pattern = OnceLock::new();
        if config.token_pattern != DEFAULT_TOKEN_PATTERN {
            let _ = pattern.set(config.compile_pattern()?);
        }
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

    /// A featurizer of checked parts; `pattern` holds the compiled token
    /// pattern unless that is the default one.
    fn assemble(
        config: FeatureConfig,
        pattern: OnceLock<Regex>,
        vocabulary: Vec<String>,
        idf: Vec<f64>,
    ) -> Self {
        let fast = FastIndex::build(&config, &vocabulary);
        Featurizer {
            config,
            pattern,
            vocabulary,
            idf,
            index: OnceLock::new(),
            fast,
        }
    }

    /// The compiled token pattern.
    fn pattern(&self) -> &Regex {
        self.pattern.get_or_init(|| {
            // Only the default pattern is left to compile here (see `from_parts`).
            Regex::new(&self.config.token_pattern).expect("default token pattern is valid")
        })
    }

    /// Term → column.
    fn index(&self) -> &FxHashMap<String, u32> {
        self.index.get_or_init(|| {
            self.vocabulary
                .iter()
                .enumerate()
                .map(|(i, t)| (t.clone(), i as u32))
                .collect()
        })
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
        for_each_term(&self.config, self.pattern(), sentence, &mut scratch, |t| {
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

    /// Whether this featurizer uses the allocation-free fast path (default
    /// token pattern, no character n-grams). Both paths give identical vectors.
    pub fn has_fast_path(&self) -> bool {
        self.fast.is_some()
    }

    /// The TF-IDF vector of one sentence, reusing buffers.
    pub fn transform_into(&self, sentence: &str, scratch: &mut Scratch, out: &mut SparseVector) {
        self.transform_with(sentence, scratch, out, true);
    }

    /// Calls `f(column, value)` for every vocabulary term of `sentence`,
    /// with its TF-IDF value before L2 scaling, in order of first occurrence
    /// (not column order); returns the factor by which every value is still
    /// to be multiplied (exactly 1.0 without L2 normalisation). For a caller
    /// that only sums products, such as a linear model's scores: no vector
    /// is built and no column is sorted.
    pub(crate) fn weigh_terms(
        &self,
        sentence: &str,
        scratch: &mut Scratch,
        mut f: impl FnMut(usize, f64),
    ) -> f64 {
        let tally = self.count_terms(sentence, scratch, true);
        self.drain_values(tally, false, scratch, |i, v| f(i as usize, v))
    }

    /// Drains `tally` into `f(column, value)`, with each term's TF-IDF value
    /// before L2 scaling, in column order when `sorted` (else in order of
    /// first occurrence); gives the tally back to `scratch` and returns the
    /// L2 scale.
    #[inline]
    fn drain_values(
        &self,
        mut tally: Tally,
        sorted: bool,
        scratch: &mut Scratch,
        mut f: impl FnMut(u32, f64),
    ) -> f64 {
        let mut norm = 0.0;
        let sublinear = self.config.sublinear_tf;
        let idf = &self.idf;
        let mut each = |i: u32, count: u32| {
            let v = term_frequency(count, sublinear) * idf.get(i as usize).copied().unwrap_or(0.0);
            norm += v * v;
            f(i, v);
        };
        if sorted {
            tally.drain_sorted(&mut each);
        } else {
            tally.drain(&mut each);
        }
        scratch.tally = tally;
        self.scale_for(norm)
    }

    fn transform_with(
        &self,
        sentence: &str,
        scratch: &mut Scratch,
        out: &mut SparseVector,
        allow_fast: bool,
    ) {
        let scale = self.transform_unscaled(sentence, scratch, out, allow_fast);
        if scale != 1.0 {
            out.values.iter_mut().for_each(|v| *v *= scale);
        }
    }

    /// The vector before L2 scaling, and the scale (see
    /// [`Featurizer::weigh_terms`]).
    fn transform_unscaled(
        &self,
        sentence: &str,
        scratch: &mut Scratch,
        out: &mut SparseVector,
        allow_fast: bool,
    ) -> f64 {
        out.indices.clear();
        out.values.clear();
        let tally = self.count_terms(sentence, scratch, allow_fast);
        self.drain_values(tally, true, scratch, |i, v| {
            out.indices.push(i);
            out.values.push(v);
        })
    }

    /// The L2 scale of a vector whose squared values sum to `norm`.
    fn scale_for(&self, norm: f64) -> f64 {
        if self.config.l2_norm && norm > 0.0 {
            1.0 / norm.sqrt()
        } else {
            1.0
        }
    }

    /// Counts every vocabulary term of `sentence` in the tally of `scratch`,
    /// which it hands over (give it back when drained).
    fn count_terms(&self, sentence: &str, scratch: &mut Scratch, allow_fast: bool) -> Tally {
        let mut tally = std::mem::take(&mut scratch.tally);
        tally.fit(self.vocabulary.len());
        match self.fast.as_ref().filter(|_| allow_fast) {
            Some(fast) => fast.columns(
                &self.config,
                sentence,
                &mut scratch.key,
                &mut scratch.word_ids,
                &mut tally,
            ),
            None => {
                let index = self.index();
                for_each_term(&self.config, self.pattern(), sentence, scratch, |t| {
                    if let Some(&i) = index.get(t) {
                        tally.add(i);
                    }
                });
            }
        }
        tally
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
        if has_clause_punctuation(gap.as_bytes()) {
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
        let is_negator = is_negator(word);
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
    if word.is_ascii() {
        // The common case, without the Unicode tables (same result).
        if fold_numbers && word.bytes().all(|b| b.is_ascii_digit()) {
            out.push_str("<num>");
            return;
        }
        let start = out.len();
        out.push_str(word);
        out[start..].make_ascii_lowercase();
        if out.len() - start > 2 && out.ends_with("'s") {
            out.truncate(out.len() - 2);
        }
        return;
    }
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
    use proptest::prelude::*;

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

    /// Every sentence of the seed labels and the authored training sentences.
    fn seed_sentences() -> Vec<String> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds");
        let files = crate::labels::find_labels_files(&root).unwrap();
        assert!(!files.is_empty());
        files
            .iter()
            .flat_map(|f| crate::labels::read_labels_file(f).unwrap().records)
            .map(|r| r.text)
            .collect()
    }

    fn regex_spans(s: &str) -> Vec<(usize, usize)> {
        let pattern = Regex::new(DEFAULT_TOKEN_PATTERN).unwrap();
        pattern.find_iter(s).map(|m| (m.start(), m.end())).collect()
    }

    fn scanner_spans(s: &str) -> Vec<(usize, usize)> {
        DefaultTokens::new(s)
            .unwrap()
            .map(|(a, b, ascii)| {
                assert_eq!(ascii, s[a..b].is_ascii(), "{s:?}");
                (a, b)
            })
            .collect()
    }

    fn generic_vector(f: &Featurizer, s: &str) -> SparseVector {
        let mut out = SparseVector::default();
        f.transform_with(s, &mut Scratch::default(), &mut out, false);
        out
    }

    /// Pieces that exercise every branch of the scanner and the word rules:
    /// other scripts' letters and digits (`\p{Lo}`, `\p{Lt}`, `\p{Lm}`,
    /// `\p{Nd}`, `\p{Nl}`, `\p{No}`), combining marks (not letters),
    /// both apostrophes, clause punctuation, negators, contrasts and folded names.
    fn pieces() -> impl Strategy<Value = String> {
        let piece = prop::sample::select(vec![
            "a",
            "Z",
            "q",
            "0",
            "7",
            " ",
            " ",
            "  ",
            "'",
            "’",
            "''",
            ",",
            ".",
            "“",
            "”",
            "—",
            "–",
            "-",
            "_",
            ":",
            "(",
            "é",
            "Ж",
            "ж",
            "\u{663}",
            "\u{216B}",
            "\u{BD}",
            "\u{301}",
            "\u{1C5}",
            "\u{2B0}",
            "\u{4E2D}",
            "\u{A0}",
            "\t",
            "n't",
            "not",
            "never",
            "but",
            "However",
            "no",
            "Lukashenka",
            "programme's",
            "union",
            "state",
            "Russia",
            "2024",
            "don’t",
            "s",
        ]);
        prop::collection::vec(piece, 0..40).prop_map(|v| v.concat())
    }

    #[test]
    fn ascii_alnum_bits_classify_every_byte_in_every_lane() {
        for b in 0..=255u8 {
            for lane in 0..8 {
                // The other lanes hold bytes of every kind, too.
                let mut bytes = [b'a', b' ', 0xE2, b'9', b'Z', b'\'', 0x80, b'@'];
                bytes[lane] = b;
                let bits = ascii_alnum_bits(u64::from_le_bytes(bytes));
                for (k, &x) in bytes.iter().enumerate() {
                    let set = bits & (0x80 << (8 * k)) != 0;
                    assert_eq!(set, x.is_ascii_alphanumeric(), "byte {x:#x} in lane {k}");
                }
                assert_eq!(bits & !HIGH_BITS, 0);
            }
        }
    }

    #[test]
    fn ascii_keys_are_the_packed_normalised_words() {
        let tokens = [
            "a",
            "Ab",
            "ABC's",
            "it's",
            "'s",
            "x's",
            "2024",
            "2024's",
            "007",
            "0123456789012345",
            "01234567890123456",
            "abcdefghijklmno",
            "abcdefghijklmnop",
            "abcdefghijklmnop's",
            "abcdefghijklmnopq",
            "abcdefgh",
            "ABCDEFGHI",
            "don't",
            "O'Neill",
            "Z9",
        ];
        for fold in [true, false] {
            for t in tokens {
                // The token alone and inside a longer text (eight-byte loads).
                for text in [t.to_string(), format!("{t} and more text")] {
                    let mut normal = String::new();
                    push_normalised(&mut normal, t, fold);
                    let key = ascii_key(text.as_bytes(), 0, t.len(), fold);
                    if let Some(key) = key {
                        assert_eq!(Some(key), pack_short(&normal), "{t:?}");
                    } else {
                        assert!(t.len() > 15, "{t:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn scanner_matches_the_regex_on_seed_sentences() {
        for s in seed_sentences() {
            assert_eq!(scanner_spans(&s), regex_spans(&s), "{s:?}");
        }
    }

    #[test]
    fn fast_path_gives_identical_vectors_on_seed_sentences() {
        let sentences = seed_sentences();
        for config in [
            FeatureConfig::default(),
            FeatureConfig {
                min_df: 1,
                word_ngrams: [1, 3],
                ..FeatureConfig::default()
            },
            FeatureConfig {
                negation: false,
                contrast: false,
                fold_numbers: false,
                word_ngrams: [2, 2],
                ..FeatureConfig::default()
            },
        ] {
            let f = Featurizer::fit(config, &sentences).unwrap();
            assert!(f.has_fast_path());
            for s in &sentences {
                assert_eq!(f.transform(s), generic_vector(&f, s), "{s:?}");
            }
        }
    }

    #[test]
    fn weighed_terms_are_the_vector_before_scaling() {
        let sentences = seed_sentences();
        for config in [
            FeatureConfig::default(),
            FeatureConfig {
                sublinear_tf: false,
                l2_norm: false,
                ..FeatureConfig::default()
            },
        ] {
            let f = Featurizer::fit(config, &sentences).unwrap();
            let mut scratch = Scratch::default();
            let mut samples = sentences.clone();
            // Repeated words, so that counts above one and the sublinear
            // table are exercised.
            samples.push("Minsk, Minsk, Minsk and Moscow; Moscow and Minsk.".repeat(40));
            for s in &samples {
                let mut weighed = Vec::new();
                let scale = f.weigh_terms(s, &mut scratch, |j, x| weighed.push((j as u32, x)));
                weighed.sort_by_key(|&(j, _)| j);
                let mut unscaled = SparseVector::default();
                let expected_scale = f.transform_unscaled(s, &mut scratch, &mut unscaled, true);
                // The norm is summed in another order: equal up to rounding.
                assert!(
                    (scale - expected_scale).abs() <= 1e-12 * expected_scale,
                    "{s:?}: {scale} vs {expected_scale}"
                );
                let pairs: Vec<(u32, f64)> =
                    unscaled.indices.into_iter().zip(unscaled.values).collect();
                assert_eq!(weighed, pairs, "{s:?}");
            }
        }
    }

    #[test]
    fn sublinear_tf_table_matches_the_logarithm() {
        for count in 1..100u32 {
            let tf = f64::from(count);
            let expected = if count == 1 { 1.0 } else { 1.0 + tf.ln() };
            assert_eq!(term_frequency(count, true), expected);
            assert_eq!(term_frequency(count, false), tf);
        }
    }

    #[test]
    fn other_patterns_and_char_ngrams_use_the_general_path() {
        let custom = FeatureConfig {
            token_pattern: r"\w+".into(),
            min_df: 1,
            ..FeatureConfig::default()
        };
        assert!(!Featurizer::fit(custom, &["a b"]).unwrap().has_fast_path());
        let chars = FeatureConfig {
            char_ngrams: Some([2, 3]),
            min_df: 1,
            ..FeatureConfig::default()
        };
        assert!(!Featurizer::fit(chars, &["a b"]).unwrap().has_fast_path());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

        #[test]
        fn scanner_matches_the_regex_on_any_text(s in pieces()) {
            proptest::prop_assert_eq!(scanner_spans(&s), regex_spans(&s));
        }

        #[test]
        fn scanner_matches_the_regex_on_arbitrary_unicode(s in "\\PC{0,60}") {
            proptest::prop_assert_eq!(scanner_spans(&s), regex_spans(&s));
        }

        #[test]
        fn clause_punctuation_is_found_in_any_gap(s in "[ .,;:!?()\"“”—–'a\\PC]{0,6}") {
            let reference = s.contains([
                '.', ',', ';', ':', '!', '?', '(', ')', '"', '“', '”', '—', '–',
            ]);
            proptest::prop_assert_eq!(has_clause_punctuation(s.as_bytes()), reference);
        }

        #[test]
        fn fast_path_matches_the_general_path(
            train in prop::collection::vec(pieces(), 1..12),
            s in pieces(),
        ) {
            let config = FeatureConfig { min_df: 1, word_ngrams: [1, 3], ..FeatureConfig::default() };
            if let Ok(f) = Featurizer::fit(config, &train) {
                for t in train.iter().chain([&s]) {
                    proptest::prop_assert_eq!(f.transform(t), generic_vector(&f, t));
                }
            }
        }
    }
}
