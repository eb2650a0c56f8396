//! A span as the rest of tracevis sees it: ids as lowercase hex, times as
//! UTC instants, attributes as JSON values. Built once from the wire types;
//! a span that cannot be built is refused with an error naming it.

use chrono::{DateTime, Utc};
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::trace::v1 as wire;
use serde_json::{Map, Value};

/// Longest attribute string kept whole; longer ones are cut and marked
/// (`…[truncated N bytes]`), so one oversized prompt cannot stall a page.
pub const MAX_ATTRIBUTE_BYTES: usize = 256 * 1024;

/// OTLP status code for an error (`STATUS_CODE_ERROR`).
const STATUS_ERROR: i32 = 2;

/// One span, validated.
#[derive(Clone, Debug, PartialEq)]
pub struct Span {
    /// 32 lowercase hex digits.
    pub trace_id: String,
    /// 16 lowercase hex digits.
    pub span_id: String,
    /// The parent's span id, `None` for a root.
    pub parent_span_id: Option<String>,
    /// The span ids of its links to spans of the same trace (a join links
    /// the branches it waited for), at most `MAX_PARENTS`, each once.
    pub links: Vec<String>,
    /// The span's name.
    pub name: String,
    /// When it started.
    pub start: DateTime<Utc>,
    /// When it ended (never before `start`).
    pub end: DateTime<Utc>,
    /// Its length in nanoseconds.
    pub duration_nanos: u64,
    /// The status message when the status is an error.
    pub error: Option<SpanError>,
    /// Attributes, keys as sent.
    pub attributes: Map<String, Value>,
    /// Span events in the order sent.
    pub events: Vec<SpanEvent>,
    /// The resource's attributes that say who sent the run
    /// (`RESOURCE_METADATA`), shared by the resource's spans.
    pub resource: std::sync::Arc<Map<String, Value>>,
}

/// Resource attributes that become run metadata, so runs can be filtered
/// by who sent them (`meta.deployment.environment=prod`).
pub const RESOURCE_METADATA: &[&str] = &[
    "service.name",
    "service.version",
    "deployment.environment",
    "deployment.environment.name",
];

impl Span {
    /// The resource's `service.name`, when it is text.
    pub fn service_name(&self) -> Option<&str> {
        self.resource.get("service.name").and_then(Value::as_str)
    }
}

/// Why a span ended in error.
#[derive(Clone, Debug, PartialEq)]
pub struct SpanError {
    /// The status message, or the first `exception` event's type and message.
    pub message: String,
    /// The first `exception` event's stack trace.
    pub stacktrace: Option<String>,
}

/// A span event (`exception`, `tracevis.state`, …).
#[derive(Clone, Debug, PartialEq)]
pub struct SpanEvent {
    /// The event's name.
    pub name: String,
    /// When it happened.
    pub time: DateTime<Utc>,
    /// Its attributes.
    pub attributes: Map<String, Value>,
}

impl Span {
    /// A string attribute.
    pub fn str_attr(&self, key: &str) -> Option<&str> {
        self.attributes.get(key).and_then(Value::as_str)
    }

    /// An integer attribute (also read from a string of digits, as some
    /// exporters send them).
    pub fn int_attr(&self, key: &str) -> Option<i64> {
        match self.attributes.get(key)? {
            Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
            Value::String(s) => s.parse().ok(),
            _ => None,
        }
    }
}

/// Builds the spans of `resource_spans`, failing on the first one that is
/// not valid, with a message naming it.
pub fn spans_of(resource_spans: Vec<wire::ResourceSpans>) -> Result<Vec<Span>, String> {
    let mut spans = Vec::new();
    for resource in resource_spans {
        let mut known = resource
            .resource
            .map(|r| attributes(r.attributes))
            .unwrap_or_default();
        known.retain(|key, value| RESOURCE_METADATA.contains(&key.as_str()) && !value.is_null());
        let known = std::sync::Arc::new(known);
        for scope in resource.scope_spans {
            for span in scope.spans {
                let index = spans.len();
                spans.push(span_of(span, known.clone()).map_err(|e| format!("span {index}: {e}"))?);
            }
        }
    }
    Ok(spans)
}

