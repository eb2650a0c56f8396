//! Search across what happened in runs (#17): the one definition of a word,
//! of the text a run's records are searched as, of a query, and of the
//! excerpt a hit shows. Both backends index the words this module cuts
//! (SQLite FTS5 and PostgreSQL `tsvector` are given them ready-made, so
//! their own parsers cannot disagree), and the browser highlights with the
//! same rule.
//!
//! A word is a run of letters and digits, lowercased. Each character of a
//! script written without spaces between words (Han, kana, Thai) is a word
//! of its own, so `東京` finds `東京タワー` as a phrase of characters.
//! JSON is searched as the text a person reads: `key: value` lines of field
//! names and values, never its quotes and braces.

use crate::diff::DiffEntry;
use crate::model::JsonObject;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::ops::Range;

/// Longest query text, in characters.
pub const MAX_QUERY_CHARS: usize = 500;
/// Most words and phrases one query may hold (all must occur).
pub const MAX_QUERY_TERMS: usize = 16;
/// Longest word indexed, in characters: longer runs of letters (base64,
/// hashes) are left out of the index, and a query may not ask for one.
pub const MAX_WORD_CHARS: usize = 100;
/// Words indexed per document (a payload, a state change): PostgreSQL's
/// `tsvector` keeps positions up to 16,383, and both backends stop there so
/// they answer alike. Later words of a very large payload are not searched.
pub const MAX_INDEXED_WORDS: usize = 16_383;
/// Matches each run in a search result carries.
pub const MATCHES_PER_RUN: usize = 5;
/// Characters of context an excerpt keeps on each side of a match.
const EXCERPT_CONTEXT: usize = 70;

/// Whether `c` belongs to a script written without spaces, whose characters
/// are indexed one by one.
fn stands_alone(c: char) -> bool {
    matches!(c as u32,
        0x0E00..=0x0E7F          // Thai
        | 0x3040..=0x30FF        // Hiragana, Katakana
        | 0x31F0..=0x31FF        // Katakana phonetic extensions
        | 0x3400..=0x4DBF        // CJK extension A
        | 0x4E00..=0x9FFF        // CJK unified ideographs
        | 0xF900..=0xFAFF        // CJK compatibility ideographs
        | 0xFF66..=0xFF9F        // half-width Katakana
        | 0x20000..=0x2FFFF) // CJK extensions B and later
}

/// The words of `text` with their byte ranges, in order.
pub fn words(text: &str) -> impl Iterator<Item = (Range<usize>, String)> + '_ {
    let mut chars = text.char_indices().peekable();
    std::iter::from_fn(move || loop {
        let (start, c) = chars.next()?;
        if !c.is_alphanumeric() {
            continue;
        }
        let mut end = start + c.len_utf8();
        if !stands_alone(c) {
            while let Some(&(i, next)) = chars.peek() {
                if !next.is_alphanumeric() || stands_alone(next) {
                    break;
                }
                end = i + next.len_utf8();
                chars.next();
            }
        }
        return Some((start..end, text[start..end].to_lowercase()));
    })
}

/// The words of `text` an index keeps: those no longer than
/// `MAX_WORD_CHARS`, at most `MAX_INDEXED_WORDS` of them.
fn indexed_words(text: &str) -> impl Iterator<Item = String> + '_ {
    words(text)
        .map(|(_, word)| word)
        .filter(|word| word.chars().count() <= MAX_WORD_CHARS)
        .take(MAX_INDEXED_WORDS)
}

/// The words of a document as SQLite's FTS5 indexes them: separated by
/// spaces, so its tokenizer only splits them apart.
pub fn fts_text(text: &str) -> String {
    let mut out = String::new();
    for word in indexed_words(text) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&word);
    }
    out
}

