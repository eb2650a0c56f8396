//! Validated identifiers and labels: once a value of these types exists it is
//! known to satisfy API.md's limits, so nothing downstream checks again.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Longest accepted `execution_id`, `event_id` or `snapshot_id`.
pub const MAX_ID_LEN: usize = 128;
/// Longest accepted `graph_type` or `node_id`.
pub const MAX_LABEL_LEN: usize = 256;

/// An id of 1–128 characters from ASCII letters, digits and `.` `_` `:` `-`.
///
/// The safe set keeps ids usable in URLs, file names and log lines unescaped.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RecordId(String);

impl RecordId {
    /// Checks `value` against the id rules, explaining the first one it breaks.
    pub fn parse(value: impl Into<String>) -> Result<Self, String> {
        let value = value.into();
        if value.is_empty() {
            return Err("must not be empty".into());
        }
        if value.len() > MAX_ID_LEN {
            return Err(format!("must be at most {MAX_ID_LEN} characters"));
        }
        if let Some(bad) = value
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-')))
        {
            return Err(format!(
                "contains {bad:?}; only ASCII letters, digits and . _ : - are allowed"
            ));
        }
        Ok(Self(value))
    }

    /// A fresh, time-ordered id (UUIDv7) for records a producer left unnamed.
    pub fn generate() -> Self {
        Self(uuid::Uuid::now_v7().to_string())
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for RecordId {
    type Error = String;
    fn try_from(value: String) -> Result<Self, String> {
        Self::parse(value)
    }
}

impl From<RecordId> for String {
    fn from(id: RecordId) -> String {
        id.0
    }
}

impl fmt::Display for RecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Non-empty text of at most 256 characters (graph types, node names).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Label(String);

impl Label {
    /// Checks `value` against the label rules.
    pub fn parse(value: impl Into<String>) -> Result<Self, String> {
        let value = value.into();
        if value.trim().is_empty() {
            return Err("must not be empty".into());
        }
        if value.chars().count() > MAX_LABEL_LEN {
            return Err(format!("must be at most {MAX_LABEL_LEN} characters"));
        }
        check_no_nul(&value)?;
        Ok(Self(value))
    }

    /// The label as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The rule for text stored as text (labels, error messages): no NUL
/// character. PostgreSQL's text cannot hold one, so both backends refuse it
/// alike instead of one storing what the other fails on.
pub fn check_no_nul(text: &str) -> Result<(), String> {
    if text.contains('\0') {
        Err("must not contain the NUL character (U+0000)".into())
    } else {
        Ok(())
    }
}

/// `text` with each NUL character replaced by U+FFFD, for doors that keep
/// what they receive rather than refuse it (OTLP).
pub fn replace_nul(text: &str) -> String {
    text.replace('\0', "\u{FFFD}")
}

impl TryFrom<String> for Label {
    type Error = String;
    fn try_from(value: String) -> Result<Self, String> {
        Self::parse(value)
    }
}

impl From<Label> for String {
    fn from(label: Label) -> String {
        label.0
    }
}

/// OpenAPI schemas of the validated types: the rules `parse` checks, so
/// the published description and the server agree.
#[cfg(feature = "ssr")]
mod openapi {
    use super::{Label, RecordId, MAX_ID_LEN, MAX_LABEL_LEN};
    use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
    use utoipa::openapi::RefOr;

    impl utoipa::PartialSchema for RecordId {
        fn schema() -> RefOr<Schema> {
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .max_length(Some(MAX_ID_LEN))
                .pattern(Some("^[A-Za-z0-9._:-]+$"))
                .description(Some("1-128 ASCII letters, digits and . _ : -"))
                .into()
        }
    }
    impl utoipa::ToSchema for RecordId {}

    impl utoipa::PartialSchema for Label {
        fn schema() -> RefOr<Schema> {
            ObjectBuilder::new()
                .schema_type(Type::String)
                .max_length(Some(MAX_LABEL_LEN))
                .pattern(Some("\\S"))
                .description(Some("non-blank text of at most 256 characters"))
                .into()
        }
    }
    impl utoipa::ToSchema for Label {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_of_safe_characters_is_accepted() {
        assert_eq!(RecordId::parse("exec-1:a_b.c").unwrap().as_str(), "exec-1:a_b.c");
    }

    #[test]
    fn an_id_with_a_slash_or_space_is_rejected_with_the_character_named() {
        assert!(RecordId::parse("a/b").unwrap_err().contains("'/'"));
        assert!(RecordId::parse("a b").unwrap_err().contains("' '"));
    }

    #[test]
    fn an_id_longer_than_the_limit_is_rejected_but_the_limit_itself_is_fine() {
        assert!(RecordId::parse("x".repeat(MAX_ID_LEN)).is_ok());
        assert!(RecordId::parse("x".repeat(MAX_ID_LEN + 1)).is_err());
    }

    #[test]
    fn an_empty_or_blank_label_is_rejected() {
        assert!(Label::parse("").is_err());
        assert!(Label::parse("   ").is_err());
        assert!(Label::parse("TranslateNode").is_ok());
    }
}
