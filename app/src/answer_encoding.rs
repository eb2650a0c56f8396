//! How server functions send their answers: JSON, as with server_fn's own
//! `Json`, but read in the browser with `serde_json::from_str` rather than
//! `from_slice`. Hydration reads the same types from text, and serde compiles
//! one copy of every type's reader per input kind: one kind instead of two
//! takes tens of kilobytes off the WASM bundle.

use leptos::server_fn::codec::Post;
use leptos::server_fn::{Bytes, ContentType, Decodes, Encodes, Format, FormatType};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// JSON read from text. Use as `#[server(output = JsonAnswer)]`.
pub struct JsonText;

/// The answer encoding of every server function.
pub type JsonAnswer = Post<JsonText>;

impl ContentType for JsonText {
    const CONTENT_TYPE: &'static str = "application/json";
}

impl FormatType for JsonText {
    const FORMAT_TYPE: Format = Format::Text;
}

impl<T: Serialize> Encodes<T> for JsonText {
    type Error = serde_json::Error;

    fn encode(output: &T) -> Result<Bytes, Self::Error> {
        serde_json::to_vec(output).map(Bytes::from)
    }
}

impl<T: DeserializeOwned> Decodes<T> for JsonText {
    type Error = String;

    fn decode(bytes: Bytes) -> Result<T, Self::Error> {
        let text = std::str::from_utf8(&bytes).map_err(|e| e.to_string())?;
        serde_json::from_str(text).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_reads_back_as_written_and_bad_text_is_an_error() {
        let value = vec![("a".to_owned(), 1.5)];
        let bytes = <JsonText as Encodes<_>>::encode(&value).unwrap();
        let back: Vec<(String, f64)> = <JsonText as Decodes<_>>::decode(bytes).unwrap();
        assert_eq!(back, value);
        let bad: Result<Vec<(String, f64)>, _> =
            <JsonText as Decodes<_>>::decode(Bytes::from_static(b"\xff"));
        assert!(bad.is_err());
    }
}