/// The words of a document as a PostgreSQL `tsvector` literal (each word
/// with its positions), cast with `::tsvector` so that PostgreSQL's own
/// parser never sees the text.
pub fn tsvector_literal(text: &str) -> String {
    // A tsvector keeps at most 256 positions per word.
    const MAX_POSITIONS: usize = 256;
    let mut positions: std::collections::BTreeMap<String, Vec<usize>> = Default::default();
    for (i, word) in indexed_words(text).enumerate() {
        let at = positions.entry(word).or_default();
        if at.len() < MAX_POSITIONS {
            at.push(i + 1);
        }
    }
    let mut out = String::new();
    for (word, at) in positions {
        if !out.is_empty() {
            out.push(' ');
        }
        // Words hold letters and digits only: no quote or backslash to escape.
        out.push('\'');
        out.push_str(&word);
        out.push_str("':");
        let at: Vec<String> = at.iter().map(usize::to_string).collect();
        out.push_str(&at.join(","));
    }
    out
}

/// Appends `value` as `path: value` lines: field names and values as a
/// person reads them. Array positions are left out of the path.
fn push_json(path: &mut String, value: &Value, out: &mut String) {
    match value {
        Value::Object(object) => {
            for (key, child) in object {
                let before = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
                push_json(path, child, out);
                path.truncate(before);
            }
        }
        Value::Array(items) => items.iter().for_each(|item| push_json(path, item, out)),
        Value::Null => {}
        scalar => {
            if !path.is_empty() {
                out.push_str(path);
                out.push_str(": ");
            }
            match scalar {
                Value::String(s) => out.push_str(s),
                other => out.push_str(&other.to_string()),
            }
            out.push('\n');
        }
    }
}

/// An object's searchable text.
pub fn object_text(object: &JsonObject) -> String {
    let mut out = String::new();
    for (key, value) in object {
        push_json(&mut key.clone(), value, &mut out);
    }
    out
}

/// The searchable text of a node event: its error, inputs and outputs.
pub fn event_text(error: Option<&str>, inputs: &JsonObject, outputs: &JsonObject) -> String {
    let mut out = String::new();
    if let Some(error) = error {
        out.push_str("error: ");
        out.push_str(error);
        out.push('\n');
    }
    out.push_str(&object_text(inputs));
    out.push_str(&object_text(outputs));
    out
}

/// The searchable text of a state snapshot: what changed (the values its
/// diff sets, so a search finds the step where a value appeared), or the
/// whole state where there is no diff (the first snapshot).
pub fn snapshot_text(state: &JsonObject, diff: Option<&[DiffEntry]>) -> String {
    let Some(diff) = diff else {
        return object_text(state);
    };
    let mut out = String::new();
    for entry in diff {
        if let Some(new) = &entry.new {
            // `/draft/title` reads as `draft.title`.
            let mut path = entry.path.trim_start_matches('/').replace('/', ".");
            push_json(&mut path, new, &mut out);
        }
    }
    out
}

/// The searchable text of a run itself: its error, inputs, final state and
/// metadata.
pub fn run_text(
    error: Option<&str>,
    inputs: &JsonObject,
    final_state: Option<&JsonObject>,
    metadata: &JsonObject,
) -> String {
    let mut out = event_text(error, inputs, metadata);
    if let Some(state) = final_state {
        out.push_str(&object_text(state));
    }
    out
}

/// A validated search: words and phrases that must all occur in one record
/// of a run. Parsed from the text a person types (`rate limit "gpt-4o"`);
/// a word with inner punctuation (`gpt-4o`, `1.4.2`) is the phrase of its
/// parts, as the index holds them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SearchQuery {
    text: String,
    terms: Vec<Vec<String>>,
}

