//! The first part of a stored JSON column, read back as JSON. A search hit's
//! excerpt is cut from at most `PREFIX_CHARS` characters of its record, so a
//! page whose runs carry megabyte payloads reads (and PostgreSQL
//! decompresses) kilobytes per match, not megabytes.
//!
//! The stored text is JSON that serde_json wrote; a prefix of it is closed
//! here: a string value cut short ends where it was cut, a key, number or
//! literal cut short is dropped with its member, and every open object and
//! array is closed. Written here rather than taken from a crate: the
//! partial-JSON crates on crates.io are young single-author helpers for LLM
//! streaming, and the rule for text serde_json wrote is one loop.

use super::json_column;
use app::error::TraceError;
use serde::de::DeserializeOwned;

/// Characters of a record a search hit reads for its excerpt. A match past
/// them still finds its run and opens its visit; its excerpt is the start
/// of the record instead.
pub const PREFIX_CHARS: i64 = 65_536;

/// Reads `text`, the first `PREFIX_CHARS` characters of a JSON column (or
/// all of it): whole when it is whole, else closed where it was cut.
pub fn parse_prefix<T: DeserializeOwned>(text: &str, column: &str) -> Result<T, TraceError> {
    match serde_json::from_str(text) {
        Ok(value) => Ok(value),
        Err(e) if e.is_eof() => json_column(&close(text), column),
        Err(_) => json_column(text, column),
    }
}

/// `text`, valid JSON cut short, made valid by ending it at the last point
/// where every value before it is complete (or inside a string value, which
/// is ended there) and closing what is open.
fn close(text: &str) -> String {
    let bytes = text.as_bytes();
    // What closes each open container, innermost last.
    let mut open: Vec<char> = Vec::new();
    // Bytes of `text` that, followed by `open` closed, are valid JSON. Every
    // push or pop of `open` moves it, so `open` at the end is `open` there.
    let mut safe = 0;
    let mut in_string = false;
    let mut string_is_key = false;
    let mut expect_key = false;
    let mut escaped = false;
    // Where the current string's last escape began.
    let mut last_escape = None;
    for (i, &b) in bytes.iter().enumerate() {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
                last_escape = Some(i);
            } else if b == b'"' {
                in_string = false;
                if !string_is_key {
                    safe = i + 1;
                }
            }
            continue;
        }
        match b {
            b'"' => {
                in_string = true;
                string_is_key = expect_key;
                last_escape = None;
            }
            b'{' => {
                open.push('}');
                expect_key = true;
                safe = i + 1;
            }
            b'[' => {
                open.push(']');
                expect_key = false;
                safe = i + 1;
            }
            b'}' | b']' => {
                open.pop();
                expect_key = false;
                safe = i + 1;
            }
            b',' => {
                // The value before the comma is complete.
                safe = i;
                expect_key = open.last() == Some(&'}');
            }
            b':' => expect_key = false,
            _ => {}
        }
    }
    let closing: String = open.iter().rev().collect();
    if in_string && !string_is_key {
        // End the string where it was cut, or else before its last escape,
        // which may be cut short (`\u00`) or half a surrogate pair.
        for end in [Some(bytes.len()), last_escape].into_iter().flatten() {
            let ended = format!("{}\"{closing}", &text[..end]);
            if serde_json::from_str::<serde_json::Value>(&ended).is_ok() {
                return ended;
            }
        }
    }
    format!("{}{closing}", &text[..safe])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn read(text: &str) -> Value {
        parse_prefix(text, "outputs").unwrap()
    }

    #[test]
    fn a_whole_record_is_read_as_it_is() {
        assert_eq!(read(r#"{"a":[1,{"b":"x"}]}"#), json!({"a": [1, {"b": "x"}]}));
    }

    #[test]
    fn a_string_cut_short_ends_where_it_was_cut() {
        assert_eq!(read(r#"{"text":"zanzibar out"#), json!({"text": "zanzibar out"}));
        assert_eq!(read(r#"{"a":{"b":["x","y"#), json!({"a": {"b": ["x", "y"]}}));
        // An escape cut short is left out; a whole one is kept.
        assert_eq!(read(r#"{"a":"line\n2\u00"#), json!({"a": "line\n2"}));
        assert_eq!(read(r#"{"a":"q\"x\\"#), json!({"a": "q\"x\\"}));
        assert_eq!(read(r#"{"a":"q\"#), json!({"a": "q"}));
        assert_eq!(read(r#"{"a":"bye 😀 \ud83d"#), json!({"a": "bye 😀 "}));
    }

    #[test]
    fn a_key_number_or_literal_cut_short_is_dropped_with_its_member() {
        assert_eq!(read(r#"{"a":"x","bee"#), json!({"a": "x"}));
        assert_eq!(read(r#"{"a":"x","b":12"#), json!({"a": "x"}));
        assert_eq!(read(r#"{"a":1,"b":tr"#), json!({"a": 1}));
        assert_eq!(read(r#"{"a":{"b":1},"c":"#), json!({"a": {"b": 1}}));
        assert_eq!(read(r#"{"a":[1,2,3"#), json!({"a": [1, 2]}));
        assert_eq!(read(r#"{"a":[{"b":"#), json!({"a": [{}]}));
        assert_eq!(read("{"), json!({}));
    }

    #[test]
    fn every_prefix_of_a_record_reads_as_json() {
        let record = json!({"q": "a \"quoted\" \\ line\nnext", "n": [1, -2.5e3, true, null],
                            "o": {"k": "東京 😀", "e": {}, "l": []}});
        let text = record.to_string();
        for (end, _) in text.char_indices().skip(1) {
            let value: Value = parse_prefix(&text[..end], "state").unwrap();
            assert!(value.is_object(), "{}", &text[..end]);
        }
    }

    #[test]
    fn text_that_is_not_json_is_an_error_naming_the_column() {
        let error = parse_prefix::<Value>("{]", "inputs").unwrap_err();
        assert!(error.to_string().contains("inputs"), "{error}");
    }
}
