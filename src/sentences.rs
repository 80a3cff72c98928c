//! Sentence splitting for cleaned news text.
//!
//! A sentence ends at `.`, `!`, `?` or `…` (and runs of them such as `?!`),
//! followed by any closing quotes or brackets, then white space and a
//! plausible sentence start. It does not end after abbreviations and titles
//! ("Mr.", "St.", "Feb. 3"), initials ("A. Lukashenko"), dotted acronyms
//! ("U.S." before a name), inside numbers ("71.5%"), before a lower-case word,
//! or between a quoted question or exclamation and its attribution
//! ("“Why?” he asked."). A line break always ends a sentence: the cleaner
//! leaves one paragraph per line.

use crate::article::Sentence;

const TERMINATORS: [char; 4] = ['.', '!', '?', '…'];
const CLOSERS: [char; 8] = ['"', '\'', '”', '’', '»', ')', ']', '“'];
const QUOTES: [char; 7] = ['"', '\'', '“', '”', '‘', '’', '«'];

/// Words that end with a period but do not end a sentence when a name or
/// another word follows (titles and other abbreviations), compared lower-case.
const ABBREVIATIONS: &[&str] = &[
    "mr", "mrs", "ms", "dr", "prof", "st", "gen", "col", "lt", "sgt", "capt", "gov", "sen", "rep",
    "pres", "rev", "hon", "adm", "maj", "cmdr", "messrs", "mt", "ft", "no", "nos", "vs", "approx",
    "ca", "cf", "fig", "e.g", "i.e", "dept", "univ", "jan", "feb", "mar", "apr", "jun", "jul",
    "aug", "sep", "sept", "oct", "nov", "dec",
];

/// Words that often begin a sentence after a dotted acronym ("... in the U.S. The ...").
const SENTENCE_STARTERS: &[&str] = &[
    "The", "It", "He", "She", "They", "We", "I", "But", "In", "This", "That", "A", "An", "And",
    "There", "On", "At", "Its", "His", "Her", "Their", "Our",
];

/// Verbs of speech that mark an attribution after a quoted question or exclamation.
const SPEECH_VERBS: &[&str] = &[
    "said",
    "says",
    "asked",
    "asks",
    "added",
    "told",
    "stressed",
    "noted",
    "continued",
    "exclaimed",
    "wrote",
    "tweeted",
    "replied",
    "declared",
    "insisted",
    "shouted",
];

/// Splits cleaned text into sentences with character offsets.
///
/// Never yields an empty sentence, and every non-whitespace character of
/// `text` is in exactly one sentence.
///
/// ```
/// let s = stance::split_sentences("Mr. A. Lukashenko said 71.5% agree. “Why?” he asked. Fine!");
/// let texts: Vec<_> = s.iter().map(|s| s.text.as_str()).collect();
/// assert_eq!(texts, ["Mr. A. Lukashenko said 71.5% agree.", "“Why?” he asked.", "Fine!"]);
/// assert_eq!((s[1].start, s[1].end), (36, 52));
/// ```
pub fn split_sentences(text: &str) -> Vec<Sentence> {
    let mut out = Vec::new();
    let mut line_start = 0usize;
    for line in text.split_inclusive('\n') {
        let content = line.strip_suffix('\n').unwrap_or(line);
        for (start, end) in split_line(content) {
            let piece = &content[start..end];
            let trimmed_start = start + (piece.len() - piece.trim_start().len());
            let trimmed_end = end - (piece.len() - piece.trim_end().len());
            if trimmed_start < trimmed_end {
                out.push((line_start + trimmed_start, line_start + trimmed_end));
            }
        }
        line_start += line.len();
    }
    // Byte offsets to character offsets, in one pass.
    let mut sentences = Vec::with_capacity(out.len());
    let mut chars_before = 0usize;
    let mut byte_pos = 0usize;
    for (index, (start, end)) in out.into_iter().enumerate() {
        chars_before += text[byte_pos..start].chars().count();
        let len = text[start..end].chars().count();
        sentences.push(Sentence {
            index,
            text: text[start..end].to_string(),
            start: chars_before,
            end: chars_before + len,
        });
        chars_before += len;
        byte_pos = end;
    }
    sentences
}

/// Byte ranges of the sentences of one line (untrimmed, covering the line).
fn split_line(line: &str) -> Vec<(usize, usize)> {
    let chars: Vec<(usize, char)> = line.char_indices().collect();
    let mut ranges = Vec::new();
    let mut start = 0usize;
    let mut i = 0usize;
    while i < chars.len() {
        let (_, c) = chars[i];
        if !TERMINATORS.contains(&c) {
            i += 1;
            continue;
        }
        let term_start = i;
        while i < chars.len() && TERMINATORS.contains(&chars[i].1) {
            i += 1;
        }
        let term_end = i;
        while i < chars.len() && CLOSERS.contains(&chars[i].1) {
            i += 1;
        }
        let closed_by_quote = i > term_end;
        // Must be followed by white space (or the end of the line).
        if i >= chars.len() {
            break;
        }
        if !chars[i].1.is_whitespace() {
            continue;
        }
        let boundary = chars[i].0;
        let mut j = i;
        while j < chars.len() && chars[j].1.is_whitespace() {
            j += 1;
        }
        if j >= chars.len() {
            break;
        }
        if is_boundary(line, &chars, term_start, term_end, closed_by_quote, j) {
            ranges.push((start, boundary));
            start = chars[j].0;
        }
        i = j;
    }
    if start < line.len() {
        ranges.push((start, line.len()));
    }
    ranges
}