fn span_of(span: wire::Span, resource: std::sync::Arc<Map<String, Value>>) -> Result<Span, String> {
    let name = span.name;
    let named = |e: String| format!("{name:?} {e}");
    let trace_id = hex_id(&span.trace_id, 16).map_err(|e| named(format!("trace_id {e}")))?;
    let span_id = hex_id(&span.span_id, 8).map_err(|e| named(format!("span_id {e}")))?;
    let parent_span_id = if span.parent_span_id.is_empty() {
        None
    } else {
        Some(hex_id(&span.parent_span_id, 8).map_err(|e| named(format!("parent_span_id {e}")))?)
    };
    // Links to other traces say nothing about this run's branches.
    let mut links: Vec<String> = Vec::new();
    for (i, link) in span.links.iter().enumerate() {
        if link.trace_id != span.trace_id {
            continue;
        }
        let id = hex_id(&link.span_id, 8).map_err(|e| named(format!("links[{i}].span_id {e}")))?;
        if !links.contains(&id) && links.len() < app::model::MAX_PARENTS {
            links.push(id);
        }
    }
    let start = instant(span.start_time_unix_nano).map_err(|e| named(format!("start_time_unix_nano {e}")))?;
    let end = instant(span.end_time_unix_nano).map_err(|e| named(format!("end_time_unix_nano {e}")))?;
    let duration_nanos = span
        .end_time_unix_nano
        .checked_sub(span.start_time_unix_nano)
        .ok_or_else(|| named("ends before it starts".into()))?;
    let events: Vec<SpanEvent> = span
        .events
        .into_iter()
        .map(|e| {
            Ok(SpanEvent {
                time: instant(e.time_unix_nano)
                    .map_err(|err| named(format!("event {:?} time_unix_nano {err}", e.name)))?,
                name: e.name,
                attributes: attributes(e.attributes),
            })
        })
        .collect::<Result<_, String>>()?;
    let error = span
        .status
        .filter(|s| s.code == STATUS_ERROR)
        .map(|status| error_of(status.message, &events));
    Ok(Span {
        trace_id,
        span_id,
        parent_span_id,
        links,
        name,
        start,
        end,
        duration_nanos,
        error,
        attributes: attributes(span.attributes),
        events,
        resource,
    })
}

/// The error of a failed span: its first `exception` event ("Type:
/// message") when it has one — OpenInference puts the exception's repr and
/// a whole traceback in the status message — else the status message, cut
/// before any traceback it carries; the stack trace when there is one.
fn error_of(status_message: String, events: &[SpanEvent]) -> SpanError {
    let exception = events.iter().find(|e| e.name == "exception");
    let from_exception = exception
        .map(|e| {
            let text = |k: &str| e.attributes.get(k).and_then(Value::as_str).unwrap_or("");
            match (text("exception.type"), text("exception.message")) {
                ("", m) => m.to_owned(),
                (t, "") => t.to_owned(),
                (t, m) => format!("{t}: {m}"),
            }
        })
        .filter(|m| !m.is_empty());
    let (status_text, status_trace) = match status_message.find(TRACEBACK) {
        Some(at) => (
            status_message[..at].trim_end().to_owned(),
            Some(status_message[at..].to_owned()),
        ),
        None => (status_message, None),
    };
    let message = from_exception
        .or_else(|| Some(status_text).filter(|m| !m.is_empty()))
        .unwrap_or_else(|| "error".into());
    SpanError {
        // Kept, not refused: a NUL (which PostgreSQL's text cannot hold) becomes U+FFFD.
        message: app::model::replace_nul(&message),
        stacktrace: exception
            .and_then(|e| e.attributes.get("exception.stacktrace"))
            .and_then(Value::as_str)
            .map(str::to_owned)
            .or(status_trace),
    }
}

/// Where Python's traceback starts in a message that carries one.
const TRACEBACK: &str = "Traceback (most recent call last):";

/// An id of `len` bytes as lowercase hex; all zeros is not an id.
fn hex_id(bytes: &[u8], len: usize) -> Result<String, String> {
    if bytes.len() != len {
        return Err(format!(
            "must be {len} bytes ({} hex digits), got {} bytes",
            len * 2,
            bytes.len()
        ));
    }
    if bytes.iter().all(|b| *b == 0) {
        return Err("must not be all zeros".into());
    }
    Ok(hex(bytes))
}

/// Lowercase hex of `bytes` (two ids per span: not through `format!`).
fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// Nanoseconds since the epoch as an instant; 0 means "not set" in OTLP.
fn instant(nanos: u64) -> Result<DateTime<Utc>, String> {
    if nanos == 0 {
        return Err("is missing (0)".into());
    }
    let nanos = i64::try_from(nanos).map_err(|_| format!("{nanos} is out of range"))?;
    app::model::check_instant(DateTime::from_timestamp_nanos(nanos))
}