impl SearchQuery {
    /// Reads a query; the message says what is wrong with it.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err("is empty: give words to search for".into());
        }
        if text.chars().count() > MAX_QUERY_CHARS {
            return Err(format!("at most {MAX_QUERY_CHARS} characters"));
        }
        if text.chars().any(char::is_control) {
            return Err("must not contain control characters".into());
        }
        let mut terms: Vec<Vec<String>> = Vec::new();
        let mut add = |part: &str| -> Result<(), String> {
            let term: Vec<String> = words(part).map(|(_, w)| w).collect();
            if let Some(long) = term.iter().find(|w| w.chars().count() > MAX_WORD_CHARS) {
                return Err(format!(
                    "the word \"{}…\" is longer than {MAX_WORD_CHARS} characters, which are not indexed",
                    long.chars().take(20).collect::<String>()
                ));
            }
            if !term.is_empty() && !terms.contains(&term) {
                terms.push(term);
            }
            Ok(())
        };
        // Quotes alternate between bare words and phrases; an unclosed
        // quote's phrase runs to the end.
        for (i, part) in text.split('"').enumerate() {
            if i % 2 == 1 {
                add(part)?;
            } else {
                part.split_whitespace().try_for_each(&mut add)?;
            }
        }
        if terms.is_empty() {
            return Err("has no letters or digits to search for".into());
        }
        if terms.len() > MAX_QUERY_TERMS {
            return Err(format!("at most {MAX_QUERY_TERMS} words or phrases"));
        }
        Ok(Self {
            text: text.to_owned(),
            terms,
        })
    }

    /// The query as typed (trimmed).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The words and phrases, each a list of words.
    pub fn terms(&self) -> &[Vec<String>] {
        &self.terms
    }

    /// The query in FTS5's syntax: every term a quoted phrase, all required.
    pub fn fts_match(&self) -> String {
        self.terms
            .iter()
            .map(|term| format!("\"{}\"", term.join(" ")))
            .collect::<Vec<_>>()
            .join(" AND ")
    }

    /// The query as a PostgreSQL `tsquery` literal (cast with `::tsquery`,
    /// which takes the words as they are): phrases with `<->`, all required.
    pub fn tsquery_literal(&self) -> String {
        self.terms
            .iter()
            .map(|term| {
                let words: Vec<String> = term.iter().map(|w| format!("'{w}'")).collect();
                format!("({})", words.join(" <-> "))
            })
            .collect::<Vec<_>>()
            .join(" & ")
    }

    /// Where the first term occurs in `text`, as a byte range (a phrase's
    /// whole span).
    fn first_occurrence(&self, text: &str) -> Option<Range<usize>> {
        // A window of as many words as the longest term, slid over the text
        // (a record can hold megabytes of words: they are not all kept).
        let longest = self.terms.iter().map(Vec::len).max()?;
        let mut found = words(text);
        let mut window: std::collections::VecDeque<(Range<usize>, String)> =
            std::collections::VecDeque::with_capacity(longest);
        loop {
            while window.len() < longest {
                match found.next() {
                    Some(word) => window.push_back(word),
                    None => break,
                }
            }
            let at = self.terms.iter().find_map(|term| {
                (term.len() <= window.len() && window.iter().zip(term).all(|((_, w), t)| w == t))
                    .then(|| window[0].0.start..window[term.len() - 1].0.end)
            });
            if at.is_some() {
                return at;
            }
            window.pop_front()?;
        }
    }

    /// The parts of `text` to highlight: every word of the query, wherever
    /// it occurs (an excerpt may show part of a phrase).
    pub fn highlights(&self, text: &str) -> Vec<Range<usize>> {
        words(text)
            .filter(|(_, w)| self.terms.iter().any(|term| term.contains(w)))
            .map(|(range, _)| range)
            .collect()
    }

    /// A short excerpt of `text` around the query's first occurrence: the
    /// line it is on, cut to `EXCERPT_CONTEXT` characters each side, with
    /// `…` where it was cut. The first line when the query does not occur
    /// (it matched past the words an index keeps).
    pub fn excerpt(&self, text: &str) -> String {
        let at = self.first_occurrence(text).unwrap_or(0..0);
        let line_start = text[..at.start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = text[at.end..].find('\n').map_or(text.len(), |i| at.end + i);
        let start = text[line_start..at.start]
            .char_indices()
            .rev()
            .nth(EXCERPT_CONTEXT - 1)
            .map_or(line_start, |(i, _)| line_start + i);
        let end = text[at.end..line_end]
            .char_indices()
            .nth(EXCERPT_CONTEXT)
            .map_or(line_end, |(i, _)| at.end + i);
        let mut out = String::new();
        if start > line_start {
            out.push('…');
        }
        out.push_str(text[start..end].trim());
        if end < line_end {
            out.push('…');
        }
        out
    }
}

