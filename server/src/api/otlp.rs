//! The OTLP/HTTP door (API.md "Producers over OpenTelemetry"): `POST
//! /v1/traces` (and `/otlp/v1/traces`, `/otlp`) as protobuf or OTLP JSON,
//! optionally gzip; `/v1/metrics` and `/v1/logs` answer an empty success.
//! The body is decoded and every span validated here, once; the service
//! stores what they mean.

use super::AppError;
use crate::otlp::span::spans_of;
use crate::service::TraceService;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header::{CONTENT_ENCODING, CONTENT_TYPE, RETRY_AFTER};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::Message;
use std::io::Read;

/// The two encodings OTLP/HTTP allows; the answer uses the request's.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Encoding {
    Protobuf,
    Json,
}

/// `POST /v1/traces`: `200` once every span is stored. `max_bytes` bounds
/// the body after decompression too.
pub async fn traces(service: TraceService, request: Request, max_bytes: usize) -> Response {
    let headers = request.headers().clone();
    let encoding = match encoding_of(&headers) {
        Ok(e) => e,
        Err(e) => return e.into_response(),
    };
    let result = async {
        let body = read_body(request).await?;
        let body = decompress(&headers, body, max_bytes)?;
        let export = decode(&body, encoding)?;
        let spans = spans_of(export.resource_spans)
            .map_err(|e| AppError::new(StatusCode::BAD_REQUEST, "invalid_span", e))?;
        service.ingest_spans(spans).await.map_err(AppError::from)
    }
    .await;
    match result {
        Ok(_) => answer(
            encoding,
            &ExportTraceServiceResponse {
                partial_success: None,
            },
        ),
        Err(e) if e.status() == StatusCode::SERVICE_UNAVAILABLE => {
            let mut response = e.into_response();
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from_static("5"));
            response
        }
        Err(e) => e.into_response(),
    }
}

/// `POST /v1/metrics` and `/v1/logs`: accepted and dropped, so exporters
/// that send every signal (logfire does) log no errors.
pub async fn ignored(request: Request) -> Response {
    let encoding = match encoding_of(request.headers()) {
        Ok(e) => e,
        Err(e) => return e.into_response(),
    };
    // Read and dropped, so the body limit holds here as at every door.
    if let Err(e) = read_body(request).await {
        return e.into_response();
    }
    match encoding {
        Encoding::Json => ([(CONTENT_TYPE, "application/json")], "{}").into_response(),
        Encoding::Protobuf => ([(CONTENT_TYPE, "application/x-protobuf")], Vec::<u8>::new()).into_response(),
    }
}

/// The request's body as sent, within the router's body limit.
async fn read_body(request: Request) -> Result<Bytes, AppError> {
    Bytes::from_request(request, &())
        .await
        .map_err(|rejection| super::extract::body_refused(rejection.status(), rejection.body_text()))
}

fn encoding_of(headers: &HeaderMap) -> Result<Encoding, AppError> {
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    // Parameters such as `; charset=utf-8` are allowed.
    let essence = content_type.split(';').next().unwrap_or("").trim();
    match essence {
        "application/x-protobuf" | "application/protobuf" => Ok(Encoding::Protobuf),
        "application/json" => Ok(Encoding::Json),
        other => Err(AppError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!("OTLP/HTTP takes application/x-protobuf or application/json, not {other:?}"),
        )),
    }
}

fn too_large() -> AppError {
    AppError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        "request body is larger than the configured limit (max_body_bytes), after decompression",
    )
}

/// The body as sent, or gunzipped; never more than `max_bytes` either way.
fn decompress(headers: &HeaderMap, body: Bytes, max_bytes: usize) -> Result<Bytes, AppError> {
    let coding = headers
        .get(CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("identity")
        .trim()
        .to_ascii_lowercase();
    match coding.as_str() {
        "" | "identity" => Ok(body),
        "gzip" | "x-gzip" => {
            let mut out = Vec::new();
            // One byte past the limit tells "too large" from "exactly the limit".
            let limit = u64::try_from(max_bytes).unwrap_or(u64::MAX).saturating_add(1);
            flate2::read::MultiGzDecoder::new(&body[..])
                .take(limit)
                .read_to_end(&mut out)
                .map_err(|e| {
                    AppError::new(
                        StatusCode::BAD_REQUEST,
                        "malformed_gzip",
                        format!("body is not valid gzip: {e}"),
                    )
                })?;
            if out.len() > max_bytes {
                return Err(too_large());
            }
            Ok(Bytes::from(out))
        }
        other => Err(AppError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_encoding",
            format!("Content-Encoding {other:?} is not supported; send gzip or no encoding"),
        )),
    }
}