/// Decides whether the terminator run `chars[term_start..term_end]` ends a
/// sentence, given that the next sentence would start at `chars[next]`.
fn is_boundary(
    line: &str,
    chars: &[(usize, char)],
    term_start: usize,
    term_end: usize,
    closed_by_quote: bool,
    next: usize,
) -> bool {
    let next_char = chars[next].1;
    // A stray opening quote used as a closing one: `bodies. “, said Lukashenko`.
    if QUOTES.contains(&next_char)
        && chars
            .get(next + 1)
            .is_some_and(|&(_, c)| c == ',' || c == ';')
    {
        return false;
    }
    if next_char.is_lowercase() {
        return false;
    }
    let next_word = word_at(line, chars, next);
    let single_period = term_end - term_start == 1 && chars[term_start].1 == '.';
    if single_period {
        let word = word_before(line, chars, term_start);
        let lower = word.to_lowercase();
        let letters: Vec<char> = word.chars().collect();
        // Initials: "A. Lukashenko", "V. V. Putin".
        if letters.len() == 1 && letters[0].is_uppercase() {
            return false;
        }
        if ABBREVIATIONS.contains(&lower.as_str()) {
            return false;
        }
        // Dotted acronyms ("U.S.", "U.K.") end a sentence only before a usual sentence opener.
        if word.contains('.') && word.chars().filter(|c| c.is_alphabetic()).count() >= 2 {
            return SENTENCE_STARTERS.contains(&next_word.as_str());
        }
    }
    // “Why?” he asked. / “Enough!” Lukashenko said.
    let exclaims = chars[term_start..term_end]
        .iter()
        .any(|&(_, c)| c == '?' || c == '!');
    if exclaims && closed_by_quote {
        let following: Vec<String> = line[chars[next].0..]
            .split_whitespace()
            .take(5)
            .map(|w| {
                w.trim_matches(|c: char| !c.is_alphanumeric())
                    .to_lowercase()
            })
            .collect();
        let attribution = following
            .iter()
            .position(|w| SPEECH_VERBS.contains(&w.as_str()));
        if let Some(pos) = attribution {
            // Only if nothing before the verb ends a sentence itself.
            let before: String = line[chars[next].0..]
                .split_whitespace()
                .take(pos)
                .collect::<Vec<_>>()
                .join(" ");
            if !before.contains(TERMINATORS) {
                return false;
            }
        }
    }
    true
}

/// The word (letters, digits and inner periods) that ends right before `chars[pos]`.
fn word_before(line: &str, chars: &[(usize, char)], pos: usize) -> String {
    let mut k = pos;
    while k > 0 {
        let c = chars[k - 1].1;
        if c.is_alphanumeric() || c == '.' {
            k -= 1;
        } else {
            break;
        }
    }
    let from = chars.get(k).map_or(line.len(), |&(b, _)| b);
    let to = chars.get(pos).map_or(line.len(), |&(b, _)| b);
    line[from..to].trim_start_matches('.').to_string()
}

/// The word that starts at `chars[pos]`, without surrounding punctuation.
fn word_at(line: &str, chars: &[(usize, char)], pos: usize) -> String {
    line[chars[pos].0..]
        .split_whitespace()
        .next()
        .unwrap_or("")
        .trim_matches(|c: char| !c.is_alphanumeric())
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(s: &str) -> Vec<String> {
        split_sentences(s).into_iter().map(|s| s.text).collect()
    }

    #[test]
    fn closing_quotes_stay_with_their_sentence() {
        assert_eq!(
            texts("He said “we passed.” “It is over,” she added."),
            ["He said “we passed.”", "“It is over,” she added."]
        );
    }

    #[test]
    fn abbreviations_titles_and_initials_do_not_split() {
        assert_eq!(
            texts("Mr. Putin met A. Lukashenko in St. Petersburg on Feb. 11. Then they left."),
            [
                "Mr. Putin met A. Lukashenko in St. Petersburg on Feb. 11.",
                "Then they left."
            ]
        );
        assert_eq!(
            texts("U.S. officials said so. The U.S. The end."),
            ["U.S. officials said so.", "The U.S.", "The end."]
        );
    }

    #[test]
    fn decimals_and_percentages_do_not_split() {
        assert_eq!(
            texts("About 71.5% agreed. 30% did not."),
            ["About 71.5% agreed.", "30% did not."]
        );
    }

    #[test]
    fn question_exclamation_and_ellipsis_endings() {
        assert_eq!(
            texts("Really?! Yes… We will see... Maybe."),
            ["Really?!", "Yes…", "We will see...", "Maybe."]
        );
        assert_eq!(texts("Wait… and see."), ["Wait… and see."]);
    }

    #[test]
    fn quoted_question_keeps_its_attribution() {
        assert_eq!(
            texts("“You have an open fracture there!” Alexander Lukashenko said at the meeting. Next."),
            ["“You have an open fracture there!” Alexander Lukashenko said at the meeting.", "Next."]
        );
    }

    #[test]
    fn stray_opening_quote_used_as_closing_quote() {
        assert_eq!(
            texts("It ends here. “, said Lukashenko, speaking in Minsk."),
            ["It ends here. “, said Lukashenko, speaking in Minsk."]
        );
    }

    #[test]
    fn offsets_are_in_characters_and_index_the_text() {
        let text = "Лукашенко прибыл. “Да,” сказал он.\n\nSecond paragraph";
        for s in split_sentences(text) {
            let slice: String = text.chars().skip(s.start).take(s.end - s.start).collect();
            assert_eq!(slice, s.text);
        }
    }

    #[test]
    fn line_breaks_end_sentences() {
        assert_eq!(
            texts("A headline\n\nBody text."),
            ["A headline", "Body text."]
        );
    }
}