impl TryFrom<String> for SearchQuery {
    type Error = String;

    fn try_from(value: String) -> Result<Self, String> {
        Self::parse(&value)
    }
}

impl From<SearchQuery> for String {
    fn from(query: SearchQuery) -> Self {
        query.text
    }
}

impl std::fmt::Display for SearchQuery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

/// Which record of a run a search matched.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum MatchPlace {
    /// A node event: its error, inputs or outputs.
    Event,
    /// A state snapshot: what the state changed to.
    Snapshot,
    /// The run: its error, inputs, final state or metadata.
    Run,
}

impl MatchPlace {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Event => "event",
            Self::Snapshot => "snapshot",
            Self::Run => "run",
        }
    }

    /// Reads a stored name.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "event" => Some(Self::Event),
            "snapshot" => Some(Self::Snapshot),
            "run" => Some(Self::Run),
            _ => None,
        }
    }
}

/// Where in a run a search matched, with the text around it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SearchMatch {
    /// An event, a snapshot, or the run itself.
    #[serde(rename = "where")]
    pub place: MatchPlace,
    /// The record's `seq` (`null` for the run).
    pub seq: Option<i64>,
    /// The record's node (`null` for the run).
    pub node_id: Option<String>,
    /// The line of text that matched, cut around the match.
    pub excerpt: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(value: Value) -> JsonObject {
        value.as_object().unwrap().clone()
    }

    fn words_of(text: &str) -> Vec<String> {
        words(text).map(|(_, w)| w).collect()
    }

    #[test]
    fn words_are_letters_and_digits_lowercased() {
        assert_eq!(
            words_of("Rate-limit: GPT-4o (429)"),
            ["rate", "limit", "gpt", "4o", "429"]
        );
        assert_eq!(words_of("Ünïcode café"), ["ünïcode", "café"]);
        assert_eq!(words_of("東京タワー"), ["東", "京", "タ", "ワ", "ー"]);
        assert_eq!(words_of("🙂 *** \"\""), Vec::<String>::new());
    }

    #[test]
    fn json_is_searched_as_field_names_and_values() {
        let text = object_text(&object(json!({
            "topic": "vector databases",
            "draft": {"title": "Hello \"world\"", "tags": ["a\nb", 3, true, null]}
        })));
        assert_eq!(
            text,
            "draft.tags: a\nb\ndraft.tags: 3\ndraft.tags: true\ndraft.title: Hello \"world\"\ntopic: vector databases\n"
        );
        assert!(!fts_text(&text).contains('{'));
        assert_eq!(fts_text("a {\"b\": 1}"), "a b 1");
    }

    #[test]
    fn a_snapshot_is_searched_by_what_it_changed() {
        let diff = crate::diff::diff_values(&json!({"lang": "en", "n": 1}), &json!({"lang": "fr", "n": 1}));
        assert_eq!(
            snapshot_text(&object(json!({"lang": "fr", "n": 1})), Some(&diff)),
            "lang: fr\n"
        );
        assert_eq!(snapshot_text(&object(json!({"n": 1})), None), "n: 1\n");
    }

    #[test]
    fn queries_are_words_and_phrases() {
        let q = SearchQuery::parse(r#" rate  "Too many requests" gpt-4o rate "#).unwrap();
        assert_eq!(
            q.terms(),
            [vec!["rate"], vec!["too", "many", "requests"], vec!["gpt", "4o"]]
        );
        assert_eq!(q.fts_match(), r#""rate" AND "too many requests" AND "gpt 4o""#);
        assert_eq!(
            q.tsquery_literal(),
            "('rate') & ('too' <-> 'many' <-> 'requests') & ('gpt' <-> '4o')"
        );
        // An unclosed quote's phrase runs to the end.
        assert_eq!(
            SearchQuery::parse("a \"b c").unwrap().terms(),
            [vec!["a"], vec!["b", "c"]]
        );
        // FTS syntax is only text.
        let syntax = SearchQuery::parse("NEAR(a b) OR c* -d ^e 'f' :g").unwrap();
        assert!(syntax
            .fts_match()
            .chars()
            .all(|c| c.is_alphanumeric() || " \"".contains(c)));
        assert_eq!(SearchQuery::parse("东京").unwrap().fts_match(), "\"东 京\"");
    }

    #[test]
    fn queries_without_words_or_too_large_are_refused() {
        for bad in ["", "   ", "*", "🙂🙂", "\"\"", "a\u{0}b"] {
            assert!(SearchQuery::parse(bad).is_err(), "{bad:?}");
        }
        assert!(SearchQuery::parse(&"x".repeat(MAX_QUERY_CHARS + 1)).is_err());
        assert!(SearchQuery::parse(&"x".repeat(MAX_WORD_CHARS + 1)).is_err());
        let many: Vec<String> = (0..=MAX_QUERY_TERMS).map(|i| format!("w{i}")).collect();
        assert!(SearchQuery::parse(&many.join(" ")).is_err());
        assert!(SearchQuery::parse(&many[..MAX_QUERY_TERMS].join(" ")).is_ok());
        // The wire form is the text, validated on the way in.
        let q: SearchQuery = serde_json::from_str("\"rate limit\"").unwrap();
        assert_eq!(serde_json::to_string(&q).unwrap(), "\"rate limit\"");
        assert!(serde_json::from_str::<SearchQuery>("\"*\"").is_err());
    }

    #[test]
    fn an_index_keeps_positions_for_phrases_and_stops_at_its_limits() {
        assert_eq!(tsvector_literal("b a b"), "'a':2 'b':1,3");
        let long = format!("{} ok", "x".repeat(MAX_WORD_CHARS + 1));
        assert_eq!(fts_text(&long), "ok");
        let many = "w ".repeat(MAX_INDEXED_WORDS + 10);
        assert_eq!(fts_text(&many).split(' ').count(), MAX_INDEXED_WORDS);
        assert_eq!(tsvector_literal(&many).matches(',').count(), 255);
    }

    #[test]
    fn an_excerpt_is_the_matching_line_around_the_match() {
        let q = SearchQuery::parse("\"rate limit\"").unwrap();
        let text = format!(
            "topic: x\nerror: {} rate limit exceeded\nnext: y\n",
            "a".repeat(200)
        );
        let excerpt = q.excerpt(&text);
        assert!(
            excerpt.starts_with('…') && excerpt.ends_with("rate limit exceeded"),
            "{excerpt}"
        );
        assert_eq!(
            excerpt.chars().count(),
            1 + EXCERPT_CONTEXT + "rate limit exceeded".len()
        );
        assert_eq!(q.excerpt("error: Rate Limit hit"), "error: Rate Limit hit");
        // Phrases match in order only.
        assert_eq!(
            q.excerpt("first: limit rate\nsecond: rate limit"),
            "second: rate limit"
        );
        let highlighted: Vec<&str> = q
            .highlights("Rate, limit!")
            .into_iter()
            .map(|r| &"Rate, limit!"[r])
            .collect();
        assert_eq!(highlighted, ["Rate", "limit"]);
    }
}