/// Attributes as a JSON object (a repeated key keeps its last value).
pub fn attributes(pairs: Vec<KeyValue>) -> Map<String, Value> {
    pairs
        .into_iter()
        .map(|kv| (kv.key, kv.value.map_or(Value::Null, json_of)))
        .collect()
}

fn json_of(value: AnyValue) -> Value {
    match value.value {
        None => Value::Null,
        Some(any_value::Value::StringValue(s)) => Value::String(truncated(s)),
        Some(any_value::Value::BoolValue(b)) => Value::Bool(b),
        Some(any_value::Value::IntValue(i)) => Value::from(i),
        // JSON has no NaN or infinity: those become null.
        Some(any_value::Value::DoubleValue(d)) => {
            serde_json::Number::from_f64(d).map_or(Value::Null, Value::Number)
        }
        Some(any_value::Value::ArrayValue(a)) => Value::Array(a.values.into_iter().map(json_of).collect()),
        Some(any_value::Value::KvlistValue(kv)) => Value::Object(attributes(kv.values)),
        Some(any_value::Value::BytesValue(b)) => Value::String(truncated(hex(&b))),
        // Newer OTLP value kinds (references into a dictionary) carry
        // nothing tracevis reads.
        #[allow(unreachable_patterns)]
        Some(_) => Value::Null,
    }
}

/// `s`, cut to `MAX_ATTRIBUTE_BYTES` on a character boundary and marked.
fn truncated(mut s: String) -> String {
    if s.len() <= MAX_ATTRIBUTE_BYTES {
        return s;
    }
    let mut cut = MAX_ATTRIBUTE_BYTES;
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    let dropped = s.len() - cut;
    s.truncate(cut);
    s.push_str(&format!("…[truncated {dropped} bytes]"));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_lowercase_hex_of_the_right_length_and_never_all_zeros() {
        assert_eq!(
            hex_id(&[0xAB, 0, 0, 0, 0, 0, 0, 1], 8).unwrap(),
            "ab00000000000001"
        );
        assert!(hex_id(&[1; 7], 8).unwrap_err().contains("8 bytes"));
        assert!(hex_id(&[0; 8], 8).unwrap_err().contains("zeros"));
    }

    #[test]
    fn an_oversized_attribute_is_cut_on_a_character_boundary_and_marked() {
        let s = "é".repeat(MAX_ATTRIBUTE_BYTES);
        let t = truncated(s);
        assert!(t.len() < MAX_ATTRIBUTE_BYTES + 40);
        assert!(t.ends_with(&format!("…[truncated {} bytes]", MAX_ATTRIBUTE_BYTES)));
    }

    fn exception(kind: &str, message: &str) -> SpanEvent {
        SpanEvent {
            name: "exception".into(),
            time: DateTime::from_timestamp_nanos(1),
            attributes: serde_json::from_value(serde_json::json!({
                "exception.type": kind, "exception.message": message, "exception.stacktrace": "tb"
            }))
            .unwrap(),
        }
    }

    #[test]
    fn a_failed_span_prefers_its_exception_over_a_status_carrying_a_traceback() {
        // OpenInference: the repr, then the whole traceback, in the status.
        let status = "ValueError('boom at 2')Traceback (most recent call last):\n  File \"x.py\"".to_owned();
        let error = error_of(status.clone(), &[exception("ValueError", "boom at 2")]);
        assert_eq!(error.message, "ValueError: boom at 2");
        // Without the event, the status is cut before its traceback.
        let error = error_of(status, &[]);
        assert_eq!(error.message, "ValueError('boom at 2')");
        assert!(error.stacktrace.unwrap().starts_with("Traceback"));
        assert_eq!(error_of("plain".into(), &[]).message, "plain");
        assert_eq!(error_of(String::new(), &[]).message, "error");
    }

    #[test]
    fn a_failed_span_without_a_message_takes_its_exception() {
        let event = SpanEvent {
            name: "exception".into(),
            time: DateTime::from_timestamp_nanos(1),
            attributes: serde_json::from_value(serde_json::json!({
                "exception.type": "ValueError", "exception.message": "bad", "exception.stacktrace": "tb"
            }))
            .unwrap(),
        };
        let error = error_of(String::new(), &[event]);
        assert_eq!(
            (error.message.as_str(), error.stacktrace.as_deref()),
            ("ValueError: bad", Some("tb"))
        );
    }
}
