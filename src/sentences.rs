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

/// The character starting at byte `i` of `s`, if any.
fn char_at(s: &str, i: usize) -> Option<char> {
    s.get(i..).and_then(|rest| rest.chars().next())
}

/// Byte ranges of the sentences of one line (untrimmed, covering the line).
///
/// Works on byte offsets without collecting the characters, so memory stays
/// proportional to the number of sentences even for a line of many megabytes.
fn split_line(line: &str) -> Vec<(usize, usize)> {
    let mut ranges = Vec::new();
    let mut start = 0usize;
    let mut i = 0usize;
    let len = line.len();
    while let Some(c) = char_at(line, i) {
        if !TERMINATORS.contains(&c) {
            i += c.len_utf8();
            continue;
        }
        let term_start = i;
        while let Some(t) = char_at(line, i).filter(|t| TERMINATORS.contains(t)) {
            i += t.len_utf8();
        }
        let term_end = i;
        while let Some(q) = char_at(line, i).filter(|q| CLOSERS.contains(q)) {
            i += q.len_utf8();
        }
        let closed_by_quote = i > term_end;
        // Must be followed by white space (or the end of the line).
        match char_at(line, i) {
            None => break,
            Some(w) if !w.is_whitespace() => continue,
            Some(_) => {}
        }
        let boundary = i;
        let next = i + line[i..].len() - line[i..].trim_start().len();
        if next >= len {
            break;
        }
        if is_boundary(line, term_start, term_end, closed_by_quote, next) {
            ranges.push((start, boundary));
            start = next;
        }
        i = next;
    }
    if start < len {
        ranges.push((start, len));
    }
    ranges
}

/// Decides whether the terminator run `line[term_start..term_end]` ends a
/// sentence, given that the next sentence would start at byte `next`.
fn is_boundary(
    line: &str,
    term_start: usize,
    term_end: usize,
    closed_by_quote: bool,
    next: usize,
) -> bool {
    let rest = &line[next..];
    let mut rest_chars = rest.chars();
    let Some(next_char) = rest_chars.next() else {
        return false;
    };
    // A stray opening quote used as a closing one: `bodies. “, said Lukashenko`.
    if QUOTES.contains(&next_char) && matches!(rest_chars.next(), Some(',' | ';')) {
        return false;
    }
    if next_char.is_lowercase() {
        return false;
    }
    let terminators = &line[term_start..term_end];
    if terminators == "." {
        let word = word_before(line, term_start);
        let mut letters = word.chars();
        // Initials: "A. Lukashenko", "V. V. Putin".
        if let (Some(first), None) = (letters.next(), letters.next()) {
            if first.is_uppercase() {
                return false;
            }
        }
        if ABBREVIATIONS.contains(&word.to_lowercase().as_str()) {
            return false;
        }
        // Dotted acronyms ("U.S.", "U.K.") end a sentence only before a usual sentence opener.
        if word.contains('.') && word.chars().filter(|c| c.is_alphabetic()).count() >= 2 {
            return SENTENCE_STARTERS.contains(&first_word(rest));
        }
    }
    // “Why?” he asked. / “Enough!” Lukashenko said.
    if closed_by_quote && terminators.contains(['?', '!']) {
        let following: Vec<&str> = rest.split_whitespace().take(5).collect();
        let attribution = following.iter().position(|w| {
            let w = w
                .trim_matches(|c: char| !c.is_alphanumeric())
                .to_lowercase();
            SPEECH_VERBS.contains(&w.as_str())
        });
        // Only if nothing before the verb ends a sentence itself.
        if let Some(pos) = attribution {
            if !following[..pos].iter().any(|w| w.contains(TERMINATORS)) {
                return false;
            }
        }
    }
    true
}

/// The word (letters, digits and inner periods) that ends right before byte `pos`.
fn word_before(line: &str, pos: usize) -> &str {
    let head = &line[..pos];
    let from = head
        .char_indices()
        .rev()
        .take_while(|&(_, c)| c.is_alphanumeric() || c == '.')
        .last()
        .map_or(pos, |(i, _)| i);
    head[from..].trim_start_matches('.')
}

/// The first word of `text`, without surrounding punctuation.
fn first_word(text: &str) -> &str {
    text.split_whitespace()
        .next()
        .unwrap_or("")
        .trim_matches(|c: char| !c.is_alphanumeric())
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