pub fn decode(body: &[u8], encoding: Encoding) -> Result<ExportTraceServiceRequest, AppError> {
    match encoding {
        Encoding::Protobuf => ExportTraceServiceRequest::decode(body).map_err(|e| {
            AppError::new(
                StatusCode::BAD_REQUEST,
                "malformed_protobuf",
                format!("not an OTLP ExportTraceServiceRequest: {e}"),
            )
        }),
        Encoding::Json => {
            let mut de = serde_json::Deserializer::from_slice(body);
            serde_path_to_error::deserialize(&mut de).map_err(|err| {
                let path = err.path().to_string();
                AppError::new(
                    StatusCode::BAD_REQUEST,
                    "malformed_otlp_json",
                    format!("not OTLP JSON at {path}: {}", err.into_inner()),
                )
            })
        }
    }
}

fn answer(encoding: Encoding, response: &ExportTraceServiceResponse) -> Response {
    match encoding {
        Encoding::Protobuf => (
            [(CONTENT_TYPE, "application/x-protobuf")],
            response.encode_to_vec(),
        )
            .into_response(),
        Encoding::Json => (
            [(CONTENT_TYPE, "application/json")],
            serde_json::to_string(response).unwrap_or_else(|_| "{}".into()),
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json_request(text: &str) -> Result<ExportTraceServiceRequest, AppError> {
        decode(text.as_bytes(), Encoding::Json)
    }

    /// The OTLP specification's example (opentelemetry-proto
    /// `examples/trace.json`): upper-case hex ids, times as strings, `kind`
    /// as a number, an unknown field.
    #[test]
    fn the_specifications_json_example_decodes_with_hex_ids_and_string_times() {
        let export = json_request(
            r#"{"resourceSpans": [{"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "my.service"}}]},
              "scopeSpans": [{"scope": {"name": "my.library", "version": "1.0.0"},
                "spans": [{"traceId": "5B8EFFF798038103D269B633813FC60C", "spanId": "EEE19B7EC3C1B174",
                  "parentSpanId": "EEE19B7EC3C1B173", "name": "I'm a server span", "kind": 2,
                  "startTimeUnixNano": "1544712660000000000", "endTimeUnixNano": 1544712661000000000,
                  "futureField": true,
                  "attributes": [{"key": "my.span.attr", "value": {"stringValue": "some value"}},
                                 {"key": "n", "value": {"intValue": "42"}}, {"key": "empty", "value": {}}]}]}]}]}"#,
        )
        .expect("decodes");
        let spans = spans_of(export.resource_spans).expect("valid");
        let span = &spans[0];
        assert_eq!(span.trace_id, "5b8efff798038103d269b633813fc60c");
        assert_eq!(span.span_id, "eee19b7ec3c1b174");
        assert_eq!(span.parent_span_id.as_deref(), Some("eee19b7ec3c1b173"));
        assert_eq!(span.duration_nanos, 1_000_000_000);
        assert_eq!(span.int_attr("n"), Some(42));
        assert_eq!(span.service_name(), Some("my.service"));
    }

    #[test]
    fn base64_ids_wrong_lengths_and_non_numeric_times_are_refused_naming_the_span() {
        let one = |trace: &str, span: &str, start: &str| {
            format!(
                r#"{{"resourceSpans": [{{"scopeSpans": [{{"spans": [{{"traceId": "{trace}", "spanId": "{span}",
                  "name": "the span", "startTimeUnixNano": {start}, "endTimeUnixNano": "1544712661000000000"}}]}}]}}]}}"#
            )
        };
        let good_trace = "5b8efff798038103d269b633813fc60c";
        // base64 of 16 bytes, as protojson would send it
        assert!(json_request(&one("W47/95gDgQPSabYzgT/GDA==", "eee19b7ec3c1b174", "\"1\"")).is_err());
        let short = json_request(&one(good_trace, "eee19b7e", "\"1544712660000000000\"")).unwrap();
        let error = spans_of(short.resource_spans).unwrap_err();
        assert!(
            error.contains("span 0") && error.contains("\"the span\"") && error.contains("span_id"),
            "{error}"
        );
        assert!(json_request(&one(good_trace, "eee19b7ec3c1b174", "\"yesterday\"")).is_err());
        let backwards =
            json_request(&one(good_trace, "eee19b7ec3c1b174", "\"1544712662000000000\"")).unwrap();
        assert!(spans_of(backwards.resource_spans)
            .unwrap_err()
            .contains("ends before it starts"));
    }

    #[test]
    fn an_empty_request_is_an_empty_export_and_protobuf_round_trips() {
        assert!(json_request("{}").unwrap().resource_spans.is_empty());
        assert!(decode(&[], Encoding::Protobuf).unwrap().resource_spans.is_empty());
        assert!(decode(b"\xff\xff\xff", Encoding::Protobuf).is_err());
    }

    #[test]
    fn a_gzip_body_over_the_limit_is_refused_after_decompression() {
        use flate2::write::GzEncoder;
        use std::io::Write;
        let mut gz = GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&vec![0u8; 10_000]).unwrap();
        let body = Bytes::from(gz.finish().unwrap());
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        assert_eq!(decompress(&headers, body.clone(), 10_000).unwrap().len(), 10_000);
        assert_eq!(
            decompress(&headers, body, 9_999).unwrap_err().status(),
            StatusCode::PAYLOAD_TOO_LARGE
        );
    }
}
